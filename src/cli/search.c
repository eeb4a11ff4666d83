/* cli/search.c - `taml search`: parses the command line, builds the search
 * space and the child (the real child runner of search/child.h, or the
 * hooks' test double in taml-fake), and runs a study (src/search) with a
 * progress line on a terminal or one log line per trial otherwise. Ctrl-C
 * stops the search cleanly (running the same command continues it). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/search_mpi.h"
#include "cli/settings.h"
#include "core/text.h"
#include "core/util.h"
#include "core/version.h"
#include "ctrl/controller.h"
#include "exec/proc.h"
#include "nn/blas.h"
#include "search/child.h"
#include "search/ctrlfile.h"
#include "search/ensemble.h"
#include "search/objective.h"
#include "search/search.h"
#include "data/task.h"
#include "embed/module.h"
#include "space/space.h"
#include "store/store.h"

/* The ranges of the numeric options. Trials: per task (a study of T tasks
 * holds T times as many); workers: what taml_search_run accepts;
 * lag: as many trials as a task may have. */
#define TRIALS_MAX 1000000
#define WORKERS_MAX 4096
#define LAG_MAX 1000000
/* Retries: a few are for a worker killed from outside (the OOM killer); a
 * child that crashes every time needs none. Timeout: up to about 11 days.
 * Memory: up to 4 TiB, in MiB. */
#define RETRIES_MAX 100
#define TIMEOUT_MAX 1e6
#define MEMORY_MAX 4194304

static const char *usage_text =
    "usage: taml search --study FILE.db --task DIR [--task DIR ...]\n"
    "                   --method random|aml|multitask|transfer --trials N\n"
    "                   [--workers K] [--seed S] [--from STUDY_OR_CHECKPOINT]\n"
    "                   [--space taml|paper|FILE.json] [--modules DIR]\n"
    "                   [--deterministic [--lag L]] [--ctrl-lr X] [--entropy-weight X]\n"
    "                   [--isolation process|thread]\n"
    "                   [--trial-retries N] [--trial-timeout SECONDS] [--trial-memory MB]\n"
    "                   [--ensemble K [--selection top|greedy] [--candidates M]]\n"
    "                   [--objective CMD] [--explore-uniform P]\n"
    "                   [--explore-temperature T [--explore-trials K]]\n"
    "                   [--pruner none|median|asha [--prune-eta E] [--prune-min S]\n"
    "                   [--prune-warmup W]]\n"
    "  --trials N      trials per task, 1..1000000 (the study ends with N x tasks trials)\n"
    "  --workers K     children trained at once, 1..4096 (default: the cores)\n"
    "  --seed S        study seed (default 1); trial i's child seed derives from (S, i)\n"
    "  --from X        transfer: a multitask study, a controller file (.tamlctrl) or a\n"
    "                  checkpoint; without it, the controller taml ships for the tasks'\n"
    "                  kind (`taml controller default`), over the default space of\n"
    "                  --modules; a source made for another space is carried over to\n"
    "                  this one (choices and decisions matched by name; stderr says what\n"
    "                  grew, taml status shows it)\n"
    "  --space S       the search space: taml (the default for a new study: the paper's\n"
    "                  12 decisions and the text features beyond it, docs/child-model.md),\n"
    "                  paper (the paper's 12 exactly), or a JSON file; the built-in spaces\n"
    "                  choose among the modules of --modules. Without --space an existing\n"
    "                  study continues with the space it recorded, and a new transfer\n"
    "                  study searches the space of the controller it starts from\n"
    "  --modules DIR   the embedding-module library (default $TAML_MODULES or data/modules)\n"
    "  --deterministic apply updates in trial order: the result depends on the seed\n"
    "                  and the lag only (lag L in 1..1000000, default K), not on the\n"
    "                  workers' timing\n"
    "  --ctrl-lr X     the controller's Adam step size (default 1e-3; in (0, 1))\n"
    "  --entropy-weight X  its entropy bonus (default 0.03; in [0, 10)); both are kept\n"
    "                  by the study (and by a transfer from it unless given again)\n"
    "  --isolation process|thread  children in worker processes (default: a crash, a\n"
    "                  hang or running out of memory fails one trial, not the search)\n"
    "                  or in threads of the search process\n"
    "  --trial-retries N  runs again a trial whose worker process died, up to N times\n"
    "                  (0..100, default 2), then records it as failed\n"
    "  --trial-timeout SECONDS  kills a trial running longer (in (0, 1e6]) and records\n"
    "                  it as failed (\"timed out\"); default: no limit\n"
    "  --trial-memory MB  each worker process's memory (its data, MiB, 1..4194304); an\n"
    "                  allocation past it fails that trial; default: no limit\n"
    "  --ensemble K    when the study is complete, build each task's ensemble of K\n"
    "                  trials (1..1000; default 0: none) on --workers threads, record its\n"
    "                  accuracies for `taml status` (as `taml export --ensemble K\n"
    "                  --record`, which also writes its model); --selection and\n"
    "                  --candidates as there\n"
    "  --pruner P      stop a child early at a rung (min x eta^k training samples)\n"
    "                  when its validation accuracy there is below the pruner's\n"
    "                  threshold from earlier trials: none (default), median (the\n"
    "                  median of finished trials there), asha (successive halving:\n"
    "                  the top 1/eta); kept by the study (docs/cli.md \"Pruning\")\n"
    "  --prune-eta E   the reduction factor, 2..100 (default 3)\n"
    "  --prune-min S   rung 0's training samples, 100..1e9 (default 1000)\n"
    "  --prune-warmup W  a rung decides once W trials reached it (default 5)\n"
    "  --objective CMD each trial runs /bin/sh -c CMD (needs --space): the config JSON\n"
    "                  on stdin, TAML_TRIAL, TAML_SEED, TAML_TASK (a --task as given: any\n"
    "                  name) in its environment; it prints {\"valid\": V, \"test\": T} as\n"
    "                  its last line; anything else is a failed trial (docs/cli.md)\n"
    "  --explore-uniform P  each trial is, with probability P in [0, 1], drawn\n"
    "                  uniformly (as random search draws it) and its reward still trains\n"
    "                  the controller: a candidate remedy against a transfer locking onto\n"
    "                  its prior (not measured yet); kept by the study\n"
    "  --explore-temperature T  trial i is drawn from the policy at temperature\n"
    "                  1 + (T - 1) x max(0, 1 - (i - 1) / K) (T in (0, 100]; K =\n"
    "                  --explore-trials, 1..1000000, default 100): another candidate\n"
    "                  remedy, not measured; kept by the study\n"
    "Running the same command again continues the study.\n";

