/* ctrl/lstm.c - the controller's numeric kernels and their scalar
 * references (see lstm.h for the contracts and what agrees bit for bit).
 *
 * These carry nearly all of the controller's arithmetic. They are written
 * with GCC/Clang vector extensions (4 doubles per value) so the summation
 * order is fixed by the code, not by the compiler, and built twice on x86-64
 * (target_clones): with AVX (one instruction per 4 doubles) and for the
 * baseline CPU (two SSE2 instructions). Both do the same IEEE operations in
 * the same order (no fused multiply-adds), so results are bitwise the same
 * on every CPU. Sanitizer and Clang builds compile one plain version.
 */
#include "ctrl/lstm.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/err.h"

#define H TAML_CTRL_HIDDEN
#define G TAML_CTRL_GATES

typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias)); /* unaligned */
#define LD(p) (*(const v4du *)(p))
#define ST(p, x) (*(v4du *)(p) = (x))
/* Clang 14 (the libFuzzer builds) names the dispatcher "f.ifunc", leaving
 * calls from other files unresolved, as in nn/kernels.c. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                     \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define KERNEL __attribute__((target_clones("avx", "default")))
#else
#define KERNEL
#endif
_Static_assert(G % 20 == 0, "rows_matvec and outer_sum take 20 gates at a time");

/* ---- exp --------------------------------------------------------------- */

/* exp for the gates: Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, a
 * degree-12 Taylor polynomial (error below 2e-16 relative) and 2^k built from
 * bits; x is clamped to [-708, 709], which only matters where the sigmoid or
 * tanh it feeds is already 0 or +-1 to double precision. Written once for
 * 4 lanes and once for 1 with the same IEEE operations, so a value does not
 * depend on which lane or CPU computed it, nor on the C library's exp. */
typedef long long v4di __attribute__((vector_size(32)));
#define EXP_LO (-708.0)
#define EXP_HI 709.0
#define EXP_SHIFT 0x1.8p52
#define EXP_LOG2E 0x1.71547652b82fep0
#define EXP_LN2_HI 0x1.62e42fee00000p-1
#define EXP_LN2_LO 0x1.a39ef35793c76p-33
/* Horner's rule, highest power first: p = sum r^k / k!, k = 0..12. */
#define EXP_POLY(p, r)                                                                          \
    do {                                                                                        \
        static const double c_[13] = {1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800,          \
                                      1.0 / 362880,    1.0 / 40320,    1.0 / 5040,              \
                                      1.0 / 720,       1.0 / 120,      1.0 / 24,                \
                                      1.0 / 6,         1.0 / 2,        1.0,                     \
                                      1.0};                                                     \
        p = (r) * 0 + c_[0];                                                                    \
        for (int k_ = 1; k_ < 13; k_++) p = p * (r) + c_[k_];                                   \
    } while (0)

double taml_ctrl_exp(double x)
{
    x = x < EXP_LO ? EXP_LO : x > EXP_HI ? EXP_HI : x;
    double kf = (x * EXP_LOG2E + EXP_SHIFT) - EXP_SHIFT;
    double r = (x - kf * EXP_LN2_HI) - kf * EXP_LN2_LO;
    double t = kf + (1023.0 + 0x1p52), scale;
    long long bits;
    memcpy(&bits, &t, 8);
    bits = (bits & 0x7ff) << 52;
    memcpy(&scale, &bits, 8);
    double p;
    EXP_POLY(p, r);
    return p * scale;
}

/* *x = exp(*x) lane by lane (through a pointer: a 32-byte vector return
 * value would depend on the AVX calling convention). */
__attribute__((always_inline)) static inline void vexp(v4d *xp)
{
    const v4d lo = {EXP_LO, EXP_LO, EXP_LO, EXP_LO}, hi = {EXP_HI, EXP_HI, EXP_HI, EXP_HI};
    v4d x = *xp;
    v4di m = x < lo;
    x = (v4d)((m & (v4di)lo) | (~m & (v4di)x));
    m = x > hi;
    x = (v4d)((m & (v4di)hi) | (~m & (v4di)x));
    v4d kf = (x * EXP_LOG2E + EXP_SHIFT) - EXP_SHIFT;
    v4d r = (x - kf * EXP_LN2_HI) - kf * EXP_LN2_LO;
    v4di bits = (v4di)(kf + (1023.0 + 0x1p52));
    v4d scale = (v4d)((bits & 0x7ff) << 52), p;
    EXP_POLY(p, r);
    *xp = p * scale;
}

/* ---- gates ------------------------------------------------------------- */

void taml_ctrl_sigmoid_ref(double *x, int n)
{
    for (int i = 0; i < n; i++) x[i] = 1.0 / (1.0 + taml_ctrl_exp(-x[i]));
}

void taml_ctrl_tanh_ref(double *x, int n)
{
    for (int i = 0; i < n; i++) {
        double t = taml_ctrl_exp(-2.0 * fabs(x[i])), r = (1.0 - t) / (1.0 + t);
        x[i] = copysign(r, x[i]);
    }
}

