/* bench/bench_child.c - speed of the child model, driven by bench/bench_child.py
 * (`make bench-child`), which also runs the PyTorch reference for the ratio.
 *
 *   bench_child sgemm
 *       single-thread SGEMM GFLOP/s at the child's shapes (forward, weight
 *       gradient, input gradient of a 100-row batch through 256x256 and
 *       100x256 layers) and at 1024^3, best of several runs by CPU time.
 *   bench_child train TASK_DIR CONFIG_JSON MODULE THREADS
 *       THREADS worker threads, each training its own child (seed = thread
 *       index) on shared features, as a search's workers do; prints one JSON
 *       line: aggregate samples/s (wall clock), samples per CPU second of
 *       the training threads, per-child samples/s, and the dense GFLOP/s
 *       (per CPU second) the first child reached.
 * A benchmark, not a test: it never fails on a timing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/blas.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of 5 runs, timed by the thread's CPU clock: on a shared machine the
 * wall clock also counts the time other processes held the core. */
static double gemm_gflops(int ta, int tb, int M, int N, int K)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N),
          *c = calloc((size_t)M * N, sizeof(float));
    taml_rng r;
    taml_rng_seed(&r, 1);
    for (int i = 0; i < M * K; i++) a[i] = taml_rng_uniformf(&r);
    for (int i = 0; i < K * N; i++) b[i] = taml_rng_uniformf(&r);
    double flops = 2.0 * M * N * K, best = 0;
    int reps = (int)(1e9 / flops) + 1;
    for (int trial = 0; trial < 5; trial++) {
        double t0 = cpu_now();
        for (int i = 0; i < reps; i++)
            taml_blas_sgemm(ta, tb, M, N, K, 1.0f, a, ta ? M : K, b, tb ? K : N, 0.0f, c, N);
        double g = flops * reps / (cpu_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(a), free(b), free(c);
    return best;
}

static int cmd_sgemm(void)
{
    static const struct {
        const char *what;
        int ta, tb, M, N, K;
    } shapes[] = {
        {"fwd 100x256 @ 256x256", 0, 0, 100, 256, 256},
        {"dW 256x100^T @ 100x256", 1, 0, 256, 256, 100},
        {"dX 100x256 @ 256x256^T", 0, 1, 100, 256, 256},
        {"fwd 100x500 @ 500x256", 0, 0, 100, 256, 500},
        {"fwd 100x100 @ 100x64", 0, 0, 100, 64, 100},
        {"1024^3", 0, 0, 1024, 1024, 1024},
    };
    printf("{\"blas\": \"%s\", \"sgemm\": [", taml_blas_describe());
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        printf("%s{\"shape\": \"%s\", \"gflops\": %.1f}", i ? ", " : "", shapes[i].what,
               gemm_gflops(shapes[i].ta, shapes[i].tb, shapes[i].M, shapes[i].N, shapes[i].K));
    printf("]}\n");
    return 0;
}

struct job {
    const taml_child_config *cfg;
    const taml_features *f;
    uint64_t seed;
    taml_child_result r;
    int rc;
};

static void *worker(void *p)
{
    struct job *j = p;
    taml_err err;
    j->rc = taml_child_train(j->cfg, j->f, j->seed, &j->r, &err);
    if (j->rc) fprintf(stderr, "bench_child: %s\n", err.msg);
    return NULL;
}

/* Dense multiply-adds per training sample x 2 (flops): forward 2 in*out per
 * layer, backward 2 for dW and 2 for dX (none into a frozen input). */
static double dense_flops_per_sample(const taml_child_config *c, int D, int C)
{
    if (c->deep_disabled) return 0;
    double f = 0;
    for (int l = 0; l <= c->layers; l++) {
        double in = l ? c->hidden_size : D, out = l == c->layers ? C : c->hidden_size;
        f += (l == 0 && !c->fine_tune ? 4 : 6) * in * out;
    }
    return f;
}

static int cmd_train(const char *dir, const char *json, const char *module_name, int threads)
{
    taml_err err;
    taml_child_config cfg;
    if (taml_child_config_parse(&cfg, json, strlen(json), &err)) {
        fprintf(stderr, "bench_child: %s\n", err.msg);
        return 1;
    }
    taml_task *t = NULL;
    taml_module *m = NULL;
    taml_features *f = NULL;
    if (taml_task_load(&t, dir, NULL, &err) || taml_module_open(&m, module_name, NULL, &err) ||
        taml_features_new(&f, t, m, &err)) {
        fprintf(stderr, "bench_child: %s\n", err.msg);
        return 1;
    }
    struct job jobs[64];
    pthread_t th[64];
    if (threads < 1 || threads > 64) threads = 1;
    double t0 = taml_now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){&cfg, f, (uint64_t)i, {0}, 0};
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    double train_s = 0, samples = 0, cpu_s = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        train_s = jobs[i].r.train_s > train_s ? jobs[i].r.train_s : train_s;
        samples += (double)jobs[i].r.steps * TAML_CHILD_BATCH;
        cpu_s += jobs[i].r.train_cpu_s;
    }
    double wall = taml_now() - t0;
    double per_child = jobs[0].r.samples_per_s;
    double cpu0 = jobs[0].r.train_cpu_s > 0 ? (double)jobs[0].r.steps * TAML_CHILD_BATCH / jobs[0].r.train_cpu_s : 0;
    double gflops = cpu0 * dense_flops_per_sample(&cfg, f->dim, t->n_classes) / 1e9;
    printf("{\"threads\": %d, \"samples_per_s\": %.1f, \"per_child_samples_per_s\": %.1f, "
           "\"dense_gflops_per_child\": %.2f, \"status\": \"%s\", \"test_acc\": %.4f, "
           "\"wall_s\": %.3f, \"bytes\": %lld, \"samples_per_cpu_s\": %.1f}\n",
           threads, samples / train_s, per_child, gflops, taml_child_status_name(jobs[0].r.status),
           jobs[0].r.test_acc, wall, (long long)jobs[0].r.bytes, cpu_s > 0 ? samples / cpu_s : 0);
    taml_features_free(f);
    taml_module_close(m);
    taml_task_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    taml_blas_init(NULL);
    if (argc == 2 && !strcmp(argv[1], "sgemm")) return cmd_sgemm();
    if (argc == 6 && !strcmp(argv[1], "train"))
        return cmd_train(argv[2], argv[3], argv[4], atoi(argv[5]));
    fprintf(stderr, "usage: %s sgemm | train TASK_DIR CONFIG_JSON MODULE THREADS\n", argv[0]);
    return 2;
}
