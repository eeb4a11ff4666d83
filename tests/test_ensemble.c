/* tests/test_ensemble.c - ensembles of a task's best trials (nn/model.h's
 * version-2 container, search/ensemble.h, `taml export --ensemble`, `taml
 * search --ensemble`, the recorded ensemble in the study, `taml status` and
 * the report): an ensemble predicts the weighted mean of its members'
 * probabilities bit for bit, its recorded accuracies are its predictions',
 * greedy selection picks what Caruana et al.'s algorithm picks, damaged
 * files and bad requests are refused with messages that say what and where. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/blas.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "nn/model.h"
#include "report/report.h"
#include "report/status.h"
#include "report/study.h"
#include "search/ensemble.h"
#include "search/export.h"
#include "store/store.h"
#include "fixture_files.h"
#include "format_check.h"
#include "test.h"
#include "testutil.h"
#include "xml_check.h"

#define TASK_DIR "tests/fixtures/tasks/child-topics"

/* The space of tests/test_export.c: every kind of child. */
static const char space_text[] =
    "{\"embedding\":[\"random-16\",\"random-8\"],\"fine_tune\":[false,true],\"layers\":[1,2],"
    "\"hidden_size\":[8,16],\"activation\":[\"relu\",\"swish\"],"
    "\"normalization\":[\"none\",\"batch_norm\",\"layer_norm\"],\"dropout\":[0.0,0.1],"
    "\"deep_lr\":[0.1,0.3],\"deep_l2\":[0,0.0001,\"disable\"],\"wide_lr\":[0.1,0.3],"
    "\"wide_l1\":[0,0.001,\"disable\"],\"samples\":[1000,2000]}";

static char *tmp(const char *name) { return taml_path_join(taml_test_tmpdir(), name); }

/* ------------------------------------------------------------ fixtures */

/* m's probabilities of the split's texts (heap, n x C). */
static double *proba_of(taml_model *m, const taml_test_split *s)
{
    const taml_model_info *mi = taml_model_info_get(m);
    double *p = taml_malloc(sizeof *p * (size_t)s->n * mi->n_classes);
    taml_err err;
    CHECK_MSG(taml_model_proba_texts(m, s->n, (const char *const *)s->text, s->len, p, &err) == 0,
              "%s", err.msg);
    return p;
}

/* The share of the split's texts whose most probable class is their label. */
static double accuracy_of(const taml_model *m, const double *p, const taml_test_split *s)
{
    const taml_model_info *mi = taml_model_info_get(m);
    int hits = 0;
    for (int i = 0; i < s->n; i++)
        hits += !strcmp(mi->class_names[taml_model_best_class(p + (size_t)i * mi->n_classes,
                                                               mi->n_classes)],
                        s->label[i]);
    return (double)hits / s->n;
}

/* A model of the fixture trained from config cj with module mod_name. */
static taml_model *train_model(const char *task_dir, const char *mod_name, const char *cj,
                               uint64_t seed)
{
    taml_err err;
    taml_task *task;
    CHECK(taml_task_load(&task, task_dir, NULL, &err) == 0);
    taml_module *mod;
    CHECK(taml_module_open(&mod, mod_name, NULL, &err) == 0);
    taml_features *f;
    CHECK(taml_features_new(&f, task, mod, &err) == 0);
    taml_child_config cfg;
    CHECK_MSG(taml_child_config_parse(&cfg, cj, strlen(cj), &err) == 0, "%s", err.msg);
    taml_child *c;
    CHECK(taml_child_new(&c, &cfg, f, seed, &err) == 0);
    taml_child_result res;
    taml_child_fit(c, &res);
    taml_model *m;
    CHECK(taml_model_from_child(&m, c, &cfg, f, "{\"why\":\"test\"}", &err) == 0);
    taml_child_free(c);
    taml_features_free(f);
    taml_module_close(mod);
    taml_task_free(task);
    return m;
}

/* Three members of different kinds: a frozen 8-wide module with batch norm
 * and a wide tower, a fine-tuned 16-wide one without a wide tower, a wide
 * tower alone. */
static void three_members(taml_model *out[3])
{
    taml_blas_init(NULL);
    out[0] = train_model(TASK_DIR, "random-8",
                         "{\"embedding\":\"random-8\",\"fine_tune\":false,\"layers\":1,"
                         "\"hidden_size\":4,\"activation\":\"relu\",\"normalization\":"
                         "\"batch_norm\",\"dropout\":0,\"deep_lr\":0.1,\"deep_l2\":0,"
                         "\"wide_lr\":0.1,\"wide_l1\":0,\"samples\":500}",
                         3);
    out[1] = train_model(TASK_DIR, "random-16",
                         "{\"embedding\":\"random-16\",\"fine_tune\":true,\"layers\":2,"
                         "\"hidden_size\":8,\"activation\":\"swish\",\"normalization\":"
                         "\"layer_norm\",\"dropout\":0.1,\"deep_lr\":0.3,\"deep_l2\":0.0001,"
                         "\"wide_lr\":0.1,\"wide_l1\":\"disable\",\"samples\":800}",
                         4);
    out[2] = train_model(TASK_DIR, "random-8",
                         "{\"embedding\":\"random-8\",\"fine_tune\":false,\"layers\":1,"
                         "\"hidden_size\":4,\"activation\":\"relu\",\"normalization\":\"none\","
                         "\"dropout\":0,\"deep_lr\":0.1,\"deep_l2\":\"disable\",\"wide_lr\":0.3,"
                         "\"wide_l1\":0.001,\"samples\":600}",
                         5);
}

/* A model as file bytes and back (what a file written and read gives). */
static taml_model *through_bytes(const taml_model *m, void **buf, size_t *size)
{
    taml_model_encode(m, buf, size);
    taml_model *back;
    taml_err err;
    CHECK_MSG(taml_model_decode(&back, *buf, *size, "m.taml", &err) == 0, "%s", err.msg);
    return back;
}

/* The ensemble of the three members above, weights 2, 1, 1, as file bytes. */
static void ensemble_bytes(void **buf, size_t *size)
{
    taml_model *m[3];
    three_members(m);
    uint32_t w[3] = {2, 1, 1};
    taml_model *e;
    taml_err err;
    CHECK_MSG(taml_model_ensemble_new(&e, m, w, 3, "{\"why\":\"ensemble\"}", &err) == 0, "%s",
              err.msg);
    taml_model_encode(e, buf, size);
    taml_model_free(e);
}

/* ------------------------------------------------------------ the container */

