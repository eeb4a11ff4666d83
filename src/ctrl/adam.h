/* ctrl/adam.h - the controller's optimiser step (Adam, as an ascent: the
 * controller maximises its objective), vectorised, with a scalar reference.
 * Private to src/ctrl (controller.c's taml_ctrl_update; the test in
 * tests/test_ctrl_lstm.c).
 */
#ifndef TAML_CTRL_ADAM_H
#define TAML_CTRL_ADAM_H

#include <stddef.h>

/* The step's constants: the gradient's scale (clipping), the moment decays
 * b1, b2 with c1 = 1 - b1 and c2 = 1 - b2, the bias-corrected step size
 * lr_t, and eps. */
typedef struct taml_ctrl_adam_k {
    double scale, b1, c1, b2, c2, lr, eps;
} taml_ctrl_adam_k;

/* One Adam ascent step over n weights th (n) with moments m, v (n) and
 * gradient g (n), element by element:
 *   g' = scale g;  m = b1 m + c1 g';  v = b2 v + c2 g'^2;
 *   th += (lr m) / (sqrt(v) + eps)
 * taml_ctrl_adam runs two (SSE2) or four (AVX, when the CPU has it) weights
 * per instruction on x86-64; every path does the reference's IEEE
 * operations in its order without fused multiply-adds, so both give bitwise
 * the same weights. */
void taml_ctrl_adam(double *th, double *m, double *v, const double *g, size_t n, const taml_ctrl_adam_k *k);
void taml_ctrl_adam_ref(double *th, double *m, double *v, const double *g, size_t n,
                        const taml_ctrl_adam_k *k);

#endif
