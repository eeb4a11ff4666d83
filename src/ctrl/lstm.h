/* ctrl/lstm.h - the controller's numeric kernels: its own exp, the gates'
 * sigmoid and tanh, the LSTM cell forward and backward with the products
 * they are made of, and the squared norm of a gradient. Private to src/ctrl
 * (controller.c runs the policy with them; tests/test_ctrl_lstm.c checks
 * them against the references).
 *
 * Each kernel comes twice:
 *   taml_ctrl_NAME      written with GCC/Clang vector extensions (4 doubles
 *                       per value) and, on x86-64, built for AVX and for the
 *                       baseline CPU (target_clones, chosen at load time);
 *                       this is what the controller runs.
 *   taml_ctrl_NAME_ref  plain scalar loops, the definition to check against.
 * The vector code fixes its own summation order, without fused multiply-adds
 * (-std=c11 turns contraction off), so the controller's weights are bitwise
 * the same on every CPU. Where a kernel does the same IEEE operations in the
 * same order as its reference (exp, sigmoid, tanh, rows_matvec, outer_sum,
 * lstm_forward, and da, dc of lstm_backward) the two agree bit for bit;
 * dot_rows (so dz of lstm_backward) and sum_squares add in another order
 * (several running sums) and agree to rounding.
 *
 * Shapes: H = TAML_CTRL_HIDDEN units, G = TAML_CTRL_GATES = 4H gate
 * pre-activations per layer, in the order i, f, g, o; every weight matrix
 * is input-major, W (In, G), so a forward pass is a sum of rows scaled by
 * the inputs.
 */
#ifndef TAML_CTRL_LSTM_H
#define TAML_CTRL_LSTM_H

#include <stddef.h>

#include "ctrl/controller.h"

#define TAML_CTRL_GATES (4 * TAML_CTRL_HIDDEN) /* gates per layer: i, f, g, o */

/* exp(x) for the gates: Cody-Waite reduction and a degree-12 polynomial,
 * within 2e-16 relative of the exact value; x is clamped to [-708, 709]
 * (so the result is never 0, a denormal or inf; NaN stays NaN). The same
 * on every CPU and C library. */
double taml_ctrl_exp(double x);

/* In place over x (n): the logistic sigmoid 1 / (1 + e^-x), and tanh as
 * (1 - e^-2|x|) / (1 + e^-2|x|) with x's sign, both by taml_ctrl_exp. */
void taml_ctrl_sigmoid(double *x, int n);
void taml_ctrl_sigmoid_ref(double *x, int n);
void taml_ctrl_tanh(double *x, int n);
void taml_ctrl_tanh_ref(double *x, int n);

/* out (G) = b (G) + sum_i z[i] W[i] for z (In), W (In, G). */
void taml_ctrl_rows_matvec(double *restrict out, const double *restrict z, int In,
                           const double *restrict W, const double *restrict b);
void taml_ctrl_rows_matvec_ref(double *restrict out, const double *restrict z, int In,
                               const double *restrict W, const double *restrict b);

/* dz (In) = W da for W (In, G), da (G): one dot product per row of W. In
 * must be even (the kernel takes two rows at a time). */
void taml_ctrl_dot_rows(double *restrict dz, const double *restrict W, int In, const double *restrict da);
void taml_ctrl_dot_rows_ref(double *restrict dz, const double *restrict W, int In,
                            const double *restrict da);

/* dW (In, G) += sum_t z[t] (x) da[t] over T steps, z (T, In), da (T, G):
 * a whole trajectory's outer products at once, each dW entry summed in
 * step order. */
void taml_ctrl_outer_sum(double *restrict dW, const double *restrict z, int In, const double *restrict da,
                         int T);
void taml_ctrl_outer_sum_ref(double *restrict dW, const double *restrict z, int In,
                             const double *restrict da, int T);

/* One LSTM cell: z (In) = [input; h_prev], W (In, G), b (G), c_prev (H).
 * gate (G) receives the activated gates i, f, g, o; c_out = f c_prev + i g,
 * tc_out = tanh(c_out), h_out = o tc_out (H each). */
void taml_ctrl_lstm_forward(const double *restrict z, int In, const double *restrict W,
                            const double *restrict b, const double *restrict c_prev,
                            double *restrict gate, double *restrict c_out, double *restrict tc_out,
                            double *restrict h_out);
void taml_ctrl_lstm_forward_ref(const double *restrict z, int In, const double *restrict W,
                                const double *restrict b, const double *restrict c_prev,
                                double *restrict gate, double *restrict c_out, double *restrict tc_out,
                                double *restrict h_out);

/* Backward of one LSTM cell, from its forward's gate, c_prev and tc. dh, dc
 * (H) are the gradients arriving at h_t and c_t. Writes the pre-activation
 * gradient da (G) (its outer product with the input is taken later, over
 * all steps at once, by taml_ctrl_outer_sum), writes dz (In, even) = W da
 * and overwrites dc with the gradient at c_{t-1}. */
void taml_ctrl_lstm_backward(int In, const double *restrict W, const double *restrict gate,
                             const double *restrict c_prev, const double *restrict tc,
                             const double *restrict dh, double *restrict dc, double *restrict da,
                             double *restrict dz);
void taml_ctrl_lstm_backward_ref(int In, const double *restrict W, const double *restrict gate,
                                 const double *restrict c_prev, const double *restrict tc,
                                 const double *restrict dh, double *restrict dc, double *restrict da,
                                 double *restrict dz);

/* sum of x[i]^2 over x (n) (the gradient's squared norm, for clipping). */
double taml_ctrl_sum_squares(const double *x, size_t n);
double taml_ctrl_sum_squares_ref(const double *x, size_t n);

#endif