TEST(ensemble_predicts_the_weighted_mean_of_its_members_probabilities_bit_for_bit)
{
    taml_model *m[3], *alone[3];
    three_members(m);
    taml_test_split sp;
    taml_test_split_load(&sp, TASK_DIR "/all.tsv", TAML_TEST);
    int32_t C = taml_model_info_get(m[0])->n_classes;
    /* each member exported alone (a version-1 file) and read back */
    double *p[3];
    for (int k = 0; k < 3; k++) {
        void *buf;
        size_t size;
        alone[k] = through_bytes(m[k], &buf, &size);
        CHECK_EQ_INT(taml_bytes_load_u32((unsigned char *)buf + 8), TAML_MODEL_VERSION);
        p[k] = proba_of(alone[k], &sp);
        free(buf);
    }
    uint32_t w[3] = {2, 1, 1};
    taml_model *e;
    taml_err err;
    CHECK_MSG(taml_model_ensemble_new(&e, m, w, 3, NULL, &err) == 0, "%s", err.msg);
    void *buf;
    size_t size;
    taml_model *back = through_bytes(e, &buf, &size);
    CHECK_EQ_INT(taml_bytes_load_u32((unsigned char *)buf + 8), TAML_MODEL_VERSION_ENSEMBLE);
    const taml_model_info *ei = taml_model_info_get(back);
    CHECK(ei->ensemble && ei->n_members == 3 && ei->n_classes == C && !ei->config_json);
    CHECK_STR(ei->provenance_json, "{}");
    /* the mean, summed in member order, each weight times the member's softmax */
    double *want = taml_calloc((size_t)sp.n * C, sizeof *want);
    for (int i = 0; i < sp.n; i++)
        for (int32_t j = 0; j < C; j++) {
            double acc = 0;
            for (int k = 0; k < 3; k++) acc += w[k] * p[k][(size_t)i * C + j];
            want[(size_t)i * C + j] = acc / 4;
        }
    for (int pass = 0; pass < 2; pass++) {
        double *got = proba_of(pass ? back : e, &sp);
        CHECK_MSG(!memcmp(got, want, sizeof *got * (size_t)sp.n * C),
                  "pass %d: the ensemble's probabilities are not the weighted mean", pass);
        free(got);
    }
    /* the members are the models given, and the file re-encodes byte for byte */
    for (int k = 0; k < 3; k++) {
        uint32_t wk;
        const taml_model *mk = taml_model_member(back, k, &wk);
        CHECK_EQ_INT(wk, w[k]);
        CHECK_STR(taml_model_info_get(mk)->config_json, taml_model_info_get(alone[k])->config_json);
    }
    void *again;
    size_t na;
    taml_model_encode(back, &again, &na);
    CHECK(na == size && !memcmp(again, buf, size));
    /* a single model is its own member; an ensemble has no logits */
    uint32_t w0;
    CHECK(taml_model_member(alone[0], 0, &w0) == alone[0] && w0 == 1);
    float z[64 * 4];
    CHECK_EQ_INT(taml_model_predict_texts(back, 1, (const char *const *)sp.text, sp.len, z, &err),
                 TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "an ensemble of 3 members gives probabilities, not logits");
    uint8_t px[4] = {0};
    double pp[4];
    CHECK_EQ_INT(taml_model_proba_images(back, 1, px, pp, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "a text model cannot read images");

    /* `taml predict` gives the labels of the mean, and --proba its values */
    char *model = tmp("e.taml"), *texts = tmp("texts.txt"), *cmd, *out;
    CHECK(taml_write_file_atomic(model, buf, size, &err) == 0);
    FILE *fp = fopen(texts, "w");
    for (int i = 0; i < sp.n; i++) fprintf(fp, "%s\n", sp.text[i]);
    fclose(fp);
    cmd = taml_asprintf("%s predict %s --proba --top 1 < %s", taml_test_bin(), model, texts);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    char *line = out;
    for (int i = 0; i < sp.n; i++) {
        char *nl = strchr(line, '\n');
        CHECK(nl != NULL);
        *nl = 0;
        int32_t best = taml_model_best_class(want + (size_t)i * C, C);
        char expect[128];
        snprintf(expect, sizeof expect, "%s\t%.6g", ei->class_names[best], want[(size_t)i * C + best]);
        CHECK_STR(line, expect);
        line = nl + 1;
    }
    free(out);
    free(cmd);
    cmd = taml_asprintf("%s predict %s --info", taml_test_bin(), model);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "ensemble    3 members");
    CHECK_CONTAINS(out, "member 1 of 3, weight 2:");
    CHECK_CONTAINS(out, "member 3 of 3, weight 1:");
    free(out);
    free(cmd);
    for (int k = 0; k < 3; k++) free(p[k]), taml_model_free(alone[k]);
    free(want);
    free(again);
    free(buf);
    free(model);
    free(texts);
    taml_model_free(back);
    taml_model_free(e);
    taml_test_split_free(&sp);
}

/* The offset of member k's size field (k from 0) in an ensemble's bytes. */
static size_t member_at(const unsigned char *b, int k)
{
    size_t off = 24 + 4;
    off += 4 + taml_bytes_load_u32(b + off); /* provenance */
    for (int i = 0; i < k; i++) off += 4 + 8 + taml_bytes_load_u64(b + off + 4);
    return off + 4;
}

static void refused_with(unsigned char *copy, size_t size, int code, const char *says)
{
    taml_err err;
    taml_model *m;
    fc_reseal(copy, size);
    CHECK_EQ_INT(taml_model_decode(&m, copy, size, "m.taml", &err), code);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, says);
}

TEST(damaged_ensemble_files_are_refused_naming_the_file_the_member_and_the_field)
{
    void *buf;
    size_t size;
    ensemble_bytes(&buf, &size);
    unsigned char *b = buf, *copy = taml_malloc(size + 8);
    /* every cut, every cut resealed, every changed byte */
    fc_truncations(b, size, "m.taml", 97, fc_model_decode, NULL);
    fc_resealed_truncations(b, size, "m.taml", 97, fc_model_decode, NULL);
    fc_flips(b, size, "m.taml", 0, 89, fc_model_decode, NULL);
    /* no member */
    memcpy(copy, b, size);
    taml_bytes_store_u32(copy + 24, 0);
    refused_with(copy, size, TAML_EFORMAT,
                 "m.taml: offset 24: the number of members: 0 (expected 1 .. 1000)");
    /* a member of weight 0 */
    memcpy(copy, b, size);
    size_t w2 = member_at(b, 1) - 4;
    taml_bytes_store_u32(copy + w2, 0);
    char want[160];
    snprintf(want, sizeof want, "m.taml: offset %zu: the weight of member 2: 0 (expected 1 .. ", w2);
    refused_with(copy, size, TAML_EFORMAT, want);
    /* a member whose size runs past the payload */
    memcpy(copy, b, size);
    size_t s3 = member_at(b, 2);
    taml_bytes_store_u64(copy + s3, taml_bytes_load_u64(b + s3) + 1);
    snprintf(want, sizeof want, "m.taml: offset %zu: the size of member 3: ", s3);
    refused_with(copy, size, TAML_ECORRUPT, want);
    /* a damaged field inside member 2, under a valid container checksum: its
     * own checksum names it */
    memcpy(copy, b, size);
    size_t m2 = member_at(b, 1) + 8;
    copy[m2 + 44] = 'X'; /* the config's first byte (after the task name) */
    refused_with(copy, size, TAML_ECORRUPT, "m.taml: member 2 of 3: taml model checksum mismatch");
    /* ... and resealed too: the field and its offset in the member */
    fc_reseal(copy + m2, (size_t)taml_bytes_load_u64(b + m2 - 8));
    refused_with(copy, size, TAML_EFORMAT, "m.taml: member 2 of 3: offset ");
    /* trailing bytes after the last member */
    memcpy(copy, b, size);
    memmove(copy + size + 4 - 4, copy + size - 4, 4);
    memset(copy + size - 4, 0, 4);
    refused_with(copy, size + 4, TAML_ECORRUPT, "the last member: 4 unexpected bytes after it");
    /* a newer version */
    memcpy(copy, b, size);
    taml_bytes_store_u32(copy + 8, 99); /* past any version a branch plans (3, 4) */
    taml_err err;
    taml_model *m;
    CHECK_EQ_INT(taml_model_decode(&m, copy, size, "m.taml", &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "m.taml: offset 8: version: model file format version 99");
    /* through the command line: exit 1 with the message */
    char *path = tmp("bad.taml"), *cmd, *out;
    memcpy(copy, b, size);
    taml_bytes_store_u32(copy + 24, 0);
    fc_reseal(copy, size);
    CHECK(taml_write_file_atomic(path, copy, size, &err) == 0);
    cmd = taml_asprintf("echo hello | %s predict %s", taml_test_bin(), path);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 1);
    CHECK_CONTAINS(out, "bad.taml: offset 24: the number of members: 0");
    free(out);
    free(cmd);
    /* member 2 cut short inside its payload, the container and the member
     * each made consistent around the cut (a size and a checksum that fit):
     * predict names the file, the member and the offset inside it where the
     * bytes ran out */
    size_t m2s = member_at(b, 1), m2len = (size_t)taml_bytes_load_u64(b + m2s), cut = 40;
    size_t cut_size = size - cut;
    memcpy(copy, b, m2s + 8 + m2len - cut);
    memcpy(copy + m2s + 8 + m2len - cut, b + m2s + 8 + m2len, size - (m2s + 8 + m2len));
    taml_bytes_store_u64(copy + m2s, m2len - cut);
    fc_reseal(copy + m2s + 8, m2len - cut);
    fc_reseal(copy, cut_size);
    CHECK(taml_write_file_atomic(path, copy, cut_size, &err) == 0);
    CHECK_EQ_INT(taml_test_run(cmd = taml_asprintf("echo hello | %s predict %s", taml_test_bin(),
                                                   path), &out), 1);
    CHECK_CONTAINS(out, "bad.taml: member 2 of 3: offset ");
    CHECK_CONTAINS(out, ": truncated (needs ");
    free(out);
    free(cmd);
    /* ... and the container alone cut inside member 2 (resealed): its size
     * field runs past the bytes there are */
    memcpy(copy, b, m2s + 8 + 100);
    fc_reseal(copy, m2s + 8 + 100 + 4);
    CHECK(taml_write_file_atomic(path, copy, m2s + 8 + 100 + 4, &err) == 0);
    CHECK_EQ_INT(taml_test_run(cmd = taml_asprintf("echo hello | %s predict %s", taml_test_bin(),
                                                   path), &out), 1);
    snprintf(want, sizeof want, "bad.taml: offset %zu: the size of member 2: ", m2s);
    CHECK_CONTAINS(out, want);
    CHECK_CONTAINS(out, " bytes; 100 are left");
    free(out);
    free(cmd);
    free(path);
    free(copy);
    free(buf);
}

