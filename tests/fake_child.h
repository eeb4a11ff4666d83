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

/* A deterministic synthetic reward of (task, config, seed) with a known
 * optimum, after sleeping sleep_us microseconds. */
typedef struct taml_fake_child {
    int32_t sleep_us;
} taml_fake_child;

/* A taml_job_fn: ctx points to a taml_fake_child (NULL: no sleep). Reports
 * done with the synthetic accuracies, invalid when both towers are disabled
 * (as the real child does), failed when the config is not a JSON object. */
void taml_fake_child_run(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out);

#endif
