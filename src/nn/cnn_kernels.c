/* nn/cnn_kernels.c - image-module kernels and their plain-loop references
 * (see cnn_kernels.h for the contracts and how the fast ones work). */
#include "nn/cnn_kernels.h"

#include <math.h>
#include <string.h>

#include "core/err.h"
#include "embed/image_graph.h"
#include "nn/blas.h"

static inline float act_scalar(float v, int act)
{
    if (act == TAML_IMAGE_ACT_NONE) return v;
    v = v > 0 ? v : 0;
    return act == TAML_IMAGE_ACT_RELU6 && v > 6 ? 6 : v;
}

void taml_cnn_geom_set(taml_cnn_geom *g, int B, int H, int W, int C, int Co, int kh, int kw,
                       int sh, int sw, const int32_t pad[4])
{
    g->B = B;
    g->H = H;
    g->W = W;
    g->C = C;
    g->Co = Co;
    g->kh = kh;
    g->kw = kw;
    g->sh = sh;
    g->sw = sw;
    g->pt = pad[0];
    g->pb = pad[1];
    g->pl = pad[2];
    g->pr = pad[3];
    g->Ho = (H + g->pt + g->pb - kh) / sh + 1;
    g->Wo = (W + g->pl + g->pr - kw) / sw + 1;
}

/* The input position of output (oy, ox)'s window start. */
#define IY0(g, oy) ((oy) * (g)->sh - (g)->pt)
#define IX0(g, ox) ((ox) * (g)->sw - (g)->pl)

/* ---- vectors (GCC vector extensions; built per ISA below) ---- */

#define VL 16 /* floats per vector */
typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));
/* Unaligned loads and stores through memcpy (one instruction once inlined;
 * no aliasing question). Macros, not functions: a vector passed by value
 * would change the ABI between the builds. */
#define VLOAD(v, p) memcpy(&(v), (p), sizeof(vf))
#define VSTORE(p, v) memcpy((p), &(v), sizeof(vf))
#define VACT(v, act)                                                                      \
    do {                                                                                  \
        if ((act) != TAML_IMAGE_ACT_NONE) {                                               \
            const vf zero_ = {0}, six_ = zero_ + 6.0f;                                    \
            (v) = (vf)((vi)(v) & ((v) > zero_));                                          \
            if ((act) == TAML_IMAGE_ACT_RELU6) {                                          \
                vi big_ = (v) > six_;                                                     \
                (v) = (vf)(((vi)(v) & ~big_) | ((vi)six_ & big_));                        \
            }                                                                             \
        }                                                                                 \
    } while (0)

/* ---- one build per instruction set, chosen once at run time ---- */

typedef void (*kernel_fn)(float *, const float *, const float *, const float *,
                          const taml_cnn_geom *, int);
enum { ISA_AVX512, ISA_AVX2, ISA_BASE, N_ISA };
static const char *const isa_names[N_ISA] = {"avx512", "avx2", "baseline"};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_ISA_BUILDS 1
#define TARGET_AVX512 __attribute__((target("avx512f,fma")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define TARGET_AVX512
#define TARGET_AVX2
#endif

/* The three builds of kernel body NAME_all (static functions, no exports). */
#define ISA_BUILDS(name)                                                                    \
    TARGET_AVX512 static void name##_avx512(float *out, const float *in, const float *w,    \
                                            const float *b, const taml_cnn_geom *g, int act) \
    {                                                                                       \
        name##_all(out, in, w, b, g, act);                                                  \
    }                                                                                       \
    TARGET_AVX2 static void name##_avx2(float *out, const float *in, const float *w,        \
                                        const float *b, const taml_cnn_geom *g, int act)    \
    {                                                                                       \
        name##_all(out, in, w, b, g, act);                                                  \
    }                                                                                       \
    static void name##_base(float *out, const float *in, const float *w, const float *b,    \
                            const taml_cnn_geom *g, int act)                                \
    {                                                                                       \
        name##_all(out, in, w, b, g, act);                                                  \
    }                                                                                       \
    static const kernel_fn name##_builds[N_ISA] = {name##_avx512, name##_avx2, name##_base};

/* This CPU's build: any thread may store it first, the same value. */
static int isa(void)
{
    static int chosen = -1;
    int v = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    v = ISA_BASE;
#ifdef HAVE_ISA_BUILDS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) v = ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v = ISA_AVX2;
#endif
    __atomic_store_n(&chosen, v, __ATOMIC_RELAXED);
    return v;
}

/* ---- convolution ---- */

