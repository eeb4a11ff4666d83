/* tests/ctrl_synth.h - synthetic reward landscapes with a known optimum, for
 * testing and tuning the controller in seconds (tests/test_controller.c,
 * bench/bench_controller.c). Header-only (static functions) so both can use it.
 *
 * Over any space: reward(a) = offset + scale * (S(a) / S(opt) + noise), where
 *   S(a) = sum_d pref_d[a_d] + sum_{pairs (d,e)} J_de[a_d][a_e],
 * pref_d[opt_d] = 1 and every other pref in [0, 0.7); J_de[opt_d][opt_e] = 0.5
 * and every other entry in [0, 0.3): the optimum is exactly `opt`, with
 * normalised reward 1, and a uniform random configuration scores about 0.4.
 * Tasks of one "group" share opt; their other entries differ (own seed).
 */
#ifndef TAML_TESTS_CTRL_SYNTH_H
#define TAML_TESTS_CTRL_SYNTH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"
#include "ctrl/controller.h"
#include "core/rng.h"
#include "space/space.h"

#define SYNTH_MAXD 16
#define SYNTH_MAXC 16
#define SYNTH_PAIRS 8

typedef struct synth {
    int D;
    int n[SYNTH_MAXD];
    int32_t opt[SYNTH_MAXD];
    double pref[SYNTH_MAXD][SYNTH_MAXC];
    int pd[SYNTH_PAIRS], pe[SYNTH_PAIRS];
    double J[SYNTH_PAIRS][SYNTH_MAXC][SYNTH_MAXC];
    double smax;
    double noise, scale, offset;
} synth;

/* A landscape over space with optimum opt (D entries), entries drawn from
 * seed; noise is the standard deviation added to the normalised reward. */
static inline void synth_init(synth *s, const taml_space *space, const int32_t *opt, uint64_t seed,
                              double noise)
{
    taml_rng r;
    taml_rng_seed(&r, seed);
    s->D = taml_space_decisions(space);
    TAML_ASSERT(s->D <= SYNTH_MAXD && s->D >= 2);
    for (int d = 0; d < s->D; d++) {
        s->n[d] = taml_space_choices(space, d);
        TAML_ASSERT(s->n[d] <= SYNTH_MAXC);
        s->opt[d] = opt[d];
        for (int k = 0; k < s->n[d]; k++) s->pref[d][k] = k == opt[d] ? 1.0 : 0.7 * taml_rng_uniform(&r);
    }
    for (int p = 0; p < SYNTH_PAIRS; p++) {
        /* fixed pair structure (independent of seed) so tasks share it */
        s->pd[p] = p % s->D;
        s->pe[p] = (p * 5 + 3) % s->D;
        if (s->pe[p] == s->pd[p]) s->pe[p] = (s->pd[p] + 1) % s->D;
        for (int i = 0; i < SYNTH_MAXC; i++)
            for (int j = 0; j < SYNTH_MAXC; j++) s->J[p][i][j] = 0.3 * taml_rng_uniform(&r);
        s->J[p][opt[s->pd[p]]][opt[s->pe[p]]] = 0.5;
    }
    s->smax = s->D + 0.5 * SYNTH_PAIRS;
    s->noise = noise;
    s->scale = 1;
    s->offset = 0;
}

/* The noise-free normalised reward in [0, 1] (1 at the optimum). */
static inline double synth_value(const synth *s, const int32_t *a)
{
    double v = 0;
    for (int d = 0; d < s->D; d++) v += s->pref[d][a[d]];
    for (int p = 0; p < SYNTH_PAIRS; p++) v += s->J[p][a[s->pd[p]]][a[s->pe[p]]];
    return v / s->smax;
}

/* The reward the controller sees: scaled, shifted, noisy. */
static inline double synth_reward(const synth *s, const int32_t *a, taml_rng *r)
{
    return s->offset + s->scale * (synth_value(s, a) + s->noise * taml_rng_normal(r));
}

/* A random optimum, and one that differs from base in exactly k decisions. */
static inline void synth_random_opt(const taml_space *space, uint64_t seed, int32_t *opt)
{
    taml_rng r;
    taml_rng_seed(&r, seed);
    for (int d = 0; d < taml_space_decisions(space); d++)
        opt[d] = (int32_t)taml_rng_below(&r, (uint64_t)taml_space_choices(space, d));
}

static inline void synth_shift_opt(const taml_space *space, const int32_t *base, int k,
                                   uint64_t seed, int32_t *opt)
{
    int D = taml_space_decisions(space);
    taml_rng r;
    taml_rng_seed(&r, seed);
    for (int d = 0; d < D; d++) opt[d] = base[d];
    int changed = 0;
    for (int d = D - 1; d >= 0 && changed < k; d--) {
        int n = taml_space_choices(space, d);
        if (n < 2) continue;
        opt[d] = (int32_t)((base[d] + 1 + (int)taml_rng_below(&r, (uint64_t)(n - 1))) % n);
        changed++;
    }
}

/* Trains controller c on k tasks at once (ids[i] on landscape ls[i]), each
 * trial drawing a task uniformly (paper 2.2), until every task has had
 * `budget` trials or, with stop set, every task has hit the target: the mean
 * noise-free value of its last `win` trials >= target. hit[i] receives the
 * task's own trial count at its hit (budget + 1 if never), final[i] (may be
 * NULL) the mean of its last `win` values. A uniform random sampler stands
 * in for the controller when c is NULL. rng stream from seed. */
#define SYNTH_MAXT 8
static inline void synth_train(taml_ctrl *c, int k, const int *ids, const synth *const *ls,
                               uint64_t seed, int budget, int win, double target, int stop,
                               int *hit, double *final)
{
    TAML_ASSERT(k >= 1 && k <= SYNTH_MAXT && win >= 1 && win <= 128);
    double w[SYNTH_MAXT][128] = {{0}}, sum[SYNTH_MAXT] = {0};
    int done[SYNTH_MAXT] = {0}, hits_left = k, active = k;
    taml_rng r;
    taml_rng_seed(&r, seed);
    for (int i = 0; i < k; i++) hit[i] = budget + 1;
    while (active > 0 && (!stop || hits_left > 0)) {
        int i = (int)taml_rng_below(&r, (uint64_t)k);
        if (done[i] >= budget) continue;
        int32_t a[SYNTH_MAXD];
        if (c) {
            taml_ctrl_sample(c, ids[i], &r, a);
        } else {
            for (int d = 0; d < ls[i]->D; d++) a[d] = (int32_t)taml_rng_below(&r, (uint64_t)ls[i]->n[d]);
        }
        double v = synth_value(ls[i], a);
        if (c) {
            taml_err err;
            int rc = taml_ctrl_update(c, ids[i], a, synth_reward(ls[i], a, &r), NULL, &err);
            TAML_ASSERT(rc == 0);
        }
        int t = done[i]++;
        sum[i] += v - w[i][t % win];
        w[i][t % win] = v;
        if (t + 1 >= win && hit[i] > budget && sum[i] / win >= target) {
            hit[i] = t + 1;
            hits_left--;
        }
        if (done[i] == budget) active--;
    }
    if (final)
        for (int i = 0; i < k; i++) final[i] = sum[i] / win;
}

/* Cosine similarity of two vectors of n. */
static inline double synth_cosine(const double *a, const double *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return ab / (sqrt(aa * bb) + 1e-300);
}

#endif
