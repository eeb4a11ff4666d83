/* cli/train.c - `taml train`: trains one child model on a task and prints its
 * accuracies, loss, steps and speed (one trial, outside any search). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/blas.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"

static const char usage[] =
    "usage: taml train --task DIR --config CONFIG [--module M] [--seed S] [--json]\n"
    "                  [--rungs S1,S2,...]\n"
    "  Trains one child model (the 12 decisions in CONFIG: a JSON file or an inline\n"
    "  JSON object, docs/formats.md \"Child configuration\") on the task in DIR and\n"
    "  prints valid and test accuracy, final training loss, steps, time and samples/s.\n"
    "  --module M  embedding module (overrides the config's \"embedding\"): a text\n"
    "              module for a text task (default random-100); for an image task\n"
    "              an image module, or pixels (the raw pixels; the default)\n"
    "  --seed S    initialisation, dropout and batch order (default 0)\n"
    "  --json      one JSON object instead of text\n"
    "  --rungs S1,S2,...  also measures the validation accuracy after S1, S2, ...\n"
    "              training samples (ascending, each below the config's samples, at\n"
    "              most 24) and prints each as it is measured, a line before the\n"
    "              result (--json: {\"rung\": K, \"samples\": S, \"valid_acc\": V}), so\n"
    "              that a driver may stop the run there (experiments/tpe.py --pruner)\n";

/* --rungs: one line per rung as it is measured, flushed at once. */
static int rung_json;
static void print_rung(void *user, int k, int64_t samples, double acc)
{
    (void)user;
    if (rung_json)
        printf("{\"rung\":%d,\"samples\":%lld,\"valid_acc\":%.17g}\n", k, (long long)samples, acc);
    else
        printf("rung %d at %lld samples: valid %.4f\n", k, (long long)samples, acc);
    fflush(stdout);
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

enum { O_TASK = 256, O_CONFIG, O_MODULE, O_SEED, O_JSON, O_RUNGS };

static const struct option options[] = {
    {"task", required_argument, NULL, O_TASK},
    {"config", required_argument, NULL, O_CONFIG},
    {"module", required_argument, NULL, O_MODULE},
    {"seed", required_argument, NULL, O_SEED},
    {"json", no_argument, NULL, O_JSON},
    {"rungs", required_argument, NULL, O_RUNGS},
    TAML_ARGS_HELP,
    {0},
};

int taml_cmd_train(const taml_cli *cli, int argc, char **argv)
{
    const char *task_dir = NULL, *config = NULL, *module_name = NULL;
    uint64_t seed = 0;
    int json = 0, n_rungs = 0;
    int64_t rung_samples[TAML_CHILD_RUNGS_MAX];
    taml_args a;
    taml_args_init(&a, "train", usage, argc, argv, "", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_TASK) task_dir = a.arg;
        else if (c == O_CONFIG) config = a.arg;
        else if (c == O_MODULE) module_name = a.arg;
        else if (c == O_SEED && taml_args_u64(&a, &seed)) return a.status;
        else if (c == O_JSON) json = 1;
        else if (c == O_RUNGS) {
            /* each number through the one parser, as if given alone */
            char *list = taml_strdup(a.arg), *save = NULL;
            int bad = 0;
            for (char *tok = strtok_r(list, ",", &save); tok && !bad; tok = strtok_r(NULL, ",", &save)) {
                int64_t v;
                a.arg = tok;
                if (taml_args_int(&a, n_rungs ? rung_samples[n_rungs - 1] + 1 : 1, 1000000000000LL, &v))
                    bad = 1;
                else if (n_rungs == TAML_CHILD_RUNGS_MAX)
                    bad = taml_args_error(&a, "--rungs: more than 24 rungs");
                else
                    rung_samples[n_rungs++] = v;
            }
            free(list);
            if (bad) return a.status;
        } else if (c == TAML_ARGS_POSITIONAL) return taml_args_stray(&a);
    }
    if (!task_dir) return taml_args_required(&a, "--task");
    if (!config) return taml_args_required(&a, "--config");
    taml_blas_init(&cli->env.blas); /* before any thread: it may set environment variables */

    taml_err err;
    taml_err_clear(&err);
    taml_child_config cfg;
    int rc;
    const char *p = config;
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    if (*p == '{') rc = taml_child_config_parse(&cfg, config, strlen(config), &err);
    else rc = taml_child_config_load(&cfg, config, &err);
    if (rc) return taml_cli_fail(&err);

    taml_task *task = NULL;
    taml_module *module = NULL;
    taml_features *feat = NULL;
    int status = 1;
    double t0 = taml_now();
    const char *name = NULL; /* all before the first goto done */
    double setup_s = 0;
    taml_child_result r;
    double rung_acc[24], rung_none[24];
    for (int k = 0; k < 24; k++) rung_none[k] = NAN;
    rung_json = json;
    taml_child_rungs rungs = {.n = n_rungs, .samples = rung_samples, .threshold = rung_none,
                              .acc = rung_acc, .on_rung = print_rung};
    char name_buf[sizeof cfg.embedding];
    if (taml_task_load(&task, task_dir, NULL, &err)) goto done;
    snprintf(name_buf, sizeof name_buf, "%s", module_name ? module_name : cfg.embedding);
    name = name_buf[0] ? name_buf : NULL;
    if (!name) name = task->kind == TAML_TASK_IMAGE ? "pixels" : "random-100";
    if (task->kind == TAML_TASK_TEXT || strcmp(name, "pixels") != 0) {
        /* an image task under an image module, or a text task's module: the
         * features refuse a module of the other kind, naming both */
        char *library = taml_cli_module_dir(cli, NULL);
        int open_rc = taml_module_open(&module, name, library, &err);
        free(library);
        if (open_rc) goto done;
    }
    snprintf(cfg.embedding, sizeof cfg.embedding, "%s", name);
    if (taml_features_new(&feat, task, module, &err)) goto done;
    setup_s = taml_now() - t0;
    if (taml_child_train_rungs(&cfg, feat, seed, n_rungs ? &rungs : NULL, &r, &err)) goto done;

    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", taml_child_status_name(r.status));
        add_num(o, "valid_acc", r.valid_acc);
        add_num(o, "test_acc", r.test_acc);
        add_num(o, "final_loss", r.final_loss);
        cJSON_AddNumberToObject(o, "steps", (double)r.steps);
        add_num(o, "train_s", r.train_s);
        add_num(o, "train_cpu_s", r.train_cpu_s);
        add_num(o, "wall_s", r.wall_s);
        add_num(o, "setup_s", setup_s);
        if (r.steps > 0) add_num(o, "samples_per_s", r.samples_per_s);
        else cJSON_AddNullToObject(o, "samples_per_s");
        cJSON_AddNumberToObject(o, "bytes", (double)r.bytes);
        /* as an integer, exactly: a double would round seeds above 2^53 */
        char seed_text[24];
        snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
        cJSON_AddRawToObject(o, "seed", seed_text);
        cJSON_AddStringToObject(o, "task", task->name);
        cJSON_AddNumberToObject(o, "n_train", task->n_split[TAML_TRAIN]);
        cJSON_AddNumberToObject(o, "n_valid", task->n_split[TAML_VALID]);
        cJSON_AddNumberToObject(o, "n_test", task->n_split[TAML_TEST]);
        cJSON_AddNumberToObject(o, "classes", task->n_classes);
        cJSON_AddNumberToObject(o, "emb_rows", feat->n_rows);
        cJSON_AddNumberToObject(o, "emb_dim", feat->dim);
        cJSON_AddNumberToObject(o, "wide_vocab", task->n_wide);
        add_num(o, "token_coverage", feat->token_coverage);
        cJSON_AddStringToObject(o, "blas", taml_blas_describe());
        char cbuf[1024];
        taml_child_config_format(&cfg, cbuf, sizeof cbuf);
        cJSON_AddItemToObject(o, "config", cJSON_Parse(cbuf));
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("task %s (%d train, %d valid, %d test, %d classes), module %s\n", task->name,
               task->n_split[0], task->n_split[1], task->n_split[2], task->n_classes, name);
        printf("status       %s\n", taml_child_status_name(r.status));
        printf("valid acc    %.4f\ntest acc     %.4f\n", r.valid_acc, r.test_acc);
        printf("final loss   %.6g\nsteps        %lld\n", r.final_loss, (long long)r.steps);
        printf("train        %.3f s, %.0f samples/s (wall %.3f s, setup %.3f s)\n", r.train_s,
               r.samples_per_s, r.wall_s, setup_s);
        printf("blas         %s\n", taml_blas_describe());
    }
    status = 0;
done:
    if (status) taml_cli_fail(&err);
    taml_features_free(feat);
    taml_module_close(module);
    taml_task_free(task);
    return status;
}
