/* store/store.h - the study store: one SQLite file per study (WAL mode).
 *
 * A study is one run of `taml search`: its settings (method, seed, search
 * space, task set), its trials, and the controller checkpoints that make a
 * search resumable. The search layer writes it; `taml status` / `taml report`
 * read it (through taml_store_iter_* below), possibly while a search is still
 * writing: WAL lets one writer and many readers work at once.
 *
 * Durability: every call below is one SQLite transaction (or runs inside the
 * caller's taml_store_begin/commit), so a process killed at any moment
 * (kill -9) leaves each trial either as it was before the call or as it is
 * after it, never half-written. The WAL runs with synchronous=NORMAL: safe
 * against a crashed or killed process, not against a power cut in the last
 * few commits (the price of keeping the store's cost per trial well under a
 * millisecond).
 *
 * Schema (docs/formats.md "Study files" draws it with its columns):
 *   study(one row)     method, seed, space JSON + fingerprint, trials per task,
 *                      options JSON, taml version, created
 *   tasks              idx, name, dir
 *   trials             id, task, method, config JSON, actions, seed, state,
 *                      valid/test accuracy, loss, steps, timings, worker,
 *                      error, update_seq, attempts (schema 3)
 *   checkpoints        id, after_seq, blob (the controller, as saved by ctrl)
 *   baselines          checkpoint, task, baseline, sigma
 *   task_data          task, fingerprint, dir, examples per split, classes, and
 *                      the digests of the class names and of each split's labels
 *                      and texts or pixels (schema 2)
 *   modules            name, path, size, crc32: each module file of the space
 *                      (schema 2)
 *   ensembles          per task, the ensemble recorded last: its selection,
 *                      size, the trials it chose from, valid and test
 *                      accuracy (schema 4)
 *   ensemble_members   task, position, trial, weight (schema 4)
 *   transfer           a transfer study's source: where its controller came
 *                      from, that controller's space, and the mapping to the
 *                      study's space (ctrl/grow.h) (schema 5)
 *   trials (schema 6)  + reward (the controller's, when not the validation
 *                      accuracy: a pruned trial's), rungs (the validation
 *                      accuracy at each rung reached, JSON), rung (where a
 *                      pruned trial stopped); state 'pruned'
 * PRAGMA application_id marks a taml study; PRAGMA user_version is the schema
 * version. A study written by a newer schema is refused.
 */
#ifndef TAML_STORE_STORE_H
#define TAML_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* The schema this build writes and the newest it reads. Version 2 adds the
 * data a study ran on (study.modules_dir and the task_data and modules
 * tables below); version 3 adds trials.attempts; version 4 the recorded
  * ensembles (the ensembles and ensemble_members tables); version 5 a
 * transfer study's source and how its controller was carried over to the
 * study's space (the transfer table); version 6 the pruned state and the
 * rung columns of the trials. A file of an older
 * version is read as it is, with nothing recorded and each finished trial
 * counted as one run, until taml_store_upgrade migrates it (store.c's
 * migrations[]: steps that only add). */
#define TAML_STORE_SCHEMA 6

typedef struct taml_store taml_store;

/* The life of a trial.
 *
 *                 taml_store_trial_start        taml_store_trial_finish
 *   (add) --> PENDING -------------------> RUNNING -----------------+--> DONE
 *              ^  ^                         |  |                    +--> DIVERGED
 *              |  |  taml_store_requeue     |  |                    +--> INVALID
 *              |  +-------------------------+  |                    +--> FAILED
 *              |     (the search died: the     |
 *              |      run is not counted)      |
 *              |                               |
 *              +-------------------------------+
 *                 taml_store_trial_retry
 *                 (its worker process died: attempts + 1, error says how)
 *
 * Either way back to PENDING, the trial runs again with the same config and
 * seed. DONE, DIVERGED, INVALID, FAILED and PRUNED are final: a finished trial never
 * changes again, except that the search records when the controller applied
 * its reward (update_seq). DIVERGED and INVALID trials still have a reward
 * (an accuracy); FAILED ones do not (the error text says why: the child's
 * error, a worker process that died on its last allowed attempt, or a
 * trial stopped by the time limit, "timed out: ..."; all count alike, on
 * the x-axis but never in a ranking, see search/metrics.h). PRUNED (schema
 * 5): the search's pruner stopped it at a rung (search/prune.h); its
 * valid_acc is the accuracy at that rung, test_acc none, steps those run,
 * and like a failed one it counts as a trial but never ranks, is never
 * exported nor taken into an ensemble; its controller reward (column
 * reward) is an estimate of its final accuracy.
 *
 * attempts counts the runs that ended: finish and retry add one, requeue
 * none, so a search killed and resumed counts what one never interrupted
 * does. A finished trial has attempts >= 1 (more when its worker died
 * before); its error keeps the last retry's note when its own result has
 * none.
 */
