/* nn/kernels.h - the child model's layers as plain kernels (dense, relu/swish,
 * dropout, batch and layer norm, softmax cross-entropy, mean-pooled
 * embedding, sparse wide tower; beyond the paper the weighted n-gram wide
 * tower and the subword deep input) and the sparse-gradient container.
 *
 * Each kernel exists twice from one source (kernels_tmpl.h, where the
 * contracts are documented): taml_kernel_* over float, which trains, and
 * taml_kerneld_* over double, which the gradient checks run (float central
 * differences are too noisy to check anything). The float dense kernels go
 * through taml_blas_sgemm, the double ones through the plain-loop dgemm.
 */
#ifndef TAML_NN_KERNELS_H
#define TAML_NN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

enum { TAML_ACT_RELU = 0, TAML_ACT_SWISH = 1 };
enum { TAML_NORM_NONE = 0, TAML_NORM_BATCH = 1, TAML_NORM_LAYER = 2 };

/* Both instantiations are written out (definitions: kernels_tmpl.h, compiled
 * by kernels.c with KF(name) = taml_kernel_##name and taml_kerneld_##name). */

/* ---- over float: training (SGEMM through nn/blas) ---- */

void taml_kernel_dense_forward(float *out, const float *in, const float *w, const float *b, int B,
                               int In, int Out);
void taml_kernel_dense_backward(float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, int B, int In, int Out);
void taml_kernel_act_forward(float *y, const float *x, size_t n, int act);
void taml_kernel_act_backward(float *dx, const float *dy, const float *x, size_t n, int act);
void taml_kernel_dropout_apply(float *y, const float *x, const float *mask, size_t n);
void taml_kernel_batchnorm_forward_train(float *y, float *xhat, float *mean, float *var,
                                         const float *x, const float *gamma, const float *beta,
                                         int B, int H, float eps);
void taml_kernel_batchnorm_forward_eval(float *y, const float *x, const float *gamma,
                                        const float *beta, const float *rmean, const float *rvar,
                                        int B, int H, float eps);
void taml_kernel_batchnorm_update_running(float *rmean, float *rvar, const float *mean,
                                          const float *var, int B, int H, float m);
void taml_kernel_batchnorm_backward(float *dx, float *dgamma, float *dbeta, float *colsum,
                                    const float *dy, const float *xhat, const float *gamma,
                                    const float *var, int B, int H, float eps);
void taml_kernel_layernorm_forward(float *y, float *xhat, float *rstd, const float *x,
                                   const float *gamma, const float *beta, int B, int H, float eps);
void taml_kernel_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                                    const float *xhat, const float *rstd, const float *gamma, int B,
                                    int H);
double taml_kernel_softmax_xent(float *dlogits, const float *logits, const int32_t *labels, int B,
                                int C);
typedef struct taml_kernel_sparse {
    int32_t *slot;
    int32_t *rows;
    float *g;
    int32_t n, cap, width;
} taml_kernel_sparse;
void taml_kernel_sparse_clear(taml_kernel_sparse *s);
void taml_kernel_embed_mean_forward(float *out, const float *table, const int64_t *off,
                                    const int32_t *ids, const int32_t *ex, int B, int D);
void taml_kernel_embed_mean_backward(taml_kernel_sparse *g, const float *dout, const int64_t *off,
                                     const int32_t *ids, const int32_t *ex, int B, int D);
void taml_kernel_wide_forward(float *out, const float *table, const float *bias, const int64_t *off,
                              const int32_t *ids, const int32_t *ex, int B, int C);
void taml_kernel_wide_backward(taml_kernel_sparse *g, float *dbias, const float *dout,
                               const int64_t *off, const int32_t *ids, const int32_t *ex, int B,
                               int C);
/* the n-gram wide tower and the subword deep input (contracts in kernels_tmpl.h) */
void taml_kernel_wide_part_forward(float *out, const float *table, const int64_t *off, const int32_t *ids,
                              const int32_t *cnt, const float *idf, const float *scale, int32_t base,
                              int weighting, const int32_t *ex, int B, int C);
void taml_kernel_wide_part_backward(taml_kernel_sparse *g, const float *dout, const int64_t *off,
                               const int32_t *ids, const int32_t *cnt, const float *idf,
                               const float *scale, int32_t base, int weighting, const int32_t *ex, int B,
                               int C);
void taml_kernel_subword_mean_forward(float *out, const float *table, const int64_t *off,
                                 const int32_t *ids, const float *sub, const int64_t *soff,
                                 const int32_t *words, const int64_t *woff, const int32_t *wrows,
                                 const int32_t *ex, int B, int D);
