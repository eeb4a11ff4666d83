/* report/status.h - the table of `taml status`: per task, trials, the best
 * trial, the recorded ensemble beside it (search/ensemble.h; the study
 * records it, status never retrains), validation and test accuracy-top10
 * with their s.e.m., and against a
 * random-search study its target and the trials-to-target of both (the
 * paper's Table 2). search/metrics.h defines every number in it. Results come
 * back as heap strings for the CLI (text or JSON); nothing here prints. */
#ifndef TAML_REPORT_STATUS_H
#define TAML_REPORT_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "report/study.h"

/* One line of `taml status`. */
typedef struct taml_status_row {
    const char *task; /* borrowed from the study */
    size_t trials;    /* finished trials */
    /* failed: also the trials whose worker process died on every allowed
     * attempt, and those that timed out (store/store.h) */
    size_t failed, diverged, invalid, unfinished;
    size_t pruned; /* stopped at a rung by the search's pruner (never ranked) */
    int64_t best_id;  /* the trial with the best validation accuracy (ties: earliest), or 0 */
    double best_valid, best_test; /* that trial's accuracies (the test split never selects) */
    const taml_store_ensemble *ensemble; /* the recorded ensemble (borrowed), or NULL */
    size_t top_count;             /* models in the top (< TOP while the study is young) */
    double top_valid, top_valid_sem, top_test, top_test_sem; /* accuracy-top10 and s.e.m. */
    /* Against a random-search study (all NaN / 0 without one): */
    int has_target;      /* 1 when the random study gave a target for this task */
    double target;       /* random search's valid accuracy-top10 at its budget T */
    size_t budget;       /* that T */
    long rs_to_target;   /* random search's own trials-to-target (paper: "RS" column) */
    long to_target;      /* this study's trials-to-target; 0 = n/a (never reached) */
    char *target_note;   /* why there is no target (heap), or NULL */
} taml_status_row;

/* The status table of study s (one row per task, in the study's task
 * order). against (may be NULL) is a random-search study; its tasks are
 * matched by name, and budget caps its T (0: all its trials). Rows are a
 * heap array (*rows, *n) freed with taml_status_rows_free. A task the random
 * study lacks, or that has too few trials for a target, gets a row with
 * has_target 0 and a note saying why; it is not an error. */
int taml_status_table(const taml_report_study *s, const taml_report_study *against,
                       size_t budget, taml_status_row **rows, size_t *n, taml_err *err);
void taml_status_rows_free(taml_status_row *rows, size_t n);

/* The table as aligned text (heap string). */
char *taml_status_text(const taml_report_study *s, const taml_report_study *against,
                       const taml_status_row *rows, size_t n);
/* The table as JSON (heap string): {"study", "method", "against", "top",
 * "tasks": [{"task", "trials", ..., "trials_to_target"}]}; NaN and n/a are
 * null. A task with a recorded ensemble has "ensemble": {"selection",
 * "size", "candidates", "trials", "members": [{"trial", "weight"}],
 * "valid", "test"}; one without has no "ensemble" key. */
char *taml_status_json(const taml_report_study *s, const taml_report_study *against,
                       const taml_status_row *rows, size_t n);

#endif
