/* tests/test_controller.c - the controller (src/ctrl): gradients by central
 * differences, the near-uniform first policy, learning on synthetic reward
 * landscapes with a known optimum (tests/ctrl_synth.h): single task,
 * multitask with task-embedding similarity, transfer, reward scales;
 * checkpoints (bitwise continuation, corruption, another space); bad input.
 * Each test runs in seconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ctrl/controller.h"
#include "ctrl_synth.h"
#include "test.h"

static const char *const MODS[] = {"es-small-50", "es-big-128", "en-small-50", "en-big-128",
                                   "en-wiki-small-250", "en-wiki-big-500", "en-news-small-100",
                                   "en-news-big-500"};

static taml_space *paper(void)
{
    taml_space *s = NULL;
    taml_err err;
    TAML_ASSERT(taml_space_new_default(&s, MODS, 8, &err) == 0);
    return s;
}

static taml_ctrl *new_ctrl(const taml_space *sp, const taml_ctrl_opts *o)
{
    taml_ctrl *c = NULL;
    taml_err err;
    int rc = taml_ctrl_new(&c, sp, o, &err);
    CHECK_MSG(rc == 0, "taml_ctrl_new: %s", err.msg);
    return c;
}

/* ---- gradients --------------------------------------------------------- */

TEST(ctrl_gradient_matches_central_differences_for_every_group)
{
    taml_space *sp = paper();
    taml_ctrl_opts o;
    taml_ctrl_opts_default(&o);
    o.init_scale = 0.5; /* larger weights than at init, so every path carries gradient */
    taml_ctrl *c = new_ctrl(sp, &o);
    taml_err err;
    taml_ctrl_add_task(c, "a", &err);
    int task = taml_ctrl_add_task(c, "b", &err);
    int32_t acts[16];
    taml_rng r;
    taml_rng_seed(&r, 42);
    taml_ctrl_sample(c, task, &r, acts);
    int nonzero_actions = 0;
    for (int d = 0; d < taml_space_decisions(sp); d++) nonzero_actions += acts[d] != 0;
    CHECK(nonzero_actions >= 6);
    const double eps = 1e-5;
    /* log-prob and entropy separately, then a mix */
    const double wts[3][2] = {{1, 0}, {0, 1}, {-0.7, 0.3}};
    for (int w = 0; w < 3; w++) {
        for (int g = 0; g < TAML_CTRL_GROUPS; g++) {
            size_t n;
            double *p = taml_ctrl_params(c, (taml_ctrl_group)g, task, &n);
            double *grad = malloc(n * sizeof *grad);
            taml_ctrl_gradient(c, task, acts, wts[w][0], wts[w][1], (taml_ctrl_group)g, grad);
            double gmax = 0;
            for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(grad[i]));
            CHECK_MSG(gmax > 1e-4, "group %s: gradient all ~zero (max %g)",
                      taml_ctrl_group_name((taml_ctrl_group)g), gmax);
            /* every parameter of small groups, 150 spread over big ones, and
             * always the largest-gradient entry */
            size_t step = n <= 300 ? 1 : n / 150;
            for (size_t i = 0; i < n; i += step) {
                double keep = p[i], ent;
                p[i] = keep + eps;
                double fp = wts[w][0] * taml_ctrl_log_prob(c, task, acts, &ent);
                fp += wts[w][1] * ent;
                p[i] = keep - eps;
                double fm = wts[w][0] * taml_ctrl_log_prob(c, task, acts, &ent);
                fm += wts[w][1] * ent;
                p[i] = keep;
                double num = (fp - fm) / (2 * eps);
                CHECK_MSG(fabs(num - grad[i]) <= 1e-7 + 1e-5 * fabs(num),
                          "group %s[%zu] (weights %g, %g): analytic %.10g numeric %.10g",
                          taml_ctrl_group_name((taml_ctrl_group)g), i, wts[w][0], wts[w][1],
                          grad[i], num);
            }
            free(grad);
        }
    }
    taml_ctrl_free(c);
    taml_space_free(sp);
}

TEST(ctrl_first_policy_is_near_uniform_for_every_decision)
{
    taml_space *sp = paper();
    taml_ctrl *c = new_ctrl(sp, NULL);
    taml_err err;
    int task = taml_ctrl_add_task(c, "t", &err);
    int tot = taml_space_total_choices(sp);
    double *probs = malloc((size_t)tot * sizeof *probs);
    int32_t acts[16];
    taml_rng r;
    taml_rng_seed(&r, 7);
    for (int rep = 0; rep < 5; rep++) {
        taml_ctrl_sample(c, task, &r, acts);
        taml_ctrl_probabilities(c, task, acts, NULL, probs);
        for (int d = 0; d < taml_space_decisions(sp); d++) {
            int n = taml_space_choices(sp, d);
            const double *p = probs + taml_space_offset(sp, d);
            double h = 0, sum = 0;
            for (int k = 0; k < n; k++) {
                h -= p[k] * log(p[k]);
                sum += p[k];
            }
            CHECK_NEAR(sum, 1.0, 1e-12);
            CHECK_MSG(h >= 0.97 * log(n), "decision %s: entropy %g of max %g",
                      taml_space_name(sp, d), h, log(n));
        }
    }
    free(probs);
    taml_ctrl_free(c);
    taml_space_free(sp);
}
