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
 * run before it is initialised): one plain build of these loops there. */
#if defined(__SANITIZE_THREAD__)
#define CLONES
#else
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

/* Two loops so that neither has a branch: TF's formula with l1 = 0 is the
 * same arithmetic minus the soft threshold (max(|w'| - 0, 0) = |w'|). */
CLONES void taml_padagrad_dense(float *restrict w, float *restrict acc, const float *restrict g,
                                size_t n, float lr, float l1, float l2)
{
    if (l1 > 0) {
        for (size_t i = 0; i < n; i++) {
            float a = acc[i] + g[i] * g[i];
            acc[i] = a;
            float lr_t = lr / sqrtf(a);
            float v = w[i] - lr_t * g[i];
            float m = fabsf(v) - lr_t * l1;
            m = m > 0 ? m : 0;
            w[i] = copysignf(m, v) / (1 + lr_t * l2);
        }
    } else if (l2 > 0) {
        for (size_t i = 0; i < n; i++) {
            float a = acc[i] + g[i] * g[i];
            acc[i] = a;
            float lr_t = lr / sqrtf(a);
            w[i] = (w[i] - lr_t * g[i]) / (1 + lr_t * l2);
        }
    } else { /* x / (1 + lr_t 0) = x / 1 = x exactly: the division is skipped, not changed */
        for (size_t i = 0; i < n; i++) {
            float a = acc[i] + g[i] * g[i];
            acc[i] = a;
            w[i] -= lr / sqrtf(a) * g[i];
        }
    }
}

/* One element of the step; the same operations as the dense loops. */
static inline float prox1(float w, float g, float *acc, float lr, float l1, float l2)
{
    float a = *acc + g * g;
    *acc = a;
    float lr_t = lr / sqrtf(a);
    float v = w - lr_t * g;
    if (l1 > 0) {
        float m = fabsf(v) - lr_t * l1;
        v = copysignf(m > 0 ? m : 0, v);
    }
    return v / (1 + lr_t * l2);
}

void taml_padagrad_sparse(float *table, float *acc, const taml_k_sparse *g, float lr, float l1,
                          float l2)
{
    size_t width = (size_t)g->width;
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
        if (width < 16) { /* wide-tower rows (one weight per class): a call per row costs more */
            for (size_t j = 0; j < width; j++)
                table[r + j] = prox1(table[r + j], gk[j], &acc[r + j], lr, l1, l2);
        } else {
            taml_padagrad_dense(table + r, acc + r, gk, width, lr, l1, l2);
        }
    }
}

/* On the bit patterns: for IEEE floats |x| orders like (bits & 0x7fffffff) as
 * unsigned integers, NaNs above infinity; an integer max reduction vectorises
 * where a float one (with its NaN rules) does not. */
CLONES float taml_absmax(const float *restrict g, size_t n)
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
