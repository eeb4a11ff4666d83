/* tests/test_kernels.c - the child model's kernels, BLAS wrapper and optimiser:
 * central-difference gradient checks in double precision of every kernel (on
 * the taml_kerneld_* build of the same source that trains), SGEMM against its
 * plain-loop reference, Proximal Adagrad against hand-computed values. */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/blas.h"
#include "nn/kernels.h"
#include "nn/optim.h"
#include "gradcheck.h"
#include "test.h"

/* ---- helpers ----------------------------------------------------------- */

static double *rnd(taml_rng *r, size_t n, double scale)
{
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = scale * (2 * taml_rng_uniform(r) - 1);
    return x;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* A kernel under test: f(ctx) computes a scalar loss from the current values
 * of the arrays it reads; check_grad compares its central differences with
 * the analytic gradient and asserts that the gradient is not all zero
 * (tests/gradcheck.h). */
static const taml_gradcheck kernel_check = {
    .h = 1e-6, .abs_tol = 1e-6, .rel_tol = 1e-6, .min_gmax = 1e-3};
#define check_grad(what, f, ctx, x, g, n) CHECK_GRAD(&kernel_check, what, f, ctx, x, g, n)

/* ---- dense --------------------------------------------------------------- */

struct dense_ctx {
    int B, In, Out;
    double *in, *w, *b, *r, *out;
};

static double dense_loss(void *p)
{
    struct dense_ctx *c = p;
    taml_kerneld_dense_forward(c->out, c->in, c->w, c->b, c->B, c->In, c->Out);
    return dot(c->out, c->r, (size_t)c->B * c->Out);
}

TEST(dense_kernel_gradients_match_central_differences)
{
    taml_rng rng;
    taml_rng_seed(&rng, 1);
    struct dense_ctx c = {4, 5, 3, NULL, NULL, NULL, NULL, NULL};
    c.in = rnd(&rng, 20, 1), c.w = rnd(&rng, 15, 1), c.b = rnd(&rng, 3, 1);
    c.r = rnd(&rng, 12, 1), c.out = calloc(12, sizeof(double));
    double *din = calloc(20, sizeof(double)), *dw = calloc(15, sizeof(double)),
           *db = calloc(3, sizeof(double));
    taml_kerneld_dense_backward(din, dw, db, c.r, c.in, c.w, c.B, c.In, c.Out);
    check_grad("dense in", dense_loss, &c, c.in, din, 20);
    check_grad("dense w", dense_loss, &c, c.w, dw, 15);
    check_grad("dense b", dense_loss, &c, c.b, db, 3);
    /* the backward adds: a second call doubles the gradients */
    taml_kerneld_dense_backward(din, dw, db, c.r, c.in, c.w, c.B, c.In, c.Out);
    double dw2[15];
    for (int i = 0; i < 15; i++) dw2[i] = dw[i] / 2;
    check_grad("dense w twice / 2", dense_loss, &c, c.w, dw2, 15);
    free(c.in), free(c.w), free(c.b), free(c.r), free(c.out), free(din), free(dw), free(db);
}

/* ---- element-wise: activation, dropout ------------------------------------ */

struct ew_ctx {
    size_t n;
    int act;
    double *x, *y, *r, *mask;
};

static double act_loss(void *p)
{
    struct ew_ctx *c = p;
    taml_kerneld_act_forward(c->y, c->x, c->n, c->act);
    return dot(c->y, c->r, c->n);
}

static double dropout_loss(void *p)
{
    struct ew_ctx *c = p;
    taml_kerneld_dropout_apply(c->y, c->x, c->mask, c->n);
    return dot(c->y, c->r, c->n);
}

TEST(relu_swish_and_dropout_gradients_match_central_differences)
{
    taml_rng rng;
    taml_rng_seed(&rng, 2);
    size_t n = 24;
    struct ew_ctx c = {n, 0, rnd(&rng, n, 2), calloc(n, sizeof(double)), rnd(&rng, n, 1), NULL};
    for (size_t i = 0; i < n; i++)
        if (fabs(c.x[i]) < 1e-3) c.x[i] = 0.5; /* relu has no derivative at 0 */
    double *dx = calloc(n, sizeof(double));
    for (int act = 0; act < 2; act++) {
        c.act = act;
        taml_kerneld_act_backward(dx, c.r, c.x, n, act);
        check_grad(act ? "swish" : "relu", act_loss, &c, c.x, dx, n);
    }
    /* swish(x) = x sigmoid(x) at known points */
    double xs[3] = {0, 1, -2}, ys[3];
    taml_kerneld_act_forward(ys, xs, 3, TAML_ACT_SWISH);
    CHECK_NEAR(ys[0], 0, 1e-15);
    CHECK_NEAR(ys[1], 1 / (1 + exp(-1.0)), 1e-15);
    CHECK_NEAR(ys[2], -2 / (1 + exp(2.0)), 1e-15);
    /* dropout with a fixed mask of p = 0.5: zeros and 2s */
    c.mask = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) c.mask[i] = (i % 3 == 0) ? 0 : 2;
    taml_kerneld_dropout_apply(dx, c.r, c.mask, n);
    check_grad("dropout", dropout_loss, &c, c.x, dx, n);
    CHECK(dx[0] == 0 && dx[1] == 2 * c.r[1]);
    free(c.x), free(c.y), free(c.r), free(c.mask), free(dx);
}