static volatile int stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

struct view {
    int tty;
    int line_shown;
};

static void print_log(void *user, const char *line)
{
    struct view *v = user;
    if (v->tty && v->line_shown) fputs("\r\033[K", stderr);
    fprintf(stderr, "%s\n", line);
    v->line_shown = 0;
}

static void fmt_duration(char *buf, size_t cap, double s)
{
    if (!isfinite(s))
        snprintf(buf, cap, "?");
    else if (s < 60)
        snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, cap, "%.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
}

static void print_progress(void *user, const taml_search_progress *p)
{
    struct view *v = user;
    if (!v->tty) return; /* the log lines say it all */
    char eta[32], line[512];
    fmt_duration(eta, sizeof eta, p->eta);
    int n = snprintf(line, sizeof line, "[%lld/%lld] %d running, %.1f/min, %s left, best:",
                     (long long)p->done, (long long)p->total, (int)p->running, p->per_minute, eta);
    for (int32_t k = 0; k < p->n_tasks && n < (int)sizeof line - 40; k++)
        n += snprintf(line + n, sizeof line - (size_t)n, isfinite(p->best_valid[k]) ? " %s %.3f" : " %s -",
                      p->task_names[k], p->best_valid[k]);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    v->line_shown = 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The module names of the library directory (files NAME.tamlm) of the
 * given kind (embed/module.h; told by each file's header, taml_module_stamp),
 * sorted. Text: at least one, else an error. Image: "pixels" first, then the
 * image modules; a library missing, or without image modules, leaves
 * "pixels" alone (said on stderr), since it needs no file. */
static int list_modules(const char *dir, int kind, char ***out, int *n, taml_err *err)
{
    *out = NULL;
    *n = 0;
    int cap = 0, first = 0;
    if (kind == TAML_MODULE_IMAGE) {
        *out = taml_realloc(*out, (size_t)(cap = 16) * sizeof(char *));
        (*out)[(*n)++] = taml_strdup("pixels");
        first = 1;
    }
    DIR *d = opendir(dir);
    if (!d && kind == TAML_MODULE_IMAGE) {
        fprintf(stderr,
                "taml search: no module library at %s (%s): the embedding decision is pixels "
                "alone (`taml embed build-defaults` builds the image modules)\n",
                dir, strerror(errno));
        return TAML_OK;
    }
    if (!d) {
        int rc = taml_err_set(err, TAML_ENOTFOUND,
                              "no embedding-module library at %s (%s): give --modules DIR, build "
                              "it with `taml embed build-defaults`, or give --space FILE.json",
                              dir, strerror(errno));
        return rc;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 6 || strcmp(e->d_name + len - 6, ".tamlm") != 0) continue;
        char *path = taml_path_join(dir, e->d_name);
        taml_module_stamp st;
        taml_err ignored;
        /* a file that is no module is left out here; naming it in a space
         * gets open's message */
        int ok = taml_module_stamp_get(&st, path, NULL, &ignored) == 1 && st.kind == kind;
        taml_module_stamp_deinit(&st);
        free(path);
        if (!ok) continue;
        if (*n == cap) *out = taml_realloc(*out, (size_t)(cap = cap ? 2 * cap : 16) * sizeof(char *));
        (*out)[(*n)++] = taml_asprintf("%.*s", (int)(len - 6), e->d_name);
    }
    closedir(d);
    int rc = TAML_OK;
    if (*n == 0)
        rc = taml_err_set(err, TAML_ENOTFOUND,
                          "no text embedding modules (*.tamlm) in %s: build the library with "
                          "`taml embed build-defaults`, or give --space FILE.json",
                          dir);
    else if (*n == first)
        fprintf(stderr,
                "taml search: no image modules in %s: the embedding decision is pixels alone "
                "(`taml embed build-defaults` builds them)\n",
                dir);
    else
        qsort(*out + first, (size_t)(*n - first), sizeof(char *), by_name);
    return rc;
}

/* The kind of module the tasks' default space holds: text for text tasks,
 * image for image tasks; a study of both kinds has no default space (a
 * module of one kind cannot read the other's tasks) and is refused, naming
 * the tasks of each kind. A directory with no task files counts as neither
 * (loading it says what is wrong). */
static int tasks_module_kind(int n, const char *const *dirs, int *kind, taml_err *err)
{
    int n_text = 0, n_image = 0;
    for (int i = 0; i < n; i++) {
        int k = taml_task_dir_kind(dirs[i]);
        n_text += k == TAML_TASK_TEXT;
        n_image += k == TAML_TASK_IMAGE;
    }
    *kind = n_image && !n_text ? TAML_MODULE_IMAGE : TAML_MODULE_TEXT;
    if (!n_text || !n_image) return TAML_OK;
    char text[512] = "", image[512] = "";
    for (int i = 0; i < n; i++) {
        int k = taml_task_dir_kind(dirs[i]);
        char *list = k == TAML_TASK_TEXT ? text : k == TAML_TASK_IMAGE ? image : NULL;
        if (!list) continue;
        size_t at = strlen(list);
        if (at < 400) snprintf(list + at, 512 - at, "%s%s", at ? ", " : "", dirs[i]);
        else if (!strstr(list, "...")) snprintf(list + at, 512 - at, ", ...");
    }
    return taml_err_set(err, TAML_EINVAL,
                        "the tasks are of two kinds: text (%s) and image (%s); the default "
                        "space's modules read one kind (text modules, or pixels and image "
                        "modules): search each kind in a study of its own, or give --space "
                        "FILE.json",
                        text, image);
}

int taml_cli_default_space(const char *module_dir, const char *name, int n_tasks,
                           const char *const *task_dirs, taml_space **space, taml_err *err)
{
    int kind;
    char **mods = NULL;
    int n = 0;
    int rc = tasks_module_kind(n_tasks, task_dirs, &kind, err);
    if (!rc) rc = list_modules(module_dir, kind, &mods, &n, err);
    if (!rc && kind == TAML_MODULE_IMAGE)
        rc = taml_space_new_image_default(space, (const char *const *)mods, n, err);
    else if (!rc)
        rc = taml_space_new_named(space, name, (const char *const *)mods, n, err);
    for (int i = 0; i < n; i++) free(mods[i]);
    free(mods);
    return rc;
}

/* The controller file taml ships for the tasks' kind (search/ctrlfile.h),
 * said on stderr, or NULL with err saying there is none and what to do. */
static char *shipped_controller(const taml_cli *cli, int n_tasks, const char *const *task_dirs,
                                taml_err *err)
{
    int kind;
    if (tasks_module_kind(n_tasks, task_dirs, &kind, err)) return NULL;
    const char *name = kind == TAML_MODULE_IMAGE ? "image" : "text";
    char *home = taml_cli_home(cli), *path;
    int there = taml_search_ctrlfile_default(home, name, &path);
    free(home);
    if (there) {
        fprintf(stderr,
                "taml search: transfer from the controller taml ships for %s tasks, %s "
                "(`taml controller info %s` shows how it was made); --from chooses another\n",
                name, path, path);
        return path;
    }
    taml_err_set(err, TAML_ENOTFOUND,
                 "--method transfer without --from starts from the controller taml ships for "
                 "%s tasks, and there is none at %s: give --from STUDY_OR_CONTROLLER (a "
                 "multitask study, a controller file or a checkpoint), or build the shipped "
                 "one (`make controller`; docs/cli.md, \"Controller files and the shipped controller\")",
                 name, path);
    free(path);
    return NULL;
}

/* The space an existing study recorded into *out: 1 when path holds a study,
 * 0 when it holds none (a new study), or a negative status. */
static int recorded_space(const char *path, taml_space **out, taml_err *err)
{
    *out = NULL;
    if (!taml_is_file(path)) return 0;
    taml_store *s;
    int rc = taml_store_open(&s, path, TAML_STORE_READONLY, err);
    if (rc) return rc;
    taml_study st;
    memset(&st, 0, sizeof st);
    if (taml_store_has_study(s) && !(rc = taml_store_study(s, &st, err))) {
        rc = taml_space_from_json(out, st.space_json, "the study's space", err);
        if (rc == 0) rc = 1;
    }
    taml_study_deinit(&st);
    taml_store_close(s);
    return rc;
}

int taml_cli_study_space(const char *module_dir, const char *flag, const char *study,
                         const void *from_blob, size_t from_size, const char *from_path,
                         int n_tasks, const char *const *task_dirs, taml_space **space,
                         taml_err *err)
{
    *space = NULL;
    if (flag && strcmp(flag, "taml") && strcmp(flag, "paper")) return taml_space_load(space, flag, err);
    int recorded = !flag ? recorded_space(study, space, err) : 0;
    if (recorded < 0) return recorded;
    if (recorded) return TAML_OK;
    if (!flag && from_blob) /* a new transfer study searches its controller's space */
        return taml_ctrl_checkpoint_space(space, from_blob, from_size, from_path, err);
    return taml_cli_default_space(module_dir, flag ? flag : "taml", n_tasks, task_dirs, space, err);
}

/* Prints, per task, the trials and the best one by validation accuracy. */
static int print_summary(const char *study, taml_err *err)
{
    taml_store *s;
    int rc = taml_store_open(&s, study, TAML_STORE_READONLY, err);
    if (rc) return rc;
    taml_study st;
    if ((rc = taml_store_study(s, &st, err))) {
        taml_store_close(s);
        return rc;
    }
    int64_t *n = taml_calloc((size_t)st.n_tasks, sizeof *n), *best = taml_calloc((size_t)st.n_tasks, sizeof *best);
    double *bv = taml_malloc((size_t)st.n_tasks * sizeof *bv), *bt = taml_malloc((size_t)st.n_tasks * sizeof *bt);
    for (int32_t k = 0; k < st.n_tasks; k++) bv[k] = bt[k] = NAN;
    taml_store_iter *it;
    if (!(rc = taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, err))) {
        taml_trial t;
        while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
            if (!taml_trial_state_final(t.state)) continue;
            n[t.task]++;
            if (isfinite(t.valid_acc) && !(bv[t.task] >= t.valid_acc)) {
                bv[t.task] = t.valid_acc;
                bt[t.task] = t.test_acc;
                best[t.task] = t.id;
            }
        }
        taml_store_iter_free(it);
    }
    if (rc >= 0) {
        rc = TAML_OK;
        printf("%s: %s search, seed %" PRIu64 "\n", study, st.method, st.seed);
        for (int32_t k = 0; k < st.n_tasks; k++) {
            if (best[k])
                printf("  %-28s %5lld %-6s  best valid %.4f  test %.4f  (trial %lld)\n",
                       st.task_names[k], (long long)n[k], taml_text_plural(n[k], "trial", "trials"),
                       bv[k], bt[k], (long long)best[k]);
            else
                printf("  %-28s %5lld %-6s  no finished trial with an accuracy\n",
                       st.task_names[k], (long long)n[k], taml_text_plural(n[k], "trial", "trials"));
        }
    }
    free(n);
    free(best);
    free(bv);
    free(bt);
    taml_study_deinit(&st);
    taml_store_close(s);
    return rc;
}

