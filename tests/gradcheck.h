/* tests/gradcheck.h - the one central-difference gradient check of the
 * tests (kernels, the whole child model, the controller).
 *
 * f(ctx) computes a scalar loss from the current values of the arrays it
 * reads. The check perturbs x[i] by +-h for every stride-th i, compares
 * (f(x + h) - f(x - h)) / 2h with the analytic gradient g[i] within
 * abs_tol + rel_tol |numeric|, and fails the calling test (naming what and
 * i) on the first disagreement. With min_gmax > 0 it also fails when every
 * |g[i]| is at most min_gmax: a backward that does nothing would otherwise
 * pass against a loss that does not depend on x. */
#ifndef TAML_TESTS_GRADCHECK_H
#define TAML_TESTS_GRADCHECK_H

#include <stddef.h>

typedef double (*taml_test_loss_fn)(void *ctx);

typedef struct taml_gradcheck {
    double h, abs_tol, rel_tol, min_gmax;
    size_t stride; /* 0 or 1: every entry */
} taml_gradcheck;

#define CHECK_GRAD(opts, what, f, ctx, x, g, n)                                                   \
    taml_test_check_grad(__FILE__, __LINE__, (opts), (what), (f), (ctx), (x), (g), (n))
void taml_test_check_grad(const char *file, int line, const taml_gradcheck *o, const char *what,
                          taml_test_loss_fn f, void *ctx, double *x, const double *g, size_t n);

#endif
