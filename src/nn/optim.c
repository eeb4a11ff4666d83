/* nn/optim.c - Proximal Adagrad, dense and sparse (contract in optim.h).
 *
 * The dense step runs over every parameter of the deep tower every step, so it
 * is compiled for AVX-512 and AVX2 next to the portable version (GCC picks one
 * at load time by CPU), with the division and square root vectorised (the
 * Makefile builds src/nn with -O3 -fno-math-errno): the arithmetic is the same
 * IEEE operations in the same order, so results do not depend on which version
 * runs. */
#include "nn/optim.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ThreadSanitizer cannot run the ifunc resolvers target_clones needs (they
 * run before it is initialised), and Clang 14 (the libFuzzer builds) names
 * the dispatcher "f.ifunc", leaving calls from other files unresolved: one
 * plain build of these loops there. */
#if defined(__SANITIZE_THREAD__) || defined(__clang__)
#define CLONES
#else
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

/* TF's formula with the division by sqrt(accum) folded into the last one:
 * with s = sqrt(accum), lr_t = lr / s and
 *     w - lr_t g = (w s - lr g) / s
 *     sign(w') max(|w'| - lr_t l1, 0) / (1 + lr_t l2)
 *         = sign(v) max(|v| - lr l1, 0) / (s + lr l2),   v = w s - lr g,
 * one square root and one division per element instead of a square root and
 * two divisions (the step is equal in exact arithmetic; rounding differs from
 * the literal formula by an ulp, as TF's own Eigen rsqrt does). Three loops so
 * that none has a branch. */
CLONES void taml_optim_padagrad_dense(float *restrict w, float *restrict acc,
                                      const float *restrict g, size_t n, float lr, float l1,
                                      float l2)
{
    float lr_l1 = lr * l1, lr_l2 = lr * l2;
    if (l1 > 0) {
        for (size_t i = 0; i < n; i++) {
            float a = acc[i] + g[i] * g[i];
            acc[i] = a;
            float sq = sqrtf(a);
            float v = w[i] * sq - lr * g[i];
            float m = fabsf(v) - lr_l1;
            m = m > 0 ? m : 0;
            w[i] = copysignf(m, v) / (sq + lr_l2);
        }
    } else if (l2 > 0) {
        for (size_t i = 0; i < n; i++) {
            float a = acc[i] + g[i] * g[i];
            acc[i] = a;
            float sq = sqrtf(a);
            w[i] = (w[i] * sq - lr * g[i]) / (sq + lr_l2);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float a = acc[i] + g[i] * g[i];
            acc[i] = a;
            w[i] -= lr / sqrtf(a) * g[i];
        }
    }
}

/* Rows narrower than a vector (the wide tower's, one weight per class) are
 * copied into contiguous chunks of this many floats, stepped by the dense loop
 * (vectorised across rows) and copied back: a scalar loop would pay a square
 * root and a division per weight. */
#define CHUNK 1024

static void step_narrow(float *table, float *acc, const taml_kernel_sparse *g, float lr, float l1,
                        float l2)
{
    size_t width = (size_t)g->width, per = CHUNK / width;
    float wbuf[CHUNK], abuf[CHUNK];
    for (int32_t k0 = 0; k0 < g->n; k0 += (int32_t)per) {
        int32_t k1 = g->n - k0 > (int32_t)per ? k0 + (int32_t)per : g->n;
        float *wo = wbuf, *ao = abuf;
        for (int32_t k = k0; k < k1; k++) {
            if (k + 4 < k1) {
                __builtin_prefetch(table + (size_t)g->rows[k + 4] * width, 1);
                __builtin_prefetch(acc + (size_t)g->rows[k + 4] * width, 1);
            }
            size_t r = (size_t)g->rows[k] * width;
            for (size_t j = 0; j < width; j++) *wo++ = table[r + j], *ao++ = acc[r + j];
        }
        taml_optim_padagrad_dense(wbuf, abuf, g->g + (size_t)k0 * width,
                                  (size_t)(k1 - k0) * width, lr, l1, l2);
        wo = wbuf, ao = abuf;
        for (int32_t k = k0; k < k1; k++) {
            size_t r = (size_t)g->rows[k] * width;
            for (size_t j = 0; j < width; j++) table[r + j] = *wo++, acc[r + j] = *ao++;
        }
    }
}

void taml_optim_padagrad_sparse(float *table, float *acc, const taml_kernel_sparse *g, float lr,
                                float l1, float l2)
{
    size_t width = (size_t)g->width;
    if (width < 16) {
        step_narrow(table, acc, g, lr, l1, l2);
        return;
    }
    for (int32_t k = 0; k < g->n; k++) {
        size_t r = (size_t)g->rows[k] * width;
        const float *gk = g->g + (size_t)k * width;
        /* touched rows are random rows of tables that rarely fit in cache:
         * fetch the next row's weights and accumulators while this one runs */
        if (k + 1 < g->n) {
            size_t r1 = (size_t)g->rows[k + 1] * width;
            for (size_t j = 0; j < width; j += 16) {
                __builtin_prefetch(table + r1 + j, 1);
                __builtin_prefetch(acc + r1 + j, 1);
            }
        }
        taml_optim_padagrad_dense(table + r, acc + r, gk, width, lr, l1, l2);
    }
}

/* On the bit patterns: for IEEE floats |x| orders like (bits & 0x7fffffff) as
 * unsigned integers, NaNs above infinity; an integer max reduction vectorises
 * where a float one (with its NaN rules) does not. */
CLONES float taml_optim_absmax(const float *restrict g, size_t n)
{
    const uint32_t *u = (const uint32_t *)(const void *)g;
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = u[i] & 0x7fffffffu;
        m = a > m ? a : m;
    }
    if (m > 0x7f800000u) return INFINITY; /* a NaN */
    float f;
    memcpy(&f, &m, sizeof f);
    return f;
}
