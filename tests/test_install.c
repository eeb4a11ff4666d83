/* tests/test_install.c - `make install` / `make uninstall` into temporary
 * prefixes, a program built against the installed library with pkg-config,
 * the installed taml finding its files, the man pages linted: all in
 * tests/install_check.sh (a packager's steps are shell steps), run here with
 * the make variables of the build under test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "test.h"
#include "testutil.h"

TEST(install_puts_the_listed_files_builds_with_pkg_config_and_uninstall_leaves_nothing)
{
    char *cmd = taml_asprintf("sh tests/install_check.sh %s", taml_test_tmpdir()), *out;
    int st = taml_test_run(cmd, &out);
    CHECK_MSG(st == 0 && strstr(out, "install_check: ok"), "%s (exit %d):\n%s", cmd, st, out);
    free(cmd);
    free(out);
}
