/* cli/report.c - `taml report STUDY... [-o report.html] [--title T]
 * [--window W] [--best K]`: one self-contained HTML file with the plots and
 * tables of report/report.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/util.h"
#include "report/report.h"

static const char REPORT_USAGE[] =
    "usage: taml report STUDY... [-o FILE.html] [--title TEXT] [--window W] [--best K]\n"
    "  writes one self-contained HTML file (inline SVG and CSS; default report.html):\n"
    "  accuracy-top10 (valid and test) against trials per task with the studies overlaid,\n"
    "  trials-to-target against the first random-search study given, the valid/test gap\n"
    "  of the top 10, each decision's choices over trials (moving window of W trials;\n"
    "  default n/10 within [10, 200]), the last checkpoint's policy, the task-embedding\n"
    "  similarity, and the K best configurations per task and study (default 5).\n"
    "  W and K are in 1..1000000.\n";

/* --window and --best count trials of one task, which `taml search --trials`
 * caps at 1000000 (a larger one would mean all of them, as this does). */
#define COUNT_MAX 1000000

enum { O_TITLE = 256, O_WINDOW, O_BEST };

static const struct option options[] = {
    {"title", required_argument, NULL, O_TITLE},
    {"window", required_argument, NULL, O_WINDOW},
    {"best", required_argument, NULL, O_BEST},
    TAML_ARGS_HELP,
    {0},
};

/* Parses argv; 0, or the exit status (help: 0 with *done). */
static int parse_args(int argc, char **argv, const char **out, taml_report_opts *o,
                      const char **paths, size_t *np, int *done)
{
    taml_args a;
    taml_args_init(&a, "report", REPORT_USAGE, argc, argv, "o:", options);
    int64_t v;
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) {
            *done = 1;
            return a.status;
        }
        if (c == 'o') *out = a.arg;
        else if (c == O_TITLE) o->title = a.arg;
        else if (c == TAML_ARGS_POSITIONAL) paths[(*np)++] = a.arg;
        else if (taml_args_int(&a, 1, COUNT_MAX, &v)) return a.status;
        else if (c == O_WINDOW) o->window = (size_t)v;
        else o->best = (size_t)v; /* O_BEST */
    }
    return *np ? 0 : taml_args_required(&a, "STUDY");
}

int taml_cmd_report(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *out = "report.html";
    taml_report_opts o = {0};
    const char **paths = taml_calloc((size_t)argc, sizeof *paths);
    size_t np = 0;
    int done = 0;
    int rc = parse_args(argc, argv, &out, &o, paths, &np, &done);
    if (rc || done) {
        free(paths);
        return rc;
    }
    taml_err err;
    taml_err_clear(&err);
    taml_report_study **s = taml_calloc(np, sizeof *s);
    char *html = NULL;
    size_t loaded = 0;
    for (; loaded < np && rc == 0; loaded++) rc = taml_report_study_load(&s[loaded], paths[loaded], &err);
    if (rc == 0) rc = taml_report_html(s, np, &o, &html, &err);
    if (rc == 0) rc = taml_write_file_atomic(out, html, strlen(html), &err);
    for (size_t i = 0; i < loaded; i++) taml_report_study_free(s[i]);
    free(s);
    free(paths);
    if (rc < 0) {
        free(html);
        return taml_cli_fail(&err);
    }
    printf("wrote %s (%zu bytes, %zu stud%s)\n", out, strlen(html), np, np == 1 ? "y" : "ies");
    free(html);
    return 0;
}
