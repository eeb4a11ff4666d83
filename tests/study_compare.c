/* tests/study_compare.c - compares two studies trial by trial and their final
 * controllers, decoded (shared by the search tests; the old-version tests
 * compare a study written by an older taml with one continued by this). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ctrl/bundle.h"
#include "ctrl/controller.h"
#include "store/store.h"
#include "study_compare.h"

/* The controllers of the newest checkpoint of s, decoded for the study's
 * space and saved again (taml_ctrl_save): equal buffers are equal states,
 * whichever version of the format each checkpoint was written in. Returns
 * how many (0 for none or an unreadable one, with a message). */
static int32_t newest_controllers(taml_store *s, const char *path, void ***bufs, size_t **sizes,
                                  int64_t *after)
{
    *bufs = NULL;
    *sizes = NULL;
    *after = -1;
    taml_err err;
    taml_study st;
    void *blob = NULL;
    size_t size = 0;
    taml_space *sp = NULL;
    if (taml_store_study(s, &st, &err)) {
        fprintf(stderr, "    %s: %s\n", path, err.msg);
        return 0;
    }
    int rc = taml_space_from_json(&sp, st.space_json, path, &err);
    taml_study_deinit(&st);
    int have = rc ? -1 : taml_store_checkpoint_last(s, &blob, &size, after, &err);
    if (have == 0) { /* random search: none */
        taml_space_free(sp);
        return 0;
    }
    if (have < 0) rc = -1;
    taml_ctrl **c = NULL;
    int32_t n = 0;
    if (!rc && taml_ctrl_bundle_is(blob, size)) {
        rc = taml_ctrl_bundle_load(&c, &n, sp, blob, size, path, &err);
    } else if (!rc) {
        c = calloc(1, sizeof *c);
        n = 1;
        rc = taml_ctrl_load_named(&c[0], sp, blob, size, path, &err);
    }
    if (!rc) {
        *bufs = calloc((size_t)n + 1, sizeof **bufs);
        *sizes = calloc((size_t)n + 1, sizeof **sizes);
        for (int32_t i = 0; i < n; i++) taml_ctrl_save(c[i], &(*bufs)[i], &(*sizes)[i]);
    } else {
        fprintf(stderr, "    %s: no newest checkpoint read: %s\n", path, err.msg);
    }
    for (int32_t i = 0; c && i < n; i++) taml_ctrl_free(c[i]);
    free(c);
    free(blob);
    taml_space_free(sp);
    return rc ? 0 : n;
}

