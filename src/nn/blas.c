/* nn/blas.c - SGEMM through OpenBLAS with the fast kernels selected by taml
 * itself, plus the plain-loop reference (see blas.h for the contract).
 *
 * Why dlopen: Debian's OpenBLAS 0.3.21 picks its kernels once, in a library
 * constructor, from the CPU model; it does not know recent AVX-512 CPUs (AMD
 * Zen 4/5, ...) and falls back to generic Prescott kernels (about 31 vs 150
 * GFLOP/s per core here) unless OPENBLAS_CORETYPE is in the environment when
 * it loads. Linked with -lopenblas it loads before main, too early for taml to
 * set anything. So taml does not link it: on first use it sets
 * OPENBLAS_CORETYPE=SkylakeX when the CPU (and OS) support the AVX-512 subsets
 * those kernels use (F, CD, BW, DQ, VL), overriding an inherited
 * OPENBLAS_CORETYPE (environments set it for other programs, e.g. Haswell for
 * numpy; the check below makes the override safe); taml_blas_opts.coretype
 * (the CLI's TAML_BLAS_CORETYPE=NAME) chooses another core explicitly. It
 * sets OPENBLAS_NUM_THREADS=1 (each taml worker is one thread on one core),
 * then dlopens libopenblas.so.0. Re-executing taml with the variable set would
 * also work, but only for the CLI, not for programs linking libtaml.a (the
 * tests, benchmarks). On CPUs without AVX-512 nothing is forced and OpenBLAS
 * chooses as usual. The loaded library is trusted only after it matches the
 * plain-loop reference on several shapes and all transpose cases; otherwise,
 * or when it is missing, the plain loops are used.
 */
#include "nn/blas.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rng.h"

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 }; /* CBLAS enum values */
typedef void (*sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta,
                         float *C, int ldc);

static pthread_once_t once = PTHREAD_ONCE_INIT;
/* The options of the first taml_blas_init, copied for load (empty: none). */
static char opt_coretype[64], opt_inherited[64];
static sgemm_fn fast_sgemm; /* NULL: plain loops */
static char describe[256] = "plain loops (BLAS not loaded yet)";

#define GEMM_REF_BODY(T)                                                               \
    for (int i = 0; i < M; i++) {                                                      \
        T *c = C + (size_t)i * ldc;                                                    \
        if (beta == 0)                                                                 \
            for (int j = 0; j < N; j++) c[j] = 0;                                      \
        else if (beta != 1)                                                            \
            for (int j = 0; j < N; j++) c[j] *= beta;                                  \
        for (int k = 0; k < K; k++) {                                                  \
            T a = alpha * (transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);  \
            if (transB)                                                                \
                for (int j = 0; j < N; j++) c[j] += a * B[(size_t)j * ldb + k];        \
            else {                                                                     \
                const T *b = B + (size_t)k * ldb;                                      \
                for (int j = 0; j < N; j++) c[j] += a * b[j];                          \
            }                                                                          \
        }                                                                              \
    }

void taml_blas_sgemm_ref(int transA, int transB, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta,
                         float *C, int ldc)
{
    GEMM_REF_BODY(float)
}

void taml_blas_dgemm_ref(int transA, int transB, int M, int N, int K, double alpha,
                         const double *A, int lda, const double *B, int ldb, double beta,
                         double *C, int ldc)
{
    GEMM_REF_BODY(double)
}