/* Direct convolution, for small patches (K = kh kw C at most DIRECT_MAX_K)
 * and Co a multiple of 16: measured faster than im2col + SGEMM there (one
 * thread, AVX-512; the SGEMM is short of work at small K and a separate bias
 * pass re-reads its output): MobileNetV2's first layer (3x3 s2, C = 3, K =
 * 27) 1.9x at 96 and 1.5x at 224, 1x1 K = 16 -> 96 1.45x, K = 24 even;
 * K = 32 and 64 are 10-30% slower than SGEMM, so they keep it. Four output pixels of a row at a time, up to four vectors of
 * output channels each: per tap one load of the weights' row part and four
 * broadcasts feed 16 multiply-adds held in registers; bias and activation on
 * the way out. Windows that reach into the padding take the checked loop. */
#define DIRECT_MAX_K 27

#define DIRECT_STORE(o, acc, act)                                                         \
    do {                                                                                  \
        vf v_ = (acc);                                                                    \
        VACT(v_, act);                                                                    \
        VSTORE(o, v_);                                                                    \
    } while (0)

/* Output pixels (oy, ox .. ox + 3) of image `img`, channels [co0, co0 + 16 NV),
 * all four windows inside the input; tap[t] is tap t's offset from a window's
 * first position. */
static inline __attribute__((always_inline)) void direct_four(
    float *restrict out, const float *restrict img, const float *restrict w,
    const float *restrict b, const taml_cnn_geom *g, int act, const int32_t *tap, int K, int oy,
    int ox, int co0, const int NV)
{
    const int C = g->C, Co = g->Co;
    const float *p[4];
    for (int q = 0; q < 4; q++)
        p[q] = img + ((size_t)IY0(g, oy) * g->W + (size_t)IX0(g, ox + q)) * C;
    vf acc[4][4];
    for (int v = 0; v < NV; v++) {
        vf bv;
        VLOAD(bv, b + co0 + VL * v);
        for (int q = 0; q < 4; q++) acc[q][v] = bv;
    }
    for (int t = 0; t < K; t++) {
        const float *wt = w + (size_t)t * Co + co0;
        vf x[4];
        for (int q = 0; q < 4; q++) x[q] = (vf){0} + p[q][tap[t]];
        for (int v = 0; v < NV; v++) {
            vf wv;
            VLOAD(wv, wt + VL * v);
            for (int q = 0; q < 4; q++) acc[q][v] += x[q] * wv;
        }
    }
    float *o = out + ((size_t)oy * g->Wo + ox) * Co + co0;
    for (int q = 0; q < 4; q++)
        for (int v = 0; v < NV; v++) DIRECT_STORE(o + (size_t)q * Co + VL * v, acc[q][v], act);
}

/* One output pixel, channels [co0, co0 + 16 NV), padding checked. */
static inline __attribute__((always_inline)) void direct_one(
    float *restrict out, const float *restrict img, const float *restrict w,
    const float *restrict b, const taml_cnn_geom *g, int act, int oy, int ox, int co0, const int NV)
{
    const int C = g->C, Co = g->Co;
    vf acc[4];
    for (int v = 0; v < NV; v++) VLOAD(acc[v], b + co0 + VL * v);
    for (int i = 0; i < g->kh; i++) {
        int iy = IY0(g, oy) + i;
        if (iy < 0 || iy >= g->H) continue;
        for (int j = 0; j < g->kw; j++) {
            int ix = IX0(g, ox) + j;
            if (ix < 0 || ix >= g->W) continue;
            const float *x = img + ((size_t)iy * g->W + ix) * C;
            const float *wt = w + ((size_t)i * g->kw + j) * C * Co + co0;
            for (int c = 0; c < C; c++) {
                vf xv = (vf){0} + x[c];
                for (int v = 0; v < NV; v++) {
                    vf wv;
                    VLOAD(wv, wt + (size_t)c * Co + VL * v);
                    acc[v] += xv * wv;
                }
            }
        }
    }
    float *o = out + ((size_t)oy * g->Wo + ox) * Co + co0;
    for (int v = 0; v < NV; v++) DIRECT_STORE(o + VL * v, acc[v], act);
}

