/* tests/study_fixture.h - small studies written with the store API for the
 * status and report tests (not a test file: no TEST here). */
#ifndef TAML_TEST_STUDY_FIXTURE_H
#define TAML_TEST_STUDY_FIXTURE_H

/* Writes two studies into the test's temporary directory and returns their
 * paths (heap):
 *   rs.db   random; tasks alpha (12 trials, valid 0.60 .. 0.71, test 0.05
 *           lower) and beta (5 trials at 0.5).
 *   aml.db  aml; tasks alpha (trial 1 failed, ten at valid 0.66 / test 0.60,
 *           trial 12 at 0.72 / 0.70 with layers=3 activation=swish, then a
 *           diverged (0.30) and an invalid (0.50) one, and one pending),
 *           beta (3 trials at 0.8 / 0.75) and "gamma & <co>" (no trial).
 * The space is {"layers":[1,2,3],"activation":["relu","swish"]}. With
 * with_checkpoint, aml.db also gets a controller checkpoint (after update
 * 14) whose three task embeddings are known: alpha = e, beta = -e, gamma = a
 * vector orthogonal to e, so their cosine similarities are 1, -1 and 0. */
void make_fixture(char **rs_path, char **aml_path, int with_checkpoint);

#endif
