/* tests/test_experiments.c - the experiment scripts of issue 8 (experiments/:
 * tasks.py, metrics.py, run-study, tpe.py, baselines.py, space.py): runs their
 * self-test, experiments/selftest.py, on the fixture tasks. It checks that
 * the baselines see taml's splits and tokens, that metrics.py equals `taml
 * status --against` on real studies, and that every step resumes. Needs
 * python3-sklearn and python3-optuna (scripts/setup installs them). */

#include "test.h"
#include "testutil.h"

TEST(experiment_scripts_pass_their_selftest_against_taml)
{
    taml_test_python_selftest("experiments/selftest.py", 14);
}
