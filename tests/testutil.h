/* tests/testutil.h - helpers the tests share for running programs as a user
 * runs them: the taml binary ($TAML_BIN, set by `make test`) and taml-fake
 * ($TAML_FAKE_BIN), shell commands
 * and the Python self-tests. Linked into both test runners (the tests/ files and,
 * through the Makefile, tests/mpi/). */
#ifndef TAML_TESTUTIL_H
#define TAML_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

struct taml_search_progress;

/* <the test's tmpdir>/name, with no file left there (heap). */
char *taml_test_tmp_path(const char *name);

/* Stops a search (search.h's stop and progress, user = the stopper) once
 * `after` results came in this run (0: never); stop says whether it did. */
typedef struct taml_test_stopper {
    volatile int stop;
    int64_t after, seen;
} taml_test_stopper;
void taml_test_stopper_progress(void *user, const struct taml_search_progress *p);

/* Runs `cmd` (a shell fragment) through /bin/sh with stdout and stderr
 * captured together; returns the exit status (-1 when the shell did not exit
 * normally, e.g. was killed) and the output in *out (heap, caller frees).
 * Fails the calling test when the shell cannot be started. */
int taml_test_run(const char *cmd, char **out);

/* Runs `$TAML_BIN args` (a shell fragment) in the test's tmpdir with
 * TAML_MODULES=lib (a module library); returns the exit status and stdout
 * and stderr in *out (heap), as taml_test_run. */
int taml_test_taml_in(const char *lib, const char *args, char **out);

/* The path of the taml binary from $TAML_BIN; fails the calling test when it
 * is not set (the tests must be run with `make test`). */
const char *taml_test_bin(void);
/* The path of taml-fake from $TAML_FAKE_BIN (tests/fake_main.c: taml with
 * the fake child in `taml search` when TAML_FAKE_CHILD=US is set); fails the
 * calling test when it is not set. */
const char *taml_test_fake_bin(void);

/* Runs `$TAML_BIN args` (a shell fragment) and checks that it exits with
 * status and that its output (stdout and stderr) contains says; for status
 * 2 (a usage error) also that the command's usage follows ("usage: taml"). */
void taml_test_cli_says(const char *args, int status, const char *says);
/* One usage error of a command: its arguments and what its message says. */
typedef struct taml_test_usage_case {
    const char *args, *says;
} taml_test_usage_case;
/* taml_test_cli_says(args, 2, says) for each of the n cases. */
void taml_test_cli_usage_errors(const taml_test_usage_case *cases, size_t n);

/* Runs `/usr/bin/python3 script` (a unittest self-test, from the repository
 * root) and checks that it exits 0, prints "OK" on a line of its own and ran
 * at least min_tests tests; a failure shows the script's output. */
void taml_test_python_selftest(const char *script, int min_tests);

/* Image tasks and modules without data/: the tiny CNN of
 * tests/fixtures/vision/tiny (12 x 12 input, 56 features) imported as
 * <tmpdir>/lib/tiny-cnn.tamlm, the library's directory returned (heap);
 * and a copy of tests/fixtures/tasks/u8-mini (10 RGB images of 2 x 2, 3
 * classes; 6/2/2) as <tmpdir>/name (heap), so that the features' disk
 * cache is written there, never in the repository. */
char *taml_test_tiny_image_library(void);
char *taml_test_image_task(const char *name);
/* A space of one configuration on the tiny module (deep tower on, wide
 * tower disabled, 1000 samples), written as <tmpdir>/tiny-space.json; its
 * path (heap). */
char *taml_test_tiny_image_space(void);
/* `taml search --study STUDY --task dir --method random --trials N
 * --workers 1 --seed 3` over that space with TAML_MODULES=lib, in the
 * test's tmpdir; checks it exits 0 and returns its output (heap). */
char *taml_test_tiny_image_search(const char *lib, const char *dir, const char *study, int trials);
/* `taml predict MODEL --images dir/images.u8` with no module library
 * (a model needs none): checks it exits 0 and returns its lines. */
int taml_test_predict_image_lines(const char *model, const char *dir);

#endif