TEST(an_ensemble_holds_only_single_models_of_one_task)
{
    taml_model *m[3], *n[3];
    three_members(m);
    taml_model *other = train_model("tests/fixtures/tasks/udhr-mini", "random-8",
                                    "{\"embedding\":\"random-8\",\"fine_tune\":false,\"layers\":1,"
                                    "\"hidden_size\":4,\"activation\":\"relu\",\"normalization\":"
                                    "\"none\",\"dropout\":0,\"deep_lr\":0.1,\"deep_l2\":0,"
                                    "\"wide_lr\":0.1,\"wide_l1\":0,\"samples\":300}",
                                    1);
    taml_err err;
    taml_model *e;
    uint32_t w[3] = {1, 1, 1}, zero[2] = {1, 0};
    /* refused members are taken all the same (freed): each try gets its own */
    taml_model *two[2] = {m[0], other};
    CHECK_EQ_INT(taml_model_ensemble_new(&e, two, w, 2, NULL, &err), TAML_EINVAL);
    CHECK(e == NULL);
    CHECK_CONTAINS(err.msg, "ensemble member 2 of 2 is of another task");
    three_members(n);
    two[0] = n[0], two[1] = n[1];
    CHECK_EQ_INT(taml_model_ensemble_new(&e, two, zero, 2, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "ensemble member 2 of 2 has weight 0");
    CHECK_EQ_INT(taml_model_ensemble_new(&e, two, w, 0, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "an ensemble of 0 members (expected 1 .. 1000)");
    /* an ensemble is no member */
    taml_model *inner, *three[3] = {m[1], m[2], n[2]};
    CHECK(taml_model_ensemble_new(&inner, three, w, 3, NULL, &err) == 0);
    taml_model *nest[1] = {inner};
    CHECK_EQ_INT(taml_model_ensemble_new(&e, nest, w, 1, NULL, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "ensemble member 1 of 1 is an ensemble itself");
    /* nor in a file: a container whose member is a container */
    void *buf;
    size_t size;
    ensemble_bytes(&buf, &size);
    taml_bytes_writer wr;
    taml_bytes_writer_init(&wr);
    size_t start = taml_envelope_begin(&wr, "TAMLCLSF", TAML_MODEL_VERSION_ENSEMBLE, 0);
    taml_bytes_put_u32(&wr, 1);
    taml_bytes_put_str32(&wr, "{}");
    taml_bytes_put_u32(&wr, 1);
    taml_bytes_put_u64(&wr, size);
    taml_bytes_put(&wr, buf, size);
    taml_envelope_end(&wr, start);
    size_t nn;
    void *nested = taml_bytes_writer_take(&wr, &nn);
    CHECK_EQ_INT(taml_model_decode(&e, nested, nn, "n.taml", &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "n.taml: member 1 of 1: an ensemble inside an ensemble");
    free(nested);
    free(buf);
    /* members of two tasks in a file */
    taml_model *a[3], *bm;
    three_members(a);
    bm = train_model("tests/fixtures/tasks/udhr-mini", "random-8",
                     "{\"embedding\":\"random-8\",\"fine_tune\":false,\"layers\":1,"
                     "\"hidden_size\":4,\"activation\":\"relu\",\"normalization\":\"none\","
                     "\"dropout\":0,\"deep_lr\":0.1,\"deep_l2\":0,\"wide_lr\":0.1,\"wide_l1\":0,"
                     "\"samples\":300}",
                     1);
    void *ba, *bb;
    size_t na, nb;
    taml_model_encode(a[0], &ba, &na);
    taml_model_encode(bm, &bb, &nb);
    taml_bytes_writer_init(&wr);
    start = taml_envelope_begin(&wr, "TAMLCLSF", TAML_MODEL_VERSION_ENSEMBLE, 0);
    taml_bytes_put_u32(&wr, 2);
    taml_bytes_put_str32(&wr, "{}");
    taml_bytes_put_u32(&wr, 1);
    taml_bytes_put_u64(&wr, na);
    taml_bytes_put(&wr, ba, na);
    taml_bytes_put_u32(&wr, 1);
    taml_bytes_put_u64(&wr, nb);
    taml_bytes_put(&wr, bb, nb);
    taml_envelope_end(&wr, start);
    nested = taml_bytes_writer_take(&wr, &nn);
    CHECK_EQ_INT(taml_model_decode(&e, nested, nn, "two.taml", &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "two.taml: model: ensemble member 2 of 2 is of another task");
    free(nested);
    free(ba);
    free(bb);
    for (int k = 0; k < 3; k++) taml_model_free(a[k]);
    taml_model_free(bm);
}

/* ------------------------------------------------------------ greedy selection */

/* Caruana et al.'s algorithm as the paper states it (ICML 2004, section 2,
 * with replacement): start empty; each step, add the candidate whose
 * addition maximises the accuracy of the mean of the ensemble's
 * probabilities (ties here: the earliest candidate; classes tie to the
 * lowest); after the steps return the nested ensemble of best accuracy
 * (ties: the earliest). Written from the text, independently of
 * taml_ensemble_greedy (means, not sums). */
static int32_t paper_greedy(const double *p, int32_t M, int32_t n, int32_t C, const int32_t *y,
                            int32_t steps, int32_t *counts, int32_t *hits_out)
{
    int32_t picks[64], best_len = 0, best_hits = -1, cnt[64] = {0};
    CHECK(steps <= 64 && M <= 64);
    for (int32_t s = 0; s < steps; s++) {
        int32_t best_c = -1, best_c_hits = -1;
        for (int32_t c = 0; c < M; c++) {
            cnt[c]++;
            int32_t hits = 0;
            for (int32_t i = 0; i < n; i++) {
                int32_t arg = 0;
                double top = -1;
                for (int32_t j = 0; j < C; j++) {
                    double mean = 0;
                    for (int32_t k = 0; k < M; k++) mean += cnt[k] * p[((size_t)k * n + i) * C + j];
                    mean /= s + 1;
                    if (mean > top) top = mean, arg = j;
                }
                hits += arg == y[i];
            }
            cnt[c]--;
            if (hits > best_c_hits) best_c = c, best_c_hits = hits;
        }
        picks[s] = best_c;
        cnt[best_c]++;
        if (best_c_hits > best_hits) best_hits = best_c_hits, best_len = s + 1;
    }
    for (int32_t c = 0; c < M; c++) counts[c] = 0;
    for (int32_t s = 0; s < best_len; s++) counts[picks[s]]++;
    *hits_out = best_hits;
    return best_len;
}

TEST(greedy_selection_picks_what_caruanas_algorithm_picks_ties_included)
{
    /* 4 candidates, 6 examples, 3 classes; probabilities in eighths (exact
     * sums). By hand: alone, the candidates get 2, 3, 2, 2 right: step 1
     * adds candidate 1. Adding 0, 1, 2 or 3 then gets 2, 3, 2, 3: a tie,
     * the earliest wins, candidate 1 again (with replacement). Step 3:
     * 3, 3, 3, 4: candidate 3. Step 4: 3, 3, 4, 3: candidate 2, tying
     * step 3's 4 right. Step 5: 2, 3, 3, 2. The best is 4, first reached
     * after step 3: candidate 1 twice and candidate 3 once. */
    static const double e = 1.0 / 8;
    static const int32_t y[6] = {1, 2, 0, 2, 2, 1};
    static const int v[4][6][3] = {
        {{1, 0, 7}, {7, 0, 1}, {8, 0, 0}, {5, 1, 2}, {7, 1, 0}, {3, 5, 0}},
        {{7, 0, 1}, {0, 3, 5}, {2, 0, 6}, {1, 5, 2}, {2, 2, 4}, {1, 7, 0}},
        {{5, 1, 2}, {8, 0, 0}, {5, 0, 3}, {1, 3, 4}, {3, 2, 3}, {5, 1, 2}},
        {{7, 0, 1}, {3, 3, 2}, {8, 0, 0}, {6, 0, 2}, {1, 5, 2}, {2, 5, 1}},
    };
    double p[4 * 6 * 3];
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++) p[(c * 6 + i) * 3 + j] = v[c][i][j] * e;
    int32_t counts[4], order[4], ref[4], ref_hits;
    double acc;
    CHECK_EQ_INT(taml_ensemble_greedy(p, 4, 6, 3, y, 5, counts, order, &acc), 3);
    CHECK(counts[0] == 0 && counts[1] == 2 && counts[2] == 0 && counts[3] == 1);
    CHECK(order[0] == 1 && order[1] == 3 && order[2] == -1 && order[3] == -1);
    CHECK(acc == 4.0 / 6);
    CHECK_EQ_INT(paper_greedy(p, 4, 6, 3, y, 5, ref, &ref_hits), 3);
    CHECK(ref[1] == 2 && ref[3] == 1 && ref_hits == 4);
    /* one step: the best candidate alone (the earliest of the best) */
    CHECK_EQ_INT(taml_ensemble_greedy(p, 4, 6, 3, y, 1, counts, order, &acc), 1);
    CHECK(counts[1] == 1 && order[0] == 1 && acc == 3.0 / 6);
    /* all candidates equal: the first, once (the earliest step of the tie) */
    double same[3 * 6 * 3];
    for (int c = 0; c < 3; c++) memcpy(same + c * 18, p + 18, sizeof *p * 18);
    CHECK_EQ_INT(taml_ensemble_greedy(same, 3, 6, 3, y, 4, counts, order, &acc), 1);
    CHECK(counts[0] == 1 && counts[1] == 0 && counts[2] == 0 && order[1] == -1);

    /* and on 400 random libraries in eighths (ties everywhere) it agrees with
     * the paper's algorithm step for step */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int t = 0; t < 400; t++) {
        int32_t M = 1 + t % 6, n = 3 + t % 7, C = 2 + t % 3, steps = 1 + t % 8;
        double *q = taml_malloc(sizeof *q * (size_t)M * n * C);
        int32_t *lab = taml_malloc(sizeof *lab * (size_t)n);
        for (int32_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            lab[i] = (int32_t)(x % (uint64_t)C);
        }
        for (int32_t k = 0; k < M * n; k++) {
            int left = 8;
            for (int32_t j = 0; j < C; j++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                int share = j == C - 1 ? left : (int)(x % (uint64_t)(left + 1));
                q[(size_t)k * C + j] = share * e;
                left -= share;
            }
        }
        int32_t cg[8], og[8], cr[8], hr;
        int32_t kept = taml_ensemble_greedy(q, M, n, C, lab, steps, cg, og, &acc);
        int32_t kept_ref = paper_greedy(q, M, n, C, lab, steps, cr, &hr);
        CHECK_MSG(kept == kept_ref, "library %d: %d steps kept, the paper's %d", t, kept, kept_ref);
        CHECK_MSG(!memcmp(cg, cr, sizeof *cg * (size_t)M), "library %d: other counts", t);
        CHECK(acc == (double)hr / n);
        free(q);
        free(lab);
    }
}

/* ------------------------------------------------------------ built from a study */

/* A study of 24 random trials on the fixture (the real child, 2 workers),
 * extra: more flags for taml search. */
static char *make_study(const char *name, const char *extra, int tasks, char **log_out)
{
    char *space = tmp("space.json"), *study = tmp(name), *log = tmp("search.log");
    taml_err err;
    CHECK(taml_write_file_atomic(space, space_text, strlen(space_text), &err) == 0);
    char *cmd = taml_asprintf("%s search --study %s --task " TASK_DIR "%s --method random "
                              "--trials 24 --workers 2 --seed 7 --space %s %s",
                              taml_test_bin(), study,
                              tasks == 2 ? " --task tests/fixtures/tasks/udhr-mini" : "", space,
                              extra);
    char *out;
    int st = taml_test_run(cmd, &out);
    CHECK_MSG(st == 0, "taml search failed (%d): %s", st, out);
    if (log_out) *log_out = out;
    else free(out);
    free(cmd);
    free(space);
    free(log);
    return study;
}

/* The top n trials (with a model) of task 0 by validation, ties earliest,
 * straight from the store. */
static int top_trials(const char *study, int n, int64_t *ids)
{
    taml_err err;
    taml_store *s;
    CHECK(taml_store_open(&s, study, TAML_STORE_READONLY, &err) == 0);
    taml_store_iter *it;
    CHECK(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err) == 0);
    taml_trial t;
    int64_t id[256];
    double v[256];
    int m = 0;
    while (taml_store_iter_next(it, &t, &err) == 1)
        if (t.task == 0 && (t.state == TAML_TRIAL_DONE || t.state == TAML_TRIAL_DIVERGED))
            id[m] = t.id, v[m++] = t.valid_acc;
    taml_store_iter_free(it);
    taml_store_close(s);
    for (int k = 0; k < n && k < m; k++) {
        int b = k;
        for (int j = k + 1; j < m; j++)
            if (v[j] > v[b] || (v[j] == v[b] && id[j] < id[b])) b = j;
        int64_t ti = id[k];
        double tv = v[k];
        id[k] = id[b], v[k] = v[b];
        id[b] = ti, v[b] = tv;
        ids[k] = id[k];
    }
    return m;
}

/* Trial id of the study retrained alone as export does, as a single model. */
static taml_model *single_model(const char *study, int64_t id, int rank)
{
    taml_err err;
    taml_export_source src;
    CHECK_MSG(taml_export_source_open(study, "child-topics", rank + 1, &src, &err) == 0, "%s",
              err.msg);
    const taml_export_trial *t = &src.best[rank];
    CHECK_EQ_INT(t->id, id);
    taml_task *task;
    const char *used;
    CHECK(taml_export_task_load(&src, NULL, &task, &used, &err) == 0);
    taml_child_config cfg;
    CHECK(taml_export_config(t, task, &cfg, &err) == 0);
    taml_module *mod;
    CHECK(taml_export_module_open(&src, cfg.embedding, taml_export_module_dir(&src, NULL, NULL),
                                  &mod, &err) == 0);
    taml_features *f;
    CHECK(taml_features_new(&f, task, mod, &err) == 0);
    taml_child *c;
    double s;
    CHECK_MSG(taml_export_retrain(t, &cfg, f, &c, &s, &err) == 0, "%s", err.msg);
    taml_model *m;
    CHECK(taml_model_from_child(&m, c, &cfg, f, NULL, &err) == 0);
    taml_child_free(c);
    taml_features_free(f);
    taml_module_close(mod);
    taml_task_free(task);
    taml_export_source_deinit(&src);
    void *buf;
    size_t size;
    taml_model *back = through_bytes(m, &buf, &size); /* exported alone */
    free(buf);
    taml_model_free(m);
    return back;
}

/* The ensemble's labels on valid and test are its recorded accuracies, and
 * its probabilities the mean of its members' exported alone. */
static void check_against_members(const char *study, taml_model *e, const taml_ensemble_result *r,
                                  const int64_t *ranked, int n_ranked)
{
    taml_test_split sv, st;
    taml_test_split_load(&sv, TASK_DIR "/all.tsv", TAML_VALID);
    taml_test_split_load(&st, TASK_DIR "/all.tsv", TAML_TEST);
    double *pv = proba_of(e, &sv), *pt = proba_of(e, &st);
    CHECK_MSG(accuracy_of(e, pv, &sv) == r->rec.valid_acc, "valid %.17g, recorded %.17g",
              accuracy_of(e, pv, &sv), r->rec.valid_acc);
    CHECK_MSG(accuracy_of(e, pt, &st) == r->rec.test_acc, "test %.17g, recorded %.17g",
              accuracy_of(e, pt, &st), r->rec.test_acc);
    int32_t C = taml_model_info_get(e)->n_classes, K = r->rec.n_members;
    double *want = taml_calloc((size_t)st.n * C, sizeof *want), W = 0;
    for (int32_t k = 0; k < K; k++) {
        int rank = 0;
        while (rank < n_ranked && ranked[rank] != r->rec.member[k]) rank++;
        CHECK(rank < n_ranked);
        taml_model *m = single_model(study, r->rec.member[k], rank);
        double *p = proba_of(m, &st);
        for (size_t i = 0; i < (size_t)st.n * C; i++) want[i] += r->rec.weight[k] * p[i];
        W += r->rec.weight[k];
        free(p);
        taml_model_free(m);
    }
    for (size_t i = 0; i < (size_t)st.n * C; i++) want[i] /= W;
    CHECK_MSG(!memcmp(want, pt, sizeof *pt * (size_t)st.n * C),
              "the ensemble's probabilities are not its members' mean");
    free(want);
    free(pv);
    free(pt);
    taml_test_split_free(&sv);
    taml_test_split_free(&st);
}

TEST(export_ensemble_members_are_the_best_trials_retrained_and_its_accuracies_its_predictions)
{
    taml_blas_init(NULL);
    char *study = make_study("study.db", "", 1, NULL);
    int64_t ranked[8];
    int n_models = top_trials(study, 8, ranked);
    CHECK(n_models >= 8);
    taml_ensemble_opts o;
    taml_ensemble_opts_default(&o);
    CHECK_EQ_INT(o.selection, TAML_ENSEMBLE_DEFAULT_SELECTION);
    o.size = 3;
    o.workers = 2;
    o.want_model = 1;
    o.selection = TAML_ENSEMBLE_TOP;
    taml_model *e;
    taml_ensemble_result r;
    taml_err err;
    CHECK_MSG(taml_ensemble_build(study, "child-topics", &o, &e, &r, &err) == 0, "%s", err.msg);
    CHECK_STR(r.rec.selection, "top");
    CHECK(r.rec.size == 3 && r.rec.candidates == 3 && r.rec.n_members == 3 && r.rec.trials == 24);
    for (int k = 0; k < 3; k++) CHECK(r.rec.member[k] == ranked[k] && r.rec.weight[k] == 1);
    CHECK_EQ_INT(r.best_trial, ranked[0]);
    check_against_members(study, e, &r, ranked, 8);
    /* the same on one thread */
    taml_ensemble_result r1;
    o.workers = 1;
    o.want_model = 0;
    CHECK(taml_ensemble_build(study, "child-topics", &o, NULL, &r1, &err) == 0);
    CHECK(r1.rec.valid_acc == r.rec.valid_acc && r1.rec.test_acc == r.rec.test_acc);
    taml_ensemble_result_deinit(&r1);
    taml_ensemble_result_deinit(&r);
    taml_model_free(e);

    /* greedy, 4 steps from the best 8: what taml_ensemble_greedy picks on
     * the candidates' own probabilities */
    o.selection = TAML_ENSEMBLE_GREEDY;
    o.size = 4;
    o.candidates = 8;
    o.workers = 2;
    o.want_model = 1;
    CHECK_MSG(taml_ensemble_build(study, "child-topics", &o, &e, &r, &err) == 0, "%s", err.msg);
    CHECK_STR(r.rec.selection, "greedy");
    CHECK(r.rec.size == 4 && r.rec.candidates == 8);
    taml_test_split sv;
    taml_test_split_load(&sv, TASK_DIR "/all.tsv", TAML_VALID);
    taml_task *task;
    CHECK(taml_task_load(&task, TASK_DIR, NULL, &err) == 0);
    int32_t C = task->n_classes, nv = sv.n;
    CHECK_EQ_INT(nv, task->n_split[TAML_VALID]);
    double *lib = taml_malloc(sizeof *lib * (size_t)8 * nv * C);
    for (int k = 0; k < 8; k++) {
        taml_model *m = single_model(study, ranked[k], k);
        double *p = proba_of(m, &sv);
        memcpy(lib + (size_t)k * nv * C, p, sizeof *p * (size_t)nv * C);
        free(p);
        taml_model_free(m);
    }
    int32_t counts[8], order[8];
    taml_ensemble_greedy(lib, 8, nv, C, task->label + task->n_split[TAML_TRAIN], 4, counts, order,
                         NULL);
    int32_t sum = 0;
    for (int32_t k = 0; k < r.rec.n_members; k++) {
        CHECK_EQ_INT(r.rec.member[k], ranked[order[k]]);
        CHECK_EQ_INT(r.rec.weight[k], counts[order[k]]);
        sum += r.rec.weight[k];
    }
    CHECK(sum >= 1 && sum <= 4 && (r.rec.n_members == 8 || order[r.rec.n_members] == -1));
    check_against_members(study, e, &r, ranked, 8);
    free(lib);
    taml_test_split_free(&sv);
    taml_task_free(task);
    taml_ensemble_result_deinit(&r);
    taml_model_free(e);

    /* one library, several selections: each what its own build gives */
    taml_ensemble_library *library;
    o.want_model = 0;
    CHECK(taml_ensemble_library_new(study, "child-topics", &o, &library, &err) == 0);
    CHECK_EQ_INT(taml_ensemble_library_size(library), 8);
    for (int pass = 0; pass < 2; pass++) {
        taml_ensemble_opts so;
        taml_ensemble_opts_default(&so);
        so.size = pass ? 2 : 3;
        so.selection = pass ? TAML_ENSEMBLE_GREEDY : TAML_ENSEMBLE_TOP;
        so.candidates = pass ? 5 : 0;
        taml_ensemble_result a, b;
        CHECK(taml_ensemble_select(library, &so, NULL, &a, &err) == 0);
        CHECK(taml_ensemble_build(study, "child-topics", &so, NULL, &b, &err) == 0);
        CHECK(a.rec.valid_acc == b.rec.valid_acc && a.rec.test_acc == b.rec.test_acc);
        CHECK(a.rec.n_members == b.rec.n_members && a.rec.candidates == b.rec.candidates);
        for (int32_t k = 0; k < a.rec.n_members; k++)
            CHECK(a.rec.member[k] == b.rec.member[k] && a.rec.weight[k] == b.rec.weight[k]);
        taml_ensemble_result_deinit(&a);
        taml_ensemble_result_deinit(&b);
    }
    o.candidates = 12;
    CHECK_EQ_INT(taml_ensemble_select(library, &o, NULL, &r, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "12 candidates asked of a library of 8");
    taml_ensemble_library_free(library);

    /* the command line writes the same ensemble; predict reads it */
    char *model = tmp("e.taml"), *cmd, *out;
    cmd = taml_asprintf("%s export %s --task child-topics --ensemble 3 --selection top -o %s",
                        taml_test_bin(), study, model);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    char want[128];
    snprintf(want, sizeof want, "an ensemble of 3 trials (selection top, K 3, from the 3 best of 24");
    CHECK_CONTAINS(out, want);
    snprintf(want, sizeof want, "members: %lld %lld %lld\n", (long long)ranked[0],
             (long long)ranked[1], (long long)ranked[2]);
    CHECK_CONTAINS(out, want);
    CHECK_CONTAINS(out, "written to ");
    free(out);
    free(cmd);
    taml_model *loaded;
    CHECK(taml_model_load(&loaded, model, &err) == 0);
    CHECK(taml_model_info_get(loaded)->ensemble && taml_model_info_get(loaded)->n_members == 3);
    CHECK_CONTAINS(taml_model_info_get(loaded)->provenance_json, "\"selection\":\"top\"");
    taml_model_free(loaded);
    free(model);
    free(study);
}

TEST(a_recorded_ensemble_is_shown_by_status_and_the_report_beside_the_best_model)
{
    taml_blas_init(NULL);
    char *log;
    char *study = make_study("study.db", "--ensemble 3 --selection greedy --candidates 6", 2, &log);
    /* the search built and recorded one per task after its trials */
    CHECK_CONTAINS(log, "task child-topics: an ensemble of ");
    CHECK_CONTAINS(log, "task udhr-mini: an ensemble of ");
    free(log);
    taml_report_study *s;
    taml_err err;
    CHECK_MSG(taml_report_study_load(&s, study, &err) == 0, "%s", err.msg);
    for (size_t k = 0; k < 2; k++) {
        const taml_report_task *t = &s->tasks[k];
        CHECK(t->has_ensemble);
        CHECK_STR(t->ensemble.selection, "greedy");
        CHECK(t->ensemble.size == 3 && t->ensemble.candidates == 6 && t->ensemble.trials == 24);
    }
    /* what the study recorded is what export builds again */
    taml_ensemble_opts o;
    taml_ensemble_opts_default(&o);
    o.size = 3, o.selection = TAML_ENSEMBLE_GREEDY, o.candidates = 6;
    taml_ensemble_result r;
    CHECK(taml_ensemble_build(study, "child-topics", &o, NULL, &r, &err) == 0);
    const taml_store_ensemble *e = &s->tasks[0].ensemble;
    CHECK(r.rec.valid_acc == e->valid_acc && r.rec.test_acc == e->test_acc);
    CHECK_EQ_INT(r.rec.n_members, e->n_members);
    for (int32_t k = 0; k < e->n_members; k++)
        CHECK(r.rec.member[k] == e->member[k] && r.rec.weight[k] == e->weight[k]);
    taml_ensemble_result_deinit(&r);

    taml_status_row *rows;
    size_t n;
    CHECK(taml_status_table(s, NULL, 0, &rows, &n, &err) == 0);
    CHECK(rows[0].ensemble == e);
    char *text = taml_status_text(s, NULL, rows, n);
    char want[128];
    snprintf(want, sizeof want, "%.2f (%.2f) greedy 3", 100 * e->valid_acc, 100 * e->test_acc);
    CHECK_CONTAINS(text, "ensemble valid (test)");
    CHECK_CONTAINS(text, want);
    CHECK(!strstr(text, "none recorded"));
    free(text);
    char *json = taml_status_json(s, NULL, rows, n);
    CHECK_CONTAINS(json, "\"ensemble\":");
    CHECK_CONTAINS(json, "\"selection\":\t\"greedy\"");
    snprintf(want, sizeof want, "\"trial\":\t%lld", (long long)e->member[0]);
    CHECK_CONTAINS(json, want);
    free(json);
    char *html;
    taml_report_study *one[1] = {s};
    CHECK(taml_report_html(one, 1, NULL, &html, &err) == 0);
    snprintf(want, sizeof want, "<td>greedy 3: %d member%s, from 6; trials %lld", (int)e->n_members,
             e->n_members == 1 ? "" : "s", (long long)e->member[0]);
    CHECK_CONTAINS(html, want);
    char msg[256];
    CHECK_MSG(xml_check(html, 1, msg, sizeof msg) == 0, "the report: %s", msg);
    free(html);
    taml_status_rows_free(rows, n);
    taml_report_study_free(s);

    /* a study without one says so, and its JSON has no "ensemble" */
    char *plain = make_study("plain.db", "", 1, NULL);
    CHECK(taml_report_study_load(&s, plain, &err) == 0);
    CHECK(!s->tasks[0].has_ensemble);
    CHECK(taml_status_table(s, NULL, 0, &rows, &n, &err) == 0);
    text = taml_status_text(s, NULL, rows, n);
    CHECK_CONTAINS(text, "ensemble \"-\": none recorded; `taml export STUDY --task NAME --ensemble K "
                         "--record`");
    free(text);
    json = taml_status_json(s, NULL, rows, n);
    CHECK(!strstr(json, "ensemble"));
    free(json);
    one[0] = s;
    CHECK(taml_report_html(one, 1, NULL, &html, &err) == 0);
    CHECK_CONTAINS(html, "<td colspan=\"3\">none recorded</td>");
    CHECK_MSG(xml_check(html, 1, msg, sizeof msg) == 0, "the report: %s", msg);
    free(html);
    taml_status_rows_free(rows, n);
    taml_report_study_free(s);
    /* export --record adds one, and the command line shows it */
    char *cmd = taml_asprintf("%s export %s --task child-topics --ensemble 2 --record && %s "
                              "status %s",
                              taml_test_bin(), plain, taml_test_bin(), plain), *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "recorded in ");
    CHECK_CONTAINS(out, " top 2 ");
    free(out);
    free(cmd);
    free(plain);
    free(study);
}

TEST(ensemble_requests_that_cannot_be_met_are_refused_saying_why)
{
    taml_blas_init(NULL);
    char *study = make_study("study.db", "", 1, NULL);
    int64_t ranked[1];
    int n_models = top_trials(study, 1, ranked);
    taml_ensemble_opts o;
    taml_ensemble_opts_default(&o);
    taml_ensemble_result r;
    taml_err err;
    /* K = 0, K too large, M < K */
    CHECK_EQ_INT(taml_ensemble_build(study, "child-topics", &o, NULL, &r, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--ensemble: 0 members is not in 1..1000");
    o.size = n_models + 1;
    CHECK_EQ_INT(taml_ensemble_build(study, "child-topics", &o, NULL, &r, &err), TAML_EINVAL);
    char want[200];
    snprintf(want, sizeof want, "task \"child-topics\" has %d finished trials with a model (done or "
             "diverged), fewer than the %d --ensemble asks for", n_models, n_models + 1);
    CHECK_CONTAINS(err.msg, want);
    o.size = 2, o.selection = TAML_ENSEMBLE_GREEDY, o.candidates = n_models + 5;
    CHECK_EQ_INT(taml_ensemble_build(study, "child-topics", &o, NULL, &r, &err), TAML_EINVAL);
    snprintf(want, sizeof want, "fewer than the %d --candidates asks for", n_models + 5);
    CHECK_CONTAINS(err.msg, want);
    o.candidates = 1;
    CHECK_EQ_INT(taml_ensemble_build(study, "child-topics", &o, NULL, &r, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "--candidates: 1 is not in 2 (the ensemble's size) .. 1000");
    /* greedy's default library is capped by the trials there are */
    o.candidates = 0, o.size = n_models - 2;
    CHECK_MSG(taml_ensemble_build(study, "child-topics", &o, NULL, &r, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(r.rec.candidates, n_models);
    taml_ensemble_result_deinit(&r);
    /* a member that no longer retrains to its record: named */
    sqlite3 *db;
    CHECK(sqlite3_open(study, &db) == SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE trials SET test_acc = test_acc + 0.0001 WHERE id = %lld",
             (long long)ranked[0]);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    o.size = 2, o.selection = TAML_ENSEMBLE_TOP, o.candidates = 0, o.workers = 2;
    CHECK_EQ_INT(taml_ensemble_build(study, "child-topics", &o, NULL, &r, &err), TAML_EMISMATCH);
    snprintf(want, sizeof want, "trial %lld retrained gives", (long long)ranked[0]);
    CHECK_CONTAINS(err.msg, want);

    /* on the command line */
    static const taml_test_usage_case cases[] = {
        {"export s.db --task t --ensemble 0 -o m.taml", "--ensemble: 0 is not a whole number in 1..1000"},
        {"export s.db --task t --ensemble 1001 -o m.taml", "--ensemble: 1001 is not a whole number"},
        {"export s.db --task t --ensemble 3", "-o (or --record) is required"},
        {"export s.db --task t --record -o m.taml", "--record, --selection, --candidates and --workers are for --ensemble K"},
        {"export s.db --task t --ensemble 3 --selection best -o m", "--selection: 'best' is not top or greedy"},
        {"export s.db --task t --ensemble 3 --candidates 9 -o m", "--candidates is for --selection greedy"},
        {"export s.db --task t --ensemble 3 --selection greedy --candidates 2 -o m", "--candidates: 2 is fewer than the 3 members of --ensemble"},
        {"search --study s.db --task d --method random --trials 3 --selection greedy", "--selection and --candidates are for --ensemble K"},
        {"search --study s.db --task d --method random --trials 3 --ensemble 2 --candidates 3", "--candidates is for --selection greedy"},
        {"search --study s.db --task d --method random --trials 3 --ensemble -1", "--ensemble: -1 is not a whole number in 0..1000"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    char *args = taml_asprintf("export %s --task child-topics --ensemble %d --record", study,
                               n_models + 1);
    snprintf(want, sizeof want, "fewer than the %d --ensemble asks for", n_models + 1);
    taml_test_cli_says(args, 1, want);
    free(args);
    /* taml-fake's child cannot be retrained (the space is given: CI has no
     * module library) */
    char *study_space = tmp("space.json"); /* make_study's */
    char *cmd = taml_asprintf("TAML_FAKE_CHILD=0 %s search --study %s/f.db --task " TASK_DIR
                              " --method random --trials 2 --space %s --ensemble 1",
                              taml_test_fake_bin(), taml_test_tmpdir(), study_space), *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 1);
    CHECK_CONTAINS(out, "--ensemble retrains the real child");
    free(out);
    free(cmd);
    /* search --ensemble K past the trials there are: the study is complete
     * and kept, the task's ensemble is refused saying why (exit 1) */
    char *small = tmp("small.db");
    cmd = taml_asprintf("%s search --study %s --task " TASK_DIR " --method random --trials 3 "
                        "--workers 1 --seed 7 --space %s --ensemble 5",
                        taml_test_bin(), small, study_space);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 1);
    CHECK_CONTAINS(out, "the ensemble of task child-topics: ");
    CHECK_CONTAINS(out, "fewer than the 5 --ensemble asks for");
    free(out);
    free(cmd);
    cmd = taml_asprintf("%s status %s", taml_test_bin(), small);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "child-topics       3       0");
    CHECK_CONTAINS(out, "ensemble \"-\": none recorded");
    free(out);
    free(cmd);
    /* a study with no completed trial (every one failed): refused, K = 1 too */
    CHECK(sqlite3_open(small, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE trials SET state = 'failed', valid_acc = NULL, test_acc = NULL,"
                           " loss = NULL, error = 'made to fail by the test'",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    args = taml_asprintf("export %s --task child-topics --ensemble 1 -o %s/none.taml", small,
                         taml_test_tmpdir());
    taml_test_cli_says(args, 1, "small.db: task \"child-topics\" has no finished trial with a "
                                "model yet (done or diverged)");
    free(args);
    char *none = tmp("none.taml");
    CHECK(access(none, F_OK) != 0); /* and no model file is left behind */
    free(none);
    free(small);
    free(study_space);
    free(study);
}

/* ------------------------------------------------------------ the study's record */

/* The rows of a query as text, one line each (heap). */
static char *query_text(const char *path, const char *sql)
{
    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK_MSG(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    char *out = taml_strdup("");
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            char *next = taml_asprintf("%s%s%s", out, i ? "|" : "", v ? v : "NULL");
            free(out);
            out = next;
        }
        char *next = taml_asprintf("%s\n", out);
        free(out);
        out = next;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* Every row of every table of the study at path, each table read by the
 * columns it has in the study at `columns_of` (the same file before its
 * migration: a step may add columns, it must not change what was there).
 * Heap text. */
static char *every_row(const char *path, const char *columns_of)
{
    char *tables = query_text(columns_of, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                          " ORDER BY name");
    char *out = taml_strdup("");
    for (char *t = strtok(tables, "\n"); t; t = strtok(NULL, "\n")) {
        char *q = taml_asprintf("SELECT group_concat(name, ', ') FROM pragma_table_info('%s')", t);
        char *cols = query_text(columns_of, q);
        cols[strlen(cols) - 1] = 0; /* the newline */
        char *sel = taml_asprintf("SELECT %s FROM %s ORDER BY rowid", cols, t);
        char *rows = query_text(path, sel);
        char *next = taml_asprintf("%s== %s (%s)\n%s", out, t, cols, rows);
        free(out);
        out = next;
        free(rows);
        free(sel);
        free(cols);
        free(q);
    }
    free(tables);
    return out;
}

/* A record of task 0's ensemble of one member, trial 1 (static storage). */
static taml_store_ensemble one_member_record(void)
{
    static int64_t member = 1;
    static int32_t weight = 1;
    return (taml_store_ensemble){.task = 0, .selection = "top", .size = 1, .candidates = 1,
                                 .trials = 4, .n_members = 1, .member = &member,
                                 .weight = &weight, .valid_acc = 0.5, .test_acc = 0.25,
                                 .taml_version = "test"};
}

/* The study fixture NAME (tests/fixtures/NAME.gz, of schema `schema`),
 * unpacked, read as it is and migrated: read, it has no ensemble, none can
 * be put in it, the report shows none and the file stays as it was;
 * migrated, it has TAML_STORE_SCHEMA, every row it had (each finished trial
 * one run, when the attempts column is new) and the tables of a study made
 * new. Returns its path (heap). */
static char *migrated_fixture(const char *name, int schema)
{
    char *path = taml_test_gunzip_fixture(name);
    char want_v[16];
    snprintf(want_v, sizeof want_v, "%d\n", schema);
    char *v = query_text(path, "PRAGMA user_version");
    CHECK_STR(v, want_v);
    free(v);
    char *before = tmp("before.db");
    char *cmd = taml_asprintf("cp %s %s", path, before), *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    free(out);
    free(cmd);
    char *rows = every_row(path, before);
    CHECK_CONTAINS(rows, "== trials (");
    taml_store *s;
    taml_err err;
    taml_store_ensemble e, put = one_member_record();
    char says[80];
    snprintf(says, sizeof says, "schema %d has no ensembles (taml_store_upgrade adds them)", schema);
    for (int flags = 0; flags <= TAML_STORE_READONLY; flags += TAML_STORE_READONLY) {
        CHECK(taml_store_open(&s, path, flags, &err) == 0);
        CHECK_EQ_INT(taml_store_ensemble_get(s, 0, &e, &err), 0);
        CHECK_EQ_INT(taml_store_ensemble_put(s, &put, &err), TAML_EINVAL);
        CHECK_CONTAINS(err.msg, says);
        taml_store_close(s);
    }
    taml_report_study *rs;
    CHECK(taml_report_study_load(&rs, path, &err) == 0);
    for (size_t k = 0; k < rs->n_tasks; k++) CHECK(!rs->tasks[k].has_ensemble);
    taml_report_study_free(rs);
    cmd = taml_asprintf("%s status %s", taml_test_bin(), path);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "ensemble \"-\": none recorded");
    free(out);
    free(cmd);
    v = query_text(path, "PRAGMA user_version");
    CHECK_STR(v, want_v);
    free(v);
    char *after = every_row(path, before);
    CHECK_STR(after, rows);
    free(after);

    CHECK(taml_store_open(&s, path, 0, &err) == 0);
    CHECK_MSG(taml_store_upgrade(s, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(taml_store_ensemble_get(s, 0, &e, &err), 0);
    taml_store_close(s);
    snprintf(want_v, sizeof want_v, "%d\n", TAML_STORE_SCHEMA);
    v = query_text(path, "PRAGMA user_version");
    CHECK_STR(v, want_v);
    free(v);
    after = every_row(path, before);
    CHECK_STR(after, rows);
    free(after);
    after = query_text(path, "SELECT count(*) FROM trials WHERE attempts != (state IN"
                             " ('done','diverged','invalid','failed'))");
    CHECK_STR(after, "0\n"); /* the fixtures' trials ran once each */
    free(after);
    after = query_text(path, "SELECT count(*) FROM ensembles");
    CHECK_STR(after, "0\n");
    free(after);
    char *fresh = tmp("new.db");
    remove(fresh);
    CHECK(taml_store_open(&s, fresh, TAML_STORE_CREATE, &err) == 0);
    taml_store_close(s);
    const char *schema_q = "SELECT type, name, sql FROM sqlite_master ORDER BY name";
    char *a = query_text(path, schema_q), *b = query_text(fresh, schema_q);
    CHECK_STR(a, b);
    CHECK_CONTAINS(a, "table|ensembles|CREATE TABLE ensembles");
    CHECK_CONTAINS(a, "table|ensemble_members|CREATE TABLE ensemble_members");
    free(a);
    free(b);
    free(fresh);
    free(rows);
    free(before);
    return path;
}

TEST(studies_of_schemas_1_2_and_3_read_as_before_and_migrate_keeping_every_row)
{
    static const struct {
        const char *name;
        int schema;
    } fixtures[] = {{"v1/mt-full.db", 1}, {"schema/random-s2.db", 2}, {"schema/random-s3.db", 3}};
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
        free(migrated_fixture(fixtures[i].name, fixtures[i].schema));
        /* unpacked again: `taml export --record` migrates the study it records in */
        char *path = taml_test_gunzip_fixture(fixtures[i].name);
        char *cmd = taml_asprintf("%s export %s --task child-topics --ensemble 2 --record && "
                                  "%s status %s", taml_test_bin(), path, taml_test_bin(), path),
             *out;
        CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
        CHECK_CONTAINS(out, " top 2 ");
        free(out);
        free(cmd);
        char want_v[16], *v = query_text(path, "PRAGMA user_version");
        snprintf(want_v, sizeof want_v, "%d\n", TAML_STORE_SCHEMA);
        CHECK_STR(v, want_v);
        free(v);
        free(path);
    }
}

TEST(a_migrated_study_records_its_ensembles_replacing_the_one_before_and_refuses_bad_ones)
{
    char *path = migrated_fixture("v1/mt-full.db", 1);
    taml_store *s;
    taml_err err;
    taml_store_ensemble e, put = one_member_record();
    /* record, read back, replace; refusals leave the record as it was */
    CHECK(taml_store_open(&s, path, 0, &err) == 0);
    CHECK_MSG(taml_store_ensemble_put(s, &put, &err) == 0, "%s", err.msg);
    int64_t members[3] = {1, 3, 5};
    int32_t weights[3] = {2, 1, 3};
    taml_store_ensemble put2 = put;
    put2.selection = "greedy", put2.size = 6, put2.candidates = 8, put2.n_members = 3;
    put2.member = members, put2.weight = weights, put2.valid_acc = 0.75;
    CHECK(taml_store_ensemble_put(s, &put2, &err) == 0);
    CHECK_EQ_INT(taml_store_ensemble_get(s, 0, &e, &err), 1);
    CHECK(e.task == 0 && e.size == 6 && e.candidates == 8 && e.trials == 4 && e.n_members == 3);
    CHECK_STR(e.selection, "greedy");
    CHECK_STR(e.taml_version, "test");
    CHECK(e.valid_acc == 0.75 && e.test_acc == 0.25 && e.created > 0);
    for (int k = 0; k < 3; k++) CHECK(e.member[k] == members[k] && e.weight[k] == weights[k]);
    taml_store_ensemble_deinit(&e);
    CHECK_EQ_INT(taml_store_ensemble_get(s, 1, &e, &err), 0);
    taml_store_ensemble bad = put2;
    int64_t no_trial[3] = {1, 99999, 5};
    bad.member = no_trial;
    CHECK_EQ_INT(taml_store_ensemble_put(s, &bad, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "ensemble member 2: the study has no trial 99999");
    bad = put2;
    int32_t zero_w[3] = {1, 0, 1};
    bad.weight = zero_w;
    CHECK_EQ_INT(taml_store_ensemble_put(s, &bad, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "ensemble member 2 (trial 3): weight 0 is not >= 1");
    bad = put2;
    bad.task = 7;
    CHECK_EQ_INT(taml_store_ensemble_put(s, &bad, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "no task with index 7");
    bad = put2;
    bad.selection = "best";
    CHECK_EQ_INT(taml_store_ensemble_put(s, &bad, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "selection \"best\", size 6 refused");
    bad = put2;
    bad.n_members = 0;
    CHECK_EQ_INT(taml_store_ensemble_put(s, &bad, &err), TAML_EINVAL);
    CHECK_EQ_INT(taml_store_ensemble_get(s, 0, &e, &err), 1);
    CHECK(e.n_members == 3 && e.valid_acc == 0.75);
    taml_store_ensemble_deinit(&e);
    taml_store_close(s);
    free(path);
}
