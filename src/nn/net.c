/* nn/net.c - compiles net_tmpl.h over float (taml_net_*, training) and double
 * (taml_netd_*, the whole-model gradient check). See net.h. */
#include "nn/net.h"

#include <string.h>

#include "core/err.h"
#include "nn/blas.h"

#define REAL float
#define NF(name) taml_net_##name
#define KF(name) taml_kernel_##name
#define NET taml_net_t
#define SUBT taml_net_sub
#define GEMM taml_blas_sgemm
#include "nn/net_tmpl.h"
#undef REAL
#undef NF
#undef KF
#undef NET
#undef SUBT
#undef GEMM
#undef BN_EPS
#undef LN_EPS
#undef BN_MOMENTUM

#define REAL double
#define NF(name) taml_netd_##name
#define KF(name) taml_kerneld_##name
#define NET taml_netd_t
#define SUBT taml_netd_sub
#define GEMM taml_blas_dgemm_ref
#include "nn/net_tmpl.h"
