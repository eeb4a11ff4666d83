/* nn/config.c - the child configuration parser (contract in config.h). */
#include "nn/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "nn/kernels.h"

static const char *const NAMES[] = {"embedding", "fine_tune", "layers", "hidden_size",
                                    "activation", "normalization", "dropout", "deep_lr",
                                    "deep_l2", "wide_lr", "wide_l1", "samples"};
enum { N_NAMES = 12 };

static int number(const cJSON *v, const char *name, double lo, double hi, int lo_open,
                  double *out, taml_err *err)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return taml_err_set(err, TAML_EINVAL, "config: \"%s\" must be a number", name);
    double x = v->valuedouble;
    if ((lo_open ? !(x > lo) : !(x >= lo)) || !(x <= hi))
        return taml_err_set(err, TAML_EINVAL, "config: \"%s\" is %g; expected a number in %s%g, %g]",
                            name, x, lo_open ? "(" : "[", lo, hi);
    *out = x;
    return 0;
}

static int integer(const cJSON *v, const char *name, double lo, double hi, int64_t *out,
                   taml_err *err)
{
    double x = 0;
    int rc = number(v, name, lo, hi, 0, &x, err);
    if (rc) return rc;
    if (x != floor(x))
        return taml_err_set(err, TAML_EINVAL, "config: \"%s\" is %g; expected a whole number",
                            name, x);
    *out = (int64_t)x;
    return 0;
}

/* A regulariser weight or "disable". */
static int weight_or_disable(const cJSON *v, const char *name, double *w, int *disabled,
                             taml_err *err)
{
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "disable"))
            return taml_err_set(err, TAML_EINVAL,
                                "config: \"%s\" is \"%s\"; expected a number >= 0 or \"disable\"",
                                name, v->valuestring);
        *disabled = 1;
        *w = 0;
        return 0;
    }
    *disabled = 0;
    int rc = number(v, name, 0, 1e6, 0, w, err);
    if (rc) taml_err_set(err, TAML_EINVAL, "config: \"%s\" must be a number >= 0 or \"disable\"", name);
    return rc;
}

static int choice(const cJSON *v, const char *name, const char *const *opts, int n, int *out,
                  taml_err *err)
{
    if (cJSON_IsString(v))
        for (int i = 0; i < n; i++)
            if (!strcmp(v->valuestring, opts[i])) {
                *out = i;
                return 0;
            }
    char list[256] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "",
                 opts[i]);
    return taml_err_set(err, TAML_EINVAL, "config: \"%s\" must be one of %s", name, list);
}

