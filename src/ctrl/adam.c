/* ctrl/adam.c - the controller's Adam step (see adam.h): the scalar
 * reference and its SSE2 and AVX forms. The sqrt and division dominate the
 * controller's update, which is why it is vectorised at all; the forms are
 * written with intrinsics, one IEEE operation each, in the reference's
 * order.
 */
#include "ctrl/adam.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

void taml_ctrl_adam_ref(double *th, double *m, double *v, const double *g, size_t n,
                        const taml_ctrl_adam_k *k)
{
    for (size_t i = 0; i < n; i++) {
        double gi = g[i] * k->scale;
        m[i] = k->b1 * m[i] + k->c1 * gi;
        v[i] = k->b2 * v[i] + k->c2 * (gi * gi);
        th[i] += (k->lr * m[i]) / (sqrt(v[i]) + k->eps);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* Each returns how many weights it stepped (a multiple of its width); the
 * rest are the reference's. */
__attribute__((target("avx"))) static size_t adam_avx(double *th, double *m, double *v, const double *g,
                                                      size_t n, const taml_ctrl_adam_k *k)
{
    const __m256d sc = _mm256_set1_pd(k->scale), b1 = _mm256_set1_pd(k->b1),
                  c1 = _mm256_set1_pd(k->c1), b2 = _mm256_set1_pd(k->b2),
                  c2 = _mm256_set1_pd(k->c2), lr = _mm256_set1_pd(k->lr),
                  eps = _mm256_set1_pd(k->eps);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d gi = _mm256_mul_pd(_mm256_loadu_pd(g + i), sc);
        __m256d mi = _mm256_add_pd(_mm256_mul_pd(b1, _mm256_loadu_pd(m + i)), _mm256_mul_pd(c1, gi));
        __m256d vi = _mm256_add_pd(_mm256_mul_pd(b2, _mm256_loadu_pd(v + i)),
                                   _mm256_mul_pd(c2, _mm256_mul_pd(gi, gi)));
        __m256d step = _mm256_div_pd(_mm256_mul_pd(lr, mi), _mm256_add_pd(_mm256_sqrt_pd(vi), eps));
        _mm256_storeu_pd(m + i, mi);
        _mm256_storeu_pd(v + i, vi);
        _mm256_storeu_pd(th + i, _mm256_add_pd(_mm256_loadu_pd(th + i), step));
    }
    return i;
}

static size_t adam_sse2(double *th, double *m, double *v, const double *g, size_t n,
                        const taml_ctrl_adam_k *k)
{
    const __m128d sc = _mm_set1_pd(k->scale), b1 = _mm_set1_pd(k->b1), c1 = _mm_set1_pd(k->c1),
                  b2 = _mm_set1_pd(k->b2), c2 = _mm_set1_pd(k->c2), lr = _mm_set1_pd(k->lr),
                  eps = _mm_set1_pd(k->eps);
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        __m128d gi = _mm_mul_pd(_mm_loadu_pd(g + i), sc);
        __m128d mi = _mm_add_pd(_mm_mul_pd(b1, _mm_loadu_pd(m + i)), _mm_mul_pd(c1, gi));
        __m128d vi = _mm_add_pd(_mm_mul_pd(b2, _mm_loadu_pd(v + i)), _mm_mul_pd(c2, _mm_mul_pd(gi, gi)));
        __m128d step = _mm_div_pd(_mm_mul_pd(lr, mi), _mm_add_pd(_mm_sqrt_pd(vi), eps));
        _mm_storeu_pd(m + i, mi);
        _mm_storeu_pd(v + i, vi);
        _mm_storeu_pd(th + i, _mm_add_pd(_mm_loadu_pd(th + i), step));
    }
    return i;
}
#endif

void taml_ctrl_adam(double *th, double *m, double *v, const double *g, size_t n, const taml_ctrl_adam_k *k)
{
    size_t i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    i = __builtin_cpu_supports("avx") ? adam_avx(th, m, v, g, n, k) : adam_sse2(th, m, v, g, n, k);
#endif
    taml_ctrl_adam_ref(th + i, m + i, v + i, g + i, n - i, k);
}