static inline __attribute__((always_inline)) void direct_block(
    float *out, const float *img, const float *w, const float *b, const taml_cnn_geom *g, int act,
    const int32_t *tap, int K, int co0, const int NV)
{
    /* output columns whose windows are inside: [x_lo, x_hi) */
    int x_lo = (g->pl + g->sw - 1) / g->sw, x_hi = (g->W + g->pl - g->kw) / g->sw + 1;
    if (x_hi > g->Wo) x_hi = g->Wo;
    if (x_lo > x_hi) x_lo = x_hi;
    for (int oy = 0; oy < g->Ho; oy++) {
        int iy0 = IY0(g, oy), rows_in = iy0 >= 0 && iy0 + g->kh <= g->H;
        int ox = 0;
        if (rows_in) {
            for (; ox < x_lo; ox++) direct_one(out, img, w, b, g, act, oy, ox, co0, NV);
            for (; ox + 4 <= x_hi; ox += 4)
                direct_four(out, img, w, b, g, act, tap, K, oy, ox, co0, NV);
        }
        for (; ox < g->Wo; ox++) direct_one(out, img, w, b, g, act, oy, ox, co0, NV);
    }
}

static inline __attribute__((always_inline)) void direct_all(float *out, const float *in,
                                                             const float *w, const float *b,
                                                             const taml_cnn_geom *g, int act)
{
    int32_t tap[DIRECT_MAX_K];
    int K = 0;
    for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++)
            for (int c = 0; c < g->C; c++) tap[K++] = (i * g->W + j) * g->C + c;
    const size_t in_img = (size_t)g->H * g->W * g->C, out_img = (size_t)g->Ho * g->Wo * g->Co;
    for (int n = 0; n < g->B; n++) {
        const float *img = in + n * in_img;
        float *o = out + n * out_img;
        int co0 = 0;
        for (; co0 + 4 * VL <= g->Co; co0 += 4 * VL) direct_block(o, img, w, b, g, act, tap, K, co0, 4);
        switch ((g->Co - co0) / VL) {
        case 3: direct_block(o, img, w, b, g, act, tap, K, co0, 3); break;
        case 2: direct_block(o, img, w, b, g, act, tap, K, co0, 2); break;
        case 1: direct_block(o, img, w, b, g, act, tap, K, co0, 1); break;
        default: break;
        }
    }
}



static int pointwise(const taml_cnn_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && !g->pt && !g->pb && !g->pl &&
           !g->pr;
}

/* Output rows per im2col block: about 1 MB of patches (L2), at least 64 rows
 * so that the SGEMM has a useful M. */
static size_t block_rows(const taml_cnn_geom *g)
{
    size_t K = (size_t)g->kh * g->kw * g->C, M = (size_t)g->B * g->Ho * g->Wo;
    size_t rows = (256u * 1024u) / K;
    if (rows < 64) rows = 64;
    return rows < M ? rows : M;
}

ISA_BUILDS(direct)

static int direct_fits(const taml_cnn_geom *g)
{
    return g->Co % VL == 0 && g->kh * g->kw * g->C <= DIRECT_MAX_K;
}

size_t taml_cnn_conv2d_scratch(const taml_cnn_geom *g)
{
    if (pointwise(g) || direct_fits(g)) return 0;
    return block_rows(g) * (size_t)g->kh * g->kw * g->C;
}

/* Patches of output rows [m0, m0 + n) into dst (n, kh kw C), zeros for the
 * padding. A window row inside the input is one copy of kw C floats (NHWC:
 * the kw positions are contiguous). */
static void im2col(float *dst, const float *in, const taml_cnn_geom *g, size_t m0, size_t n)
{
    const int C = g->C, kw = g->kw;
    const size_t K = (size_t)g->kh * kw * C, HWo = (size_t)g->Ho * g->Wo;
    for (size_t r = 0; r < n; r++) {
        size_t p = m0 + r, b = p / HWo, q = p % HWo;
        int oy = (int)(q / (size_t)g->Wo), ox = (int)(q % (size_t)g->Wo);
        int iy0 = IY0(g, oy), ix0 = IX0(g, ox);
        float *d = dst + r * K;
        const float *img = in + b * (size_t)g->H * g->W * C;
        for (int i = 0; i < g->kh; i++, d += (size_t)kw * C) {
            int iy = iy0 + i;
            if (iy < 0 || iy >= g->H) {
                memset(d, 0, (size_t)kw * C * sizeof *d);
                continue;
            }
            const float *row = img + (size_t)iy * g->W * C;
            if (ix0 >= 0 && ix0 + kw <= g->W) {
                memcpy(d, row + (size_t)ix0 * C, (size_t)kw * C * sizeof *d);
                continue;
            }
            for (int j = 0; j < kw; j++) {
                int ix = ix0 + j;
                if (ix < 0 || ix >= g->W) memset(d + (size_t)j * C, 0, (size_t)C * sizeof *d);
                else memcpy(d + (size_t)j * C, row + (size_t)ix * C, (size_t)C * sizeof *d);
            }
        }
    }
}

