/* space/space.c - the search space as data (see space.h): the paper's default
 * space, JSON spaces with validation, the canonical description and its
 * fingerprint, differences between spaces, and actions <-> child config. */
#include "space/space.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"

typedef struct decision {
    char *name;
    int n;
    taml_choice *choices; /* (n) */
} decision;

struct taml_space {
    int n;
    decision *d; /* (n) */
    int *offset; /* (n + 1) */
};

static const char *const PAPER_NAMES[TAML_SPACE_PAPER_DECISIONS] = {
    "embedding", "fine_tune", "layers", "hidden_size", "activation", "normalization",
    "dropout",   "deep_lr",   "deep_l2", "wide_lr",    "wide_l1",    "samples"};

/* ---- building ---------------------------------------------------------- */

static taml_space *space_alloc(int n)
{
    taml_space *s = taml_calloc(1, sizeof *s);
    s->n = n;
    s->d = taml_calloc((size_t)(n > 0 ? n : 1), sizeof *s->d);
    s->offset = taml_calloc((size_t)n + 1, sizeof *s->offset);
    return s;
}

static void space_finish(taml_space *s)
{
    s->offset[0] = 0;
    for (int d = 0; d < s->n; d++) s->offset[d + 1] = s->offset[d] + s->d[d].n;
}

void taml_space_free(taml_space *s)
{
    if (!s) return;
    for (int d = 0; d < s->n; d++) {
        for (int c = 0; c < s->d[d].n; c++) free((char *)s->d[d].choices[c].str);
        free(s->d[d].choices);
        free(s->d[d].name);
    }
    free(s->d);
    free(s->offset);
    free(s);
}

taml_space *taml_space_clone(const taml_space *s)
{
    taml_space *o = space_alloc(s->n);
    for (int d = 0; d < s->n; d++) {
        o->d[d].name = taml_strdup(s->d[d].name);
        o->d[d].n = s->d[d].n;
        o->d[d].choices = taml_calloc((size_t)s->d[d].n, sizeof(taml_choice));
        for (int c = 0; c < s->d[d].n; c++) {
            o->d[d].choices[c] = s->d[d].choices[c];
            if (s->d[d].choices[c].str) o->d[d].choices[c].str = taml_strdup(s->d[d].choices[c].str);
        }
    }
    space_finish(o);
    return o;
}

int taml_space_choice_equal(const taml_choice *a, const taml_choice *b)
{
    if (a->kind != b->kind) return 0;
    switch (a->kind) {
    case TAML_CHOICE_NUMBER: return a->num == b->num;
    case TAML_CHOICE_STRING: return strcmp(a->str, b->str) == 0;
    case TAML_CHOICE_BOOL: return a->boolean == b->boolean;
    }
    return 0;
}

void taml_space_choice_text(const taml_choice *c, char *buf, size_t cap)
{
    switch (c->kind) {
    case TAML_CHOICE_NUMBER: snprintf(buf, cap, "%.17g", c->num); break;
    case TAML_CHOICE_STRING: snprintf(buf, cap, "\"%s\"", c->str); break;
    case TAML_CHOICE_BOOL: snprintf(buf, cap, "%s", c->boolean ? "true" : "false"); break;
    }
    /* %.17g prints 0.001 as 0.0010000000000000002; prefer the shortest text
     * that reads back to the same double. */
    if (c->kind == TAML_CHOICE_NUMBER) {
        for (int p = 1; p <= 17; p++) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%.*g", p, c->num);
            if (strtod(tmp, NULL) == c->num) {
                snprintf(buf, cap, "%s", tmp);
                break;
            }
        }
    }
}

/* Checks decision d (choices already filled) for duplicates. */
static int check_decision(const taml_space *s, int d, const char *origin, taml_err *err)
{
    const decision *dd = &s->d[d];
    for (int e = 0; e < d; e++)
        if (!strcmp(s->d[e].name, dd->name))
            return taml_err_set(err, TAML_EINVAL,
                                "%s: decision %d '%s' repeats the name of decision %d; "
                                "each decision needs its own name",
                                origin, d + 1, dd->name, e + 1);
    for (int i = 0; i < dd->n; i++)
        for (int j = 0; j < i; j++)
            if (taml_space_choice_equal(&dd->choices[i], &dd->choices[j])) {
                char t[128];
                taml_space_choice_text(&dd->choices[i], t, sizeof t);
                return taml_err_set(err, TAML_EINVAL,
                                    "%s: decision '%s' lists the choice %s twice (choices %d "
                                    "and %d); each choice must be distinct",
                                    origin, dd->name, t, j + 1, i + 1);
            }
    return 0;
}

