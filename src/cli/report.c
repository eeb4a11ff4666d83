/* cli/report.c - `taml report STUDY... [-o report.html] [--title T]
 * [--window W] [--best K]`: one self-contained HTML file with the plots and
 * tables of report/report.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "  similarity, and the K best configurations per task and study (default 5).\n";

static int parse_count(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < 1) return -1;
    *out = v;
    return 0;
}

int taml_cmd_report(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *out = "report.html";
    taml_report_opts o = {0};
    const char **paths = taml_calloc((size_t)argc, sizeof *paths);
    size_t np = 0;
    long v = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--title") && i + 1 < argc) {
            o.title = argv[++i];
        } else if (!strcmp(argv[i], "--window") && i + 1 < argc) {
            if (parse_count(argv[++i], &v))
                rc = taml_cli_usage(REPORT_USAGE, "--window wants a trial count >= 1, not '%s'",
                                    argv[i]);
            o.window = (size_t)v;
        } else if (!strcmp(argv[i], "--best") && i + 1 < argc) {
            if (parse_count(argv[++i], &v))
                rc = taml_cli_usage(REPORT_USAGE, "--best wants a count >= 1, not '%s'", argv[i]);
            o.best = (size_t)v;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(REPORT_USAGE, stdout);
            free(paths);
            return 0;
        } else if (argv[i][0] == '-') {
            rc = taml_cli_usage(REPORT_USAGE, "unknown option '%s'", argv[i]);
        } else {
            paths[np++] = argv[i];
        }
    }
    if (rc == 0 && np == 0) rc = taml_cli_usage(REPORT_USAGE, "which studies?");
    if (rc) {
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
