/* tests/test_grow.c - a controller carried over to a grown space (ctrl/grow.h):
 * the mapping and its refusals, an added choice's fair share, a removed
 * choice masked out, a new decision's uniform head, a removed decision
 * skipped, and on the synthetic landscapes (tests/ctrl_synth.h) the issue's
 * test: a controller that prefers module B among {A, B, C}, carried over to
 * {A, B, C, D} where D is best, still prefers B over A and C at first and
 * reaches the optimum far sooner than a fresh controller. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ctrl/controller.h"
#include "ctrl/grow.h"
#include "ctrl_synth.h"
#include "space/space.h"
#include "test.h"

/* The source space: module first (B is the optimum of the source tasks). */
static const char *SRC =
    "{\"module\":[\"A\",\"B\",\"C\"],\"layers\":[1,2,3],\"width\":[8,16,32,64],"
    "\"act\":[\"relu\",\"swish\"],\"lr\":[0.01,0.1,1],\"l2\":[0,0.001,\"disable\"]}";
static const char *ADDED = /* module D added */
    "{\"module\":[\"A\",\"B\",\"C\",\"D\"],\"layers\":[1,2,3],\"width\":[8,16,32,64],"
    "\"act\":[\"relu\",\"swish\"],\"lr\":[0.01,0.1,1],\"l2\":[0,0.001,\"disable\"]}";

static taml_space *space_of(const char *json)
{
    taml_space *s = NULL;
    taml_err err;
    TAML_ASSERT(taml_space_from_json(&s, json, "test", &err) == 0);
    return s;
}

/* A controller trained on two tasks of src whose optimum has module B
 * (index 1) and opt[d] elsewhere: it strongly prefers B. */
static taml_ctrl *trained_source(const taml_space *src, const int32_t *opt, uint64_t seed)
{
    taml_ctrl_opts o;
    taml_ctrl_opts_default(&o);
    o.seed = seed;
    taml_ctrl *c = NULL;
    taml_err err;
    TAML_ASSERT(taml_ctrl_new(&c, src, &o, &err) == 0);
    int ids[2] = {taml_ctrl_add_task(c, "s1", &err), taml_ctrl_add_task(c, "s2", &err)};
    synth a, b;
    synth_init(&a, src, opt, seed + 100, 0.05);
    synth_init(&b, src, opt, seed + 101, 0.05);
    const synth *ls[] = {&a, &b};
    int hit[2];
    synth_train(c, 2, ids, ls, seed + 7, 700, 50, 0.95, 0, hit, NULL);
    return c;
}

static void probs_at(taml_ctrl *c, int task, const int32_t *path, double *p)
{
    taml_ctrl_probabilities(c, task, path, NULL, p);
}

