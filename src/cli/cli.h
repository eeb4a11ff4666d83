/* cli/cli.h - the taml command line: one function per top-level command, each
 * in its own file src/cli/<command>.c, dispatched by src/cli/main.c.
 * Commands parse their arguments, call the library, print results and return
 * the process exit status (0 ok, 1 failure, 2 usage error). Only this layer
 * prints to the user or decides the exit status. */
#ifndef TAML_CLI_H
#define TAML_CLI_H

#include "core/err.h"

/* argv[0] is the command name ("data", "train", ...). Add one line here and
 * one line in main.c's table per command. */

/* `taml data info|...`: task directories (src/cli/data.c). */
int taml_cmd_data(int argc, char **argv);
int taml_cmd_search(int argc, char **argv);
/* `taml data fetch` and `taml data list`: the real task suite (src/cli/data_fetch.c). */
int taml_cli_data_fetch(int argc, char **argv);
int taml_cli_data_list(int argc, char **argv);
/* taml embed ...: embedding modules (src/cli/embed.c). */
int taml_cmd_embed(int argc, char **argv);

/* `taml status STUDY [--against RANDOM_STUDY] [--budget T] [--json]` (src/cli/status.c). */
int taml_cmd_status(int argc, char **argv);
/* `taml train`: one child model on one task (src/cli/train.c). */
int taml_cmd_train(int argc, char **argv);
/* `taml report STUDY... [-o FILE.html]`: the HTML report (src/cli/report.c). */
int taml_cmd_report(int argc, char **argv);

/* `taml export STUDY --task NAME -o MODEL` (src/cli/export.c), `taml predict MODEL`
 * (src/cli/predict.c): the best model as a file, and predictions from it. */
int taml_cmd_export(int argc, char **argv);
int taml_cmd_predict(int argc, char **argv);

/* Prints "taml: <message>" for a failed library call and returns 1. */
int taml_cli_fail(const taml_err *err);
/* Prints "taml <cmd>: <message>\n<usage>" and returns 2. */
int taml_cli_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
