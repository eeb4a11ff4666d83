/* cli/ask.c - `taml ask` and `taml tell` (search/ask.h): a study's trials
 * handed out to any training code, one per ask, and their accuracies told
 * back. The first ask of a study makes it from the settings `taml search`
 * takes (method, tasks, trials, space, seed, order); later asks and tells
 * need the study file only. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/settings.h"
#include "core/text.h"
#include "core/util.h"
#include "core/version.h"
#include "ctrl/controller.h"
#include "search/ask.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"

/* The ranges of `taml search`'s options (cli/search.c). */
#define TRIALS_MAX 1000000
#define LAG_MAX 1000000
/* Exit status of an ask with nothing to hand out now (docs/cli.md). */
#define EXIT_NOTHING 3

static const char *ask_usage =
    "usage: taml ask STUDY [--task NAME] [--json] [--requeue]\n"
    "       taml ask STUDY --method random|aml|multitask|transfer --task NAME [--task NAME ...]\n"
    "                --trials N [--space taml|paper|FILE.json] [--modules DIR] [--seed S]\n"
    "                [--from STUDY_OR_CHECKPOINT] [--deterministic [--lag L]]\n"
    "                [--ctrl-lr X] [--entropy-weight X] [--pruner median|asha\n"
    "                [--prune-eta E] [--prune-min S] [--prune-warmup W]]\n"
    "                [--explore-uniform P] [--explore-temperature T [--explore-trials K]]\n"
    "                [--json]\n"
    "  Hands out a trial of the study (marks it running) and prints one line:\n"
    "  ID TAB TASK TAB SEED TAB CONFIG (the config as JSON, decisions by name),\n"
    "  and in a study with a pruner TAB RUNGS: SAMPLES:THRESHOLD,... (measure the\n"
    "  validation accuracy after SAMPLES training samples; below THRESHOLD, stop\n"
    "  and tell it pruned; nan: no threshold yet). --json: one object {\"trial\",\n"
    "  \"task\", \"seed\", \"config\", \"rungs\": [{\"samples\", \"threshold\"}]}.\n"
    "  Train it, then `taml tell STUDY ID --valid X`. Several trials may be out\n"
    "  at once.\n"
    "  --task NAME   a trial of that task (without --method)\n"
    "  --requeue     first hand back every trial out and never told (as after a\n"
    "                crash): they are asked again, same config and seed\n"
    "  With --method the flags are the study's settings, as `taml search` takes\n"
    "  them (a task is a name, or a directory: its base name): the first ask\n"
    "  makes the study, later ones must give the same (a larger --trials extends\n"
    "  it). --deterministic: the same study as `taml search --deterministic` with\n"
    "  the same seed and lag (default 1). --pruner, --explore-*: as in `taml search`\n"
    "  (the space needs a 'samples' decision: the rungs are training samples).\n"
    "  Exit status 3: nothing to hand out now\n"
    "  (the study is complete, or every trial due is out).\n";

static const char *tell_usage =
    "usage: taml tell STUDY TRIAL --valid X [--test Y]\n"
    "                 [--state done|diverged|invalid|failed|pruned] [--error TEXT]\n"
    "                 [--rungs A0,A1,...]\n"
    "  Records the result of trial TRIAL (handed out by `taml ask`) and updates the\n"
    "  controller. X and Y are accuracies in [0, 1]; --state failed needs no\n"
    "  --valid (a failed trial has no reward; --error says why). A trial is told\n"
    "  once.\n"
    "  --rungs   a study with a pruner: the validation accuracies at the trial's\n"
    "            rungs, in order (those it reached; later trials' thresholds come\n"
    "            from them)\n"
    "  --state pruned  it stopped at its last --rungs value (its accuracy: no\n"
    "            --valid needed)\n";

enum {
    O_TASK = 256, O_JSON, O_REQUEUE, O_METHOD, O_TRIALS, O_SPACE, O_MODULES, O_SEED, O_FROM,
    O_DETERMINISTIC, O_LAG, O_CTRL_LR, O_ENTROPY, O_VALID, O_TEST, O_STATE, O_ERROR, O_RUNGS
};