/* The paper's space; fine_tune {false, true}, or {false} alone when
 * frozen_only. */
static int new_default(taml_space **out, const char *const *modules, int n_modules,
                       int frozen_only, taml_err *err)
{
    *out = NULL;
    if (n_modules < 1 || !modules)
        return taml_err_set(err, TAML_EINVAL,
                            "default space: the embedding decision needs at least one module "
                            "name, got %d",
                            n_modules);
    static const double layers[] = {1, 2, 3, 5, 7};
    static const double hidden[] = {8, 16, 32, 64, 128, 256};
    static const double dropout[] = {0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    static const double lr[] = {0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0};
    static const double reg[] = {0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1};
    static const double samples[] = {1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6};
    struct {
        const double *num;
        int n_num;
        const char *const *str;
        int n_str;
    } spec[TAML_SPACE_PAPER_DECISIONS] = {
        {NULL, 0, NULL, 0}, /* embedding: the modules */
        {NULL, 0, NULL, 0}, /* fine_tune: booleans */
        {layers, 5, NULL, 0},
        {hidden, 6, NULL, 0},
        {NULL, 0, (const char *const[]){"relu", "swish"}, 2},
        {NULL, 0, (const char *const[]){"none", "batch_norm", "layer_norm"}, 3},
        {dropout, 9, NULL, 0},
        {lr, 8, NULL, 0},
        {reg, 6, (const char *const[]){"disable"}, 1},
        {lr, 8, NULL, 0},
        {reg, 6, (const char *const[]){"disable"}, 1},
        {samples, 7, NULL, 0},
    };
    taml_space *s = space_alloc(TAML_SPACE_PAPER_DECISIONS);
    int rc = 0;
    for (int d = 0; d < TAML_SPACE_PAPER_DECISIONS; d++) {
        decision *dd = &s->d[d];
        dd->name = taml_strdup(PAPER_NAMES[d]);
        if (d == 0) {
            dd->n = n_modules;
            dd->choices = taml_calloc((size_t)n_modules, sizeof(taml_choice));
            for (int c = 0; c < n_modules; c++) {
                if (!modules[c] || !modules[c][0]) {
                    rc = taml_err_set(err, TAML_EINVAL,
                                      "default space: embedding module %d has an empty name",
                                      c + 1);
                    goto fail;
                }
                dd->choices[c].kind = TAML_CHOICE_STRING;
                dd->choices[c].str = taml_strdup(modules[c]);
            }
        } else if (d == 1) {
            dd->n = frozen_only ? 1 : 2;
            dd->choices = taml_calloc(2, sizeof(taml_choice));
            dd->choices[0] = (taml_choice){.kind = TAML_CHOICE_BOOL, .boolean = 0};
            dd->choices[1] = (taml_choice){.kind = TAML_CHOICE_BOOL, .boolean = 1};
        } else {
            dd->n = spec[d].n_num + spec[d].n_str;
            dd->choices = taml_calloc((size_t)dd->n, sizeof(taml_choice));
            for (int c = 0; c < spec[d].n_num; c++)
                dd->choices[c] = (taml_choice){.kind = TAML_CHOICE_NUMBER, .num = spec[d].num[c]};
            for (int c = 0; c < spec[d].n_str; c++)
                dd->choices[spec[d].n_num + c] =
                    (taml_choice){.kind = TAML_CHOICE_STRING, .str = taml_strdup(spec[d].str[c])};
        }
        if ((rc = check_decision(s, d, "default space", err)) < 0) goto fail;
    }
    space_finish(s);
    *out = s;
    return 0;
fail:
    taml_space_free(s);
    return rc;
}

int taml_space_new_default(taml_space **out, const char *const *modules, int n_modules,
                           taml_err *err)
{
    return new_default(out, modules, n_modules, 0, err);
}

int taml_space_new_image_default(taml_space **out, const char *const *modules, int n_modules,
                                 taml_err *err)
{
    return new_default(out, modules, n_modules, 1, err);
}

/* The decisions the taml space adds to the paper's, in order (docs/
 * child-model.md "N-gram features" says what each choice is and why these
 * choices). */
static const char *const TAML_NAMES[TAML_SPACE_TAML_DECISIONS - TAML_SPACE_PAPER_DECISIONS] = {
    "word_ngrams", "char_ngrams", "weighting", "subwords"};

int taml_space_new_named(taml_space **out, const char *name, const char *const *modules,
                         int n_modules, taml_err *err)
{
    *out = NULL;
    if (!strcmp(name, "paper")) return taml_space_new_default(out, modules, n_modules, err);
    if (strcmp(name, "taml"))
        return taml_err_set(err, TAML_EINVAL,
                            "no built-in space named '%s'; the built-in spaces are 'taml' (the "
                            "default) and 'paper'",
                            name);
    taml_space *paper = NULL;
    int rc = taml_space_new_default(&paper, modules, n_modules, err);
    if (rc) return rc;
    enum { X = TAML_SPACE_TAML_DECISIONS - TAML_SPACE_PAPER_DECISIONS };
    static const double word_ngrams[] = {1, 2, 3};
    static const char *const char_ngrams[] = {"none", "2-4", "3-5"};
    static const char *const weighting[] = {"count", "log", "tfidf"};
    taml_space *s = space_alloc(TAML_SPACE_TAML_DECISIONS);
    for (int d = 0; d < TAML_SPACE_PAPER_DECISIONS; d++) {
        s->d[d] = paper->d[d];
        paper->d[d] = (decision){0}; /* moved */
    }
    taml_space_free(paper);
    for (int x = 0; x < X; x++) {
        decision *dd = &s->d[TAML_SPACE_PAPER_DECISIONS + x];
        dd->name = taml_strdup(TAML_NAMES[x]);
        if (x == 0) {
            dd->n = 3;
            dd->choices = taml_calloc(3, sizeof(taml_choice));
            for (int c = 0; c < 3; c++)
                dd->choices[c] = (taml_choice){.kind = TAML_CHOICE_NUMBER, .num = word_ngrams[c]};
        } else if (x == 3) {
            dd->n = 2;
            dd->choices = taml_calloc(2, sizeof(taml_choice));
            dd->choices[0] = (taml_choice){.kind = TAML_CHOICE_BOOL, .boolean = 0};
            dd->choices[1] = (taml_choice){.kind = TAML_CHOICE_BOOL, .boolean = 1};
        } else {
            const char *const *v = x == 1 ? char_ngrams : weighting;
            dd->n = 3;
            dd->choices = taml_calloc(3, sizeof(taml_choice));
            for (int c = 0; c < 3; c++)
                dd->choices[c] = (taml_choice){.kind = TAML_CHOICE_STRING, .str = taml_strdup(v[c])};
        }
    }
    space_finish(s);
    *out = s;
    return 0;
}

const char *taml_space_builtin(const taml_space *s)
{
    if (s->n < 1 || strcmp(s->d[0].name, "embedding")) return NULL;
    const char **mods = taml_calloc((size_t)s->d[0].n, sizeof *mods);
    for (int c = 0; c < s->d[0].n; c++) {
        if (s->d[0].choices[c].kind != TAML_CHOICE_STRING) {
            free(mods);
            return NULL;
        }
        mods[c] = s->d[0].choices[c].str;
    }
    static const char *const names[] = {"paper", "taml"};
    const char *found = NULL;
    for (int i = 0; i < 2 && !found; i++) {
        taml_space *b = NULL;
        taml_err err;
        char diff[8];
        if (taml_space_new_named(&b, names[i], mods, s->d[0].n, &err) == 0 &&
            !taml_space_diff(s, b, diff, sizeof diff))
            found = names[i];
        taml_space_free(b);
    }
    free(mods);
    return found;
}

char *taml_space_label(const char *json)
{
    taml_space *s = NULL;
    taml_err err;
    if (!json || taml_space_from_json(&s, json, "space", &err)) return taml_strdup("unreadable");
    const char *name = taml_space_builtin(s);
    char *label = taml_asprintf("%s (%d decisions)", name ? name : "custom", s->n);
    taml_space_free(s);
    return label;
}

/* The 1-based line of position p in text. */
static int line_of(const char *text, const char *p)
{
    int line = 1;
    for (const char *q = text; q < p && *q; q++)
        if (*q == '\n') line++;
    return line;
}

int taml_space_from_json(taml_space **out, const char *text, const char *origin, taml_err *err)
{
    *out = NULL;
    if (!origin) origin = "space";
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    size_t deep = 0;
    if (!root && taml_text_json_depth(text, strlen(text), CJSON_NESTING_LIMIT, &deep) > CJSON_NESTING_LIMIT)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s:%d: arrays and objects nested deeper than %d levels, the JSON "
                            "reader's limit; a space is one object of lists",
                            origin, line_of(text, text + deep), CJSON_NESTING_LIMIT);
    if (!root && text[strspn(text, " \t\r\n")] == '\0')
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: empty; a space is one object such as {\"layers\": [1, 2, 3], "
                            "\"activation\": [\"relu\", \"swish\"]}",
                            origin);
    if (!root) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        int line = at ? line_of(text, at) : 1;
        return taml_err_set(err, TAML_EFORMAT,
                            "%s:%d: not valid JSON here; a space is one object such as "
                            "{\"layers\": [1, 2, 3], \"activation\": [\"relu\", \"swish\"]}",
                            origin, line);
    }
    int rc = 0, n = 0, d = 0; /* all before the first goto done */
    taml_space *s = NULL;
    if (!cJSON_IsObject(root)) {
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: expected a JSON object whose members are the decisions, each "
                          "a list of choices",
                          origin);
        goto done;
    }
    n = cJSON_GetArraySize(root);
    if (n == 0) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: the space has no decisions; give at least one",
                          origin);
        goto done;
    }
    s = space_alloc(n);
    for (cJSON *m = root->child; m; m = m->next, d++) {
        decision *dd = &s->d[d];
        dd->name = taml_strdup(m->string ? m->string : "");
        if (!dd->name[0]) {
            rc = taml_err_set(err, TAML_EINVAL, "%s: decision %d has an empty name", origin, d + 1);
            goto done;
        }
        if (!cJSON_IsArray(m)) {
            rc = taml_err_set(err, TAML_EINVAL,
                              "%s: decision '%s' must be a list of choices (numbers, strings "
                              "or booleans)",
                              origin, dd->name);
            goto done;
        }
        dd->n = cJSON_GetArraySize(m);
        if (dd->n == 0) {
            rc = taml_err_set(err, TAML_EINVAL,
                              "%s: decision '%s' has no choices; give at least one", origin,
                              dd->name);
            goto done;
        }
        dd->choices = taml_calloc((size_t)dd->n, sizeof(taml_choice));
        int c = 0;
        for (cJSON *v = m->child; v; v = v->next, c++) {
            taml_choice *ch = &dd->choices[c];
            if (cJSON_IsNumber(v)) {
                ch->kind = TAML_CHOICE_NUMBER;
                ch->num = v->valuedouble;
                if (!isfinite(ch->num)) {
                    rc = taml_err_set(err, TAML_EINVAL,
                                      "%s: decision '%s' choice %d is a number out of range "
                                      "(beyond the largest double, about 1.8e308)",
                                      origin, dd->name, c + 1);
                    goto done;
                }
            } else if (cJSON_IsString(v)) {
                ch->kind = TAML_CHOICE_STRING;
                ch->str = taml_strdup(v->valuestring);
            } else if (cJSON_IsBool(v)) {
                ch->kind = TAML_CHOICE_BOOL;
                ch->boolean = cJSON_IsTrue(v) ? 1 : 0;
            } else {
                rc = taml_err_set(err, TAML_EINVAL,
                                  "%s: decision '%s' choice %d is %s; choices must be numbers, "
                                  "strings or booleans",
                                  origin, dd->name, c + 1,
                                  cJSON_IsNull(v) ? "null" : cJSON_IsArray(v) ? "a list" : "an object");
                goto done;
            }
        }
        if ((rc = check_decision(s, d, origin, err)) < 0) goto done;
    }
    space_finish(s);
    *out = s;
    s = NULL;
