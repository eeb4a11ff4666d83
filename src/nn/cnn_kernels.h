/* nn/cnn_kernels.h - the kernels of image-module inference (nn/cnn.h runs
 * them over a graph): convolutions, depthwise convolutions, pooling, zero
 * padding, add, concat, the input pipeline and the pooling at the cut; each
 * fast one with a plain-loop reference beside it (the tests compare them).
 *
 * Tensors are NHWC float32: (B, H, W, C), channels contiguous. Windowed ops
 * follow TensorFlow: output (H + pt + pb - kh) / sh + 1 (floor); a padded
 * position is a zero for a convolution, never wins a max pool, and is not
 * counted by an average pool. Activations (act) are TAML_IMAGE_ACT_* of
 * embed/image_graph.h, applied after the bias (or the sum, for add).
 *
 * How the fast ones work:
 *   conv     a small patch (kh kw cin <= 27) with cout a multiple of 16 is
 *            computed directly (4 output pixels x up to 64 channels in
 *            registers); else a 1x1 stride-1 unpadded convolution is one
 *            SGEMM (taml_blas_sgemm: (B H W, cin) x (cin, cout)) and any
 *            other is im2col into a scratch block of a few hundred output
 *            rows (patches in HWC order, the HWIO weights' row order, so the
 *            weights are the (kh kw cin, cout) matrix as stored) and an SGEMM
 *            per block; bias and activation in one pass over the block while
 *            it is in cache.
 *   dwconv   hand-vectorised over 16 channels, one channel block at a time
 *            with its kernel in registers.
 *   The direct and depthwise kernels are GCC vector extensions built for
 *   AVX-512, AVX2 (both with FMA) and baseline x86-64, chosen at run time;
 *   so their results differ in the last bits between those CPUs.
 *   pools, pad, add, concat: loops over the contiguous channels.
 */
#ifndef TAML_NN_CNN_KERNELS_H
#define TAML_NN_CNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* The geometry of a windowed op (and of pad, whose output is the padded
 * input). Fill it with taml_cnn_geom_set. */
typedef struct taml_cnn_geom {
    int B, H, W, C;      /* input (B, H, W, C) */
    int Ho, Wo, Co;      /* output (B, Ho, Wo, Co) */
    int kh, kw, sh, sw;  /* kernel and stride (1 for pad) */
    int pt, pb, pl, pr;  /* padding: top, bottom, left, right */
} taml_cnn_geom;

/* Sets g for input (B, H, W, C), Co output channels, a kh x kw window of
 * stride (sh, sw) and padding pad[4] = {top, bottom, left, right}; computes
 * Ho and Wo. The caller has checked the window fits (image_graph.c). */
void taml_cnn_geom_set(taml_cnn_geom *g, int B, int H, int W, int C, int Co, int kh, int kw,
                       int sh, int sw, const int32_t pad[4]);

/* Convolution: out (B, Ho, Wo, Co) = act(conv(in (B, H, W, C), w (kh, kw, C,
 * Co)) + b (Co)). scratch: taml_cnn_conv2d_scratch(g) floats (0 for a 1x1
 * stride-1 unpadded convolution: then scratch may be NULL). */
size_t taml_cnn_conv2d_scratch(const taml_cnn_geom *g);
void taml_cnn_conv2d(float *out, const float *in, const float *w, const float *b,
                     const taml_cnn_geom *g, int act, float *scratch);
void taml_cnn_conv2d_ref(float *out, const float *in, const float *w, const float *b,
                         const taml_cnn_geom *g, int act);

/* Depthwise convolution (multiplier 1): out (B, Ho, Wo, C) = act(sum over
 * the window of in * w (kh, kw, C) + b (C)). */
void taml_cnn_dwconv2d(float *out, const float *in, const float *w, const float *b,
                       const taml_cnn_geom *g, int act);
void taml_cnn_dwconv2d_ref(float *out, const float *in, const float *w, const float *b,
                           const taml_cnn_geom *g, int act);
/* Which build of the depthwise kernel this CPU runs: "avx512", "avx2" or
 * "baseline" (for benchmarks). */
const char *taml_cnn_dwconv2d_isa(void);

/* Max and average pooling, out (B, Ho, Wo, C); the average divides by the
 * window's positions inside the input. */
void taml_cnn_maxpool2d(float *out, const float *in, const taml_cnn_geom *g);
void taml_cnn_maxpool2d_ref(float *out, const float *in, const taml_cnn_geom *g);
void taml_cnn_avgpool2d(float *out, const float *in, const taml_cnn_geom *g);
void taml_cnn_avgpool2d_ref(float *out, const float *in, const taml_cnn_geom *g);

/* Zero padding: out (B, H + pt + pb, W + pl + pr, C). */
void taml_cnn_pad2d(float *out, const float *in, const taml_cnn_geom *g);
void taml_cnn_pad2d_ref(float *out, const float *in, const taml_cnn_geom *g);

/* out (n) = act(a + b); out may be a or b. A plain loop (it is the fast one:
 * memory-bound, vectorised by the compiler). */
void taml_cnn_add(float *out, const float *a, const float *b, size_t n, int act);

/* Concatenation of n_in tensors (P positions, c[i] channels each) along the
 * channels: out (P, sum c). */
void taml_cnn_concat(float *out, const float *const *in, const int32_t *c, int n_in, size_t P);
void taml_cnn_concat_ref(float *out, const float *const *in, const int32_t *c, int n_in,
                         size_t P);

/* The input pipeline of one task image: img (h, w, ch) bytes, ch 1 (grey,
 * copied to the 3 channels) or 3; TensorFlow's bilinear resize with half-pixel
 * centres (tf.image.resize, TF.js resizeBilinear(halfPixelCenters=true),
 * PyTorch interpolate(bilinear, align_corners=False)) to S x S on the byte
 * values, then x * scale[k] + shift[k] per channel k: out (S, S, 3).
 * The fast one takes a plan (the interpolation tables of one (h, w, S),
 * made once for a task's images, whose sizes are all the same). */
typedef struct taml_cnn_resize {
    int h, w, S;
    int32_t *y0, *y1, *x0, *x1; /* (S) source rows and columns */
    double *ly, *lx;            /* (S) interpolation weights of y1, x1 */
    double *rows;               /* (2, S, 3) scratch: source rows interpolated across */
} taml_cnn_resize;
/* Fills the tables for (h, w) -> S; the arrays are the caller's (S each,
 * rows 6 S). The interpolation is computed in double, as TF.js's CPU kernel
 * does, so the resized values are TF.js's exactly. */
void taml_cnn_resize_plan(taml_cnn_resize *p, int h, int w, int S);
void taml_cnn_input(float *out, const uint8_t *img, int ch, const taml_cnn_resize *p,
                    const float scale[3], const float shift[3]);
void taml_cnn_input_ref(float *out, const uint8_t *img, int h, int w, int ch, int S,
                        const float scale[3], const float shift[3]);

/* The pooling at the cut: in (B, H, W, C) -> out (B, G G C), cell (i, j)
 * covering rows [floor(i H / G), floor((i + 1) H / G)) and the columns
 * likewise, cell-major then channel; G = 1 is the global mean. */
void taml_cnn_pool_cut(float *out, const float *in, int B, int H, int W, int C, int G);
void taml_cnn_pool_cut_ref(float *out, const float *in, int B, int H, int W, int C, int G);

#endif
