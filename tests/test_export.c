/* tests/test_export.c - the exported model (nn/model.h, search/export.h,
 * `taml export`, `taml predict`): a tiny real search on the committed
 * fixture task, then models whose predictions on the test split give exactly
 * the accuracies the study recorded; damaged model files refused. */
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/blas.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "nn/model.h"
#include "search/export.h"
#include "store/store.h"
#include "fixture_files.h"
#include "format_check.h"
#include "test.h"
#include "testutil.h"

#define TASK_DIR "tests/fixtures/tasks/child-topics"

/* Every kind of child: frozen and fine-tuned rows, each normalisation,
 * dropout, each tower alone. */
static const char space_text[] =
    "{\"embedding\":[\"random-16\"],\"fine_tune\":[false,true],\"layers\":[1,2],"
    "\"hidden_size\":[8,16],\"activation\":[\"relu\",\"swish\"],"
    "\"normalization\":[\"none\",\"batch_norm\",\"layer_norm\"],\"dropout\":[0.0,0.1],"
    "\"deep_lr\":[0.1,0.3],\"deep_l2\":[0,0.0001,\"disable\"],\"wide_lr\":[0.1,0.3],"
    "\"wide_l1\":[0,0.001,\"disable\"],\"samples\":[1000,2000]}";

static const char *bin(void)
{
    const char *b = getenv("TAML_BIN");
    return b ? b : "build/taml";
}

/* Runs a shell command; returns its exit status. */
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st == -1 ? -1 : WEXITSTATUS(st);
}

static char *tmp(const char *name) { return taml_path_join(taml_test_tmpdir(), name); }

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t size = 0;
    taml_err err;
    if (taml_read_file(path, &data, &size, &err)) return taml_strdup("");
    return data;
}

/* Accuracy of m on the split, and its logits (heap, n x C) in *logits. */
static double model_accuracy(taml_model *m, const taml_test_split *s, float **logits)
{
    const taml_model_info *mi = taml_model_info_get(m);
    float *z = taml_malloc(sizeof *z * (size_t)s->n * mi->n_classes);
    taml_err err;
    CHECK(taml_model_predict_texts(m, s->n, (const char *const *)s->text, s->len, z, &err) == 0);
    int hits = 0;
    for (int i = 0; i < s->n; i++)
        hits += !strcmp(mi->class_names[taml_model_argmax(z + (size_t)i * mi->n_classes,
                                                          mi->n_classes, NULL)],
                        s->label[i]);
    *logits = z;
    return (double)hits / s->n;
}

/* A study of 24 random trials on the fixture (the real child, 2 workers). */
static char *make_study(void)
{
    char *space = tmp("space.json"), *study = tmp("study.db"), *log = tmp("search.log");
    taml_err err;
    CHECK(taml_write_file_atomic(space, space_text, strlen(space_text), &err) == 0);
    int st = run("%s search --study %s --task " TASK_DIR
                 " --method random --trials 24 --workers 2 --seed 7 --space %s > %s 2>&1",
                 bin(), study, space, log);
    CHECK_MSG(st == 0, "taml search failed (%d): %s", st, slurp(log));
    free(space);
    free(log);
    return study;
}