/* ---- normalisation ---------------------------------------------------------- */

struct norm_ctx {
    int B, H, kind;
    double *x, *y, *xhat, *mean, *var, *rstd, *gamma, *beta, *r;
};

static double norm_loss(void *p)
{
    struct norm_ctx *c = p;
    if (c->kind == TAML_NORM_BATCH)
        taml_kerneld_batchnorm_forward_train(c->y, c->xhat, c->mean, c->var, c->x, c->gamma, c->beta,
                                        c->B, c->H, 1e-3);
    else
        taml_kerneld_layernorm_forward(c->y, c->xhat, c->rstd, c->x, c->gamma, c->beta, c->B, c->H,
                                  1e-3);
    return dot(c->y, c->r, (size_t)c->B * c->H);
}

TEST(batch_and_layer_norm_gradients_match_central_differences)
{
    taml_rng rng;
    taml_rng_seed(&rng, 3);
    int B = 5, H = 4;
    size_t n = (size_t)B * H;
    for (int kind = TAML_NORM_BATCH; kind <= TAML_NORM_LAYER; kind++) {
        struct norm_ctx c = {B, H, kind, rnd(&rng, n, 1), calloc(n, 8), calloc(n, 8),
                             calloc(H, 8), calloc(H, 8), calloc(B, 8), rnd(&rng, H, 1),
                             rnd(&rng, H, 1), rnd(&rng, n, 1)};
        for (int j = 0; j < H; j++) c.gamma[j] += 1.5;
        double *dx = calloc(n, 8), *dg = calloc(H, 8), *dbt = calloc(H, 8), cs[8];
        norm_loss(&c);
        if (kind == TAML_NORM_BATCH)
            taml_kerneld_batchnorm_backward(dx, dg, dbt, cs, c.r, c.xhat, c.gamma, c.var, B, H, 1e-3);
        else
            taml_kerneld_layernorm_backward(dx, dg, dbt, c.r, c.xhat, c.rstd, c.gamma, B, H);
        const char *name = kind == TAML_NORM_BATCH ? "batch norm" : "layer norm";
        check_grad(name, norm_loss, &c, c.x, dx, n);
        check_grad(name, norm_loss, &c, c.gamma, dg, H);
        check_grad(name, norm_loss, &c, c.beta, dbt, H);
        if (kind == TAML_NORM_BATCH) {
            /* each column of the normalised batch has mean 0 and variance var/(var+eps) */
            double m = 0;
            for (int i = 0; i < B; i++) m += c.xhat[i * H + 1];
            CHECK_NEAR(m, 0, 1e-12);
            /* running averages: momentum 0.01 and the unbiased variance */
            double rm[4] = {0, 0, 0, 0}, rv[4] = {1, 1, 1, 1};
            taml_kerneld_batchnorm_update_running(rm, rv, c.mean, c.var, B, H, 0.01);
            CHECK_NEAR(rm[2], 0.01 * c.mean[2], 1e-15);
            CHECK_NEAR(rv[2], 0.99 + 0.01 * c.var[2] * B / (B - 1), 1e-15);
        }
        free(c.x), free(c.y), free(c.xhat), free(c.mean), free(c.var), free(c.rstd);
        free(c.gamma), free(c.beta), free(c.r), free(dx), free(dg), free(dbt);
    }
}