static const struct option ask_options[] = {
    {"task", required_argument, NULL, O_TASK},
    {"json", no_argument, NULL, O_JSON},
    {"requeue", no_argument, NULL, O_REQUEUE},
    {"method", required_argument, NULL, O_METHOD},
    {"trials", required_argument, NULL, O_TRIALS},
    {"space", required_argument, NULL, O_SPACE},
    {"modules", required_argument, NULL, O_MODULES},
    {"seed", required_argument, NULL, O_SEED},
    {"from", required_argument, NULL, O_FROM},
    {"deterministic", no_argument, NULL, O_DETERMINISTIC},
    {"lag", required_argument, NULL, O_LAG},
    {"ctrl-lr", required_argument, NULL, O_CTRL_LR},
    {"entropy-weight", required_argument, NULL, O_ENTROPY},
    TAML_CLI_PRUNE_OPTIONS,
    TAML_CLI_EXPLORE_OPTIONS,
    TAML_ARGS_HELP,
    {0},
};

typedef struct ask_args {
    const char *study, *method, *space_path, *modules, *from;
    const char **tasks; /* (argc) */
    int n_tasks, json, requeue, prune_given;
    double ctrl_lr, ctrl_entropy; /* NaN: not given */
} ask_args;

static int parse_ask(int argc, char **argv, ask_args *aa, taml_search_opts *o, int *done)
{
    taml_args a;
    taml_args_init(&a, "ask", ask_usage, argc, argv, "", ask_options);
    int64_t v;
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        switch (c) {
        case TAML_ARGS_EXIT:
            *done = 1;
            return a.status;
        case TAML_ARGS_POSITIONAL:
            if (aa->study) return taml_args_stray(&a);
            aa->study = a.arg;
            break;
        case O_TASK: aa->tasks[aa->n_tasks++] = a.arg; break;
        case O_JSON: aa->json = 1; break;
        case O_REQUEUE: aa->requeue = 1; break;
        case O_METHOD: aa->method = a.arg; break;
        case O_SPACE: aa->space_path = a.arg; break;
        case O_MODULES: aa->modules = a.arg; break;
        case O_FROM: aa->from = a.arg; break;
        case O_DETERMINISTIC: o->deterministic = 1; break;
        case O_TRIALS:
            if (taml_args_int(&a, 1, TRIALS_MAX, &v)) return a.status;
            o->trials = (int32_t)v;
            break;
        case O_LAG:
            if (taml_args_int(&a, 1, LAG_MAX, &v)) return a.status;
            o->lag = (int32_t)v;
            break;
        case O_SEED:
            if (taml_args_u64(&a, &o->seed)) return a.status;
            o->seed_set = 1;
            break;
        case O_CTRL_LR:
            if (taml_args_real(&a, 0, 1, 1, 1, &aa->ctrl_lr)) return a.status;
            break;
        case O_ENTROPY:
            if (taml_args_real(&a, 0, 0, 10, 1, &aa->ctrl_entropy)) return a.status;
            break;
        default: /* --pruner, --prune-*, --explore-* */
            if (taml_cli_settings_flag(&a, c, o, &aa->prune_given)) return a.status;
            break;
        }
    }
    if (!aa->study) return taml_args_required(&a, "STUDY");
    int setting = o->trials || aa->space_path || aa->modules || aa->from || o->deterministic ||
                  o->seed_set || !isnan(aa->ctrl_lr) || !isnan(aa->ctrl_entropy) ||
                  o->prune.pruner != TAML_PRUNER_NONE || aa->prune_given || o->explore_set;
    if (!aa->method) {
        if (setting)
            return taml_args_error(&a, "the study's settings (--trials, --space, --seed, "
                                       "--pruner, ...) come with --method");
        if (aa->n_tasks > 1)
            return taml_args_error(&a, "one --task NAME without --method (with it: the study's tasks)");
        return 0;
    }
    if (aa->requeue) return taml_args_error(&a, "--requeue is for a study that exists (no --method)");
    if (aa->n_tasks == 0) return taml_args_required(&a, "--task");
    if (o->trials == 0) return taml_args_required(&a, "--trials");
    taml_cli_settings st = {aa->method, aa->from, aa->ctrl_lr, aa->ctrl_entropy, 0};
    int rc = taml_cli_settings_check(&a, &st, o);
    if (rc) return rc;
    return taml_cli_settings_flags_check(&a, o, aa->prune_given);
}