done:
    taml_space_free(s);
    cJSON_Delete(root);
    return rc;
}

int taml_space_load(taml_space **out, const char *path, taml_err *err)
{
    char *text = NULL;
    size_t size = 0;
    *out = NULL;
    int rc = taml_read_file(path, &text, &size, err);
    if (rc < 0) return rc;
    rc = taml_space_from_json(out, text, path, err);
    free(text);
    return rc;
}

/* ---- queries ----------------------------------------------------------- */

int taml_space_decisions(const taml_space *s) { return s->n; }

const char *taml_space_name(const taml_space *s, int d)
{
    TAML_ASSERT(d >= 0 && d < s->n);
    return s->d[d].name;
}

int taml_space_choices(const taml_space *s, int d)
{
    TAML_ASSERT(d >= 0 && d < s->n);
    return s->d[d].n;
}

const taml_choice *taml_space_choice(const taml_space *s, int d, int c)
{
    TAML_ASSERT(d >= 0 && d < s->n && c >= 0 && c < s->d[d].n);
    return &s->d[d].choices[c];
}

int taml_space_find(const taml_space *s, const char *name)
{
    for (int d = 0; d < s->n; d++)
        if (!strcmp(s->d[d].name, name)) return d;
    return -1;
}

int taml_space_total_choices(const taml_space *s) { return s->offset[s->n]; }

