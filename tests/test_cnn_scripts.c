/* tests/test_cnn_scripts.c - the image-module scripts (scripts/modules:
 * cnn.py, the converter of nsfwjs's models; cnnref.py, the numpy reference
 * of the image op set and pipeline): runs their offline self-test,
 * scripts/modules/selftest_cnn.py (every op on hand-computed values,
 * padding corners included, the resize, batch-norm folding, refusals, and
 * the committed TF.js fixtures of tests/fixtures/vision and its tiny
 * module against the reference). No node, npm or network. */

#include "test.h"
#include "testutil.h"

TEST(image_module_scripts_pass_their_offline_selftest)
{
    taml_test_python_selftest("scripts/modules/selftest_cnn.py", 20);
}
