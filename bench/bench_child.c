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
 *   bench_child configs TASK_DIR MODULE_DIR < CONFIGS
 *       trains one child per line of CONFIGS (a JSON config; its embedding
 *       named in MODULE_DIR), seed 0, one after another on features shared
 *       as a search shares them; one JSON line per child (accuracies, CPU
 *       seconds, bytes). The driver of experiments/ngram_choices.py.
 *   bench_child features TASK_DIR MODULE
 *       the n-gram parts (words 1-3, characters 2-5) and subwords of a task,
 *       as a search computes them once: seconds (wall and CPU), rows and
 *       entries of each, and the process's peak RSS before and after.
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
#include "nn/ngrams.h"

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

/* The task in dir, the module and their features; 1 (said on stderr) on an error. */
static int open_features(const char *dir, const char *module_name, taml_task **t, taml_module **m,
                         taml_features **f)
{
    taml_err err;
    if (taml_task_load(t, dir, NULL, &err) || taml_module_open(m, module_name, NULL, &err) ||
        taml_features_new(f, *t, *m, &err)) {
        fprintf(stderr, "bench_child: %s\n", err.msg);
        return 1;
    }
    return 0;
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
    if (open_features(dir, module_name, &t, &m, &f)) return 1;
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

static int cmd_configs(const char *dir, const char *module_dir)
{
    taml_err err;
    taml_task *t = NULL;
    if (taml_task_load(&t, dir, NULL, &err)) {
        fprintf(stderr, "bench_child: %s\n", err.msg);
        return 1;
    }
    taml_features_cache *cache = taml_features_cache_new();
    enum { MAX_MODULES = 32 };
    taml_module *mods[MAX_MODULES];
    char names[MAX_MODULES][256];
    int n_mods = 0, rc = 0;
    char *line = NULL;
    size_t cap = 0;
    while (!rc && getline(&line, &cap, stdin) > 0) {
        taml_child_config cfg;
        if (taml_child_config_parse(&cfg, line, strlen(line), &err)) {
            fprintf(stderr, "bench_child: %s\n", err.msg);
            rc = 1;
            break;
        }
        int k = 0;
        while (k < n_mods && strcmp(names[k], cfg.embedding)) k++;
        if (k == n_mods) {
            if (n_mods == MAX_MODULES || taml_module_open(&mods[k], cfg.embedding, module_dir, &err)) {
                fprintf(stderr, "bench_child: %s\n", n_mods == MAX_MODULES ? "too many modules" : err.msg);
                rc = 1;
                break;
            }
            snprintf(names[k], sizeof names[k], "%s", cfg.embedding);
            n_mods++;
        }
        const taml_features *f;
        taml_child_result r;
        double w0 = taml_now();
        if (taml_features_cache_get(cache, t, mods[k], &f, &err) ||
            taml_child_train(&cfg, f, 0, &r, &err)) {
            fprintf(stderr, "bench_child: %s\n", err.msg);
            rc = 1;
            break;
        }
        printf("{\"status\": \"%s\", \"valid_acc\": %.17g, \"test_acc\": %.17g, \"train_cpu_s\": %.4f, "
               "\"wall_s\": %.4f, \"bytes\": %lld}\n",
               taml_child_status_name(r.status), r.valid_acc, r.test_acc, r.train_cpu_s,
               taml_now() - w0, (long long)r.bytes);
        fflush(stdout);
    }
    free(line);
    taml_features_cache_free(cache);
    for (int k = 0; k < n_mods; k++) taml_module_close(mods[k]);
    taml_task_free(t);
    return rc;
}

/* "VmHWM" or "VmRSS" of this process, kB. */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) kb = atol(line + strlen(key) + 1);
    if (f) fclose(f);
    return kb;
}

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmd_features(const char *dir, const char *module_name)
{
    taml_err err;
    taml_task *t = NULL;
    taml_module *m = NULL;
    taml_features *f = NULL;
    if (open_features(dir, module_name, &t, &m, &f)) return 1;
    long hwm0 = status_kb("VmHWM"), rss0 = status_kb("VmRSS");
    printf("{\"task\": \"%s\", \"texts\": %d, \"tokens\": %lld, \"rss_kb_before\": %ld, "
           "\"hwm_kb_before\": %ld, \"parts\": [",
           t->name, t->n, (long long)t->tok_off[t->n], rss0, hwm0);
    double w0 = taml_now(), c0 = process_cpu_s();
    static const int kinds[][2] = {{TAML_GRAM_WORD, 1}, {TAML_GRAM_WORD, 2}, {TAML_GRAM_WORD, 3},
                                   {TAML_GRAM_CHAR, 2}, {TAML_GRAM_CHAR, 3}, {TAML_GRAM_CHAR, 4},
                                   {TAML_GRAM_CHAR, 5}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const taml_ngrams_part *p;
        double a = taml_now();
        if (taml_features_part(f, kinds[i][0], kinds[i][1], TAML_NGRAM_BUCKETS_DEFAULT, &p, &err)) {
            fprintf(stderr, "bench_child: %s\n", err.msg);
            return 1;
        }
        printf("%s{\"kind\": \"%s\", \"n\": %d, \"rows\": %d, \"entries\": %lld, \"s\": %.3f}",
               i ? ", " : "", kinds[i][0] == TAML_GRAM_WORD ? "word" : "char", kinds[i][1], p->rows,
               (long long)p->off[t->n], taml_now() - a);
    }
    const taml_subwords *sw;
    double a = taml_now();
    if (taml_features_subwords(f, TAML_NGRAM_BUCKETS_DEFAULT, &sw, &err)) {
        fprintf(stderr, "bench_child: %s\n", err.msg);
        return 1;
    }
    printf("], \"subwords\": {\"rows\": %d, \"words\": %d, \"s\": %.3f}, \"wall_s\": %.3f, "
           "\"cpu_s\": %.3f, \"rss_kb_after\": %ld, \"hwm_kb_after\": %ld}\n",
           sw->rows, sw->n_words, taml_now() - a, taml_now() - w0, process_cpu_s() - c0,
           status_kb("VmRSS"), status_kb("VmHWM"));
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
    if (argc == 4 && !strcmp(argv[1], "features")) return cmd_features(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "configs")) return cmd_configs(argv[2], argv[3]);
    fprintf(stderr, "usage: %s sgemm | train TASK_DIR CONFIG_JSON MODULE THREADS | configs TASK_DIR MODULE_DIR | "
            "features TASK_DIR MODULE\n",
            argv[0]);
    return 2;
}
