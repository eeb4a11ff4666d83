/* cli/status.c - `taml status STUDY [--against RANDOM_STUDY] [--budget T]
 * [--json]`: the per-task table of a study (report/report.h computes it,
 * search/metrics.h defines its numbers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "report/status.h"

static const char STATUS_USAGE[] =
    "usage: taml status STUDY [--against RANDOM_STUDY] [--budget T] [--json]\n"
    "  per task: finished trials, the best model by validation accuracy (and its test\n"
    "  accuracy), accuracy-top10 on validation and test (+- 2 s.e.m.); with --against,\n"
    "  the trials this study needed to reach the random-search study's validation\n"
    "  accuracy-top10 at its budget T (all its trials, or --budget T, 1..1000000), as\n"
    "  the paper's Table 2.\n"
    "  --json prints the same as JSON (NaN and n/a as null).\n";

/* A random study's budget T is a count of one task's trials, which `taml
 * search --trials` caps at 1000000. */
#define BUDGET_MAX 1000000

enum { O_AGAINST = 256, O_BUDGET, O_JSON };

static const struct option options[] = {
    {"against", required_argument, NULL, O_AGAINST},
    {"budget", required_argument, NULL, O_BUDGET},
    {"json", no_argument, NULL, O_JSON},
    TAML_ARGS_HELP,
    {0},
};

int taml_cmd_status(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *study = NULL, *against = NULL;
    int64_t budget = 0;
    int json = 0;
    taml_args a;
    taml_args_init(&a, "status", STATUS_USAGE, argc, argv, "", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_AGAINST) against = a.arg;
        else if (c == O_BUDGET && taml_args_int(&a, 1, BUDGET_MAX, &budget)) return a.status;
        else if (c == O_JSON) json = 1;
        else if (c == TAML_ARGS_POSITIONAL && study) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) study = a.arg;
    }
    if (!study) return taml_args_required(&a, "STUDY");
    if (budget && !against)
        return taml_args_error(&a, "--budget is the random study's T: it needs --against");
    taml_err err;
    taml_err_clear(&err);
    taml_report_study *s = NULL, *rs = NULL;
    taml_status_row *rows = NULL;
    size_t n = 0;
    int rc = taml_report_study_load(&s, study, &err);
    if (rc == 0 && against) rc = taml_report_study_load(&rs, against, &err);
    if (rc == 0) rc = taml_status_table(s, rs, (size_t)budget, &rows, &n, &err);
    if (rc < 0) {
        taml_report_study_free(s);
        taml_report_study_free(rs);
        return taml_cli_fail(&err);
    }
    if (rs && rs->method != TAML_SEARCH_RANDOM)
        fprintf(stderr, "taml status: note: %s is a '%s' study, not random search; its "
                        "accuracy-top10 is used as the target all the same\n",
                against, taml_search_method_name(rs->method));
    char *text = json ? taml_status_json(s, rs, rows, n) : taml_status_text(s, rs, rows, n);
    fputs(text, stdout);
    if (json) fputs("\n", stdout);
    free(text);
    taml_status_rows_free(rows, n);
    taml_report_study_free(s);
    taml_report_study_free(rs);
    return 0;
}