TEST(grow_plan_matches_decisions_by_name_and_choices_by_value)
{
    taml_space *a = space_of(SRC);
    taml_space *b = space_of("{\"module\":[\"D\",\"B\",\"A\"],\"extra\":[true,false],"
                             "\"layers\":[1,2,3],\"width\":[8,16,32,64],\"act\":[\"relu\",\"swish\"],"
                             "\"lr\":[0.01,0.1,1]}");
    taml_grow_plan p;
    taml_err err;
    CHECK_EQ_INT(taml_grow_plan_make(&p, a, b, "src.ckpt", &err), 0);
    CHECK(p.changed);
    CHECK_EQ_INT(p.n, 7); /* 6 decisions now, then l2 dropped */
    CHECK_EQ_INT(p.d[0].kind, TAML_GROW_GROWN);
    CHECK_EQ_INT(p.d[0].old_of[0], -1);
    CHECK_EQ_INT(p.d[0].old_of[1], 1);
    CHECK_EQ_INT(p.d[0].old_of[2], 0);
    CHECK_EQ_INT(p.d[0].n_removed, 1);
    CHECK_EQ_INT(p.d[0].removed[0], 2); /* C */
    CHECK_EQ_INT(p.d[1].kind, TAML_GROW_NEW);
    CHECK_EQ_INT(p.d[2].kind, TAML_GROW_SAME);
    CHECK_EQ_INT(p.d[2].from, 1);
    CHECK_EQ_INT(p.d[6].kind, TAML_GROW_DROPPED);
    CHECK_EQ_INT(p.d[6].to, -1);
    CHECK_EQ_INT(p.d[6].from, 5);
    char *s = taml_grow_plan_summary(&p, a, b);
    CHECK_STR(s, "module: 1 choice added (\"D\"), 1 choice removed (\"C\"); new decision extra "
                 "(fresh head); dropped decision l2");
    free(s);
    s = taml_grow_plan_json(&p, a, b);
    CHECK_CONTAINS(s, "{\"decisions\":[{\"name\":\"module\",\"status\":\"grown\",\"added\":[\"D\"],"
                      "\"removed\":[\"C\"]},{\"name\":\"extra\",\"status\":\"new\",\"added\":[true,false],"
                      "\"removed\":[]},{\"name\":\"layers\",\"status\":\"same\"");
    CHECK_CONTAINS(s, "{\"name\":\"l2\",\"status\":\"dropped\",\"added\":[],\"removed\":[0,0.001,\"disable\"]}]}");
    free(s);
    taml_grow_plan_deinit(&p);
    /* two decisions swapped: said once */
    taml_space *c = space_of("{\"layers\":[1,2,3],\"module\":[\"A\",\"B\",\"C\"],"
                             "\"width\":[8,16,32,64],\"act\":[\"relu\",\"swish\"],"
                             "\"lr\":[0.01,0.1,1],\"l2\":[0,0.001,\"disable\"]}");
    CHECK_EQ_INT(taml_grow_plan_make(&p, a, c, "src.ckpt", &err), 0);
    CHECK(p.changed);
    s = taml_grow_plan_summary(&p, a, c);
    CHECK_STR(s, "the decisions they share are in another order");
    free(s);
    taml_grow_plan_deinit(&p);
    taml_space_free(c);
    /* the same space: nothing changed */
    CHECK_EQ_INT(taml_grow_plan_make(&p, a, a, "src.ckpt", &err), 0);
    CHECK(!p.changed);
    s = taml_grow_plan_summary(&p, a, a);
    CHECK_STR(s, "nothing changed");
    free(s);
    taml_grow_plan_deinit(&p);
    taml_space_free(a);
    taml_space_free(b);
}