int taml_space_offset(const taml_space *s, int d)
{
    TAML_ASSERT(d >= 0 && d <= s->n);
    return s->offset[d];
}

double taml_space_size(const taml_space *s)
{
    double p = 1;
    for (int d = 0; d < s->n; d++) p *= s->d[d].n;
    return p;
}

/* ---- canonical description, fingerprint, differences -------------------- */

static cJSON *choice_json(const taml_choice *c)
{
    switch (c->kind) {
    case TAML_CHOICE_NUMBER: return cJSON_CreateNumber(c->num);
    case TAML_CHOICE_STRING: return cJSON_CreateString(c->str);
    case TAML_CHOICE_BOOL: return cJSON_CreateBool(c->boolean);
    }
    return NULL;
}

/* The choices of one decision as "[a,b,c]" JSON text (our own printer, so
 * that numbers always print as the shortest round-tripping text). Heap. */
static char *choices_text(const decision *dd)
{
    size_t cap = 64, used = 0;
    char *buf = taml_malloc(cap);
    for (int c = 0; c <= dd->n; c++) {
        char num[64];
        char *esc = NULL;
        const char *v = "]";
        if (c < dd->n) {
            if (dd->choices[c].kind == TAML_CHOICE_STRING) {
                /* escape through cJSON so quotes and controls stay valid JSON */
                cJSON *j = cJSON_CreateString(dd->choices[c].str);
                esc = cJSON_PrintUnformatted(j);
                cJSON_Delete(j);
                v = esc;
            } else {
                taml_space_choice_text(&dd->choices[c], num, sizeof num);
                v = num;
            }
        }
        size_t need = strlen(v) + 2;
        while (used + need + 1 > cap) cap *= 2;
        buf = taml_realloc(buf, cap);
        used += (size_t)sprintf(buf + used, "%s%s", c < dd->n ? (c ? "," : "[") : "", v);
        cJSON_free(esc);
    }
    return buf;
}

