/* tests/study_compare.h - see study_compare.c. */
#ifndef TAML_TESTS_STUDY_COMPARE_H
#define TAML_TESTS_STUDY_COMPARE_H

#include <stdint.h>

/* 1 when the studies at paths a and b hold the same trials (all but timings
 * and workers), the same newest checkpoint (the same controller states, bit
 * for bit, decoded: a checkpoint of another format version may differ in
 * its bytes) after the same update, and the same reward baselines;
 * *n_trials (may be NULL) gets how many trials were compared. Prints the
 * first difference. */
int same_studies(const char *a, const char *b, int64_t *n_trials);

/* Every trial of the study at path as a line "id state attempts valid
 * error" ("-" for no error), in id order (heap; caller frees; NULL when the
 * study cannot be read): what same_studies leaves out, the runs a trial
 * took and what its retries said, to compare as text. */
char *study_trial_lines(const char *path);

#endif
