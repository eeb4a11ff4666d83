/* core/err.c - error messages, assertions and checked allocation (see err.h). */
#include "core/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int taml_err_set(taml_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int taml_err_prefix(taml_err *err, const char *fmt, ...)
{
    if (!err) return TAML_OK;
    char head[TAML_ERR_MSG], old[TAML_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strnlen(head, sizeof head - 3);
    memcpy(err->msg, head, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return err->code;
}

void taml_err_clear(taml_err *err)
{
    if (err) {
        err->code = TAML_OK;
        err->msg[0] = '\0';
    }
}

const char *taml_err_name(int code)
{
    switch (code) {
#define TAML_ERR_CASE_(name, value, short_name, meaning)                                        \
    case TAML_##name: return short_name;
        TAML_ERRORS(TAML_ERR_CASE_)
#undef TAML_ERR_CASE_
    default: return "unknown";
    }
}

_Noreturn void taml_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "taml: internal error at %s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}

static _Noreturn void out_of_memory(size_t size)
{
    fprintf(stderr, "taml: out of memory allocating %zu bytes\n", size);
    abort();
}

void *taml_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) out_of_memory(size);
    return p;
}

void *taml_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) out_of_memory(n * size);
    return p;
}

void *taml_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) out_of_memory(size);
    return q;
}

void *taml_try_aligned(size_t size)
{
    void *p = NULL;
    if (size > SIZE_MAX - 63 || posix_memalign(&p, 64, taml_align_up(size ? size : 64, 64)) != 0)
        return NULL;
    return p;
}

void *taml_aligned(size_t size)
{
    void *p = taml_try_aligned(size);
    if (!p) out_of_memory(size);
    return p;
}

char *taml_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(taml_malloc(n), s, n);
}

char *taml_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    TAML_ASSERT(n >= 0);
    char *s = taml_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *taml_append(char *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    TAML_ASSERT(n >= 0);
    size_t used = s ? strlen(s) : 0;
    s = taml_realloc(s, used + (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s + used, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}