/* A task given as a directory is named by its base name. Heap. */
static char *task_name(const char *arg)
{
    char *copy = taml_strdup(arg);
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
    char *name = taml_strdup(basename(copy));
    free(copy);
    return name;
}

/* A rung threshold as text: %.17g, or "nan" (JSON: null). */
static void threshold_text(double v, int json, char *buf, size_t cap)
{
    if (isnan(v)) snprintf(buf, cap, "%s", json ? "null" : "nan");
    else snprintf(buf, cap, "%.17g", v);
}

static void print_asked(const taml_asked *t, int json)
{
    char v[40];
    if (!json) {
        printf("%" PRId64 "\t%s\t%" PRIu64 "\t%s", t->id, t->task_name, t->seed, t->config_json);
        for (int k = 0; k < t->n_rungs; k++) {
            threshold_text(t->rung_threshold[k], 0, v, sizeof v);
            printf("%c%" PRId64 ":%s", k ? ',' : '\t', t->rung_samples[k], v);
        }
        printf("\n");
        return;
    }
    cJSON *js = cJSON_CreateString(t->task_name);
    char *name = cJSON_PrintUnformatted(js);
    cJSON_Delete(js);
    printf("{\"trial\":%" PRId64 ",\"task\":%s,\"seed\":%" PRIu64 ",\"config\":%s", t->id, name,
           t->seed, t->config_json);
    if (t->n_rungs) {
        printf(",\"rungs\":[");
        for (int k = 0; k < t->n_rungs; k++) {
            threshold_text(t->rung_threshold[k], 1, v, sizeof v);
            printf("%s{\"samples\":%" PRId64 ",\"threshold\":%s}", k ? "," : "", t->rung_samples[k],
                   v);
        }
        printf("]");
    }
    printf("}\n");
    free(name);
}

int taml_cmd_ask(const taml_cli *cli, int argc, char **argv)
{
    ask_args aa = {.tasks = taml_calloc((size_t)argc, sizeof(char *)), .ctrl_lr = NAN,
                   .ctrl_entropy = NAN};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.trials = 0;
    o.seed_set = 0;
    int done = 0;
    taml_space *space = NULL;
    char **names = NULL, *module_dir = NULL;
    void *from_blob = NULL;
    taml_ctrl_opts ctrl_opts;
    taml_asked t = {0};
    taml_ask_setup setup = {0};
    const char *want = NULL;
    int got;
    taml_err err;
    taml_err_clear(&err);
    int rc = parse_ask(argc, argv, &aa, &o, &done);
    if (rc || done) goto out;
    rc = 1;
    if (aa.method) {
        module_dir = taml_cli_module_dir(cli, aa.modules);
        names = taml_calloc((size_t)aa.n_tasks, sizeof *names);
        for (int i = 0; i < aa.n_tasks; i++) names[i] = task_name(aa.tasks[i]);
        if (aa.from && taml_search_load_source(aa.from, &from_blob, &o.from_size, &err)) goto fail;
        if (taml_cli_study_space(module_dir, aa.space_path, aa.study, from_blob, o.from_size,
                                 aa.from, aa.n_tasks, aa.tasks, &space, &err))
            goto fail;
        o.from_blob = from_blob;
        o.from_path = aa.from;
        o.modules_dir = module_dir;
        o.taml_version = TAML_VERSION;
        taml_cli_settings st = {aa.method, aa.from, aa.ctrl_lr, aa.ctrl_entropy, 0};
        if (taml_cli_settings_ctrl(&st, from_blob, o.from_size, &ctrl_opts, &o, &err))
            goto fail;
        setup = (taml_ask_setup){.space = space, .n_tasks = aa.n_tasks,
                                 .task_names = (const char *const *)names,
                                 .task_dirs = aa.tasks, .opts = &o};
    }
    want = !aa.method && aa.n_tasks == 1 ? aa.tasks[0] : NULL;
    got = taml_search_ask(aa.study, aa.method ? &setup : NULL, want, aa.requeue, &t, &err);
    if (got == TAML_ENOTFOUND && taml_is_file(aa.study) && strstr(err.msg, "no study here") == NULL) {
        taml_cli_fail(&err);
        rc = EXIT_NOTHING;
        goto out;
    }
    if (got) goto fail;
    print_asked(&t, aa.json);
    rc = 0;
    goto out;
fail:
    rc = taml_cli_fail(&err);
out:
    taml_asked_deinit(&t);
    for (int i = 0; names && i < aa.n_tasks; i++) free(names[i]);
    free(names);
    free(from_blob);
    free(module_dir);
    taml_space_free(space);
    free(aa.tasks);
    return rc;
}

