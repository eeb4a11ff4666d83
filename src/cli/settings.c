/* cli/settings.c - the study settings search and ask share (settings.h). */
#include "cli/settings.h"

#include <math.h>

int taml_cli_settings_check(taml_args *a, const taml_cli_settings *s, taml_search_opts *o)
{
    int m = taml_search_method_parse(s->method);
    if (m < 0)
        return taml_args_error(a, "--method: '%s' is not random, aml, multitask or transfer",
                               s->method);
    o->method = (taml_search_method)m;
    if (m == TAML_SEARCH_TRANSFER && !s->from && !s->from_default)
        return taml_args_error(a, "--method transfer needs --from");
    if (m != TAML_SEARCH_TRANSFER && s->from)
        return taml_args_error(a, "--from is only for --method transfer");
    if ((!isnan(s->ctrl_lr) || !isnan(s->ctrl_entropy)) && m == TAML_SEARCH_RANDOM)
        return taml_args_error(a, "--ctrl-lr and --entropy-weight are for the controller's "
                                  "methods (aml, multitask, transfer)");
    if (o->lag && !o->deterministic) return taml_args_error(a, "--lag is only for --deterministic");
    return 0;
}

int taml_cli_settings_ctrl(const taml_cli_settings *s, const void *from_blob,
                           size_t from_size, taml_ctrl_opts *co, taml_search_opts *o, taml_err *err)
{
    if (isnan(s->ctrl_lr) && isnan(s->ctrl_entropy)) return TAML_OK;
    taml_ctrl_opts_default(co);
    if (from_blob) {
        /* its options, whatever space it was made for (a transfer may carry
         * it over to another: ctrl/grow.h) */
        taml_ctrl *src = NULL;
        taml_space *own = NULL;
        int rc = taml_ctrl_checkpoint_space(&own, from_blob, from_size, s->from, err);
        if (!rc) rc = taml_ctrl_load_named(&src, own, from_blob, from_size, s->from, err);
        taml_space_free(own);
        if (rc) return rc;
        *co = *taml_ctrl_get_opts(src);
        taml_ctrl_free(src);
    }
    if (!isnan(s->ctrl_lr)) co->lr = s->ctrl_lr;
    if (!isnan(s->ctrl_entropy)) co->entropy_weight = s->ctrl_entropy;
    o->ctrl_opts = co;
    return TAML_OK;
}

/* The most --explore-trials (as --trials). */
#define EXPLORE_TRIALS_MAX 1000000

int taml_cli_settings_flag(taml_args *a, int c, taml_search_opts *o, int *prune_given)
{
    int64_t v;
    switch (c) {
    case TAML_CLI_O_PRUNER:
        if ((v = taml_prune_parse(a->arg)) < 0)
            return taml_args_error(a, "--pruner: '%s' is not none, median or asha", a->arg);
        o->prune.pruner = (taml_pruner)v;
        return 0;
    case TAML_CLI_O_PRUNE_ETA:
        if (taml_args_int(a, 2, 100, &v)) return a->status;
        o->prune.eta = (int32_t)v;
        *prune_given = 1;
        return 0;
    case TAML_CLI_O_PRUNE_MIN:
        if (taml_args_int(a, 100, 1000000000, &v)) return a->status;
        o->prune.min_samples = v;
        *prune_given = 1;
        return 0;
    case TAML_CLI_O_PRUNE_WARMUP:
        if (taml_args_int(a, 1, 1000000, &v)) return a->status;
        o->prune.warmup = (int32_t)v;
        *prune_given = 1;
        return 0;
    case TAML_CLI_O_EXPLORE:
        if (taml_args_real(a, 0, 0, 1, 0, &o->explore_uniform)) return a->status;
        break;
    case TAML_CLI_O_EXPLORE_TEMP:
        if (taml_args_real(a, 0, 1, 100, 0, &o->explore_temperature)) return a->status;
        break;
    default:
        TAML_ASSERT(c == TAML_CLI_O_EXPLORE_TRIALS);
        if (taml_args_int(a, 1, EXPLORE_TRIALS_MAX, &v)) return a->status;
        o->explore_trials = (int32_t)v;
        break;
    }
    o->explore_set = 1;
    return 0;
}

int taml_cli_settings_flags_check(taml_args *a, const taml_search_opts *o, int prune_given)
{
    if (prune_given && o->prune.pruner == TAML_PRUNER_NONE)
        return taml_args_error(a, "--prune-eta, --prune-min and --prune-warmup are for --pruner "
                                  "median or asha");
    if (o->explore_set && o->method == TAML_SEARCH_RANDOM)
        return taml_args_error(a, "--explore-uniform, --explore-temperature and --explore-trials "
                                  "are for the controller's methods (aml, multitask, transfer): "
                                  "random search is uniform already");
    if (o->explore_trials && !o->explore_temperature)
        return taml_args_error(a, "--explore-trials is the decay of --explore-temperature T");
    return 0;
}
