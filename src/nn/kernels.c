/* nn/kernels.c - compiles kernels_tmpl.h twice: over float (taml_kernel_*, the
 * training path, SGEMM through nn/blas) and over double (taml_kerneld_*, for the
 * gradient checks, plain-loop DGEMM). See kernels.h.
 *
 * Speed without changing results: src/nn is built at -O3 -fno-math-errno (see
 * the Makefile; GCC's -O2 does not vectorise loops of run-time length) and the
 * float kernels' hot loops are
 * cloned for AVX-512 and AVX2 (chosen at load time by CPU). Neither changes a
 * result: C11 mode keeps -ffp-contract=off (no fused multiply-add) and without
 * -ffast-math GCC vectorises no reduction it would have to reorder, so every
 * clone performs the same IEEE operations in the same order. */
#include "nn/kernels.h"

#include <math.h>
#include <string.h>

#include "core/err.h"
#include "nn/blas.h"

#define REAL float
/* ThreadSanitizer cannot run the ifunc resolvers target_clones needs (they
 * run before it is initialised), and Clang 14 (the libFuzzer builds) names
 * the dispatcher "f.ifunc", leaving calls from other files unresolved: one
 * plain build of these loops there. */
#if defined(__SANITIZE_THREAD__) || defined(__clang__)
#define HOT
#else
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#define KF(name) taml_kernel_##name
#define GEMM taml_blas_sgemm
#define EXP expf
#define SQRT sqrtf
#define LOG logf
#include "nn/kernels_tmpl.h"
#undef REAL
#undef HOT
#undef KF
#undef GEMM
#undef EXP
#undef SQRT
#undef LOG

#define REAL double
#define HOT
#define KF(name) taml_kerneld_##name
#define GEMM taml_blas_dgemm_ref
#define EXP exp
#define SQRT sqrt
#define LOG log
#include "nn/kernels_tmpl.h"
