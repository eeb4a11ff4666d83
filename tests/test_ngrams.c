/* tests/test_ngrams.c - the text features beyond the paper: the n-gram
 * hashes as docs/formats.md defines them, the n-gram parts and subwords of
 * nn/features.c, central-difference gradient checks of the n-gram wide tower
 * and the subword deep input (kernels and the whole net, in double) and of
 * the sparse Proximal Adagrad step on their hashed rows, a made-up task whose
 * label is a word's suffix (learned with character n-grams or subwords, not
 * without), the config and space refusals, and models with these features:
 * saved, loaded and predicting exactly as the child scored, also for texts
 * with no word at all. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "nn/kernels.h"
#include "nn/model.h"
#include "nn/net.h"
#include "nn/ngrams.h"
#include "nn/optim.h"
#include "search/child.h"
#include "space/space.h"
#include "format_check.h"
#include "gradcheck.h"
#include "test.h"
#include "testutil.h"

#define FIXTURE "tests/fixtures/tasks/child-topics"
#define SMALL_MODULE "tests/fixtures/v1/module.tamlm" /* 12 English words */

static taml_child_config config_of(const char *json)
{
    taml_child_config c;
    taml_err err;
    int rc = taml_child_config_parse(&c, json, strlen(json), &err);
    CHECK_MSG(rc == 0, "config %s: %s", json, err.msg);
    return c;
}

/* The paper's 12 decisions (both towers, 1 x 32 relu) followed by extra. */
static taml_child_config with(const char *extra, int64_t samples)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 32, \"activation\": \"relu\","
             " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
             " \"wide_lr\": 0.3, \"wide_l1\": 0, \"samples\": %lld%s%s}",
             (long long)samples, extra[0] ? ", " : "", extra);
    return config_of(json);
}