typedef enum taml_trial_state {
    TAML_TRIAL_PENDING = 0,
    TAML_TRIAL_RUNNING = 1,
    TAML_TRIAL_DONE = 2,
    TAML_TRIAL_DIVERGED = 3,
    TAML_TRIAL_INVALID = 4,
    TAML_TRIAL_FAILED = 5,
    TAML_TRIAL_PRUNED = 6,
} taml_trial_state;

/* "pending", "running", "done", "diverged", "invalid", "failed", "pruned". */
const char *taml_trial_state_name(taml_trial_state s);
/* The state named s, or -1. */
int taml_trial_state_parse(const char *s);
/* 1 for DONE, DIVERGED, INVALID, FAILED, PRUNED. */
int taml_trial_state_final(taml_trial_state s);
/* 1 if the diagram above has an arrow from -> to. */
int taml_trial_transition_ok(taml_trial_state from, taml_trial_state to);

/* A study's settings. For taml_store_create the strings are borrowed (the
 * store copies them); taml_store_study fills heap copies that
 * taml_study_deinit frees. */
typedef struct taml_study {
    char *method;            /* "random", "aml", "multitask", "transfer" */
    uint64_t seed;           /* study seed: trial i's seed is taml_rng_derive(seed, i) */
    char *space_json;        /* the search space, as JSON */
    char *space_fingerprint; /* hex digest of the space (from the space layer) */
    int32_t trials_per_task; /* the budget asked for (--trials) */
    char *options_json;      /* other settings that fix the result (JSON object) */
    char *taml_version;      /* version of taml that created the study */
    double created;          /* Unix seconds (set by taml_store_create) */
    char *modules_dir;       /* the module library the search used; NULL: not recorded */
    int32_t n_tasks;
    char **task_names; /* (n_tasks) in task index order */
    char **task_dirs;  /* (n_tasks) the directories they were loaded from */
} taml_study;

void taml_study_deinit(taml_study *s);

/* One trial. Fields that do not apply yet are NAN (doubles), 0 (times,
 * update_seq), -1 (worker) or NULL (error). */
typedef struct taml_trial {
    int64_t id;        /* 1, 2, ... in the order trials were added */
    int32_t task;      /* index into the study's tasks */
    char *method;      /* the strategy that proposed it ("random", "aml", ...) */
    char *config_json; /* the configuration, decisions by name (as `taml train --config`) */
    int32_t n_actions;
    int32_t *actions; /* (n_actions) chosen index of each decision of the space */
    uint64_t seed;    /* the child's seed */
    taml_trial_state state;
    double valid_acc, test_acc; /* accuracy on the validation / test split */
    double loss;                /* final training loss */
    int64_t steps;              /* training steps run */
    double queued_at, started_at, finished_at; /* Unix seconds */
    double train_seconds;                      /* the child's own wall time */
    int32_t worker;                            /* worker that ran it (last run) */
    char *error;                               /* why it failed / was invalid, or a retry's note */
    int64_t update_seq; /* 1, 2, ...: order in which the controller applied its reward */
    int32_t attempts;   /* runs that ended (see the state machine) */
    /* schema 6 (an older file: NaN, 0, NULL, -1) */
    double reward;      /* a PRUNED trial's controller reward (an estimate), else NaN when read */
    int32_t n_rungs;    /* rungs reached (search/prune.h) */
    double *rung_acc;   /* (n_rungs) validation accuracy at each, NaN where not measured */
    int32_t pruned_rung; /* the rung a PRUNED trial stopped at, else -1 */
} taml_trial;

