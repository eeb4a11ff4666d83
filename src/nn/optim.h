/* nn/optim.h - Proximal Adagrad exactly as TensorFlow's ApplyProximalAdagrad
 * and SparseApplyProximalAdagrad define it; the child model's only optimiser.
 *
 * Per element, with the gradient g (accumulators start at 0.1, set by the
 * caller):
 *     accum += g^2;  lr_t = lr / sqrt(accum);  w' = w - lr_t g;
 *     w = sign(w') max(|w'| - lr_t l1, 0) / (1 + lr_t l2)
 * computed with one square root and one division per element (optim.c says
 * how; equal in exact arithmetic, within an ulp or two in floats).
 * The dense form runs over every element every step (an untouched weight still
 * shrinks under L1/L2 with the unchanged accumulator, as in TF); the sparse
 * form only over the rows a batch touched, each once with its duplicate ids
 * already summed (a taml_kernel_sparse), as TF's sparse apply does.
 */
#ifndef TAML_NN_OPTIM_H
#define TAML_NN_OPTIM_H

#include <stddef.h>

#include "nn/kernels.h"

/* One step on n weights w with gradient g and accumulators acc (all (n)). */
void taml_optim_padagrad_dense(float *w, float *acc, const float *g, size_t n, float lr, float l1,
                               float l2);

/* One step on the touched rows of a (rows, g->width) table and its
 * accumulators (same shape). Does not clear g. */
void taml_optim_padagrad_sparse(float *table, float *acc, const taml_kernel_sparse *g, float lr,
                                float l1, float l2);

/* The largest |g| of n values, or +inf if any is NaN (so one comparison tells
 * whether a step is safe to apply). */
float taml_optim_absmax(const float *g, size_t n);

#endif