TEST(every_trial_of_a_real_search_exports_to_a_model_with_the_recorded_test_accuracy)
{
    taml_blas_init(NULL);
    char *study = make_study();
    taml_test_split sp;
    taml_test_split_load(&sp, TASK_DIR "/all.tsv", TAML_TEST);
    taml_err err;
    taml_task *task;
    CHECK(taml_task_load(&task, TASK_DIR, NULL, &err) == 0);
    taml_module *mod;
    CHECK(taml_module_open(&mod, "random-16", NULL, &err) == 0);
    taml_features *f;
    CHECK(taml_features_new(&f, task, mod, &err) == 0);
    taml_store *s;
    CHECK(taml_store_open(&s, study, TAML_STORE_READONLY, &err) == 0);
    taml_store_iter *it;
    CHECK(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err) == 0);
    taml_trial t;
    int models = 0, fine = 0, frozen = 0, bn = 0, wide_only = 0, deep_only = 0;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        if (t.state != TAML_TRIAL_DONE && t.state != TAML_TRIAL_DIVERGED) continue;
        taml_child_config cfg;
        CHECK(taml_child_config_parse(&cfg, t.config_json, strlen(t.config_json), &err) == 0);
        taml_child *c;
        CHECK(taml_child_new(&c, &cfg, f, t.seed, &err) == 0);
        taml_child_result res;
        taml_child_fit(c, &res);
        /* the child replays exactly */
        CHECK(taml_child_accuracy(c, TAML_VALID) == t.valid_acc);
        CHECK(taml_child_accuracy(c, TAML_TEST) == t.test_acc);
        taml_model *m;
        CHECK(taml_model_from_child(&m, c, &cfg, f, NULL, &err) == 0);
        taml_child_free(c);
        float *z1, *z2;
        double acc = model_accuracy(m, &sp, &z1);
        CHECK_MSG(acc == t.test_acc, "trial %lld (%s): model test accuracy %.17g, recorded %.17g",
                  (long long)t.id, t.config_json, acc, t.test_acc);
        /* the file gives the same logits, bit for bit */
        void *buf;
        size_t size;
        taml_model_encode(m, &buf, &size);
        taml_model *m2;
        CHECK(taml_model_decode(&m2, buf, size, NULL, &err) == 0);
        CHECK(model_accuracy(m2, &sp, &z2) == acc);
        CHECK(memcmp(z1, z2, sizeof *z1 * (size_t)sp.n * task->n_classes) == 0);
        const taml_model_info *mi = taml_model_info_get(m2);
        CHECK_EQ_INT(mi->n_classes, task->n_classes);
        if (!cfg.deep_disabled) {
            CHECK_EQ_INT(mi->n_emb_rows, f->n_rows);
            fine += mi->fine_tuned;
            frozen += !mi->fine_tuned;
            bn += cfg.normalization == 1;
        }
        wide_only += cfg.deep_disabled;
        deep_only += cfg.wide_disabled;
        if (!cfg.wide_disabled) CHECK_EQ_INT(mi->n_wide_words, task->n_wide);
        free(buf);
        free(z1);
        free(z2);
        taml_model_free(m);
        taml_model_free(m2);
        models++;
    }
    CHECK_MSG(models >= 12 && fine && frozen && bn && wide_only && deep_only,
              "too few kinds of trial: %d models, %d fine-tuned, %d frozen, %d batch-norm, %d "
              "wide-only, %d deep-only",
              models, fine, frozen, bn, wide_only, deep_only);
    taml_store_iter_free(it);
    taml_store_close(s);
    taml_features_free(f);
    taml_module_close(mod);
    taml_task_free(task);
    taml_test_split_free(&sp);
    free(study);
}

/* The best trial of the task as export must pick it: highest valid, ties the
 * earliest. */
static taml_trial best_trial(const char *study)
{
    taml_err err;
    taml_store *s;
    CHECK(taml_store_open(&s, study, TAML_STORE_READONLY, &err) == 0);
    taml_store_iter *it;
    CHECK(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err) == 0);
    taml_trial t, best = {0};
    best.valid_acc = -1;
    while (taml_store_iter_next(it, &t, &err) == 1)
        if ((t.state == TAML_TRIAL_DONE || t.state == TAML_TRIAL_DIVERGED) &&
            t.valid_acc > best.valid_acc)
            best.id = t.id, best.valid_acc = t.valid_acc, best.test_acc = t.test_acc;
    taml_store_iter_free(it);
    taml_store_close(s);
    return best;
}

