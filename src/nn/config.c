/* nn/config.c - the child configuration parser (contract in config.h). */
#include "nn/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"
#include "nn/kernels.h"

/* The paper's 12 (all required but "embedding"), then the optional
 * text-feature decisions. */
static const char *const NAMES[] = {"embedding", "fine_tune", "layers", "hidden_size",
                                    "activation", "normalization", "dropout", "deep_lr",
                                    "deep_l2", "wide_lr", "wide_l1", "samples",
                                    "word_ngrams", "char_ngrams", "weighting", "subwords",
                                    "buckets"};
enum { N_PAPER = TAML_CHILD_DECISIONS, N_NAMES = TAML_CHILD_DECISIONS_ALL };
static const char *const WEIGHTINGS[] = {"count", "binary", "log", "tfidf"};

int taml_child_config_ngrams(const taml_child_config *c)
{
    return c->word_ngrams > 1 || c->char_max > 0 || c->weighting != TAML_WEIGHT_COUNT;
}

int taml_child_config_is_paper(const taml_child_config *c)
{
    return !taml_child_config_ngrams(c) && !c->subwords && c->buckets == TAML_NGRAM_BUCKETS_DEFAULT;
}

/* "none" or "MIN-MAX" with 1 <= MIN <= MAX <= TAML_NGRAM_CHAR_MAX. */
static int char_range(const cJSON *v, int *lo, int *hi, taml_err *err)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (!strcmp(s, "none")) {
            *lo = *hi = 0;
            return 0;
        }
        int a = 0, b = 0, used = 0;
        if (sscanf(s, "%d-%d%n", &a, &b, &used) == 2 && (size_t)used == strlen(s) && s[0] >= '0' &&
            s[0] <= '9' && 1 <= a && a <= b && b <= TAML_NGRAM_CHAR_MAX) {
            *lo = a, *hi = b;
            return 0;
        }
    }
    return taml_err_set(err, TAML_EINVAL,
                        "config: \"char_ngrams\" must be \"none\" or \"MIN-MAX\" with 1 <= MIN <= "
                        "MAX <= %d (e.g. \"3-5\")",
                        TAML_NGRAM_CHAR_MAX);
}

/* A JSON number that does not fit a double (1e999) reads as infinity:
 * that is out of range, not "not a number". */
static int not_a_number(const cJSON *v, const char *name, const char *expected, taml_err *err)
{
    if (cJSON_IsNumber(v))
        return taml_err_set(err, TAML_EINVAL,
                            "config: \"%s\" is out of range (beyond the largest double, about "
                            "1.8e308); expected %s",
                            name, expected);
    return taml_err_set(err, TAML_EINVAL, "config: \"%s\" must be %s", name, expected);
}

static int number(const cJSON *v, const char *name, double lo, double hi, int lo_open,
                  double *out, taml_err *err)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        char expected[96];
        snprintf(expected, sizeof expected, "a number in %s%g, %g]", lo_open ? "(" : "[", lo, hi);
        return not_a_number(v, name, expected, err);
    }
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
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        char expected[96];
        snprintf(expected, sizeof expected, "a whole number in [%g, %g]", lo, hi);
        return not_a_number(v, name, expected, err);
    }
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
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0)
        return number(v, name, 0, 1e6, 0, w, err);
    return not_a_number(v, name, "a number in [0, 1e+06] or \"disable\"", err);
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

static int name_index(const char *name)
{
    for (int i = 0; i < N_NAMES; i++)
        if (!strcmp(name, NAMES[i])) return i;
    return -1;
}

