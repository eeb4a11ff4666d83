/* cli/export.c - `taml export`: the best model of a study's task as a model
 * file (search/export.h retrains and checks it; nn/model.h writes it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/text.h"
#include "nn/blas.h"
#include "nn/model.h"
#include "search/export.h"

static const char usage[] =
    "usage: taml export STUDY --task NAME -o MODEL.taml [--task-dir DIR] [--modules DIR]\n"
    "  Writes the best model of task NAME in the study (highest validation accuracy;\n"
    "  ties: the earliest trial), retrained from its recorded config and seed and\n"
    "  checked to give exactly the recorded validation and test accuracies (else\n"
    "  refused). The file holds the config, class names, the wide vocabulary and its\n"
    "  weights, the embedding rows of the task's words only, every dense weight,\n"
    "  and where it came from; `taml predict` reads it.\n"
    "  --task-dir DIR  where the task is now (default: the directory the study recorded)\n"
    "  --modules DIR   the embedding-module library (default: the one the search\n"
    "                  recorded, else $TAML_MODULES or data/modules)\n";

enum { O_TASK = 256, O_TASK_DIR, O_MODULES };

static const struct option options[] = {
    {"task", required_argument, NULL, O_TASK},
    {"task-dir", required_argument, NULL, O_TASK_DIR},
    {"modules", required_argument, NULL, O_MODULES},
    TAML_ARGS_HELP,
    {0},
};

int taml_cmd_export(const taml_cli *cli, int argc, char **argv)
{
    const char *study = NULL, *task = NULL, *outp = NULL, *task_dir = NULL, *modules = NULL;
    taml_args a;
    taml_args_init(&a, "export", usage, argc, argv, "o:", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_TASK) task = a.arg;
        else if (c == 'o') outp = a.arg;
        else if (c == O_TASK_DIR) task_dir = a.arg;
        else if (c == O_MODULES) modules = a.arg;
        else if (c == TAML_ARGS_POSITIONAL && study) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) study = a.arg;
    }
    if (!study) return taml_args_required(&a, "STUDY");
    if (!task) return taml_args_required(&a, "--task");
    if (!outp) return taml_args_required(&a, "-o");
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