static void write_text(const char *path, const char *text)
{
    taml_err err;
    CHECK_MSG(taml_write_file_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
}

/* A task directory of three splits under the test's temporary directory. */
static char *make_task(const char *name, const char *train, const char *valid, const char *test)
{
    char *dir = taml_path_join(taml_test_tmpdir(), name);
    mkdir(dir, 0777);
    const char *files[3] = {"train.tsv", "valid.tsv", "test.tsv"}, *text[3] = {train, valid, test};
    for (int i = 0; i < 3; i++) {
        char *p = taml_path_join(dir, files[i]);
        write_text(p, text[i]);
        free(p);
    }
    return dir;
}

/* ---- the hashes ------------------------------------------------------------ */

static uint32_t fnv_bucket(const char *s, int64_t buckets)
{
    return (uint32_t)(taml_fnv1a(TAML_FNV_INIT, s, strlen(s)) % (uint64_t)buckets);
}

TEST(ngram_hashes_follow_the_documented_definition)
{
    enum { BK = 1000003 };
    uint32_t got[64];
    /* "<ab>": by start character, then by length (fastText's order) */
    size_t n = taml_ngrams_char_buckets("ab", 2, 2, 3, BK, got);
    const char *want[] = {"<a", "<ab", "ab", "ab>", "b>"};
    CHECK_EQ_INT(n, 5);
    for (size_t i = 0; i < 5; i++) CHECK_MSG(got[i] == fnv_bucket(want[i], BK), "n-gram %s", want[i]);
    /* whole characters: "é" is one of them, its two bytes hashed together */
    n = taml_ngrams_char_buckets("\xc3\xa9t\xc3\xa9", 5, 3, 3, BK, got);
    CHECK_EQ_INT(n, 3); /* <ét, été, té> */
    CHECK(got[0] == fnv_bucket("<\xc3\xa9t", BK) && got[1] == fnv_bucket("\xc3\xa9t\xc3\xa9", BK) &&
          got[2] == fnv_bucket("t\xc3\xa9>", BK));
    CHECK(n <= taml_ngrams_char_max(5, 3, 3));
    /* a token shorter than n has none; the markers count as characters */
    CHECK_EQ_INT(taml_ngrams_char_buckets("a", 1, 4, 5, BK, got), 0);
    CHECK_EQ_INT(taml_ngrams_char_buckets("a", 1, 3, 3, BK, got), 1);
    CHECK(got[0] == fnv_bucket("<a>", BK));
    /* word n-grams combine the tokens' hashes as fastText's addWordNgrams */
    uint64_t h[3] = {taml_ngrams_token_hash("new", 3), taml_ngrams_token_hash("york", 4),
                     taml_ngrams_token_hash("city", 4)};
    CHECK(h[0] == taml_fnv1a(TAML_FNV_INIT, "new", 3));
    CHECK(taml_ngrams_word_bucket(h, 2, BK) == (uint32_t)((h[0] * 116049371u + h[1]) % BK));
    CHECK(taml_ngrams_word_bucket(h, 3, BK) ==
          (uint32_t)(((h[0] * 116049371u + h[1]) * 116049371u + h[2]) % BK));
    /* the bucket -> row map */
    taml_ngrams_map *m = taml_ngrams_map_new(1);
    for (uint32_t b = 0; b < 5000; b++) CHECK_EQ_INT(taml_ngrams_map_put(m, b * 7919u, (int32_t)b), b);
    CHECK_EQ_INT(taml_ngrams_map_put(m, 7919u * 3, 99), 3);
    CHECK_EQ_INT(taml_ngrams_map_get(m, 7919u * 4999), 4999);
    CHECK_EQ_INT(taml_ngrams_map_get(m, 1), -1);
    taml_ngrams_map_free(m);
}

/* ---- parts and subwords ----------------------------------------------------- */

/* The ids of part p in example e as "row:count row:count". */
static void part_text(const taml_ngrams_part *p, int e, char *buf, size_t cap)
{
    buf[0] = 0;
    for (int64_t k = p->off[e]; k < p->off[e + 1]; k++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%d:%d", k > p->off[e] ? " " : "",
                 p->ids[k], p->cnt[k]);
}

TEST(ngram_parts_count_each_feature_once_per_example_and_only_train_features_get_rows)
{
    char *dir = make_task("parts", "x\ta b a b\ny\tb c\n", "x\ta b d\n", "y\tq\n");
    taml_task *t;
    taml_module *mod;
    taml_features *f;
    taml_err err;
    CHECK_MSG(taml_task_load(&t, dir, NULL, &err) == 0, "%s", err.msg);
    CHECK(taml_module_open(&mod, SMALL_MODULE, NULL, &err) == 0);
    CHECK(taml_features_new(&f, t, mod, &err) == 0);
    const taml_ngrams_part *w1, *w2, *c2, *again;
    char s[256];
    CHECK(taml_features_part(f, TAML_GRAM_WORD, 1, 1 << 20, &w1, &err) == 0);
    CHECK(w1->buckets == 0 && !w1->bucket && w1->rows == t->n_wide && w1->rows == 3);
    part_text(w1, 0, s, sizeof s);
    CHECK_STR(s, "0:2 1:2"); /* a, b twice each */
    part_text(w1, 2, s, sizeof s);
    CHECK_STR(s, "0:1 1:1"); /* valid: d is not a train word */
    CHECK(w1->off[4] == w1->off[3]); /* test: q neither */
    CHECK(taml_features_part(f, TAML_GRAM_WORD, 2, 1 << 20, &w2, &err) == 0);
    CHECK_EQ_INT(w2->rows, 3); /* a b, b a, b c */
    part_text(w2, 0, s, sizeof s);
    CHECK_STR(s, "0:2 1:1");
    part_text(w2, 2, s, sizeof s);
    CHECK_STR(s, "0:1"); /* a b; b d was never trained */
    uint64_t h[2] = {taml_ngrams_token_hash("b", 1), taml_ngrams_token_hash("c", 1)};
    CHECK(w2->bucket[2] == taml_ngrams_word_bucket(h, 2, 1 << 20));
    CHECK_EQ_INT(w2->batch_max, (2 + 1) * 50); /* 2 train examples fill a batch of 100 */
    /* idf = ln((1 + 2) / (1 + df)) + 1 over the 2 train examples */
    CHECK_NEAR(w1->idf[0], log(3.0 / 2.0) + 1, 1e-6); /* a: 1 of 2 */
    CHECK_NEAR(w1->idf[1], 1.0, 1e-6);                /* b: both */
    const float *sc;
    CHECK(taml_features_tfidf_scale(f, 1, 0, 0, 1 << 20, &sc, &err) == 0);
    double va = (1 + log(2.0)) * w1->idf[0], vb = (1 + log(2.0)) * w1->idf[1];
    CHECK_NEAR(sc[0], 1 / sqrt(va * va + vb * vb), 1e-6);
    CHECK(sc[3] == 0); /* test: no feature */
    const float *sc2;
    CHECK(taml_features_tfidf_scale(f, 1, 0, 0, 1 << 20, &sc2, &err) == 0 && sc2 == sc);
    CHECK(taml_features_part(f, TAML_GRAM_CHAR, 2, 1 << 20, &c2, &err) == 0);
    CHECK_EQ_INT(c2->rows, 6); /* <a a> <b b> <c c> */
    part_text(c2, 0, s, sizeof s);
    CHECK_STR(s, "0:2 1:2 2:2 3:2");
    CHECK(c2->bucket[0] == fnv_bucket("<a", 1 << 20) && c2->bucket[5] == fnv_bucket("c>", 1 << 20));
    /* computed once, then shared */
    CHECK(taml_features_part(f, TAML_GRAM_WORD, 2, 1 << 20, &again, &err) == 0 && again == w2);
    CHECK(taml_features_part(f, TAML_GRAM_WORD, 2, 1 << 10, &again, &err) == 0 && again != w2);
    CHECK(taml_features_part(f, TAML_GRAM_CHAR, 9, 1 << 20, &again, &err) == TAML_EINVAL);
    /* subwords: the module knows none of these words; rows from train words only */
    const taml_subwords *sw;
    CHECK(taml_features_subwords(f, 1 << 20, &sw, &err) == 0);
    CHECK_EQ_INT(sw->rows, 3); /* "<a>", "<b>", "<c>": the only 3..6-grams */
    CHECK_EQ_INT(sw->n_words, 3);
    CHECK_EQ_INT(sw->off[1] - sw->off[0], 4); /* a b a b */
    CHECK_EQ_INT(sw->off[3] - sw->off[2], 2); /* a b (d has no trained n-gram) */
    CHECK_EQ_INT(sw->off[4] - sw->off[3], 0);
    taml_features_free(f);
    taml_module_close(mod);
    taml_task_free(t);
    free(dir);
}

/* ---- kernels (double) --------------------------------------------------------- */

static const taml_gradcheck kernel_check = {
    .h = 1e-6, .abs_tol = 1e-6, .rel_tol = 1e-6, .min_gmax = 1e-3};

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void densify(double *dense, const taml_kerneld_sparse *s, size_t rows)
{
    memset(dense, 0, rows * (size_t)s->width * sizeof(double));
    for (int k = 0; k < s->n; k++)
        memcpy(dense + (size_t)s->rows[k] * s->width, s->g + (size_t)k * s->width,
               (size_t)s->width * sizeof(double));
}

enum { KR = 7, KC = 3, KB = 3 };
/* four examples of one part (rows base + id, base 2); the batch: 3, 0, 2 (2 is empty) */
static const int64_t part_off[5] = {0, 3, 4, 4, 6};
static const int32_t part_ids[6] = {1, 4, 0, 2, 3, 1};
static const int32_t part_cnt[6] = {3, 1, 2, 1, 5, 1};
static const int32_t kex[KB] = {3, 0, 2};

static const float part_idf[5] = {1.5f, 2.0f, 1.25f, 3.0f, 1.0f}; /* of ids 0 .. 4 */
static const float part_scale[4] = {0.5f, 2.0f, 1.0f, 0.25f};      /* of examples 0 .. 3 */

struct part_ctx {
    double *table, *out, *r;
    int weighting;
};

static double part_loss(void *p)
{
    struct part_ctx *c = p;
    memset(c->out, 0, sizeof(double) * KB * KC);
    int tf = c->weighting == TAML_WEIGHT_TFIDF;
    taml_kerneld_wide_part_forward(c->out, c->table, part_off, part_ids, part_cnt,
                                   tf ? part_idf : NULL, tf ? part_scale : NULL, 2, c->weighting,
                                   kex, KB, KC);
    return dot(c->out, c->r, KB * KC);
}

TEST(ngram_wide_part_gradient_matches_central_differences_for_each_weighting)
{
    taml_rng rng;
    taml_rng_seed(&rng, 3);
    for (int wt = 0; wt < 4; wt++) {
        int tf = wt == TAML_WEIGHT_TFIDF;
        double table[KR * KC], out[KB * KC], r[KB * KC], dense[KR * KC], g[KR * KC];
        for (int i = 0; i < KR * KC; i++) table[i] = taml_rng_uniform(&rng) - 0.5;
        for (int i = 0; i < KB * KC; i++) r[i] = taml_rng_uniform(&rng) - 0.5;
        struct part_ctx c = {table, out, r, wt};
        int32_t slot[KR], rows[KR];
        for (int i = 0; i < KR; i++) slot[i] = -1;
        taml_kerneld_sparse s = {slot, rows, g, 0, KR, KC};
        taml_kerneld_wide_part_backward(&s, r, part_off, part_ids, part_cnt, tf ? part_idf : NULL,
                                        tf ? part_scale : NULL, 2, wt, kex, KB, KC);
        CHECK_EQ_INT(s.n, 4); /* base 2 + ids 3, 1 (example 3) and 1 again, 4, 0 (example 0) */
        CHECK(slot[0] == -1 && slot[1] == -1 && slot[4] == -1 && slot[2] >= 0 && slot[6] >= 0);
        densify(dense, &s, KR);
        CHECK_GRAD(&kernel_check, "wide part", part_loss, &c, table, dense, KR * KC);
        /* example 3: id 3 seen 5 times, id 1 once; weights 5, 1, 1 + ln 5, and
         * for tfidf (1 + ln 5) idf(3) and idf(1), times the example's scale */
        part_loss(&c);
        double w = wt == 0 ? 5 : wt == 1 ? 1 : 1 + log(5.0), w1 = 1;
        if (tf) w *= 3.0 * 0.25, w1 = 2.0 * 0.25;
        for (int j = 0; j < KC; j++)
            CHECK_NEAR(out[j], w * table[(2 + 3) * KC + j] + w1 * table[(2 + 1) * KC + j], 1e-12);
    }
}

enum { SR = 4, SD = 3, SS = 6 };
/* examples: module rows (off/ids) and subword tokens (soff/words) with each word's rows */
static const int64_t sw_off[5] = {0, 2, 2, 2, 3}, sw_soff[5] = {0, 1, 3, 3, 5};
static const int32_t sw_ids[3] = {0, 3, 1}, sw_words[5] = {0, 1, 0, 2, 1};
static const int64_t sw_woff[4] = {0, 2, 5, 6};
static const int32_t sw_wrows[6] = {0, 1, 2, 1, 4, 5}; /* row 1 twice in word 1, once in 0 */

struct sub_ctx {
    double *table, *sub, *out, *r;
};

static double sub_loss(void *p)
{
    struct sub_ctx *c = p;
    taml_kerneld_subword_mean_forward(c->out, c->table, sw_off, sw_ids, c->sub, sw_soff, sw_words,
                                      sw_woff, sw_wrows, kex, KB, SD);
    return dot(c->out, c->r, KB * SD);
}

TEST(subword_deep_input_gradient_matches_central_differences_frozen_and_fine_tuned)
{
    taml_rng rng;
    taml_rng_seed(&rng, 4);
    double table[SR * SD], sub[SS * SD], out[KB * SD], r[KB * SD];
    double ge[SR * SD], gs[SS * SD], de[SR * SD], ds[SS * SD];
    for (int i = 0; i < SR * SD; i++) table[i] = taml_rng_uniform(&rng) - 0.5;
    for (int i = 0; i < SS * SD; i++) sub[i] = taml_rng_uniform(&rng) - 0.5;
    for (int i = 0; i < KB * SD; i++) r[i] = taml_rng_uniform(&rng) - 0.5;
    struct sub_ctx c = {table, sub, out, r};
    for (int ft = 0; ft < 2; ft++) {
        int32_t slot_e[SR], rows_e[SR], slot_s[SS], rows_s[SS];
        for (int i = 0; i < SR; i++) slot_e[i] = -1;
        for (int i = 0; i < SS; i++) slot_s[i] = -1;
        taml_kerneld_sparse se = {slot_e, rows_e, ge, 0, SR, SD}, ss = {slot_s, rows_s, gs, 0, SS, SD};
        taml_kerneld_subword_mean_backward(ft ? &se : NULL, &ss, r, sw_off, sw_ids, sw_soff, sw_words,
                                           sw_woff, sw_wrows, kex, KB, SD);
        densify(ds, &ss, SS);
        CHECK_GRAD(&kernel_check, "subword vectors", sub_loss, &c, sub, ds, SS * SD);
        CHECK(slot_s[3] == -1); /* row 3 is no token's */
        if (ft) {
            densify(de, &se, SR);
            CHECK_GRAD(&kernel_check, "module rows", sub_loss, &c, table, de, SR * SD);
        } else {
            CHECK_EQ_INT(se.n, 0);
        }
    }
    /* example 2 has neither: the zero vector */
    sub_loss(&c);
    for (int j = 0; j < SD; j++) CHECK(out[2 * SD + j] == 0);
    /* example 3: module row 1, then word 2 (row 5) and word 1 (rows 2, 1, 4) */
    for (int j = 0; j < SD; j++)
        CHECK_NEAR(out[j],
                   (table[SD + j] + sub[5 * SD + j] + (sub[2 * SD + j] + sub[SD + j] + sub[4 * SD + j]) / 3) / 3,
                   1e-12);
}

/* ---- the whole net with n-grams and subwords (double) --------------------------- */

struct netd_ctx {
    taml_netd_t *n;
    taml_net_batch *bt;
};

static double netd_loss(void *p)
{
    struct netd_ctx *c = p;
    return taml_netd_forward(c->n, c->bt, 1);
}

static const taml_gradcheck model_check = {
    .h = 1e-6, .abs_tol = 2e-6, .rel_tol = 2e-6, .min_gmax = 1e-4};

static void ngram_net_check(int weighting, int fine_tune, int norm)
{
    enum { B = 3, D = SD, L = 2, H = 3, C = 3, V = 9 };
    taml_net_shape s = {0};
    s.B = B, s.D = D, s.L = L, s.H = H, s.C = C, s.act = TAML_ACT_SWISH, s.norm = norm;
    s.wide_rows = V, s.wide_cap = V, s.wide_parts = 2, s.weighting = weighting;
    s.sub_rows = SS, s.sub_cap = SS;
    if (fine_tune) s.emb_rows = SR, s.emb_cap = SR;
    void *block = aligned_alloc(64, (taml_netd_size(&s) + 63) & ~(size_t)63);
    taml_netd_t n;
    taml_netd_init(&n, &s, block);
    taml_rng rng;
    taml_rng_seed(&rng, 11 + weighting * 2 + fine_tune);
    for (size_t i = 0; i < n.n_deep; i++) n.deep[i] = taml_rng_uniform(&rng) * 1.6 - 0.8;
    for (int i = 0; i < V * C; i++) n.wtab[i] = taml_rng_uniform(&rng) - 0.5;
    for (int i = 0; i < C; i++) n.wide[i] = taml_rng_uniform(&rng) - 0.5;
    for (int i = 0; i < SS * D; i++) n.sub->table[i] = taml_rng_uniform(&rng) - 0.5;
    double frozen[SR * D];
    for (int i = 0; i < SR * D; i++) frozen[i] = taml_rng_uniform(&rng) - 0.5;
    if (fine_tune) memcpy(n.emb, frozen, sizeof frozen);
    n.sub->frozen = frozen;
    /* part 0: rows 0..1 (base 0, a "word" part), part 1: rows 2..8 */
    static const int64_t off0[5] = {0, 1, 2, 2, 4};
    static const int32_t ids0[4] = {0, 1, 1, 0}, cnt0[4] = {2, 1, 1, 3};
    static const float idf0[2] = {1.75f, 1.0f};
    int tf = weighting == TAML_WEIGHT_TFIDF;
    taml_net_part parts[2] = {{off0, ids0, cnt0, 0, tf ? idf0 : NULL},
                              {part_off, part_ids, part_cnt, 2, tf ? part_idf : NULL}};
    int32_t labels[B] = {0, 2, 1};
    taml_net_batch bt = {B,     kex,     labels,   sw_off,   sw_ids,   NULL, NULL,
                         parts, tf ? part_scale : NULL, sw_soff, sw_words, sw_woff, sw_wrows};
    struct netd_ctx ctx = {&n, &bt};
    taml_netd_zero_grad(&n);
    double loss = taml_netd_forward(&n, &bt, 1);
    CHECK(loss > 0 && isfinite(loss));
    taml_netd_backward(&n, &bt);
    double *gdeep = malloc(n.n_deep * sizeof(double)), gw[C], gwt[V * C], gsub[SS * D], gemb[SR * D];
    memcpy(gdeep, n.ddeep, n.n_deep * sizeof(double));
    memcpy(gw, n.dwide, sizeof gw);
    densify(gwt, &n.gwide, V);
    densify(gsub, &n.sub->g, SS);
    if (fine_tune) densify(gemb, &n.gemb, SR);
    CHECK_GRAD(&model_check, "first layer", netd_loss, &ctx, n.w[0], gdeep + (n.w[0] - n.deep), D * H);
    CHECK_GRAD(&model_check, "output layer", netd_loss, &ctx, n.w[L], gdeep + (n.w[L] - n.deep), H * C);
    CHECK_GRAD(&model_check, "n-gram wide table", netd_loss, &ctx, n.wtab, gwt, V * C);
    CHECK_GRAD(&model_check, "wide bias", netd_loss, &ctx, n.wide, gw, C);
    CHECK_GRAD(&model_check, "subword vectors", netd_loss, &ctx, n.sub->table, gsub, SS * D);
    if (fine_tune) CHECK_GRAD(&model_check, "fine-tuned rows", netd_loss, &ctx, n.emb, gemb, SR * D);
    free(gdeep);
    free(block);
}

TEST(whole_net_with_ngram_parts_and_subwords_matches_central_differences)
{
    ngram_net_check(TAML_WEIGHT_COUNT, 0, TAML_NORM_NONE);
    ngram_net_check(TAML_WEIGHT_LOG, 1, TAML_NORM_BATCH);
    ngram_net_check(TAML_WEIGHT_BINARY, 1, TAML_NORM_LAYER);
    ngram_net_check(TAML_WEIGHT_TFIDF, 0, TAML_NORM_NONE);
}

/* ---- the sparse Proximal Adagrad step on hashed rows ------------------------------ */

/* TF's ApplyProximalAdagrad on one weight, in double. */
static double padagrad_ref(double w, double *acc, double g, double lr, double l1, double l2)
{
    *acc += g * g;
    double lr_t = lr / sqrt(*acc), v = w - lr_t * g;
    double m = fabs(v) - lr_t * l1;
    return (v < 0 ? -1 : 1) * (m > 0 ? m : 0) / (1 + lr_t * l2);
}

TEST(sparse_proximal_adagrad_on_hashed_rows_steps_only_the_touched_rows_as_tf_defines)
{
    struct fx {
        taml_task *t;
        taml_module *m;
        taml_features *f;
    } x;
    taml_err err;
    CHECK(taml_task_load(&x.t, FIXTURE, NULL, &err) == 0);
    CHECK(taml_module_open(&x.m, SMALL_MODULE, NULL, &err) == 0);
    CHECK(taml_features_new(&x.f, x.t, x.m, &err) == 0);
    /* a child's wide table over words, word bigrams and character 3-grams,
     * and its subword table, one batch forward and backward by hand */
    const taml_ngrams_part *p[3];
    CHECK(taml_features_part(x.f, TAML_GRAM_WORD, 1, 4096, &p[0], &err) == 0);
    CHECK(taml_features_part(x.f, TAML_GRAM_WORD, 2, 4096, &p[1], &err) == 0);
    CHECK(taml_features_part(x.f, TAML_GRAM_CHAR, 3, 4096, &p[2], &err) == 0);
    const taml_subwords *sw;
    CHECK(taml_features_subwords(x.f, 4096, &sw, &err) == 0);
    CHECK(sw->rows > 0 && p[1]->rows > 0 && p[2]->rows > 0);
    taml_net_shape s = {0};
    s.B = 100, s.D = x.f->dim, s.L = 1, s.H = 8, s.C = x.t->n_classes;
    s.wide_parts = 3, s.weighting = TAML_WEIGHT_LOG;
    s.wide_rows = p[0]->rows + p[1]->rows + p[2]->rows;
    s.wide_cap = (int)s.wide_rows;
    s.sub_rows = sw->rows, s.sub_cap = sw->rows;
    void *block = taml_aligned(taml_net_size(&s));
    taml_net_t n;
    taml_net_init(&n, &s, block);
    taml_rng rng;
    taml_rng_seed(&rng, 8);
    for (size_t i = 0; i < n.n_deep; i++) n.deep[i] = taml_rng_uniformf(&rng) - 0.5f;
    for (int64_t i = 0; i < s.wide_rows * s.C; i++) n.wtab[i] = taml_rng_uniformf(&rng) - 0.5f;
    for (int64_t i = 0; i < (int64_t)s.sub_rows * s.D; i++) n.sub->table[i] = taml_rng_uniformf(&rng) - 0.5f;
    n.sub->frozen = x.f->rows;
    taml_net_part parts[3];
    int32_t base = 0;
    for (int k = 0; k < 3; k++)
        parts[k] = (taml_net_part){p[k]->off, p[k]->ids, p[k]->cnt, base, NULL}, base += p[k]->rows;
    int32_t ex[100], labels[100];
    for (int b = 0; b < 100; b++) ex[b] = (b * 37) % x.t->n_split[TAML_TRAIN], labels[b] = x.t->label[ex[b]];
    taml_net_batch bt = {100,   ex,   labels,  x.f->deep_off, x.f->deep_ids, NULL,        NULL,
                         parts, NULL, sw->off, sw->words,     sw->w_off,     sw->w_rows};
    taml_net_zero_grad(&n);
    taml_net_forward(&n, &bt, 1);
    taml_net_backward(&n, &bt);
    CHECK(n.gwide.n > 0 && n.gwide.n < s.wide_rows); /* a batch touches some rows, not all */
    CHECK(n.sub->g.n > 0);
    for (int which = 0; which < 2; which++) {
        taml_kernel_sparse *g = which ? &n.sub->g : &n.gwide;
        float *tab = which ? n.sub->table : n.wtab;
        size_t rows = which ? (size_t)s.sub_rows : (size_t)s.wide_rows, W = (size_t)g->width;
        float *acc = malloc(sizeof(float) * rows * W), *before = malloc(sizeof(float) * rows * W);
        for (size_t i = 0; i < rows * W; i++) acc[i] = 0.1f;
        memcpy(before, tab, sizeof(float) * rows * W);
        float lr = which ? 0.3f : 0.5f, l1 = which ? 0 : 0.01f, l2 = which ? 0.01f : 0;
        taml_optim_padagrad_sparse(tab, acc, g, lr, l1, l2);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < W; j++) {
                size_t i = r * W + j;
                if (g->slot[r] < 0) {
                    CHECK(tab[i] == before[i] && acc[i] == 0.1f); /* untouched: not shrunk */
                    continue;
                }
                double a = 0.1, gv = g->g[(size_t)g->slot[r] * W + j];
                double want = padagrad_ref(before[i], &a, gv, lr, l1, l2);
                CHECK_NEAR(acc[i], a, 1e-6 * a);
                CHECK_MSG(fabs(tab[i] - want) <= 1e-6 + 1e-5 * fabs(want), "%s row %zu: %g vs %g",
                          which ? "subword" : "wide", r, tab[i], want);
            }
        free(acc);
        free(before);
    }
    free(block);
    taml_features_free(x.f);
    taml_module_close(x.m);
    taml_task_free(x.t);
}