/* Four lanes at a time, the last n % 4 values by the reference (the same
 * operations). */
KERNEL void taml_ctrl_sigmoid(double *x, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d e = -LD(x + i);
        vexp(&e);
        ST(x + i, 1.0 / (1.0 + e));
    }
    taml_ctrl_sigmoid_ref(x + i, n - i);
}

KERNEL void taml_ctrl_tanh(double *x, int n)
{
    const v4di sign = {LLONG_MIN, LLONG_MIN, LLONG_MIN, LLONG_MIN};
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d a = LD(x + i);
        v4d t = -2.0 * (v4d)((v4di)a & ~sign);
        vexp(&t);
        v4d r = (1.0 - t) / (1.0 + t);
        ST(x + i, (v4d)((v4di)r | ((v4di)a & sign)));
    }
    taml_ctrl_tanh_ref(x + i, n - i);
}

/* ---- products ---------------------------------------------------------- */

/* 20 outputs at a time held in registers while the inputs stream past; each
 * output is b + z[0] W[0] + z[1] W[1] + ... in input order, as the
 * reference. */
KERNEL void taml_ctrl_rows_matvec(double *restrict out, const double *restrict z, int In,
                                  const double *restrict W, const double *restrict b)
{
    for (int j = 0; j < G; j += 20) {
        v4d a0 = LD(b + j), a1 = LD(b + j + 4), a2 = LD(b + j + 8), a3 = LD(b + j + 12),
            a4 = LD(b + j + 16);
        for (int i = 0; i < In; i++) {
            const double *w = W + (size_t)i * G + j;
            const v4d zi = {z[i], z[i], z[i], z[i]};
            a0 += zi * LD(w);
            a1 += zi * LD(w + 4);
            a2 += zi * LD(w + 8);
            a3 += zi * LD(w + 12);
            a4 += zi * LD(w + 16);
        }
        ST(out + j, a0);
        ST(out + j + 4, a1);
        ST(out + j + 8, a2);
        ST(out + j + 12, a3);
        ST(out + j + 16, a4);
    }
}

void taml_ctrl_rows_matvec_ref(double *restrict out, const double *restrict z, int In,
                               const double *restrict W, const double *restrict b)
{
    for (int j = 0; j < G; j++) {
        double a = b[j];
        for (int i = 0; i < In; i++) a += z[i] * W[(size_t)i * G + j];
        out[j] = a;
    }
}

/* Two rows at a time sharing the loads of da; each row's products go to
 * eight running sums (gate j to sum j % 8), added pairwise at the end. */
KERNEL void taml_ctrl_dot_rows(double *restrict dz, const double *restrict W, int In, const double *restrict da)
{
    TAML_ASSERT(In % 2 == 0);
    for (int i = 0; i < In; i += 2) {
        const double *w0 = W + (size_t)i * G, *w1 = w0 + G;
        v4d a0 = {0, 0, 0, 0}, b0 = a0, a1 = a0, b1 = a0;
        for (int j = 0; j < G; j += 8) {
            v4d d0 = LD(da + j), d1 = LD(da + j + 4);
            a0 += LD(w0 + j) * d0;
            b0 += LD(w0 + j + 4) * d1;
            a1 += LD(w1 + j) * d0;
            b1 += LD(w1 + j + 4) * d1;
        }
        a0 += b0;
        a1 += b1;
        dz[i] = (a0[0] + a0[1]) + (a0[2] + a0[3]);
        dz[i + 1] = (a1[0] + a1[1]) + (a1[2] + a1[3]);
    }
}

void taml_ctrl_dot_rows_ref(double *restrict dz, const double *restrict W, int In,
                            const double *restrict da)
{
    for (int i = 0; i < In; i++) {
        double a = 0;
        for (int j = 0; j < G; j++) a += W[(size_t)i * G + j] * da[j];
        dz[i] = a;
    }
}

/* Each dW entry is loaded once, gets its T products in step order, and is
 * stored once, as the reference. */
KERNEL void taml_ctrl_outer_sum(double *restrict dW, const double *restrict z, int In, const double *restrict da,
                                int T)
{
    for (int i = 0; i < In; i++) {
        double *dw = dW + (size_t)i * G;
        for (int j = 0; j < G; j += 20) {
            v4d a0 = LD(dw + j), a1 = LD(dw + j + 4), a2 = LD(dw + j + 8), a3 = LD(dw + j + 12),
                a4 = LD(dw + j + 16);
            for (int t = 0; t < T; t++) {
                const double zt = z[(size_t)t * In + i];
                const v4d zv = {zt, zt, zt, zt};
                const double *d = da + (size_t)t * G + j;
                a0 += zv * LD(d);
                a1 += zv * LD(d + 4);
                a2 += zv * LD(d + 8);
                a3 += zv * LD(d + 12);
                a4 += zv * LD(d + 16);
            }
            ST(dw + j, a0);
            ST(dw + j + 4, a1);
            ST(dw + j + 8, a2);
            ST(dw + j + 12, a3);
            ST(dw + j + 16, a4);
        }
    }
}