/* Frees the strings and arrays of a trial filled by the store. */
void taml_trial_deinit(taml_trial *t);

/* Open flags. */
enum {
    TAML_STORE_CREATE = 1,   /* create the file when it does not exist */
    TAML_STORE_READONLY = 2, /* open for reading only (reports, status) */
    /* many short sessions (ask, tell): the last close leaves the WAL for the
     * next session instead of copying it into the database file (SQLite's
     * checkpoint on close, several syncs); SQLite still checkpoints it every
     * 1000 pages, and a close without the flag does. Durability is as
     * before: a commit is in the WAL either way. */
    TAML_STORE_KEEP_WAL = 4,
};

/* Opens the study file at path. A file that is not a taml study (not SQLite,
 * truncated, another program's database) or is from a newer schema is refused
 * with a message naming the path. A new file gets the schema and no study
 * (see taml_store_has_study). */
int taml_store_open(taml_store **out, const char *path, int flags, taml_err *err);
/* Closes; NULL is a no-op. */
void taml_store_close(taml_store *s);
/* Migrates a study file of an older schema to TAML_STORE_SCHEMA (one
 * transaction; a no-op when it is there). The search calls it once a
 * continued study has passed its checks, so that a study it refuses is left
 * as it was; the records below (task data, modules, modules_dir) need it. A
 * store opened to read cannot be migrated (EINVAL). */
int taml_store_upgrade(taml_store *s, taml_err *err);
const char *taml_store_path(const taml_store *s);

/* Groups calls into one transaction (they nest: only the outermost commits).
 * On an error inside, call taml_store_rollback, which undoes the group. */
int taml_store_begin(taml_store *s, taml_err *err);
int taml_store_commit(taml_store *s, taml_err *err);
void taml_store_rollback(taml_store *s);

/* 1 when the file holds a study, 0 when it is new. */
int taml_store_has_study(taml_store *s);
/* Writes the study's settings and tasks (once: a second call fails). */
int taml_store_create(taml_store *s, const taml_study *study, taml_err *err);
/* Reads the settings into *out (heap copies; taml_study_deinit). */
int taml_store_study(taml_store *s, taml_study *out, taml_err *err);

/* Records a new number of trials per task asked for (a study extended by a
 * larger --trials). */
int taml_store_set_trials(taml_store *s, int32_t trials_per_task, taml_err *err);
/* Records the module library of a study that has none recorded (made before
 * schema 2). */
int taml_store_set_modules_dir(taml_store *s, const char *dir, taml_err *err);

/* The data a task of the study was when the study recorded it: the fields
 * of data/task.h's taml_task_identity, with the directory it was loaded
 * from. For taml_store_task_data_put, dir is borrowed; _get fills a heap
 * copy that taml_study_task_deinit frees. */
typedef struct taml_study_task {
    uint64_t fingerprint;
    int32_t image;      /* 1: an image task (column kind: 'image'), 0: text ('text') */
    int32_t n_split[3]; /* examples in train, valid, test */
    int32_t n_classes;
    uint64_t classes, labels[3], content[3]; /* the digests */
    char *dir;
    double recorded; /* Unix seconds (set by _put) */
} taml_study_task;
void taml_study_task_deinit(taml_study_task *d);
/* Task index task's recorded data into *out: 1 when recorded, 0 when not
 * (a study made before schema 2, until a search continues it), negative on
 * error. */
int taml_store_task_data_get(taml_store *s, int32_t task, taml_study_task *out, taml_err *err);
/* Records it (once per task: a second call fails with EINVAL). */
int taml_store_task_data_put(taml_store *s, int32_t task, const taml_study_task *d, taml_err *err);

/* An embedding module as the study recorded it: the name the space gives,
 * the file it was found at, the file's size and its stored CRC-32 (see
 * embed/module.h's taml_module_stamp). Strings as for taml_study_task. */
