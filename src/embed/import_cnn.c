/* embed/import_cnn.c - `taml embed import cnn.json --format cnn`: a CNN's
 * layer graph (JSON, "taml-cnn-1", written by scripts/modules/ from nsfwjs's
 * models) and its float32 weights become an image module (see import.h; the
 * JSON's fields are listed in docs/modules.md and IMAGE-SPEC's "The
 * conversion's output"). Every field is checked here, by name; the graph's
 * shapes then by taml_image_graph_resolve, naming the op. */
#include "embed/import.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/util.h"
#include "embed/image_graph.h"

#define FORMAT_NAME "taml-cnn-1"

/* Where a field is: the file, and the op when inside one. */
typedef struct where {
    const char *path;
    int32_t op;       /* -1: the top level */
    const char *name; /* the op's name, when known */
} where;

static int fail(taml_err *err, const where *at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(taml_err *err, const where *at, const char *field, const char *fmt, ...)
{
    char msg[TAML_ERR_MSG / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at->op < 0) return taml_err_set(err, TAML_EFORMAT, "%s: %s: %s", at->path, field, msg);
    return taml_err_set(err, TAML_EFORMAT, "%s: op %d (%.200s): %s: %s", at->path, (int)at->op,
                        at->name ? at->name : "?", field, msg);
}

/* Refuses members of obj not in keys (NULL-terminated). */
static int known_keys(const cJSON *obj, const char *const *keys, const where *at,
                      const char *what, taml_err *err)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *k = keys; *k && !ok; k++) ok = !strcmp(c->string, *k);
        if (ok) continue;
        char list[512] = "";
        for (const char *const *k = keys; *k; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     k == keys ? "" : ", ", *k);
        return fail(err, at, c->string, "unknown member of %s (expected: %s)", what, list);
    }
    return TAML_OK;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* An integer in [lo, hi]. */
static int get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   const where *at, taml_err *err)
{
    const cJSON *v = member(obj, key);
    if (!v) return fail(err, at, key, "missing (an integer %lld .. %lld)", (long long)lo,
                        (long long)hi);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d == floor(d)) || d < (double)lo || d > (double)hi)
        return fail(err, at, key, "expected an integer %lld .. %lld", (long long)lo,
                    (long long)hi);
    *out = (int64_t)d;
    return TAML_OK;
}

/* An array of exactly n integers in [lo, hi]. */
static int get_ints(const cJSON *obj, const char *key, int n, int64_t lo, int64_t hi,
                    int32_t *out, const char *shape, const where *at, taml_err *err)
{
    const cJSON *v = member(obj, key);
    if (!v) return fail(err, at, key, "missing (%s)", shape);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)
        return fail(err, at, key, "expected %s: %d integers %lld .. %lld", shape, n,
                    (long long)lo, (long long)hi);
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!(d == floor(d)) || d < (double)lo || d > (double)hi)
            return fail(err, at, key, "element %d: expected %s: %d integers %lld .. %lld", i,
                        shape, n, (long long)lo, (long long)hi);
        out[i] = (int32_t)d;
    }
    return TAML_OK;
}

static int get_floats(const cJSON *obj, const char *key, int n, float *out, const where *at,
                      taml_err *err)
{
    const cJSON *v = member(obj, key);
    if (!v || !cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)
        return fail(err, at, key, "%s (expected %d finite numbers, one per channel)",
                    v ? "not a list of the right length" : "missing", n);
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) ||
            !isfinite((float)e->valuedouble))
            return fail(err, at, key, "element %d: expected a finite number", i);
        out[i] = (float)e->valuedouble;
    }
    return TAML_OK;
}

/* A string (non-empty unless may_be_empty); NULL when absent and optional. */
static int get_str(const cJSON *obj, const char *key, int required, const char **out,
                   const where *at, taml_err *err)
{
    const cJSON *v = member(obj, key);
    *out = NULL;
    if (!v && !required) return TAML_OK;
    if (!v) return fail(err, at, key, "missing (a string)");
    if (!cJSON_IsString(v)) return fail(err, at, key, "expected a string");
    size_t n = strlen(v->valuestring), bad = taml_utf8_check(v->valuestring, n);
    if (bad != n) return fail(err, at, key, "not UTF-8 (byte %zu)", bad + 1);
    *out = v->valuestring;
    return TAML_OK;
}

