/* tests/test_fetch_scripts.c - the Python helpers of the task fetchers
 * (the .py modules of scripts/fetch): runs their offline self-test, scripts/fetch/selftest.py,
 * which checks fortune parsing, the suite's write rules (dedupe, conflicting
 * labels, small classes, byte-identical output), licence lookup, WordNet and
 * archive-index parsing on made-up fixtures. No network. */

#include "test.h"
#include "testutil.h"

TEST(fetch_python_helpers_pass_their_offline_selftest)
{
    taml_test_python_selftest("scripts/fetch/selftest.py", 9);
}