enum {
    O_STUDY = 256, O_TASK, O_METHOD, O_TRIALS, O_WORKERS, O_SEED, O_FROM, O_SPACE, O_MODULES,
    O_DETERMINISTIC, O_LAG, O_CTRL_LR, O_ENTROPY, O_ISOLATION, O_RETRIES, O_TIMEOUT, O_MEMORY,
    O_ENSEMBLE, O_SELECTION, O_CANDIDATES,
    O_OBJECTIVE
};

static const struct option options[] = {
    {"study", required_argument, NULL, O_STUDY},
    {"task", required_argument, NULL, O_TASK},
    {"method", required_argument, NULL, O_METHOD},
    {"trials", required_argument, NULL, O_TRIALS},
    {"workers", required_argument, NULL, O_WORKERS},
    {"seed", required_argument, NULL, O_SEED},
    {"from", required_argument, NULL, O_FROM},
    {"space", required_argument, NULL, O_SPACE},
    {"modules", required_argument, NULL, O_MODULES},
    {"deterministic", no_argument, NULL, O_DETERMINISTIC},
    {"lag", required_argument, NULL, O_LAG},
    {"ctrl-lr", required_argument, NULL, O_CTRL_LR},
    {"entropy-weight", required_argument, NULL, O_ENTROPY},
    {"isolation", required_argument, NULL, O_ISOLATION},
    {"trial-retries", required_argument, NULL, O_RETRIES},
    {"trial-timeout", required_argument, NULL, O_TIMEOUT},
    {"trial-memory", required_argument, NULL, O_MEMORY},
    {"ensemble", required_argument, NULL, O_ENSEMBLE},
    {"selection", required_argument, NULL, O_SELECTION},
    {"candidates", required_argument, NULL, O_CANDIDATES},
    {"objective", required_argument, NULL, O_OBJECTIVE},
    TAML_CLI_EXPLORE_OPTIONS,
    TAML_CLI_PRUNE_OPTIONS,
    TAML_ARGS_HELP,
    {0},
};

