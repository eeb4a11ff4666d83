/* tests/test_embed_cli.c - `taml embed ...` (src/cli/embed.c) run as a user
 * runs it: the built binary ($TAML_BIN, set by `make test`) with a module
 * library in a temporary directory ($TAML_MODULES). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "test.h"
#include "testutil.h"


static const char glove[] = "The 1 0 0\nfilm 0.9 0.1 0\nmovie 0.9 0.11 0\ncat 0 0 1\ndog 0 0.1 0.9\n"
                            "good 0 1 0\n";

TEST(embed_cli_imports_lists_and_describes_a_module)
{
    const char *root = taml_test_tmpdir();
    char *lib = taml_path_join(root, "lib");
    char *in = taml_path_join(root, "v.txt");
    CHECK(taml_write_file_atomic(in, glove, strlen(glove), NULL) == 0);
    char *out;
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import v.txt --format glove --name en-tiny --language en "
                           "--corpus 'a fixture' --tokens 42 --algorithm hand --meta build_key=k1",
                      &out), 0);
    CHECK_CONTAINS(out, "en-tiny.tamlm: 6 words x 3");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed list", &out), 0);
    CHECK_CONTAINS(out, "en-tiny");
    CHECK_CONTAINS(out, "a fixture");
    CHECK_CONTAINS(out, "random-D");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed info en-tiny", &out), 0);
    CHECK_CONTAINS(out, "corpus_tokens   42");
    CHECK_CONTAINS(out, "build_key       k1");
    CHECK_CONTAINS(out, "first words     the film movie cat dog good");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed neighbours en-tiny Film -k 2", &out), 0);
    CHECK_CONTAINS(out, "nearest to 'film'");
    char *movie = strstr(out, "movie"), *the = strstr(out, "  the");
    CHECK(movie && the && movie < the); /* movie first, then the */
    CHECK(!strstr(out, "cat"));
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed neighbours en-tiny zebra", &out), 1);
    CHECK_CONTAINS(out, "does not know 'zebra'");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed info no-such-module", &out), 1);
    CHECK_CONTAINS(out, "module 'no-such-module' not found");
    free(out);
    free(in);
    free(lib);
}

TEST(embed_cli_reports_task_coverage_and_refuses_bad_imports)
{
    const char *root = taml_test_tmpdir();
    char *lib = taml_path_join(root, "lib2");
    char *in = taml_path_join(root, "v2.txt");
    CHECK(taml_write_file_atomic(in, glove, strlen(glove), NULL) == 0);
    char *out;
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import v2.txt --format glove --name tiny --language en", &out), 0);
    free(out);
    char *cwd = getcwd(NULL, 0);
    char *cmd = taml_asprintf("embed coverage tiny --task '%s/tests/fixtures/tasks/film-mini'", cwd);
    CHECK_EQ_INT(taml_test_taml_in(lib, cmd, &out), 0);
    CHECK_CONTAINS(out, "tiny on film-mini");
    CHECK_CONTAINS(out, "  all ");
    free(out);
    free(cmd);
    cmd = taml_asprintf("embed coverage random-8 --task '%s/tests/fixtures/tasks/film-mini'", cwd);
    CHECK_EQ_INT(taml_test_taml_in(lib, cmd, &out), 0);
    CHECK_CONTAINS(out, "100.0%");
    free(out);
    free(cmd);
    free(cwd);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import v2.txt --format glove --language en", &out), 2);
    CHECK_CONTAINS(out, "taml embed import: --name is required");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import v2.txt --format word2vec-text --name x --language en",
                      &out), 1);
    CHECK_CONTAINS(out, "v2.txt:1: expected the header");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import v2.txt --format glove --name random-5 --language en",
                      &out), 2);
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed frobnicate", &out), 2);
    free(out);
    free(in);
    free(lib);
}

TEST(embed_cli_tokenise_writes_one_line_of_tokens_per_line)
{
    char *out;
    CHECK_EQ_INT(taml_test_taml_in("/nonexistent", "embed tokenise < /dev/null", &out), 0);
    CHECK_STR(out, "");
    free(out);
    const char *root = taml_test_tmpdir();
    char *in = taml_path_join(root, "text.txt");
    const char *text = "Hello, World! It's K\xc3\x96NIG.\n---\nno_newline at end";
    CHECK(taml_write_file_atomic(in, text, strlen(text), NULL) == 0);
    CHECK_EQ_INT(taml_test_taml_in("/nonexistent", "embed tokenise text.txt", &out), 0);
    CHECK_STR(out, "hello world it s k\xc3\xb6nig\nno newline at end\n");
    free(out);
    free(in);
}

/* Every usage rule of `taml embed`, one case each (exit 2, the usage shown). */
TEST(embed_cli_usage_errors_name_themselves_and_exit_2)
{
    static const taml_test_usage_case cases[] = {
        {"embed", "usage: taml embed import"},
        {"embed frobnicate", "taml embed: unknown subcommand 'frobnicate'"},
        {"embed import", "taml embed import: FILE is required"},
        {"embed import v.txt a.txt", "taml embed import: unexpected argument 'a.txt'"},
        {"embed import v.txt --name x --language en", "taml embed import: --format is required"},
        {"embed import v.txt --format glove --language en", "taml embed import: --name is required"},
        {"embed import v.txt --format glove --name x", "taml embed import: --language is required"},
        {"embed import v.txt --format yaml --name x --language en",
         "--format: unknown vector format 'yaml'"},
        {"embed import v.txt --format glove --name random-5 --language en",
         "--name: 'random-5' cannot be a module name"},
        {"embed import v.txt --format glove --name x --language en --dim 0",
         "--dim: 0 is not a whole number in 1..1048576"},
        {"embed import v.txt --format glove --name x --language en --dim 1048577",
         "--dim: 1048577 is not a whole number in 1..1048576"},
        {"embed import v.txt --format glove --name x --language en --tokens -1",
         "--tokens: -1 is not a whole number in 0..9223372036854775807"},
        {"embed import v.txt --format glove --name x --language en --max-words 9223372036854775808",
         "--max-words: 9223372036854775808 is not a whole number in 0..9223372036854775807"},
        {"embed import v.txt --format glove --name x --language en -o", "-o needs a value"},
        {"embed import v.txt --format glove --name x --language en --weird 1",
         "unknown option '--weird'"},
        {"embed list extra", "taml embed list: unexpected argument 'extra'"},
        {"embed info", "taml embed info: MODULE is required"},
        {"embed info a b", "taml embed info: unexpected argument 'b'"},
        {"embed neighbours", "taml embed neighbours: MODULE is required"},
        {"embed neighbours random-8", "taml embed neighbours: WORD is required"},
        {"embed neighbours random-8 w extra", "unexpected argument 'extra'"},
        {"embed neighbours random-8 w -k 0", "-k: 0 is not a whole number in 1..2147483647"},
        {"embed coverage", "taml embed coverage: MODULE is required"},
        {"embed coverage random-8", "taml embed coverage: --task is required"},
        {"embed tokenise --lower", "taml embed tokenise: unknown option '--lower'"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    taml_test_cli_says("embed info --help 2>/dev/null", 0, "usage: taml embed import");
}
