/* search/search.h - a search study: the loop that joins the controller
 * (src/ctrl), the executor (src/exec) and the study store (src/store).
 *
 * Strategies (paper section 4; the enum and its names in search/method.h):
 *   random     uniform sampling of every decision
 *   aml        a fresh controller per task (the single-task baseline)
 *   multitask  one controller for all tasks, a task drawn uniformly per trial
 *   transfer   a multitask controller loaded from a checkpoint, new task
 *              embeddings for the tasks searched now
 *
 * The main thread samples, stores and updates; K workers train children. A
 * trial's child seed is taml_rng_derive(study seed, trial id), so any trial
 * replays alone with `taml train`; the controller's sampling stream and the
 * multitask task draw derive from the same two numbers.
 *
 * Orders. Asynchronous (default): a trial is sampled when a worker is free,
 * updates are applied as results arrive. Deterministic: trial i is sampled
 * from the controller that has applied the rewards of exactly trials 1 ..
 * i - lag, in id order; the result depends on (seed, lag) only, not on the
 * number of workers or their timing, so a parallel run equals a sequential
 * one bit for bit. lag >= workers keeps every worker busy.
 *
 * Resume. Every finished trial is committed with the sequence number of the
 * controller update that used it (update_seq), in the same transaction; a
 * checkpoint of the controller(s) is stored every few updates. Running the
 * same search again restores the newest checkpoint, replays the updates
 * recorded after it in their order, returns trials left running to pending
 * and goes on; the result equals that of a search never interrupted (in
 * deterministic mode, and in asynchronous mode with one worker).
 *
 * Pruning (search/prune.h). With a pruner each job carries its rungs and
 * their thresholds, computed when it is dispatched from the rung values of
 * earlier trials of its task (deterministic: trials 1 .. i - lag only); a
 * child below a threshold stops and is recorded as pruned, with the
 * controller reward prune.h defines, stored with it.
 *
 * Checkpoint blobs in the store: for multitask and transfer, exactly one
 * taml_ctrl_save buffer; for aml, a controller bundle (ctrl/bundle.h), one
 * controller per task in task order; random has none.
 */
#ifndef TAML_SEARCH_SEARCH_H
#define TAML_SEARCH_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ctrl/controller.h"
#include "data/task.h"
#include "exec/pool.h"
#include "search/method.h"
#include "search/prune.h"
#include "space/space.h"
#include "store/store.h"

/* What the progress callback sees after every finished trial (and once at
 * the start). Pointers are valid during the call only. */
typedef struct taml_search_progress {
    int64_t done;    /* finished trials (all states) */
    int64_t total;   /* trials the study will have */
    int64_t running; /* trials on workers now */
    int32_t n_tasks;
    const char *const *task_names; /* (n_tasks) */
    const double *best_valid;      /* (n_tasks) best validation accuracy so far, NAN if none */
    const int64_t *task_done;      /* (n_tasks) finished trials per task */
    double elapsed;                /* seconds since this run started */
    double per_minute;             /* trials finished per minute in this run */
    double eta;                    /* seconds left at that rate, NAN when unknown */
    const taml_trial *last;        /* the trial just finished, NULL at the start */
} taml_search_progress;