/* The command line of `taml search`. */
typedef struct search_args {
    const char *study, *method, *from, *space_path, *modules, *objective;
    const char **task_dirs; /* (argc) */
    int n_tasks;
    double ctrl_lr, ctrl_entropy; /* given on the command line, else NaN */
    int threads;                  /* --isolation thread */
    taml_proc_opts proc;          /* the worker processes' limits (workers: o->workers) */
    const char *limit_flag;       /* the first --trial-* flag given, for the thread refusal */
    taml_ensemble_opts ensemble;  /* size 0: none */
    int selection_given;
    int prune_given; /* a --prune-* flag */
} search_args;

/* Parses argv into *sa and o; 0, or the exit status (help: 0 with *done). */
static int parse_args(int argc, char **argv, search_args *sa, taml_search_opts *o, int *done)
{
    taml_args a;
    taml_args_init(&a, "search", usage_text, argc, argv, "", options);
    int64_t v;
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        switch (c) {
        case TAML_ARGS_EXIT:
            *done = 1;
            return a.status;
        case TAML_ARGS_POSITIONAL:
            return taml_args_stray(&a);
        case O_STUDY:
            sa->study = a.arg;
            break;
        case O_TASK:
            sa->task_dirs[sa->n_tasks++] = a.arg;
            break;
        case O_METHOD:
            sa->method = a.arg;
            break;
        case O_FROM:
            sa->from = a.arg;
            break;
        case O_SPACE:
            sa->space_path = a.arg;
            break;
        case O_MODULES:
            sa->modules = a.arg;
            break;
        case O_OBJECTIVE:
            sa->objective = a.arg;
            break;
        case O_DETERMINISTIC:
            o->deterministic = 1;
            break;
        case O_TRIALS:
            if (taml_args_int(&a, 1, TRIALS_MAX, &v)) return a.status;
            o->trials = (int32_t)v;
            break;
        case O_WORKERS:
            if (taml_args_int(&a, 1, WORKERS_MAX, &v)) return a.status;
            o->workers = (int32_t)v;
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
            if (taml_args_real(&a, 0, 1, 1, 1, &sa->ctrl_lr)) return a.status;
            break;
        case O_ENTROPY:
            if (taml_args_real(&a, 0, 0, 10, 1, &sa->ctrl_entropy)) return a.status;
            break;
        case O_ISOLATION:
            if (strcmp(a.arg, "process") && strcmp(a.arg, "thread"))
                return taml_args_error(&a, "--isolation: '%s' is not process or thread", a.arg);
            sa->threads = !strcmp(a.arg, "thread");
            break;
        case O_RETRIES:
            if (taml_args_int(&a, 0, RETRIES_MAX, &v)) return a.status;
            o->retries = (int32_t)v;
            if (!sa->limit_flag) sa->limit_flag = "--trial-retries";
            break;
        case O_TIMEOUT:
            if (taml_args_real(&a, 0, 1, TIMEOUT_MAX, 0, &sa->proc.timeout)) return a.status;
            if (!sa->limit_flag) sa->limit_flag = "--trial-timeout";
            break;
        case O_MEMORY:
            if (taml_args_int(&a, 1, MEMORY_MAX, &v)) return a.status;
            sa->proc.memory_mb = v;
            if (!sa->limit_flag) sa->limit_flag = "--trial-memory";
            break;
        case O_ENSEMBLE:
            if (taml_args_int(&a, 0, TAML_ENSEMBLE_MAX, &v)) return a.status;
            sa->ensemble.size = (int32_t)v;
            break;
        case O_CANDIDATES:
            if (taml_args_int(&a, 1, TAML_ENSEMBLE_MAX, &v)) return a.status;
            sa->ensemble.candidates = (int32_t)v;
            sa->selection_given = 1;
            break;
        case O_SELECTION:
            if ((v = taml_ensemble_selection_parse(a.arg)) < 0)
                return taml_args_error(&a, "--selection: '%s' is not top or greedy", a.arg);
            sa->ensemble.selection = (taml_ensemble_selection)v;
            sa->selection_given = 1;
            break;
        default: /* --pruner, --prune-*, --explore-* */
            if (taml_cli_settings_flag(&a, c, o, &sa->prune_given)) return a.status;
            break;
        }
    }
    if (!sa->study) return taml_args_required(&a, "--study");
    if (sa->n_tasks == 0) return taml_args_required(&a, "--task");
    if (!sa->method) return taml_args_required(&a, "--method");
    if (o->trials == 0) return taml_args_required(&a, "--trials");
    taml_cli_settings st = {sa->method, sa->from, sa->ctrl_lr, sa->ctrl_entropy, 1};
    int rc = taml_cli_settings_check(&a, &st, o);
    if (rc) return rc;
    if (taml_cli_settings_flags_check(&a, o, sa->prune_given)) return a.status;
    if (sa->objective && !sa->space_path)
        return taml_args_error(&a, "--objective needs --space FILE.json (the default space is the "
                                   "built-in child's)");
    if (sa->objective && o->prune.pruner != TAML_PRUNER_NONE)
        return taml_args_error(&a, "--pruner stops the built-in child at its rungs; an --objective "
                                   "command reports only its end");
    if (sa->objective && sa->ensemble.size)
        return taml_args_error(&a, "--ensemble retrains the built-in child's models; with "
                                   "--objective there are none");
    if (sa->threads && sa->limit_flag)
        return taml_args_error(&a,
                               "%s needs --isolation process: a thread cannot be killed, limited "
                               "or replaced alone (a child that crashes takes the search with it)",
                               sa->limit_flag);
    const taml_ensemble_opts *e = &sa->ensemble;
    if (sa->selection_given && !e->size)
        return taml_args_error(&a, "--selection and --candidates are for --ensemble K");
    if (e->candidates && e->selection != TAML_ENSEMBLE_GREEDY)
        return taml_args_error(&a, "--candidates is for --selection greedy");
    if (e->candidates && e->candidates < e->size)
        return taml_args_error(&a, "--candidates: %d is fewer than the %d members of --ensemble",
                               (int)e->candidates, (int)e->size);
    return 0;
}

