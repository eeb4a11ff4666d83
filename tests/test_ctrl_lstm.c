/* tests/test_ctrl_lstm.c - the controller's numeric kernels (src/ctrl/lstm.c,
 * src/ctrl/adam.c): its own exp against libm's, and each vector kernel
 * against its plain scalar reference on random inputs.
 *
 * Where a kernel does the reference's IEEE operations in the reference's
 * order (exp, sigmoid, tanh, rows_matvec, outer_sum, the LSTM cell forward,
 * da and dc of the cell backward, Adam) the test asks for the same bits:
 * anything else is a bug, and the controller's bitwise save / load /
 * continue and its equality across CPUs rest on it.
 *
 * dot_rows (dz of the cell backward) and sum_squares add their terms in
 * another order (eight running sums, then pairwise), so they agree to
 * rounding only. The bound: the terms p_i are the same rounded products in
 * both; summing n of them in any order is within gamma_(n-1) sum |p_i| of
 * the exact sum (gamma_k = k u / (1 - k u), u = 2^-53; Higham, Accuracy and
 * Stability of Numerical Algorithms, 4.2), so two orders are within
 * 2 gamma_(n-1) sum |p_i| < n DBL_EPSILON sum |p_i| of each other. That is
 * the tolerance: an error in the blocking (a term lost or counted twice)
 * is far outside it.
 *
 * The x86-64 kernels are built for AVX and for the baseline CPU; this runs
 * the one the machine's CPU selects (the sanitizer builds run the single
 * plain build).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rng.h"
#include "ctrl/adam.h"
#include "ctrl/lstm.h"
#include "test.h"

#define H TAML_CTRL_HIDDEN
#define G TAML_CTRL_GATES
#define IN_MAX (2 * TAML_CTRL_EMBED + H) /* the largest input of a cell (layer 1) */
#define T_MAX 24

/* x (n) uniform in [-scale, scale]. */
static void fill(taml_rng *r, double *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) x[i] = (2 * taml_rng_uniform(r) - 1) * scale;
}

static double *alloc(size_t n) { return taml_calloc(n ? n : 1, sizeof(double)); }

#define CHECK_SAME_BITS(a, b, n, what)                                                              \
    do {                                                                                            \
        for (size_t k_ = 0; k_ < (size_t)(n); k_++)                                                 \
            CHECK_MSG(memcmp(&(a)[k_], &(b)[k_], sizeof(double)) == 0, "%s[%zu]: %.17g vs %.17g", \
                      what, k_, (a)[k_], (b)[k_]);                                                  \
    } while (0)

TEST(ctrl_exp_matches_libm_to_a_few_ulp_and_clamps_out_of_range)
{
    double worst = 0;
    for (int i = -700000; i <= 700000; i += 7) {
        double x = i * 1e-3 + 1e-7 * (i % 13);
        double e = exp(x), got = taml_ctrl_exp(x);
        worst = fmax(worst, fabs(got - e) / e);
    }
    CHECK_MSG(worst < 1e-15, "worst relative error %g", worst);
    CHECK(taml_ctrl_exp(0) == 1.0);
    CHECK_NEAR(taml_ctrl_exp(-1000) / exp(-708), 1, 1e-15); /* clamped, never 0 or denormal */
    CHECK(isfinite(taml_ctrl_exp(1e6)) && taml_ctrl_exp(1e6) == taml_ctrl_exp(709));
    CHECK(isnan(taml_ctrl_exp(NAN)));
}

