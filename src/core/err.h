/* core/err.h - errors, assertions and checked allocation.
 *
 * The lowest layer of taml: every other module reports recoverable failures
 * through a taml_err (an int status plus a message a user can act on) and
 * trips TAML_ASSERT on bugs. Library code never calls exit(): the CLI decides
 * what a failure means.
 */
#ifndef TAML_CORE_ERR_H
#define TAML_CORE_ERR_H

#include <stddef.h>

/* Status codes: 0 is success, failures are negative. The one list: each
 * X(NAME, value, short name, meaning) makes TAML_NAME and its
 * taml_err_name(). */
#define TAML_ERRORS(X)                                                                        \
    X(OK, 0, "ok", "success")                                                                 \
    X(EIO, -1, "io", "a file could not be opened, read or written")                         \
    X(EFORMAT, -2, "format", "input is malformed: bad TSV line, bad JSON, bad vector file") \
    X(EINVAL, -3, "invalid", "an argument or a configuration value is out of range")        \
    X(ENOTFOUND, -4, "not found", "a named thing (task, module, study, trial) does not exist") \
    X(ECORRUPT, -5, "corrupt", "a checksum, magic number or stored structure does not match") \
    X(EMISMATCH, -6, "mismatch", "two things that must agree do not (space, task set, version)") \
    X(EDB, -7, "database", "the study store (SQLite) failed")                                \
    X(ESYS, -8, "system", "an operating-system call failed")                                \
    X(ENOMEM, -9, "out of memory", "a block whose size the input sets could not be allocated")

enum {
#define TAML_ERR_ENUM_(name, value, short_name, meaning) TAML_##name = value,
    TAML_ERRORS(TAML_ERR_ENUM_)
#undef TAML_ERR_ENUM_
};

#define TAML_ERR_MSG 1024

/* A failure report: the status and a message naming file, line and what was
 * expected. Callers own it (usually on the stack); functions that can fail take
 * a `taml_err *` (which may be NULL when the caller does not want the text). */
typedef struct taml_err {
    int code;
    char msg[TAML_ERR_MSG];
} taml_err;

/* Sets err (if not NULL) to code and a printf-style message; returns code so
 * that `return taml_err_set(err, TAML_EIO, "...")` reads naturally. */
int taml_err_set(taml_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts `prefix: ` in front of an existing message (adds context on the way up). */
int taml_err_prefix(taml_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to TAML_OK and an empty message. */
void taml_err_clear(taml_err *err);

/* A short name of a status code ("io", "format", ...; "unknown" for others). */
const char *taml_err_name(int code);

/* Always-on assertion for bugs (never for bad input): prints file:line and
 * the expression, then aborts. */
#define TAML_ASSERT(cond)                                                      \
    do {                                                                       \
        if (!(cond)) taml_assert_fail(#cond, __FILE__, __LINE__);              \
    } while (0)
_Noreturn void taml_assert_fail(const char *expr, const char *file, int line);

/* Allocation. One policy: memory taml needs to go on (buffers, tables,
 * copies) comes from the taml_malloc family, and running out of it aborts
 * with the size asked for, because nothing sensible can follow (a size read
 * from a file is checked against the bytes the file holds first). A block
 * whose size a configuration sets without such a bound (a child's one block:
 * 7 layers of 65,536 units are valid) comes from taml_try_aligned instead:
 * its failure is an error the caller reports (TAML_ENOMEM: the trial is
 * recorded as failed), never a crash. */
void *taml_malloc(size_t size);
void *taml_calloc(size_t n, size_t size);
void *taml_realloc(void *p, size_t size);
char *taml_strdup(const char *s);
/* size bytes aligned to 64 (a cache line, and AVX-512 loads); free them with
 * free(). taml_aligned aborts when out of memory, taml_try_aligned returns
 * NULL. A size of 0 gives a valid 64-byte block. */
void *taml_aligned(size_t size);
void *taml_try_aligned(size_t size);
/* x rounded up to a multiple of a (a power of two). */
static inline size_t taml_align_up(size_t x, size_t a)
{
    return (x + a - 1) & ~(a - 1);
}
/* malloc + printf into it. */
char *taml_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s (heap, or NULL for "") with printf's text appended: returns the new
 * heap string (s is reallocated). For short texts built piece by piece. */
char *taml_append(char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
