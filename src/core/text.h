/* core/text.h - the small text rules of taml's messages, the same in every
 * layer: a count with its noun in the right number, bytes from a file shown
 * so that a reader sees what they are (escaped, quoted, cut), whether bytes
 * look like text at all, how deep a JSON text nests (cJSON refuses past
 * its limit, and says no more than "not valid JSON"), and a system error in
 * words.
 */
#ifndef TAML_CORE_TEXT_H
#define TAML_CORE_TEXT_H

#include <stddef.h>

/* one when n is 1, else many: printf("%lld %s", n, taml_text_plural(n, "trial", "trials")). */
const char *taml_text_plural(long long n, const char *one, const char *many);

/* s[0..len) quoted for a message, into out (cap bytes, at least 16; always
 * NUL-terminated): "..." with \" \\ \t \n \r and \xNN for every other
 * control byte and every byte that is not part of well-formed UTF-8, so that
 * "a" and "a " and a binary float never print alike; cut (on a character
 * boundary) with "..." after the closing quote when it does not fit.
 * Returns out. */
char *taml_text_quote(char *out, size_t cap, const char *s, size_t len);

/* strerror(e), except that a full disk (ENOSPC) or quota (EDQUOT) says so
 * in words a user acts on ("the disk is full ..."). */
const char *taml_text_errno(int e);

/* 1 when s[0..len) does not look like text: a NUL or another control byte
 * than TAB, LF, CR, or bytes that are not UTF-8 (a word2vec binary read as
 * text, a gzip file read as TSV). */
int taml_text_looks_binary(const char *s, size_t len);

/* How deep the arrays and objects of the JSON text s[0..len) nest (brackets
 * inside strings do not count; the text need not be valid). When the depth
 * passes limit, *at (may be NULL) gets the offset of the bracket that went
 * past it. */
size_t taml_text_json_depth(const char *s, size_t len, size_t limit, size_t *at);

#endif