/* out (n, N) += b, then act. */
static void bias_act(float *restrict out, const float *restrict b, size_t n, int N, int act)
{
    for (size_t r = 0; r < n; r++) {
        float *restrict o = out + r * (size_t)N;
        if (act == TAML_IMAGE_ACT_NONE)
            for (int j = 0; j < N; j++) o[j] += b[j];
        else if (act == TAML_IMAGE_ACT_RELU)
            for (int j = 0; j < N; j++) {
                float v = o[j] + b[j];
                o[j] = v > 0 ? v : 0;
            }
        else
            for (int j = 0; j < N; j++) {
                float v = o[j] + b[j];
                v = v > 0 ? v : 0;
                o[j] = v < 6 ? v : 6;
            }
    }
}

void taml_cnn_conv2d(float *out, const float *in, const float *w, const float *b,
                     const taml_cnn_geom *g, int act, float *scratch)
{
    const size_t M = (size_t)g->B * g->Ho * g->Wo;
    const int N = g->Co, K = g->kh * g->kw * g->C;
    if (direct_fits(g)) {
        direct_builds[isa()](out, in, w, b, g, act);
        return;
    }
    if (pointwise(g)) {
        /* rows of at most 2^31 - 1 per call (SGEMM's int sizes) */
        for (size_t m0 = 0; m0 < M; m0 += INT32_MAX / 2) {
            size_t n = M - m0 < INT32_MAX / 2 ? M - m0 : INT32_MAX / 2;
            taml_blas_sgemm(0, 0, (int)n, N, K, 1.0f, in + m0 * K, K, w, N, 0.0f,
                            out + m0 * N, N);
            bias_act(out + m0 * N, b, n, N, act);
        }
        return;
    }
    const size_t rows = block_rows(g);
    for (size_t m0 = 0; m0 < M; m0 += rows) {
        size_t n = M - m0 < rows ? M - m0 : rows;
        im2col(scratch, in, g, m0, n);
        taml_blas_sgemm(0, 0, (int)n, N, K, 1.0f, scratch, K, w, N, 0.0f, out + m0 * N, N);
        bias_act(out + m0 * N, b, n, N, act);
    }
}

void taml_cnn_conv2d_ref(float *out, const float *in, const float *w, const float *b,
                         const taml_cnn_geom *g, int act)
{
    for (int n = 0; n < g->B; n++)
        for (int oy = 0; oy < g->Ho; oy++)
            for (int ox = 0; ox < g->Wo; ox++)
                for (int co = 0; co < g->Co; co++) {
                    float s = b[co];
                    for (int i = 0; i < g->kh; i++)
                        for (int j = 0; j < g->kw; j++) {
                            int iy = IY0(g, oy) + i, ix = IX0(g, ox) + j;
                            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) continue;
                            for (int c = 0; c < g->C; c++)
                                s += in[(((size_t)n * g->H + iy) * g->W + ix) * g->C + c] *
                                     w[(((size_t)i * g->kw + j) * g->C + c) * g->Co + co];
                        }
                    out[(((size_t)n * g->Ho + oy) * g->Wo + ox) * g->Co + co] =
                        act_scalar(s, act);
                }
}

/* ---- depthwise convolution ---- */

/* One image, channels [c0, c0 + VL), every output position; the window's
 * part inside the input is [i0, i1) x [j0, j1). 3x3 windows fully inside
 * (the interior) use the nine kernel vectors held in registers. */