/* ---- softmax cross-entropy ------------------------------------------------- */

struct xent_ctx {
    int B, C;
    double *z, *d;
    int32_t *y;
};

static double xent_loss(void *p)
{
    struct xent_ctx *c = p;
    return taml_kerneld_softmax_xent(c->d, c->z, c->y, c->B, c->C);
}

TEST(softmax_cross_entropy_is_summed_and_its_gradient_matches)
{
    taml_rng rng;
    taml_rng_seed(&rng, 4);
    int32_t y[3] = {0, 2, 1};
    struct xent_ctx c = {3, 4, rnd(&rng, 12, 3), calloc(12, 8), y};
    double *g = calloc(12, 8);
    taml_kerneld_softmax_xent(g, c.z, y, 3, 4);
    check_grad("softmax xent", xent_loss, &c, c.z, g, 12);
    /* uniform logits: loss = B log C exactly, summed not averaged */
    double z0[12] = {0}, d0[12] = {0};
    CHECK_NEAR(taml_kerneld_softmax_xent(d0, z0, y, 3, 4), 3 * log(4.0), 1e-12);
    CHECK_NEAR(d0[0], 0.25 - 1, 1e-15);
    /* huge logits stay finite (max subtracted) */
    double zb[4] = {1000, 0, 0, 0}, db[4] = {0};
    int32_t y1 = 1;
    CHECK_NEAR(taml_kerneld_softmax_xent(db, zb, &y1, 1, 4), 1000, 1e-9);
    free(c.z), free(c.d), free(g);
}

/* ---- mean-pooled embedding and sparse wide tower --------------------------- */

struct bag_ctx {
    int B, D;
    double *table, *bias, *out, *r;
    const int64_t *off;
    const int32_t *ids, *ex;
    int wide;
};

static double bag_loss(void *p)
{
    struct bag_ctx *c = p;
    if (c->wide) {
        memset(c->out, 0, (size_t)c->B * c->D * sizeof(double));
        taml_kerneld_wide_forward(c->out, c->table, c->bias, c->off, c->ids, c->ex, c->B, c->D);
    } else {
        taml_kerneld_embed_mean_forward(c->out, c->table, c->off, c->ids, c->ex, c->B, c->D);
    }
    return dot(c->out, c->r, (size_t)c->B * c->D);
}

/* Scatters a sparse gradient into a dense (rows, width) array. */
static void densify(double *dense, const taml_kerneld_sparse *s, int rows)
{
    memset(dense, 0, (size_t)rows * s->width * sizeof(double));
    for (int k = 0; k < s->n; k++)
        memcpy(dense + (size_t)s->rows[k] * s->width, s->g + (size_t)k * s->width,
               (size_t)s->width * sizeof(double));
}

TEST(mean_embedding_and_wide_tower_sparse_gradients_match_central_differences)
{
    taml_rng rng;
    taml_rng_seed(&rng, 5);
    enum { R = 6, D = 3, B = 3 };
    /* four examples; the batch uses examples 3, 0, 2 (example 2 is empty); row 1
     * repeats inside example 0 and across examples; rows 0, 2 (example 1, not in
     * the batch) and 5 are not touched */
    int64_t off[5] = {0, 3, 5, 5, 7};
    int32_t ids[7] = {1, 4, 1, 0, 2, 1, 3};
    int32_t ex[B] = {3, 0, 2};
    int32_t slot[R], rows[R];
    double g[R * D], dense[R * D], dbias[D] = {0};
    for (int wide = 0; wide < 2; wide++) {
        struct bag_ctx c = {B, D, rnd(&rng, R * D, 1), rnd(&rng, D, 1), calloc(B * D, 8),
                            rnd(&rng, B * D, 1), off, ids, ex, wide};
        for (int i = 0; i < R; i++) slot[i] = -1;
        taml_kerneld_sparse s = {slot, rows, g, 0, R, D};
        if (wide) taml_kerneld_wide_backward(&s, dbias, c.r, off, ids, ex, B, D);
        else taml_kerneld_embed_mean_backward(&s, c.r, off, ids, ex, B, D);
        CHECK_EQ_INT(s.n, 3); /* rows 1, 3, 4 touched, once each (duplicates summed) */
        CHECK(slot[0] == -1 && slot[2] == -1 && slot[5] == -1);
        densify(dense, &s, R);
        check_grad(wide ? "wide table" : "mean embedding", bag_loss, &c, c.table, dense, R * D);
        if (wide) check_grad("wide bias", bag_loss, &c, c.bias, dbias, D);
        if (!wide) {
            bag_loss(&c); /* the empty example pools to the zero vector */
            CHECK(c.out[2 * D] == 0 && c.out[2 * D + 2] == 0);
        }
        taml_kerneld_sparse_clear(&s);
        CHECK(s.n == 0 && slot[1] == -1 && slot[3] == -1);
        free(c.table), free(c.bias), free(c.out), free(c.r);
    }
}