TEST(export_then_predict_on_the_command_line_gives_the_best_trials_test_accuracy)
{
    char *study = make_study(), *model = tmp("best.taml"), *texts = tmp("texts.txt"),
         *pred = tmp("pred.txt"), *log = tmp("export.log");
    taml_trial best = best_trial(study);
    taml_test_split sp;
    taml_test_split_load(&sp, TASK_DIR "/all.tsv", TAML_TEST);
    FILE *fp = fopen(texts, "w");
    for (int i = 0; i < sp.n; i++) fprintf(fp, "%s\n", sp.text[i]);
    fclose(fp);
    CHECK_EQ_INT(run("%s export %s --task child-topics -o %s > %s 2>&1", bin(), study, model, log), 0);
    char *out = slurp(log), want[64];
    snprintf(want, sizeof want, "trial %lld (the best of", (long long)best.id);
    CHECK_CONTAINS(out, want);
    free(out);
    CHECK_EQ_INT(run("%s predict %s < %s > %s", bin(), model, texts, pred), 0);
    char *labels = slurp(pred), *line = labels;
    int hits = 0, n = 0;
    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1, n++) {
        *nl = 0;
        CHECK(n < sp.n);
        hits += !strcmp(line, sp.label[n]);
    }
    CHECK_EQ_INT(n, sp.n);
    CHECK_MSG((double)hits / n == best.test_acc, "predict: %d/%d right, the study recorded %.17g",
              hits, n, best.test_acc);
    free(labels);

    /* --proba --top 2: label, probability, second label, probability */
    CHECK_EQ_INT(run("%s predict %s --proba --top 2 < %s > %s", bin(), model, texts, pred), 0);
    char *rows = slurp(pred);
    char l1[64], l2[64];
    double p1, p2;
    CHECK(sscanf(rows, "%63[^\t]\t%lf\t%63[^\t]\t%lf\n", l1, &p1, l2, &p2) == 4);
    CHECK(p1 >= p2 && p1 > 0 && p1 <= 1 && p2 >= 0 && strcmp(l1, l2));
    free(rows);

    /* the study must be there to export from */
    CHECK(run("%s export %s --task no-such-task -o %s > %s 2>&1", bin(), study, model, log) == 1);
    out = slurp(log);
    CHECK_CONTAINS(out, "no task named \"no-such-task\" in this study (its tasks: child-topics)");
    free(out);
    taml_test_split_free(&sp);
    free(study), free(model), free(texts), free(pred), free(log);
}

TEST(export_refuses_a_trial_whose_retrained_accuracy_differs_from_the_record)
{
    char *study = make_study();
    taml_trial best = best_trial(study);
    sqlite3 *db;
    CHECK(sqlite3_open(study, &db) == SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE trials SET test_acc = test_acc + 0.0001 WHERE id = %lld",
             (long long)best.id);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    taml_blas_init(NULL);
    taml_model *m = NULL;
    taml_export_info info;
    taml_err err;
    CHECK_EQ_INT(taml_export_best(study, "child-topics", NULL, NULL, NULL, &m, &info, &err),
                 TAML_EMISMATCH);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, "refusing to export");
    free(study);
}