/* After a complete study: each task's ensemble, built and recorded. A task
 * that fails is reported and the others go on; returns 1 if any failed. */
static int build_ensembles(const char *study, const char *const *names, int32_t n_tasks,
                           taml_ensemble_opts *eo, const char *module_dir, int32_t workers)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* under mpirun the workers are other ranks': retrain on this one's cores */
    eo->workers = cores >= 1 && cores < workers ? (int32_t)cores : workers;
    eo->module_dir = module_dir;
    int failed = 0;
    for (int32_t k = 0; k < n_tasks; k++) {
        taml_err err;
        taml_err_clear(&err);
        taml_ensemble_result r;
        int rc = taml_ensemble_build(study, names[k], eo, NULL, &r, &err);
        if (!rc) rc = taml_ensemble_save(study, &r, &err);
        if (rc) {
            taml_err_prefix(&err, "the ensemble of task %s", names[k]);
            taml_cli_fail(&err);
            failed = 1;
            continue;
        }
        taml_cli_ensemble_print(names[k], &r);
        taml_ensemble_result_deinit(&r);
    }
    return failed;
}

/* The child the search trains: the real one, or the hooks' (tests). */
typedef struct search_child {
    const taml_cli_child *hook; /* NULL: the real child */
    taml_child_runner *runner;
    taml_objective *objective; /* --objective */
    void *hook_ctx;
    const char *const *names;
    taml_cli_features_view features; /* the image features' progress lines */
} search_child;

