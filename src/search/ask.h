/* search/ask.h - ask and tell: a study's trials handed out one at a time to
 * code that trains them elsewhere (any program, any language), and their
 * results taken back, with the same controller, the same REINFORCE updates
 * and the same store as `taml search` (search.h). `taml ask` and `taml tell`
 * are these two calls; so is the public API (include/taml/taml.h).
 *
 * Each call is one short session on the study file: it takes the study's
 * lock (waiting for another ask, tell or search that holds it), restores
 * the study as a continued search does (the newest checkpoint, the updates
 * after it replayed, every trial's state), does its step in one
 * transaction, and lets go. So any number of askers, in any processes, may
 * work on one study; a crash between two calls loses nothing told.
 *
 * The trial's life (store.h's state machine) with ask and tell:
 *
 *   (sampled) PENDING --ask--> RUNNING --tell--> DONE | DIVERGED | FAILED
 *                 ^                |
 *                 +----------------+  a search continuing the study, or an
 *                                     ask with requeue: as after a crash
 *
 * A trial asked and never told stays RUNNING: other asks go on around it
 * (several may be out at once). It is handled as the store handles running
 * trials after a crash: `taml search` continuing the study returns it to
 * pending and runs it, and so does an ask with requeue (which then hands it
 * out again, the same trial with the same config and seed).
 *
 * Pruning: a study made with a pruner hands every trial out with its rungs
 * and thresholds (taml_asked), fixed at the ask as a search fixes them at
 * dispatch, from the rung accuracies told of earlier trials of its task
 * (deterministic: trials 1 .. id - lag, so an ask/tell loop that follows
 * them makes `taml search --deterministic --pruner`'s study); the training
 * code stops at a rung whose threshold it is below and tells the trial
 * pruned with its rung accuracies; its reward is then a search's
 * (search/prune.h).
 *
 * Orders. Asynchronous (the default): an ask samples a new trial from the
 * controller as it is, a tell applies its reward at once. Deterministic:
 * exactly search.h's order (trial i is sampled once trials 1 .. i - lag are
 * told, from the controller that applied exactly their rewards in id
 * order), so an ask/tell loop makes the same study as `taml search
 * --deterministic` with the same seed and lag, whatever the order the
 * tells come in; an ask when every trial due is out says which trial must
 * be told first.
 */
#ifndef TAML_SEARCH_ASK_H
#define TAML_SEARCH_ASK_H

#include <stdint.h>

#include "core/err.h"
#include "exec/pool.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"

/* A new study's settings, as taml_search_run takes them (all borrowed); for
 * a study that exists they are checked to be its own (EMISMATCH), and a
 * larger opts->trials extends it. opts->workers, child and pool are not
 * used; a deterministic study's default lag is 1. */
typedef struct taml_ask_setup {
    const taml_space *space;
    int32_t n_tasks;
    const char *const *task_names;
    const char *const *task_dirs; /* recorded for reports; names are enough */
    const taml_search_opts *opts;
} taml_ask_setup;

/* A trial handed out. Heap strings; taml_asked_deinit frees them. */
typedef struct taml_asked {
    int64_t id;
    int32_t task;
    char *task_name;
    uint64_t seed;     /* the trial's seed (a built-in child trains with it) */
    char *config_json; /* the configuration, decisions by name */
    /* A study with a pruner (search/prune.h): the trial's rungs, as a
     * search's child gets them. Measure the validation accuracy after
     * rung_samples[k] training samples; when it is below rung_threshold[k]
     * (NaN: no threshold yet, never stop), stop and tell the trial pruned
     * at rung k. n_rungs = 0: none (no pruner, or a trial shorter than the
     * first rung). */
    int32_t n_rungs;
    int64_t rung_samples[TAML_JOB_RUNGS];
    double rung_threshold[TAML_JOB_RUNGS];
} taml_asked;
void taml_asked_deinit(taml_asked *a);

/* A result told. */
typedef struct taml_told {
    taml_trial_state state; /* DONE, DIVERGED, INVALID (with an accuracy), FAILED, or
                             * PRUNED (a study with a pruner) */
    double valid;           /* in [0, 1]; NAN only for FAILED; PRUNED: NAN or the
                             * accuracy at its last rung */
    double test;            /* in [0, 1], or NAN when not known */
    const char *error;      /* FAILED: why (NULL: "told as failed"); borrowed */
    /* The validation accuracies at the trial's first n_rungs rungs, in
     * order (borrowed; a study with a pruner only). Optional for a trial
     * that trained to its end: those given are the values later trials'
     * thresholds come from. PRUNED: at least one, and the trial stopped at
     * the last (rung n_rungs - 1). At most the trial's own rungs. */
    int32_t n_rungs;
    const double *rung_acc;
} taml_told;

/* Makes the study at path from setup when the file holds none, or checks
 * that setup is the study's (NULL: the study must exist, ENOTFOUND
 * otherwise), and samples what is due; hands out nothing. */
int taml_search_ask_prepare(const char *path, const taml_ask_setup *setup, taml_err *err);

/* Hands out a trial of the study at path and marks it running. setup: the
 * study's settings (required to create it; NULL opens a study that exists
 * with its own). task: a task name, NULL for any (the next trial due).
 * requeue: first return every trial out (running) to pending, as a search
 * after a crash does. Errors: ENOTFOUND when there is nothing to hand out
 * now (the study is complete, every trial is out, or, deterministic, the
 * next is due only after trials out are told: the message says which),
 * EINVAL for an unknown task, EMISMATCH for settings that are not the
 * study's, and the store's. */
int taml_search_ask(const char *path, const taml_ask_setup *setup, const char *task, int requeue,
                    taml_asked *out, taml_err *err);

/* Records the result of trial id, which must be out (running), and updates
 * the controller (the study's order). ENOTFOUND for an id the study does
 * not hold, EINVAL for a trial not out (pending: never asked; final: told
 * already, which never changes) or a value out of range; nothing is
 * recorded then. */
int taml_search_tell(const char *path, int64_t id, const taml_told *told, taml_err *err);

#endif