static void free_buffers(void **bufs, size_t *sizes, int32_t n)
{
    for (int32_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(sizes);
}

/* Two doubles equal bit for bit, or both NaN. */
static int same_real(double x, double y)
{
    return (isnan(x) && isnan(y)) || x == y;
}

/* The same rungs: their count, values, the pruned rung and the reward. */
static int same_rungs(const taml_trial *a, const taml_trial *b)
{
    if (a->n_rungs != b->n_rungs || a->pruned_rung != b->pruned_rung ||
        !same_real(a->reward, b->reward))
        return 0;
    for (int32_t k = 0; k < a->n_rungs; k++)
        if (!same_real(a->rung_acc[k], b->rung_acc[k])) return 0;
    return 1;
}

/* 1 when two studies hold the same trials (everything but timings and
 * workers; with their rungs) and the same final controllers, bit for bit. */
int same_studies(const char *a, const char *b, int64_t *n_trials)
{
    taml_store *sa, *sb;
    taml_err err;
    if (taml_store_open(&sa, a, TAML_STORE_READONLY, &err)) return 0;
    if (taml_store_open(&sb, b, TAML_STORE_READONLY, &err)) {
        taml_store_close(sa);
        return 0;
    }
    taml_store_iter *ia, *ib;
    taml_store_iter_new(sa, TAML_ITER_BY_ID, 0, &ia, &err);
    taml_store_iter_new(sb, TAML_ITER_BY_ID, 0, &ib, &err);
    taml_trial ta, tb;
    int same = 1, ra, rb;
    int64_t n = 0;
    while (same) {
        ra = taml_store_iter_next(ia, &ta, &err);
        rb = taml_store_iter_next(ib, &tb, &err);
        if (ra != rb) same = 0;
        if (ra != 1 || !same) break;
        n++;
        same = ta.id == tb.id && ta.task == tb.task && !strcmp(ta.config_json, tb.config_json) &&
               ta.seed == tb.seed && ta.state == tb.state && ta.update_seq == tb.update_seq &&
               same_real(ta.valid_acc, tb.valid_acc) && same_rungs(&ta, &tb) &&
               ta.n_actions == tb.n_actions &&
               !memcmp(ta.actions, tb.actions, (size_t)ta.n_actions * sizeof(int32_t));
        if (!same)
            fprintf(stderr,
                    "    trials %lld differ:\n"
                    "      %s: id %lld task %d seed %llu state %d update %lld valid %.17g %s\n"
                    "      %s: id %lld task %d seed %llu state %d update %lld valid %.17g %s\n",
                    (long long)ta.id, a, (long long)ta.id, (int)ta.task,
                    (unsigned long long)ta.seed, (int)ta.state, (long long)ta.update_seq,
                    ta.valid_acc, ta.config_json, b, (long long)tb.id, (int)tb.task,
                    (unsigned long long)tb.seed, (int)tb.state, (long long)tb.update_seq,
                    tb.valid_acc, tb.config_json);
    }
    taml_store_iter_free(ia);
    taml_store_iter_free(ib);
    void **ba, **bb;
    size_t *za, *zb;
    int64_t aa, ab;
    int32_t ca = newest_controllers(sa, a, &ba, &za, &aa);
    int32_t cb = newest_controllers(sb, b, &bb, &zb, &ab);
    int equal = ca == cb && aa == ab;
    for (int32_t i = 0; equal && i < ca; i++)
        equal = za[i] == zb[i] && !memcmp(ba[i], bb[i], za[i]);
    if (!equal) {
        fprintf(stderr, "    final checkpoints differ (after update %lld vs %lld)\n",
                (long long)aa, (long long)ab);
        same = 0;
    }
    free_buffers(ba, za, ca);
    free_buffers(bb, zb, cb);
    /* and the reward baselines saved with it (NAN, stored NULL, equals NAN) */
    taml_study st;
    if (same && taml_store_study(sa, &st, &err) == 0) {
        int32_t nt = st.n_tasks;
        taml_study_deinit(&st);
        double *v = calloc((size_t)nt * 4 + 1, sizeof *v);
        taml_store_checkpoint_last_baselines(sa, nt, v, v + nt, &err);
        taml_store_checkpoint_last_baselines(sb, nt, v + 2 * nt, v + 3 * nt, &err);
        for (int32_t i = 0; i < 2 * nt && same; i++) {
            double x = v[i], y = v[2 * nt + i];
            if (!((isnan(x) && isnan(y)) || x == y)) {
                fprintf(stderr, "    final checkpoints' %s of task %d differ: %.17g vs %.17g\n",
                        i < nt ? "baseline" : "sigma", (int)(i % nt), x, y);
                same = 0;
            }
        }
        free(v);
    }
    taml_store_close(sa);
    taml_store_close(sb);
    if (n_trials) *n_trials = n;
    return same;
}

char *study_trial_lines(const char *path)
{
    taml_store *s;
    taml_err err;
    if (taml_store_open(&s, path, TAML_STORE_READONLY, &err)) return NULL;
    taml_store_iter *it;
    if (taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err)) {
        taml_store_close(s);
        return NULL;
    }
    char *all = taml_strdup("");
    taml_trial t;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        char *more = taml_asprintf("%s%lld %s %d %.17g %s\n", all, (long long)t.id,
                                   taml_trial_state_name(t.state), (int)t.attempts, t.valid_acc,
                                   t.error ? t.error : "-");
        free(all);
        all = more;
    }
    taml_store_iter_free(it);
    taml_store_close(s);
    return all;
}