typedef struct taml_study_module {
    char *name, *path;
    uint64_t size;
    uint32_t crc32;
    double recorded;
} taml_study_module;
void taml_study_module_deinit(taml_study_module *m);
/* The record of module name: 1, 0 when none, negative on error. */
int taml_store_module_get(taml_store *s, const char *name, taml_study_module *out, taml_err *err);
/* Records it (once per name: a second call fails with EINVAL). */
int taml_store_module_put(taml_store *s, const taml_study_module *m, taml_err *err);

/* Adds a PENDING trial from t->task, method, config_json, actions, seed and
 * sets t->id, t->state, t->queued_at. */
int taml_store_trial_add(taml_store *s, taml_trial *t, taml_err *err);
/* PENDING -> RUNNING on worker; sets started_at. Fails (EINVAL) if the trial
 * is not pending. */
int taml_store_trial_start(taml_store *s, int64_t id, int32_t worker, taml_err *err);
/* RUNNING -> r->state (a final state), with r's valid_acc, test_acc, loss,
 * steps, train_seconds, error (NULL keeps the one recorded by a retry),
 * update_seq (0 = not applied yet), rungs and, for a PRUNED state, reward
 * and pruned_rung (in 0 .. n_rungs - 1) (schema 6) and worker (when >= 0: the worker is
 * often known only when the result comes back); sets finished_at and adds
 * one to attempts. Fails (EINVAL) if the trial is not running; TAML_ASSERT if
 * r->state is not final (a bug in the caller). */
int taml_store_trial_finish(taml_store *s, int64_t id, const taml_trial *r, taml_err *err);
/* Records that the controller applied trial id's reward as update number seq
 * (reward: the reward it applied when that is not the trial's valid_acc, else
 * NaN). The trial must be final and not yet applied. */
int taml_store_trial_applied(taml_store *s, int64_t id, int64_t seq, double reward, taml_err *err);
/* RUNNING -> PENDING for trial id, whose worker process died while it ran:
 * attempts + 1 (the new count in *attempts, may be NULL), error (the how,
 * borrowed) recorded. Fails (EINVAL) if the trial is not running. */
int taml_store_trial_retry(taml_store *s, int64_t id, const char *error, int32_t *attempts,
                           taml_err *err);
/* RUNNING -> PENDING for every running trial (a search that died left them);
 * *n (may be NULL) gets how many. */
int taml_store_requeue(taml_store *s, int64_t *n, taml_err *err);
/* Reads trial id into *out (heap copies; taml_trial_deinit). ENOTFOUND if none. */
int taml_store_trial_get(taml_store *s, int64_t id, taml_trial *out, taml_err *err);
/* Number of trials in state st (or all trials when st < 0), of task (or all
 * tasks when task < 0). Negative status on error. */
int64_t taml_store_count(taml_store *s, int st, int32_t task, taml_err *err);
/* Highest update_seq recorded (0 when none). */
int64_t taml_store_last_seq(taml_store *s, taml_err *err);

/* Saves a controller checkpoint taken after update number after_seq (blob is
 * the controller's own serialisation), with the per-task reward baselines it
 * holds (baseline/sigma may be NULL, else n_tasks values each, for reports).
 * The store keeps the study's first checkpoint and the newest one: resume
 * needs the newest; a report can rebuild the controller after any update k
 * by replaying updates 1..k (TAML_ITER_BY_SEQ) onto the first. */
int taml_store_checkpoint_save(taml_store *s, int64_t after_seq, const void *blob, size_t size,
                               int32_t n_tasks, const double *baseline, const double *sigma,
                               taml_err *err);
/* The newest checkpoint: *blob (heap, caller frees), *size, *after_seq.
 * Returns 1 when there is one, 0 when none (*blob NULL), negative on error. */
int taml_store_checkpoint_last(taml_store *s, void **blob, size_t *size, int64_t *after_seq,
                               taml_err *err);
/* The first checkpoint (the controller before any update of this study: for
 * a transfer, the source controller with the new tasks added); as above. */
int taml_store_checkpoint_first(taml_store *s, void **blob, size_t *size, int64_t *after_seq,
                                taml_err *err);

/* The per-task reward baselines saved with the newest checkpoint: for each
 * task 0..n_tasks-1, baseline[i] and sigma[i] (NAN where none was saved).
 * Resume carries them on, so that a checkpoint written after it holds what
 * an uninterrupted run's would. Returns 1 when there is a checkpoint, 0 when
 * none (all NAN), negative on error. */