void taml_kernel_subword_mean_backward(taml_kernel_sparse *gemb, taml_kernel_sparse *gsub, const float *dout,
                                  const int64_t *off, const int32_t *ids, const int64_t *soff,
                                  const int32_t *words, const int64_t *woff, const int32_t *wrows,
                                  const int32_t *ex, int B, int D);

/* ---- over double: the gradient checks (plain-loop DGEMM) ---- */

void taml_kerneld_dense_forward(double *out, const double *in, const double *w, const double *b,
                                int B, int In, int Out);
void taml_kerneld_dense_backward(double *din, double *dw, double *db, const double *dout,
                                 const double *in, const double *w, int B, int In, int Out);
void taml_kerneld_act_forward(double *y, const double *x, size_t n, int act);
void taml_kerneld_act_backward(double *dx, const double *dy, const double *x, size_t n, int act);
void taml_kerneld_dropout_apply(double *y, const double *x, const double *mask, size_t n);
void taml_kerneld_batchnorm_forward_train(double *y, double *xhat, double *mean, double *var,
                                          const double *x, const double *gamma, const double *beta,
                                          int B, int H, double eps);
void taml_kerneld_batchnorm_forward_eval(double *y, const double *x, const double *gamma,
                                         const double *beta, const double *rmean,
                                         const double *rvar, int B, int H, double eps);
void taml_kerneld_batchnorm_update_running(double *rmean, double *rvar, const double *mean,
                                           const double *var, int B, int H, double m);
void taml_kerneld_batchnorm_backward(double *dx, double *dgamma, double *dbeta, double *colsum,
                                     const double *dy, const double *xhat, const double *gamma,
                                     const double *var, int B, int H, double eps);
void taml_kerneld_layernorm_forward(double *y, double *xhat, double *rstd, const double *x,
                                    const double *gamma, const double *beta, int B, int H,
                                    double eps);
void taml_kerneld_layernorm_backward(double *dx, double *dgamma, double *dbeta, const double *dy,
                                     const double *xhat, const double *rstd, const double *gamma,
                                     int B, int H);
double taml_kerneld_softmax_xent(double *dlogits, const double *logits, const int32_t *labels,
                                 int B, int C);
typedef struct taml_kerneld_sparse {
    int32_t *slot;
    int32_t *rows;
    double *g;
    int32_t n, cap, width;
} taml_kerneld_sparse;
void taml_kerneld_sparse_clear(taml_kerneld_sparse *s);
void taml_kerneld_embed_mean_forward(double *out, const double *table, const int64_t *off,
                                     const int32_t *ids, const int32_t *ex, int B, int D);
void taml_kerneld_embed_mean_backward(taml_kerneld_sparse *g, const double *dout,
                                      const int64_t *off, const int32_t *ids, const int32_t *ex,
                                      int B, int D);
void taml_kerneld_wide_forward(double *out, const double *table, const double *bias,
                               const int64_t *off, const int32_t *ids, const int32_t *ex, int B,
                               int C);
void taml_kerneld_wide_backward(taml_kerneld_sparse *g, double *dbias, const double *dout,
                                const int64_t *off, const int32_t *ids, const int32_t *ex, int B,
                                int C);
/* the n-gram wide tower and the subword deep input (contracts in kernels_tmpl.h) */
void taml_kerneld_wide_part_forward(double *out, const double *table, const int64_t *off, const int32_t *ids,
                               const int32_t *cnt, const float *idf, const float *scale, int32_t base,
                               int weighting, const int32_t *ex, int B, int C);
void taml_kerneld_wide_part_backward(taml_kerneld_sparse *g, const double *dout, const int64_t *off,
                                const int32_t *ids, const int32_t *cnt, const float *idf,
                                const float *scale, int32_t base, int weighting, const int32_t *ex, int B,
                                int C);
void taml_kerneld_subword_mean_forward(double *out, const double *table, const int64_t *off,
                                  const int32_t *ids, const double *sub, const int64_t *soff,
                                  const int32_t *words, const int64_t *woff, const int32_t *wrows,
                                  const int32_t *ex, int B, int D);
void taml_kerneld_subword_mean_backward(taml_kerneld_sparse *gemb, taml_kerneld_sparse *gsub, const double *dout,
                                   const int64_t *off, const int32_t *ids, const int64_t *soff,
                                   const int32_t *words, const int64_t *woff, const int32_t *wrows,
                                   const int32_t *ex, int B, int D);

#endif
