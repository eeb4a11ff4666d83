/* taml/taml.h - the one header a program includes to use libtaml (installed
 * by `make install` under PREFIX/include/taml/, found with
 * `pkg-config --cflags --libs taml`).
 *
 * It holds the library's public surface only, as opaque handles and plain
 * data, and includes nothing of taml's sources (src/ stays private: its
 * headers change with the code) and no third-party header. Everything here
 * is implemented in src/api/api.c over the layers below it.
 *
 * Errors: every function that can fail returns 0 on success or a negative
 * code (TAML_API_E*) and, when msg is not NULL, writes a message a user can
 * act on (the file, the trial, what was expected) into msg[TAML_API_MSG].
 * The library never exits and never prints.
 *
 * Ownership: a handle made by *_open is freed by its *_close (NULL is a
 * no-op); strings the library returns in a struct belong to that struct and
 * are freed by its *_deinit; strings passed in are borrowed for the call.
 *
 * Threads: the library keeps no global state. One handle may be used by one
 * thread at a time; different handles may be used from different threads at
 * once (two handles of the same study file serialise on the file's lock).
 */
#ifndef TAML_TAML_H
#define TAML_TAML_H

#include <taml/version.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (the values of taml's own; 0 is success). */
#define TAML_API_OK 0
#define TAML_API_EIO (-1)       /* a file could not be opened, read or written */
#define TAML_API_EFORMAT (-2)   /* input is malformed (a JSON space, a config, a task file) */
#define TAML_API_EINVAL (-3)    /* an argument out of range; a trial not out or told already */
#define TAML_API_ENOTFOUND (-4) /* no such study, task, trial or module; nothing to ask now */
#define TAML_API_ECORRUPT (-5)  /* a checksum or stored structure does not match */
#define TAML_API_EMISMATCH (-6) /* settings that are not the study's; other data or modules */
#define TAML_API_EDB (-7)       /* the study store (SQLite) failed */
#define TAML_API_ESYS (-8)      /* an operating-system call failed */
#define TAML_API_ENOMEM (-9)    /* a block whose size the input sets could not be allocated */

/* Room for a message: pass a char[TAML_API_MSG] (or NULL for none). */
#define TAML_API_MSG 1024

/* The version of the library a program runs with ("MAJOR.MINOR.PATCH"),
 * which may be newer than the TAML_VERSION it was compiled with. */
const char *taml_api_version(void);

/* Loads and checks the BLAS the child model trains with (choosing the
 * machine's fast kernels: it may set OPENBLAS_CORETYPE in the environment).
 * Call it once before starting threads that train, export or predict; the
 * first of those calls makes it otherwise. Safe to call again. */
void taml_api_init(void);

/* ---- studies: ask and tell ------------------------------------------------
 *
 * A study is one SQLite file of trials, as `taml search` and `taml ask`
 * make it (see taml-ask(1)). The handle holds the path and, for a new
 * study, its settings; every ask and tell is one short session on the file
 * (its lock taken and released), so handles in several threads or
 * processes may work on one study at once, and several trials may be out. */
typedef struct taml_api_study taml_api_study;

/* A new study's settings (strings borrowed for the call to open). */
typedef struct taml_api_settings {
    const char *method;             /* "random", "aml", "multitask" or "transfer" */
    int32_t n_tasks;
    const char *const *tasks;       /* (n_tasks) distinct names */
    const char *const *task_dirs;   /* (n_tasks) where each task's data is, recorded for
                                     * taml_api_export and reports; NULL: the names */
    int32_t trials;                 /* per task, >= 1 */
    const char *space_json;         /* the search space as JSON text (docs/formats.md) */
    const char *modules_dir;        /* the module library its embedding names are in (may be NULL) */
    uint64_t seed;                  /* the study seed */
    int deterministic;              /* 1: `taml search --deterministic`'s order */
    int32_t lag;                    /* its lag (0: 1) */
    const char *from;               /* transfer: a multitask study or a checkpoint file */
    /* Pruning (`taml search --pruner`; the space needs a "samples"
     * decision): NULL or "none", "median" or "asha"; its parameters, 0 for
     * the defaults (eta 3, min 1000 samples, warm-up 5). */
    const char *pruner;
    int32_t prune_eta;
    int64_t prune_min;
    int32_t prune_warmup;
} taml_api_settings;

/* Opens the study at path: with settings, makes it when the file holds
 * none, else checks they are the study's (TAML_API_EMISMATCH); NULL opens
 * a study that exists (TAML_API_ENOTFOUND when there is none). *out is
 * freed by taml_api_study_close. */
int taml_api_study_open(taml_api_study **out, const char *path, const taml_api_settings *settings,
                        char *msg);
void taml_api_study_close(taml_api_study *s);

/* The most rungs a trial has. */
#define TAML_API_RUNGS 24

