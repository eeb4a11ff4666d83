/* tests/gradcheck.c - the central-difference check (see gradcheck.h). */
#include "gradcheck.h"

#include <math.h>

#include "test.h"

void taml_test_check_grad(const char *file, int line, const taml_gradcheck *o, const char *what,
                          taml_test_loss_fn f, void *ctx, double *x, const double *g, size_t n)
{
    double gmax = 0;
    size_t stride = o->stride ? o->stride : 1;
    for (size_t i = 0; i < n; i += stride) {
        double keep = x[i];
        x[i] = keep + o->h;
        double up = f(ctx);
        x[i] = keep - o->h;
        double down = f(ctx);
        x[i] = keep;
        double num = (up - down) / (2 * o->h);
        if (!(fabs(num - g[i]) <= o->abs_tol + o->rel_tol * fabs(num)))
            taml_test_fail(file, line, "%s[%zu]: numeric %.10g analytic %.10g", what, i, num, g[i]);
        gmax = fmax(gmax, fabs(g[i]));
    }
    if (o->min_gmax > 0 && !(gmax > o->min_gmax))
        taml_test_fail(file, line, "%s: gradient is (nearly) all zero (max %g)", what, gmax);
}