TEST(ctrl_gates_exp_and_products_equal_their_scalar_references_bit_for_bit)
{
    taml_rng r;
    taml_rng_seed(&r, 11);
    /* sigmoid and tanh on every length up to 3 blocks + a tail, with
     * values from the clamped range's edges to tiny ones */
    double *x = alloc(64), *y = alloc(64);
    for (int n = 0; n <= 13; n++)
        for (int rep = 0; rep < 40; rep++) {
            double scale = rep % 4 == 0 ? 800 : rep % 4 == 1 ? 20 : rep % 4 == 2 ? 1 : 1e-6;
            fill(&r, x, (size_t)n, scale);
            if (n > 2 && rep == 5) x[1] = -0.0, x[2] = NAN;
            memcpy(y, x, (size_t)n * sizeof *x);
            taml_ctrl_sigmoid(x, n);
            taml_ctrl_sigmoid_ref(y, n);
            CHECK_SAME_BITS(x, y, n, "sigmoid");
            fill(&r, x, (size_t)n, scale);
            memcpy(y, x, (size_t)n * sizeof *x);
            taml_ctrl_tanh(x, n);
            taml_ctrl_tanh_ref(y, n);
            CHECK_SAME_BITS(x, y, n, "tanh");
        }
    free(x);
    free(y);

    /* rows_matvec for the inputs the controller uses (the task embedding,
     * layer 1 without it, layer 2) and odd ones */
    double *W = alloc((size_t)IN_MAX * G), *z = alloc(IN_MAX), *b = alloc(G), *o1 = alloc(G), *o2 = alloc(G);
    static const int ins[] = {1, 2, 7, 25, 75, 100};
    for (size_t k = 0; k < sizeof ins / sizeof *ins; k++)
        for (int rep = 0; rep < 5; rep++) {
            int In = ins[k];
            fill(&r, W, (size_t)In * G, 0.3);
            fill(&r, z, (size_t)In, 2);
            fill(&r, b, G, 0.5);
            taml_ctrl_rows_matvec(o1, z, In, W, b);
            taml_ctrl_rows_matvec_ref(o2, z, In, W, b);
            CHECK_SAME_BITS(o1, o2, G, "rows_matvec");
            CHECK(o1[0] != b[0] && o1[G - 1] != b[G - 1]); /* the products were added */
        }

    /* outer_sum over 1 to T_MAX steps, onto a non-zero dW (it adds) */
    double *zs = alloc((size_t)T_MAX * IN_MAX), *da = alloc((size_t)T_MAX * G);
    double *dW1 = alloc((size_t)IN_MAX * G), *dW2 = alloc((size_t)IN_MAX * G);
    static const int ts[] = {1, 2, 12, T_MAX};
    for (size_t k = 0; k < sizeof ts / sizeof *ts; k++)
        for (int In = 1; In <= IN_MAX; In += 37) {
            int T = ts[k];
            fill(&r, zs, (size_t)T * In, 1);
            fill(&r, da, (size_t)T * G, 1e-2);
            fill(&r, dW1, (size_t)In * G, 1e-3);
            memcpy(dW2, dW1, (size_t)In * G * sizeof *dW1);
            taml_ctrl_outer_sum(dW1, zs, In, da, T);
            taml_ctrl_outer_sum_ref(dW2, zs, In, da, T);
            CHECK_SAME_BITS(dW1, dW2, (size_t)In * G, "outer_sum");
        }
    free(W);
    free(z);
    free(b);
    free(o1);
    free(o2);
    free(zs);
    free(da);
    free(dW1);
    free(dW2);
}

/* Max over i of |a_i - b_i| / (n DBL_EPSILON sum_j |p_ij|): at most 1 within
 * the bound of the file's opening comment. */
static double worst_dot_rows(const double *a, const double *b, const double *W, int In, const double *da)
{
    double worst = 0;
    for (int i = 0; i < In; i++) {
        double sum_abs = 0;
        for (int j = 0; j < G; j++) sum_abs += fabs(W[(size_t)i * G + j] * da[j]);
        double tol = G * DBL_EPSILON * sum_abs;
        double ratio = fabs(a[i] - b[i]) / (tol > 0 ? tol : DBL_MIN);
        if (ratio > worst) worst = ratio;
    }
    return worst;
}