static inline __attribute__((always_inline)) void dw_block(float *restrict out,
                                                           const float *restrict in,
                                                           const float *restrict w,
                                                           const float *restrict b,
                                                           const taml_cnn_geom *g, int act,
                                                           int c0)
{
    const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw;
    const size_t rs = (size_t)W * C; /* input row stride */
    vf bias;
    VLOAD(bias, b + c0);
    int k33 = kh == 3 && kw == 3;
    vf w0, w1, w2, w3, w4, w5, w6, w7, w8;
    w0 = w1 = w2 = w3 = w4 = w5 = w6 = w7 = w8 = bias;
    if (k33) {
        VLOAD(w0, w + 0 * C + c0);
        VLOAD(w1, w + 1 * C + c0);
        VLOAD(w2, w + 2 * C + c0);
        VLOAD(w3, w + 3 * C + c0);
        VLOAD(w4, w + 4 * C + c0);
        VLOAD(w5, w + 5 * C + c0);
        VLOAD(w6, w + 6 * C + c0);
        VLOAD(w7, w + 7 * C + c0);
        VLOAD(w8, w + 8 * C + c0);
    }
    for (int oy = 0; oy < g->Ho; oy++) {
        int iy0 = IY0(g, oy);
        int i0 = iy0 < 0 ? -iy0 : 0, i1 = H - iy0 < kh ? H - iy0 : kh;
        float *o = out + (size_t)oy * g->Wo * C + c0;
        for (int ox = 0; ox < g->Wo; ox++, o += C) {
            int ix0 = IX0(g, ox);
            int j0 = ix0 < 0 ? -ix0 : 0, j1 = W - ix0 < kw ? W - ix0 : kw;
            /* the window's first position, which may be in the padding: only
             * offsets of positions inside the input become pointers */
            const ptrdiff_t at = (ptrdiff_t)iy0 * (ptrdiff_t)rs + (ptrdiff_t)ix0 * C + c0;
            vf acc = bias;
            if (k33 && i0 == 0 && j0 == 0 && i1 == 3 && j1 == 3) {
                /* one accumulator per kernel row: three short chains of
                 * multiply-adds instead of one long one */
                const float *p = in + at;
                vf x0, x1, x2, r0, r1, r2;
                VLOAD(x0, p);
                VLOAD(x1, p + C);
                VLOAD(x2, p + 2 * C);
                r0 = acc + x0 * w0;
                r0 = r0 + x1 * w1;
                r0 = r0 + x2 * w2;
                VLOAD(x0, p + rs);
                VLOAD(x1, p + rs + C);
                VLOAD(x2, p + rs + 2 * C);
                r1 = x0 * w3;
                r1 = r1 + x1 * w4;
                r1 = r1 + x2 * w5;
                VLOAD(x0, p + 2 * rs);
                VLOAD(x1, p + 2 * rs + C);
                VLOAD(x2, p + 2 * rs + 2 * C);
                r2 = x0 * w6;
                r2 = r2 + x1 * w7;
                r2 = r2 + x2 * w8;
                acc = r0 + (r1 + r2);
            } else {
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++) {
                        vf x, k;
                        VLOAD(x, in + at + (ptrdiff_t)i * (ptrdiff_t)rs + (ptrdiff_t)j * C);
                        VLOAD(k, w + ((size_t)i * kw + j) * C + c0);
                        acc = acc + x * k;
                    }
            }
            VACT(acc, act);
            VSTORE(o, acc);
        }
    }
}

/* The channels past the last whole vector, one at a time. */
static void dw_tail(float *out, const float *in, const float *w, const float *b,
                    const taml_cnn_geom *g, int act, int c0)
{
    const int C = g->C;
    for (int oy = 0; oy < g->Ho; oy++)
        for (int ox = 0; ox < g->Wo; ox++)
            for (int c = c0; c < C; c++) {
                float s = b[c];
                for (int i = 0; i < g->kh; i++) {
                    int iy = IY0(g, oy) + i;
                    if (iy < 0 || iy >= g->H) continue;
                    for (int j = 0; j < g->kw; j++) {
                        int ix = IX0(g, ox) + j;
                        if (ix < 0 || ix >= g->W) continue;
                        s += in[((size_t)iy * g->W + ix) * C + c] *
                             w[((size_t)i * g->kw + j) * C + c];
                    }
                }
                out[((size_t)oy * g->Wo + ox) * C + c] = act_scalar(s, act);
            }
}

static inline __attribute__((always_inline)) void dw_all(float *out, const float *in,
                                                         const float *w, const float *b,
                                                         const taml_cnn_geom *g, int act)
{
    const size_t in_img = (size_t)g->H * g->W * g->C, out_img = (size_t)g->Ho * g->Wo * g->C;
    const int whole = g->C / VL * VL;
    for (int n = 0; n < g->B; n++) {
        const float *x = in + n * in_img;
        float *y = out + n * out_img;
        for (int c0 = 0; c0 < whole; c0 += VL) dw_block(y, x, w, b, g, act, c0);
        if (whole < g->C) dw_tail(y, x, w, b, g, act, whole);
    }
}

ISA_BUILDS(dw)

const char *taml_cnn_dwconv2d_isa(void)
{
    return isa_names[isa()];
}

void taml_cnn_dwconv2d(float *out, const float *in, const float *w, const float *b,
                       const taml_cnn_geom *g, int act)
{
    dw_builds[isa()](out, in, w, b, g, act);
}

