/* fuzz/fuzz_cnn.c - fuzz target for the CNN importer (src/embed/import_cnn.c,
 * `taml embed import --format cnn`), the image graph's checks
 * (src/embed/image_graph.c) and the runner (src/nn/cnn.c).
 *
 * One input = a cnn.json text. The target writes a weights file of exactly
 * the floats the JSON's "weights_floats" asks for (when it is a number up to
 * 2^20; else an empty one), so that mutations get past the size check to
 * the graph's, imports, and when that works opens the module (which must
 * open: the importer wrote it) and, for a graph small enough (input at most
 * 64 x 64, at most 20 MFLOPs), runs the features of a 9 x 7 grey image
 * through the fast runner and the reference runner, which must agree.
 * Every refusal must be a negative status with a message naming the JSON
 * (or the weights) file; sanitizers catch the rest.
 *
 * Two builds:
 *   make fuzz               -> build/fuzz/fuzz_cnn FILE|DIR...: replays a corpus
 *                              (fuzz/corpus/cnn/) and prints a tally
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_cnn.c src/core/[a-z]*.c src/data/tokenise.c src/embed/[a-z]*.c \
 *     src/nn/blas.c src/nn/cnn.c src/nn/cnn_kernels.c \
 *     -lcjson -lutf8proc -lz -lm -ldl -lpthread -o fuzz_cnn && ./fuzz_cnn -max_total_time=300 fuzz/corpus/cnn
 *                            -> coverage-guided fuzzing with libFuzzer
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "embed/import.h"
#include "embed/module.h"
#include "nn/cnn.h"
#include "replay.h"

static char *root;

static void setup(void)
{
    if (root) return;
    char tmpl[] = "/tmp/taml-fuzz-cnn-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    root = taml_strdup(tmpl);
}

static void put(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size)) abort();
    fclose(f);
}

/* The weights the JSON asks for (0 when it does not say, or asks too many):
 * small values, so that activations stay finite. */
static size_t wanted_floats(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "weights_floats");
    size_t want = 0;
    if (cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble <= (1 << 20))
        want = (size_t)n->valuedouble;
    cJSON_Delete(j);
    return want;
}

static void run_graph(const taml_image_graph *g)
{
    if (g->input_size > 64 || g->mflops > 20 || g->min_input > 7) return;
    static uint8_t img[9 * 7];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 37);
    float *a = malloc((size_t)g->dim * sizeof *a), *b = malloc((size_t)g->dim * sizeof *b);
    taml_err err;
    for (int ref = 0; ref < 2; ref++) {
        taml_cnn *r;
        taml_cnn_opts o = {.batch = 1, .reference = ref};
        if (taml_cnn_new(&r, g, &o, &err)) abort();
        if (taml_cnn_features(r, img, 1, 9, 7, 1, ref ? b : a, &err)) abort();
        taml_cnn_free(r);
    }
    for (int32_t i = 0; i < g->dim; i++) {
        double d = fabs((double)a[i] - b[i]), s = 1 + fabs((double)b[i]);
        if (isfinite(b[i]) && !(d <= 1e-3 * s)) abort(); /* fast and reference agree */
    }
    free(a);
    free(b);
}

/* Returns 1 when the input gave a module, 0 when it was refused. */
static int run_one(const uint8_t *data, size_t size)
{
    setup();
    char *jp = taml_path_join(root, "cnn.json"), *wp = taml_path_join(root, "cnn.f32");
    char *mp = taml_path_join(root, "out.tamlm");
    put(jp, data, size);
    size_t n = wanted_floats(data, size);
    float *w = malloc((n ? n : 1) * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = (float)((int)(i % 11) - 5) * 0.05f;
    put(wp, w, n * sizeof *w);
    free(w);
    taml_err err;
    taml_err_clear(&err);
    taml_cnn_import_opts o = {.name = "fuzz"};
    int rc = taml_module_import_cnn(jp, &o, mp, NULL, &err);
    if (rc < 0 && (err.msg[0] == '\0' || err.code != rc ||
                   (strncmp(err.msg, jp, strlen(jp)) && strncmp(err.msg, wp, strlen(wp)))))
        abort(); /* a refusal names the file */
    if (rc == 0) {
        taml_module *m;
        if (taml_module_open(&m, mp, NULL, &err)) abort(); /* the importer wrote it */
        if (taml_module_kind(m) != TAML_MODULE_IMAGE) abort();
        run_graph(taml_module_image(m));
        taml_module_close(m);
    }
    free(jp);
    free(wp);
    free(mp);
    return rc == 0;
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
static void cleanup(void) { taml_fuzz_remove_tree(root); }

const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays fuzz inputs through the CNN importer, the image graph and its runner",
    .accepted = "gave a module",
    .run_one = run_one,
    .cleanup = cleanup,
};
#endif
