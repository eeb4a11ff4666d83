/* nn/blas.h - the one matrix-multiply entry point of taml (row-major SGEMM),
 * with a plain-loop reference beside it.
 *
 * Every dense layer of the child model goes through taml_blas_sgemm. Behind
 * it is OpenBLAS, loaded at run time (see blas.c for why), forced to its
 * SkylakeX kernels on CPUs with AVX-512 and checked against the plain-loop
 * reference before it is trusted; without OpenBLAS, or if the check fails,
 * the reference itself is used (slow but correct). BLAS runs single-threaded:
 * taml's parallelism is one worker thread per core, each with its own child.
 */
#ifndef TAML_NN_BLAS_H
#define TAML_NN_BLAS_H

/* C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, row-major;
 * op(X) = X, or X transposed when transX != 0 (then A is stored (K, M), B is
 * stored (N, K)). lda/ldb/ldc are the row strides of the stored matrices.
 * Thread-safe; the first call loads and checks the library (taml_blas_init). */
void taml_blas_sgemm(int transA, int transB, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta,
                     float *C, int ldc);

/* The same contract as taml_blas_sgemm, by plain loops in float (the reference
 * the fast path is checked against), and in double (used by the double
 * precision gradient checks). */
void taml_blas_sgemm_ref(int transA, int transB, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta,
                         float *C, int ldc);
void taml_blas_dgemm_ref(int transA, int transB, int M, int N, int K, double alpha,
                         const double *A, int lda, const double *B, int ldb, double beta,
                         double *C, int ldc);

/* How the BLAS is loaded. The library reads no environment variable itself:
 * the CLI passes what the user set (src/cli/main.c). */
typedef struct taml_blas_opts {
    /* The OpenBLAS core to load (OPENBLAS_CORETYPE's names, e.g. "Haswell");
     * NULL or "": SkylakeX on an AVX-512 CPU, else OpenBLAS chooses. */
    const char *coretype;
    /* OPENBLAS_CORETYPE as the process inherited it, only to name it in the
     * description when taml overrides it (NULL: none). */
    const char *inherited_coretype;
} taml_blas_opts;

/* Loads and checks the BLAS once per process (idempotent, thread-safe). o:
 * NULL for the defaults; only the first call's options count, and a
 * taml_blas_sgemm before any taml_blas_init loads with the defaults. Call it
 * early in main, before threads start: it sets OPENBLAS_CORETYPE and
 * OPENBLAS_NUM_THREADS in the environment for OpenBLAS to read when it
 * loads (setenv is not thread-safe). */
void taml_blas_init(const taml_blas_opts *o);

/* What taml_blas_sgemm runs on, for logs and benchmarks, e.g.
 * "OpenBLAS 0.3.21 core SkylakeX (forced: AVX-512 CPU), checked" or
 * "plain loops (libopenblas.so.0 not found)". Static string. */
const char *taml_blas_describe(void);
/* 1 when the fast library is in use, 0 when the plain-loop fallback is. */
int taml_blas_fast(void);

#endif
