/* tests/test_formats_v1.c - files written by the taml of before the envelope
 * (tests/fixtures/v1/, made by its make.sh with the code of c703d23) still
 * open with today's code and give what they gave then: the studies'
 * version-1 checkpoints and aml bundles decode to the state they hold (saved
 * again, the payload is the old bytes), the half studies continue to exactly
 * the old code's uninterrupted ones, the model predicts what it predicted,
 * the module finds every word with its vector. */
#include <math.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "ctrl/bundle.h"
#include "ctrl/controller.h"
#include "embed/module.h"
#include "nn/model.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"
#include "fixture_files.h"
#include "format_check.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

#define FIX "tests/fixtures/v1/"

/* FIX name.gz unpacked into the test's directory; the path (heap). */
static char *v1_fixture(const char *name)
{
    char *rel = taml_asprintf("v1/%s", name), *out = taml_test_gunzip_fixture(rel);
    free(rel);
    return out;
}

static taml_space *fixture_space(void)
{
    taml_space *sp;
    taml_err err;
    CHECK_MSG(taml_space_load(&sp, FIX "space.json", &err) == 0, "%s", err.msg);
    return sp;
}

/* A version-1 checkpoint c (n bytes) loads, and saved again (version 2) its
 * payload is c's bytes after the 16-byte header: the state decoded is the
 * state the old code saved, bit for bit. Saved once more, nothing moves. */
static void resaves_to_the_same_state(const taml_space *sp, const unsigned char *c, size_t n,
                                      const char *source)
{
    CHECK(n > 20 && !memcmp(c, "TAMLCTRL", 8));
    CHECK_EQ_INT(taml_bytes_load_u32(c + 8), 1);
    taml_ctrl *ctrl, *again;
    taml_err err;
    CHECK_MSG(taml_ctrl_load_named(&ctrl, sp, c, n, source, &err) == 0, "%s", err.msg);
    void *v2, *v2b;
    size_t n2, n2b;
    taml_ctrl_save(ctrl, &v2, &n2);
    CHECK_EQ_INT(n2, n + 8);
    CHECK(!memcmp((unsigned char *)v2 + TAML_ENVELOPE_HEAD, c + 16, n - 20));
    CHECK_EQ_INT(taml_ctrl_load_named(&again, sp, v2, n2, "v2", &err), 0);
    taml_ctrl_save(again, &v2b, &n2b);
    CHECK(n2b == n2 && !memcmp(v2, v2b, n2));
    free(v2);
    free(v2b);
    taml_ctrl_free(ctrl);
    taml_ctrl_free(again);
}

/* Both checkpoints (first and newest) of a fixture study. */
static void study_checkpoints_resave(const char *name, int aml)
{
    char *path = v1_fixture(name);
    taml_space *sp = fixture_space();
    taml_store *s;
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    for (int which = 0; which < 2; which++) {
        void *blob;
        size_t size;
        int64_t after;
        int rc = which ? taml_store_checkpoint_last(s, &blob, &size, &after, &err)
                       : taml_store_checkpoint_first(s, &blob, &size, &after, &err);
        CHECK_EQ_INT(rc, 1);
        CHECK_EQ_INT(taml_ctrl_bundle_is(blob, size), aml);
        if (!aml) {
            resaves_to_the_same_state(sp, blob, size, name);
        } else {
            CHECK(!memcmp(blob, "TAMLAMLC", 8));
            int32_t n;
            const void **parts;
            size_t *sizes;
            CHECK_EQ_INT(taml_ctrl_bundle_split(blob, size, name, &n, &parts, &sizes, &err), 0);
            CHECK_EQ_INT(n, 1);
            resaves_to_the_same_state(sp, parts[0], sizes[0], name);
            free(parts);
            free(sizes);
        }
        free(blob);
    }
    taml_store_close(s);
    taml_space_free(sp);
    free(path);
}

TEST(v1_multitask_study_checkpoints_decode_to_the_state_the_old_code_saved)
{
    study_checkpoints_resave("mt-half.db", 0);
    study_checkpoints_resave("mt-full.db", 0);
}

TEST(v1_aml_study_bundles_decode_to_the_state_the_old_code_saved)
{
    study_checkpoints_resave("aml-half.db", 1);
    study_checkpoints_resave("aml-full.db", 1);
}

