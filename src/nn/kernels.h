/* nn/kernels.h - the child model's layers as plain kernels (dense, relu/swish,
 * dropout, batch and layer norm, softmax cross-entropy, mean-pooled
 * embedding, sparse wide tower) and the sparse-gradient container.
 *
 * Each kernel exists twice from one source (kernels_tmpl.h, where the
 * contracts are documented): taml_k_* over float, which trains, and
 * taml_kd_* over double, which the gradient checks run (float central
 * differences are too noisy to check anything). The float dense kernels go
 * through taml_blas_sgemm, the double ones through the plain-loop dgemm.
 */
#ifndef TAML_NN_KERNELS_H
#define TAML_NN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

enum { TAML_ACT_RELU = 0, TAML_ACT_SWISH = 1 };
enum { TAML_NORM_NONE = 0, TAML_NORM_BATCH = 1, TAML_NORM_LAYER = 2 };

#define TAML_KERNELS_DECLARE(REAL, P)                                                         \
    void P##dense_forward(REAL *out, const REAL *in, const REAL *w, const REAL *b, int B,     \
                          int In, int Out);                                                   \
    void P##dense_backward(REAL *din, REAL *dw, REAL *db, const REAL *dout, const REAL *in,   \
                           const REAL *w, int B, int In, int Out);                            \
    void P##act_forward(REAL *y, const REAL *x, size_t n, int act);                           \
    void P##act_backward(REAL *dx, const REAL *dy, const REAL *x, size_t n, int act);         \
    void P##dropout_apply(REAL *y, const REAL *x, const REAL *mask, size_t n);                \
    void P##batchnorm_forward_train(REAL *y, REAL *xhat, REAL *mean, REAL *var,               \
                                    const REAL *x, const REAL *gamma, const REAL *beta,       \
                                    int B, int H, REAL eps);                                  \
    void P##batchnorm_forward_eval(REAL *y, const REAL *x, const REAL *gamma,                 \
                                   const REAL *beta, const REAL *rmean, const REAL *rvar,     \
                                   int B, int H, REAL eps);                                   \
    void P##batchnorm_update_running(REAL *rmean, REAL *rvar, const REAL *mean,               \
                                     const REAL *var, int B, int H, REAL m);                  \
    void P##batchnorm_backward(REAL *dx, REAL *dgamma, REAL *dbeta, REAL *colsum,             \
                               const REAL *dy, const REAL *xhat, const REAL *gamma,           \
                               const REAL *var, int B, int H, REAL eps);                      \
    void P##layernorm_forward(REAL *y, REAL *xhat, REAL *rstd, const REAL *x,                 \
                              const REAL *gamma, const REAL *beta, int B, int H, REAL eps);   \
    void P##layernorm_backward(REAL *dx, REAL *dgamma, REAL *dbeta, const REAL *dy,           \
                               const REAL *xhat, const REAL *rstd, const REAL *gamma, int B,  \
                               int H);                                                        \
    double P##softmax_xent(REAL *dlogits, const REAL *logits, const int32_t *labels, int B,   \
                           int C);                                                            \
    typedef struct P##sparse {                                                                \
        int32_t *slot;                                                                        \
        int32_t *rows;                                                                        \
        REAL *g;                                                                              \
        int32_t n, cap, width;                                                                \
    } P##sparse;                                                                              \
    void P##sparse_clear(P##sparse *s);                                                       \
    void P##embed_mean_forward(REAL *out, const REAL *table, const int64_t *off,              \
                               const int32_t *ids, const int32_t *ex, int B, int D);          \
    void P##embed_mean_backward(P##sparse *g, const REAL *dout, const int64_t *off,           \
                                const int32_t *ids, const int32_t *ex, int B, int D);         \
    void P##wide_forward(REAL *out, const REAL *table, const REAL *bias, const int64_t *off,  \
                         const int32_t *ids, const int32_t *ex, int B, int C);                \
    void P##wide_backward(P##sparse *g, REAL *dbias, const REAL *dout, const int64_t *off,    \
                          const int32_t *ids, const int32_t *ex, int B, int C);

TAML_KERNELS_DECLARE(float, taml_k_)
TAML_KERNELS_DECLARE(double, taml_kd_)

#endif