char *taml_space_to_json(const taml_space *s)
{
    size_t cap = 256, used = 0;
    char *out = taml_malloc(cap);
    out[used++] = '{';
    for (int d = 0; d < s->n; d++) {
        cJSON *name = cJSON_CreateString(s->d[d].name);
        char *nt = cJSON_PrintUnformatted(name);
        char *ct = choices_text(&s->d[d]);
        size_t add = strlen(nt) + strlen(ct) + 3;
        while (used + add + 2 > cap) cap *= 2;
        out = taml_realloc(out, cap);
        used += (size_t)sprintf(out + used, "%s%s:%s", d ? "," : "", nt, ct);
        free(ct);
        cJSON_free(nt);
        cJSON_Delete(name);
    }
    out[used++] = '}';
    out[used] = 0;
    return out;
}

uint64_t taml_space_fingerprint(const taml_space *s)
{
    char *t = taml_space_to_json(s);
    uint64_t h = taml_fnv1a(TAML_FNV_INIT, t, strlen(t));
    free(t);
    return h;
}

/* Appends printf text to buf (cap bytes) at *used, never overflowing. */
static void appendf(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (k > 0) *used += (size_t)k;
    if (*used >= cap) *used = cap - 1;
}

int taml_space_diff(const taml_space *a, const taml_space *b, char *buf, size_t cap)
{
    size_t used = 0;
    int differences = 0;
    if (cap) buf[0] = 0;
    if (a->n != b->n) {
        appendf(buf, cap, &used, "%d %s vs %d", a->n, taml_text_plural(a->n, "decision", "decisions"),
                b->n);
        differences++;
    }
    int n = a->n < b->n ? a->n : b->n;
    for (int d = 0; d < n && differences < 4; d++) {
        const decision *x = &a->d[d], *y = &b->d[d];
        int same = !strcmp(x->name, y->name) && x->n == y->n;
        for (int c = 0; same && c < x->n; c++)
            same = taml_space_choice_equal(&x->choices[c], &y->choices[c]);
        if (same) continue;
        appendf(buf, cap, &used, "%s", differences ? "; " : "");
        if (strcmp(x->name, y->name)) {
            appendf(buf, cap, &used, "decision %d is '%s' vs '%s'", d + 1, x->name, y->name);
        } else {
            char *tx = choices_text(x), *ty = choices_text(y);
            appendf(buf, cap, &used, "decision %d '%s': choices %s vs %s", d + 1, x->name, tx, ty);
            free(tx);
            free(ty);
        }
        differences++;
    }
    for (int d = n; d < (a->n > b->n ? a->n : b->n) && differences < 6; d++) {
        appendf(buf, cap, &used, "; decision %d '%s' only in the %s", d + 1,
                d < a->n ? a->d[d].name : b->d[d].name, d < a->n ? "first" : "second");
        differences++;
    }
    return differences ? 1 : 0;
}

