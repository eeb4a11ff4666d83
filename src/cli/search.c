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

#include "cli/cli.h"
#include "cli/search_mpi.h"
#include "core/util.h"
#include "core/version.h"
#include "ctrl/controller.h"
#include "nn/blas.h"
#include "search/child.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"

static const char *usage_text =
    "usage: taml search --study FILE.db --task DIR [--task DIR ...]\n"
    "                   --method random|aml|multitask|transfer --trials N\n"
    "                   [--workers K] [--seed S] [--from STUDY_OR_CHECKPOINT]\n"
    "                   [--space FILE.json] [--modules DIR] [--deterministic [--lag L]]\n"
    "                   [--ctrl-lr X] [--entropy-weight X]\n"
    "  --trials N      trials per task (the study ends with N x tasks trials)\n"
    "  --workers K     children trained at once (default: the cores)\n"
    "  --seed S        study seed (default 1); trial i's child seed derives from (S, i)\n"
    "  --from X        transfer: a multitask study or a controller checkpoint file\n"
    "  --space FILE    the search space as JSON (default: the paper's, over --modules)\n"
    "  --modules DIR   the embedding-module library (default $TAML_MODULES or data/modules)\n"
    "  --deterministic apply updates in trial order: the result depends on the seed\n"
    "                  and the lag only (lag L, default K), not on the workers' timing\n"
    "  --ctrl-lr X     the controller's Adam step size (default 1e-3; in (0, 1))\n"
    "  --entropy-weight X  its entropy bonus (default 0.03; in [0, 10)); both are kept\n"
    "                  by the study (and by a transfer from it unless given again)\n"
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

/* The module names of the library directory (files NAME.tamlm), sorted. */
static int list_modules(const char *dir, char ***out, int *n, taml_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int rc = taml_err_set(err, TAML_ENOTFOUND,
                              "no embedding-module library at %s (%s): give --modules DIR, build "
                              "it with `taml embed build-defaults`, or give --space FILE.json",
                              dir, strerror(errno));
        return rc;
    }
    struct dirent *e;
    int cap = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 6 || strcmp(e->d_name + len - 6, ".tamlm") != 0) continue;
        if (*n == cap) *out = taml_realloc(*out, (size_t)(cap = cap ? 2 * cap : 16) * sizeof(char *));
        (*out)[(*n)++] = taml_asprintf("%.*s", (int)(len - 6), e->d_name);
    }
    closedir(d);
    int rc = TAML_OK;
    if (*n == 0)
        rc = taml_err_set(err, TAML_ENOTFOUND,
                          "no embedding modules (*.tamlm) in %s: build the library with `taml "
                          "embed build-defaults`, or give --space FILE.json",
                          dir);
    else
        qsort(*out, (size_t)*n, sizeof(char *), by_name);
    return rc;
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
                printf("  %-28s %5lld trials  best valid %.4f  test %.4f  (trial %lld)\n",
                       st.task_names[k], (long long)n[k], bv[k], bt[k], (long long)best[k]);
            else
                printf("  %-28s %5lld trials  no finished trial with an accuracy\n",
                       st.task_names[k], (long long)n[k]);
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

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* The child the search trains: the real one, or the hooks' (tests). */
typedef struct search_child {
    const taml_cli_child *hook; /* NULL: the real child */
    taml_child_runner *runner;
    void *hook_ctx;
    const char *const *names;
} search_child;

static int child_open(search_child *c, const taml_cli *cli, int32_t n_tasks,
                      const char *const *task_dirs, const char *module_dir,
                      const taml_space *space, taml_search_opts *o, taml_err *err)
{
    c->hook = cli->hooks->search_child;
    int rc;
    if (c->hook) {
        if ((rc = c->hook->open(&c->hook_ctx, n_tasks, task_dirs, &c->names, err))) return rc;
        o->child = c->hook->run;
        o->child_ctx = c->hook_ctx;
        return TAML_OK;
    }
    if ((rc = taml_child_runner_new(&c->runner, n_tasks, task_dirs, module_dir, err))) return rc;
    if ((rc = taml_child_runner_check_space(c->runner, space, err))) return rc;
    c->names = taml_child_runner_names(c->runner);
    o->child = taml_child_runner_job;
    o->child_ctx = c->runner;
    return TAML_OK;
}

