/* search/search_prune.c - the search loop's side of pruning (search/prune.h):
 * which earlier trials a trial's thresholds and a pruned trial's reward
 * come from, and the rung values the loop keeps of every finished trial
 * (rebuilt from the store when a study continues, so that a resumed run
 * computes what an uninterrupted one would).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/prune.h"
#include "search/search_internal.h"
#include "store/store.h"

#define R TAML_JOB_RUNGS

int taml_search_prune_setup(search_run *r, taml_err *err)
{
    r->d_samples = taml_space_find(r->space, "samples");
    if (r->prune.pruner == TAML_PRUNER_NONE) return TAML_OK;
    int rc = taml_prune_opts_check(&r->prune, err);
    if (rc) return rc;
    int d = r->d_samples;
    if (d < 0)
        return taml_err_set(err, TAML_EINVAL,
                            "--pruner %s: the search space has no 'samples' decision, so a trial's "
                            "length (and its rungs) are unknown",
                            taml_prune_name(r->prune.pruner));
    for (int c = 0; c < taml_space_choices(r->space, d); c++) {
        const taml_choice *ch = taml_space_choice(r->space, d, c);
        if (ch->kind != TAML_CHOICE_NUMBER || !(ch->num >= 1))
            return taml_err_set(err, TAML_EINVAL,
                                "--pruner %s: choice %d of the space's 'samples' is not a number "
                                ">= 1",
                                taml_prune_name(r->prune.pruner), c + 1);
    }
    return TAML_OK;
}

/* Trial id's training samples (its config's). */
static int64_t samples_of(const search_run *r, int64_t id)
{
    int32_t a = r->acts[(size_t)id * (size_t)r->n_dec + (size_t)r->d_samples];
    return (int64_t)taml_space_choice(r->space, r->d_samples, a)->num;
}

/* Whether finished trial j counts for trial id: same task, and under the
 * deterministic order among 1 .. limit. */
static int counts(const search_run *r, int64_t j, int64_t id, int64_t limit)
{
    return j != id && j <= limit && (r->flags[j] & RUN_FINISHED) && r->task[j] == r->task[id];
}

int32_t taml_search_trial_rungs(const search_run *r, int64_t id)
{
    if (r->prune.pruner == TAML_PRUNER_NONE) return 0;
    int64_t samples[R];
    return taml_prune_rungs(&r->prune, samples_of(r, id), samples, R);
}

void taml_search_job_rungs(search_run *r, int64_t id, taml_job *job)
{
    job->n_rungs = 0;
    if (r->prune.pruner == TAML_PRUNER_NONE) return;
    job->n_rungs = taml_prune_rungs(&r->prune, samples_of(r, id), job->rung_samples, R);
    /* deterministic: trials 1 .. id - lag, those applied when id was sampled */
    int64_t limit = r->deterministic ? id - r->lag : r->next_id - 1;
    double *vals = r->scratch, *tmp = r->scratch + r->cap;
    for (int k = 0; k < job->n_rungs; k++) {
        size_t n = 0;
        for (int64_t j = 1; j <= limit; j++) {
            if (!counts(r, j, id, limit)) continue;
            if (r->prune.pruner == TAML_PRUNER_MEDIAN && (r->flags[j] & RUN_PRUNED)) continue;
            double v = r->rung_acc[(size_t)j * R + (size_t)k];
            if (isfinite(v)) vals[n++] = v;
        }
        job->rung_threshold[k] = taml_prune_threshold(&r->prune, vals, n, tmp);
    }
}

void taml_search_note_rungs(search_run *r, int64_t id, int state, int32_t n, const double *acc,
                            int32_t prung, double final)
{
    if (state == TAML_TRIAL_PRUNED) r->flags[id] |= RUN_PRUNED;
    if (state == TAML_TRIAL_DONE) r->flags[id] |= RUN_COMPLETE;
    if (r->prune.pruner == TAML_PRUNER_NONE) return;
    double *row = r->rung_acc + (size_t)id * R;
    for (int k = 0; k < R; k++) row[k] = k < n ? acc[k] : NAN;
    if (state == TAML_TRIAL_PRUNED) r->prung[id] = (int8_t)prung;
    /* a trial whose length is a rung's gives its end there */
    int k = taml_prune_rung_of(&r->prune, samples_of(r, id));
    if (state == TAML_TRIAL_DONE && k >= 0 && k < R && isfinite(final)) row[k] = final;
}

/* The gains from rung k to the end of the complete trials that count for
 * id and trained past the rung: same_total, only those of id's length. */
static size_t gains(search_run *r, int64_t id, int k, int same_total, double *out)
{
    int64_t limit = r->deterministic ? id - 1 : r->next_id - 1;
    int64_t total = samples_of(r, id), at = r->prune.min_samples;
    for (int i = 0; i < k; i++) at *= r->prune.eta;
    size_t n = 0;
    for (int64_t j = 1; j <= limit; j++) {
        if (!counts(r, j, id, limit) || !(r->flags[j] & RUN_COMPLETE)) continue;
        int64_t tj = samples_of(r, j);
        if (same_total ? tj != total : tj <= at) continue;
        double v = r->rung_acc[(size_t)j * R + (size_t)k];
        if (isfinite(v) && isfinite(r->reward[j])) out[n++] = r->reward[j] - v;
    }
    return n;
}

double taml_search_pruned_reward(search_run *r, int64_t id)
{
    int k = r->prung[id];
    double acc = r->rung_acc[(size_t)id * R + (size_t)k];
    double *g = r->scratch;
    size_t n = gains(r, id, k, 1, g);
    if (n == 0) n = gains(r, id, k, 0, g);
    return taml_prune_reward(acc, g, n);
}