void taml_cnn_dwconv2d_ref(float *out, const float *in, const float *w, const float *b,
                           const taml_cnn_geom *g, int act)
{
    for (int n = 0; n < g->B; n++)
        for (int oy = 0; oy < g->Ho; oy++)
            for (int ox = 0; ox < g->Wo; ox++)
                for (int c = 0; c < g->C; c++) {
                    float s = b[c];
                    for (int i = 0; i < g->kh; i++)
                        for (int j = 0; j < g->kw; j++) {
                            int iy = IY0(g, oy) + i, ix = IX0(g, ox) + j;
                            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) continue;
                            s += in[(((size_t)n * g->H + iy) * g->W + ix) * g->C + c] *
                                 w[((size_t)i * g->kw + j) * g->C + c];
                        }
                    out[(((size_t)n * g->Ho + oy) * g->Wo + ox) * g->C + c] = act_scalar(s, act);
                }
}

/* ---- pooling ---- */

/* max (is_max) or average over each window's positions inside the input. */
static void pool2d(float *restrict out, const float *restrict in, const taml_cnn_geom *g,
                   int is_max)
{
    const int C = g->C;
    for (int n = 0; n < g->B; n++) {
        const float *img = in + (size_t)n * g->H * g->W * C;
        for (int oy = 0; oy < g->Ho; oy++) {
            int iy0 = IY0(g, oy);
            int i0 = iy0 < 0 ? 0 : iy0, i1 = iy0 + g->kh > g->H ? g->H : iy0 + g->kh;
            for (int ox = 0; ox < g->Wo; ox++) {
                int ix0 = IX0(g, ox);
                int j0 = ix0 < 0 ? 0 : ix0, j1 = ix0 + g->kw > g->W ? g->W : ix0 + g->kw;
                float *restrict o = out + (((size_t)n * g->Ho + oy) * g->Wo + ox) * C;
                memcpy(o, img + ((size_t)i0 * g->W + j0) * C, (size_t)C * sizeof *o);
                for (int i = i0; i < i1; i++)
                    for (int j = (i == i0 ? j0 + 1 : j0); j < j1; j++) {
                        const float *restrict p = img + ((size_t)i * g->W + j) * C;
                        if (is_max)
                            for (int c = 0; c < C; c++) o[c] = p[c] > o[c] ? p[c] : o[c];
                        else
                            for (int c = 0; c < C; c++) o[c] += p[c];
                    }
                if (!is_max) {
                    float inv = 1.0f / (float)((i1 - i0) * (j1 - j0));
                    for (int c = 0; c < C; c++) o[c] *= inv;
                }
            }
        }
    }
}

void taml_cnn_maxpool2d(float *out, const float *in, const taml_cnn_geom *g)
{
    pool2d(out, in, g, 1);
}

void taml_cnn_avgpool2d(float *out, const float *in, const taml_cnn_geom *g)
{
    pool2d(out, in, g, 0);
}

static void pool2d_ref(float *out, const float *in, const taml_cnn_geom *g, int is_max)
{
    for (int n = 0; n < g->B; n++)
        for (int oy = 0; oy < g->Ho; oy++)
            for (int ox = 0; ox < g->Wo; ox++)
                for (int c = 0; c < g->C; c++) {
                    float m = -INFINITY;
                    double s = 0;
                    int count = 0;
                    for (int i = 0; i < g->kh; i++)
                        for (int j = 0; j < g->kw; j++) {
                            int iy = IY0(g, oy) + i, ix = IX0(g, ox) + j;
                            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) continue;
                            float v = in[(((size_t)n * g->H + iy) * g->W + ix) * g->C + c];
                            if (v > m) m = v;
                            s += v;
                            count++;
                        }
                    out[(((size_t)n * g->Ho + oy) * g->Wo + ox) * g->C + c] =
                        is_max ? m : (float)(s / count);
                }
}

void taml_cnn_maxpool2d_ref(float *out, const float *in, const taml_cnn_geom *g)
{
    pool2d_ref(out, in, g, 1);
}

void taml_cnn_avgpool2d_ref(float *out, const float *in, const taml_cnn_geom *g)
{
    pool2d_ref(out, in, g, 0);
}

/* ---- pad, add, concat ---- */

