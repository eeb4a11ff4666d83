/* cli/controller.c - `taml controller export|info|default`: controller
 * files (ctrl/ctrlfile.h, search/ctrlfile.h), the shipped pre-trained
 * controller's format: made from a multitask study, described with their
 * provenance after their checksum is verified, and where taml looks for
 * the shipped one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/version.h"
#include "search/ctrlfile.h"

static const char usage_text[] =
    "usage: taml controller export STUDY -o FILE.tamlctrl [--rebuild CMD]\n"
    "       taml controller info FILE.tamlctrl [--json]\n"
    "       taml controller default [--kind text|image]\n"
    "  export   the newest controller of a multitask (or transfer) study as a\n"
    "           controller file with its provenance: tasks (their data's identity,\n"
    "           trials), seed, order, space, modules, taml version, and --rebuild,\n"
    "           the command that makes the file again (default: the study's own\n"
    "           `taml search` command line)\n"
    "  info     checks a controller file's checksum and framing and prints its\n"
    "           provenance (--json: as JSON)\n"
    "  default  prints where `taml search --method transfer` without --from looks\n"
    "           for the shipped controller of the kind (default text), and exits 1\n"
    "           when it is not there\n"
    "A controller file is a --from of `taml search --method transfer` and of\n"
    "`taml similar`.\n";

enum { O_OUT = 256, O_REBUILD, O_JSON, O_KIND };

static int cmd_export(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, O_OUT}, {"rebuild", required_argument, NULL, O_REBUILD},
        TAML_ARGS_HELP, {0},
    };
    const char *study = NULL, *out = NULL, *rebuild = NULL;
    taml_args a;
    taml_args_init(&a, "controller export", usage_text, argc, argv, "o:", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == 'o' || c == O_OUT) out = a.arg;
        else if (c == O_REBUILD) rebuild = a.arg;
        else if (c == TAML_ARGS_POSITIONAL && study) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) study = a.arg;
    }
    if (!study) return taml_args_required(&a, "STUDY");
    if (!out) return taml_args_required(&a, "-o FILE");
    taml_err err;
    taml_err_clear(&err);
    if (taml_search_ctrlfile_export(study, out, rebuild, TAML_VERSION, &err))
        return taml_cli_fail(&err);
    printf("wrote %s (the controller of %s with its provenance; `taml controller info %s` "
           "shows it)\n",
           out, study, out);
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    static const struct option options[] = {{"json", no_argument, NULL, O_JSON}, TAML_ARGS_HELP, {0}};
    const char *file = NULL;
    int json = 0;
    taml_args a;
    taml_args_init(&a, "controller info", usage_text, argc, argv, "", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_JSON) json = 1;
        else if (c == TAML_ARGS_POSITIONAL && file) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) file = a.arg;
    }
    if (!file) return taml_args_required(&a, "FILE");
    taml_err err;
    taml_err_clear(&err);
    char *text;
    if (taml_search_ctrlfile_describe(file, json, &text, &err)) return taml_cli_fail(&err);
    fputs(text, stdout);
    free(text);
    return 0;
}

static int cmd_default(const taml_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"kind", required_argument, NULL, O_KIND}, TAML_ARGS_HELP, {0}};
    const char *kind = "text";
    taml_args a;
    taml_args_init(&a, "controller default", usage_text, argc, argv, "", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == TAML_ARGS_POSITIONAL) return taml_args_stray(&a);
        if (c == O_KIND && strcmp(a.arg, "text") && strcmp(a.arg, "image"))
            return taml_args_error(&a, "--kind: '%s' is not text or image", a.arg);
        if (c == O_KIND) kind = a.arg;
    }
    char *home = taml_cli_home(cli), *path;
    int there = taml_search_ctrlfile_default(home, kind, &path);
    printf("%s\n", path);
    if (!there) fprintf(stderr, "taml controller: no shipped %s controller at %s\n", kind, path);
    free(path);
    free(home);
    return there ? 0 : 1;
}

int taml_cmd_controller(const taml_cli *cli, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? TAML_CLI_USAGE : 0;
    }
    if (!strcmp(argv[1], "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "default")) return cmd_default(cli, argc - 1, argv + 1);
    fprintf(stderr, "taml controller: unknown subcommand '%s'\n%s", argv[1], usage_text);
    return TAML_CLI_USAGE;
}