/* ---- a label decided by a suffix --------------------------------------------------- */

/* Texts of two made-up words; the first ends in a class's suffix. Each stem
 * is new, so no word of the valid or test split was seen in training. */
static char *suffix_split(taml_rng *r, int n)
{
    static const char *const suffix[2][2] = {{"ola", "ina"}, {"ert", "usk"}};
    static const char letters[] = "bcdfghjklmnprstvz", vowels[] = "aeiou";
    size_t cap = (size_t)n * 40 + 1, used = 0;
    char *out = taml_malloc(cap);
    for (int i = 0; i < n; i++) {
        int cls = (int)(taml_rng_u64(r) % 2);
        char w[2][16];
        for (int k = 0; k < 2; k++) {
            int len = 3 + (int)(taml_rng_u64(r) % 4), o = 0;
            for (int c = 0; c < len; c++)
                w[k][o++] = c % 2 ? vowels[taml_rng_u64(r) % 5] : letters[taml_rng_u64(r) % 17];
            w[k][o] = 0;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s\t%s%s %s\n", cls ? "past" : "noun", w[0],
                                 suffix[cls][taml_rng_u64(r) % 2], w[1]);
    }
    return out;
}

static char *suffix_task(void)
{
    taml_rng r;
    taml_rng_seed(&r, 2024);
    char *tr = suffix_split(&r, 600), *va = suffix_split(&r, 200), *te = suffix_split(&r, 200);
    char *dir = make_task("suffix", tr, va, te);
    free(tr), free(va), free(te);
    return dir;
}