typedef struct taml_search_opts {
    taml_search_method method;
    int32_t trials;     /* per task (>= 1): the study ends with trials x tasks trials */
    int32_t workers;    /* >= 1 */
    uint64_t seed;      /* study seed (ignored when resuming unless seed_set) */
    int seed_set;       /* 1: seed was given; on resume it must match the study's */
    int deterministic;  /* 1: the deterministic order (see above) */
    int32_t lag;        /* deterministic lag; 0 = workers */
    /* Pruning (search/prune.h; pruner none: every trial trains to its end).
     * Recorded by a new study; a continued one must be given the same. The
     * space needs a "samples" decision of numbers (the trials' lengths). */
    taml_prune_opts prune;
    /* Controller updates between checkpoints; 0 = 100. A checkpoint of the
     * paper-space controller is about 1.2 MB (weights and Adam state), while
     * replaying an update on resume costs a fraction of a millisecond: rare
     * checkpoints are cheaper, and resume stays exact either way. */
    int32_t checkpoint_every;
    /* transfer: the source controller (a taml_ctrl_save buffer), borrowed;
     * needed only when the study is created, and checked before the study
     * file is made. from_path (may be NULL) is where it was read from, for
     * messages; when it is a study, the data it recorded for a task or a
     * module the new study shares by name must be the same (see below). */
    const void *from_blob;
    size_t from_size;
    const char *from_path;
    /* The data the study runs on (docs/formats.md "The data a study ran
     * on"). task_identity: (n_tasks) the loaded tasks' identities, in task
     * order, recorded in a new study (or one that predates the records) and
     * compared when it continues: other data under a task's name is refused
     * (TAML_EMISMATCH, naming both directories and what differs); NULL:
     * neither (a test double's tasks). modules_dir: the module library the
     * space's module names are found in, recorded for export; each module
     * file of the space's "embedding" choices is recorded by its stamp
     * (embed/module.h) and another file under a recorded name is refused
     * the same way (random-D, and names that are no file, have none). */
    const taml_task_identity *task_identity;
    const char *modules_dir;
    const taml_ctrl_opts *ctrl_opts; /* NULL = the controller's defaults */
    /* A candidate remedy against a transfer locking onto its prior (issue
     * 16; not measured yet): each trial of a controller's method is, with
     * probability explore_uniform (in [0, 1]; 0: off), drawn uniformly, as
     * random search would draw it (the same stream: at 1 every trial is
     * random search's trial of the same id), and its reward still trains
     * the controller. The draw derives from the trial's seed, so resume and
     * the deterministic order are unchanged. Recorded by a new study (in
     * its options, when not 0); a study continued without explore_set keeps
     * its own, with it the value must be the study's. */
    double explore_uniform;
    int explore_set;
    /* Another candidate remedy (issue 16; not measured): trial i of a
     * controller's method is drawn at temperature T_i = 1 + (T - 1) x
     * max(0, 1 - (i - 1) / K) (ctrl/controller.h's taml_ctrl_sample_temp:
     * flatter above 1), T = explore_temperature in (0, 100] (1: off), K =
     * explore_trials (>= 1; 0 means 100): the first trials of the study
     * explore more, decaying linearly to the policy itself after K. The
     * rewards train the controller as always (off-policy steps). Recorded
     * in the study's options when T is not 1 and kept like
     * explore_uniform (explore_set covers both). */
    double explore_temperature;
    int32_t explore_trials;
    const char *taml_version;        /* recorded in a new study */
    /* The child: run on the workers with child_ctx (see exec/pool.h). */
    taml_job_fn child;
    void *child_ctx;
    /* An executor made by the caller (exec/proc.h's worker processes,
     * exec/mpi.h's ranks), borrowed, with taml_pool_workers == workers;
     * NULL: threads of `workers`. */
    taml_pool *pool;
    /* How often a trial whose worker process died (TAML_JOB_DIED) runs
     * again before it is recorded as failed: 0..100 (default 2). Each death
     * is committed (attempts + 1, the error) before the trial is given out
     * again, so a search killed meanwhile resumes as if it never was. A
     * trial that timed out (TAML_JOB_TIMEOUT) is failed at once: it would
     * run as long again. Not kept by the study: like the workers, it is a
     * setting of the run. */
    int32_t retries;
    /* Optional observers, called on the calling thread. */
    void (*progress)(void *user, const taml_search_progress *p);
    void (*log)(void *user, const char *line);
    void *user;
    /* When *stop becomes non-zero (e.g. set by a signal handler) the search
     * starts no new trial, waits for the running ones, records them (and a
     * checkpoint) and returns TAML_OK; the next run continues the study. */
    volatile int *stop;
} taml_search_opts;

/* Fills the defaults: random, 10 trials, 1 worker, seed 1, async, 2 retries. */
void taml_search_opts_default(taml_search_opts *o);

/* Creates (or continues) the study in the store at study_path and runs it
 * until the study holds trials x n_tasks finished trials, or *stop. tasks are
 * named (task_names, unique) and located (task_dirs, recorded for reports);
 * job.task is the index into them. Refuses (TAML_EMISMATCH) to continue a
 * study made with another method, space, task list, seed or order, saying
 * what differs, or with other data under a task's or a module's name (see
 * task_identity above). A larger o->trials than the study recorded extends
 * it (the new number is recorded); a smaller one runs it up to that number
 * and leaves its record as it was. A failed child is recorded as a failed
 * trial and the search goes on, as is a trial whose worker died (after
 * o->retries more runs) or timed out; a store or transport failure stops it
 * (what was committed stays). */
int taml_search_run(const char *study_path, const taml_space *space, int32_t n_tasks,
                    const char *const *task_names, const char *const *task_dirs,
                    const taml_search_opts *o, taml_err *err);

/* Reads the controller a transfer starts from: path is a study file (its
 * newest checkpoint; the study must be multitask or transfer), a controller
 * file (ctrl/ctrlfile.h: its checkpoint, after its checksum and framing are
 * verified; errors name the file and what failed) or a controller
 * checkpoint file. *blob is heap (caller frees). */
int taml_search_load_source(const char *path, void **blob, size_t *size, taml_err *err);
/* 1 when the file at path starts with SQLite's magic (a study file), 0 when
 * not, TAML_EIO (naming it) when it cannot be read or is a directory. */
int taml_search_is_study_file(const char *path, taml_err *err);

#endif