void taml_cnn_pad2d(float *out, const float *in, const taml_cnn_geom *g)
{
    const size_t C = (size_t)g->C, Wo = (size_t)g->W + g->pl + g->pr;
    const size_t Ho = (size_t)g->H + g->pt + g->pb;
    for (int n = 0; n < g->B; n++) {
        float *o = out + n * Ho * Wo * C;
        const float *x = in + (size_t)n * g->H * g->W * C;
        memset(o, 0, (size_t)g->pt * Wo * C * sizeof *o);
        o += (size_t)g->pt * Wo * C;
        for (int y = 0; y < g->H; y++, o += Wo * C, x += (size_t)g->W * C) {
            memset(o, 0, (size_t)g->pl * C * sizeof *o);
            memcpy(o + (size_t)g->pl * C, x, (size_t)g->W * C * sizeof *o);
            memset(o + ((size_t)g->pl + g->W) * C, 0, (size_t)g->pr * C * sizeof *o);
        }
        memset(o, 0, (size_t)g->pb * Wo * C * sizeof *o);
    }
}

void taml_cnn_pad2d_ref(float *out, const float *in, const taml_cnn_geom *g)
{
    int Ho = g->H + g->pt + g->pb, Wo = g->W + g->pl + g->pr;
    for (int n = 0; n < g->B; n++)
        for (int y = 0; y < Ho; y++)
            for (int x = 0; x < Wo; x++)
                for (int c = 0; c < g->C; c++) {
                    int iy = y - g->pt, ix = x - g->pl;
                    int inside = iy >= 0 && iy < g->H && ix >= 0 && ix < g->W;
                    out[(((size_t)n * Ho + y) * Wo + x) * g->C + c] =
                        inside ? in[(((size_t)n * g->H + iy) * g->W + ix) * g->C + c] : 0.0f;
                }
}

void taml_cnn_add(float *out, const float *a, const float *b, size_t n, int act)
{
    if (act == TAML_IMAGE_ACT_NONE)
        for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
    else
        for (size_t i = 0; i < n; i++) out[i] = act_scalar(a[i] + b[i], act);
}

void taml_cnn_concat(float *out, const float *const *in, const int32_t *c, int n_in, size_t P)
{
    size_t C = 0;
    for (int i = 0; i < n_in; i++) C += (size_t)c[i];
    for (size_t p = 0; p < P; p++) {
        float *o = out + p * C;
        for (int i = 0; i < n_in; i++) {
            memcpy(o, in[i] + p * (size_t)c[i], (size_t)c[i] * sizeof *o);
            o += c[i];
        }
    }
}

void taml_cnn_concat_ref(float *out, const float *const *in, const int32_t *c, int n_in,
                         size_t P)
{
    size_t C = 0;
    for (int i = 0; i < n_in; i++) C += (size_t)c[i];
    for (size_t p = 0; p < P; p++) {
        size_t at = 0;
        for (int i = 0; i < n_in; i++)
            for (int k = 0; k < c[i]; k++) out[p * C + at++] = in[i][p * (size_t)c[i] + k];
    }
}

/* ---- the input pipeline ---- */

/* TensorFlow's half-pixel source coordinate of output o, its two
 * neighbours and weight, in double as TF.js's CPU kernel computes them
 * (JavaScript numbers): taml's resized inputs are TF.js's bit for bit. */
static void source_of(int o, int in_size, int out_size, int32_t *lo, int32_t *hi, double *lerp)
{
    double ratio = (double)in_size / (double)out_size;
    double src = ratio * ((double)o + 0.5) - 0.5, f = floor(src);
    int l = (int)f, h = (int)ceil(src);
    *lo = l < 0 ? 0 : l;
    *hi = h > in_size - 1 ? in_size - 1 : h;
    *lerp = src - f;
}

void taml_cnn_resize_plan(taml_cnn_resize *p, int h, int w, int S)
{
    p->h = h;
    p->w = w;
    p->S = S;
    for (int o = 0; o < S; o++) {
        source_of(o, h, S, &p->y0[o], &p->y1[o], &p->ly[o]);
        source_of(o, w, S, &p->x0[o], &p->x1[o], &p->lx[o]);
    }
}

/* Source row y interpolated across: dst (S, ch) = tl + (tr - tl) lx, the
 * first half of the bilinear formula, computed once per source row. */
static void across(double *restrict dst, const uint8_t *restrict row, int ch,
                   const taml_cnn_resize *p)
{
    for (int x = 0; x < p->S; x++) {
        const uint8_t *a = row + (size_t)p->x0[x] * ch, *b = row + (size_t)p->x1[x] * ch;
        double lx = p->lx[x];
        for (int k = 0; k < ch; k++) {
            double l = a[k], r = b[k];
            dst[x * ch + k] = l + (r - l) * lx;
        }
    }
}