void taml_ctrl_outer_sum_ref(double *restrict dW, const double *restrict z, int In,
                             const double *restrict da, int T)
{
    for (int i = 0; i < In; i++)
        for (int j = 0; j < G; j++) {
            double a = dW[(size_t)i * G + j];
            for (int t = 0; t < T; t++) a += z[(size_t)t * In + i] * da[(size_t)t * G + j];
            dW[(size_t)i * G + j] = a;
        }
}

/* ---- the cell ---------------------------------------------------------- */

/* The cell's element-wise parts, shared by the kernel and its reference:
 * c = f c_prev + i g (into c_out and tc_out, which the caller then passes
 * through tanh), and h = o tanh(c). */
static void cell_state(const double *restrict gate, const double *restrict c_prev, double *restrict c_out,
                       double *restrict tc_out)
{
    for (int j = 0; j < H; j++) tc_out[j] = c_out[j] = gate[H + j] * c_prev[j] + gate[j] * gate[2 * H + j];
}

static void cell_output(const double *restrict gate, const double *restrict tc_out, double *restrict h_out)
{
    for (int j = 0; j < H; j++) h_out[j] = gate[3 * H + j] * tc_out[j];
}

void taml_ctrl_lstm_forward(const double *restrict z, int In, const double *restrict W,
                            const double *restrict b, const double *restrict c_prev,
                            double *restrict gate, double *restrict c_out, double *restrict tc_out,
                            double *restrict h_out)
{
    taml_ctrl_rows_matvec(gate, z, In, W, b);
    taml_ctrl_sigmoid(gate, 2 * H);     /* i, f */
    taml_ctrl_tanh(gate + 2 * H, H);    /* g */
    taml_ctrl_sigmoid(gate + 3 * H, H); /* o */
    cell_state(gate, c_prev, c_out, tc_out);
    taml_ctrl_tanh(tc_out, H);
    cell_output(gate, tc_out, h_out);
}

void taml_ctrl_lstm_forward_ref(const double *restrict z, int In, const double *restrict W,
                                const double *restrict b, const double *restrict c_prev,
                                double *restrict gate, double *restrict c_out, double *restrict tc_out,
                                double *restrict h_out)
{
    taml_ctrl_rows_matvec_ref(gate, z, In, W, b);
    taml_ctrl_sigmoid_ref(gate, 2 * H);
    taml_ctrl_tanh_ref(gate + 2 * H, H);
    taml_ctrl_sigmoid_ref(gate + 3 * H, H);
    cell_state(gate, c_prev, c_out, tc_out);
    taml_ctrl_tanh_ref(tc_out, H);
    cell_output(gate, tc_out, h_out);
}

/* da (G) from the gates and the gradients at h_t, c_t; dc becomes the
 * gradient at c_{t-1}. */
static void cell_backward(const double *restrict gate, const double *restrict c_prev, const double *restrict tc,
                          const double *restrict dh, double *restrict dc, double *restrict da)
{
    for (int j = 0; j < H; j++) {
        double ig = gate[j], fg = gate[H + j], gg = gate[2 * H + j], og = gate[3 * H + j];
        double dct = dc[j] + dh[j] * og * (1 - tc[j] * tc[j]);
        da[j] = dct * gg * ig * (1 - ig);
        da[H + j] = dct * c_prev[j] * fg * (1 - fg);
        da[2 * H + j] = dct * ig * (1 - gg * gg);
        da[3 * H + j] = dh[j] * tc[j] * og * (1 - og);
        dc[j] = dct * fg;
    }
}

void taml_ctrl_lstm_backward(int In, const double *restrict W, const double *restrict gate,
                             const double *restrict c_prev, const double *restrict tc,
                             const double *restrict dh, double *restrict dc, double *restrict da,
                             double *restrict dz)
{
    cell_backward(gate, c_prev, tc, dh, dc, da);
    taml_ctrl_dot_rows(dz, W, In, da);
}

void taml_ctrl_lstm_backward_ref(int In, const double *restrict W, const double *restrict gate,
                                 const double *restrict c_prev, const double *restrict tc,
                                 const double *restrict dh, double *restrict dc, double *restrict da,
                                 double *restrict dz)
{
    cell_backward(gate, c_prev, tc, dh, dc, da);
    taml_ctrl_dot_rows_ref(dz, W, In, da);
}

/* ---- the gradient's norm ----------------------------------------------- */

/* Eight running sums (two vectors of four; x[i] to sum i % 8, a fixed
 * order, so deterministic), added pairwise, then the last n % 8 values one
 * by one. */
KERNEL double taml_ctrl_sum_squares(const double *x, size_t n)
{
    v4d a = {0, 0, 0, 0}, b = a;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v4d p = LD(x + i), q = LD(x + i + 4);
        a += p * p;
        b += q * q;
    }
    a += b;
    double s = (a[0] + a[1]) + (a[2] + a[3]);
    for (; i < n; i++) s += x[i] * x[i];
    return s;
}

double taml_ctrl_sum_squares_ref(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * x[i];
    return s;
}