TEST(grow_refuses_values_of_another_type_or_a_space_sharing_nothing)
{
    taml_space *a = space_of(SRC);
    taml_space *b = space_of("{\"module\":[\"A\",\"B\"],\"layers\":[\"one\",\"two\"]}");
    taml_grow_plan p;
    taml_err err;
    CHECK_EQ_INT(taml_grow_plan_make(&p, a, b, "src.ckpt", &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "src.ckpt: decision 'layers' has values of another type: the "
                            "controller's are numbers, this search's strings");
    taml_space_free(b);
    b = space_of("{\"module\":[\"X\",\"Y\"],\"depth\":[1,2]}");
    CHECK_EQ_INT(taml_grow_plan_make(&p, a, b, "src.ckpt", &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "src.ckpt: the controller was made for a space that shares no "
                            "choice of any decision with this search's");
    CHECK_CONTAINS(err.msg, "decisions vs 2"); /* what differs, from taml_space_diff */
    CHECK_EQ_INT(p.n, 0);
    taml_space_free(b);
    /* a decision of the same name and type with no value in common is
     * replaced (a fresh head) when others carry */
    b = space_of("{\"module\":[\"X\",\"Y\"],\"layers\":[1,2]}");
    CHECK_EQ_INT(taml_grow_plan_make(&p, a, b, "src.ckpt", &err), 0);
    CHECK_EQ_INT(p.d[0].kind, TAML_GROW_REPLACED);
    CHECK_EQ_INT(p.d[1].kind, TAML_GROW_GROWN);
    taml_grow_plan_deinit(&p);
    taml_space_free(a);
    taml_space_free(b);
}

/* The source controller of the tests below, with task "new" added (the
 * transfer's task, the reference of the shares). */
static taml_ctrl *source_with_new_task(const taml_space *src, int *id)
{
    int32_t opt[] = {1, 2, 3, 1, 1, 0};
    taml_ctrl *c = trained_source(src, opt, 11);
    taml_err err;
    *id = taml_ctrl_add_task(c, "new", &err);
    TAML_ASSERT(*id == 2);
    return c;
}

static taml_ctrl *grown(const taml_ctrl *src, const taml_space *to, int ref)
{
    taml_grow_plan p;
    taml_err err;
    TAML_ASSERT(taml_grow_plan_make(&p, taml_ctrl_space(src), to, "src", &err) == 0);
    taml_ctrl *c = NULL;
    TAML_ASSERT(taml_ctrl_grow(&c, src, to, &p, ref, &err) == 0);
    taml_grow_plan_deinit(&p);
    return c;
}

TEST(grow_added_choice_starts_with_probability_one_over_n_and_the_old_odds_stay)
{
    taml_space *a = space_of(SRC), *b = space_of(ADDED);
    int id;
    taml_ctrl *src = source_with_new_task(a, &id);
    taml_ctrl *c = grown(src, b, id);
    CHECK_EQ_INT(taml_ctrl_tasks(c), 3);
    CHECK_STR(taml_ctrl_task_name(c, 2), "new");
    double po[64], pn[64];
    int32_t g[8];
    probs_at(src, id, NULL, po); /* decision 0 (module) is first: the same input in both */
    probs_at(c, id, NULL, pn);
    CHECK_NEAR(pn[3], 0.25, 1e-12); /* D: 1/n on the reference (greedy) path */
    for (int k = 0; k < 3; k++) CHECK_NEAR(pn[k], 0.75 * po[k], 1e-12);
    CHECK_MSG(po[1] > 0.6, "the source prefers B: %.3f", po[1]);
    CHECK(pn[1] > pn[3] && pn[1] > pn[0] && pn[1] > pn[2]); /* B still first */
    CHECK(pn[3] > pn[0] && pn[3] > pn[2]);                   /* D fair, above A and C */
    /* the other decisions, along a path through a kept module, are the old ones */
    taml_ctrl_greedy(c, id, g);
    CHECK_EQ_INT(g[0], 1);
    probs_at(src, id, g, po);
    probs_at(c, id, g, pn);
    for (int k = 3; k < taml_space_total_choices(a); k++) CHECK_NEAR(pn[k + 1], po[k], 1e-12);
    /* for another task (not the reference) D is near 1/4, not exactly */
    probs_at(c, 0, NULL, pn);
    CHECK_MSG(pn[3] > 0.1 && pn[3] < 0.4, "task s1: D %.3f", pn[3]);
    /* sampling picks D about a quarter of the time */
    taml_rng r;
    taml_rng_seed(&r, 3);
    int n_d = 0;
    for (int t = 0; t < 2000; t++) {
        int32_t s[8];
        taml_ctrl_sample(c, id, &r, s);
        n_d += s[0] == 3;
    }
    CHECK_MSG(n_d > 400 && n_d < 600, "D sampled %d of 2000", n_d);
    taml_ctrl_free(c);
    taml_ctrl_free(src);
    taml_space_free(a);
    taml_space_free(b);
}

TEST(grow_removed_choice_is_never_sampled_and_the_rest_keep_their_odds)
{
    taml_space *a = space_of(SRC);
    taml_space *b = space_of("{\"module\":[\"A\",\"C\"],\"layers\":[1,2,3],\"width\":[8,16,32,64],"
                             "\"act\":[\"relu\",\"swish\"],\"lr\":[0.01,0.1,1],"
                             "\"l2\":[0,0.001,\"disable\"]}");
    int id;
    taml_ctrl *src = source_with_new_task(a, &id);
    taml_ctrl *c = grown(src, b, id);
    double po[64], pn[64];
    probs_at(src, id, NULL, po);
    probs_at(c, id, NULL, pn);
    /* B (the favourite) is gone: A and C share everything in their old ratio */
    CHECK_NEAR(pn[0], po[0] / (po[0] + po[2]), 1e-12);
    CHECK_NEAR(pn[1], po[2] / (po[0] + po[2]), 1e-12);
    taml_rng r;
    taml_rng_seed(&r, 4);
    for (int t = 0; t < 500; t++) {
        int32_t s[8];
        taml_ctrl_sample(c, id, &r, s);
        CHECK(s[0] == 0 || s[0] == 1);
    }
    /* a trial of the grown space updates it like any controller */
    int32_t acts[6] = {1, 2, 3, 1, 1, 0};
    taml_err err;
    for (int t = 0; t < 8; t++) CHECK_EQ_INT(taml_ctrl_update(c, id, acts, 0.5 + 0.01 * t, NULL, &err), 0);
    taml_ctrl_free(c);
    taml_ctrl_free(src);
    taml_space_free(a);
    taml_space_free(b);
}

TEST(grow_new_decision_starts_uniform_and_the_decisions_before_it_are_unchanged)
{
    taml_space *a = space_of(SRC);
    taml_space *b = space_of("{\"module\":[\"A\",\"B\",\"C\"],\"layers\":[1,2,3],\"ngrams\":[1,2,3],"
                             "\"width\":[8,16,32,64],\"act\":[\"relu\",\"swish\"],"
                             "\"lr\":[0.01,0.1,1],\"l2\":[0,0.001,\"disable\"]}");
    int id;
    taml_ctrl *src = source_with_new_task(a, &id);
    taml_ctrl *c = grown(src, b, id);
    double po[64], pn[64];
    int32_t g[8], go[8];
    taml_ctrl_greedy(c, id, g);
    taml_ctrl_greedy(src, id, go);
    probs_at(src, id, go, po);
    probs_at(c, id, g, pn);
    /* module and layers: bit for bit the source's */
    for (int k = 0; k < 6; k++) CHECK(pn[k] == po[k]);
    /* ngrams: exactly uniform along any path (a head of zeros) */
    for (int k = 6; k < 9; k++) CHECK_NEAR(pn[k], 1.0 / 3, 1e-15);
    int32_t other[7] = {2, 0, 1, 0, 0, 0, 0};
    probs_at(c, 1, other, pn);
    for (int k = 6; k < 9; k++) CHECK_NEAR(pn[k], 1.0 / 3, 1e-15);
    taml_ctrl_free(c);
    taml_ctrl_free(src);
    taml_space_free(a);
    taml_space_free(b);
}

TEST(grow_removed_decision_is_skipped_and_the_decisions_before_it_are_unchanged)
{
    taml_space *a = space_of(SRC);
    taml_space *b = space_of("{\"module\":[\"A\",\"B\",\"C\"],\"layers\":[1,2,3],"
                             "\"act\":[\"relu\",\"swish\"],\"lr\":[0.01,0.1,1],"
                             "\"l2\":[0,0.001,\"disable\"]}");
    int id;
    taml_ctrl *src = source_with_new_task(a, &id);
    taml_ctrl *c = grown(src, b, id);
    CHECK_EQ_INT(taml_space_decisions(taml_ctrl_space(c)), 5);
    double po[64], pn[64];
    int32_t go[8], g[8];
    taml_ctrl_greedy(src, id, go);
    probs_at(src, id, go, po);
    g[0] = go[0], g[1] = go[1], g[2] = go[3], g[3] = go[4], g[4] = go[5];
    probs_at(c, id, g, pn);
    for (int k = 0; k < 6; k++) CHECK(pn[k] == po[k]);
    /* the decisions after it keep their heads (they read another input now,
     * so their probabilities move, but they stay proper distributions) */
    double s = pn[6] + pn[7];
    CHECK_NEAR(s, 1, 1e-12);
    /* the grown controller checkpoints and loads in its own space */
    void *buf;
    size_t size;
    taml_ctrl_save(c, &buf, &size);
    taml_ctrl *back = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_ctrl_load(&back, b, buf, size, &err), 0);
    free(buf);
    taml_ctrl_free(back);
    taml_ctrl_free(c);
    taml_ctrl_free(src);
    taml_space_free(a);
    taml_space_free(b);
}

/* ---- the test ---------------------------------------------------
 * Source: two tasks over {A, B, C} x 5 other decisions, optimum module B.
 * Target: one task over {A, B, C, D} whose optimum is module D with the
 * other decisions as before, B second best (preference 0.85). Two figures
 * per run, each the first trial at which it holds: D-dominant, the
 * policy's probability of D above 1/2 (the module is the first decision,
 * so its distribution is the task's alone); and at the optimum, the mean
 * noise-free value of the last 20 trials >= 0.95 with D dominant. Five
 * seeds; the medians compared. */

static int cmp_int(const void *x, const void *y)
{
    return *(const int *)x - *(const int *)y;
}

/* Runs c on task id of landscape ls for up to budget trials; *dom and *hit
 * get the trials to D-dominant and to the optimum (budget + 1: never). */
static void run_to_d(taml_ctrl *c, int id, const synth *ls, uint64_t seed, int budget, int *dom,
                     int *hit)
{
    taml_rng r;
    taml_rng_seed(&r, seed);
    double w[20] = {0}, sum = 0, p[64];
    *dom = *hit = budget + 1;
    for (int t = 0; t < budget && *hit > budget; t++) {
        int32_t a[SYNTH_MAXD];
        taml_ctrl_sample(c, id, &r, a);
        double v = synth_value(ls, a);
        taml_err err;
        TAML_ASSERT(taml_ctrl_update(c, id, a, synth_reward(ls, a, &r), NULL, &err) == 0);
        sum += v - w[t % 20];
        w[t % 20] = v;
        taml_ctrl_probabilities(c, id, NULL, NULL, p);
        if (p[3] > 0.5 && *dom > budget) *dom = t + 1;
        if (p[3] > 0.5 && t + 1 >= 20 && sum / 20 >= 0.95) *hit = t + 1;
    }
}

TEST(grow_transfer_to_an_added_best_module_keeps_the_prior_and_finds_it_far_sooner)
{
    taml_space *a = space_of(SRC), *b = space_of(ADDED);
    enum { SEEDS = 5, BUDGET = 2000 };
    int tdom[SEEDS], thit[SEEDS], fdom[SEEDS], fhit[SEEDS];
    for (int s = 0; s < SEEDS; s++) {
        uint64_t seed = 40 + (uint64_t)s;
        int32_t opt[6];
        synth_random_opt(a, seed, opt);
        opt[0] = 1; /* B */
        taml_ctrl *src = trained_source(a, opt, seed);
        taml_err err;
        int id = taml_ctrl_add_task(src, "new", &err);
        taml_ctrl *c = grown(src, b, id);
        double p[64];
        probs_at(c, id, NULL, p);
        CHECK_MSG(p[1] > p[0] && p[1] > p[2] && p[1] > p[3],
                  "seed %d: B %.3f is not first (A %.3f C %.3f D %.3f)", s, p[1], p[0], p[2], p[3]);
        CHECK_NEAR(p[3], 0.25, 1e-12);
        int32_t topt[6];
        memcpy(topt, opt, sizeof topt);
        topt[0] = 3; /* D */
        synth target;
        synth_init(&target, b, topt, seed + 200, 0.05);
        target.pref[0][1] = 0.85;
        run_to_d(c, id, &target, seed + 9, BUDGET, &tdom[s], &thit[s]);
        taml_ctrl *f = NULL;
        taml_ctrl_opts o;
        taml_ctrl_opts_default(&o);
        o.seed = seed + 5;
        CHECK_EQ_INT(taml_ctrl_new(&f, b, &o, &err), 0);
        int fid = taml_ctrl_add_task(f, "new", &err);
        run_to_d(f, fid, &target, seed + 9, BUDGET, &fdom[s], &fhit[s]);
        fprintf(stderr, "seed %d: D-dominant after %d (grown) vs %d (fresh) trials, optimum after %d vs %d\n",
                s, tdom[s], fdom[s], thit[s], fhit[s]);
        taml_ctrl_free(f);
        taml_ctrl_free(c);
        taml_ctrl_free(src);
    }
    qsort(tdom, SEEDS, sizeof *tdom, cmp_int);
    qsort(thit, SEEDS, sizeof *thit, cmp_int);
    qsort(fdom, SEEDS, sizeof *fdom, cmp_int);
    qsort(fhit, SEEDS, sizeof *fhit, cmp_int);
    CHECK_MSG(thit[SEEDS - 1] <= BUDGET, "a grown transfer never reached the optimum");
    CHECK_MSG(4 * tdom[SEEDS / 2] <= fdom[SEEDS / 2], "median trials to D-dominant: grown %d, fresh %d",
              tdom[SEEDS / 2], fdom[SEEDS / 2]);
    CHECK_MSG(4 * thit[SEEDS / 2] <= fhit[SEEDS / 2], "median trials to the optimum: grown %d, fresh %d",
              thit[SEEDS / 2], fhit[SEEDS / 2]);
    taml_space_free(a);
    taml_space_free(b);
}
