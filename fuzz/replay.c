/* fuzz/replay.c - main() of the plain fuzz programs (`make fuzz`): replays
 * the files and directories (recursively, skipping dot files) given on the
 * command line through the target's run_one and prints a tally. A crash or
 * abort in run_one is the finding; an unreadable input ends the run with
 * status 1. See replay.h for what a target provides.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "replay.h"

void taml_fuzz_remove_tree(char *root)
{
    if (!root) return;
    taml_err err;
    if (taml_rmtree(root, &err) != 0) fprintf(stderr, "%s\n", err.msg);
    free(root);
}

static void replay(const char *path, int *accepted, int *refused)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char *p = taml_path_join(path, e->d_name);
            replay(p, accepted, refused);
            free(p);
        }
        closedir(d);
        return;
    }
    char *data;
    size_t size;
    taml_err err;
    if (taml_read_file(path, &data, &size, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    if (taml_fuzz_target.run_one((const uint8_t *)data, size))
        ++*accepted;
    else
        ++*refused;
    free(data);
}

int main(int argc, char **argv)
{
    const taml_fuzz_def *t = &taml_fuzz_target;
    if (t->command) {
        int rc = t->command(argc, argv);
        if (rc >= 0) return rc;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...  (%s)\n", argv[0], t->purpose);
        if (t->command_usage) fprintf(stderr, "       %s %s\n", argv[0], t->command_usage);
        return 2;
    }
    int accepted = 0, refused = 0;
    for (int i = 1; i < argc; i++) replay(argv[i], &accepted, &refused);
    printf("%d inputs: %d %s, %d refused with an error, no crash\n", accepted + refused, accepted,
           t->accepted, refused);
    if (t->cleanup) t->cleanup();
    return 0;
}