/* The wide tower has a copy per class count 2..8, one for 9..16 and one above:
 * each against the plain sums, forward and backward. */
TEST(wide_tower_equals_plain_sums_for_every_class_count)
{
    enum { R = 40, B = 5, N = 7 };
    int64_t off[N + 1] = {0, 4, 4, 9, 10, 16, 17, 30};
    int32_t ids[30], ex[B] = {6, 0, 1, 4, 2}; /* example 1 is empty */
    for (int i = 0; i < 30; i++) ids[i] = (int32_t)((i * 7) % R) / (i % 5 ? 1 : 2);
    const int counts[] = {2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 31};
    taml_rng rng;
    taml_rng_seed(&rng, 9);
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++) {
        int C = counts[ci];
        float *table = malloc(sizeof(float) * R * C), *bias = malloc(sizeof(float) * C);
        float *out = malloc(sizeof(float) * B * C), *dout = malloc(sizeof(float) * B * C);
        float *g = malloc(sizeof(float) * R * C), *dbias = calloc((size_t)C, sizeof(float));
        double *want = calloc((size_t)R * C, sizeof(double)), *wantb = calloc((size_t)C, sizeof(double));
        int32_t slot[R], rows[R];
        for (int i = 0; i < R * C; i++) table[i] = taml_rng_uniformf(&rng) - 0.5f;
        for (int j = 0; j < C; j++) bias[j] = taml_rng_uniformf(&rng);
        for (int i = 0; i < B * C; i++) out[i] = 1, dout[i] = taml_rng_uniformf(&rng) - 0.5f;
        taml_kernel_wide_forward(out, table, bias, off, ids, ex, B, C);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < C; j++) {
                double sum = 1 + (double)bias[j];
                for (int64_t t = off[ex[b]]; t < off[ex[b] + 1]; t++) sum += table[ids[t] * C + j];
                CHECK_NEAR(out[b * C + j], sum, 1e-5);
                wantb[j] += dout[b * C + j];
                for (int64_t t = off[ex[b]]; t < off[ex[b] + 1]; t++)
                    want[(size_t)ids[t] * C + j] += dout[b * C + j];
            }
        for (int i = 0; i < R; i++) slot[i] = -1;
        taml_kernel_sparse s = {slot, rows, g, 0, R, C};
        taml_kernel_wide_backward(&s, dbias, dout, off, ids, ex, B, C);
        for (int r = 0; r < R; r++)
            for (int j = 0; j < C; j++)
                CHECK_NEAR(slot[r] < 0 ? 0.0 : g[(size_t)slot[r] * C + j], want[(size_t)r * C + j], 1e-5);
        for (int j = 0; j < C; j++) CHECK_NEAR(dbias[j], wantb[j], 1e-5);
        free(table), free(bias), free(out), free(dout), free(g), free(dbias), free(want), free(wantb);
    }
}

/* ---- BLAS -------------------------------------------------------------------- */