TEST(v1_controller_checkpoint_file_loads_and_is_a_transfer_source)
{
    /* the newest checkpoint of mt-full.db (trained: Adam moments set), as
     * the file a user keeps */
    char *db = v1_fixture("mt-full.db");
    taml_store *s;
    taml_err err;
    void *blob;
    size_t size;
    int64_t after;
    CHECK_EQ_INT(taml_store_open(&s, db, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_checkpoint_last(s, &blob, &size, &after, &err), 1);
    taml_store_close(s);
    CHECK(after > 0);
    char *file = taml_path_join(taml_test_tmpdir(), "v1.ckpt");
    CHECK_EQ_INT(taml_write_file_atomic(file, blob, size, &err), 0);
    taml_space *sp = fixture_space();
    taml_ctrl *c;
    CHECK_MSG(taml_ctrl_load_file(&c, sp, file, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(taml_ctrl_tasks(c), 2);
    CHECK_STR(taml_ctrl_task_name(c, 0), "child-topics");
    CHECK_STR(taml_ctrl_task_name(c, 1), "udhr-mini");
    resaves_to_the_same_state(sp, blob, size, file);
    /* a transfer reads it as it is */
    void *src;
    size_t n;
    CHECK_EQ_INT(taml_search_load_source(file, &src, &n, &err), 0);
    CHECK(n == size && !memcmp(src, blob, n));
    free(src);
    /* cut or damaged, the old layout is refused with the file's name */
    taml_ctrl_free(c);
    CHECK_EQ_INT(taml_ctrl_load_named(&c, sp, blob, size - 1, file, &err) < 0, 1);
    CHECK_CONTAINS(err.msg, "v1.ckpt: controller checkpoint checksum mismatch");
    CHECK_CONTAINS(err.msg, "version 1 has no length field");
    taml_ctrl_free(c);
    taml_space_free(sp);
    free(blob);
    free(file);
    free(db);
}

/* Continues the half study `half` with this build's binary to the trials of
 * `full`, and compares with the old code's uninterrupted run; space is the
 * --space option given ("" for none: the study's recorded space). */
static void continues_equal(const char *half, const char *full, const char *tasks, int trials,
                            const char *space)
{
    char *h = v1_fixture(half), *f = v1_fixture(full);
    char *cmd = taml_asprintf("%s search --study %s %s --trials %d --seed 5 %s --deterministic "
                              "--workers 2",
                              taml_test_bin(), h, tasks, trials, space);
    char *out;
    int rc = taml_test_run(cmd, &out);
    CHECK_MSG(rc == 0, "%s\n%s", cmd, out);
    int64_t n = 0;
    CHECK(same_studies(h, f, &n));
    CHECK_EQ_INT(n, trials * (strstr(tasks, "udhr") ? 2 : 1));
    free(out);
    free(cmd);
    free(h);
    free(f);
}

TEST(v1_half_studies_continued_equal_the_old_codes_uninterrupted_ones)
{
    continues_equal("mt-half.db", "mt-full.db",
                    "--task tests/fixtures/tasks/child-topics --task tests/fixtures/tasks/udhr-mini "
                    "--method multitask",
                    6, "--space " FIX "space.json");
    continues_equal("aml-half.db", "aml-full.db",
                    "--task tests/fixtures/tasks/child-topics --method aml", 8,
                    "--space " FIX "space.json");
}

/* The default space of new studies is the taml space now; a study made
 * before keeps the space it recorded when continued without --space. */
TEST(v1_study_continued_without_a_space_keeps_its_own_and_equals_the_old_run)
{
    continues_equal("aml-half.db", "aml-full.db",
                    "--task tests/fixtures/tasks/child-topics --method aml", 8, "");
}

/* The user_version of the study at path (opened apart from the store). */
static int schema_of(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int v = -1;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A study of schema 1 (no trials.attempts) is read as it is: its finished
 * trials count one run, unfinished ones none, and the file is not touched;
 * migrated (taml_store_upgrade, as a search continuing it does) it holds
 * those same values in the column. */
TEST(v1_study_is_read_as_it_is_and_migrated_with_one_run_per_finished_trial)
{
    char *path = v1_fixture("mt-half.db");
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "INSERT INTO trials (task, method, config_json, actions, seed, state,"
                       " queued_at) SELECT task, method, config_json, actions, seed + 1,"
                       " 'pending', queued_at FROM trials WHERE id = 1",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(schema_of(path), 1);
    taml_store *s;
    taml_err err;
    taml_trial t;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_trial_get(s, 1, &t, &err), 0);
    CHECK_EQ_INT(t.state, TAML_TRIAL_DONE);
    CHECK_EQ_INT(t.attempts, 1);
    taml_trial_deinit(&t);
    CHECK_EQ_INT(taml_store_trial_get(s, 7, &t, &err), 0);
    CHECK_EQ_INT(t.state, TAML_TRIAL_PENDING);
    CHECK_EQ_INT(t.attempts, 0);
    taml_trial_deinit(&t);
    taml_store_close(s);
    CHECK_EQ_INT(schema_of(path), 1);

    CHECK_EQ_INT(taml_store_open(&s, path, 0, &err), 0);
    CHECK_EQ_INT(schema_of(path), 1);
    CHECK_EQ_INT(taml_store_upgrade(s, &err), 0);
    CHECK_EQ_INT(schema_of(path), TAML_STORE_SCHEMA);
    taml_store_iter *it;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err), 0);
    int n = 0;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        CHECK_EQ_INT(t.attempts, t.state == TAML_TRIAL_PENDING ? 0 : 1);
        n++;
    }
    taml_store_iter_free(it);
    CHECK_EQ_INT(n, 7);
    taml_store_close(s);
    /* the column itself holds them (not the read-only fallback) */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT sum(attempts) FROM trials", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int(st, 0), 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
}

