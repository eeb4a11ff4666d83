/* nn/optim.c - Proximal Adagrad, dense and sparse (contract in optim.h).
 *
 * The dense step runs over every parameter of the deep tower every step, so it
 * is compiled for AVX-512 and AVX2 next to the portable version (GCC picks one
 * at load time by CPU), with the division and square root vectorised: the
 * arithmetic is the same IEEE operations in the same order, so results do not
 * depend on which version runs. */
#include "nn/optim.h"

#include <math.h>
#include <stdint.h>

#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

static inline float prox(float w, float g, float *acc, float lr, float l1, float l2)
{
    float a = *acc + g * g;
    *acc = a;
    float lr_t = lr / sqrtf(a);
    float v = w - lr_t * g;
    if (l1 > 0) {
        float m = fabsf(v) - lr_t * l1;
        m = m > 0 ? m : 0;
        v = copysignf(m, v);
    }
    return v / (1 + lr_t * l2);
}

CLONES void taml_padagrad_dense(float *restrict w, float *restrict acc, const float *restrict g,
                                size_t n, float lr, float l1, float l2)
{
    for (size_t i = 0; i < n; i++) w[i] = prox(w[i], g[i], &acc[i], lr, l1, l2);
}

void taml_padagrad_sparse(float *table, float *acc, const taml_k_sparse *g, float lr, float l1,
                          float l2)
{
    size_t width = (size_t)g->width;
    for (int32_t k = 0; k < g->n; k++) {
        size_t r = (size_t)g->rows[k] * width;
        taml_padagrad_dense(table + r, acc + r, g->g + (size_t)k * width, width, lr, l1, l2);
    }
}

CLONES float taml_absmax(const float *restrict g, size_t n)
{
    float m = 0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(g[i]);
        m = a > m ? a : m;
        nan |= g[i] != g[i];
    }
    return nan ? INFINITY : m;
}