TEST(sgemm_wrapper_matches_plain_loop_reference_on_child_shapes)
{
    taml_blas_init(NULL);
    taml_rng rng;
    taml_rng_seed(&rng, 6);
    static const int shapes[][3] = {{100, 64, 100}, {100, 256, 256}, {256, 256, 100},
                                    {100, 100, 64}, {3, 5, 7}, {100, 20, 256}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
        float *c1 = malloc(sizeof(float) * M * N), *c2 = malloc(sizeof(float) * M * N);
        for (int i = 0; i < M * K; i++) a[i] = taml_rng_uniformf(&rng) - 0.5f;
        for (int i = 0; i < K * N; i++) b[i] = taml_rng_uniformf(&rng) - 0.5f;
        for (int t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1;
            for (int i = 0; i < M * N; i++) c1[i] = c2[i] = (float)i / (M * N);
            taml_blas_sgemm(ta, tb, M, N, K, 1.0f, a, ta ? M : K, b, tb ? K : N, 1.0f, c1, N);
            taml_blas_sgemm_ref(ta, tb, M, N, K, 1.0f, a, ta ? M : K, b, tb ? K : N, 1.0f, c2, N);
            double worst = 0;
            for (int i = 0; i < M * N; i++) worst = fmax(worst, fabs(c1[i] - c2[i]));
            CHECK_MSG(worst < 1e-4, "%dx%dx%d trans %d%d: differs by %g", M, N, K, ta, tb, worst);
        }
        /* beta = 0 overwrites even NaN */
        for (int i = 0; i < M * N; i++) c1[i] = NAN;
        taml_blas_sgemm(0, 0, M, N, K, 1.0f, a, K, b, N, 0.0f, c1, N);
        CHECK(c1[0] == c1[0]);
        free(a), free(b), free(c1), free(c2);
    }
    const char *d = taml_blas_describe();
    CHECK(d && d[0]);
    if (__builtin_cpu_supports("avx512f") && taml_blas_fast() && !getenv("TAML_BLAS_CORETYPE"))
        CHECK_CONTAINS(d, "SkylakeX");
}

/* ---- Proximal Adagrad ----------------------------------------------------------- */

TEST(proximal_adagrad_dense_step_matches_hand_computed_values)
{
    /* w = 1, g = 0.5, acc 0.1 -> acc 0.35, lr_t = 0.1 / sqrt(0.35) */
    float w[4] = {1, -1, 0.01f, 2}, acc[4] = {0.1f, 0.1f, 0.1f, 0.1f}, g[4] = {0.5f, 0.5f, 0, 0};
    double lr_t = 0.1 / sqrt(0.35);
    taml_optim_padagrad_dense(w, acc, g, 2, 0.1f, 0, 0); /* plain Adagrad, no regulariser */
    CHECK_NEAR(acc[0], 0.35, 1e-7);
    CHECK_NEAR(w[0], 1 - lr_t * 0.5, 1e-6);
    CHECK_NEAR(w[1], -1 - lr_t * 0.5, 1e-6);
    /* L2 only: w = (w - lr_t g) / (1 + lr_t l2) */
    float w2[1] = {1}, a2[1] = {0.1f}, g2[1] = {0.5f};
    taml_optim_padagrad_dense(w2, a2, g2, 1, 0.1f, 0, 0.5f);
    CHECK_NEAR(w2[0], (1 - lr_t * 0.5) / (1 + lr_t * 0.5), 1e-6);
    /* L1: soft threshold by lr_t l1; a zero gradient still shrinks (acc 0.1) */
    float w3[3] = {1, -1, 0.01f}, a3[3] = {0.1f, 0.1f, 0.1f}, g3[3] = {0.5f, -0.5f, 0};
    taml_optim_padagrad_dense(w3, a3, g3, 3, 0.1f, 0.2f, 0);
    double w1 = 1 - lr_t * 0.5;
    CHECK_NEAR(w3[0], w1 - lr_t * 0.2, 1e-6);
    CHECK_NEAR(w3[1], -(w1 - lr_t * 0.2), 1e-6);
    /* |0.01| - (0.1 / sqrt(0.1)) * 0.2 < 0: driven exactly to zero */
    CHECK(w3[2] == 0.0f);
    CHECK(a3[2] == 0.1f);
}