static const struct option tell_options[] = {
    {"valid", required_argument, NULL, O_VALID},
    {"test", required_argument, NULL, O_TEST},
    {"state", required_argument, NULL, O_STATE},
    {"error", required_argument, NULL, O_ERROR},
    {"rungs", required_argument, NULL, O_RUNGS},
    TAML_ARGS_HELP,
    {0},
};

/* --rungs A0,A1,...: accuracies in [0, 1], at most TAML_JOB_RUNGS. */
static int parse_rungs(taml_args *a, double *out, int32_t *n)
{
    const char *p = a->arg;
    *n = 0;
    for (;;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0 && v <= 1) || (*end != ',' && *end != '\0'))
            return taml_args_error(a, "--rungs: value %d of '%s' is not an accuracy in [0, 1]",
                                   (int)*n + 1, a->arg);
        if (*n == TAML_JOB_RUNGS)
            return taml_args_error(a, "--rungs: more than %d values", TAML_JOB_RUNGS);
        out[(*n)++] = v;
        if (*end == '\0') return 0;
        p = end + 1;
    }
}

int taml_cmd_tell(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    taml_args a;
    taml_args_init(&a, "tell", tell_usage, argc, argv, "", tell_options);
    const char *study = NULL;
    int64_t id = 0;
    taml_told told = {.state = TAML_TRIAL_DONE, .valid = NAN, .test = NAN};
    double rungs[TAML_JOB_RUNGS];
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        switch (c) {
        case TAML_ARGS_EXIT:
            return a.status;
        case TAML_ARGS_POSITIONAL:
            if (!study) {
                study = a.arg;
            } else if (!id) {
                snprintf(a.flag, sizeof a.flag, "TRIAL");
                if (taml_args_int(&a, 1, INT64_MAX, &id)) return a.status;
            } else {
                return taml_args_stray(&a);
            }
            break;
        case O_VALID:
            if (taml_args_real(&a, 0, 0, 1, 0, &told.valid)) return a.status;
            break;
        case O_TEST:
            if (taml_args_real(&a, 0, 0, 1, 0, &told.test)) return a.status;
            break;
        case O_STATE: {
            int st = taml_trial_state_parse(a.arg);
            if (st < 0 || !taml_trial_state_final((taml_trial_state)st))
                return taml_args_error(&a,
                                       "--state: '%s' is not done, diverged, invalid, failed or "
                                       "pruned",
                                       a.arg);
            told.state = (taml_trial_state)st;
            break;
        }
        case O_ERROR:
            told.error = a.arg;
            break;
        case O_RUNGS:
            if (parse_rungs(&a, rungs, &told.n_rungs)) return a.status;
            told.rung_acc = rungs;
            break;
        }
    }
    if (!study) return taml_args_required(&a, "STUDY");
    if (!id) return taml_args_required(&a, "TRIAL");
    if (told.state == TAML_TRIAL_PRUNED && told.n_rungs == 0)
        return taml_args_required(&a, "--rungs (a pruned trial stopped at its last rung)");
    if (told.state != TAML_TRIAL_FAILED && told.state != TAML_TRIAL_PRUNED && isnan(told.valid))
        return taml_args_required(&a, "--valid");
    if (told.error && told.state != TAML_TRIAL_FAILED)
        return taml_args_error(&a, "--error is for --state failed");
    taml_err err;
    taml_err_clear(&err);
    if (taml_search_tell(study, id, &told, &err)) return taml_cli_fail(&err);
    return 0;
}
