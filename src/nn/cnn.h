/* nn/cnn.h - running an image module's graph: task images in, pooled
 * features out (the image counterpart of a text module's mean of vectors).
 *
 * A runner belongs to one thread (it holds mutable scratch); make one per
 * worker over the same graph (a module's graph is read-only and shared).
 * Everything it needs is allocated at taml_cnn_new, sized from the graph's
 * shapes for at most `batch` images per call: the tensors of the ops the
 * cut needs, NHWC, in a few buffers reused once a tensor's last reader has
 * run (a tensor shares a buffer with no tensor alive at the same time), the
 * im2col block of the largest convolution, the resize tables. A call
 * allocates nothing.
 *
 * Per image: grey copied to RGB, TF's bilinear resize with half-pixel
 * centres to S x S, x * scale + shift per channel, the graph, then the cut
 * tensor pooled (global mean, or G x G cell means, cell-major then channel).
 * Batching images makes every convolution one SGEMM with B times the rows,
 * which is what keeps the BLAS busy on the small late layers.
 */
#ifndef TAML_NN_CNN_H
#define TAML_NN_CNN_H

#include <stdint.h>

#include "core/err.h"
#include "embed/image_graph.h"

typedef struct taml_cnn taml_cnn;

typedef struct taml_cnn_opts {
    int batch;     /* images per call at most; 0: 1 */
    int reference; /* 1: run the plain-loop reference kernels (tests) */
    int keep;      /* 1: every tensor in a buffer of its own, readable after a
                    * run (taml_cnn_tensor: op-by-op comparisons), and zero
                    * padding computed as its own op */
} taml_cnn_opts;

/* A runner over g (resolved; it must outlive the runner). o may be NULL.
 * TAML_ENOMEM when the scratch for batch images cannot be allocated,
 * TAML_EINVAL for a batch outside 1 .. 4096 or one whose tensors pass 2^31
 * floats. */
int taml_cnn_new(taml_cnn **out, const taml_image_graph *g, const taml_cnn_opts *o,
                 taml_err *err);
void taml_cnn_free(taml_cnn *r);

/* Features of n images (1 .. batch), each h x w x c bytes (c = 1 or 3;
 * row-major, channels last), back to back in images: out (n, dim). Any
 * size is resized to the graph's S x S (so an 8 x 8 image runs through a
 * network that needs 32 x 32: min_input limits S, not the images); a
 * channel count other than 1 or 3, or an empty image, is refused
 * (TAML_EINVAL) with a message the caller prefixes with the task and
 * module. */
int taml_cnn_features(taml_cnn *r, const uint8_t *images, int n, int h, int w, int c, float *out,
                      taml_err *err);

/* The same in steps, for tests and benchmarks: the input tensor (batch, S,
 * S, 3) to fill, running the graph on its first n images, and the cut
 * tensor (n, H', W', C) it leaves (valid until the next run). */
float *taml_cnn_input_tensor(taml_cnn *r);
void taml_cnn_run(taml_cnn *r, int n);
const float *taml_cnn_output(const taml_cnn *r);
/* Tensor t (n, h, w, c) of the last run: the input, the output, or with
 * opts.keep any tensor the cut needs; else NULL. */
const float *taml_cnn_tensor(const taml_cnn *r, int32_t t);

/* When seconds is not NULL, every later run adds each op's time (CPU time
 * of the calling thread) to seconds[k] (n_ops doubles, the caller's; ops
 * not run stay untouched: those the cut does not need, and zero padding
 * folded into the convolution that reads it). */
void taml_cnn_profile(taml_cnn *r, double *seconds);

/* Floats the runner allocated (tensors and scratch), for the memory claims. */
size_t taml_cnn_scratch_floats(const taml_cnn *r);

#endif
