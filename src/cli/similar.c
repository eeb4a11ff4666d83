/* cli/similar.c - `taml similar --from CONTROLLER|STUDY --task DIR`: "which
 * of my tasks is this like?". A short transfer on the new task (`taml
 * search --method transfer`, run in this process, its output on stderr),
 * then the tasks the controller knows ranked by the cosine of their task
 * embeddings to the new task's, each with its best configuration when the
 * source is a study (search/similar.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/settings.h"
#include "core/util.h"
#include "search/similar.h"

static const char usage_text[] =
    "usage: taml similar [--from CONTROLLER|STUDY] --task DIR [--trials N] [--study FILE.db]\n"
    "                    [--json] [--seed S] [--workers K] [--space S] [--modules DIR]\n"
    "                    [--isolation process|thread] [--pruner median|asha [--prune-eta E]\n"
    "                    [--prune-min S] [--prune-warmup W]] [--explore-uniform P]\n"
    "                    [--explore-temperature T [--explore-trials K]]\n"
    "  a transfer of N trials (default 30, 1..1000000) on the task from --from (a\n"
    "  multitask or transfer study, a controller file or a checkpoint; default: the\n"
    "  controller taml ships for the task's kind), then the tasks that controller knows,\n"
    "  ranked by the cosine similarity of their task embeddings to the new task's,\n"
    "  each with its best configuration in --from when it is a study (a controller file\n"
    "  holds no trials).\n"
    "  --study FILE.db keeps the transfer study there (running the command again\n"
    "                  continues it); default: a temporary study, removed at the end\n"
    "  --json          the ranking as JSON on stdout (docs/cli.md)\n"
    "  --seed, --workers, --space, --modules, --isolation, the pruning and the\n"
    "  exploration flags: as for taml search (a pruner makes the short transfer cheap).\n";

#define TRIALS_MAX 1000000

enum { O_FROM = 256, O_TASK, O_TRIALS, O_STUDY, O_JSON, O_SEED, O_WORKERS, O_SPACE, O_MODULES,
       O_ISOLATION };

/* Runs `taml search` with args (NULL-terminated) with its stdout on stderr,
 * so that stdout is the ranking alone. */
static int run_search(const taml_cli *cli, char **args, int n)
{
    fflush(stdout);
    int saved = dup(1);
    if (saved < 0 || dup2(2, 1) < 0) {
        fprintf(stderr, "taml similar: cannot redirect the search's output: %s\n", strerror(errno));
        if (saved >= 0) close(saved);
        return 1;
    }
    int rc = taml_cmd_search(cli, n, args);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    return rc;
}

int taml_cmd_similar(const taml_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, O_FROM},       {"task", required_argument, NULL, O_TASK},
        {"trials", required_argument, NULL, O_TRIALS},   {"study", required_argument, NULL, O_STUDY},
        {"json", no_argument, NULL, O_JSON},             {"seed", required_argument, NULL, O_SEED},
        {"workers", required_argument, NULL, O_WORKERS}, {"space", required_argument, NULL, O_SPACE},
        {"modules", required_argument, NULL, O_MODULES},
        {"isolation", required_argument, NULL, O_ISOLATION},
        TAML_CLI_PRUNE_OPTIONS, TAML_CLI_EXPLORE_OPTIONS,
        TAML_ARGS_HELP, {0},
    };
    const char *from = NULL, *task = NULL, *study = NULL;
    /* flags handed to taml search as given (it checks them): each option
     * once at most */
    enum { PASS_MAX = sizeof options / sizeof options[0] };
    char flag[PASS_MAX][32];
    char *pass[PASS_MAX][2];
    int n_pass = 0, json = 0;
    int64_t trials = 30;
    taml_args a;
    taml_args_init(&a, "similar", usage_text, argc, argv, "", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        switch (c) {
        case TAML_ARGS_EXIT: return a.status;
        case TAML_ARGS_POSITIONAL: return taml_args_stray(&a);
        case O_FROM: from = a.arg; break;
        case O_TASK:
            if (task) return taml_args_error(&a, "--task: one new task at a time");
            task = a.arg;
            break;
        case O_TRIALS:
            if (taml_args_int(&a, 1, TRIALS_MAX, &trials)) return a.status;
            break;
        case O_STUDY: study = a.arg; break;
        case O_JSON: json = 1; break;
        default: {
            const struct option *o = options;
            while (o->name && o->val != c) o++;
            for (int i = 0; o->name && i < n_pass; i++)
                if (!strcmp(pass[i][0] + 2, o->name))
                    return taml_args_error(&a, "--%s: given twice", o->name);
            if (!o->name || n_pass == PASS_MAX) return taml_args_error(&a, "unknown option");
            snprintf(flag[n_pass], sizeof flag[n_pass], "--%s", o->name);
            pass[n_pass][0] = flag[n_pass];
            pass[n_pass++][1] = (char *)a.arg;
        }
        }
    }
    if (!task) return taml_args_required(&a, "--task");
    char tmpdir[] = "/tmp/taml-similar-XXXXXX";
    char *path = NULL;
    if (study) {
        path = taml_strdup(study);
    } else {
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "taml similar: cannot make a temporary directory: %s\n", strerror(errno));
            return 1;
        }
        path = taml_path_join(tmpdir, "similar.db");
    }
    char trials_text[32];
    snprintf(trials_text, sizeof trials_text, "%lld", (long long)trials);
    char *args[10 + 2 * PASS_MAX];
    int n = 0;
    args[n++] = "search";
    args[n++] = "--study";
    args[n++] = path;
    args[n++] = "--task";
    args[n++] = (char *)task;
    args[n++] = "--method";
    args[n++] = "transfer";
    args[n++] = "--trials";
    args[n++] = trials_text;
    if (from) {
        args[n++] = "--from";
        args[n++] = (char *)from;
    }
    for (int i = 0; i < n_pass; i++) {
        args[n++] = pass[i][0];
        args[n++] = pass[i][1];
    }
    args[n] = NULL;
    int rc = run_search(cli, args, n);
    taml_similar s;
    memset(&s, 0, sizeof s);
    taml_err err;
    taml_err_clear(&err);
    if (rc == 0 && taml_similar_rank(path, &s, &err)) rc = taml_cli_fail(&err);
    if (rc == 0) {
        char *text = json ? taml_similar_json(&s) : taml_similar_text(&s);
        fputs(text, stdout);
        free(text);
    }
    taml_similar_deinit(&s);
    if (!study) {
        taml_err ignored;
        taml_rmtree(tmpdir, &ignored);
    }
    free(path);
    return rc;
}
