/* bench/bench_module.c - how fast a module opens and answers lookups.
 *
 *   make bench && build/bench/bench_module MODULE [TASK_DIR]
 *
 * MODULE: a .tamlm path, random-D, or a name in data/modules (run from the
 * repository root).
 *
 * Opens MODULE 10 times (each open maps the file and checks its CRC-32 over
 * every byte; the file is in the page cache after the first), reports the
 * best and median open time; then looks up every word of the module (hits)
 * and as many absent words (misses), and, given TASK_DIR, every token of the
 * task in text order (what pooling a task's features does), in lookups per
 * second. A benchmark, not a test: it never fails on a timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODULE [TASK_DIR]\n", argv[0]);
        return 2;
    }
    taml_err err;
    taml_module *m = NULL;
    double t[10];
    char *home = taml_home(NULL), *library = taml_path_join(home, "data/modules");
    for (int i = 0; i < 10; i++) {
        double t0 = taml_now();
        if (taml_module_open(&m, argv[1], library, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t[i] = taml_now() - t0;
        if (i < 9) taml_module_close(m);
    }
    free(library);
    free(home);
    qsort(t, 10, sizeof *t, cmp_double);
    printf("%s: %lld words x %d; open best %.1f ms, median %.1f ms\n", taml_module_name(m),
           (long long)taml_module_rows(m), (int)taml_module_dim(m), 1e3 * t[0], 1e3 * t[5]);
    int64_t rows = taml_module_rows(m);
    float *v = malloc((size_t)taml_module_dim(m) * sizeof *v);
    if (rows > 0) {
        double t0 = taml_now();
        int64_t hits = 0;
        for (int64_t r = 0; r < rows; r++) {
            const char *w = taml_module_word(m, r);
            hits += taml_module_lookup(m, w, strlen(w), v);
        }
        double th = taml_now() - t0;
        char miss[64];
        t0 = taml_now();
        int64_t found = 0;
        for (int64_t r = 0; r < rows; r++) {
            int n = snprintf(miss, sizeof miss, "zq%lldxq", (long long)r);
            found += taml_module_lookup(m, miss, (size_t)n, v);
        }
        double tm = taml_now() - t0;
        printf("lookups: %.1f M hits/s (%lld of %lld found), %.1f M misses/s (%lld found)\n",
               (double)rows / th / 1e6, (long long)hits, (long long)rows,
               (double)rows / tm / 1e6, (long long)found);
    }
    if (argc > 2) {
        taml_task *task;
        if (taml_task_load(&task, argv[2], NULL, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        int64_t n = task->tok_off[task->n], known = 0;
        double t0 = taml_now();
        for (int64_t i = 0; i < n; i++) {
            const char *w = task->words[task->tok[i]];
            known += taml_module_lookup(m, w, strlen(w), v);
        }
        double tt = taml_now() - t0;
        printf("task %s: %lld tokens, %.1f%% known, %.1f M lookups/s\n", task->name,
               (long long)n, 100.0 * (double)known / (double)n, (double)n / tt / 1e6);
        taml_task_free(task);
    }
    free(v);
    taml_module_close(m);
    return 0;
}
