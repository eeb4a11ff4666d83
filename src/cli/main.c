/* cli/main.c - entry point of the `taml` command: dispatches to the command
 * functions declared in cli.h. Each command lives in src/cli/<command>.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/version.h"

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("taml %s\n", TAML_VERSION);
    return 0;
}

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"version", cmd_version, "print taml's version"},
    {"data", taml_cmd_data, "task directories: info, fetch, list"},
    {"report", taml_cmd_report, "one self-contained HTML report (plots, tables) of studies"},
    {"status", taml_cmd_status, "per-task progress of a study; trials-to-target against random search"},
    {"embed", taml_cmd_embed, "embedding modules: import, list, info, neighbours, coverage, build-defaults"},
    {"train", taml_cmd_train, "train one child model on a task"},
    {"export", taml_cmd_export, "the best model of a study's task as a checked model file"},
    {"predict", taml_cmd_predict, "labels of new texts (or images) from an exported model"},
    {"search", taml_cmd_search, "run or continue a search study (random, aml, multitask, transfer)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: taml COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int taml_cli_fail(const taml_err *err)
{
    fprintf(stderr, "taml: %s\n", err->msg[0] ? err->msg : taml_err_name(err->code));
    return 1;
}

int taml_cli_usage(const char *usage_text, const char *fmt, ...)
{
    va_list ap;
    fputs("taml: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "taml: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
