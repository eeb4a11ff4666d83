/* tests/test_fetch_scripts.c - the Python helpers of the task fetchers
 * (the .py modules of scripts/fetch): runs their offline self-test, scripts/fetch/selftest.py,
 * which checks fortune parsing, the suite's write rules (dedupe, conflicting
 * labels, small classes, byte-identical output), licence lookup, WordNet and
 * archive-index parsing on made-up fixtures. No network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test.h"

TEST(fetch_python_helpers_pass_their_offline_selftest)
{
    FILE *p = popen("python3 scripts/fetch/selftest.py 2>&1", "r");
    CHECK(p != NULL);
    char out[16384];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "selftest failed (status %d):\n%s", status, out);
    CHECK_CONTAINS(out, "\nOK");
    int ran = 0;
    const char *r = strstr(out, "Ran ");
    CHECK(r != NULL && sscanf(r, "Ran %d test", &ran) == 1);
    CHECK_MSG(ran >= 9, "selftest ran %d tests; expected at least 9", ran);
}
