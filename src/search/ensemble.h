/* search/ensemble.h - an ensemble of a task's best trials: what `taml export
 * --ensemble K` writes, `taml search --ensemble K` records and `taml status`
 * shows beside the single best model.
 *
 * Candidates: the task's trials with a model (done or diverged), ranked by
 * validation accuracy (ties: the earlier trial), as export ranks them. Each
 * candidate used is retrained from its recorded config and seed and checked
 * against its recorded accuracies (search/export.h), on `workers` threads;
 * its logits on the validation and test splits are kept.
 *
 * Selection (the ensemble predicts the weighted mean of its members'
 * probabilities, nn/model.h's taml_model_mean_proba):
 *   top     the K best candidates, weight 1 each.
 *   greedy  Caruana, Niculescu-Mizil, Crew, Ksikes, "Ensemble selection from
 *           libraries of models" (ICML 2004), forward selection with
 *           replacement on the validation split, from a library of the M
 *           best candidates: K steps, each adding the candidate whose
 *           addition gives the highest validation accuracy
 *           (taml_ensemble_greedy), then the best of the K nested
 *           ensembles. A member picked j times weighs j.
 * Which is the default, and why: docs/RESULTS.md "Ensembles".
 *
 * The accuracies an ensemble reports are those of its mean probabilities on
 * the children's own logits, so `taml predict` with the exported file gives
 * the same labels on the split's texts (in batches of TAML_CHILD_BATCH).
 */
#ifndef TAML_SEARCH_ENSEMBLE_H
#define TAML_SEARCH_ENSEMBLE_H

#include <stdint.h>

#include "core/err.h"
#include "nn/model.h"
#include "store/store.h"

typedef enum taml_ensemble_selection {
    TAML_ENSEMBLE_TOP = 0,
    TAML_ENSEMBLE_GREEDY = 1,
} taml_ensemble_selection;

/* "top", "greedy"; parse gives the selection named s, or -1. */
const char *taml_ensemble_selection_name(taml_ensemble_selection s);
int taml_ensemble_selection_parse(const char *s);

/* The largest K and M accepted (a member is a model file section each). */
#define TAML_ENSEMBLE_MAX TAML_MODEL_MAX_MEMBERS
/* Greedy's library when none is given: the best 4K candidates (at most
 * TAML_ENSEMBLE_MAX), docs/RESULTS.md "Ensembles" says why. */
#define TAML_ENSEMBLE_LIBRARY_PER_MEMBER 4

/* The selection a user gets without asking: docs/RESULTS.md "Ensembles". */
#define TAML_ENSEMBLE_DEFAULT_SELECTION TAML_ENSEMBLE_TOP

typedef struct taml_ensemble_opts {
    int32_t size;                      /* K, 1 .. TAML_ENSEMBLE_MAX */
    taml_ensemble_selection selection; /* top or greedy */
    int32_t candidates;                /* greedy: M, K .. TAML_ENSEMBLE_MAX (0: 4K, capped) */
    int32_t workers;                   /* threads retraining candidates, >= 1 */
    int want_model;                    /* 1: also make the ensemble's model */
    const char *task_dir;              /* NULL: the directory the study recorded */
    const char *module_dir;            /* the module library (NULL: the study's, see below) */
    const char *default_module_dir;    /* without module_dir, when the study recorded none */
} taml_ensemble_opts;

/* K members (0 until set), the default selection, its default library,
 * one worker, no model, the recorded task directory. */
void taml_ensemble_opts_default(taml_ensemble_opts *o);

/* What a build found. rec is what the study records (taml_store_ensemble_put):
 * its arrays are heap (taml_ensemble_result_deinit). */
typedef struct taml_ensemble_result {
    taml_store_ensemble rec;
    int64_t best_trial;            /* the single best model, for comparison */
    double best_valid, best_test;
    char task_dir[4096];           /* where the task was loaded from */
    double retrain_s;              /* wall seconds retraining the candidates */
} taml_ensemble_result;

void taml_ensemble_result_deinit(taml_ensemble_result *r);

/* Builds the ensemble of task task_name of the study at study_path. *out
 * (when o->want_model; else may be NULL) is the model (an ensemble of
 * rec.n_members single models, provenance naming the study, selection,
 * members and accuracies). Refused (TAML_EINVAL) before anything is
 * retrained: K out of range, M < K or out of range, and K (top) or M
 * (greedy) larger than the task's trials with a model, saying how many it
 * has; then the errors of taml_export_source_open and taml_export_retrain,
 * naming the trial (the best-ranked one that failed). */
int taml_ensemble_build(const char *study_path, const char *task_name,
                        const taml_ensemble_opts *o, taml_model **out,
                        taml_ensemble_result *res, taml_err *err);

/* The two steps of a build, for choosing among selections without
 * retraining (bench/bench_ensemble.c measures them so): the library of
 * candidates a build with o would choose from (its refusals), retrained;
 * then o's ensemble from the library's best candidates. A library's models
 * (o->want_model at its creation) go to the first ensemble selected with
 * a model; its logits stay for any number of selections. select refuses
 * (TAML_EINVAL) a selection that needs more candidates than the library
 * holds. */
typedef struct taml_ensemble_library taml_ensemble_library;
int taml_ensemble_library_new(const char *study_path, const char *task_name,
                              const taml_ensemble_opts *o, taml_ensemble_library **out,
                              taml_err *err);
void taml_ensemble_library_free(taml_ensemble_library *lib);
int32_t taml_ensemble_library_size(const taml_ensemble_library *lib);
int taml_ensemble_select(taml_ensemble_library *lib, const taml_ensemble_opts *o,
                         taml_model **out, taml_ensemble_result *res, taml_err *err);

/* Records res->rec in the study at study_path, replacing the task's
 * earlier ensemble; a study of an older schema is migrated first
 * (taml_store_upgrade). */
int taml_ensemble_save(const char *study_path, const taml_ensemble_result *res,
                              taml_err *err);

/* Caruana's forward selection with replacement, on its own: proba (M, n, C)
 * the M candidates' class probabilities on n examples (library order:
 * candidate 0 first), labels (n) their classes. Step s = 1 .. steps adds to
 * the ensemble the candidate c that maximises the accuracy of argmax_j
 * (sum[i][j] + proba[c][i][j]), sum being the elementwise sum of the
 * probabilities of the candidates added so far (the argmax of a mean, whose
 * division changes no order; classes tie to the lowest index, candidates to
 * the earliest); then the ensemble after the step of highest accuracy is
 * kept (ties: the earliest step, the smaller ensemble). counts (M) gets how
 * often each candidate is in it, order (M) the candidates with counts > 0
 * in the order they were first added (the rest -1); returns the number of
 * steps kept, and *accuracy (may be NULL) that ensemble's accuracy. */
int32_t taml_ensemble_greedy(const double *proba, int32_t M, int32_t n, int32_t C,
                             const int32_t *labels, int32_t steps, int32_t *counts,
                             int32_t *order, double *accuracy);

#endif
