/* cli/settings.h - the settings of a study that `taml search` and `taml
 * ask` both take (cli/search.c, cli/ask.c): the checks of the flags that go
 * together, and the controller's options given on the command line. */
#ifndef TAML_CLI_SETTINGS_H
#define TAML_CLI_SETTINGS_H

#include <stddef.h>

#include "cli/args.h"
#include "core/err.h"
#include "ctrl/controller.h"
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

#endif
