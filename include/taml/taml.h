/* taml/taml.h - the one header a program includes to use libtaml (installed
 * by `make install` under PREFIX/include/taml/, found with
 * `pkg-config --cflags --libs taml`).
 *
 * It holds the library's public surface only, as opaque handles and plain
 * data, and includes nothing of taml's sources (src/ stays private: its
 * headers change with the code) and no third-party header. Everything here
 * is implemented in src/api/api.c over the layers below it.
 *
 * Errors: every function that can fail returns 0 on success or a negative
 * code (TAML_API_E*) and, when msg is not NULL, writes a message a user can
 * act on (the file, the trial, what was expected) into msg[TAML_API_MSG].
 * The library never exits and never prints.
 *
 * Ownership: a handle made by *_open is freed by its *_close (NULL is a
 * no-op); strings the library returns in a struct belong to that struct and
 * are freed by its *_deinit; strings passed in are borrowed for the call.
 *
 * Threads: the library keeps no global state. One handle may be used by one
 * thread at a time; different handles may be used from different threads at
 * once (two handles of the same study file serialise on the file's lock).
 */
#ifndef TAML_TAML_H
#define TAML_TAML_H

#include <taml/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library a program runs with ("MAJOR.MINOR.PATCH"),
 * which may be newer than the TAML_VERSION it was compiled with. */
const char *taml_api_version(void);

#ifdef __cplusplus
}
#endif

#endif
