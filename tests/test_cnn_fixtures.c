/* tests/test_cnn_fixtures.c - taml's image inference (nn/cnn.h) against the
 * references of tests/fixtures/vision/ (scripts/modules/tfjs-reference and
 * cnnref.py): the tiny module's every tensor and features (numpy, float64),
 * the input pipeline at 96 (TF.js's own resize and scaling), and, for each
 * converted nsfwjs module found in the module library, the features TF.js
 * computed with nsfwjs's original models (issue 13: within 1e-3 relative). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "embed/import.h"
#include "embed/module.h"
#include "nn/cnn.h"
#include "nn/cnn_kernels.h"
#include "test.h"

#define FIX "tests/fixtures/vision"

typedef struct image {
    char *name;
    int h, w, c;
    uint8_t *px;
} image;

/* The fixture images of index.json, in its order (n = 4). */
static image *load_images(int *n)
{
    char *text;
    size_t len;
    CHECK(taml_read_file(FIX "/index.json", &text, &len, NULL) == 0);
    cJSON *root = cJSON_ParseWithLength(text, len);
    CHECK(root != NULL);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "images");
    *n = cJSON_GetArraySize(list);
    image *im = taml_calloc((size_t)*n, sizeof *im);
    int i = 0;
    for (const cJSON *e = list->child; e; e = e->next, i++) {
        im[i].name = taml_strdup(cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring);
        im[i].h = cJSON_GetObjectItemCaseSensitive(e, "h")->valueint;
        im[i].w = cJSON_GetObjectItemCaseSensitive(e, "w")->valueint;
        im[i].c = cJSON_GetObjectItemCaseSensitive(e, "c")->valueint;
        char *path = taml_asprintf(FIX "/%s",
                                   cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring);
        size_t got;
        CHECK(taml_read_file(path, (char **)&im[i].px, &got, NULL) == 0);
        CHECK_EQ_INT(got, (size_t)im[i].h * im[i].w * im[i].c);
        free(path);
    }
    cJSON_Delete(root);
    free(text);
    return im;
}

static void free_images(image *im, int n)
{
    for (int i = 0; i < n; i++) {
        free(im[i].name);
        free(im[i].px);
    }
    free(im);
}

static float *read_floats(const char *path, size_t want)
{
    char *b;
    size_t n;
    CHECK_MSG(taml_read_file(path, &b, &n, NULL) == 0, "%s", path);
    CHECK_MSG(n == want * 4, "%s: %zu bytes, expected %zu floats", path, n, want);
    return (float *)b;
}

/* max |a - b| / max |b|: the fixtures' own measure of agreement. */
static double agreement(const float *a, const float *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabs((double)b[i]) > m) m = fabs((double)b[i]);
    }
    return m > 0 ? d / m : d;
}

TEST(cnn_tiny_fixture_every_tensor_and_feature_agree_with_the_numpy_reference)
{
    int n;
    image *im = load_images(&n);
    char *mp = taml_path_join(taml_test_tmpdir(), "tiny.tamlm");
    taml_cnn_import_opts io = {.name = "tiny", .matrix_path = FIX "/tiny/weights.f32"};
    taml_err err;
    CHECK_MSG(taml_module_import_cnn(FIX "/tiny/cnn.json", &io, mp, NULL, &err) == 0, "%s",
              err.msg);
    taml_module *m;
    CHECK_MSG(taml_module_open(&m, mp, NULL, &err) == 0, "%s", err.msg);
    const taml_image_graph *g = taml_module_image(m);
    /* expected.json: each tensor's offset in an image's floats */
    char *text;
    size_t len;
    CHECK(taml_read_file(FIX "/tiny/expected.json", &text, &len, NULL) == 0);
    cJSON *ex = cJSON_ParseWithLength(text, len);
    int per_image = cJSON_GetObjectItemCaseSensitive(ex, "floats_per_image")->valueint;
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(ex, "dim")->valueint, g->dim);
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(ex, "mflops")->valuedouble, g->mflops, 1e-6);
    float *tensors = read_floats(FIX "/tiny/tensors.f32", (size_t)n * per_image);
    float *features = read_floats(FIX "/tiny/features.f32", (size_t)n * g->dim);
    float *f = taml_malloc((size_t)g->dim * sizeof *f);
    for (int mode = 0; mode < 2; mode++) { /* the fast kernels, then the plain loops */
        taml_cnn *r;
        taml_cnn_opts o = {.batch = 1, .keep = 1, .reference = mode};
        CHECK(taml_cnn_new(&r, g, &o, &err) == 0);
        for (int i = 0; i < n; i++) {
            CHECK_MSG(taml_cnn_features(r, im[i].px, 1, im[i].h, im[i].w, im[i].c, f, &err) == 0,
                      "%s", err.msg);
            double a = agreement(f, features + (size_t)i * g->dim, (size_t)g->dim);
            CHECK_MSG(a < 1e-5, "%s features: %g", im[i].name, a);
            for (const cJSON *t = cJSON_GetObjectItemCaseSensitive(ex, "tensors")->child; t;
                 t = t->next) {
                int ti = cJSON_GetObjectItemCaseSensitive(t, "tensor")->valueint;
                int off = cJSON_GetObjectItemCaseSensitive(t, "offset")->valueint;
                taml_image_shape s = taml_image_graph_shape(g, ti);
                const float *got = taml_cnn_tensor(r, ti);
                CHECK_MSG(got != NULL, "tensor %d not kept", ti);
                double at = agreement(got, tensors + (size_t)i * per_image + off,
                                      (size_t)s.h * s.w * s.c);
                CHECK_MSG(at < 1e-5, "%s tensor %d (op %s, %s): %g", im[i].name, ti,
                          g->ops[ti - 1].name, mode ? "reference" : "fast", at);
            }
        }
        taml_cnn_free(r);
    }
    free(f);
    free(tensors);
    free(features);
    cJSON_Delete(ex);
    free(text);
    taml_module_close(m);
    free(mp);
    free_images(im, n);
}

