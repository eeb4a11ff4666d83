/* tests/xml_check.h - a small well-formedness checker for the SVG and HTML
 * that the report writes, so tests can prove the output parses without a
 * browser: tags nest and close, attribute values are quoted, every '&'
 * starts an entity, no raw '<' sits in text or attributes. In HTML mode the
 * void elements (meta, br, ...) need no close and <style>/<script> bodies
 * are raw text. */
#ifndef TAML_TEST_XML_CHECK_H
#define TAML_TEST_XML_CHECK_H

#include <stddef.h>

/* 0 when doc is well formed; otherwise -1 with a message (offset and what
 * was wrong) in msg. */
int xml_check(const char *doc, int html, char *msg, size_t msg_size);

/* Non-overlapping occurrences of needle in s. */
size_t count_of(const char *s, const char *needle);

#endif