static double valid_acc(const taml_features *f, taml_child_config cfg)
{
    taml_child_result r;
    taml_err err;
    CHECK_MSG(taml_child_train(&cfg, f, 1, &r, &err) == 0, "%s", err.msg);
    CHECK(r.status == TAML_CHILD_OK);
    return (r.valid_acc + r.test_acc) / 2;
}

TEST(a_suffix_label_is_learned_with_character_ngrams_or_subwords_and_not_without)
{
    char *dir = suffix_task();
    taml_task *t;
    taml_module *mod;
    taml_features *f;
    taml_err err;
    CHECK_MSG(taml_task_load(&t, dir, NULL, &err) == 0, "%s", err.msg);
    CHECK(taml_module_open(&mod, SMALL_MODULE, NULL, &err) == 0);
    CHECK(taml_features_new(&f, t, mod, &err) == 0);
    /* the wide tower alone: words, then words and character n-grams */
    taml_child_config words = with("", 6000), chars = with("\"char_ngrams\": \"2-4\"", 6000);
    words.deep_disabled = chars.deep_disabled = 1;
    double a_words = valid_acc(f, words), a_chars = valid_acc(f, chars);
    CHECK_MSG(a_words < 0.65, "words alone %.3f", a_words);
    CHECK_MSG(a_chars > 0.95, "character n-grams %.3f", a_chars);
    /* the deep tower alone, over a module that knows none of the words */
    taml_child_config deep = with("", 20000), sub = with("\"subwords\": true", 20000);
    deep.wide_disabled = sub.wide_disabled = 1;
    deep.deep_lr = sub.deep_lr = 0.3;
    double a_deep = valid_acc(f, deep), a_sub = valid_acc(f, sub);
    CHECK_MSG(a_deep < 0.65, "module rows alone %.3f", a_deep);
    CHECK_MSG(a_sub > 0.9, "subwords %.3f", a_sub);
    taml_features_free(f);
    taml_module_close(mod);
    taml_task_free(t);
    free(dir);
}

