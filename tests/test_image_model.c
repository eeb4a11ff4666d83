/* tests/test_image_model.c - an image model whose deep tower reads an
 * image module (nn/model.h, model file version 4): it carries the CNN, its
 * predictions are the child's own scores split by split, through the API
 * and `taml predict --images`; models without an image module stay version
 * 1; damage is refused naming the field; `taml export` of a search's trial
 * on the tiny fixture module writes it. No data/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "format_check.h"
#include "nn/blas.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"
#include "nn/model.h"
#include "test.h"
#include "testutil.h"

typedef struct trained {
    char *lib, *dir;
    taml_task *task;
    taml_module *module;
    taml_features *f;
    taml_child *c;
    taml_child_config cfg;
} trained;

/* The child of config cj (its embedding NAME replaced by module, or NULL:
 * pixels) trained on a copy of u8-mini. */
static void train(trained *t, const char *cj, const char *dir_name, int with_module)
{
    taml_blas_init(NULL);
    memset(t, 0, sizeof *t);
    taml_err err;
    t->lib = taml_test_tiny_image_library();
    t->dir = taml_test_image_task(dir_name);
    CHECK_MSG(taml_task_load(&t->task, t->dir, NULL, &err) == 0, "%s", err.msg);
    if (with_module) CHECK_MSG(taml_module_open(&t->module, "tiny-cnn", t->lib, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_features_new(&t->f, t->task, t->module, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_child_config_parse(&t->cfg, cj, strlen(cj), &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_child_new(&t->c, &t->cfg, t->f, 11, &err) == 0, "%s", err.msg);
    taml_child_result res;
    taml_child_fit(t->c, &res);
}

static void untrain(trained *t)
{
    taml_child_free(t->c);
    taml_features_free(t->f);
    taml_module_close(t->module);
    taml_task_free(t->task);
    free(t->dir);
    free(t->lib);
}

static const char module_cfg[] =
    "{\"embedding\":\"tiny-cnn\",\"fine_tune\":false,\"layers\":2,\"hidden_size\":8,"
    "\"activation\":\"swish\",\"normalization\":\"batch_norm\",\"dropout\":0.1,"
    "\"deep_lr\":0.3,\"deep_l2\":0,\"wide_lr\":0.3,\"wide_l1\":0,\"samples\":2000}";

/* The trained child as model file bytes (heap). */
static unsigned char *encode_child(const trained *t, size_t *size)
{
    taml_err err;
    taml_model *m;
    CHECK_MSG(taml_model_from_child(&m, t->c, &t->cfg, t->f, NULL, &err) == 0, "%s", err.msg);
    void *buf;
    taml_model_encode(m, &buf, size);
    taml_model_free(m);
    return buf;
}

static uint32_t file_version(const void *buf) { return taml_bytes_load_u32((const char *)buf + 8); }

TEST(image_module_model_is_version_4_and_predicts_every_split_as_the_child_scored_it)
{
    trained t;
    train(&t, module_cfg, "u8-model", 1);
    taml_err err;
    taml_model *m;
    size_t size;
    unsigned char *buf = encode_child(&t, &size);
    CHECK_EQ_INT(file_version(buf), 4);
    /* the module can go: the model carries its CNN */
    taml_module_close(t.module);
    t.module = NULL;
    CHECK_MSG(taml_model_decode(&m, buf, size, "m.taml", &err) == 0, "%s", err.msg);
    const taml_model_info *mi = taml_model_info_get(m);
    CHECK(mi->image && mi->height == 2 && mi->width == 2 && mi->channels == 3);
    CHECK_STR(mi->image_module, "tiny-cnn");
    CHECK_EQ_INT((int)mi->version, 4);
    CHECK_EQ_INT(mi->dim, 56);
    int32_t lo = 0, P = 12, C = t.task->n_classes;
    for (int sp = 0; sp < 3; sp++) {
        int32_t n = t.task->n_split[sp];
        float *z = taml_malloc(sizeof *z * (size_t)n * C);
        CHECK(taml_model_predict_images(m, n, t.task->pixels + (size_t)lo * P, z, &err) == 0);
        int hits = 0;
        for (int32_t i = 0; i < n; i++)
            hits += taml_model_argmax(z + (size_t)i * C, C, NULL) == t.task->label[lo + i];
        CHECK((double)hits / n == taml_child_accuracy(t.c, sp));
        free(z);
        lo += n;
    }
    /* encoded again: the same bytes */
    void *again;
    size_t again_size;
    taml_model_encode(m, &again, &again_size);
    CHECK(again_size == size && !memcmp(again, buf, size));
    free(again);
    taml_model_free(m);
    /* through the command line, with --info naming the module */
    char *path = taml_path_join(taml_test_tmpdir(), "m.taml"), *out;
    CHECK(taml_write_file_atomic(path, buf, size, &err) == 0);
    char *px = taml_path_join(t.dir, "images.u8");
    char *cmd = taml_asprintf("%s predict %s --info", taml_test_bin(), path);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "module      tiny-cnn (its CNN is in the file: model file version 4)");
    free(out);
    free(cmd);
    cmd = taml_asprintf("%s predict %s --images %s", taml_test_bin(), path, px);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    int lines = 0;
    for (char *p = out; *p; p++) lines += *p == '\n';
    CHECK_EQ_INT(lines, 10);
    free(out);
    free(cmd);
    free(px);
    free(path);
    free(buf);
    untrain(&t);
}

TEST(image_models_without_an_image_module_stay_version_1)
{
    static const char *configs[] = {
        /* pixels */
        "{\"embedding\":\"pixels\",\"fine_tune\":false,\"layers\":1,\"hidden_size\":8,"
        "\"activation\":\"relu\",\"normalization\":\"none\",\"dropout\":0,"
        "\"deep_lr\":0.3,\"deep_l2\":0,\"wide_lr\":0.3,\"wide_l1\":0,\"samples\":1000}",
        /* an image module, but the deep tower disabled: the wide tower alone */
        "{\"embedding\":\"tiny-cnn\",\"fine_tune\":false,\"layers\":1,\"hidden_size\":8,"
        "\"activation\":\"relu\",\"normalization\":\"none\",\"dropout\":0,"
        "\"deep_lr\":0.3,\"deep_l2\":\"disable\",\"wide_lr\":0.3,\"wide_l1\":0,\"samples\":1000}",
    };
    for (int k = 0; k < 2; k++) {
        trained t;
        train(&t, configs[k], k ? "u8-v1b" : "u8-v1a", 0);
        taml_err err;
        taml_model *m;
        size_t size;
        unsigned char *buf = encode_child(&t, &size);
        CHECK_EQ_INT(file_version(buf), 1);
        CHECK(taml_model_decode(&m, buf, size, NULL, &err) == 0);
        CHECK(taml_model_info_get(m)->image_module == NULL);
        taml_model_free(m);
        free(buf);
        untrain(&t);
    }
}

static int decode_model(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    (void)ctx;
    taml_model *m;
    int rc = taml_model_decode(&m, buf, n, source, err);
    taml_model_free(m);
    return rc;
}

TEST(a_damaged_version_4_model_is_refused_naming_the_field)
{
    trained t;
    train(&t, module_cfg, "u8-bad", 1);
    taml_err err;
    taml_model *m;
    size_t size;
    unsigned char *buf = encode_child(&t, &size);
    fc_truncations(buf, size, "m4.taml", 97, decode_model, NULL);
    fc_resealed_truncations(buf, size, "m4.taml", 97, decode_model, NULL);
    fc_flips(buf, size, "m4.taml", 0, 53, decode_model, NULL);
    /* the model's version said 1: its payload does not end where version 1's does */
    unsigned char *v1 = taml_malloc(size);
    memcpy(v1, buf, size);
    taml_bytes_store_u32(v1 + 8, 1);
    fc_reseal(v1, size);
    CHECK_EQ_INT(taml_model_decode(&m, v1, size, "v1.taml", &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "v1.taml: offset ");
    CHECK_CONTAINS(err.msg, "the wide flag: deep input width 56 is not the 12 pixels");
    /* a version this taml does not read */
    taml_bytes_store_u32(v1 + 8, 5);
    fc_reseal(v1, size);
    CHECK_EQ_INT(taml_model_decode(&m, v1, size, "v5.taml", &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "model file format version 5; this taml reads versions 1 (a model), "
                            "2 (an ensemble), 3 (a text model with n-grams) and 4 (an image model "
                            "with its CNN) (a newer taml wrote it)");
    free(v1);
    free(buf);
    untrain(&t);
}

TEST(export_of_a_trial_on_an_image_module_writes_version_4_and_predict_runs_the_cnn)
{
    char *lib = taml_test_tiny_image_library(), *dir = taml_test_image_task("u8-export");
    char *out = taml_test_tiny_image_search(lib, dir, "s.db", 1);
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "export s.db --task u8-export -o m.taml", &out), 0);
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "predict m.taml --info", &out), 0);
    CHECK_CONTAINS(out, "module      tiny-cnn (its CNN is in the file: model file version 4)");
    free(out);
    /* the module library gone: predict needs only the model */
    CHECK_EQ_INT(taml_test_predict_image_lines("m.taml", dir), 10);
    char *model = taml_path_join(taml_test_tmpdir(), "m.taml"), *data;
    size_t size;
    CHECK(taml_read_file(model, &data, &size, NULL) == 0);
    CHECK_EQ_INT(file_version(data), 4);
    free(data);
    free(model);
    free(dir);
    free(lib);
}

TEST(an_ensemble_of_image_module_trials_carries_each_members_cnn)
{
    char *lib = taml_test_tiny_image_library(), *dir = taml_test_image_task("u8-ens");
    char *out = taml_test_tiny_image_search(lib, dir, "s.db", 3);
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "export s.db --task u8-ens --ensemble 2 -o e.taml", &out),
                 0);
    free(out);
    CHECK_EQ_INT(taml_test_taml_in("/nonexistent", "predict e.taml --info", &out), 0);
    CHECK_CONTAINS(out, "ensemble    2 members");
    CHECK_CONTAINS(out, "module      tiny-cnn (its CNN is in the file: model file version 4)");
    free(out);
    CHECK_EQ_INT(taml_test_predict_image_lines("e.taml", dir), 10);
    free(dir);
    free(lib);
}