TEST(proximal_adagrad_sparse_step_touches_only_listed_rows)
{
    enum { R = 4, W = 2 };
    float table[R * W] = {1, 1, 2, 2, 3, 3, 0.001f, -0.001f};
    float acc[R * W];
    for (int i = 0; i < R * W; i++) acc[i] = 0.1f;
    int32_t slot[R] = {-1, -1, -1, -1}, rows[R];
    float g[R * W];
    taml_kernel_sparse s = {slot, rows, g, 0, R, W};
    /* rows 2 and 3 touched (3 with a zero gradient); rows 0, 1 untouched */
    rows[0] = 2, slot[2] = 0, g[0] = 1, g[1] = -1;
    rows[1] = 3, slot[3] = 1, g[2] = 0, g[3] = 0;
    s.n = 2;
    taml_optim_padagrad_sparse(table, acc, &s, 0.5f, 0.1f, 0);
    double lr_t = 0.5 / sqrt(1.1);
    CHECK_NEAR(table[4], 3 - lr_t - lr_t * 0.1, 1e-6);
    CHECK_NEAR(table[5], 3 + lr_t - lr_t * 0.1, 1e-6);
    CHECK_NEAR(acc[4], 1.1, 1e-6);
    /* touched with zero gradient: L1 still applies, small weights go to exactly 0 */
    CHECK(table[6] == 0.0f && table[7] == 0.0f);
    /* untouched rows keep weights and accumulators (no lazy L1 catch-up, as TF) */
    CHECK(table[0] == 1 && table[3] == 2 && acc[0] == 0.1f && acc[2] == 0.1f);
    /* L2 on a sparse row */
    float t2[2] = {1, -1}, a2[2] = {0.1f, 0.1f}, gg[2] = {0, 0};
    int32_t sl[1] = {0}, rw[1] = {0};
    taml_kernel_sparse s2 = {sl, rw, gg, 1, 1, 2};
    taml_optim_padagrad_sparse(t2, a2, &s2, 0.1f, 0, 1.0f);
    double l = 0.1 / sqrt(0.1);
    CHECK_NEAR(t2[0], 1 / (1 + l), 1e-6);
    CHECK_NEAR(t2[1], -1 / (1 + l), 1e-6);
}

/* The sparse step of many rows (narrow rows go through chunks of 1024 floats,
 * wide ones in place) equals the dense step of each touched row, bit for bit;
 * untouched rows keep their weights and accumulators. */
TEST(proximal_adagrad_sparse_equals_dense_per_row_across_chunks)
{
    const int widths[] = {1, 3, 5, 15, 16, 100, 2049};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        int W = widths[wi], R = 700, N = 450; /* 450 distinct rows (337 k mod 700): width 5 spans 3 chunks */
        float *t = malloc(sizeof(float) * R * W), *a = malloc(sizeof(float) * R * W);
        float *t2 = malloc(sizeof(float) * R * W), *a2 = malloc(sizeof(float) * R * W);
        float *g = malloc(sizeof(float) * N * W);
        int32_t *slot = malloc(sizeof(int32_t) * R), *rows = malloc(sizeof(int32_t) * N);
        taml_rng r;
        taml_rng_seed(&r, 7 + (uint64_t)W);
        for (int i = 0; i < R * W; i++)
            t[i] = t2[i] = taml_rng_uniformf(&r) - 0.5f, a[i] = a2[i] = 0.1f + taml_rng_uniformf(&r);
        for (int i = 0; i < R; i++) slot[i] = -1;
        for (int k = 0; k < N; k++) rows[k] = (int32_t)((k * 337) % R), slot[rows[k]] = k;
        for (int i = 0; i < N * W; i++) g[i] = taml_rng_uniformf(&r) - 0.5f;
        taml_kernel_sparse s = {slot, rows, g, N, N, W};
        for (int reg = 0; reg < 3; reg++) { /* no regulariser, L1, L2 */
            float l1 = reg == 1 ? 0.01f : 0, l2 = reg == 2 ? 0.1f : 0;
            taml_optim_padagrad_sparse(t, a, &s, 0.3f, l1, l2);
            for (int k = 0; k < N; k++)
                taml_optim_padagrad_dense(t2 + (size_t)rows[k] * W, a2 + (size_t)rows[k] * W,
                                    g + (size_t)k * W, (size_t)W, 0.3f, l1, l2);
            CHECK(memcmp(t, t2, sizeof(float) * R * W) == 0);
            CHECK(memcmp(a, a2, sizeof(float) * R * W) == 0);
        }
        free(t), free(a), free(t2), free(a2), free(g), free(slot), free(rows);
    }
}

TEST(absmax_flags_nan_as_infinite)
{
    float a[5] = {1, -7, 3, 0, 2};
    CHECK(taml_optim_absmax(a, 5) == 7.0f);
    a[3] = NAN;
    CHECK(isinf(taml_optim_absmax(a, 5)));
}