/* The resized value (float, as TF.js stores it), then scaled in float: a
 * product and a sum of floats, which is what TF.js's float32 mul and add
 * give too (each exact in double, then rounded). */
#define SCALED(v, k) ((float)(v) * scale[k] + shift[k])

void taml_cnn_input(float *out, const uint8_t *img, int ch, const taml_cnn_resize *p,
                    const float scale[3], const float shift[3])
{
    const int S = p->S, w = p->w;
    /* two rows of the cache: source row r lives in slot r & 1, so an output
     * row's two source rows (r and r + 1) never evict each other */
    double *slot[2] = {p->rows, p->rows + (size_t)3 * S};
    int held[2] = {-1, -1};
    for (int y = 0; y < S; y++) {
        int r[2] = {p->y0[y], p->y1[y]};
        for (int i = 0; i < 2; i++)
            if (held[r[i] & 1] != r[i]) {
                across(slot[r[i] & 1], img + (size_t)r[i] * w * ch, ch, p);
                held[r[i] & 1] = r[i];
            }
        const double *restrict top = slot[r[0] & 1], *restrict bot = slot[r[1] & 1];
        double ly = p->ly[y];
        float *restrict o = out + (size_t)y * S * 3;
        if (ch == 3)
            for (int x = 0; x < S; x++)
                for (int k = 0; k < 3; k++) {
                    double t = top[3 * x + k], b = bot[3 * x + k];
                    o[3 * x + k] = SCALED(t + (b - t) * ly, k);
                }
        else
            for (int x = 0; x < S; x++) {
                float v = (float)(top[x] + (bot[x] - top[x]) * ly);
                o[3 * x] = v * scale[0] + shift[0];
                o[3 * x + 1] = v * scale[1] + shift[1];
                o[3 * x + 2] = v * scale[2] + shift[2];
            }
    }
}

void taml_cnn_input_ref(float *out, const uint8_t *img, int h, int w, int ch, int S,
                        const float scale[3], const float shift[3])
{
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int k = 0; k < 3; k++) {
                int32_t y0, y1, x0, x1;
                double ly, lx;
                source_of(y, h, S, &y0, &y1, &ly);
                source_of(x, w, S, &x0, &x1, &lx);
                int s = ch == 1 ? 0 : k;
#define PX(yy, xx) ((double)img[((size_t)(yy) * w + (xx)) * ch + s])
                double top = PX(y0, x0) + (PX(y0, x1) - PX(y0, x0)) * lx;
                double bot = PX(y1, x0) + (PX(y1, x1) - PX(y1, x0)) * lx;
#undef PX
                out[((size_t)y * S + x) * 3 + k] = SCALED(top + (bot - top) * ly, k);
            }
}

/* ---- the pooling at the cut ---- */

void taml_cnn_pool_cut(float *out, const float *in, int B, int H, int W, int C, int G)
{
    for (int n = 0; n < B; n++) {
        const float *img = in + (size_t)n * H * W * C;
        for (int gi = 0; gi < G; gi++)
            for (int gj = 0; gj < G; gj++) {
                int y0 = gi * H / G, y1 = (gi + 1) * H / G, x0 = gj * W / G, x1 = (gj + 1) * W / G;
                float *restrict o = out + ((size_t)n * G * G + (size_t)gi * G + gj) * C;
                memset(o, 0, (size_t)C * sizeof *o);
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) {
                        const float *restrict p = img + ((size_t)y * W + x) * C;
                        for (int c = 0; c < C; c++) o[c] += p[c];
                    }
                float inv = 1.0f / (float)((y1 - y0) * (x1 - x0));
                for (int c = 0; c < C; c++) o[c] *= inv;
            }
    }
}

void taml_cnn_pool_cut_ref(float *out, const float *in, int B, int H, int W, int C, int G)
{
    for (int n = 0; n < B; n++)
        for (int gi = 0; gi < G; gi++)
            for (int gj = 0; gj < G; gj++)
                for (int c = 0; c < C; c++) {
                    double s = 0;
                    int count = 0;
                    for (int y = gi * H / G; y < (gi + 1) * H / G; y++)
                        for (int x = gj * W / G; x < (gj + 1) * W / G; x++, count++)
                            s += in[(((size_t)n * H + y) * W + x) * C + c];
                    out[((size_t)n * G * G + (size_t)gi * G + gj) * C + c] = (float)(s / count);
                }
}
