/* tests/test_metrics.c - the paper's measures (search/metrics.h) against
 * values worked out by hand in the comments. */
#include <math.h>

#include "search/metrics.h"
#include "test.h"

/* Six trials, trial 2 failed (NaN), trials 1 and 3 tie at 0.7. */
static const double V6[6] = {0.5, 0.7, NAN, 0.7, 0.6, 0.9};
static const double T6[6] = {0.4, 0.6, NAN, 0.2, 0.5, 0.8};

TEST(metrics_topn_curve_matches_hand_computed_means_and_counts)
{
    double v[6], t[6], vs[6], ts[6];
    size_t k[6];
    taml_err err;
    CHECK_EQ_INT(taml_metrics_topn(V6, T6, 6, 3, v, t, vs, ts, k, &err), 0);
    /* t=1: {0}; t=2: {1,0}; t=3: failed trial changes nothing. */
    CHECK_NEAR(v[0], 0.5, 1e-12);
    CHECK_NEAR(t[0], 0.4, 1e-12);
    CHECK(isnan(vs[0]) && isnan(ts[0]));
    CHECK_EQ_INT(k[0], 1);
    CHECK_NEAR(v[1], 0.6, 1e-12);
    CHECK_NEAR(t[1], 0.5, 1e-12);
    CHECK_NEAR(vs[1], 0.1, 1e-12); /* sd 0.1414 / sqrt 2 */
    CHECK_EQ_INT(k[1], 2);
    CHECK_NEAR(v[2], 0.6, 1e-12);
    CHECK_EQ_INT(k[2], 2);
    /* t=4: {1, 3, 0}: (0.7 + 0.7 + 0.5) / 3 and test (0.6 + 0.2 + 0.4) / 3. */
    CHECK_NEAR(v[3], 1.9 / 3, 1e-12);
    CHECK_NEAR(t[3], 0.4, 1e-12);
    CHECK_EQ_INT(k[3], 3);
    /* t=5: 0.6 displaces 0.5: {1, 3, 4}. */
    CHECK_NEAR(v[4], 2.0 / 3, 1e-12);
    CHECK_NEAR(t[4], 1.3 / 3, 1e-12);
    /* t=6: {5, 1, 3}: valid 2.3/3, test 1.6/3; valid sem: sd sqrt(0.026667/2) / sqrt 3. */
    CHECK_NEAR(v[5], 2.3 / 3, 1e-12);
    CHECK_NEAR(t[5], 1.6 / 3, 1e-12);
    CHECK_NEAR(vs[5], 0.2 / 3, 1e-9);
    CHECK_EQ_INT(k[5], 3);
}

TEST(metrics_topn_tie_keeps_the_earlier_trial)
{
    /* Equal validation accuracy: the first trial stays the top-1, so the test
     * curve reads its 0.6, not the later trial's 0.2. */
    const double v[3] = {0.7, 0.7, 0.7}, te[3] = {0.6, 0.2, 0.1};
    double out[3];
    CHECK_EQ_INT(taml_metrics_topn(v, te, 3, 1, NULL, out, NULL, NULL, NULL, NULL), 0);
    CHECK_NEAR(out[0], 0.6, 0);
    CHECK_NEAR(out[1], 0.6, 0);
    CHECK_NEAR(out[2], 0.6, 0);
}

TEST(metrics_topn_with_no_ranked_trial_is_nan_and_without_test_is_nan)
{
    const double v[2] = {NAN, 0.3};
    double ov[2], ot[2];
    size_t k[2];
    CHECK_EQ_INT(taml_metrics_topn(v, NULL, 2, 10, ov, ot, NULL, NULL, k, NULL), 0);
    CHECK(isnan(ov[0]));
    CHECK_EQ_INT(k[0], 0);
    CHECK_NEAR(ov[1], 0.3, 0);
    CHECK_EQ_INT(k[1], 1);
    CHECK(isnan(ot[1]));
}