__attribute__((noinline)) static char *slurp(const char *path, size_t *n)
{
    char *data;
    taml_err err;
    CHECK_MSG(taml_read_file(path, &data, n, &err) == 0, "%s", err.msg);
    return data;
}

/* A model file written before opens, is written again byte for byte (the
 * format stayed version 1), and predicts what it predicted. */
/* Two `taml predict --proba` outputs agree: the same lines and labels, and
 * each probability (printed with 6 significant digits) within 1e-5 of the
 * recorded one, relative to max(|p|, 1e-3). The model's float sums run in
 * the BLAS kernel's order, which depends on the machine (AVX2 and AVX-512
 * round differently in the last printed digit). */
static int same_predictions(const char *a, const char *b)
{
    while (*a || *b) {
        size_t la = strcspn(a, "\t\n"), lb = strcspn(b, "\t\n");
        char *ea, *eb;
        double x = strtod(a, &ea), y = strtod(b, &eb);
        int num = ea == a + la && eb == b + lb && la > 0 && lb > 0;
        if (num) {
            double scale = fabs(y) > 1e-3 ? fabs(y) : 1e-3;
            if (!(fabs(x - y) <= 1e-5 * scale)) return 0;
        } else if (la != lb || memcmp(a, b, la) != 0) {
            return 0;
        }
        if (a[la] != b[lb]) return 0; /* the same separator (or both at the end) */
        a += la + (a[la] != '\0');
        b += lb + (b[lb] != '\0');
    }
    return 1;
}

TEST(v1_model_opens_re_encodes_to_the_same_bytes_and_predicts_as_before)
{
    size_t n, m;
    char *file = slurp(FIX "model.taml", &n);
    taml_model *model;
    taml_err err;
    CHECK_MSG(taml_model_decode(&model, file, n, FIX "model.taml", &err) == 0, "%s", err.msg);
    void *again;
    size_t na;
    taml_model_encode(model, &again, &na);
    CHECK(na == n && !memcmp(again, file, n));
    free(again);
    taml_model_free(model);
    char *cmd = taml_asprintf("%s predict " FIX "model.taml --proba < " FIX "texts.txt",
                              taml_test_bin());
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    char *want = slurp(FIX "predict.txt", &m);
    CHECK_MSG(same_predictions(out, want), "predictions differ:\n%s\nrecorded:\n%s", out, want);
    free(want);
    free(out);
    free(cmd);
    free(file);
    /* the model files of the fuzz corpus were written by older builds too:
     * every one that opens is written again byte for byte */
    static const char *corpus[] = {"deepbn-0", "finetuned-0", "frozen-0", "image-0", "wideonly-0"};
    for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++) {
        char *path = taml_asprintf("fuzz/corpus/model/%s", corpus[i]);
        char *b = slurp(path, &n); /* byte 0: the fuzz target's flags */
        CHECK_MSG(taml_model_decode(&model, b + 1, n - 1, path, &err) == 0, "%s", err.msg);
        taml_model_encode(model, &again, &na);
        CHECK_MSG(na == n - 1 && !memcmp(again, b + 1, na), "%s re-encodes differently", path);
        free(again);
        taml_model_free(model);
        free(b);
        free(path);
    }
}

/* The module imported before opens (version 1, read in place) and finds
 * every word with the vector of the text it was imported from. */
TEST(v1_module_opens_and_finds_every_word_with_its_vector)
{
    taml_module *m;
    taml_err err;
    CHECK_MSG(taml_module_open(&m, FIX "module.tamlm", NULL, &err) == 0, "%s", err.msg);
    CHECK_STR(taml_module_name(m), "tiny-8");
    CHECK_STR(taml_module_language(m), "en");
    CHECK_EQ_INT(taml_module_dim(m), 8);
    CHECK_EQ_INT(taml_module_rows(m), 12);
    CHECK((uintptr_t)taml_module_vector(m, 0) % 64 == 0);
    size_t n;
    char *text = slurp(FIX "vectors.vec", &n);
    char *line = strchr(text, '\n') + 1; /* after "12 8" */
    for (int64_t r = 0; r < 12; r++) {
        char *end = strchr(line, ' ');
        *end = '\0';
        CHECK_STR(taml_module_word(m, r), line);
        CHECK_EQ_INT(taml_module_find(m, line, strlen(line)), r);
        float v[8];
        CHECK_EQ_INT(taml_module_lookup(m, line, strlen(line), v), 1);
        char *p = end + 1;
        for (int j = 0; j < 8; j++) CHECK(v[j] == strtof(p, &p));
        line = strchr(p, '\n') + 1;
    }
    CHECK_EQ_INT(taml_module_lookup(m, "absent", 6, (float[8]){0}), 0);
    taml_module_close(m);
    /* damaged, the old layout is refused naming the file and the place */
    char *file = slurp(FIX "module.tamlm", &n);
    char *copy = taml_path_join(taml_test_tmpdir(), "old.tamlm");
    fc_truncations(file, n, copy, 1, fc_module_open_bytes, NULL);
    fc_flips(file, n, copy, 0, 1, fc_module_open_bytes, NULL);
    free(copy);
    free(file);
    free(text);
}