static int parse_object(taml_child_config *c, const cJSON *root, taml_err *err)
{
    static const char *const ACTS[] = {"relu", "swish"};
    static const char *const NORMS[] = {"none", "batch_norm", "layer_norm"};
    if (!cJSON_IsObject(root))
        return taml_err_set(err, TAML_EINVAL, "config: expected a JSON object of the 12 decisions");
    memset(c, 0, sizeof *c);
    const cJSON *v;
    cJSON_ArrayForEach(v, root)
    {
        int known = 0;
        for (int i = 0; i < N_NAMES; i++) known |= !strcmp(v->string, NAMES[i]);
        if (!known)
            return taml_err_set(err, TAML_EINVAL,
                                "config: unknown decision \"%s\"; expected embedding, fine_tune, "
                                "layers, hidden_size, activation, normalization, dropout, "
                                "deep_lr, deep_l2, wide_lr, wide_l1, samples",
                                v->string);
    }
    for (int i = 1; i < N_NAMES; i++)
        if (!cJSON_GetObjectItemCaseSensitive(root, NAMES[i]))
            return taml_err_set(err, TAML_EINVAL, "config: missing decision \"%s\"", NAMES[i]);
    int rc = 0;
    int64_t k;
    v = cJSON_GetObjectItemCaseSensitive(root, "embedding");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || !v->valuestring[0] ||
            strlen(v->valuestring) >= sizeof c->embedding)
            return taml_err_set(err, TAML_EINVAL,
                                "config: \"embedding\" must be a module name or path (1..%zu bytes)",
                                sizeof c->embedding - 1);
        for (const unsigned char *q = (const unsigned char *)v->valuestring; *q; q++)
            if (*q < 0x20 || *q == 0x7f)
                return taml_err_set(err, TAML_EINVAL,
                                    "config: \"embedding\" has a control character (byte %d at "
                                    "offset %td); a module name or path has none",
                                    *q, (const char *)q - v->valuestring);
        strcpy(c->embedding, v->valuestring);
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "fine_tune");
    if (!cJSON_IsBool(v))
        return taml_err_set(err, TAML_EINVAL, "config: \"fine_tune\" must be true or false");
    c->fine_tune = cJSON_IsTrue(v);
    if ((rc = integer(cJSON_GetObjectItemCaseSensitive(root, "layers"), "layers", 1,
                      TAML_CHILD_MAX_LAYERS, &k, err)))
        return rc;
    c->layers = (int)k;
    if ((rc = integer(cJSON_GetObjectItemCaseSensitive(root, "hidden_size"), "hidden_size", 1,
                      TAML_CHILD_MAX_HIDDEN, &k, err)))
        return rc;
    c->hidden_size = (int)k;
    if ((rc = choice(cJSON_GetObjectItemCaseSensitive(root, "activation"), "activation", ACTS, 2,
                     &c->activation, err)))
        return rc;
    if ((rc = choice(cJSON_GetObjectItemCaseSensitive(root, "normalization"), "normalization",
                     NORMS, 3, &c->normalization, err)))
        return rc;
    double d = 0;
    if ((rc = number(cJSON_GetObjectItemCaseSensitive(root, "dropout"), "dropout", 0, 0.99, 0, &d,
                     err)))
        return rc;
    c->dropout = d;
    if ((rc = number(cJSON_GetObjectItemCaseSensitive(root, "deep_lr"), "deep_lr", 0, 1e6, 1,
                     &c->deep_lr, err)))
        return rc;
    if ((rc = weight_or_disable(cJSON_GetObjectItemCaseSensitive(root, "deep_l2"), "deep_l2",
                                &c->deep_l2, &c->deep_disabled, err)))
        return rc;
    if ((rc = number(cJSON_GetObjectItemCaseSensitive(root, "wide_lr"), "wide_lr", 0, 1e6, 1,
                     &c->wide_lr, err)))
        return rc;
    if ((rc = weight_or_disable(cJSON_GetObjectItemCaseSensitive(root, "wide_l1"), "wide_l1",
                                &c->wide_l1, &c->wide_disabled, err)))
        return rc;
    if ((rc = integer(cJSON_GetObjectItemCaseSensitive(root, "samples"), "samples", 1, 1e12, &k,
                      err)))
        return rc;
    c->samples = k;
    return 0;
}

int taml_child_config_parse(taml_child_config *out, const char *text, size_t len, taml_err *err)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        return taml_err_set(err, TAML_EFORMAT, "config: not valid JSON (near byte %ld)", off);
    }
    int rc = parse_object(out, root, err);
    cJSON_Delete(root);
    return rc;
}

int taml_child_config_load(taml_child_config *out, const char *path, taml_err *err)
{
    char *data = NULL;
    size_t size = 0;
    int rc = taml_read_file(path, &data, &size, err);
    if (rc == 0) {
        rc = taml_child_config_parse(out, data, size, err);
        if (rc) taml_err_prefix(err, "%s", path);
    }
    free(data);
    return rc;
}

int taml_child_config_format(const taml_child_config *c, char *buf, size_t size)
{
    static const char *const ACTS[] = {"relu", "swish"};
    static const char *const NORMS[] = {"none", "batch_norm", "layer_norm"};
    /* the name has no control characters (the parser refuses them), so JSON
     * escapes at most double each byte: '"' and '\\' */
    char l2[32], l1[32], emb[2 * sizeof c->embedding + 3] = "null";
    if (c->deep_disabled) snprintf(l2, sizeof l2, "\"disable\"");
    else snprintf(l2, sizeof l2, "%.17g", c->deep_l2);
    if (c->wide_disabled) snprintf(l1, sizeof l1, "\"disable\"");
    else snprintf(l1, sizeof l1, "%.17g", c->wide_l1);
    if (c->embedding[0]) {
        cJSON *s = cJSON_CreateString(c->embedding);
        char *p = cJSON_PrintUnformatted(s);
        snprintf(emb, sizeof emb, "%s", p);
        cJSON_free(p);
        cJSON_Delete(s);
    }
    return snprintf(buf, size,
                    "{\"embedding\": %s, \"fine_tune\": %s, \"layers\": %d, \"hidden_size\": %d, "
                    "\"activation\": \"%s\", \"normalization\": \"%s\", \"dropout\": %.17g, "
                    "\"deep_lr\": %.17g, \"deep_l2\": %s, \"wide_lr\": %.17g, \"wide_l1\": %s, "
                    "\"samples\": %lld}",
                    emb, c->fine_tune ? "true" : "false", c->layers, c->hidden_size,
                    ACTS[c->activation], NORMS[c->normalization], c->dropout, c->deep_lr, l2,
                    c->wide_lr, l1, (long long)c->samples);
}