TEST(metrics_topn_rejects_bad_input_with_the_trial_named)
{
    taml_err err;
    double out[2];
    const double bad[2] = {0.5, 1.5};
    CHECK_EQ_INT(taml_metrics_topn(V6, T6, 6, 0, out, NULL, NULL, NULL, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "at least 1");
    CHECK_EQ_INT(taml_metrics_topn(bad, NULL, 2, 1, out, NULL, NULL, NULL, NULL, &err),
                 TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "trial 1: validation accuracy 1.5 is outside [0, 1]");
    const double inf[1] = {INFINITY};
    CHECK_EQ_INT(taml_metrics_topn(V6, inf, 1, 1, out, NULL, NULL, NULL, NULL, &err),
                 TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "test accuracy inf");
    CHECK_EQ_INT(taml_metrics_topn(NULL, NULL, 2, 1, out, NULL, NULL, NULL, NULL, &err),
                 TAML_EINVAL);
}

TEST(metrics_trials_to_target_needs_a_full_top_and_says_never_with_zero)
{
    taml_err err;
    /* Top-3 curve from trial 4 on: 0.6333, 0.6667, 0.7667. Trial 2's 0.6 has
     * only two models in the top, so it does not count for 0.6. */
    CHECK_EQ_INT(taml_metrics_trials_to_target(V6, 6, 3, 0.6, &err), 4);
    CHECK_EQ_INT(taml_metrics_trials_to_target(V6, 6, 3, 0.65, &err), 5);
    CHECK_EQ_INT(taml_metrics_trials_to_target(V6, 6, 3, 0.8, &err), 0);
    CHECK_EQ_INT(taml_metrics_trials_to_target(V6, 6, 3, NAN, &err), 0);
    /* Fewer trials than N: never a full top. */
    CHECK_EQ_INT(taml_metrics_trials_to_target(V6, 6, 10, 0.1, &err), 0);
    CHECK_EQ_INT(taml_metrics_trials_to_target(V6, 6, 0, 0.1, &err), TAML_EINVAL);
}

TEST(metrics_random_target_is_top_at_budget_and_a_study_reaches_its_own)
{
    taml_err err;
    double target;
    CHECK_EQ_INT(taml_metrics_target(V6, 6, 3, 4, &target, &err), 0);
    CHECK_NEAR(target, 1.9 / 3, 1e-12);
    CHECK_EQ_INT(taml_metrics_target(V6, 6, 3, 0, &target, &err), 0);
    CHECK_NEAR(target, 2.3 / 3, 1e-12);
    /* The paper's RS column: the first trial count at which random search
     * reached its own value at T; here the last. Exact, because the means
     * are summed in rank order. */
    CHECK_EQ_INT(taml_metrics_trials_to_target(V6, 6, 3, target, &err), 6);
    /* The same accuracies found in another order reach it exactly too. */
    const double shuffled[6] = {0.7, 0.9, 0.7, NAN, 0.6, 0.5};
    CHECK_EQ_INT(taml_metrics_trials_to_target(shuffled, 6, 3, target, &err), 3);
}

TEST(metrics_random_target_refuses_short_studies)
{
    taml_err err;
    double target = 0;
    CHECK_EQ_INT(taml_metrics_target(V6, 6, 3, 7, &target, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "has 6 trials, fewer than the budget T = 7");
    CHECK(isnan(target));
    /* Two models with an accuracy in the first three trials (one failed). */
    CHECK_EQ_INT(taml_metrics_target(V6, 6, 3, 3, &target, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "has 2 trials with an accuracy in its first 3");
    CHECK_EQ_INT(taml_metrics_target(V6, 0, 3, 0, &target, &err), TAML_EINVAL);
}

TEST(metrics_best_ranks_by_valid_with_ties_to_the_earlier)
{
    size_t idx[4];
    CHECK_EQ_INT(taml_metrics_best(V6, 6, 4, idx), 4);
    CHECK_EQ_INT(idx[0], 5);
    CHECK_EQ_INT(idx[1], 1);
    CHECK_EQ_INT(idx[2], 3);
    CHECK_EQ_INT(idx[3], 4);
    const double none[2] = {NAN, NAN};
    CHECK_EQ_INT(taml_metrics_best(none, 2, 4, idx), 0);
}

TEST(metrics_mean_sem_skips_nan_and_matches_hand_values)
{
    const double x[4] = {0.2, NAN, 0.4, 0.6};
    double m, s;
    taml_metrics_mean_sem(x, 4, &m, &s);
    CHECK_NEAR(m, 0.4, 1e-12);
    CHECK_NEAR(s, 0.2 / sqrt(3.0), 1e-12); /* sd 0.2 */
    taml_metrics_mean_sem(x, 1, &m, &s);
    CHECK_NEAR(m, 0.2, 0);
    CHECK(isnan(s));
}

TEST(metrics_cosine_matrix_matches_hand_values_and_marks_zero_vectors)
{
    const double e[8] = {1, 0, 1, 1, 0, 0, -2, 0};
    double c[16];
    taml_err err;
    CHECK_EQ_INT(taml_metrics_cosine(e, 4, 2, c, &err), 0);
    CHECK_NEAR(c[0 * 4 + 0], 1, 0);
    CHECK_NEAR(c[0 * 4 + 1], sqrt(0.5), 1e-12);
    CHECK_NEAR(c[1 * 4 + 0], sqrt(0.5), 1e-12);
    CHECK_NEAR(c[0 * 4 + 3], -1, 1e-12);
    CHECK_NEAR(c[1 * 4 + 3], -sqrt(0.5), 1e-12);
    CHECK(isnan(c[2 * 4 + 2]) && isnan(c[0 * 4 + 2]) && isnan(c[2 * 4 + 1]));
    const double bad[2] = {1, NAN};
    CHECK_EQ_INT(taml_metrics_cosine(bad, 1, 2, c, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "task embedding 0 has a non-finite entry at 1");
    CHECK_EQ_INT(taml_metrics_cosine(e, 0, 2, c, &err), TAML_EINVAL);
}

TEST(metrics_action_freq_moving_window_matches_hand_values)
{
    const int a[5] = {0, 1, 1, -1, 2};
    double f[15];
    taml_err err;
    CHECK_EQ_INT(taml_metrics_action_freq(a, 5, 3, 2, f, &err), 0);
    const double want[15] = {1, 0, 0, 0.5, 0.5, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1};
    for (int i = 0; i < 15; i++) CHECK_NEAR(f[i], want[i], 1e-12);
    /* Window 1: trial 3's action is unknown, so its row is NaN. */
    CHECK_EQ_INT(taml_metrics_action_freq(a, 5, 3, 1, f, &err), 0);
    CHECK(isnan(f[9]) && isnan(f[10]) && isnan(f[11]));
    CHECK_NEAR(f[12 + 2], 1, 0);
}

TEST(metrics_action_freq_rejects_out_of_range_actions_and_zero_window)
{
    const int a[3] = {0, 3, 1};
    double f[9];
    taml_err err;
    CHECK_EQ_INT(taml_metrics_action_freq(a, 3, 3, 2, f, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "trial 1: action 3 is not one of the decision's 3 choices");
    CHECK_EQ_INT(taml_metrics_action_freq(a, 3, 4, 0, f, &err), TAML_EINVAL);
}

TEST(metrics_gap_of_the_top_is_mean_valid_minus_test_with_its_sem)
{
    /* Top 3 of V6/T6: trials 5, 1, 3 with gaps 0.1, 0.1, 0.5: mean 0.7/3,
     * sd = sqrt(((0.1-m)^2 * 2 + (0.5-m)^2) / 2) = 0.2309, sem = sd / sqrt 3. */
    double m, s;
    CHECK_EQ_INT(taml_metrics_gap(V6, T6, 6, 3, &m, &s), 3);
    CHECK_NEAR(m, 0.7 / 3, 1e-12);
    double a = 0.1 - 0.7 / 3, b = 0.5 - 0.7 / 3;
    CHECK_NEAR(s, sqrt((2 * a * a + b * b) / 2) / sqrt(3.0), 1e-12);
    /* It equals valid top-3 minus test top-3 at the end. */
    double v[6], t[6];
    CHECK_EQ_INT(taml_metrics_topn(V6, T6, 6, 3, v, t, NULL, NULL, NULL, NULL), 0);
    CHECK_NEAR(m, v[5] - t[5], 1e-12);
    const double none[1] = {NAN};
    CHECK_EQ_INT(taml_metrics_gap(none, none, 1, 3, &m, &s), 0);
    CHECK(isnan(m) && isnan(s));
}