static int child_open(search_child *c, const taml_cli *cli, int32_t n_tasks,
                      const char *const *task_dirs, const char *module_dir,
                      const taml_space *space, const char *space_path, taml_search_opts *o,
                      const char *sa_objective_cmd, double objective_timeout, taml_err *err)
{
    c->hook = cli->hooks->search_child;
    int rc;
    if (sa_objective_cmd) { /* an outside command is the trial (search/objective.h) */
        if ((rc = taml_objective_new(&c->objective, sa_objective_cmd, n_tasks, task_dirs,
                                     objective_timeout, err)))
            return rc;
        c->names = taml_objective_names(c->objective);
        o->child = taml_objective_job;
        o->child_ctx = c->objective;
        return TAML_OK;
    }
    if (c->hook) {
        if ((rc = c->hook->open(&c->hook_ctx, n_tasks, task_dirs, &c->names, err))) return rc;
        o->child = c->hook->run;
        o->child_ctx = c->hook_ctx;
        return TAML_OK;
    }
    if ((rc = taml_child_runner_new(&c->runner, n_tasks, task_dirs, module_dir, err))) return rc;
    taml_image_features_opts io = {.progress = taml_cli_features_progress, .user = &c->features};
    taml_child_runner_set_image_opts(c->runner, &io);
    if ((rc = taml_child_runner_check_space(c->runner, space,
                                            space_path ? space_path : "the default space", err)))
        return rc;
    c->names = taml_child_runner_names(c->runner);
    o->task_identity = taml_child_runner_identities(c->runner);
    o->child = taml_child_runner_job;
    o->child_ctx = c->runner;
    return TAML_OK;
}

