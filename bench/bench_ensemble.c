/* bench/bench_ensemble.c - ensembles of a study's task, side by side: the
 * single best trial, the K best (top) and Caruana's greedy selection for
 * several K and library sizes M, with their validation and test accuracy,
 * from one library of candidates retrained once (search/ensemble.h's
 * taml_ensemble_library_new and _select: the code `taml export --ensemble`
 * runs, so each line is what that command would report). docs/RESULTS.md
 * "Ensembles" was measured with it. Like the benchmarks it prints figures
 * and fails only when it cannot run.
 *
 *   build/bench/bench_ensemble STUDY TASK [LIBRARY [WORKERS]]
 *
 * LIBRARY (default 80) candidates are retrained on WORKERS threads (default
 * 2); lines: task, selection, K, M, members, picks, valid, test (TSV, after a
 * header line). TAML_MODULES names the module library the search used.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "nn/blas.h"
#include "search/ensemble.h"

static void line(const char *task, const taml_ensemble_result *r)
{
    const taml_store_ensemble *e = &r->rec;
    int picks = 0;
    for (int32_t k = 0; k < e->n_members; k++) picks += e->weight[k];
    printf("%s\t%s\t%d\t%d\t%d\t%d\t%.4f\t%.4f\n", task, e->selection, (int)e->size,
           (int)e->candidates, (int)e->n_members, picks, e->valid_acc, e->test_acc);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s STUDY TASK [LIBRARY [WORKERS]]\n", argv[0]);
        return 2;
    }
    const char *study = argv[1], *task = argv[2];
    int library = argc > 3 ? atoi(argv[3]) : 80, workers = argc > 4 ? atoi(argv[4]) : 2;
    taml_blas_init(NULL);
    taml_err err;
    taml_err_clear(&err);
    taml_ensemble_opts o;
    taml_ensemble_opts_default(&o);
    o.size = 1;
    o.selection = TAML_ENSEMBLE_GREEDY;
    o.candidates = library;
    o.workers = workers;
    o.module_dir = getenv("TAML_MODULES");
    taml_ensemble_library *lib;
    if (taml_ensemble_library_new(study, task, &o, &lib, &err)) {
        fprintf(stderr, "bench_ensemble: %s\n", err.msg);
        return 1;
    }
    int32_t n = taml_ensemble_library_size(lib);
    printf("task\tselection\tK\tM\tmembers\tpicks\tvalid\ttest\n");
    static const int tops[] = {1, 2, 3, 5, 10, 20}, greedy[] = {5, 10, 20}, per[] = {2, 4};
    for (size_t i = 0; i < sizeof tops / sizeof *tops; i++) {
        taml_ensemble_opts_default(&o);
        o.size = tops[i];
        o.selection = TAML_ENSEMBLE_TOP;
        taml_ensemble_result r;
        if (o.size > n || taml_ensemble_select(lib, &o, NULL, &r, &err)) continue;
        line(task, &r);
        taml_ensemble_result_deinit(&r);
    }
    for (size_t i = 0; i < sizeof greedy / sizeof *greedy; i++)
        for (size_t j = 0; j < sizeof per / sizeof *per; j++) {
            taml_ensemble_opts_default(&o);
            o.size = greedy[i];
            o.selection = TAML_ENSEMBLE_GREEDY;
            o.candidates = greedy[i] * per[j];
            taml_ensemble_result r;
            if (o.candidates > n || taml_ensemble_select(lib, &o, NULL, &r, &err)) continue;
            line(task, &r);
            taml_ensemble_result_deinit(&r);
        }
    taml_ensemble_library_free(lib);
    return 0;
}