/* A model of the fixture, as file bytes. */
static void fixture_model(void **buf, size_t *size)
{
    taml_blas_init(NULL);
    taml_err err;
    taml_task *task;
    CHECK(taml_task_load(&task, TASK_DIR, NULL, &err) == 0);
    taml_module *mod;
    CHECK(taml_module_open(&mod, "random-8", NULL, &err) == 0);
    taml_features *f;
    CHECK(taml_features_new(&f, task, mod, &err) == 0);
    const char *cj = "{\"embedding\":\"random-8\",\"fine_tune\":false,\"layers\":1,\"hidden_size\":4,"
                     "\"activation\":\"relu\",\"normalization\":\"batch_norm\",\"dropout\":0,"
                     "\"deep_lr\":0.1,\"deep_l2\":0,\"wide_lr\":0.1,\"wide_l1\":0,\"samples\":500}";
    taml_child_config cfg;
    CHECK(taml_child_config_parse(&cfg, cj, strlen(cj), &err) == 0);
    taml_child *c;
    CHECK(taml_child_new(&c, &cfg, f, 3, &err) == 0);
    taml_child_result res;
    taml_child_fit(c, &res);
    taml_model *m;
    CHECK(taml_model_from_child(&m, c, &cfg, f, "{\"why\":\"test\"}", &err) == 0);
    taml_model_encode(m, buf, size);
    taml_model_free(m);
    taml_child_free(c);
    taml_features_free(f);
    taml_module_close(mod);
    taml_task_free(task);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

TEST(model_file_refuses_truncation_damage_wrong_magic_and_newer_versions)
{
    void *buf;
    size_t size;
    fixture_model(&buf, &size);
    unsigned char *b = buf, *copy = taml_malloc(size);
    taml_err err;
    taml_model *m;
    CHECK(taml_model_decode(&m, b, size, "m.taml", &err) == 0);
    CHECK_STR(taml_model_info_get(m)->provenance_json, "{\"why\":\"test\"}");
    taml_model_free(m);
    /* every truncation, every truncation of the payload under a fitting
     * length and CRC, every changed byte: refused, naming file and place */
    fc_truncations(b, size, "m.taml", 1, fc_model_decode, NULL);
    fc_resealed_truncations(b, size, "m.taml", 1, fc_model_decode, NULL);
    fc_flips(b, size, "m.taml", 0, 1, fc_model_decode, NULL);
    CHECK_EQ_INT(taml_model_decode(&m, b, size - 1, "m.taml", &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "m.taml: offset 16: length: truncated");
    memcpy(copy, b, size);
    copy[size / 2] ^= 4;
    CHECK_EQ_INT(taml_model_decode(&m, copy, size, "m.taml", &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "m.taml: taml model checksum mismatch");
    memcpy(copy, b, size);
    copy[0] = 'X';
    CHECK_EQ_INT(taml_model_decode(&m, copy, size, NULL, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "model: not a taml model");
    memcpy(copy, b, size);
    put_u32(copy + 8, 99);
    CHECK_EQ_INT(taml_model_decode(&m, copy, size, "m.taml", &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "m.taml: offset 8: version: ");
    CHECK_CONTAINS(err.msg, "a newer taml wrote it");
    /* a bad field under a valid checksum: the class count */
    memcpy(copy, b, size);
    size_t off = 24;
    for (int s = 0; s < 2; s++) off += 4 + (copy[off] | copy[off + 1] << 8); /* name, config */
    off += 4;                                                               /* tokeniser */
    off += 4 + (copy[off] | copy[off + 1] << 8);                            /* provenance */
    off += 16;                                                              /* kind, h, w, c */
    put_u32(copy + off, 0);
    put_u32(copy + size - 4, taml_crc32(0, copy, size - 4));
    CHECK_EQ_INT(taml_model_decode(&m, copy, size, "m.taml", &err), TAML_EFORMAT);
    char want[96];
    snprintf(want, sizeof want, "m.taml: offset %zu: the number of classes: 0 (expected 1 .. ", off);
    CHECK_CONTAINS(err.msg, want);
    /* random damage with a valid checksum never crashes (sanitizers watch) */
    uint64_t x = 88172645463325252ull;
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(copy, b, size);
        for (int k = 0; k < 1 + i % 3; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            copy[24 + x % (size - 28)] = (unsigned char)(x >> 40);
        }
        put_u32(copy + size - 4, taml_crc32(0, copy, size - 4));
        if (taml_model_decode(&m, copy, size, "m.taml", &err) == 0) taml_model_free(m);
        else refused++;
    }
    CHECK(refused > 100);
    /* through the command line: a clear message, exit 1 */
    char *path = tmp("bad.taml"), *log = tmp("bad.log");
    CHECK(taml_write_file_atomic(path, b, size - 10, &err) == 0);
    CHECK_EQ_INT(run("echo hello | %s predict %s > /dev/null 2> %s", bin(), path, log), 1);
    char *msg = slurp(log);
    CHECK_CONTAINS(msg, "bad.taml: offset 16: length: truncated");
    free(msg);
    free(path), free(log), free(copy), free(buf);
}

TEST(predict_stops_at_an_invalid_utf8_line_naming_it_after_labelling_the_lines_before)
{
    void *buf;
    size_t size;
    fixture_model(&buf, &size);
    char *path = tmp("m.taml"), *in = tmp("in.txt"), *outp = tmp("out.txt"), *log = tmp("err.txt");
    taml_err err;
    CHECK(taml_write_file_atomic(path, buf, size, &err) == 0);
    const char text[] = "the oven was hot\r\nstadium win\n\xff\xfe broken\nmore text\n";
    CHECK(taml_write_file_atomic(in, text, sizeof text - 1, &err) == 0);
    CHECK_EQ_INT(run("%s predict %s < %s > %s 2> %s", bin(), path, in, outp, log), 1);
    char *o = slurp(outp), *e = slurp(log);
    int lines = 0;
    for (char *p = o; *p; p++) lines += *p == '\n';
    CHECK_EQ_INT(lines, 2);
    CHECK_CONTAINS(e, "stdin line 3: invalid UTF-8 at byte 1");
    free(o), free(e);
    /* an empty input gives no output and success; usage errors exit 2 */
    CHECK_EQ_INT(run("%s predict %s < /dev/null > %s", bin(), path, outp), 0);
    CHECK_EQ_INT(run("%s predict %s --top 0 < /dev/null 2> /dev/null", bin(), path), 2);
    CHECK_EQ_INT(run("%s predict %s --images %s 2> /dev/null", bin(), path, in), 2);
    free(path), free(in), free(outp), free(log), free(buf);
}

TEST(image_model_predicts_the_test_pixels_as_the_child_scored_them)
{
    taml_blas_init(NULL);
    taml_err err;
    taml_task *task;
    CHECK(taml_task_load(&task, "tests/fixtures/tasks/u8-mini", NULL, &err) == 0);
    taml_features *f;
    CHECK(taml_features_new(&f, task, NULL, &err) == 0);
    const char *cj = "{\"embedding\":\"pixels\",\"fine_tune\":false,\"layers\":2,\"hidden_size\":8,"
                     "\"activation\":\"swish\",\"normalization\":\"batch_norm\",\"dropout\":0.1,"
                     "\"deep_lr\":0.3,\"deep_l2\":0,\"wide_lr\":0.3,\"wide_l1\":0,\"samples\":2000}";
    taml_child_config cfg;
    CHECK(taml_child_config_parse(&cfg, cj, strlen(cj), &err) == 0);
    taml_child *c;
    CHECK(taml_child_new(&c, &cfg, f, 11, &err) == 0);
    taml_child_result res;
    taml_child_fit(c, &res);
    taml_model *m;
    CHECK(taml_model_from_child(&m, c, &cfg, f, NULL, &err) == 0);
    void *buf;
    size_t size;
    taml_model_encode(m, &buf, &size);
    taml_model_free(m);
    CHECK(taml_model_decode(&m, buf, size, NULL, &err) == 0);
    const taml_model_info *mi = taml_model_info_get(m);
    CHECK(mi->image && mi->height == 2 && mi->width == 2 && mi->channels == 3);
    /* every split, scored by the model and by the child */
    int32_t lo = 0, P = 12, C = task->n_classes;
    for (int sp = 0; sp < 3; sp++) {
        int32_t n = task->n_split[sp];
        float *z = taml_malloc(sizeof *z * (size_t)n * C);
        CHECK(taml_model_predict_images(m, n, task->pixels + (size_t)lo * P, z, &err) == 0);
        int hits = 0;
        for (int32_t i = 0; i < n; i++) hits += taml_model_argmax(z + (size_t)i * C, C, NULL) == task->label[lo + i];
        CHECK((double)hits / n == taml_child_accuracy(c, sp));
        free(z);
        lo += n;
    }
    const char *txt = "x";
    size_t len = 1;
    float z[16];
    CHECK_EQ_INT(taml_model_predict_texts(m, 1, &txt, &len, z, &err), TAML_EINVAL);
    /* through the command line: --images with every image of the task */
    char *path = tmp("img.taml"), *px = tmp("images.u8"), *outp = tmp("labels.txt");
    CHECK(taml_write_file_atomic(path, buf, size, &err) == 0);
    CHECK(taml_write_file_atomic(px, task->pixels, (size_t)task->n * P, &err) == 0);
    CHECK_EQ_INT(run("%s predict %s --images %s > %s", bin(), path, px, outp), 0);
    char *labels = slurp(outp), *line = labels;
    int32_t hits[3] = {0, 0, 0}, row = 0;
    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1, row++) {
        *nl = 0;
        CHECK(row < task->n);
        int sp = row < task->n_split[0] ? 0 : row < task->n_split[0] + task->n_split[1] ? 1 : 2;
        hits[sp] += !strcmp(line, task->class_names[task->label[row]]);
    }
    CHECK_EQ_INT(row, task->n);
    for (int sp = 0; sp < 3; sp++)
        CHECK((double)hits[sp] / task->n_split[sp] == taml_child_accuracy(c, sp));
    /* the same images as a gzipped IDX file (n x 2 x 2 x 3): the same labels */
    char *idx = tmp("images.idx"), *outq = tmp("labels-idx.txt");
    size_t isz = 4 + 16 + (size_t)task->n * P;
    unsigned char *ib = taml_malloc(isz);
    const uint32_t dims[4] = {(uint32_t)task->n, 2, 2, 3};
    ib[0] = ib[1] = 0, ib[2] = 8, ib[3] = 4;
    for (int k = 0; k < 4; k++)
        for (int b = 0; b < 4; b++) ib[4 + 4 * k + b] = (unsigned char)(dims[k] >> (24 - 8 * b));
    memcpy(ib + 20, task->pixels, (size_t)task->n * P);
    CHECK(taml_write_file_atomic(idx, ib, isz, &err) == 0);
    CHECK_EQ_INT(run("gzip -f %s && %s predict %s --images %s.gz > %s", idx, bin(), path, idx, outq), 0);
    char *labels_idx = slurp(outq), *labels_raw = slurp(outp);
    CHECK_STR(labels_idx, labels_raw);
    free(labels_idx), free(labels_raw), free(ib), free(idx), free(outq);
    free(labels);
    /* a file that is not whole images, and text on stdin, are refused */
    CHECK(taml_write_file_atomic(px, task->pixels, 13, &err) == 0);
    CHECK_EQ_INT(run("%s predict %s --images %s > /dev/null 2> %s", bin(), path, px, outp), 1);
    labels = slurp(outp);
    CHECK_CONTAINS(labels, "13 bytes is not a whole number of 2x2x3 images");
    free(labels);
    CHECK_EQ_INT(run("echo hi | %s predict %s > /dev/null 2>&1", bin(), path), 2);
    free(path), free(px), free(outp);
    taml_model_free(m);
    free(buf);
    taml_child_free(c);
    taml_features_free(f);
    taml_task_free(task);
}

/* Every usage rule of `taml export` and `taml predict`, one case each (exit
 * 2, the usage shown). */
TEST(export_and_predict_cli_usage_errors_name_themselves_and_exit_2)
{
    static const taml_test_usage_case cases[] = {
        {"export --task t -o m.taml", "taml export: STUDY is required"},
        {"export s.db -o m.taml", "taml export: --task is required"},
        {"export s.db --task t", "taml export: -o is required"},
        {"export s.db t.db --task t -o m.taml", "taml export: unexpected argument 't.db'"},
        {"export s.db --task t -o m.taml --modules", "taml export: --modules needs a value"},
        {"export s.db --task t -o m.taml --force", "taml export: unknown option '--force'"},
        {"predict", "taml predict: MODEL.taml is required"},
        {"predict m.taml n.taml", "taml predict: unexpected argument 'n.taml'"},
        {"predict m.taml --top 0", "--top: 0 is not a whole number in 1..1000000"},
        {"predict m.taml --top 1000001", "--top: 1000001 is not a whole number in 1..1000000"},
        {"predict m.taml --top", "taml predict: --top needs a value"},
        {"predict m.taml --proba=1", "--proba takes no value"},
        {"predict m.taml --json", "taml predict: unknown option '--json'"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    taml_test_cli_says("export --help 2>/dev/null", 0, "usage: taml export STUDY");
    taml_test_cli_says("predict --help 2>/dev/null", 0, "usage: taml predict MODEL.taml");
}