static const char *const conv_keys[] = {"op", "name", "in", "k", "s", "pad", "cin", "cout",
                                        "act", "w", "b", NULL};
static const char *const dw_keys[] = {"op", "name", "in", "k", "s", "pad", "c", "act", "w", "b",
                                      NULL};
static const char *const pool_keys[] = {"op", "name", "in", "k", "s", "pad", NULL};
static const char *const pad_keys[] = {"op", "name", "in", "pad", NULL};
static const char *const add_keys[] = {"op", "name", "in", "act", NULL};
static const char *const concat_keys[] = {"op", "name", "in", NULL};

/* One element of "ops" into op k of g. */
static int parse_op(const cJSON *j, int32_t k, taml_image_graph *g, const char *path,
                    taml_err *err)
{
    taml_image_op *op = &g->ops[k];
    where at = {path, k, NULL};
    if (!cJSON_IsObject(j)) return fail(err, &at, "ops", "expected an object");
    const char *name, *kind;
    int rc;
    if ((rc = get_str(j, "name", 1, &name, &at, err))) return rc;
    if (strlen(name) > TAML_IMAGE_MAX_NAME)
        return fail(err, &at, "name", "longer than %d bytes", TAML_IMAGE_MAX_NAME);
    op->name = taml_strdup(name);
    at.name = op->name;
    if ((rc = get_str(j, "op", 1, &kind, &at, err))) return rc;
    int t = taml_image_op_parse(kind);
    if (t < 0)
        return fail(err, &at, "op", "unknown op '%.64s' (conv, dwconv, maxpool, avgpool, pad, "
                    "add, concat)", kind);
    op->kind = (taml_image_op_kind)t;
    static const char *const *const keys[TAML_IMAGE_N_OPS] = {
        conv_keys, dw_keys, pool_keys, pool_keys, pad_keys, add_keys, concat_keys};
    if ((rc = known_keys(j, keys[t], &at, "this op", err))) return rc;
    const cJSON *in = member(j, "in");
    int n_in = in && cJSON_IsArray(in) ? cJSON_GetArraySize(in) : -1;
    if (n_in < 1 || n_in > TAML_IMAGE_MAX_IN)
        return fail(err, &at, "in", "%s (a list of 1 .. %d tensor indices)",
                    in ? "not a list of the right length" : "missing", TAML_IMAGE_MAX_IN);
    op->in = taml_malloc((size_t)n_in * sizeof *op->in);
    op->n_in = n_in;
    if ((rc = get_ints(j, "in", n_in, 0, k, op->in, "the tensors this op reads (0: the input, "
                       "j + 1: op j's output, j before this op)", &at, err)))
        return rc;
    int win = t == TAML_IMAGE_CONV || t == TAML_IMAGE_DWCONV || t == TAML_IMAGE_MAXPOOL ||
              t == TAML_IMAGE_AVGPOOL;
    int32_t two[2];
    if (win) {
        if ((rc = get_ints(j, "k", 2, 1, TAML_IMAGE_MAX_KERNEL, two, "[kh, kw]", &at, err)))
            return rc;
        op->kh = two[0];
        op->kw = two[1];
        if ((rc = get_ints(j, "s", 2, 1, TAML_IMAGE_MAX_KERNEL, two, "[sh, sw]", &at, err)))
            return rc;
        op->sh = two[0];
        op->sw = two[1];
    }
    if (win || t == TAML_IMAGE_PAD)
        if ((rc = get_ints(j, "pad", 4, 0, TAML_IMAGE_MAX_PAD, op->pad,
                           "[top, bottom, left, right]", &at, err)))
            return rc;
    if (t == TAML_IMAGE_CONV || t == TAML_IMAGE_DWCONV || t == TAML_IMAGE_ADD) {
        const char *act;
        if ((rc = get_str(j, "act", 0, &act, &at, err))) return rc;
        int a = act ? taml_image_act_parse(act) : TAML_IMAGE_ACT_NONE;
        if (a < 0) return fail(err, &at, "act", "unknown '%.64s' (none, relu, relu6)", act);
        op->act = (taml_image_act)a;
    }
    int64_t v;
    if (t == TAML_IMAGE_CONV) {
        if ((rc = get_int(j, "cin", 1, TAML_IMAGE_MAX_CHANNELS, &v, &at, err))) return rc;
        op->cin = (int32_t)v;
        if ((rc = get_int(j, "cout", 1, TAML_IMAGE_MAX_CHANNELS, &v, &at, err))) return rc;
        op->cout = (int32_t)v;
    } else if (t == TAML_IMAGE_DWCONV) {
        if ((rc = get_int(j, "c", 1, TAML_IMAGE_MAX_CHANNELS, &v, &at, err))) return rc;
        op->cin = op->cout = (int32_t)v;
    }
    if (t == TAML_IMAGE_CONV || t == TAML_IMAGE_DWCONV) {
        if ((rc = get_int(j, "w", 0, g->n_weights, &op->w_off, &at, err))) return rc;
        if ((rc = get_int(j, "b", 0, g->n_weights, &op->b_off, &at, err))) return rc;
    }
    return TAML_OK;
}