/* ---- actions <-> child config ------------------------------------------ */

char *taml_space_config_text(const taml_space *s, const int32_t *actions)
{
    cJSON *o = cJSON_CreateObject();
    for (int d = 0; d < s->n; d++) {
        TAML_ASSERT(actions[d] >= 0 && actions[d] < s->d[d].n);
        cJSON_AddItemToObject(o, s->d[d].name, choice_json(&s->d[d].choices[actions[d]]));
    }
    /* cJSON's printer, not ours (choices_text): the stored configurations
     * have always been its text, numbers included */
    char *printed = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    TAML_ASSERT(printed != NULL); /* cJSON's malloc failed: out of memory */
    char *text = taml_strdup(printed);
    cJSON_free(printed);
    return text;
}

static int choice_matches(const taml_choice *c, const cJSON *v)
{
    switch (c->kind) {
    case TAML_CHOICE_NUMBER:
        if (!cJSON_IsNumber(v)) return 0;
        return fabs(v->valuedouble - c->num) <= 1e-9 * fmax(fabs(c->num), 1e-300) ||
               v->valuedouble == c->num;
    case TAML_CHOICE_STRING: return cJSON_IsString(v) && !strcmp(v->valuestring, c->str);
    case TAML_CHOICE_BOOL: return cJSON_IsBool(v) && (cJSON_IsTrue(v) ? 1 : 0) == c->boolean;
    }
    return 0;
}

/* The actions of a parsed config (see taml_space_actions_from_config). */
static int actions_from_object(const taml_space *s, const cJSON *config, int32_t *actions,
                               taml_err *err)
{
    if (!cJSON_IsObject(config))
        return taml_err_set(err, TAML_EINVAL, "config: expected a JSON object {decision: value}");
    for (const cJSON *m = config->child; m; m = m->next)
        if (!m->string || taml_space_find(s, m->string) < 0)
            return taml_err_set(err, TAML_EINVAL,
                                "config: '%s' is not a decision of this space",
                                m->string ? m->string : "");
    for (int d = 0; d < s->n; d++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(config, s->d[d].name);
        if (!v)
            return taml_err_set(err, TAML_EINVAL, "config: decision '%s' is missing",
                                s->d[d].name);
        int found = -1;
        for (int c = 0; c < s->d[d].n && found < 0; c++)
            if (choice_matches(&s->d[d].choices[c], v)) found = c;
        if (found < 0) {
            char *vt = cJSON_PrintUnformatted(v);
            char *ct = choices_text(&s->d[d]);
            taml_err_set(err, TAML_EINVAL,
                         "config: decision '%s' = %s is not one of its choices %s",
                         s->d[d].name, vt ? vt : "?", ct);
            cJSON_free(vt);
            free(ct);
            return TAML_EINVAL;
        }
        actions[d] = found;
    }
    return 0;
}

int taml_space_actions_from_config(const taml_space *s, const char *config_json,
                                   int32_t *actions, taml_err *err)
{
    const char *end = NULL;
    cJSON *config = cJSON_ParseWithOpts(config_json, &end, 1);
    size_t deep = 0;
    if (!config &&
        taml_text_json_depth(config_json, strlen(config_json), CJSON_NESTING_LIMIT, &deep) > CJSON_NESTING_LIMIT)
        return taml_err_set(err, TAML_EFORMAT,
                            "config: byte %zu: arrays and objects nested deeper than %d levels, "
                            "the JSON reader's limit; expected an object {decision: value}",
                            deep, CJSON_NESTING_LIMIT);
    if (!config) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        return taml_err_set(err, TAML_EFORMAT,
                            "config: byte %td: not valid JSON; expected an object "
                            "{decision: value}",
                            at ? at - config_json : (ptrdiff_t)0);
    }
    int rc = actions_from_object(s, config, actions, err);
    cJSON_Delete(config);
    return rc;
}
