/* cli/main.c - main() of the `taml` command: the whole command line is
 * taml_cli_main (src/cli/cli.c), run without hooks. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return taml_cli_main(argc, argv, NULL);
}