static void child_close(search_child *c)
{
    if (c->hook && c->hook_ctx) c->hook->close(c->hook_ctx);
    taml_child_runner_free(c->runner);
    taml_objective_free(c->objective);
}

int taml_cmd_search(const taml_cli *cli, int argc, char **argv)
{
    search_args sa = {.task_dirs = taml_calloc((size_t)argc, sizeof(char *)),
                      .ctrl_lr = NAN,
                      .ctrl_entropy = NAN};
    taml_ensemble_opts_default(&sa.ensemble);
    taml_search_opts o;
    taml_search_opts_default(&o);
    taml_ctrl_opts ctrl_opts;
    taml_cli_settings st;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.workers = cores < 1 ? 1 : cores > WORKERS_MAX ? WORKERS_MAX : (int32_t)cores;
    o.trials = 0;
    int served = 0, done = 0; /* all before the first goto out */
    taml_space *space = NULL;
    search_child child = {0};
    taml_mpi *mpi = NULL;
    taml_pool *local = NULL; /* the worker processes of this machine */
    void *from_blob = NULL;
    char *module_dir = NULL, *shipped = NULL;
    struct view view = {.tty = isatty(2)};
    int rc = parse_args(argc, argv, &sa, &o, &done);
    if (rc || done) goto out;
    module_dir = taml_cli_module_dir(cli, sa.modules);
    taml_err err;
    taml_err_clear(&err);
    rc = 1;
    /* a new transfer study without --from starts from the controller taml
     * ships for the tasks' kind (a study that exists needs no source), over
     * the tasks' default space, grown from the controller's own */
    if (o.method == TAML_SEARCH_TRANSFER && !sa.from) {
        taml_space *had = NULL;
        int exists = recorded_space(sa.study, &had, &err);
        taml_space_free(had);
        if (exists < 0) goto fail;
        if (!exists && (shipped = shipped_controller(cli, sa.n_tasks,
                                                     (const char *const *)sa.task_dirs, &err)) == NULL)
            goto fail;
    }
    if (shipped) sa.from = shipped;
    if (sa.from && taml_search_load_source(sa.from, &from_blob, &o.from_size, &err)) goto fail;
    o.from_blob = from_blob;
    if (taml_cli_study_space(module_dir, sa.space_path, sa.study, shipped ? NULL : from_blob,
                             o.from_size, sa.from, sa.n_tasks, (const char *const *)sa.task_dirs,
                             &space, &err))
        goto fail;
    o.from_path = sa.from;
    o.modules_dir = module_dir;
    st = (taml_cli_settings){sa.method, sa.from, sa.ctrl_lr, sa.ctrl_entropy, 1};
    if (taml_cli_settings_ctrl(&st, from_blob, o.from_size, &ctrl_opts, &o, &err)) goto fail;
    taml_blas_init(&cli->env.blas); /* before any thread: it sets environment variables */
    if (child_open(&child, cli, sa.n_tasks, sa.task_dirs, module_dir, space, sa.space_path, &o,
                   sa.objective, sa.proc.timeout, &err))
        goto fail;
    if (sa.ensemble.size && child.hook) {
        taml_err_set(&err, TAML_EINVAL, "--ensemble retrains the real child, and this search's "
                                        "child is a test double");
        goto fail;
    }
    /* an objective keeps its own time limit (it kills the command's process
     * group and says so); the worker's, a second later, is the backstop */
    if (sa.objective && sa.proc.timeout > 0) sa.proc.timeout += 1;
    o.taml_version = TAML_VERSION;
    o.log = print_log;
    o.progress = print_progress;
    o.user = &view;
    o.stop = &stop_flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* Worker processes: forked now, before MPI (which starts threads) and
     * before the study and its lock are opened (exec/proc.h says why). */
    sa.proc.workers = o.workers;
    if (!sa.threads && taml_proc_pool_new(&local, &sa.proc, o.child, o.child_ctx, &err)) goto fail;
    /* under mpirun: rank 0 searches on the other ranks' workers, which serve here */
    served = taml_cli_search_mpi(&mpi, cli->env.mpi_launch_size, &o, sa.n_tasks, child.names,
                                 local, &err);
    if (served < 0) goto fail;
    if (served) {
        rc = 0;
        goto done;
    }
    if (!o.pool) { /* one machine */
        o.pool = local;
        local = NULL;
    } else { /* rank 0: the worker ranks run the children (only the server was started) */
        taml_pool_free(local);
        local = NULL;
    }
    if (taml_search_run(sa.study, space, sa.n_tasks, child.names, sa.task_dirs, &o, &err))
        goto fail;
    if (view.tty && view.line_shown) fputc('\n', stderr);
    if (print_summary(sa.study, &err)) goto fail;
    rc = stop_flag ? 130 : 0;
    if (!stop_flag && sa.ensemble.size &&
        build_ensembles(sa.study, child.names, sa.n_tasks, &sa.ensemble, module_dir, o.workers))
        rc = 1;
    goto done;
fail:
    if (view.tty && view.line_shown) fputc('\n', stderr);
    taml_cli_fail(&err);
    rc = 1;
done:
    taml_pool_free(o.pool); /* under mpirun: stops the worker ranks */
    taml_pool_free(local);
    taml_mpi_close(mpi);
    free(from_blob);
    child_close(&child);
    taml_space_free(space);
out:
    free(module_dir);
    free(shipped);
    free(sa.task_dirs);
    return rc;
}
