/* data/fetch.h - the driver of the real task suite's fetchers (docs/tasks.md):
 * finds the fetch scripts, decides which tasks a request names and which of
 * them are already fetched, and runs a script.
 *
 * A fetcher is an executable file scripts/fetch/tasks/NAME under taml's home,
 * called as `NAME OUT_DIR`; it writes the task directory OUT_DIR and, as its
 * very last step, OUT_DIR/SOURCES (the packages and versions it read). So a
 * SOURCES file marks a finished fetch; it is removed before a script runs,
 * so a fetch that fails half-way never looks finished. The CLI
 * (`taml data fetch`, src/cli/data_fetch.c) prints; this module does not.
 */
#ifndef TAML_DATA_FETCH_H
#define TAML_DATA_FETCH_H

#include <stdint.h>

#include "core/err.h"

/* The tasks one request asks for, in the order they will be fetched. */
typedef struct taml_fetch_plan {
    int32_t n;
    char **names;    /* (n) task names, sorted by byte order, each once */
    char **scripts;  /* (n) path of each task's fetch script */
    char **out_dirs; /* (n) data_dir/NAME */
    int *fresh;      /* (n) 1 when out_dir is already fetched (taml_fetch_is_fresh) */
} taml_fetch_plan;

/* Names of the fetch scripts in scripts_dir: the executable regular files
 * whose name does not start with '.', sorted by byte order. *names is a heap
 * array of heap strings (free with taml_fetch_names_free); a missing or
 * unreadable directory is an error naming it. */
int taml_fetch_scripts(const char *scripts_dir, char ***names, int32_t *n, taml_err *err);
void taml_fetch_names_free(char **names, int32_t n);

/* 1 when out_dir/SOURCES exists and is at least as new as the script and as
 * every shared module (*.py) in shared_dir (the fetchers import them; NULL
 * for none), else 0. */
int taml_fetch_is_fresh(const char *script, const char *out_dir, const char *shared_dir);

/* Plans request wants[0..n_wants) against the scripts in scripts_dir: each
 * want is a task name or "all" (every script); repeats are fetched once. A
 * name without a script is TAML_ENOTFOUND, the message listing the known
 * names. Freshness is judged with scripts_dir/.. as the shared directory.
 * Free with taml_fetch_plan_free. */
int taml_fetch_plan_new(taml_fetch_plan **out, const char *scripts_dir, const char *data_dir,
                        const char *const *wants, int32_t n_wants, taml_err *err);
void taml_fetch_plan_free(taml_fetch_plan *p);

/* Runs `script out_dir` (after creating out_dir and removing
 * out_dir/SOURCES) and waits for it. The script's standard output and error
 * go to file descriptor log_fd. *exit_status gets its exit status (128 + the
 * signal number if a signal ended it). 0 when it exited with status 0 and
 * left out_dir/SOURCES; else TAML_ESYS with a message naming the script and
 * what went wrong. */
int taml_fetch_run(const char *script, const char *out_dir, int log_fd, int *exit_status,
                   taml_err *err);

#endif
