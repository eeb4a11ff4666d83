/* report/report.h - the self-contained HTML report of one or more studies
 * (`taml report`): inline CSS and SVG plots (report/svg.h), no scripts, no
 * external resources, so it can be mailed or archived as one file. It reads
 * studies as report/study.h loads them, the status table (report/status.h)
 * and the replayed policy (report/policy.h). Nothing here prints: the page
 * comes back as a heap string for the CLI.
 *
 * Files of the read side: study.c (loading), status.c (the status table),
 * policy.c (controllers and replay), report.c (HTML).
 */
#ifndef TAML_REPORT_REPORT_H
#define TAML_REPORT_REPORT_H

#include <stddef.h>

#include "core/err.h"
#include "report/study.h"

/* Options of the HTML report. */
typedef struct taml_report_opts {
    const char *title; /* NULL: "taml report" */
    size_t window;     /* moving window of the action-frequency plots; 0: n/10 in [10, 200] */
    size_t best;       /* configurations listed per task and study; 0: 5 */
} taml_report_opts;

/* The HTML report of ns studies (heap string in *html). Studies are drawn in
 * the given order with one colour each; trials-to-target is measured against
 * the first random-search study among them, if any. A study whose
 * checkpoint cannot be read (or whose space cannot be parsed) still gets its
 * curves and tables, with a note in place of the controller's figures.
 * Errors: TAML_EINVAL for ns == 0. */
int taml_report_html(taml_report_study *const *studies, size_t ns, const taml_report_opts *opts,
                     char **html, taml_err *err);

#endif