/* Decision i (NAMES[i]) of value v into c. */
static int parse_field(taml_child_config *c, int i, const cJSON *v, taml_err *err)
{
    static const char *const ACTS[] = {"relu", "swish"};
    static const char *const NORMS[] = {"none", "batch_norm", "layer_norm"};
    int rc = 0;
    int64_t k = 0;
    switch (i) {
    case 0: /* embedding: null is "not given" */
        if (cJSON_IsNull(v)) return 0;
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
        return 0;
    case 1:
        if (!cJSON_IsBool(v))
            return taml_err_set(err, TAML_EINVAL, "config: \"fine_tune\" must be true or false");
        c->fine_tune = cJSON_IsTrue(v);
        return 0;
    case 2:
        rc = integer(v, "layers", 1, TAML_CHILD_MAX_LAYERS, &k, err);
        c->layers = (int)k;
        return rc;
    case 3:
        rc = integer(v, "hidden_size", 1, TAML_CHILD_MAX_HIDDEN, &k, err);
        c->hidden_size = (int)k;
        return rc;
    case 4:
        return choice(v, "activation", ACTS, 2, &c->activation, err);
    case 5:
        return choice(v, "normalization", NORMS, 3, &c->normalization, err);
    case 6:
        return number(v, "dropout", 0, 0.99, 0, &c->dropout, err);
    case 7:
        return number(v, "deep_lr", 0, 1e6, 1, &c->deep_lr, err);
    case 8:
        return weight_or_disable(v, "deep_l2", &c->deep_l2, &c->deep_disabled, err);
    case 9:
        return number(v, "wide_lr", 0, 1e6, 1, &c->wide_lr, err);
    case 10:
        return weight_or_disable(v, "wide_l1", &c->wide_l1, &c->wide_disabled, err);
    case 11:
        rc = integer(v, "samples", 1, 1e12, &k, err);
        c->samples = k;
        return rc;
    case 12:
        rc = integer(v, "word_ngrams", 1, TAML_NGRAM_WORD_MAX, &k, err);
        c->word_ngrams = (int)k;
        return rc;
    case 13:
        return char_range(v, &c->char_min, &c->char_max, err);
    case 14:
        return choice(v, "weighting", WEIGHTINGS, 4, &c->weighting, err);
    case 15:
        if (!cJSON_IsBool(v))
            return taml_err_set(err, TAML_EINVAL, "config: \"subwords\" must be true or false");
        c->subwords = cJSON_IsTrue(v);
        return 0;
    default:
        rc = integer(v, "buckets", 1, TAML_NGRAM_BUCKETS_MAX, &k, err);
        c->buckets = (int32_t)k;
        return rc;
    }
}

/* The member names of root: each known, none twice (cJSON keeps both of a
 * repeated name, and the first would win silently). */
static int check_names(const cJSON *root, taml_err *err)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, root)
    {
        if (name_index(v->string) < 0)
            return taml_err_set(err, TAML_EINVAL,
                                "config: unknown decision \"%s\"; expected embedding, fine_tune, "
                                "layers, hidden_size, activation, normalization, dropout, "
                                "deep_lr, deep_l2, wide_lr, wide_l1, samples (and optionally "
                                "word_ngrams, char_ngrams, weighting, subwords, buckets)",
                                v->string);
        for (const cJSON *w = root->child; w != v; w = w->next)
            if (!strcmp(w->string, v->string))
                return taml_err_set(err, TAML_EINVAL,
                                    "config: decision \"%s\" is given twice; give each once",
                                    v->string);
    }
    return 0;
}

/* The text-feature decisions when absent: the paper's child. */
static void config_text_defaults(taml_child_config *c)
{
    c->word_ngrams = 1;
    c->char_min = c->char_max = 0;
    c->weighting = TAML_WEIGHT_COUNT;
    c->subwords = 0;
    c->buckets = TAML_NGRAM_BUCKETS_DEFAULT;
}

static int parse_object(taml_child_config *c, const cJSON *root, taml_err *err)
{
    if (!cJSON_IsObject(root))
        return taml_err_set(err, TAML_EINVAL, "config: expected a JSON object of the 12 decisions");
    memset(c, 0, sizeof *c);
    int rc = check_names(root, err);
    if (rc) return rc;
    for (int i = 1; i < N_PAPER; i++)
        if (!cJSON_GetObjectItemCaseSensitive(root, NAMES[i]))
            return taml_err_set(err, TAML_EINVAL, "config: missing decision \"%s\"", NAMES[i]);
    config_text_defaults(c);
    for (int i = 0; i < N_NAMES && !rc; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, NAMES[i]);
        if (v) rc = parse_field(c, i, v, err);
    }
    return rc;
}

