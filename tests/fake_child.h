/* tests/fake_child.h - a synthetic child for the tests and benchmarks of the
 * search layer (a test double, not part of libtaml): it lets the resume,
 * determinism and overhead checks run thousands of trials in seconds.
 *
 * Linked into the test runners, the benchmarks that need it (see the
 * Makefile) and build/taml-fake (tests/fake_main.c: `taml` with this child
 * in `taml search` when TAML_FAKE_CHILD=US is set, for the tests that kill a
 * running search). The real build/taml has no fake child.
 */
#ifndef TAML_TESTS_FAKE_CHILD_H
#define TAML_TESTS_FAKE_CHILD_H

#include <stdint.h>

#include "exec/pool.h"

/* How a chosen trial misbehaves, for the tests of worker processes
 * (exec/proc.h): the faults a real child could have. */
typedef enum taml_fake_fault_kind {
    TAML_FAKE_SEGV = 1,  /* writes through a null pointer: dies of SIGSEGV */
    TAML_FAKE_SEGV_ONCE, /* the same on its first run only (a marker file in fault_dir) */
    TAML_FAKE_HANG,      /* never returns */
    TAML_FAKE_ALLOC,     /* allocates without bound (taml_malloc: aborts when it fails) */
} taml_fake_fault_kind;

#define TAML_FAKE_FAULTS_MAX 16

/* A deterministic synthetic reward of (task, config, seed) with a known
 * optimum, after sleeping sleep_us microseconds; the trials listed in
 * faults misbehave instead (after the sleep). */
typedef struct taml_fake_child {
    int32_t sleep_us;
    int n_faults;
    struct {
        taml_fake_fault_kind kind;
        int64_t trial; /* the job's id */
    } faults[TAML_FAKE_FAULTS_MAX];
    const char *fault_dir; /* where SEGV_ONCE keeps its markers (borrowed) */
    /* 1: the learning-curve landscape (below) even for a job without rungs
     * (a job with rungs always has it), so that a search with and one
     * without a pruner run on the same landscape */
    int curve;
} taml_fake_child;

/* Reads faults from spec, "KIND=ID[,KIND=ID...]" with KIND segv, segv-once,
 * hang or alloc (e.g. "segv=3,hang=5"); "" or NULL: none. Returns 0, or -1
 * for a spec it cannot read. */
int taml_fake_child_faults(taml_fake_child *f, const char *spec);

/* A taml_job_fn: ctx points to a taml_fake_child (NULL: no sleep). Reports
 * done with the synthetic accuracies, invalid when both towers are disabled
 * (as the real child does), failed when the config is not a JSON object.
 *
 * The learning-curve landscape (a job with rungs, or curve set): the
 * accuracy after x training samples is 0.3 + 0.6 m x / (x + 3000) + noise,
 * m the mean preference of every decision but "samples" (which is the
 * curve's end: longer is better), so a rung's value is what the trial has
 * at that point; below a rung's threshold the trial stops there (pruned,
 * valid = that value, no test accuracy); steps = samples trained / 100. */
void taml_fake_child_run(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out);

#endif
