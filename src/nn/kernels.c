/* nn/kernels.c - compiles kernels_tmpl.h twice: over float (taml_k_*, the
 * training path, SGEMM through nn/blas) and over double (taml_kd_*, for the
 * gradient checks, plain-loop DGEMM). See kernels.h. */
#include "nn/kernels.h"

#include <math.h>
#include <string.h>

#include "core/err.h"
#include "nn/blas.h"

#define REAL float
#define KF(name) taml_k_##name
#define GEMM taml_blas_sgemm
#define EXP expf
#define SQRT sqrtf
#include "nn/kernels_tmpl.h"
#undef REAL
#undef KF
#undef GEMM
#undef EXP
#undef SQRT

#define REAL double
#define KF(name) taml_kd_##name
#define GEMM taml_blas_dgemm_ref
#define EXP exp
#define SQRT sqrt
#include "nn/kernels_tmpl.h"
