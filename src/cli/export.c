/* cli/export.c - `taml export`: the best model of a study's task as a model
 * file (search/export.h retrains and checks it; nn/model.h writes it), or
 * with --ensemble K an ensemble of its best trials (search/ensemble.h),
 * which the study can record for `taml status`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/text.h"
#include "nn/blas.h"
#include "nn/model.h"
#include "search/ensemble.h"
#include "search/export.h"

static const char usage[] =
    "usage: taml export STUDY --task NAME -o MODEL.taml [--task-dir DIR] [--modules DIR]\n"
    "       taml export STUDY --task NAME --ensemble K [-o MODEL.taml] [--record]\n"
    "                   [--selection top|greedy] [--candidates M] [--workers W]\n"
    "  Writes the best model of task NAME in the study (highest validation accuracy;\n"
    "  ties: the earliest trial), retrained from its recorded config and seed and\n"
    "  checked to give exactly the recorded validation and test accuracies (else\n"
    "  refused). The file holds the config, class names, the wide vocabulary and its\n"
    "  weights, the embedding rows of the task's words only, every dense weight,\n"
    "  and where it came from; `taml predict` reads it.\n"
    "  --task-dir DIR  where the task is now (default: the directory the study recorded)\n"
    "  --modules DIR   the embedding-module library (default: the one the search\n"
    "                  recorded, else $TAML_MODULES or data/modules)\n"
    "  --ensemble K    one file holding an ensemble of K trials (1..1000), each\n"
    "                  retrained and checked the same way; `taml predict` averages\n"
    "                  their probabilities\n"
    "  --selection S   top: the K best by validation accuracy (the default); greedy:\n"
    "                  Caruana's forward selection with replacement on the validation\n"
    "                  split, K steps, from the M best (docs/cli.md)\n"
    "  --candidates M  greedy's library, K..1000 (default 4K, at most the trials)\n"
    "  --workers W     threads retraining the candidates, 1..4096 (default: the cores)\n"
    "  --record        record the ensemble's accuracies in the study for `taml status`\n"
    "                  and `taml report` (replaces the task's earlier one); -o is then\n"
    "                  optional\n";

enum { O_TASK = 256, O_TASK_DIR, O_MODULES, O_ENSEMBLE, O_SELECTION, O_CANDIDATES, O_WORKERS, O_RECORD };

static const struct option options[] = {
    {"task", required_argument, NULL, O_TASK},
    {"task-dir", required_argument, NULL, O_TASK_DIR},
    {"modules", required_argument, NULL, O_MODULES},
    {"ensemble", required_argument, NULL, O_ENSEMBLE},
    {"selection", required_argument, NULL, O_SELECTION},
    {"candidates", required_argument, NULL, O_CANDIDATES},
    {"workers", required_argument, NULL, O_WORKERS},
    {"record", no_argument, NULL, O_RECORD},
    TAML_ARGS_HELP,
    {0},
};

void taml_cli_ensemble_print(const char *task, const taml_ensemble_result *r)
{
    const taml_store_ensemble *e = &r->rec;
    printf("task %s: an ensemble of %d trial%s (selection %s, K %d, from the %d best of %lld "
           "finished trials; candidates retrained in %.2f s, each equal to its recorded "
           "accuracies): valid %.4f, test %.4f; the single best, trial %lld: valid %.4f, test "
           "%.4f\n  members:",
           task, (int)e->n_members, e->n_members == 1 ? "" : "s", e->selection, (int)e->size,
           (int)e->candidates, (long long)e->trials, r->retrain_s, e->valid_acc, e->test_acc,
           (long long)r->best_trial, r->best_valid, r->best_test);
    for (int32_t k = 0; k < e->n_members; k++) {
        printf(" %lld", (long long)e->member[k]);
        if (e->weight[k] != 1) printf(" (x%d)", (int)e->weight[k]);
    }
    putchar('\n');
}

/* Parses one of the --ensemble group of options. */
static int ensemble_arg(taml_args *a, int opt, taml_ensemble_opts *o)
{
    int64_t v;
    if (opt == O_ENSEMBLE || opt == O_CANDIDATES || opt == O_WORKERS) {
        if (taml_args_int(a, 1, opt == O_WORKERS ? 4096 : TAML_ENSEMBLE_MAX, &v)) return a->status;
        if (opt == O_ENSEMBLE) o->size = (int32_t)v;
        else if (opt == O_CANDIDATES) o->candidates = (int32_t)v;
        else o->workers = (int32_t)v;
        return 0;
    }
    int s = taml_ensemble_selection_parse(a->arg);
    if (s < 0) return taml_args_error(a, "--selection: '%s' is not top or greedy", a->arg);
    o->selection = (taml_ensemble_selection)s;
    return 0;
}

