/* tests/test_module_scripts.c - the Python scripts of the default module
 * library (scripts/modules): runs their offline self-test,
 * scripts/modules/selftest.py (troff and HTML text extraction, the wink JSON
 * conversion, PCA, the module comparison through the built taml). No
 * network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test.h"

TEST(module_library_scripts_pass_their_offline_selftest)
{
    FILE *p = popen("/usr/bin/python3 scripts/modules/selftest.py 2>&1", "r");
    CHECK(p != NULL);
    char out[16384];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "selftest failed (status %d):\n%s",
              status, out);
    CHECK_CONTAINS(out, "\nOK");
    int ran = 0;
    const char *r = strstr(out, "Ran ");
    CHECK(r != NULL && sscanf(r, "Ran %d test", &ran) == 1);
    CHECK_MSG(ran >= 5, "selftest ran %d tests; expected 5", ran);
}