static const char *const top_keys[] = {"format", "network", "width", "source", "license",
                                       "trained_on", "cut", "input", "pooling", "ops",
                                       "output", "weights_floats", NULL};

/* The text fields a module keeps (borrowed from the parsed JSON). */
typedef struct cnn_text {
    const char *network, *source, *license, *trained_on, *cut;
    double width; /* 0: not given */
} cnn_text;

static int parse_graph(const cJSON *root, taml_image_graph *g, cnn_text *tx, const char *path,
                       taml_err *err)
{
    where at = {path, -1, NULL};
    int rc;
    if (!cJSON_IsObject(root)) return fail(err, &at, "top level", "expected one JSON object");
    if ((rc = known_keys(root, top_keys, &at, "the model", err))) return rc;
    const char *fmt;
    if ((rc = get_str(root, "format", 1, &fmt, &at, err))) return rc;
    if (strcmp(fmt, FORMAT_NAME))
        return fail(err, &at, "format", "'%.64s', this taml reads \"" FORMAT_NAME "\"", fmt);
    if ((rc = get_str(root, "network", 1, &tx->network, &at, err)) ||
        (rc = get_str(root, "source", 1, &tx->source, &at, err)) ||
        (rc = get_str(root, "license", 1, &tx->license, &at, err)) ||
        (rc = get_str(root, "trained_on", 1, &tx->trained_on, &at, err)) ||
        (rc = get_str(root, "cut", 1, &tx->cut, &at, err)))
        return rc;
    const cJSON *wd = member(root, "width");
    if (wd && (!cJSON_IsNumber(wd) || !(wd->valuedouble > 0) || !isfinite(wd->valuedouble)))
        return fail(err, &at, "width", "expected a positive number (the width multiplier)");
    tx->width = wd ? wd->valuedouble : 0;
    int64_t v;
    if ((rc = get_int(root, "weights_floats", 0, INT64_C(1) << 34, &v, &at, err))) return rc;
    g->n_weights = v;
    const cJSON *input = member(root, "input");
    if (!input || !cJSON_IsObject(input))
        return fail(err, &at, "input", "%s (an object: size, min_input, scale, shift)",
                    input ? "not an object" : "missing");
    static const char *const input_keys[] = {"size", "min_input", "scale", "shift", NULL};
    if ((rc = known_keys(input, input_keys, &at, "input", err))) return rc;
    if ((rc = get_int(input, "size", 1, TAML_IMAGE_MAX_SIZE, &v, &at, err))) return rc;
    g->input_size = (int32_t)v;
    if ((rc = get_int(input, "min_input", 1, g->input_size, &v, &at, err))) return rc;
    g->min_input = (int32_t)v;
    if ((rc = get_floats(input, "scale", 3, g->scale, &at, err)) ||
        (rc = get_floats(input, "shift", 3, g->shift, &at, err)))
        return rc;
    const cJSON *pool = member(root, "pooling");
    if (!pool || !cJSON_IsObject(pool))
        return fail(err, &at, "pooling", "%s (an object: {\"kind\": \"global\"} or {\"kind\": "
                    "\"grid\", \"grid\": G})", pool ? "not an object" : "missing");
    static const char *const pool_k[] = {"kind", "grid", NULL};
    if ((rc = known_keys(pool, pool_k, &at, "pooling", err))) return rc;
    const char *pk;
    if ((rc = get_str(pool, "kind", 1, &pk, &at, err))) return rc;
    if (!strcmp(pk, "global")) {
        g->pooling = TAML_IMAGE_POOL_GLOBAL;
        g->grid = 1;
        if (member(pool, "grid")) return fail(err, &at, "grid", "not for global pooling");
    } else if (!strcmp(pk, "grid")) {
        g->pooling = TAML_IMAGE_POOL_GRID;
        if ((rc = get_int(pool, "grid", 1, 1024, &v, &at, err))) return rc;
        g->grid = (int32_t)v;
    } else {
        return fail(err, &at, "kind", "unknown pooling '%.64s' (global, grid)", pk);
    }
    const cJSON *ops = member(root, "ops");
    int n = ops && cJSON_IsArray(ops) ? cJSON_GetArraySize(ops) : 0;
    if (n < 1 || n > TAML_IMAGE_MAX_OPS)
        return fail(err, &at, "ops", "%s (a list of 1 .. %d ops)",
                    ops ? "not a list of the right length" : "missing", TAML_IMAGE_MAX_OPS);
    taml_image_graph_alloc_ops(g, n);
    int32_t k = 0;
    for (const cJSON *o = ops->child; o; o = o->next, k++)
        if ((rc = parse_op(o, k, g, path, err))) return rc;
    if ((rc = get_int(root, "output", 1, n, &v, &at, err))) return rc;
    g->output = (int32_t)v;
    return TAML_OK;
}

