/* cli/cli.h - the taml command line: one function per top-level command, each
 * in its own file src/cli/<command>.c, dispatched by taml_cli_main
 * (src/cli/main.c). Commands parse their arguments (cli/args.h), call the
 * library, print results and return the process exit status (0 ok, 1
 * failure, 2 usage error). Only this layer prints to the user, decides the
 * exit status, or reads the environment: what it reads is in taml_cli_env,
 * read once by taml_cli_main and passed down as arguments and options. */
#ifndef TAML_CLI_H
#define TAML_CLI_H

#include <stdint.h>

#include "core/err.h"
#include "exec/pool.h"
#include "nn/blas.h"

/* The environment variables taml reads, all here (each is documented where
 * taml_cli_main reads it, src/cli/main.c). NULL: unset or empty. */
typedef struct taml_cli_env {
    const char *home;       /* TAML_HOME: taml's own files (scripts/) */
    const char *modules;    /* TAML_MODULES: the module library (below --modules) */
    const char *data;       /* TAML_DATA: the task directory of data fetch/list */
    taml_blas_opts blas;    /* TAML_BLAS_CORETYPE, OPENBLAS_CORETYPE */
    int mpi_launch_size;    /* from OMPI_COMM_WORLD_SIZE, PMI_SIZE (1: no launcher) */
} taml_cli_env;

/* A child for `taml search` in place of the real one (a test double: the
 * real taml has none, tests/fake_main.c builds taml-fake with one). */
typedef struct taml_cli_child {
    /* Prepares the child for the n_tasks task directories: *ctx is given
     * to run, (*names)[i] is task i's name (owned by *ctx). Errors name
     * the directory. */
    int (*open)(void **ctx, int32_t n_tasks, const char *const *task_dirs,
                const char *const **names, taml_err *err);
    taml_job_fn run; /* a job function (exec/pool.h), called on the workers */
    void (*close)(void *ctx);
} taml_cli_child;

typedef struct taml_cli_hooks {
    const taml_cli_child *search_child; /* NULL: the real child */
} taml_cli_hooks;

/* What every command is given besides its arguments. */
typedef struct taml_cli {
    taml_cli_env env;
    const taml_cli_hooks *hooks; /* never NULL (no hooks: all fields NULL) */
} taml_cli;

/* The whole command line: argv[1] is the command. hooks: NULL for taml
 * itself (src/cli/main.c's main). Returns the exit status. */
int taml_cli_main(int argc, char **argv, const taml_cli_hooks *hooks);

/* The commands: argv[0] is the command's name ("data", "train", ...). Add
 * one line here and one line in main.c's table per command. */

/* `taml data info|fetch|list`: task directories (src/cli/data.c); fetch and
 * list, the real task suite, are in src/cli/data_fetch.c. */
int taml_cmd_data(const taml_cli *cli, int argc, char **argv);
int taml_cli_data_fetch(const taml_cli *cli, int argc, char **argv);
int taml_cli_data_list(const taml_cli *cli, int argc, char **argv);
/* `taml search`: run or continue a study (src/cli/search.c). */
int taml_cmd_search(const taml_cli *cli, int argc, char **argv);
/* `taml embed ...`: embedding modules (src/cli/embed.c). */
int taml_cmd_embed(const taml_cli *cli, int argc, char **argv);
/* `taml status STUDY [--against RANDOM_STUDY] [--budget T] [--json]` (src/cli/status.c). */
int taml_cmd_status(const taml_cli *cli, int argc, char **argv);
/* `taml train`: one child model on one task (src/cli/train.c). */
int taml_cmd_train(const taml_cli *cli, int argc, char **argv);
/* `taml report STUDY... [-o FILE.html]`: the HTML report (src/cli/report.c). */
int taml_cmd_report(const taml_cli *cli, int argc, char **argv);
/* `taml export STUDY --task NAME -o MODEL` (src/cli/export.c), `taml predict MODEL`
 * (src/cli/predict.c): the best model as a file, and predictions from it. */
int taml_cmd_export(const taml_cli *cli, int argc, char **argv);
int taml_cmd_predict(const taml_cli *cli, int argc, char **argv);

/* Prints what an ensemble build found (src/cli/export.c; `taml search
 * --ensemble` prints it too). */
struct taml_ensemble_result;
void taml_cli_ensemble_print(const char *task, const struct taml_ensemble_result *r);

/* `taml ask`, `taml tell`: a study's trials handed out and their results
 * taken back (src/cli/ask.c). */
int taml_cmd_ask(const taml_cli *cli, int argc, char **argv);
int taml_cmd_tell(const taml_cli *cli, int argc, char **argv);

/* `taml controller export|info|default`: controller files
 * (src/cli/controller.c). */
int taml_cmd_controller(const taml_cli *cli, int argc, char **argv);
/* `taml similar --from CONTROLLER|STUDY --task DIR`: the known tasks ranked
 * by their embeddings' cosine to a new task's (src/cli/similar.c). */
int taml_cmd_similar(const taml_cli *cli, int argc, char **argv);

/* The default space of a study of the given task directories over the
 * module library module_dir (src/cli/search.c): text tasks get the built-in
 * space name ("taml" or "paper", space/space.h) over the text modules (at
 * least one, else ENOTFOUND saying how to make one), image tasks pixels and
 * the image modules whatever the name; tasks of both kinds are refused,
 * naming them. */
struct taml_space;
int taml_cli_default_space(const char *module_dir, const char *name, int n_tasks,
                           const char *const *task_dirs, struct taml_space **space, taml_err *err);
/* The space of a study, as `taml search` and `taml ask` choose it (src/cli/
 * search.c) from their --space flag (NULL when not given): a JSON file, or
 * the built-in space it names ("taml", "paper"); without the flag the space
 * the study at `study` recorded, else (a new transfer study, from_blob not
 * NULL) the space of the controller it starts from, else the default space
 * "taml" of the tasks. */
int taml_cli_study_space(const char *module_dir, const char *flag, const char *study,
                         const void *from_blob, size_t from_size, const char *from_path,
                         int n_tasks, const char *const *task_dirs, struct taml_space **space,
                         taml_err *err);

/* Prints "taml: <message>" for a failed library call and returns 1. */
int taml_cli_fail(const taml_err *err);

/* taml's home: $TAML_HOME, else found from the executable (taml_home).
 * Heap string. */
char *taml_cli_home(const taml_cli *cli);
/* The module library: flag (a command's --modules) when given, else
 * $TAML_MODULES, else <taml home>/data/modules. Heap string. */
char *taml_cli_module_dir(const taml_cli *cli, const char *flag);

/* The progress of an image task's features (nn/image_features.h's
 * callback; user: a taml_cli_features_view, zeroed before the first call)
 * as whole lines on stderr, "features: TASK x MODULE: ...": when they are
 * read from the disk cache, while waiting for another process computing
 * them, when a computation starts, every tenth of the images computed (at
 * most one line a second) and at the end. Whole lines: a worker process's stderr reaches the search's
 * line by line (exec/proc.h). Not "taml:" lines, which report a death. */
typedef struct taml_cli_features_view {
    double t0;    /* when the current computation started */
    int64_t next; /* images at which the next line is due */
    double last;  /* when the last line was printed */
} taml_cli_features_view;
void taml_cli_features_progress(void *user, const char *task, const char *module, int64_t done,
                                int64_t total, int cached);

#endif