/* A trial handed out; taml_api_trial_deinit frees its strings. */
typedef struct taml_api_trial {
    int64_t id;
    char *task;        /* its task's name */
    uint64_t seed;     /* its seed (taml_api_train takes it) */
    char *config_json; /* the configuration, decisions by name */
    /* A study with a pruner: measure the validation accuracy after
     * rung_samples[k] training samples; below rung_threshold[k] (NAN: no
     * threshold yet) stop and tell the trial "pruned" with the values up
     * to rung k (taml_api_tell_rungs). n_rungs = 0: no rungs. */
    int32_t n_rungs;
    int64_t rung_samples[TAML_API_RUNGS];
    double rung_threshold[TAML_API_RUNGS];
} taml_api_trial;
void taml_api_trial_deinit(taml_api_trial *t);

/* Hands out a trial (of task, or any when NULL) and marks it running.
 * TAML_API_ENOTFOUND when there is nothing to hand out now (the message
 * says why: complete, every trial out, or the trial due waits for one). */
int taml_api_ask(taml_api_study *s, const char *task, taml_api_trial *out, char *msg);
/* Records trial id's result and updates the controller. state: "done",
 * "diverged", "invalid", "failed" (NULL: "done") or, with rungs (below),
 * "pruned"; valid (the reward) and
 * test in [0, 1], test NAN when unknown, valid NAN only for "failed".
 * TAML_API_ENOTFOUND for an unknown trial, TAML_API_EINVAL for one not out
 * or told already, or a value out of range: nothing is recorded then. */
int taml_api_tell(taml_api_study *s, int64_t id, const char *state, double valid, double test,
                  char *msg);
/* taml_api_tell with the validation accuracies at the trial's first
 * n_rungs rungs (a study with a pruner; 0 and NULL: none). state "pruned":
 * the trial stopped at the last of them (valid NAN or that value, test
 * NAN). The values given are what later trials' thresholds come from, so
 * give them for trials that trained to the end too. */
int taml_api_tell_rungs(taml_api_study *s, int64_t id, const char *state, double valid,
                        double test, int32_t n_rungs, const double *rung_acc, char *msg);

/* ---- the built-in child ----------------------------------------------- */

/* What training one child gave. */
typedef struct taml_api_result {
    char state[16];     /* "ok", "diverged", "invalid" or (at rungs) "pruned" */
    double valid, test; /* accuracies on the task's validation and test splits */
    double loss;        /* final training loss */
    int64_t steps;
    double seconds; /* training time */
} taml_api_result;

/* Trains the child of config_json (a trial's config) on the task directory
 * task_dir with seed (a trial's seed: the accuracies `taml search` would
 * record), its embedding module found in modules_dir (NULL: the config's
 * name as a path, or random-D). Single-threaded; one call per thread at a
 * time is safe. */
int taml_api_train(const char *task_dir, const char *config_json, const char *modules_dir,
                   uint64_t seed, taml_api_result *out, char *msg);
/* taml_api_train at a trial's rungs (a study with a pruner): after
 * rung_samples[k] training samples (k < n_rungs, ascending, each below the
 * config's samples) it measures the validation accuracy into rung_acc[k]
 * and, when that is below rung_threshold[k] (NAN: no threshold), stops:
 * state "pruned", valid that rung's accuracy, test NAN. *n_reached: the
 * rungs measured (fewer than n_rungs when pruned or diverged first);
 * rung_acc past it is NAN. Give the trial's fields (trial.n_rungs,
 * trial.rung_samples, trial.rung_threshold), then taml_api_tell_rungs with
 * the state, valid, test, *n_reached and rung_acc. n_rungs 0: as
 * taml_api_train. TAML_API_EINVAL for rungs out of order, more than
 * TAML_API_RUNGS, or one not below the config's samples. */
int taml_api_train_rungs(const char *task_dir, const char *config_json, const char *modules_dir,
                         uint64_t seed, int32_t n_rungs, const int64_t *rung_samples,
                         const double *rung_threshold, double *rung_acc, int32_t *n_reached,
                         taml_api_result *out, char *msg);

/* ---- models ------------------------------------------------------------ */

/* Writes the best model of task in the study at study_path to model_path
 * (retrained and checked against the recorded accuracies, as `taml
 * export`); modules from modules_dir (NULL: the library the study
 * recorded). */
int taml_api_export(const char *study_path, const char *task, const char *model_path,
                    const char *modules_dir, char *msg);

typedef struct taml_api_model taml_api_model;
/* Opens a model file (`taml export`'s); taml_api_model_close frees it. A
 * model is used by one thread at a time. */
int taml_api_model_open(taml_api_model **out, const char *path, char *msg);
void taml_api_model_close(taml_api_model *m);
/* Its classes: *n of them, names owned by the model. */
const char *const *taml_api_model_classes(const taml_api_model *m, int32_t *n);
/* The class of one UTF-8 text (len bytes), tokenised as in training:
 * *label its index into the classes; proba (may be NULL) gets each class's
 * probability ((n classes) doubles). Text models only (TAML_API_EINVAL). */
int taml_api_predict(taml_api_model *m, const char *text, size_t len, int32_t *label,
                     double *proba, char *msg);

#ifdef __cplusplus
}
#endif

#endif