static int cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    /* libgcc also checks that the OS saves the AVX-512 state (XCR0). */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* 1 when fn agrees with the reference on awkward shapes, all transposes. */
static int agrees_with_reference(sgemm_fn fn)
{
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {100, 64, 100}, {37, 129, 61},
                                    {100, 256, 256}, {256, 100, 100}};
    taml_rng rng;
    taml_rng_seed(&rng, 12345);
    int ok = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && ok; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
        float *a = taml_malloc(na * sizeof *a), *b = taml_malloc(nb * sizeof *b);
        float *c1 = taml_malloc(nc * sizeof *c1), *c2 = taml_malloc(nc * sizeof *c2);
        for (size_t i = 0; i < na; i++) a[i] = taml_rng_uniformf(&rng) - 0.5f;
        for (size_t i = 0; i < nb; i++) b[i] = taml_rng_uniformf(&rng) - 0.5f;
        for (int t = 0; t < 4 && ok; t++) {
            int ta = t & 1, tb = t >> 1;
            for (size_t i = 0; i < nc; i++) c1[i] = c2[i] = taml_rng_uniformf(&rng);
            int lda = ta ? M : K, ldb = tb ? K : N;
            fn(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, M, N, K, 0.75f, a, lda,
               b, ldb, 0.5f, c1, N);
            taml_blas_sgemm_ref(ta, tb, M, N, K, 0.75f, a, lda, b, ldb, 0.5f, c2, N);
            for (size_t i = 0; i < nc; i++)
                if (!(fabsf(c1[i] - c2[i]) <= 1e-4f * (1.0f + sqrtf((float)K)))) ok = 0;
        }
        free(a);
        free(b);
        free(c1);
        free(c2);
    }
    return ok;
}

static void load(void)
{
    char forced[128] = "";
    const char *mine = opt_coretype, *theirs = opt_inherited[0] ? opt_inherited : NULL;
    /* setenv is how OpenBLAS is configured: it reads these when it loads */
    if (mine[0]) {
        setenv("OPENBLAS_CORETYPE", mine, 1);
        snprintf(forced, sizeof forced, " (TAML_BLAS_CORETYPE)");
    } else if (cpu_has_avx512()) {
        snprintf(forced, sizeof forced, " (forced: AVX-512 CPU%s%.40s)",
                 theirs ? "; OPENBLAS_CORETYPE was " : "", theirs ? theirs : "");
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    }
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(describe, sizeof describe, "plain loops (libopenblas.so.0 not found)");
        return;
    }
    sgemm_fn fn = (sgemm_fn)(void (*)(void))dlsym(h, "cblas_sgemm");
    void (*set_threads)(int) = (void (*)(int))(void (*)(void))dlsym(h, "openblas_set_num_threads");
    char *(*corename)(void) = (char *(*)(void))(void (*)(void))dlsym(h, "openblas_get_corename");
    char *(*config)(void) = (char *(*)(void))(void (*)(void))dlsym(h, "openblas_get_config");
    if (!fn) {
        snprintf(describe, sizeof describe, "plain loops (no cblas_sgemm in libopenblas)");
        return; /* the handle stays open: harmless, and dlclose of OpenBLAS can hang */
    }
    if (set_threads) set_threads(1);
    const char *core = corename ? corename() : "?";
    const char *conf = config ? config() : "OpenBLAS";
    if (!agrees_with_reference(fn)) {
        snprintf(describe, sizeof describe,
                 "plain loops (%.80s core %.40s%s disagreed with the reference)", conf, core,
                 forced);
        return;
    }
    fast_sgemm = fn;
    snprintf(describe, sizeof describe, "%.120s core %.40s%s, checked", conf, core, forced);
}

void taml_blas_init(const taml_blas_opts *o)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int given; /* the first options win, as the first load does */
    pthread_mutex_lock(&mu);
    if (o && !given) {
        snprintf(opt_coretype, sizeof opt_coretype, "%s", o->coretype ? o->coretype : "");
        snprintf(opt_inherited, sizeof opt_inherited, "%s",
                 o->inherited_coretype ? o->inherited_coretype : "");
    }
    given = 1;
    pthread_mutex_unlock(&mu);
    pthread_once(&once, load);
}

const char *taml_blas_describe(void)
{
    pthread_once(&once, load);
    return describe;
}

int taml_blas_fast(void)
{
    pthread_once(&once, load);
    return fast_sgemm != NULL;
}

void taml_blas_sgemm(int transA, int transB, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta,
                     float *C, int ldc)
{
    pthread_once(&once, load); /* taml_blas_init with the defaults, once */
    if (M <= 0 || N <= 0) return;
    if (fast_sgemm && K > 0)
        fast_sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, M, N, K,
                   alpha, A, lda, B, ldb, beta, C, ldc);
    else
        taml_blas_sgemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