/* The weights file: exactly n_weights little-endian floats, all finite. */
static int read_weights(const char *mpath, const taml_image_graph *g, float **out, taml_err *err)
{
    char *data = NULL;
    size_t size = 0;
    int rc = taml_read_file(mpath, &data, &size, err);
    if (rc) {
        char msg[TAML_ERR_MSG];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : mpath);
        return taml_err_set(err, rc, "%s (give the weights with --matrix)", msg);
    }
    if (size != (size_t)g->n_weights * 4) {
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: %zu bytes; the graph's weights_floats is %lld (%lld bytes): "
                          "wrong weights file or truncated",
                          mpath, size, (long long)g->n_weights, (long long)g->n_weights * 4);
        free(data);
        return rc;
    }
    float *w = taml_aligned(size);
    memcpy(w, data, size); /* the host is little-endian (module.c refuses others) */
    free(data);
    for (int64_t i = 0; i < g->n_weights; i++)
        if (!isfinite(w[i])) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s: offset %lld: float %lld is %s", mpath,
                              (long long)i * 4, (long long)i, isnan(w[i]) ? "NaN" : "infinite");
            free(w);
            return rc;
        }
    *out = w;
    return TAML_OK;
}

static void fmt3(char *buf, size_t cap, const float *v)
{
    snprintf(buf, cap, "%.9g,%.9g,%.9g", (double)v[0], (double)v[1], (double)v[2]);
}

