/* tests/test.h - taml's small test runner.
 *
 *   TEST(name_that_says_what_it_proves) { ... CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *
 * Tests register themselves (a constructor per TEST), so a new test file in tests/
 * needs no list to edit. The runner (tests/runner.c) runs every test whose
 * name contains one of its arguments (all when none), each in a process of
 * its own with a time limit, and ends with the line "N passed, N failed". A
 * failing CHECK prints file:line and the values, and ends that test; a
 * test that crashes or hangs is reported with the signal or the timeout.
 */
#ifndef TAML_TEST_H
#define TAML_TEST_H

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef void (*taml_test_fn)(void);
void taml_test_register(const char *name, const char *file, taml_test_fn fn);
_Noreturn void taml_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                             \
    static void test_##name(void);                                             \
    __attribute__((constructor)) static void register_##name(void)            \
    {                                                                          \
        taml_test_register(#name, __FILE__, test_##name);                      \
    }                                                                          \
    static void test_##name(void)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) taml_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);   \
    } while (0)

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond)) taml_test_fail(__FILE__, __LINE__, __VA_ARGS__);          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_)                                                        \
            taml_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, va_, vb_); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double va_ = (double)(a), vb_ = (double)(b);                            \
        if (!(fabs(va_ - vb_) <= (tol)))                                       \
            taml_test_fail(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, va_, vb_, \
                           (double)(tol));                                     \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                             \
            taml_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,    \
                           sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");        \
    } while (0)

/* Checks that string s contains needle (for error messages). */
#define CHECK_CONTAINS(s, needle)                                              \
    do {                                                                       \
        const char *sa_ = (s), *sb_ = (needle);                                \
        if (!sa_ || !strstr(sa_, sb_))                                         \
            taml_test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", \
                           sa_ ? sa_ : "(null)", sb_);                         \
    } while (0)

/* A fresh empty directory under $TMPDIR for this test; removed after the test
 * passes, kept (and named) when it fails. Owned by the runner. */
const char *taml_test_tmpdir(void);

#endif
