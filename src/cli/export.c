/* cli/export.c - `taml export`: the best model of a study's task as a model
 * file (search/export.h retrains and checks it; nn/model.h writes it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
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
    "  --modules DIR   the embedding-module library the search used (default\n"
    "                  $TAML_MODULES or data/modules)\n";

int taml_cmd_export(const taml_cli *cli, int argc, char **argv)
{
    const char *study = NULL, *task = NULL, *outp = NULL, *task_dir = NULL, *modules = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--task") || !strcmp(a, "-o") || !strcmp(a, "--task-dir") ||
            !strcmp(a, "--modules")) {
            if (!has_value) return taml_cli_usage(usage, "export: %s wants a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--task")) task = v;
            else if (!strcmp(a, "-o")) outp = v;
            else if (!strcmp(a, "--task-dir")) task_dir = v;
            else modules = v;
        } else if (a[0] == '-' && a[1]) return taml_cli_usage(usage, "export: unknown option '%s'", a);
        else if (!study) study = a;
        else return taml_cli_usage(usage, "export: unexpected argument '%s'", a);
    }
    if (!study || !task || !outp)
        return taml_cli_usage(usage, "export: STUDY, --task and -o are required");
    taml_blas_init(&cli->env.blas); /* one thread, the kernels the search used */
    char *module_dir = taml_cli_module_dir(cli, modules);
    taml_err err;
    taml_err_clear(&err);
    taml_model *m = NULL;
    taml_export_info info;
    int rc = taml_export_best(study, task, task_dir, module_dir, &m, &info, &err);
    free(module_dir);
    if (rc) return taml_cli_fail(&err);
    rc = taml_model_save(m, outp, &err);
    taml_model_free(m);
    if (rc) return taml_cli_fail(&err);
    printf("exported task %s, trial %lld of %lld (%s; valid %.4f, test %.4f; retrained in %.2f s, "
           "accuracies equal to the recorded ones) to %s\n  config %s\n",
           task, (long long)info.trial, (long long)info.candidates, info.state, info.valid_acc,
           info.test_acc, info.train_s, outp, info.config);
    return 0;
}