static void child_close(search_child *c)
{
    if (c->hook && c->hook_ctx) c->hook->close(c->hook_ctx);
    taml_child_runner_free(c->runner);
}

int taml_cmd_search(const taml_cli *cli, int argc, char **argv)
{
    const char *study = NULL, *method = NULL, *from = NULL, *space_path = NULL, *modules = NULL;
    const char **task_dirs = taml_calloc((size_t)argc, sizeof(char *));
    int n_tasks = 0, rc = 2;
    taml_search_opts o;
    taml_search_opts_default(&o);
    taml_ctrl_opts ctrl_opts;
    double ctrl_lr = NAN, ctrl_entropy = NAN; /* given on the command line, else NaN */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.workers = cores > 0 ? (int32_t)cores : 1;
    o.trials = 0;
    long long v;
    int m = 0, n_mods = 0, served = 0; /* all before the first goto out */
    taml_space *space = NULL;
    search_child child = {0};
    taml_mpi *mpi = NULL;
    void *from_blob = NULL;
    char **mods = NULL, *module_dir = NULL;
    struct view view = {.tty = isatty(2)};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        static const char *valued[] = {"--study", "--task",  "--method", "--from",  "--space",
                                       "--modules", "--trials", "--workers", "--lag", "--seed",
                                       "--ctrl-lr", "--entropy-weight"};
        int takes = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) takes |= !strcmp(a, valued[k]);
        if (!takes && strcmp(a, "--deterministic") != 0 && strcmp(a, "--help") != 0) {
            rc = taml_cli_usage(usage_text, "search: unknown argument '%s'", a);
            goto out;
        }
        if (takes && !val) {
            rc = taml_cli_usage(usage_text, "search: %s needs a value", a);
            goto out;
        }
        if (!strcmp(a, "--study")) study = val;
        else if (!strcmp(a, "--task")) task_dirs[n_tasks++] = val;
        else if (!strcmp(a, "--method")) method = val;
        else if (!strcmp(a, "--from")) from = val;
        else if (!strcmp(a, "--space")) space_path = val;
        else if (!strcmp(a, "--modules")) modules = val;
        else if (!strcmp(a, "--deterministic")) o.deterministic = 1;
        else if (!strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            rc = 0;
            goto out;
        } else if (!strcmp(a, "--trials") || !strcmp(a, "--workers") || !strcmp(a, "--lag")) {
            if (parse_int(val, 1, 1000000, &v)) {
                rc = taml_cli_usage(usage_text, "search: %s: '%s' is not a whole number >= 1", a, val);
                goto out;
            }
            if (!strcmp(a, "--trials")) o.trials = (int32_t)v;
            else if (!strcmp(a, "--workers")) o.workers = (int32_t)v;
            else o.lag = (int32_t)v;
        } else if (!strcmp(a, "--ctrl-lr") || !strcmp(a, "--entropy-weight")) {
            char *end;
            errno = 0;
            double x = strtod(val, &end);
            int lr = !strcmp(a, "--ctrl-lr");
            if (errno || end == val || *end || !(lr ? x > 0 && x < 1 : x >= 0 && x < 10)) {
                rc = taml_cli_usage(usage_text, "search: %s: '%s' is not a number in %s", a, val,
                                    lr ? "(0, 1)" : "[0, 10)");
                goto out;
            }
            if (lr) ctrl_lr = x;
            else ctrl_entropy = x;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 10);
            if (errno || end == val || *end || *val == '-') {
                rc = taml_cli_usage(usage_text, "search: --seed: '%s' is not a number >= 0", val);
                goto out;
            }
            o.seed = s;
            o.seed_set = 1;
        } else {
            rc = taml_cli_usage(usage_text, "search: unknown argument '%s'", a);
            goto out;
        }
        if (takes) i++;
    }
    if (!study || !method || n_tasks == 0 || o.trials == 0) {
        rc = taml_cli_usage(usage_text, "search: --study, --task, --method and --trials are required");
        goto out;
    }
    m = taml_search_method_parse(method);
    if (m < 0) {
        rc = taml_cli_usage(usage_text, "search: --method: '%s' is not random, aml, multitask or transfer",
                            method);
        goto out;
    }
    o.method = (taml_search_method)m;
    if ((m == TAML_SEARCH_TRANSFER) != (from != NULL)) {
        rc = taml_cli_usage(usage_text, m == TAML_SEARCH_TRANSFER
                                            ? "search: --method transfer needs --from"
                                            : "search: --from is only for --method transfer");
        goto out;
    }
    if ((!isnan(ctrl_lr) || !isnan(ctrl_entropy)) && m == TAML_SEARCH_RANDOM) {
        rc = taml_cli_usage(usage_text, "search: --ctrl-lr and --entropy-weight are for the "
                                        "controller's methods (aml, multitask, transfer)");
        goto out;
    }
    if (o.lag && !o.deterministic) {
        rc = taml_cli_usage(usage_text, "search: --lag is only for --deterministic");
        goto out;
    }
    module_dir = taml_cli_module_dir(cli, modules);

    taml_err err;
    taml_err_clear(&err);
    rc = 1;
    if (space_path) {
        if (taml_space_load(&space, space_path, &err)) goto fail;
    } else {
        if (list_modules(module_dir, &mods, &n_mods, &err)) goto fail;
        if (taml_space_new_default(&space, (const char *const *)mods, n_mods, &err)) goto fail;
    }
    if (from && taml_search_load_source(from, &from_blob, &o.from_size, &err)) goto fail;
    o.from_blob = from_blob;
    if (!isnan(ctrl_lr) || !isnan(ctrl_entropy)) {
        /* the options given replace those of the controller the study starts
         * from (a transfer's source; else the defaults), the others are kept */
        taml_ctrl_opts_default(&ctrl_opts);
        if (from_blob) {
            taml_ctrl *src = NULL;
            if (taml_ctrl_load(&src, space, from_blob, o.from_size, &err)) goto fail;
            ctrl_opts = *taml_ctrl_get_opts(src);
            taml_ctrl_free(src);
        }
        if (!isnan(ctrl_lr)) ctrl_opts.lr = ctrl_lr;
        if (!isnan(ctrl_entropy)) ctrl_opts.entropy_weight = ctrl_entropy;
        o.ctrl_opts = &ctrl_opts;
    }
    taml_blas_init(&cli->env.blas); /* before any thread: it sets environment variables */
    if (child_open(&child, cli, n_tasks, task_dirs, module_dir, space, &o, &err)) goto fail;
    o.taml_version = TAML_VERSION;
    o.log = print_log;
    o.progress = print_progress;
    o.user = &view;
    o.stop = &stop_flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* under mpirun: rank 0 searches on the other ranks' threads, which serve here */
    served = taml_cli_search_mpi(&mpi, cli->env.mpi_launch_size, &o, n_tasks, child.names, &err);
    if (served < 0) goto fail;
    if (served) {
        rc = 0;
        goto done;
    }
    if (taml_search_run(study, space, n_tasks, child.names, task_dirs, &o, &err)) goto fail;
    if (view.tty && view.line_shown) fputc('\n', stderr);
    if (print_summary(study, &err)) goto fail;
    rc = stop_flag ? 130 : 0;
    goto done;
fail:
    if (view.tty && view.line_shown) fputc('\n', stderr);
    taml_cli_fail(&err);
    rc = 1;
done:
    taml_pool_free(o.pool); /* under mpirun: stops the worker ranks */
    taml_mpi_close(mpi);
    for (int i = 0; i < n_mods; i++) free(mods[i]);
    free(mods);
    free(from_blob);
    child_close(&child);
    taml_space_free(space);
out:
    free(module_dir);
    free(task_dirs);
    return rc;
}