int taml_module_import_cnn(const char *path, const taml_cnn_import_opts *o, const char *out_path,
                           taml_cnn_import_stats *stats, taml_err *err)
{
    double t0 = taml_now();
    char *text = NULL, *mpath = NULL;
    size_t len = 0;
    float *weights = NULL;
    cJSON *root = NULL;
    taml_module_writer *w = NULL;
    taml_image_graph g;
    cnn_text tx = {0};
    const char *end = NULL;
    char buf[512], pool[32];
    const char *keys[16], *vals[16];
    char size_s[16], min_s[16], scale_s[64], shift_s[64], dim_s[16], mflops_s[32], width_s[32];
    char ops_s[16], weights_s[24];
    int n = 0;
    taml_image_graph_init(&g); /* all before the first goto out */
    int rc = taml_read_file(path, &text, &len, err);
    if (rc) goto out;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        const char *bad = end ? end : cJSON_GetErrorPtr();
        int line = 1;
        for (const char *q = text; bad && q < bad && q < text + len; q++) line += *q == '\n';
        rc = taml_err_set(err, TAML_EFORMAT, "%s:%d: not valid JSON here (a taml-cnn-1 model "
                          "is one JSON object)", path, line);
        goto out;
    }
    if ((rc = parse_graph(root, &g, &tx, path, err))) goto out;
    if (o->matrix_path) {
        mpath = taml_strdup(o->matrix_path);
    } else {
        const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
        mpath = taml_asprintf("%.*s.f32", (int)stem, path);
    }
    if ((rc = read_weights(mpath, &g, &weights, err))) goto out;
    g.weights = weights;
    if ((rc = taml_image_graph_resolve(&g, path, err))) goto out;
    w = taml_module_writer_new_image(&g, o->name);
    keys[n] = "network", vals[n++] = tx.network;
    if (tx.width > 0) {
        snprintf(width_s, sizeof width_s, "%.9g", tx.width);
        keys[n] = "width", vals[n++] = width_s;
    }
    keys[n] = "source", vals[n++] = o->source ? o->source : tx.source;
    keys[n] = "license", vals[n++] = o->license ? o->license : tx.license;
    keys[n] = "trained_on", vals[n++] = tx.trained_on;
    keys[n] = "cut", vals[n++] = tx.cut;
    snprintf(size_s, sizeof size_s, "%d", (int)g.input_size);
    keys[n] = "input_size", vals[n++] = size_s;
    snprintf(min_s, sizeof min_s, "%d", (int)g.min_input);
    keys[n] = "min_input", vals[n++] = min_s;
    fmt3(scale_s, sizeof scale_s, g.scale);
    keys[n] = "input_scale", vals[n++] = scale_s;
    fmt3(shift_s, sizeof shift_s, g.shift);
    keys[n] = "input_shift", vals[n++] = shift_s;
    keys[n] = "pooling", vals[n++] = taml_image_pooling_describe(&g, pool, sizeof pool);
    snprintf(dim_s, sizeof dim_s, "%d", (int)g.dim);
    keys[n] = "dim", vals[n++] = dim_s;
    snprintf(mflops_s, sizeof mflops_s, "%.2f", g.mflops);
    keys[n] = "mflops", vals[n++] = mflops_s;
    snprintf(ops_s, sizeof ops_s, "%d", (int)g.n_ops);
    keys[n] = "ops", vals[n++] = ops_s;
    snprintf(weights_s, sizeof weights_s, "%lld", (long long)g.n_weights);
    keys[n] = "weights", vals[n++] = weights_s;
    keys[n] = "import_format", vals[n++] = "cnn";
    for (int i = 0; i < n && rc == TAML_OK; i++) rc = taml_module_writer_set(w, keys[i], vals[i], err);
    if (rc) taml_err_prefix(err, "%s", path);
    for (int i = 0; i < o->n_meta && rc == TAML_OK; i++) {
        const char *kv = o->meta[i], *eq = strchr(kv, '=');
        if (!eq) {
            rc = taml_err_set(err, TAML_EINVAL, "metadata '%s' is not key=value", kv);
            break;
        }
        snprintf(buf, sizeof buf, "%.*s", (int)(eq - kv), kv);
        rc = taml_module_writer_set(w, buf, eq + 1, err);
    }
    if (rc == TAML_OK) rc = taml_module_writer_finish(w, out_path, err);
    if (rc == TAML_OK && stats) {
        stats->ops = g.n_ops;
        stats->dim = g.dim;
        stats->input_size = g.input_size;
        stats->weights = g.n_weights;
        stats->mflops = g.mflops;
        stats->seconds = taml_now() - t0;
    }
out:
    taml_module_writer_free(w);
    taml_image_graph_deinit(&g);
    cJSON_Delete(root);
    free(weights);
    free(mpath);
    free(text);
    return rc;
}
