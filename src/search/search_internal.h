/* search/search_internal.h - what the search loop's two files share; included
 * only inside src/search.
 *
 *   search.c  the loop: sample, dispatch, record results, apply updates,
 *             save checkpoints (taml_search_run)
 *   study.c   the study around it: create a new one, or check that a
 *             continued one is the study asked for (and on its data) and
 *             restore its controllers and per-trial state; the transfer
 *             source reader (taml_search_load_source)
 * (export.c shares the data comparison of study.c.)
 *
 * The run state below is the loop's memory of the study; study.c fills it
 * from the store, search.c advances it.
 */
#ifndef TAML_SEARCH_INTERNAL_H
#define TAML_SEARCH_INTERNAL_H

#include <stdint.h>

#include "core/err.h"
#include "ctrl/controller.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"

/* Stream ids under a trial's seed: the controller's sampling and the
 * multitask task draw get their own generators, distinct from the child's. */
#define STREAM_SAMPLE 0x73616d70ULL /* "samp" */
#define STREAM_TASK 0x7461736bULL   /* "task" */
#define STREAM_EXPLORE 0x6578706cULL /* "expl": search.h's explore_uniform draw */
/* Stream ids under the study seed for the initial controller weights. */
#define STREAM_CTRL 0x6374726cULL /* "ctrl" */

/* Per-trial bookkeeping, indexed by trial id (1-based). */
enum {
    RUN_SAMPLED = 1,
    RUN_FINISHED = 2,
    RUN_APPLIED = 4,
    RUN_NOREWARD = 8,
    RUN_PRUNED = 16,   /* finished as pruned (reward: the estimate once applied) */
    RUN_COMPLETE = 32, /* finished as done: trained to its end, reward = valid accuracy */
};

typedef struct search_run {
    const taml_search_opts *o;
    taml_store *store;
    const taml_space *space;
    int n_dec;
    int32_t n_tasks;
    const char *const *names;
    taml_search_method method;
    uint64_t seed;
    int deterministic;
    int32_t lag;
    double explore; /* search.h's explore_uniform, as the study records it */
    double temp0;    /* search.h's explore_temperature, as the study records it */
    int32_t temp_trials; /* and explore_trials */
    int32_t ckpt_every;

    taml_ctrl **ctrl; /* n_ctrl controllers */
    int n_ctrl;
    int *ctrl_task; /* (n_tasks) the task's id inside its controller */
    double *baseline, *sigma; /* (n_tasks) as of each task's last update */

    int64_t total;    /* trials the study will hold */
    int64_t cap;      /* size of the per-id arrays */
    int32_t *task;    /* (cap) */
    int32_t *acts;    /* (cap, n_dec) */
    uint8_t *flags;   /* (cap) RUN_* */
    double *reward;   /* (cap) */
    int32_t *attempts; /* (cap) runs of the trial that ended, as the store counts them */
    int64_t next_id;  /* the next id to sample */
    int64_t resolved; /* deterministic: trials 1..resolved are applied or reward-less */
    int64_t seq;      /* last controller update number */
    int64_t seq_ckpt; /* update number of the newest checkpoint */

    /* 1: trials the store holds as running stay running when the study is
     * opened (ask/tell: they are out with their askers); 0: they were left
     * by a search that died and return to pending (search.h "Resume") */
    int keep_running;
    int store_flags; /* more taml_store_open flags (ask/tell: TAML_STORE_KEEP_WAL) */

    /* pruning (search_prune.c); rung_acc and prung only with a pruner */
    taml_prune_opts prune;
    int d_samples;     /* the space's "samples" decision, -1 when none */
    double *rung_acc;  /* (cap, TAML_JOB_RUNGS) a finished trial's value at each rung, NaN: none */
    int8_t *prung;     /* (cap) the rung a pruned trial stopped at */
    double *scratch;   /* (2 cap) values and their copy, for the thresholds */

    int64_t *fifo; /* sampled, pending ids waiting for a worker (ring) */
    int64_t fifo_head, fifo_len;
    int64_t inflight;

    /* progress */
    int64_t done;
    int64_t done_this_run;
    double t0;
    double *best_valid;
    int64_t *task_done;
} search_run;

static inline int run_has_ctrl(const search_run *r)
{
    return r->method != TAML_SEARCH_RANDOM;
}

/* The controller that samples and learns for task (aml: one per task). */
static inline taml_ctrl *run_ctrl_of(search_run *r, int32_t task)
{
    return r->method == TAML_SEARCH_AML ? r->ctrl[task] : r->ctrl[0];
}

/* ---- search.c -------------------------------------------------------- */

/* EINVAL, naming it, when a task name is given twice. */
int taml_search_check_names(int32_t n_tasks, const char *const *task_names, taml_err *err);
/* Sets up r for a study of the space and tasks with options o (all
 * borrowed, kept by r), before taml_search_study_open; the deinit frees
 * what r holds (its controllers, arrays and store). */
