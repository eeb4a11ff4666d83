/* tests/test_module_scripts.c - the Python scripts of the default module
 * library (scripts/modules): runs their offline self-test,
 * scripts/modules/selftest.py (troff and HTML text extraction, the wink JSON
 * conversion, PCA, the module comparison through the built taml). No
 * network. */

#include "test.h"
#include "testutil.h"

TEST(module_library_scripts_pass_their_offline_selftest)
{
    taml_test_python_selftest("scripts/modules/selftest.py", 5);
}
