/* core/utf8.h - the one UTF-8 validator and decoder of taml: task texts
 * (data/), module words and metadata (embed/), and the text of reports
 * (report/svg.c) are checked by the same rule.
 *
 * Well-formed means Unicode's definition: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no sequence cut by the end.
 */
#ifndef TAML_CORE_UTF8_H
#define TAML_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Offset of the first byte of s[0..len) that is not part of a well-formed
 * UTF-8 sequence, or len when all of it is valid. */
size_t taml_utf8_check(const char *s, size_t len);

/* Decodes the well-formed UTF-8 sequence at s[0..len) into *cp and returns
 * its byte length (1..4), or 0 when the bytes there are ill-formed or cut
 * (len 0 included). */
int taml_utf8_decode(const unsigned char *s, size_t len, int32_t *cp);

#endif
