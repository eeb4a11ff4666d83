/* bench/bench_controller.c - the controller's speed and the experiments
 * behind its default learning options (docs/controller.md).
 *
 *   bench_controller speed [TRIALS]   microseconds per sample + update on the
 *                                     paper's 12-decision space
 *   bench_controller tune  [SEEDS]    trials to reach the target on synthetic
 *                                     landscapes for a grid of lr / ema decay /
 *                                     entropy weights
 * `make bench-controller` runs `speed` next to Optuna's TPE anchor.
 * Timings never fail anything; the machine may be shared (say so).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "ctrl/controller.h"
#include "../tests/ctrl_synth.h"

static const char *const MODULES[] = {"es-small-50", "es-big-128", "en-small-50", "en-big-128",
                                      "en-wiki-small-250", "en-wiki-big-500",
                                      "en-news-small-100", "en-news-big-500"};

static taml_space *paper_space(void)
{
    taml_space *s;
    taml_err err;
    if (taml_space_new_default(&s, MODULES, 8, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return s;
}

/* Trials until the mean normalised reward of the last 100 trials reaches
 * target (budget + 1 if never). */
static int trials_to_target(const taml_space *sp, const taml_ctrl_opts *o, uint64_t seed,
                            int budget, double target, double *final_mean)
{
    taml_ctrl *c;
    taml_err err;
    taml_ctrl_opts oo = *o;
    oo.seed = seed;
    if (taml_ctrl_new(&c, sp, &oo, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    int task = taml_ctrl_add_task(c, "t", &err);
    int32_t opt[SYNTH_MAXD], a[SYNTH_MAXD];
    synth_random_opt(sp, seed * 7 + 1, opt);
    synth s;
    synth_init(&s, sp, opt, seed * 13 + 5, 0.05);
    taml_rng r;
    taml_rng_seed(&r, seed * 31 + 7);
    double win[100] = {0}, sum = 0;
    int hit = budget + 1;
    for (int t = 0; t < budget; t++) {
        taml_ctrl_sample(c, task, &r, a);
        double v = synth_value(&s, a);
        taml_ctrl_update(c, task, a, synth_reward(&s, a, &r), NULL, &err);
        sum += v - win[t % 100];
        win[t % 100] = v;
        if (t >= 99 && sum / 100 >= target) {
            hit = t + 1;
            break;
        }
    }
    if (final_mean) *final_mean = sum / 100;
    taml_ctrl_free(c);
    return hit;
}

/* This process's CPU seconds (the wall clock counts other helpers' work too). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Parses "a,b,c" into v (at most 16); returns the count. */
static int parse_list(const char *s, double *v)
{
    int n = 0;
    while (s && *s && n < 16) {
        char *end;
        v[n++] = strtod(s, &end);
        s = *end == ',' ? end + 1 : NULL;
    }
    return n;
}

static void tune(int seeds, const char *lr_list, const char *decay_list, const char *ent_list)
{
    taml_space *sp = paper_space();
    double lrs[16], decays[16], ents[16];
    int nl = parse_list(lr_list ? lr_list : "1e-4,3e-4,1e-3,3e-3,1e-2", lrs);
    int nd = parse_list(decay_list ? decay_list : "0.9,0.95,0.99", decays);
    int ne = parse_list(ent_list ? ent_list : "0,1e-3,1e-2", ents);
    printf("# trials until mean(last 100) >= 0.95 of optimum, paper space, budget 4000;\n"
           "# median and worst over %d seeds (4001 = not reached)\n", seeds);
    printf("%-8s %-6s %-7s %8s %8s %6s\n", "lr", "decay", "entropy", "median", "worst", "failed");
    for (int i = 0; i < nl; i++)
        for (int j = 0; j < nd; j++)
            for (int k = 0; k < ne; k++) {
                taml_ctrl_opts o;
                taml_ctrl_opts_default(&o);
                o.lr = lrs[i];
                o.ema_decay = decays[j];
                o.entropy_weight = ents[k];
                int hits[64];
                for (int s = 0; s < seeds; s++)
                    hits[s] = trials_to_target(sp, &o, (uint64_t)s + 1, 4000, 0.95, NULL);
                qsort(hits, (size_t)seeds, sizeof *hits, cmp_int);
                int fails = 0;
                for (int q = 0; q < seeds; q++) fails += hits[q] > 4000;
                printf("%-8g %-6g %-7g %8d %8d %6d\n", lrs[i], decays[j], ents[k], hits[seeds / 2],
                       hits[seeds - 1], fails);
                fflush(stdout);
            }
    taml_space_free(sp);
}


/* The learning scenarios of tests/test_controller.c with their figures, for
 * docs/controller.md. Group A and B optima differ in 4 of the 12 decisions. */
static void learn(const taml_ctrl_opts *o, uint64_t seed)
{
    taml_space *sp = paper_space();
    taml_err err;
    int32_t oa[SYNTH_MAXD], ob[SYNTH_MAXD], oc[SYNTH_MAXD];
    synth_random_opt(sp, seed, oa);
    synth_shift_opt(sp, oa, 4, seed + 1, ob);
    synth_shift_opt(sp, oa, 3, seed + 2, oc); /* a new optimum for the lock-in check */
    synth la1, la2, lb1, lb2, la3, lc;
    synth_init(&la1, sp, oa, seed + 10, 0.05);
    synth_init(&la2, sp, oa, seed + 11, 0.05);
    synth_init(&lb1, sp, ob, seed + 12, 0.05);
    synth_init(&lb2, sp, ob, seed + 13, 0.05);
    synth_init(&la3, sp, oa, seed + 14, 0.05);
    synth_init(&lc, sp, oc, seed + 15, 0.05);
    int hit[8];
    double fin[8];
    double t0 = taml_now();
    /* single task vs random */
    taml_ctrl *c;
    taml_ctrl_opts oo = *o;
    oo.seed = seed;
    taml_ctrl_new(&c, sp, &oo, &err);
    int ids[4];
    ids[0] = taml_ctrl_add_task(c, "a1", &err);
    const synth *one[] = {&la1};
    synth_train(c, 1, ids, one, seed + 20, 1500, 100, 0.95, 1, hit, fin);
    printf("single task: mean(last 100) >= 0.95 after %d trials\n", hit[0]);
    taml_ctrl_free(c);
    synth_train(NULL, 1, ids, one, seed + 20, 3000, 100, 0.95, 0, hit, fin);
    printf("random: mean(last 100) %.3f after 3000 trials (hit %d)\n", fin[0], hit[0]);
    synth_train(NULL, 1, ids, one, seed + 20, 3000, 1, 0.95, 1, hit, fin);
    printf("random: first single trial >= 0.95 at %d\n", hit[0]);
    /* multitask */
    taml_ctrl_new(&c, sp, &oo, &err);
    const char *names[] = {"a1", "a2", "b1", "b2"};
    for (int i = 0; i < 4; i++) ids[i] = taml_ctrl_add_task(c, names[i], &err);
    const synth *four[] = {&la1, &la2, &lb1, &lb2};
    synth_train(c, 4, ids, four, seed + 21, 1500, 100, 0.95, 0, hit, fin);
    printf("multitask 1500/task: hits %d %d %d %d, final %.3f %.3f %.3f %.3f\n", hit[0], hit[1],
           hit[2], hit[3], fin[0], fin[1], fin[2], fin[3]);
    const double *e[4];
    for (int i = 0; i < 4; i++) e[i] = taml_ctrl_task_embedding(c, ids[i]);
    printf("cosine: a1a2 %.3f b1b2 %.3f a1b1 %.3f a1b2 %.3f a2b1 %.3f a2b2 %.3f\n",
           synth_cosine(e[0], e[1], TAML_CTRL_EMBED), synth_cosine(e[2], e[3], TAML_CTRL_EMBED),
           synth_cosine(e[0], e[2], TAML_CTRL_EMBED), synth_cosine(e[0], e[3], TAML_CTRL_EMBED),
           synth_cosine(e[1], e[2], TAML_CTRL_EMBED), synth_cosine(e[1], e[3], TAML_CTRL_EMBED));
    void *buf;
    size_t size;
    taml_ctrl_save(c, &buf, &size);
    taml_ctrl_free(c);
    /* transfer: same group, and a new optimum; scratch for both */
    const synth *tr[] = {&la3, &lc};
    for (int j = 0; j < 2; j++) {
        int h_tr, h_sc;
        double f_tr, f_sc;
        taml_ctrl_load(&c, sp, buf, size, &err);
        int id = taml_ctrl_add_task(c, "new", &err);
        synth_train(c, 1, &id, &tr[j], seed + 22, 3000, 20, 0.95, 1, &h_tr, &f_tr);
        taml_ctrl_free(c);
        taml_ctrl_new(&c, sp, &oo, &err);
        id = taml_ctrl_add_task(c, "new", &err);
        synth_train(c, 1, &id, &tr[j], seed + 22, 3000, 20, 0.95, 1, &h_sc, &f_sc);
        taml_ctrl_free(c);
        printf("transfer to %s: mean(last 20) >= 0.95 after %d trials; from scratch %d\n",
               j ? "a new optimum" : "group A", h_tr, h_sc);
    }
    {
        /* the same transfer to the new optimum keeping Adam's moments */
        int h_keep;
        double f_keep;
        taml_ctrl_opts keep = oo;
        keep.transfer_restart = 0;
        taml_ctrl_load(&c, sp, buf, size, &err);
        taml_ctrl_set_opts(c, &keep, &err);
        int id = taml_ctrl_add_task(c, "new", &err);
        synth_train(c, 1, &id, &tr[1], seed + 22, 3000, 20, 0.95, 1, &h_keep, &f_keep);
        taml_ctrl_free(c);
        printf("transfer to a new optimum without the Adam restart: %d trials\n", h_keep);
    }
    free(buf);
    /* reward scales */
    for (int norm = 1; norm >= 0; norm--) {
        synth small = la1, big = lb1;
        small.scale = 0.01;
        big.scale = 100;
        big.offset = 50;
        oo.normalise = norm;
        taml_ctrl_new(&c, sp, &oo, &err);
        ids[0] = taml_ctrl_add_task(c, "small", &err);
        ids[1] = taml_ctrl_add_task(c, "big", &err);
        const synth *two[] = {&small, &big};
        synth_train(c, 2, ids, two, seed + 23, 3000, 100, 0.95, 0, hit, fin);
        printf("scales x0.01 and x100, normalise %d: hits %d %d, final %.3f %.3f\n", norm, hit[0],
               hit[1], fin[0], fin[1]);
        taml_ctrl_free(c);
    }
    printf("(%.1f s)\n", taml_now() - t0);
    taml_space_free(sp);
}

/* Cost per trial of sample + update on the paper's space (8 modules), one
 * task. "sequential": each trial is updated before the next is sampled (one
 * worker; the update reuses the sample's forward pass). "interleaved": the
 * update of trial t arrives after trial t+1 was sampled (several workers;
 * the update recomputes the forward pass). CPU time is measured too, since
 * the machine may be shared. */
static void speed(int trials)
{
    taml_space *sp = paper_space();
    for (int mode = 0; mode < 2; mode++) {
        taml_ctrl *c;
        taml_err err;
        taml_ctrl_new(&c, sp, NULL, &err);
        int task = taml_ctrl_add_task(c, "t", &err);
        size_t weights = 0;
        for (int g = 0; g < TAML_CTRL_GROUPS; g++) {
            size_t n;
            taml_ctrl_params(c, (taml_ctrl_group)g, task, &n);
            weights += n;
        }
        int32_t opt[SYNTH_MAXD], a[2][SYNTH_MAXD];
        synth_random_opt(sp, 3, opt);
        synth s;
        synth_init(&s, sp, opt, 4, 0.05);
        taml_rng r;
        taml_rng_seed(&r, 5);
        double ts = 0, tu = 0, w0 = taml_now(), c0 = cpu_now();
        if (mode == 1) taml_ctrl_sample(c, task, &r, a[1]);
        for (int t = 0; t < trials; t++) {
            double t0 = taml_now();
            taml_ctrl_sample(c, task, &r, a[t % 2]);
            double t1 = taml_now();
            const int32_t *done = mode == 0 ? a[t % 2] : a[(t + 1) % 2];
            taml_ctrl_update(c, task, done, synth_reward(&s, done, &r), NULL, &err);
            double t2 = taml_now();
            ts += t1 - t0;
            tu += t2 - t1;
        }
        double wall = taml_now() - w0, cpu = cpu_now() - c0;
        printf("{\"controller\": \"taml\", \"mode\": \"%s\", \"trials\": %d, "
               "\"us_per_trial\": %.1f, \"sample_us\": %.1f, \"update_us\": %.1f, "
               "\"cpu_us_per_trial\": %.1f, \"cpu_share\": %.2f, \"weights\": %zu}\n",
               mode ? "interleaved" : "sequential", trials, 1e6 * (ts + tu) / trials,
               1e6 * ts / trials, 1e6 * tu / trials, 1e6 * cpu / trials, cpu / wall, weights);
        taml_ctrl_free(c);
    }
    taml_space_free(sp);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "tune")) {
        tune(argc >= 3 ? atoi(argv[2]) : 5, argc >= 4 ? argv[3] : NULL, argc >= 5 ? argv[4] : NULL,
             argc >= 6 ? argv[5] : NULL);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "one")) {
        taml_space *sp = paper_space();
        taml_ctrl_opts o;
        taml_ctrl_opts_default(&o);
        o.lr = atof(argv[2]);
        o.ema_decay = atof(argv[3]);
        o.entropy_weight = atof(argv[4]);
        for (int s = 1; s <= (argc >= 6 ? atoi(argv[5]) : 3); s++) {
            double fm;
            int h = trials_to_target(sp, &o, (uint64_t)s, 4000, 0.95, &fm);
            printf("seed %d: %d trials (final mean %.3f)\n", s, h, fm);
        }
        taml_space_free(sp);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "learn")) {
        taml_ctrl_opts o;
        taml_ctrl_opts_default(&o);
        if (argc >= 3) o.lr = atof(argv[2]);
        if (argc >= 4) o.ema_decay = atof(argv[3]);
        if (argc >= 5) o.entropy_weight = atof(argv[4]);
        if (argc >= 7) o.task_init_scale = atof(argv[6]);
        learn(&o, argc >= 6 ? (uint64_t)atoll(argv[5]) : 1);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "speed")) {
        speed(argc >= 3 ? atoi(argv[2]) : 3000);
        return 0;
    }
    fprintf(stderr, "usage: bench_controller speed [TRIALS] | tune [SEEDS]\n");
    return 2;
}
