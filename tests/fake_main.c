/* tests/fake_main.c - build/taml-fake: the taml command line (every command
 * of src/cli, through taml_cli_main) with the fake child of
 * tests/fake_child.h in `taml search` when TAML_FAKE_CHILD=US is set (US:
 * microseconds each trial sleeps; 0 is allowed). Then tasks are not loaded:
 * a task is any existing directory, named by its base name. Without
 * TAML_FAKE_CHILD it is taml itself. TAML_FAKE_FAULTS=KIND=ID,... makes
 * trial ID misbehave (segv, segv-once, hang, alloc: tests/fake_child.h),
 * segv-once keeping its markers in TAML_FAKE_FAULT_DIR.
 *
 * For the tests that run whole searches as a user does, thousands of trials
 * in seconds, and kill them (tests/test_search_cli.c, tests/test_report.c,
 * tests/mpi/test_mpi.c; `make test` passes its path as TAML_FAKE_BIN). The
 * real build/taml has no fake child and reads no TAML_FAKE_CHILD. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"
#include "fake_child.h"

typedef struct fake_ctx {
    taml_fake_child child;
    int32_t n_tasks;
    char **names;
} fake_ctx;

static taml_fake_child child; /* from TAML_FAKE_CHILD and TAML_FAKE_FAULTS, read in main */

static void fake_close(void *ctx)
{
    fake_ctx *f = ctx;
    for (int32_t i = 0; i < f->n_tasks; i++) free(f->names[i]);
    free(f->names);
    free(f);
}

static int fake_open(void **ctx, int32_t n_tasks, const char *const *task_dirs,
                     const char *const **names, taml_err *err)
{
    fake_ctx *f = taml_calloc(1, sizeof *f);
    f->child = child;
    f->names = taml_calloc((size_t)n_tasks, sizeof *f->names);
    for (int32_t i = 0; i < n_tasks; i++) {
        if (!taml_is_dir(task_dirs[i])) {
            fake_close(f);
            return taml_err_set(err, TAML_ENOTFOUND, "%s: no such task directory", task_dirs[i]);
        }
        char *copy = taml_strdup(task_dirs[i]);
        f->names[f->n_tasks++] = taml_strdup(basename(copy));
        free(copy);
    }
    *ctx = f;
    *names = (const char *const *)f->names;
    return TAML_OK;
}

static void fake_run(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    taml_fake_child_run(&((fake_ctx *)ctx)->child, worker, job, out);
}

int main(int argc, char **argv)
{
    static const taml_cli_child fake = {fake_open, fake_run, fake_close};
    static const taml_cli_hooks hooks = {.search_child = &fake};
    const char *us = getenv("TAML_FAKE_CHILD");
    if (!us || !*us) return taml_cli_main(argc, argv, NULL);
    child.sleep_us = atoi(us);
    if (taml_fake_child_faults(&child, getenv("TAML_FAKE_FAULTS"))) {
        fprintf(stderr, "taml-fake: TAML_FAKE_FAULTS: not KIND=ID[,KIND=ID...]\n");
        return 2;
    }
    child.fault_dir = getenv("TAML_FAKE_FAULT_DIR");
    return taml_cli_main(argc, argv, &hooks);
}
