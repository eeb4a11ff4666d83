/* cli/settings.h - the settings of a study that `taml search` and `taml
 * ask` both take (cli/search.c, cli/ask.c): the checks of the flags that go
 * together, and the controller's options given on the command line. */
#ifndef TAML_CLI_SETTINGS_H
#define TAML_CLI_SETTINGS_H

#include <stddef.h>

#include "cli/args.h"
#include "core/err.h"
#include "ctrl/controller.h"
#include "search/prune.h"
#include "search/search.h"
#include "space/space.h"

typedef struct taml_cli_settings {
    const char *method, *from;    /* --method, --from (NULL: not given) */
    double ctrl_lr, ctrl_entropy; /* --ctrl-lr, --entropy-weight; NaN: not given */
    int from_default;             /* 1: transfer without --from takes the shipped controller
                                   * (taml search); 0: it needs --from (taml ask) */
} taml_cli_settings;

/* After the parse: --method names a method (set in o->method), transfer
 * comes with --from and only it, the controller's flags not with random,
 * --lag only with --deterministic. 0, or the usage error's status. */
int taml_cli_settings_check(taml_args *a, const taml_cli_settings *s, taml_search_opts *o);

/* The controller's options given replace those of the controller the study
 * starts from (a transfer's source, from_blob; else the defaults) and the
 * others are kept: *co is filled and o->ctrl_opts set to it when any was
 * given (else o is unchanged). Errors: the source does not load. */
int taml_cli_settings_ctrl(const taml_cli_settings *s, const void *from_blob,
                           size_t from_size, taml_ctrl_opts *co, taml_search_opts *o, taml_err *err);

/* The pruner's and the exploration's flags of `taml search` and `taml
 * ask`: the option ids (their struct option entries: TAML_CLI_PRUNE_OPTIONS,
 * TAML_CLI_EXPLORE_OPTIONS). */
enum {
    TAML_CLI_O_PRUNER = 200, TAML_CLI_O_PRUNE_ETA, TAML_CLI_O_PRUNE_MIN, TAML_CLI_O_PRUNE_WARMUP,
    TAML_CLI_O_EXPLORE, TAML_CLI_O_EXPLORE_TEMP, TAML_CLI_O_EXPLORE_TRIALS
};
#define TAML_CLI_EXPLORE_OPTIONS                                                                   \
    {"explore-uniform", required_argument, NULL, TAML_CLI_O_EXPLORE},                             \
        {"explore-temperature", required_argument, NULL, TAML_CLI_O_EXPLORE_TEMP},                \
        {"explore-trials", required_argument, NULL, TAML_CLI_O_EXPLORE_TRIALS}
#define TAML_CLI_PRUNE_OPTIONS                                                                     \
    {"pruner", required_argument, NULL, TAML_CLI_O_PRUNER},                                       \
        {"prune-eta", required_argument, NULL, TAML_CLI_O_PRUNE_ETA},                             \
        {"prune-min", required_argument, NULL, TAML_CLI_O_PRUNE_MIN},                             \
        {"prune-warmup", required_argument, NULL, TAML_CLI_O_PRUNE_WARMUP}

/* Parses the shared flag c (one of the ids above: the switch's default
 * of a command that lists TAML_CLI_PRUNE_OPTIONS and
 * TAML_CLI_EXPLORE_OPTIONS) into o (o->prune, the explore_* fields and
 * explore_set), *prune_given set to 1 by a --prune-* flag. 0, or the usage
 * error's status (a->status). */
int taml_cli_settings_flag(taml_args *a, int c, taml_search_opts *o, int *prune_given);
/* After the parse (o->method set): the --prune-* flags only with a pruner,
 * exploration not with random search, and --explore-trials only with
 * --explore-temperature. */
int taml_cli_settings_flags_check(taml_args *a, const taml_search_opts *o, int prune_given);

#endif