/* ---- refusals ------------------------------------------------------------------------- */

TEST(text_feature_decisions_out_of_range_are_refused_naming_the_decision)
{
    static const struct {
        const char *extra, *needle;
    } bad[] = {
        {"\"word_ngrams\": 0", "\"word_ngrams\" is 0; expected a number in [1, 5]"},
        {"\"word_ngrams\": 2.5", "\"word_ngrams\" is 2.5; expected a whole number"},
        {"\"char_ngrams\": \"5-3\"", "\"char_ngrams\" must be \"none\" or \"MIN-MAX\""},
        {"\"char_ngrams\": \"0-3\"", "\"char_ngrams\" must be"},
        {"\"char_ngrams\": \"3-9\"", "MAX <= 8"},
        {"\"char_ngrams\": 3", "\"char_ngrams\" must be"},
        {"\"char_ngrams\": \"3-5x\"", "\"char_ngrams\" must be"},
        {"\"weighting\": \"tf\"", "\"weighting\" must be one of \"count\", \"binary\", \"log\", \"tfidf\""},
        {"\"subwords\": 1", "\"subwords\" must be true or false"},
        {"\"buckets\": 0", "\"buckets\" is 0; expected a number in [1, 1.07374e+09]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, \"activation\": \"relu\","
                 " \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, \"deep_l2\": 0,"
                 " \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000, %s}",
                 bad[i].extra);
        taml_child_config c;
        taml_err err;
        taml_err_clear(&err);
        CHECK_MSG(taml_child_config_parse(&c, json, strlen(json), &err) == TAML_EINVAL, "case %zu", i);
        CHECK_CONTAINS(err.msg, bad[i].needle);
    }
    /* a space whose choice is out of range is refused before any trial, naming it */
    taml_child_runner *r;
    taml_err err;
    const char *const dirs[1] = {FIXTURE};
    CHECK(taml_child_runner_new(&r, 1, dirs, NULL, &err) == 0);
    taml_space *sp;
    CHECK(taml_space_from_json(&sp,
                               "{\"embedding\": [\"random-8\"], \"fine_tune\": [false], \"layers\": [1],"
                               " \"hidden_size\": [8], \"activation\": [\"relu\"], \"normalization\": "
                               "[\"none\"], \"dropout\": [0], \"deep_lr\": [0.1], \"deep_l2\": [0],"
                               " \"wide_lr\": [0.1], \"wide_l1\": [0], \"samples\": [1000],"
                               " \"word_ngrams\": [1, 2, 7], \"char_ngrams\": [\"none\", \"3-5\"]}",
                               "s.json", &err) == 0);
    CHECK_EQ_INT(taml_child_runner_check_space(r, sp, "s.json", &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "s.json: the search space does not make valid child configurations "
                            "(decision 'word_ngrams', choice 3 of 3: 7)");
    CHECK_CONTAINS(err.msg, "\"word_ngrams\" is 7");
    taml_space_free(sp);
    taml_child_runner_free(r);
}

TEST(config_with_text_features_formats_only_what_differs_and_round_trips)
{
    taml_child_config c = with("", 1000);
    CHECK(taml_child_config_is_paper(&c) && !taml_child_config_ngrams(&c));
    CHECK(c.word_ngrams == 1 && c.char_max == 0 && c.weighting == TAML_WEIGHT_COUNT && !c.subwords &&
          c.buckets == TAML_NGRAM_BUCKETS_DEFAULT);
    char buf[1024];
    taml_child_config_format(&c, buf, sizeof buf);
    CHECK(!strstr(buf, "ngrams") && !strstr(buf, "weighting") && !strstr(buf, "subwords"));
    /* the defaults given explicitly are the paper's child */
    taml_child_config d = with("\"word_ngrams\": 1, \"char_ngrams\": \"none\", \"weighting\": \"count\","
                               " \"subwords\": false, \"buckets\": 2097152",
                               1000);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    taml_child_config e = with("\"word_ngrams\": 3, \"char_ngrams\": \"2-4\", \"weighting\": \"log\","
                               " \"subwords\": true, \"buckets\": 12345",
                               1000);
    CHECK(!taml_child_config_is_paper(&e) && taml_child_config_ngrams(&e));
    taml_child_config_format(&e, buf, sizeof buf);
    CHECK_CONTAINS(buf, "\"word_ngrams\": 3, \"char_ngrams\": \"2-4\", \"weighting\": \"log\", "
                        "\"subwords\": true, \"buckets\": 12345}");
    taml_child_config back = config_of(buf);
    CHECK(memcmp(&e, &back, sizeof e) == 0);
    /* the longest config still fits 1024 bytes */
    memset(e.embedding, '"', sizeof e.embedding - 1);
    e.embedding[sizeof e.embedding - 1] = 0;
    e.dropout = 0.59999999999999998, e.deep_lr = 1.0000000000000001e-05, e.wide_lr = 3.0000000000000001e-05;
    e.deep_l2 = 1.0000000000000001e-05, e.wide_l1 = 2.0000000000000001e-05, e.samples = 100000000000;
    e.buckets = TAML_NGRAM_BUCKETS_MAX, e.char_min = 8, e.char_max = 8, e.word_ngrams = 5;
    int n = taml_child_config_format(&e, buf, sizeof buf);
    CHECK_MSG(n > 0 && n < (int)sizeof buf, "%d bytes", n);
    back = config_of(buf);
    CHECK(memcmp(&e, &back, sizeof e) == 0);
}

/* ---- models --------------------------------------------------------------------------- */

/* The texts of a split of a TSV file (one LABEL<TAB>TEXT per line). */
typedef struct lines {
    int n;
    char **label, **text;
    size_t *len;
} lines;

static lines read_tsv(const char *path)
{
    lines l = {0};
    char *data = NULL;
    size_t size = 0;
    taml_err err;
    CHECK(taml_read_file(path, &data, &size, &err) == 0);
    l.label = calloc(size + 1, sizeof *l.label);
    l.text = calloc(size + 1, sizeof *l.text);
    l.len = calloc(size + 1, sizeof *l.len);
    for (char *p = data, *nl; p < data + size && (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = 0;
        char *tab = strchr(p, '\t');
        *tab = 0;
        l.label[l.n] = taml_strdup(p);
        l.text[l.n] = taml_strdup(tab + 1);
        l.len[l.n] = strlen(tab + 1);
        l.n++;
    }
    free(data);
    return l;
}

static void lines_free(lines *l)
{
    for (int i = 0; i < l->n; i++) free(l->label[i]), free(l->text[i]);
    free(l->label), free(l->text), free(l->len);
}

static int decode_model(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    (void)ctx;
    taml_model *m;
    int rc = taml_model_decode(&m, buf, n, source, err);
    taml_model_free(m);
    return rc;
}

/* Trains cfg on the suffix task, makes a model of it, encodes and decodes it,
 * and checks that its predictions of the test split are the child's. */
static void model_round_trip(const char *dir, taml_child_config cfg, int damage)
{
    taml_task *t;
    taml_module *mod;
    taml_features *f;
    taml_err err;
    CHECK(taml_task_load(&t, dir, NULL, &err) == 0);
    CHECK(taml_module_open(&mod, SMALL_MODULE, NULL, &err) == 0);
    CHECK(taml_features_new(&f, t, mod, &err) == 0);
    taml_child *c;
    CHECK_MSG(taml_child_new(&c, &cfg, f, 7, &err) == 0, "%s", err.msg);
    taml_child_result res;
    taml_child_fit(c, &res);
    double test = taml_child_accuracy(c, TAML_TEST);
    taml_model *m0, *m;
    CHECK_MSG(taml_model_from_child(&m0, c, &cfg, f, NULL, &err) == 0, "%s", err.msg);
    void *buf;
    size_t size;
    taml_model_encode(m0, &buf, &size);
    CHECK(((unsigned char *)buf)[8] == TAML_MODEL_VERSION_TEXT); /* beyond the paper: version 3 */
    CHECK_MSG(taml_model_decode(&m, buf, size, "ng.taml", &err) == 0, "%s", err.msg);
    void *again;
    size_t size2;
    taml_model_encode(m, &again, &size2);
    CHECK(size2 == size && memcmp(buf, again, size) == 0);
    free(again);
    const taml_model_info *mi = taml_model_info_get(m);
    if (cfg.char_max > 0 || cfg.word_ngrams > 1) CHECK(mi->n_gram_rows > 0);
    CHECK((mi->n_subword_rows > 0) == (cfg.subwords && !cfg.deep_disabled));
    char *path = taml_path_join(dir, "test.tsv");
    lines l = read_tsv(path);
    free(path);
    float *logits = malloc(sizeof(float) * (size_t)l.n * mi->n_classes);
    CHECK(taml_model_predict_texts(m, l.n, (const char *const *)l.text, l.len, logits, &err) == 0);
    int hits = 0;
    for (int i = 0; i < l.n; i++)
        hits += !strcmp(mi->class_names[taml_model_argmax(logits + (size_t)i * mi->n_classes,
                                                           mi->n_classes, NULL)],
                        l.label[i]);
    CHECK_MSG((double)hits / l.n == test, "the model's test accuracy %d/%d, the child's %.17g", hits,
              l.n, test);
    /* a text with no word of any n-gram, an empty one, one of only unseen words */
    const char *none[3] = {"", "!!! ???", "zzzzzzzzzzzz qqqqqqqqq"};
    size_t lens[3] = {0, 7, 22};
    float z[3 * 8];
    CHECK(taml_model_predict_texts(m, 3, none, lens, z, &err) == 0);
    for (int i = 0; i < 2 * mi->n_classes; i++) CHECK(isfinite(z[i]));
    for (int j = 0; j < mi->n_classes; j++) CHECK(z[j] == z[mi->n_classes + j]); /* both empty */
    /* an ensemble (version 2) of version-3 members holds each as its own
     * file and predicts the mean of their probabilities: two copies of one
     * model give that model's softmax back */
    {
        taml_model *mem[2], *e, *e2;
        CHECK(taml_model_decode(&mem[0], buf, size, "ng.taml", &err) == 0);
        CHECK(taml_model_decode(&mem[1], buf, size, "ng.taml", &err) == 0);
        uint32_t w[2] = {1, 2};
        CHECK_MSG(taml_model_ensemble_new(&e, mem, w, 2, NULL, &err) == 0, "%s", err.msg);
        void *eb;
        size_t es;
        taml_model_encode(e, &eb, &es);
        CHECK(((unsigned char *)eb)[8] == TAML_MODEL_VERSION_ENSEMBLE);
        CHECK_MSG(taml_model_decode(&e2, eb, es, "ens.taml", &err) == 0, "%s", err.msg);
        uint32_t w1;
        CHECK(taml_model_info_get(taml_model_member(e2, 1, &w1))->n_gram_rows == mi->n_gram_rows);
        CHECK_EQ_INT(w1, 2);
        int C = mi->n_classes;
        double *pe = malloc(sizeof(double) * (size_t)l.n * C), *ps = malloc(sizeof(double) * (size_t)l.n * C);
        CHECK(taml_model_proba_texts(e2, l.n, (const char *const *)l.text, l.len, pe, &err) == 0);
        CHECK(taml_model_proba_texts(m, l.n, (const char *const *)l.text, l.len, ps, &err) == 0);
        for (int i = 0; i < l.n * C; i++) CHECK_NEAR(pe[i], ps[i], 1e-12);
        free(pe), free(ps), free(eb);
        taml_model_free(e);
        taml_model_free(e2);
    }
    if (damage) {
        /* every byte of the first and last 300 (the version-3 fields end
         * the payload), every 509th between */
        fc_truncations(buf, size, "ng.taml", 509, decode_model, NULL);
        fc_flips(buf, size, "ng.taml", 0, 509, decode_model, NULL);
        /* version 1 has no room for these decisions */
        unsigned char *v1 = malloc(size);
        memcpy(v1, buf, size);
        v1[8] = 1;
        fc_reseal(v1, size);
        taml_model *bad;
        CHECK_EQ_INT(taml_model_decode(&bad, v1, size, "ng.taml", &err), TAML_EFORMAT);
        CHECK_CONTAINS(err.msg, "which version 1 cannot hold");
        free(v1);
    }
    free(logits);
    lines_free(&l);
    free(buf);
    taml_model_free(m);
    taml_model_free(m0);
    taml_child_free(c);
    taml_features_free(f);
    taml_module_close(mod);
    taml_task_free(t);
}

TEST(models_with_ngrams_and_subwords_predict_as_the_child_scored_and_refuse_damage)
{
    char *dir = suffix_task();
    model_round_trip(dir, with("\"word_ngrams\": 2, \"char_ngrams\": \"2-4\", \"weighting\": \"log\","
                               " \"subwords\": true, \"buckets\": 65536",
                               3000),
                     1);
    taml_child_config ft = with("\"char_ngrams\": \"3-5\", \"weighting\": \"binary\", \"subwords\": true",
                                3000);
    ft.fine_tune = 1, ft.normalization = TAML_NORM_BATCH;
    model_round_trip(dir, ft, 0);
    model_round_trip(dir, with("\"word_ngrams\": 2, \"char_ngrams\": \"1-3\", \"weighting\": \"tfidf\"",
                               3000),
                     0);
    taml_child_config sub_only = with("\"subwords\": true", 3000); /* the paper's wide tower */
    model_round_trip(dir, sub_only, 0);
    taml_child_config wide_only = with("\"word_ngrams\": 3", 3000);
    wide_only.deep_disabled = 1;
    model_round_trip(dir, wide_only, 0);
    free(dir);
}

TEST(a_version_1_model_still_loads_and_encodes_to_the_same_bytes)
{
    taml_model *m;
    taml_err err;
    CHECK_MSG(taml_model_load(&m, "tests/fixtures/v1/model.taml", &err) == 0, "%s", err.msg);
    void *buf;
    size_t size;
    taml_model_encode(m, &buf, &size);
    CHECK(((unsigned char *)buf)[8] == 1); /* a paper model stays version 1 */
    char *data = NULL;
    size_t n = 0;
    CHECK(taml_read_file("tests/fixtures/v1/model.taml", &data, &n, &err) == 0);
    CHECK(n == size && memcmp(data, buf, n) == 0);
    free(data);
    free(buf);
    taml_model_free(m);
}

/* ---- the command line: spaces, export, predict ----------------------------------------- */

static char *run_out(int want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *run_out(int want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char cmd[4096];
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out;
    int st = taml_test_run(cmd, &out);
    CHECK_MSG(st == want, "%s: exit %d, not %d: %s", cmd, st, want, out);
    return out;
}

TEST(search_space_taml_is_the_default_paper_one_flag_away_and_a_study_keeps_its_own)
{
    const char *fake = taml_test_fake_bin();
    char *dir = taml_path_join(taml_test_tmpdir(), "spaces");
    mkdir(dir, 0777);
    char *dflt = taml_path_join(dir, "default.db"), *paper = taml_path_join(dir, "paper.db");
    const char *common = "--task " FIXTURE " --method random --workers 1 --seed 3 "
                         "--modules tests/fixtures/v1";
    free(run_out(0, "%s search --study %s %s --trials 3", fake, dflt, common));
    char *out = run_out(0, "%s status %s", taml_test_bin(), dflt);
    CHECK_CONTAINS(out, "method random, space taml (16 decisions), 1 task");
    free(out);
    /* the same command again, and without naming the space: it continues */
    free(run_out(0, "%s search --study %s %s --trials 5", fake, dflt, common));
    out = run_out(0, "%s search --study %s %s --trials 6 --space taml", fake, dflt, common);
    CHECK_CONTAINS(out, "6 trials");
    free(out);
    /* --space paper: the paper's 12 decisions; a study of it refuses the other */
    free(run_out(0, "%s search --study %s %s --trials 2 --space paper", fake, paper, common));
    out = run_out(0, "%s status %s", taml_test_bin(), paper);
    CHECK_CONTAINS(out, "space paper (12 decisions)");
    free(out);
    free(run_out(0, "%s search --study %s %s --trials 3", fake, paper, common));
    free(run_out(1, "%s search --study %s %s --trials 4 --space taml", fake, paper, common));
    /* a new transfer study searches its source's space */
    char *mt = taml_path_join(dir, "mt.db"), *tr = taml_path_join(dir, "tr.db");
    free(run_out(0, "%s search --study %s --task " FIXTURE " --method multitask --trials 3 --workers 1 "
                    "--modules tests/fixtures/v1 --space paper",
                 fake, mt));
    free(run_out(0, "%s search --study %s --task " FIXTURE " --method transfer --from %s --trials 2 "
                    "--workers 1 --modules tests/fixtures/v1",
                 fake, tr, mt));
    out = run_out(0, "%s status %s", taml_test_bin(), tr);
    CHECK_CONTAINS(out, "method transfer, space paper (12 decisions)");
    free(out);
    free(mt), free(tr);
    /* the trials of the taml space carry its decisions */
    out = run_out(0, "sqlite3 %s 'select config_json from trials limit 1'", dflt);
    CHECK_CONTAINS(out, "\"word_ngrams\":");
    CHECK_CONTAINS(out, "\"subwords\":");
    free(out);
    /* the report names the space too */
    char *html = taml_path_join(dir, "r.html");
    free(run_out(0, "%s report %s -o %s", taml_test_bin(), dflt, html));
    char *data = NULL;
    size_t size = 0;
    taml_err err;
    CHECK(taml_read_file(html, &data, &size, &err) == 0);
    CHECK_CONTAINS(data, "taml (16 decisions)");
    free(data);
    free(html), free(dflt), free(paper), free(dir);
}

TEST(export_and_predict_on_the_command_line_carry_ngrams_and_subwords)
{
    char *task = suffix_task(), *dir = taml_path_join(taml_test_tmpdir(), "cli-ngrams");
    mkdir(dir, 0777);
    char *space = taml_path_join(dir, "s.json"), *study = taml_path_join(dir, "s.db"),
         *model = taml_path_join(dir, "m.taml"), *pred = taml_path_join(dir, "pred.txt"),
         *texts = taml_path_join(dir, "texts.txt");
    write_text(space, "{\"embedding\": [\"module\"], \"fine_tune\": [false, true], \"layers\": [1],"
                      " \"hidden_size\": [16], \"activation\": [\"relu\"], \"normalization\": [\"none\"],"
                      " \"dropout\": [0], \"deep_lr\": [0.1], \"deep_l2\": [0], \"wide_lr\": [0.3],"
                      " \"wide_l1\": [0], \"samples\": [3000], \"word_ngrams\": [1, 2],"
                      " \"char_ngrams\": [\"none\", \"3-5\"], \"weighting\": [\"log\"], \"subwords\": [true]}");
    free(run_out(0, "%s search --study %s --task %s --method random --trials 4 --workers 2 --seed 5 "
                    "--space %s --modules tests/fixtures/v1",
                 taml_test_bin(), study, task, space));
    char *best = run_out(0, "sqlite3 %s 'select test_acc from trials order by valid_acc desc, id limit 1'",
                         study);
    double want = strtod(best, NULL);
    free(best);
    free(run_out(0, "%s export %s --task suffix -o %s --modules tests/fixtures/v1", taml_test_bin(),
                 study, model));
    char *test_tsv = taml_path_join(task, "test.tsv");
    lines l = read_tsv(test_tsv);
    FILE *fp = fopen(texts, "w");
    for (int i = 0; i < l.n; i++) fprintf(fp, "%s\n", l.text[i]);
    fclose(fp);
    char *labels = run_out(0, "%s predict %s < %s", taml_test_bin(), model, texts), *line = labels;
    int hits = 0, n = 0;
    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1, n++) {
        *nl = 0;
        hits += n < l.n && !strcmp(line, l.label[n]);
    }
    CHECK_EQ_INT(n, l.n);
    CHECK_MSG(fabs((double)hits / n - want) < 1e-12, "predict %d/%d, the study %.17g", hits, n, want);
    free(labels);
    /* lines with no word: a label all the same */
    char *none = run_out(0, "printf '\\n...\\n\\n' | %s predict %s", taml_test_bin(), model);
    char a[64], b[64], c[64];
    CHECK(sscanf(none, "%63s %63s %63s", a, b, c) == 3 && !strcmp(a, b) && !strcmp(b, c));
    free(none);
    char *info = run_out(0, "%s predict %s --info", taml_test_bin(), model);
    CHECK_CONTAINS(info, "subword rows");
    free(info);
    /* an ensemble of the best two: its members are version-3 models */
    char *ens = taml_path_join(dir, "ens.taml");
    free(run_out(0, "%s export %s --task suffix --ensemble 2 -o %s --modules tests/fixtures/v1",
                 taml_test_bin(), study, ens));
    info = run_out(0, "%s predict %s --info", taml_test_bin(), ens);
    CHECK_CONTAINS(info, "ensemble    2 members");
    CHECK_CONTAINS(info, "member 2 of 2");
    CHECK_CONTAINS(info, "subword rows");
    free(info);
    free(run_out(0, "%s predict %s < %s", taml_test_bin(), ens, texts));
    free(ens);
    lines_free(&l);
    free(test_tsv), free(task), free(dir), free(space), free(study), free(model), free(pred), free(texts);
}