static int export_ensemble(const taml_cli *cli, const char *study, const char *task,
                           const char *outp, int record, taml_ensemble_opts *o)
{
    taml_blas_init(&cli->env.blas); /* one thread per child, the kernels the search used */
    /* the library: --modules, else the one the study recorded, else
     * $TAML_MODULES or data/modules */
    char *default_dir = taml_cli_module_dir(cli, NULL);
    o->default_module_dir = default_dir;
    o->want_model = outp != NULL;
    taml_err err;
    taml_err_clear(&err);
    taml_model *m = NULL;
    taml_ensemble_result r;
    int rc = taml_ensemble_build(study, task, o, outp ? &m : NULL, &r, &err);
    free(default_dir);
    if (rc) return taml_cli_fail(&err);
    if (outp) rc = taml_model_save(m, outp, &err);
    taml_model_free(m);
    if (!rc && record) rc = taml_ensemble_save(study, &r, &err);
    if (!rc) {
        taml_cli_ensemble_print(task, &r);
        if (outp) printf("  written to %s\n", outp);
        if (record) printf("  recorded in %s\n", study);
    }
    taml_ensemble_result_deinit(&r);
    return rc ? taml_cli_fail(&err) : 0;
}

int taml_cmd_export(const taml_cli *cli, int argc, char **argv)
{
    const char *study = NULL, *task = NULL, *outp = NULL, *task_dir = NULL, *modules = NULL;
    int record = 0, selection_given = 0, workers_given = 0;
    taml_ensemble_opts eo;
    taml_ensemble_opts_default(&eo);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    eo.workers = cores < 1 ? 1 : cores > 4096 ? 4096 : (int32_t)cores;
    taml_args a;
    taml_args_init(&a, "export", usage, argc, argv, "o:", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_TASK) task = a.arg;
        else if (c == 'o') outp = a.arg;
        else if (c == O_TASK_DIR) task_dir = a.arg;
        else if (c == O_MODULES) modules = a.arg;
        else if (c == O_RECORD) record = 1;
        else if (c == O_ENSEMBLE || c == O_SELECTION || c == O_CANDIDATES || c == O_WORKERS) {
            if (ensemble_arg(&a, c, &eo)) return a.status;
            selection_given |= c == O_SELECTION || c == O_CANDIDATES;
            workers_given |= c == O_WORKERS;
        } else if (c == TAML_ARGS_POSITIONAL && study) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) study = a.arg;
    }
    if (!study) return taml_args_required(&a, "STUDY");
    if (!task) return taml_args_required(&a, "--task");
    if (!eo.size && (record || selection_given || workers_given))
        return taml_args_error(&a, "--record, --selection, --candidates and --workers are for "
                                   "--ensemble K");
    if (!outp && !record) return taml_args_required(&a, eo.size ? "-o (or --record)" : "-o");
    if (eo.candidates && eo.selection != TAML_ENSEMBLE_GREEDY)
        return taml_args_error(&a, "--candidates is for --selection greedy");
    if (eo.candidates && eo.candidates < eo.size)
        return taml_args_error(&a, "--candidates: %d is fewer than the %d members of --ensemble",
                               (int)eo.candidates, (int)eo.size);
    if (eo.size) {
        eo.task_dir = task_dir;
        eo.module_dir = modules;
        return export_ensemble(cli, study, task, outp, record, &eo);
    }
    taml_blas_init(&cli->env.blas); /* one thread, the kernels the search used */
    /* the library: --modules, else the one the study recorded, else
     * $TAML_MODULES or data/modules */
    char *default_dir = taml_cli_module_dir(cli, NULL);
    taml_err err;
    taml_err_clear(&err);
    taml_model *m = NULL;
    taml_export_info info;
    int rc = taml_export_best(study, task, task_dir, modules, default_dir, &m, &info, &err);
    free(default_dir);
    if (rc) return taml_cli_fail(&err);
    rc = taml_model_save(m, outp, &err);
    taml_model_free(m);
    if (rc) return taml_cli_fail(&err);
    printf("exported task %s, trial %lld (the best of %lld finished %s with a model; %s; valid "
           "%.4f, test %.4f; retrained in %.2f s, accuracies equal to the recorded ones) to %s\n"
           "  config %s\n",
           task, (long long)info.trial, (long long)info.candidates,
           taml_text_plural(info.candidates, "trial", "trials"), info.state, info.valid_acc,
           info.test_acc, info.train_s, outp, info.config);
    return 0;
}
