/* data/tokenise.h - the one tokeniser of taml, shared by tasks and modules.
 *
 * Tokens are the maximal runs of letters and digits (Unicode categories L*
 * and N*) of the lower-cased text; everything else separates tokens. A
 * module's words go through the same function, so a task token and a module
 * word match when they are equal bytes. Full rules: README "Tokeniser".
 */
#ifndef TAML_DATA_TOKENISE_H
#define TAML_DATA_TOKENISE_H

#include <stddef.h>

/* Called once per token; tok is lower-cased UTF-8, not NUL-terminated. */
typedef void (*taml_token_fn)(const char *tok, size_t len, void *ctx);

/* Tokenises len bytes of UTF-8 text (invalid sequences act as separators;
 * the task loader rejects invalid UTF-8 before this is called). Returns the
 * number of tokens emitted. Thread-safe, no allocation beyond a small
 * per-call buffer. */
size_t taml_tokenise(const char *text, size_t len, taml_token_fn emit, void *ctx);

#endif
