/* cli/status.c - `taml status STUDY [--against RANDOM_STUDY] [--budget T]
 * [--json]`: the per-task table of a study (report/report.h computes it,
 * search/metrics.h defines its numbers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "report/report.h"

static const char STATUS_USAGE[] =
    "usage: taml status STUDY [--against RANDOM_STUDY] [--budget T] [--json]\n"
    "  per task: finished trials, the best model by validation accuracy (and its test\n"
    "  accuracy), accuracy-top10 on validation and test (+- 2 s.e.m.); with --against,\n"
    "  the trials this study needed to reach the random-search study's validation\n"
    "  accuracy-top10 at its budget T (all its trials, or --budget T), as the paper's Table 2.\n"
    "  --json prints the same as JSON (NaN and n/a as null).\n";

int taml_cmd_status(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *study = NULL, *against = NULL;
    long budget = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--against") && i + 1 < argc) {
            against = argv[++i];
        } else if (!strcmp(argv[i], "--budget") && i + 1 < argc) {
            char *end;
            budget = strtol(argv[++i], &end, 10);
            if (*end || budget < 1)
                return taml_cli_usage(STATUS_USAGE, "--budget wants a trial count >= 1, not '%s'",
                                      argv[i]);
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(STATUS_USAGE, stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            return taml_cli_usage(STATUS_USAGE, "unknown option '%s'", argv[i]);
        } else if (!study) {
            study = argv[i];
        } else {
            return taml_cli_usage(STATUS_USAGE, "one study at a time ('%s' is a second)", argv[i]);
        }
    }
    if (!study) return taml_cli_usage(STATUS_USAGE, "which study?");
    if (budget && !against)
        return taml_cli_usage(STATUS_USAGE, "--budget is the random study's T: it needs --against");
    taml_err err;
    taml_err_clear(&err);
    taml_report_study *s = NULL, *rs = NULL;
    taml_status_row *rows = NULL;
    size_t n = 0;
    int rc = taml_report_study_load(&s, study, &err);
    if (rc == 0 && against) rc = taml_report_study_load(&rs, against, &err);
    if (rc == 0) rc = taml_report_status(s, rs, (size_t)budget, &rows, &n, &err);
    if (rc < 0) {
        taml_report_study_free(s);
        taml_report_study_free(rs);
        return taml_cli_fail(&err);
    }
    if (rs && strcmp(rs->method, "random"))
        fprintf(stderr, "taml status: note: %s is a '%s' study, not random search; its "
                        "accuracy-top10 is used as the target all the same\n",
                against, rs->method);
    char *text = json ? taml_status_json(s, rs, rows, n) : taml_status_text(s, rs, rows, n);
    fputs(text, stdout);
    if (json) fputs("\n", stdout);
    free(text);
    taml_status_rows_free(rows, n);
    taml_report_study_free(s);
    taml_report_study_free(rs);
    return 0;
}