void taml_search_run_init(search_run *r, const taml_space *space, int32_t n_tasks,
                          const char *const *task_names, const taml_search_opts *o);
void taml_search_run_deinit(search_run *r);
/* Takes the study file's lock (one writer at a time: a search, an ask or a
 * tell), waiting up to wait seconds for another holder; creates the file.
 * A transfer's source is checked first when the study is new. *fd: the
 * lock (close it to release). EINVAL when another holds it still. */
int taml_search_lock(const search_run *r, const char *study_path, const char *const *task_dirs,
                     double wait, int *fd, taml_err *err);
/* Samples trial id (the next one) and stores it as pending (queued). */
int taml_search_sample(search_run *r, int64_t id, taml_err *err);
/* Takes every step the current state allows: deterministic mode applies
 * finished trials in id order, sampling trial m + lag right after trial m is
 * resolved; asynchronous mode samples as long as a worker would be idle. */
int taml_search_advance(search_run *r, taml_err *err);
/* Commits one result of a running trial, in one transaction: the trial,
 * its update (asynchronous), the updates it unblocks (deterministic), and a
 * checkpoint when one is due. A result of a worker that died is a retry
 * while retries are left. */
int taml_search_record(search_run *r, const taml_job_result *res, taml_err *err);

/* A line to the log observer, if any. */
void taml_search_log(search_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes the per-id arrays hold id need (new flags zero). */
void taml_search_grow(search_run *r, int64_t need);
/* Queues sampled, pending trial id for a worker. */
void taml_search_queue(search_run *r, int64_t id);
/* Applies finished trial id's reward to its controller (a no-op for a trial
 * without a reward, or without a controller) and marks it applied; record:
 * also store the update number with the trial. */
int taml_search_apply(search_run *r, int64_t id, int record, taml_err *err);
/* Counts a finished trial of task in the progress figures (valid: its
 * validation accuracy, NAN when it has none). */
void taml_search_count_finished(search_run *r, int32_t task, double valid);
/* Stores a checkpoint of the controllers at the current update number. */
int taml_search_checkpoint(search_run *r, taml_err *err);

/* ---- search_prune.c --------------------------------------------------- */

/* Checks the pruning options and finds the space's samples decision (EINVAL
 * when a pruner has none to read). Called by taml_search_run_init's callers
 * before the study opens. */
int taml_search_prune_setup(search_run *r, taml_err *err);
/* Fills job's rungs and thresholds for trial id (none without a pruner). */
void taml_search_job_rungs(search_run *r, int64_t id, taml_job *job);
/* How many rungs trial id has (0 without a pruner): those of its samples. */
int32_t taml_search_trial_rungs(const search_run *r, int64_t id);
/* Keeps finished trial id's rung values (n of them; final: its validation
 * accuracy when it trained to its end, else NaN) and its RUN_PRUNED /
 * RUN_COMPLETE flag; prung: the rung it was pruned at. */
void taml_search_note_rungs(search_run *r, int64_t id, int state, int32_t n, const double *acc,
                            int32_t prung, double final);
/* The controller reward of pruned trial id (search/prune.h), from the
 * trials before it (deterministic) or every one finished (asynchronous). */
double taml_search_pruned_reward(search_run *r, int64_t id);

/* ---- study.c --------------------------------------------------------- */

/* The pruning settings a study's options record (none when it records
 * none) into *p; -1 for a pruner name this build does not know. */
int taml_search_prune_of_options(const char *options_json, taml_prune_opts *p);

/* Opens (or creates) the store at path into r->store. A new study is
 * created with its controllers and their first checkpoint; a study that
 * exists must be the one asked for (EMISMATCH says what differs): then its
 * controllers are restored, trials left running are returned to pending,
 * and every trial's state is loaded into the per-id arrays. r holds the
 * options, space and tasks (as taml_search_run set them) on entry. */
int taml_search_study_open(search_run *r, const char *path, const char *const *task_dirs,
                           taml_err *err);
/* The store's record (store.h) of identity id loaded from dir (borrowed). */
taml_study_task taml_search_data_of(const taml_task_identity *id, const char *dir);
/* What differs between recorded data was and the data now is, in the terms
 * of docs/formats.md: the kind, the examples per split, else the classes;
 * the labels and the texts (pixels) of each split. buf is "" when they are
 * the same. (export.c uses it too.) */
void taml_search_data_diff(const taml_study_task *was, const taml_study_task *now, char *buf,
                           size_t cap);
/* A transfer's source, before the study file is made: its controller must
 * load into r's space (the message names o->from_path), and when it is a
 * study, the data it recorded under a task or module name the new study
 * shares must be the data now (EMISMATCH). OK for the other methods. */
int taml_search_check_source(const search_run *r, const char *const *task_dirs, taml_err *err);

#endif