/* 1 when text[0..len) (not NUL-terminated) is only spaces and line ends. */
static int is_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') return 0;
    return 1;
}

/* root of text, or NULL with the error: the byte where the JSON breaks,
 * or the nesting limit when that is what stopped the parser. */
static cJSON *parse_json(const char *text, size_t len, taml_err *err)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (root) return root;
    size_t at = 0;
    if (taml_text_json_depth(text, len, CJSON_NESTING_LIMIT, &at) > CJSON_NESTING_LIMIT)
        taml_err_set(err, TAML_EFORMAT,
                     "config: byte %zu: arrays and objects nested deeper than %d levels, the JSON "
                     "reader's limit; a config is one flat object",
                     at, CJSON_NESTING_LIMIT);
    else if (is_blank(text, len))
        taml_err_set(err, TAML_EFORMAT, "config: empty; expected a JSON object of the 12 decisions");
    else {
        const char *p = cJSON_GetErrorPtr();
        long off = p && p >= text && p <= text + len ? (long)(p - text) : -1;
        taml_err_set(err, TAML_EFORMAT, "config: not valid JSON (near byte %ld)", off);
    }
    return NULL;
}

int taml_child_config_parse(taml_child_config *out, const char *text, size_t len, taml_err *err)
{
    cJSON *root = parse_json(text, len, err);
    if (!root) return TAML_EFORMAT;
    int rc = parse_object(out, root, err);
    cJSON_Delete(root);
    return rc;
}

int taml_child_config_decision(const char *name)
{
    return name_index(name);
}

const char *taml_child_config_decision_name(int i)
{
    TAML_ASSERT(i >= 0 && i < N_NAMES);
    return NAMES[i];
}

int taml_child_config_check_decision(const char *text, size_t len, const char *name,
                                     taml_err *err)
{
    int i = name_index(name);
    if (i < 0)
        return taml_err_set(err, TAML_EINVAL, "config: unknown decision \"%s\"", name);
    cJSON *root = parse_json(text, len, err);
    if (!root) return TAML_EFORMAT;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    taml_child_config scratch;
    memset(&scratch, 0, sizeof scratch);
    int rc = v ? parse_field(&scratch, i, v, err)
               : taml_err_set(err, TAML_EINVAL, "config: missing decision \"%s\"", name);
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
    /* the text-feature decisions, each only when not its default */
    char extra[160] = "";
    size_t x = 0;
    if (c->word_ngrams != 1)
        x += (size_t)snprintf(extra + x, sizeof extra - x, ", \"word_ngrams\": %d", c->word_ngrams);
    if (c->char_max > 0)
        x += (size_t)snprintf(extra + x, sizeof extra - x, ", \"char_ngrams\": \"%d-%d\"",
                              c->char_min, c->char_max);
    if (c->weighting != TAML_WEIGHT_COUNT)
        x += (size_t)snprintf(extra + x, sizeof extra - x, ", \"weighting\": \"%s\"",
                              WEIGHTINGS[c->weighting]);
    if (c->subwords) x += (size_t)snprintf(extra + x, sizeof extra - x, ", \"subwords\": true");
    if (c->buckets != TAML_NGRAM_BUCKETS_DEFAULT)
        x += (size_t)snprintf(extra + x, sizeof extra - x, ", \"buckets\": %lld",
                              (long long)c->buckets);
    return snprintf(buf, size,
                    "{\"embedding\": %s, \"fine_tune\": %s, \"layers\": %d, \"hidden_size\": %d, "
                    "\"activation\": \"%s\", \"normalization\": \"%s\", \"dropout\": %.17g, "
                    "\"deep_lr\": %.17g, \"deep_l2\": %s, \"wide_lr\": %.17g, \"wide_l1\": %s, "
                    "\"samples\": %lld%s}",
                    emb, c->fine_tune ? "true" : "false", c->layers, c->hidden_size,
                    ACTS[c->activation], NORMS[c->normalization], c->dropout, c->deep_lr, l2,
                    c->wide_lr, l1, (long long)c->samples, extra);
}
