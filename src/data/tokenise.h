/* data/tokenise.h - the one tokeniser of taml, shared by tasks and modules.
 *
 * Tokens are the maximal runs of letters and digits (Unicode categories L*
 * and N*) of the lower-cased text; everything else separates tokens. A
 * module's words go through the same function, so a task token and a module
 * word match when they are equal bytes. Full rules: docs/formats.md "Tokeniser".
 *
 * The rule is the reference implementation's (Python: text.lower(), then the
 * runs of str.isalnum() characters). The one deliberate difference:
 * lower-casing is utf8proc's simple mapping, so U+0130 (capital I with dot)
 * becomes "i" where Python writes "i" + U+0307 and so splits the word.
 * Python's final-sigma rule (capital sigma at a word's end becomes U+03C2) is
 * followed.
 */
#ifndef TAML_DATA_TOKENISE_H
#define TAML_DATA_TOKENISE_H

#include <stddef.h>
#include <stdint.h>

/* The version of the tokenisation rules above: bump it whenever a change
 * would split or lower-case some text differently, so that files that depend
 * on the exact tokens (exported models, nn/model.h) can refuse a mismatch. */
#define TAML_TOKENISE_VERSION 1

/* Called once per token; tok is lower-cased UTF-8, not NUL-terminated. */
typedef void (*taml_token_fn)(const char *tok, size_t len, void *ctx);

/* Tokenises len bytes of UTF-8 text (invalid sequences act as separators;
 * the task loader rejects invalid UTF-8 before this is called). Returns the
 * number of tokens emitted. Thread-safe. No allocation, except for a token
 * that lower-casing changes and that is longer than 64 bytes: its
 * lower-cased copy goes to a heap buffer freed before returning. */
size_t taml_tokenise(const char *text, size_t len, taml_token_fn emit, void *ctx);

/* 1 when code point cp is part of tokens (after lower-casing): its Unicode
 * general category is a letter (Lu Ll Lt Lm Lo) or a number (Nd Nl No). */
int taml_tokenise_is_word_char(int32_t cp);

#endif