TEST(cnn_input_pipeline_equals_tfjs_resize_and_scaling_at_96)
{
    int n;
    image *im = load_images(&n);
    const int S = 96;
    const float scale[3] = {1.0f / 255, 1.0f / 255, 1.0f / 255}, shift[3] = {0, 0, 0};
    float *want = read_floats(FIX "/inputs-96.f32", (size_t)n * S * S * 3);
    int32_t ti[4 * 96];
    double tf[8 * 96];
    taml_cnn_resize p = {.y0 = ti, .y1 = ti + S, .x0 = ti + 2 * S, .x1 = ti + 3 * S,
                         .ly = tf, .lx = tf + S, .rows = tf + 2 * S};
    float *x = taml_malloc((size_t)S * S * 3 * sizeof *x);
    for (int i = 0; i < n; i++) {
        taml_cnn_resize_plan(&p, im[i].h, im[i].w, S);
        taml_cnn_input(x, im[i].px, im[i].c, &p, scale, shift);
        double a = agreement(x, want + (size_t)i * S * S * 3, (size_t)S * S * 3);
        CHECK_MSG(a == 0, "%s: %g", im[i].name, a); /* bit for bit */
    }
    free(x);
    free(want);
    free_images(im, n);
}

TEST(cnn_converted_nsfwjs_modules_agree_with_tfjs_within_1e3)
{
    /* The modules are built by `taml embed build-defaults --candidates`
     * (npm nsfwjs and node at setup, not in the tree): each one the library
     * holds ($TAML_VISION_MODULES, else data/modules) is checked. */
    const char *dir = getenv("TAML_VISION_MODULES");
    if (!dir || !*dir) dir = "data/modules";
    int n;
    image *im = load_images(&n);
    char *text;
    size_t len;
    CHECK(taml_read_file(FIX "/index.json", &text, &len, NULL) == 0);
    cJSON *root = cJSON_ParseWithLength(text, len);
    int checked = 0, absent = 0;
    taml_err err;
    for (const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "features")->child; e;
         e = e->next) {
        const char *name = cJSON_GetObjectItemCaseSensitive(e, "module")->valuestring;
        char *mp = taml_asprintf("%s/%s.tamlm", dir, name);
        taml_module *m;
        if (!taml_is_file(mp)) {
            absent++;
            free(mp);
            continue;
        }
        CHECK_MSG(taml_module_open(&m, mp, NULL, &err) == 0, "%s", err.msg);
        const taml_image_graph *g = taml_module_image(m);
        CHECK_MSG(g != NULL, "%s is not an image module", mp);
        CHECK_EQ_INT(g->dim, cJSON_GetObjectItemCaseSensitive(e, "dim")->valueint);
        char *fp = taml_asprintf(FIX "/%s", cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring);
        float *want = read_floats(fp, (size_t)n * g->dim);
        float *f = taml_malloc((size_t)n * g->dim * sizeof *f);
        taml_cnn *r;
        CHECK(taml_cnn_new(&r, g, NULL, &err) == 0);
        for (int i = 0; i < n; i++)
            CHECK_MSG(taml_cnn_features(r, im[i].px, 1, im[i].h, im[i].w, im[i].c,
                                        f + (size_t)i * g->dim, &err) == 0,
                      "%s on %s: %s", name, im[i].name, err.msg);
        double a = agreement(f, want, (size_t)n * g->dim);
        printf("    %s: max |taml - TF.js| / max |TF.js| = %.2g\n", name, a);
        CHECK_MSG(a < 1e-3, "%s: %g", name, a);
        checked++;
        taml_cnn_free(r);
        free(f);
        free(want);
        free(fp);
        taml_module_close(m);
        free(mp);
    }
    if (absent) printf("    %d of the %d fixture modules are not in %s (not built here)\n",
                       absent, absent + checked, dir);
    cJSON_Delete(root);
    free(text);
    free_images(im, n);
}