int taml_store_checkpoint_last_baselines(taml_store *s, int32_t n_tasks, double *baseline,
                                         double *sigma, taml_err *err);

/* Reading trials in order, for reports and resume. */
typedef struct taml_store_iter taml_store_iter;
enum {
    TAML_ITER_BY_ID = 0,  /* every trial, by id */
    TAML_ITER_BY_SEQ = 1, /* trials the controller applied, by update_seq */
};
/* Iterates trials in the given order; with order BY_SEQ only those with
 * update_seq > after_seq (after_seq is ignored for BY_ID). */
int taml_store_iter_new(taml_store *s, int order, int64_t after_seq, taml_store_iter **out,
                        taml_err *err);
/* Fills *t with the next trial and returns 1; returns 0 at the end, negative
 * on error. The strings and arrays in *t belong to the iterator and stay
 * valid until the next call (do not deinit them; copy what you keep). */
int taml_store_iter_next(taml_store_iter *it, taml_trial *t, taml_err *err);
void taml_store_iter_free(taml_store_iter *it);

/* An ensemble of a task's trials (search/ensemble.h builds it), as the
 * study records it: one per task, the last one recorded. For
 * taml_store_ensemble_put the arrays are borrowed; taml_store_ensemble_get
 * fills heap copies that taml_store_ensemble_deinit frees. */
typedef struct taml_store_ensemble {
    int32_t task;
    char *selection;     /* "top" (the K best by validation) or "greedy" (Caruana's) */
    int32_t size;        /* K asked for */
    int32_t candidates;  /* trials retrained to choose from (top: K) */
    int64_t trials;      /* the task's finished trials when it was built */
    int32_t n_members;   /* distinct members, >= 1 */
    int64_t *member;     /* (n_members) trial ids, in the model file's order */
    int32_t *weight;     /* (n_members) >= 1: how often greedy selection picked it */
    double valid_acc, test_acc; /* of the averaged probabilities */
    double created;      /* Unix seconds (set by put) */
    char *taml_version;  /* the taml that built it */
} taml_store_ensemble;

void taml_store_ensemble_deinit(taml_store_ensemble *e);
/* Records e as task e->task's ensemble, replacing the one recorded before
 * (one transaction; schema 4: taml_store_upgrade first). Fails (TAML_EINVAL)
 * for a task or member trial the study does not hold, no member or a
 * weight < 1. */
int taml_store_ensemble_put(taml_store *s, const taml_store_ensemble *e, taml_err *err);
/* Task task's recorded ensemble into *out: 1 when there is one, 0 when none
 * (also in a study of a schema before 4, opened to read), negative on error. */
int taml_store_ensemble_get(taml_store *s, int32_t task, taml_store_ensemble *out,
                            taml_err *err);

/* A transfer study's source as the study records it (once, when the study
 * is made): source is the --from as given (a study, a checkpoint or a
 * controller file), source_space its controller's own space (canonical
 * JSON) and fingerprint (hex), grown 1 when that space is not the study's,
 * mapping_json the mapping (ctrl/grow.h's taml_grow_plan_json; with
 * grown 0, every decision "same") and summary its line for people
 * ("nothing changed" when not grown). Strings as for taml_study_task. */
typedef struct taml_store_transfer {
    char *source, *source_space, *source_fingerprint;
    int grown;
    char *mapping_json, *summary;
    double recorded; /* Unix seconds (set by put) */
} taml_store_transfer;
void taml_store_transfer_deinit(taml_store_transfer *t);
/* Records it (schema 5; once: a second call fails with EINVAL). */
int taml_store_transfer_put(taml_store *s, const taml_store_transfer *t, taml_err *err);
/* The record: 1, 0 when none (not a transfer, a study made before schema
 * 5, or a transfer made before taml recorded it), negative on error. */
int taml_store_transfer_get(taml_store *s, taml_store_transfer *out, taml_err *err);

/* Wall-clock time in Unix seconds (the store's time stamps). */
double taml_store_now(void);

#endif