TEST(ctrl_lstm_cell_forward_and_backward_equal_their_references_dz_to_rounding)
{
    taml_rng r;
    taml_rng_seed(&r, 12);
    double *W = alloc((size_t)IN_MAX * G), *z = alloc(IN_MAX), *b = alloc(G), *c_prev = alloc(H);
    double *gate[2], *c_out[2], *tc[2], *h[2], *dc[2], *da[2], *dz[2];
    for (int v = 0; v < 2; v++) {
        gate[v] = alloc(G), c_out[v] = alloc(H), tc[v] = alloc(H), h[v] = alloc(H);
        dc[v] = alloc(H), da[v] = alloc(G), dz[v] = alloc(IN_MAX);
    }
    double *dh = alloc(H), *dc0 = alloc(H);
    double worst = 0;
    static const int ins[] = {2 * TAML_CTRL_EMBED + H - TAML_CTRL_EMBED, 2 * TAML_CTRL_EMBED + H, 2 * H};
    for (size_t k = 0; k < sizeof ins / sizeof *ins; k++)
        for (int rep = 0; rep < 20; rep++) {
            int In = ins[k];
            double scale = rep % 2 ? 0.1 : 1.5; /* near-linear gates, and saturated ones */
            fill(&r, W, (size_t)In * G, scale);
            fill(&r, z, (size_t)In, 1);
            fill(&r, b, G, scale);
            fill(&r, c_prev, H, 2);
            taml_ctrl_lstm_forward(z, In, W, b, c_prev, gate[0], c_out[0], tc[0], h[0]);
            taml_ctrl_lstm_forward_ref(z, In, W, b, c_prev, gate[1], c_out[1], tc[1], h[1]);
            CHECK_SAME_BITS(gate[0], gate[1], G, "gate");
            CHECK_SAME_BITS(c_out[0], c_out[1], H, "c_out");
            CHECK_SAME_BITS(tc[0], tc[1], H, "tanh(c_out)");
            CHECK_SAME_BITS(h[0], h[1], H, "h_out");
            CHECK(gate[0][0] > 0 && gate[0][0] < 1 && fabs(h[0][0]) < 1);

            if (In % 2) continue; /* the backward takes even inputs (the controller's two) */
            fill(&r, dh, H, 1);
            fill(&r, dc0, H, 1);
            for (int v = 0; v < 2; v++) memcpy(dc[v], dc0, H * sizeof *dc0);
            taml_ctrl_lstm_backward(In, W, gate[0], c_prev, tc[0], dh, dc[0], da[0], dz[0]);
            taml_ctrl_lstm_backward_ref(In, W, gate[1], c_prev, tc[1], dh, dc[1], da[1], dz[1]);
            CHECK_SAME_BITS(da[0], da[1], G, "da");
            CHECK_SAME_BITS(dc[0], dc[1], H, "dc");
            double wk = worst_dot_rows(dz[0], dz[1], W, In, da[0]);
            CHECK_MSG(wk <= 1, "dz differs from the reference by %g x the rounding bound", wk);
            if (wk > worst) worst = wk;
            CHECK(dz[0][0] != 0 && dz[0][In - 1] != 0);
        }
    /* dot_rows alone, on any even size */
    for (int In = 2; In <= IN_MAX; In += 2) {
        fill(&r, W, (size_t)In * G, 1);
        fill(&r, da[0], G, 1);
        taml_ctrl_dot_rows(dz[0], W, In, da[0]);
        taml_ctrl_dot_rows_ref(dz[1], W, In, da[0]);
        double wk = worst_dot_rows(dz[0], dz[1], W, In, da[0]);
        CHECK_MSG(wk <= 1, "dot_rows (In %d) differs from the reference by %g x the rounding bound", In, wk);
    }
    free(W);
    free(z);
    free(b);
    free(c_prev);
    for (int v = 0; v < 2; v++) {
        free(gate[v]), free(c_out[v]), free(tc[v]), free(h[v]);
        free(dc[v]), free(da[v]), free(dz[v]);
    }
    free(dh);
    free(dc0);
}

TEST(ctrl_sum_squares_matches_its_reference_to_rounding_and_adam_bit_for_bit)
{
    taml_rng r;
    taml_rng_seed(&r, 13);
    size_t cap = 50000;
    double *x = alloc(cap);
    for (size_t n = 0; n < cap; n = n < 20 ? n + 1 : n * 3 + 7) {
        fill(&r, x, n, n % 2 ? 1e-3 : 10);
        double a = taml_ctrl_sum_squares(x, n), b = taml_ctrl_sum_squares_ref(x, n);
        double tol = (double)(n ? n : 1) * DBL_EPSILON * b; /* every term is >= 0: sum |p_i| = b */
        CHECK_MSG(fabs(a - b) <= tol, "n %zu: %.17g vs %.17g (tol %g)", n, a, b, tol);
        if (n > 0) CHECK(a > 0);
    }
    free(x);

    /* Adam: every length up to a few vector widths, and the controller's
     * size class, with and without clipping, over several steps */
    double *th[2], *m[2], *v[2], *g = alloc(cap);
    for (int k = 0; k < 2; k++) th[k] = alloc(cap), m[k] = alloc(cap), v[k] = alloc(cap);
    static const size_t ns[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 25, 47173};
    for (size_t s = 0; s < sizeof ns / sizeof *ns; s++) {
        size_t n = ns[s];
        fill(&r, th[0], n, 0.1);
        memset(m[0], 0, n * sizeof(double));
        memset(v[0], 0, n * sizeof(double));
        for (int k = 1; k < 2; k++) {
            memcpy(th[k], th[0], n * sizeof(double));
            memset(m[k], 0, n * sizeof(double));
            memset(v[k], 0, n * sizeof(double));
        }
        for (int step = 1; step <= 4; step++) {
            fill(&r, g, n, step == 3 ? 1e-9 : 3);
            double b1 = 0.9, b2 = 0.999;
            taml_ctrl_adam_k kc = {step == 2 ? 0.37 : 1, b1, 1 - b1, b2, 1 - b2, 0, 1e-8};
            kc.lr = 1e-3 * sqrt(1 - pow(b2, step)) / (1 - pow(b1, step));
            taml_ctrl_adam(th[0], m[0], v[0], g, n, &kc);
            taml_ctrl_adam_ref(th[1], m[1], v[1], g, n, &kc);
            CHECK_SAME_BITS(th[0], th[1], n, "adam weights");
            CHECK_SAME_BITS(m[0], m[1], n, "adam first moment");
            CHECK_SAME_BITS(v[0], v[1], n, "adam second moment");
        }
    }
    for (int k = 0; k < 2; k++) free(th[k]), free(m[k]), free(v[k]);
    free(g);
}
