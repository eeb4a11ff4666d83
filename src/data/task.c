/* data/task.c - loading a task directory into a taml_task (see task.h and
 * README "File formats").
 *
 * Text: each TSV file is read whole, checked line by line (TAB, label,
 * UTF-8), then its texts are tokenised straight into the task's dictionary
 * and one growing CSR array of token ids. Files are read in split order
 * (train, valid, test), so dictionary ids follow first appearance and the
 * train split's words take the lowest ids.
 *
 * Images: IDX files (MNIST layout, gzipped or not) or images.u8 + labels.u8
 * + meta.txt; every file goes through zlib's gzread, which reads plain files
 * unchanged, so any of them may be gzipped.
 *
 * Every error names the file, the line (text) or the header field (images),
 * and what was expected.
 */
#include "data/task.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/strmap.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/tokenise.h"

taml_task_opts taml_task_default_opts(void)
{
    taml_task_opts o = {.wide_min_count = 1, .wide_max = 1 << 20};
    return o;
}

const char *taml_task_kind_name(taml_task_kind kind)
{
    return kind == TAML_TASK_IMAGE ? "image" : "text";
}

void taml_task_free(taml_task *t)
{
    if (!t) return;
    free(t->name);
    free(t->dir);
    free(t->language);
    free(t->source);
    free(t->license);
    for (int32_t i = 0; i < t->n_classes; i++) free(t->class_names[i]);
    free(t->class_names);
    free(t->label);
    free(t->words);
    free(t->word_chars);
    free(t->word_len);
    free(t->word_index);
    free(t->tok_off);
    free(t->tok);
    free(t->wide_of_word);
    free(t->pixels);
    for (int32_t i = 0; i < t->n_meta; i++) {
        free(t->meta_key[i]);
        free(t->meta_value[i]);
    }
    free(t->meta_key);
    free(t->meta_value);
    free(t);
}

const char *taml_task_meta(const taml_task *t, const char *key)
{
    for (int32_t i = 0; i < t->n_meta; i++)
        if (!strcmp(t->meta_key[i], key)) return t->meta_value[i];
    return NULL;
}

int32_t taml_task_majority_class(const taml_task *t)
{
    int64_t *count = taml_calloc((size_t)t->n_classes, sizeof *count);
    for (int32_t r = 0; r < t->n_split[TAML_TRAIN]; r++) count[t->label[r]]++;
    int32_t best = 0;
    for (int32_t c = 1; c < t->n_classes; c++)
        if (count[c] > count[best]) best = c;
    free(count);
    return best;
}

double taml_task_majority_share(const taml_task *t)
{
    if (t->n_split[TAML_TRAIN] == 0) return 0.0;
    int32_t best = taml_task_majority_class(t);
    int64_t k = 0;
    for (int32_t r = 0; r < t->n_split[TAML_TRAIN]; r++) k += t->label[r] == best;
    return (double)k / (double)t->n_split[TAML_TRAIN];
}

double taml_task_mean_tokens(const taml_task *t)
{
    if (t->kind != TAML_TASK_TEXT || t->n == 0) return 0.0;
    return (double)t->tok_off[t->n] / (double)t->n;
}

/* ---------------------------------------------------------------- meta.txt */

static char *dup_range(const char *s, size_t len)
{
    char *d = taml_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) (*s)++, (*len)--;
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* Iterates the lines of data[0..size): strips a leading UTF-8 byte-order
 * mark and a CR before each LF. Returns 1 and the line in *line, *len while
 * lines remain. A final LF does not start another line. */
typedef struct lines {
    const char *p, *end, *start;
    long no;
} lines;

static void lines_init(lines *it, const char *data, size_t size)
{
    it->start = data;
    it->p = data;
    it->end = data + size;
    it->no = 0;
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) it->p += 3;
}

static int lines_next(lines *it, const char **line, size_t *len)
{
    if (it->p >= it->end) return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *le = nl ? nl : it->end;
    *line = it->p;
    *len = (size_t)(le - it->p);
    if (*len > 0 && le[-1] == '\r') (*len)--;
    it->p = nl ? nl + 1 : it->end;
    it->no++;
    return 1;
}

/* Reads DIR/meta.txt when present: key=value lines, blank lines and lines
 * starting with '#' skipped, spaces around keys and values trimmed. */
static int read_meta(taml_task *t, const char *dir, taml_err *err)
{
    char *path = taml_path_join(dir, "meta.txt"), *data = NULL;
    size_t size = 0, bad = 0;
    int32_t cap = 0; /* all before the first goto out */
    int rc = TAML_OK;
    if (!taml_is_file(path)) goto out;
    if ((rc = taml_read_file(path, &data, &size, err)) < 0) goto out;
    bad = taml_utf8_check(data, size);
    if (bad < size) {
        long line = 1;
        for (size_t i = 0; i < bad; i++) line += data[i] == '\n';
        rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: invalid UTF-8 at byte offset %zu; expected UTF-8 text",
                          path, line, bad);
        goto out;
    }
    lines it;
    lines_init(&it, data, size);
    const char *line;
    size_t len;
    while (lines_next(&it, &line, &len)) {
        trim(&line, &len);
        if (len == 0 || line[0] == '#') continue;
        const char *eq = memchr(line, '=', len);
        if (!eq || eq == line) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: expected key=value%s", path, it.no,
                              eq ? " with a non-empty key" : "");
            goto out;
        }
        const char *k = line, *v = eq + 1;
        size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
        trim(&k, &klen);
        trim(&v, &vlen);
        if (memchr(v, '\0', vlen) || memchr(k, '\0', klen)) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: NUL byte; expected text", path, it.no);
            goto out;
        }
        if (t->n_meta == cap) {
            cap = cap ? 2 * cap : 8;
            t->meta_key = taml_realloc(t->meta_key, (size_t)cap * sizeof *t->meta_key);
            t->meta_value = taml_realloc(t->meta_value, (size_t)cap * sizeof *t->meta_value);
        }
        t->meta_key[t->n_meta] = dup_range(k, klen);
        t->meta_value[t->n_meta] = dup_range(v, vlen);
        t->n_meta++;
    }
out:
    free(path);
    free(data);
    return rc;
}

/* Parses meta.txt's key as an integer in [lo, hi]; *v untouched when the key
 * is absent (returns 0) ; 1 when set. */
static int meta_int(const taml_task *t, const char *dir, const char *key, long long lo, long long hi,
                    long long *v, taml_err *err)
{
    const char *s = taml_task_meta(t, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno || x < lo || x > hi) {
        char *path = taml_path_join(dir, "meta.txt");
        int rc = taml_err_set(err, TAML_EFORMAT, "%s: %s=%s; expected an integer in [%lld, %lld]", path,
                              key, s, lo, hi);
        free(path);
        return rc;
    }
    *v = x;
    return 1;
}

/* -------------------------------------------------------------- text tasks */

typedef struct span {
    size_t off, len; /* the text of one row inside the file's buffer */
} span;

typedef struct builder {
    taml_task *t;
    /* rows */
    int32_t n, cap;
    int32_t *label; /* provisional ids: order of first appearance */
    taml_strmap *labels;
    char **label_names;
    int32_t n_labels, cap_labels;
    /* CSR */
    int64_t *tok_off;
    int32_t *tok;
    int64_t n_tok, cap_tok;
    /* dictionary: an open-addressing table private to the loader, because
     * this lookup is most of a text task's load time. A slot holds the
     * hash's high 32 bits and id + 1 (0: empty); the words themselves are
     * in chars, word w at word_off[w], its length word_len[w]. */
    uint64_t *slot;
    size_t mask;
    uint32_t *word_len;
    char *chars;
    size_t n_chars, cap_chars;
    size_t *word_off;
    int64_t *count; /* (n_words) occurrences in the train split */
    int32_t n_words, cap_words;
    int counting; /* tokenising train rows */
    int overflow; /* a count passed INT32_MAX */
    span *spans;
    int32_t cap_spans;
} builder;

/* A fast 64-bit hash of a short byte string (8 bytes per step, multiply
 * and xor-shift mixing); only the dictionary's table uses it. */
static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (len * 0xff51afd7ed558ccdULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 32);
}

static void dict_grow(builder *b)
{
    size_t cap = b->slot ? 2 * (b->mask + 1) : 1 << 14;
    uint64_t *slot = taml_calloc(cap, sizeof *slot);
    size_t mask = cap - 1;
    for (int32_t w = 0; w < b->n_words; w++) {
        uint64_t h = hash_bytes(b->chars + b->word_off[w], b->word_len[w]);
        size_t i = (size_t)h & mask;
        while (slot[i]) i = (i + 1) & mask;
        slot[i] = (h >> 32) << 32 | (uint64_t)(w + 1);
    }
    free(b->slot);
    b->slot = slot;
    b->mask = mask;
}

static void on_token(const char *tok, size_t len, void *ctx)
{
    builder *b = ctx;
    if (b->overflow) return;
    uint64_t h = hash_bytes(tok, len), tag = (h >> 32) << 32;
    size_t i = (size_t)h & b->mask;
    int32_t id = -1;
    for (;; i = (i + 1) & b->mask) {
        uint64_t s = b->slot[i];
        if (!s) break;
        if ((s & 0xFFFFFFFF00000000ULL) != tag) continue;
        int32_t w = (int32_t)(uint32_t)s - 1;
        if (b->word_len[w] == len && memcmp(b->chars + b->word_off[w], tok, len) == 0) {
            id = w;
            break;
        }
    }
    if (id < 0) {
        if (b->n_words == INT32_MAX - 1 || len >= UINT32_MAX) {
            b->overflow = 1;
            return;
        }
        id = b->n_words;
        if (b->n_words == b->cap_words) {
            b->cap_words = b->cap_words ? 2 * b->cap_words : 1024;
            b->word_off = taml_realloc(b->word_off, (size_t)b->cap_words * sizeof *b->word_off);
            b->word_len = taml_realloc(b->word_len, (size_t)b->cap_words * sizeof *b->word_len);
            b->count = taml_realloc(b->count, (size_t)b->cap_words * sizeof *b->count);
        }
        if (b->n_chars + len + 1 > b->cap_chars) {
            while (b->n_chars + len + 1 > b->cap_chars) b->cap_chars = b->cap_chars ? 2 * b->cap_chars : 1 << 16;
            b->chars = taml_realloc(b->chars, b->cap_chars);
        }
        b->word_off[id] = b->n_chars;
        b->word_len[id] = (uint32_t)len;
        memcpy(b->chars + b->n_chars, tok, len);
        b->chars[b->n_chars + len] = '\0';
        b->n_chars += len + 1;
        b->count[id] = 0;
        b->slot[i] = tag | (uint64_t)(id + 1);
        b->n_words++;
        if ((size_t)b->n_words * 2 > b->mask + 1) dict_grow(b);
    }
    b->count[id] += b->counting;
    if (b->n_tok == b->cap_tok) {
        b->cap_tok = b->cap_tok ? 2 * b->cap_tok : 1 << 16;
        b->tok = taml_realloc(b->tok, (size_t)b->cap_tok * sizeof *b->tok);
    }
    b->tok[b->n_tok++] = id;
}

int32_t taml_task_word_id(const taml_task *t, const char *tok, size_t len)
{
    if (!t->word_index) return -1;
    uint64_t h = hash_bytes(tok, len), tag = (h >> 32) << 32;
    for (size_t i = (size_t)h & t->word_index_mask;; i = (i + 1) & t->word_index_mask) {
        uint64_t s = t->word_index[i];
        if (!s) return -1;
        if ((s & 0xFFFFFFFF00000000ULL) != tag) continue;
        int32_t w = (int32_t)(uint32_t)s - 1;
        if (t->word_len[w] == len && memcmp(t->words[w], tok, len) == 0) return w;
    }
}

static void add_row(builder *b, int32_t label)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? (b->cap > INT32_MAX / 2 ? INT32_MAX : 2 * b->cap) : 1024;
        b->label = taml_realloc(b->label, (size_t)b->cap * sizeof *b->label);
        b->tok_off = taml_realloc(b->tok_off, ((size_t)b->cap + 1) * sizeof *b->tok_off);
        if (b->n == 0) b->tok_off[0] = 0;
    }
    b->label[b->n++] = label;
}

static int32_t label_id(builder *b, const char *s, size_t len)
{
    int32_t id = taml_strmap_put(b->labels, s, len, b->n_labels);
    if (id == b->n_labels) {
        if (b->n_labels == b->cap_labels) {
            b->cap_labels = b->cap_labels ? 2 * b->cap_labels : 16;
            b->label_names = taml_realloc(b->label_names, (size_t)b->cap_labels * sizeof *b->label_names);
        }
        b->label_names[b->n_labels++] = dup_range(s, len);
    }
    return id;
}

/* The start of a (valid UTF-8) line for an error message: at most about 40
 * bytes, cut on a character boundary, "..." when cut, a TAB shown as \t and
 * other control bytes as '?'. out holds at least 64 bytes. */
static void excerpt(char *out, const char *line, size_t len)
{
    size_t n = len < 40 ? len : 40, o = 0;
    while (n < len && n > 0 && ((unsigned char)line[n] & 0xC0) == 0x80) n--;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else {
            out[o++] = (unsigned char)line[i] < 0x20 ? '?' : line[i];
        }
    }
    strcpy(out + o, n < len ? "..." : "");
}

/* Reads one TSV file and appends its rows; *rows gets their number. counting:
 * whether these rows are train rows (their tokens feed the wide vocabulary). */
static int load_tsv(builder *b, const char *path, int counting, int32_t *rows, taml_err *err)
{
    char *data = NULL;
    size_t size = 0;
    int32_t first = b->n, n_spans = 0;
    double t0 = taml_now(), t1 = 0, t2 = 0; /* all before the first goto out */
    size_t used = 0;
    int rc = taml_read_file(path, &data, &size, err);
    if (rc < 0) goto out;
    t1 = taml_now();
    b->t->seconds_read += t1 - t0;

    /* Drop trailing empty lines (LF or CR LF): a file may end in a blank line. */
    used = size;
    while (used > 0 && (data[used - 1] == '\n' || data[used - 1] == '\r')) used--;
    lines it;
    lines_init(&it, data, used);
    const char *line;
    size_t len;
    while (lines_next(&it, &line, &len)) {
        size_t bad = taml_utf8_check(line, len);
        if (bad < len) {
            rc = taml_err_set(err, TAML_EFORMAT,
                              "%s:%ld: invalid UTF-8 at byte %zu of the line (file offset %zu, from 0); "
                              "expected UTF-8 text",
                              path, it.no, bad + 1, (size_t)(line - data) + bad);
            goto out;
        }
        if (len == 0) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: empty line; expected LABEL<TAB>TEXT", path,
                              it.no);
            goto out;
        }
        const char *tab = memchr(line, '\t', len);
        char shown[96];
        if (!tab) {
            excerpt(shown, line, len);
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: no TAB in the line \"%s\"; expected LABEL<TAB>TEXT",
                              path, it.no, shown);
            goto out;
        }
        size_t llen = (size_t)(tab - line);
        if (llen == 0) {
            excerpt(shown, line, len);
            rc = taml_err_set(err, TAML_EFORMAT,
                              "%s:%ld: empty label in \"%s\"; expected LABEL<TAB>TEXT with a non-empty "
                              "LABEL",
                              path, it.no, shown);
            goto out;
        }
        if (memchr(line, '\0', llen)) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: NUL byte in the label; expected text", path,
                              it.no);
            goto out;
        }
        if (b->n == INT32_MAX) {
            rc = taml_err_set(err, TAML_EINVAL, "%s:%ld: more than %d examples in the task", path,
                              it.no, INT32_MAX);
            goto out;
        }
        add_row(b, label_id(b, line, llen));
        if (n_spans == b->cap_spans) {
            b->cap_spans = b->cap_spans ? 2 * b->cap_spans : 1024;
            b->spans = taml_realloc(b->spans, (size_t)b->cap_spans * sizeof *b->spans);
        }
        b->spans[n_spans].off = (size_t)(tab + 1 - data);
        b->spans[n_spans].len = len - llen - 1;
        n_spans++;
    }
    if (n_spans == 0) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: no examples (the file is empty); expected LABEL<TAB>TEXT lines",
                          path);
        goto out;
    }
    t2 = taml_now();
    b->t->seconds_check += t2 - t1;

    b->counting = counting;
    for (int32_t i = 0; i < n_spans; i++) {
        taml_tokenise(data + b->spans[i].off, b->spans[i].len, on_token, b);
        b->tok_off[first + i + 1] = b->n_tok;
        b->t->text_bytes += (int64_t)b->spans[i].len;
    }
    b->t->seconds_tokenise += taml_now() - t2;
    if (b->overflow) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: more than %d distinct tokens; the dictionary is full",
                          path, INT32_MAX - 1);
        goto out;
    }
    *rows = n_spans;
out:
    free(data);
    return rc;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the label names by bytes, renumbers the rows' labels to match, and
 * moves the names into the task. */
static void finish_classes(taml_task *t, int32_t *label, int32_t n, char **names, int32_t n_names)
{
    char **sorted = taml_malloc((size_t)n_names * sizeof *sorted);
    memcpy(sorted, names, (size_t)n_names * sizeof *sorted);
    qsort(sorted, (size_t)n_names, sizeof *sorted, cmp_label);
    taml_strmap *rank = taml_strmap_new((size_t)n_names);
    for (int32_t i = 0; i < n_names; i++) taml_strmap_put(rank, sorted[i], strlen(sorted[i]), i);
    int32_t *map = taml_malloc((size_t)n_names * sizeof *map);
    for (int32_t i = 0; i < n_names; i++) map[i] = taml_strmap_get(rank, names[i], strlen(names[i]));
    for (int32_t r = 0; r < n; r++) label[r] = map[label[r]];
    taml_strmap_free(rank);
    free(map);
    t->class_names = sorted;
    t->n_classes = n_names;
}

typedef struct word_count {
    int64_t count;
    int32_t id;
} word_count;

static int cmp_count(const void *a, const void *b)
{
    const word_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The wide vocabulary (see task.h): train words with count >= min_count, the
 * max most frequent of them, numbered in dictionary order. */
static void build_wide(taml_task *t, const int64_t *count, int32_t min_count, int32_t max)
{
    t->wide_of_word = taml_malloc(((size_t)t->n_words + 1) * sizeof *t->wide_of_word);
    int32_t n_ok = 0;
    for (int32_t w = 0; w < t->n_words; w++) {
        t->wide_of_word[w] = count[w] >= min_count && count[w] > 0 ? 0 : -1;
        n_ok += t->wide_of_word[w] == 0;
    }
    if (n_ok > max) {
        word_count *wc = taml_malloc((size_t)n_ok * sizeof *wc);
        int32_t k = 0;
        for (int32_t w = 0; w < t->n_words; w++)
            if (t->wide_of_word[w] == 0) wc[k].count = count[w], wc[k].id = w, k++;
        qsort(wc, (size_t)n_ok, sizeof *wc, cmp_count);
        for (int32_t i = max; i < n_ok; i++) t->wide_of_word[wc[i].id] = -1;
        free(wc);
    }
    int32_t next = 0;
    for (int32_t w = 0; w < t->n_words; w++)
        if (t->wide_of_word[w] == 0) t->wide_of_word[w] = next++;
    t->n_wide = next;
}

static int load_text(taml_task *t, const char *dir, const taml_task_opts *o, taml_err *err)
{
    static const char *split_file[3] = {"train.tsv", "valid.tsv", "test.tsv"};
    builder b = {.t = t};
    b.labels = taml_strmap_new(64);
    dict_grow(&b);
    int rc = TAML_OK;
    char *paths[3] = {0};
    for (int s = 0; s < 3; s++) paths[s] = taml_path_join(dir, split_file[s]);
    int three = taml_is_file(paths[0]) && taml_is_file(paths[1]) && taml_is_file(paths[2]);
    if (three) {
        for (int s = 0; s < 3; s++)
            if ((rc = load_tsv(&b, paths[s], s == TAML_TRAIN, &t->n_split[s], err)) < 0) goto out;
    } else {
        /* all.tsv: the train rows are only known once the file is counted, so
         * count every row's tokens and take the train part afterwards. */
        char *all = taml_path_join(dir, "all.tsv");
        int32_t n = 0;
        rc = load_tsv(&b, all, 0, &n, err);
        if (rc < 0) {
            free(all);
            goto out;
        }
        t->n_split[TAML_TRAIN] = (int32_t)((int64_t)n * 8 / 10);
        t->n_split[TAML_VALID] = n / 10;
        t->n_split[TAML_TEST] = n - t->n_split[TAML_TRAIN] - t->n_split[TAML_VALID];
        if (t->n_split[TAML_VALID] == 0) {
            rc = taml_err_set(err, TAML_EINVAL,
                              "%s: %d lines give an empty valid split (80/10/10 in file order, floor "
                              "for train and valid); expected at least 10 lines",
                              all, n);
            free(all);
            goto out;
        }
        free(all);
        for (int32_t w = 0; w < b.n_words; w++) b.count[w] = 0;
        for (int64_t k = 0; k < b.tok_off[t->n_split[TAML_TRAIN]]; k++) b.count[b.tok[k]]++;
    }
    t->n = b.n;
    finish_classes(t, b.label, b.n, b.label_names, b.n_labels);
    t->label = b.label;
    b.label = NULL;
    t->tok_off = b.tok_off;
    b.tok_off = NULL;
    t->tok = b.n_tok ? taml_realloc(b.tok, (size_t)b.n_tok * sizeof *b.tok) : b.tok;
    b.tok = NULL;
    t->n_words = b.n_words;
    t->word_chars = b.chars;
    b.chars = NULL;
    t->words = taml_malloc(((size_t)b.n_words + 1) * sizeof *t->words);
    for (int32_t w = 0; w < b.n_words; w++) t->words[w] = t->word_chars + b.word_off[w];
    t->word_len = b.word_len;
    b.word_len = NULL;
    t->word_index = b.slot;
    t->word_index_mask = b.mask;
    b.slot = NULL;
    build_wide(t, b.count, o->wide_min_count, o->wide_max);
out:
    for (int s = 0; s < 3; s++) free(paths[s]);
    if (b.label_names && !t->class_names)
        for (int32_t i = 0; i < b.n_labels; i++) free(b.label_names[i]);
    free(b.label_names);
    taml_strmap_free(b.labels);
    free(b.slot);
    free(b.word_len);
    free(b.label);
    free(b.tok_off);
    free(b.tok);
    free(b.chars);
    free(b.word_off);
    free(b.count);
    free(b.spans);
    return rc;
}

/* ------------------------------------------------------------- image tasks */

/* Reads a whole file through zlib (plain files pass through unchanged). A
 * truncated or corrupt gzip stream is an error, not a short read. */
static int read_gz(const char *path, unsigned char **data, size_t *size, taml_err *err)
{
    *data = NULL;
    *size = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) return taml_err_set(err, TAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(f, 1 << 17);
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = taml_malloc(cap);
    int rc = TAML_OK;
    for (;;) {
        if (n == cap) buf = taml_realloc(buf, cap *= 2);
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        int got = gzread(f, buf + n, (unsigned)want);
        if (got <= 0) break;
        n += (size_t)got;
    }
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);
    size_t plen = strlen(path); /* zlib puts the path in front of its message */
    if (!strncmp(msg, path, plen) && !strncmp(msg + plen, ": ", 2)) msg += plen + 2;
    if (zerr != Z_OK)
        rc = taml_err_set(err, TAML_EFORMAT, "%s: truncated or corrupt gzip data after %zu bytes (zlib: %s); "
                          "expected a complete gzip file", path, n, msg);
    gzclose_r(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *data = buf;
    *size = n;
    return TAML_OK;
}

/* The first of path and path.gz that exists (heap), or NULL. */
static char *find_maybe_gz(const char *dir, const char *name)
{
    char *p = taml_path_join(dir, name);
    if (taml_is_file(p)) return p;
    free(p);
    char *gz = taml_asprintf("%s.gz", name);
    p = taml_path_join(dir, gz);
    free(gz);
    if (taml_is_file(p)) return p;
    free(p);
    return NULL;
}

/* Checks an IDX header of unsigned bytes with nd dimensions and that the file
 * holds exactly the data it announces; dims gets the sizes. */
static int idx_check(const char *path, const unsigned char *d, size_t size, int nd, uint32_t dims[3],
                     taml_err *err)
{
    if (size < 4)
        return taml_err_set(err, TAML_EFORMAT, "%s: %zu bytes; expected an IDX header (4-byte magic)",
                            path, size);
    if (d[0] != 0 || d[1] != 0 || d[2] != 0x08 || d[3] != nd)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: header magic %02x %02x %02x %02x; expected 00 00 08 %02x (IDX, unsigned "
                            "bytes, %d dimensions)",
                            path, d[0], d[1], d[2], d[3], nd, nd);
    if (size < 4 + 4 * (size_t)nd)
        return taml_err_set(err, TAML_EFORMAT, "%s: header cut short; expected %d dimension sizes", path,
                            nd);
    uint64_t total = 1;
    for (int k = 0; k < nd; k++) {
        const unsigned char *p = d + 4 + 4 * k;
        dims[k] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        total *= dims[k];
        if (total > (uint64_t)1 << 40)
            return taml_err_set(err, TAML_EFORMAT, "%s: header sizes multiply past 2^40 bytes", path);
    }
    size_t have = size - 4 - 4 * (size_t)nd;
    if (have != total)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: header announces %llu bytes of data (%s), the file holds %zu; expected "
                            "them to match",
                            path, (unsigned long long)total, have < total ? "truncated" : "trailing bytes",
                            have);
    return TAML_OK;
}

/* Turns the raw byte labels into class indices: the values present, in
 * numeric order, named by classes.txt when the directory has one. */
static int finish_image_classes(taml_task *t, const char *dir, const char *labels_path, taml_err *err)
{
    int32_t present[256] = {0}, map[256];
    for (int32_t r = 0; r < t->n; r++) present[t->label[r]] = 1;
    int32_t k = 0, max_value = 0;
    for (int v = 0; v < 256; v++) {
        map[v] = present[v] ? k++ : -1;
        if (present[v]) max_value = v;
    }
    char *path = taml_path_join(dir, "classes.txt"), *data = NULL;
    char **names = NULL;
    int32_t n_names = 0;
    int rc = TAML_OK;
    if (taml_is_file(path)) {
        size_t size;
        if ((rc = taml_read_file(path, &data, &size, err)) < 0) goto out;
        size_t bad = taml_utf8_check(data, size);
        if (bad < size) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s: invalid UTF-8 at byte offset %zu; expected UTF-8 text",
                              path, bad);
            goto out;
        }
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r')) size--;
        lines it;
        lines_init(&it, data, size);
        const char *line;
        size_t len;
        names = taml_calloc(256, sizeof *names);
        while (lines_next(&it, &line, &len)) {
            if (n_names == 256) {
                rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: more than 256 class names; expected one per "
                                  "label value 0..255", path, it.no);
                goto out;
            }
            if (len == 0 || memchr(line, '\0', len)) {
                rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: %s; expected the name of label value %d", path,
                                  it.no, len ? "NUL byte" : "empty line", n_names);
                goto out;
            }
            names[n_names++] = dup_range(line, len);
        }
        if (max_value >= n_names) {
            rc = taml_err_set(err, TAML_EFORMAT,
                              "%s: %d class names, but %s holds label value %d; expected a name for each "
                              "value",
                              path, n_names, labels_path, max_value);
            goto out;
        }
    }
    t->n_classes = k;
    t->class_names = taml_malloc((size_t)k * sizeof *t->class_names);
    for (int v = 0; v < 256; v++)
        if (present[v])
            t->class_names[map[v]] = names ? taml_strdup(names[v]) : taml_asprintf("%d", v);
    for (int32_t r = 0; r < t->n; r++) t->label[r] = map[t->label[r]];
out:
    if (names)
        for (int i = 0; i < 256; i++) free(names[i]);
    free(names);
    free(data);
    free(path);
    return rc;
}

static const char *idx_name[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static int load_idx(taml_task *t, const char *dir, taml_err *err)
{
    char *path[4] = {0};
    unsigned char *data[4] = {0};
    size_t size[4] = {0};
    uint32_t dims[4][3] = {{0}};
    uint64_t n_all = 0; /* all before the first goto out */
    int32_t n_train_file = 0;
    size_t px = 0;
    int rc = TAML_OK;
    double t0 = taml_now();
    for (int f = 0; f < 4; f++) {
        path[f] = find_maybe_gz(dir, idx_name[f]);
        if (!path[f]) {
            rc = taml_err_set(err, TAML_ENOTFOUND,
                              "%s[.gz]: missing; an IDX task needs train-images, train-labels, "
                              "t10k-images and t10k-labels files",
                              path[f] = taml_path_join(dir, idx_name[f]));
            goto out;
        }
        if ((rc = read_gz(path[f], &data[f], &size[f], err)) < 0) goto out;
        if ((rc = idx_check(path[f], data[f], size[f], f % 2 ? 1 : 3, dims[f], err)) < 0) goto out;
    }
    t->seconds_read = taml_now() - t0;
    for (int f = 0; f < 4; f += 2)
        if (dims[f][0] != dims[f + 1][0]) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s: %u labels for the %u images of %s; expected one each",
                              path[f + 1], dims[f + 1][0], dims[f][0], path[f]);
            goto out;
        }
    if (dims[0][1] != dims[2][1] || dims[0][2] != dims[2][2]) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: images of %ux%u, but %s has %ux%u; expected the same size",
                          path[2], dims[2][1], dims[2][2], path[0], dims[0][1], dims[0][2]);
        goto out;
    }
    n_all = (uint64_t)dims[0][0] + dims[2][0];
    if (n_all > INT32_MAX) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: %llu images; at most %d supported", dir,
                          (unsigned long long)n_all, INT32_MAX);
        goto out;
    }
    n_train_file = (int32_t)dims[0][0];
    t->n = (int32_t)n_all;
    t->n_split[TAML_VALID] = n_train_file / 10;
    t->n_split[TAML_TRAIN] = n_train_file - t->n_split[TAML_VALID];
    t->n_split[TAML_TEST] = (int32_t)dims[2][0];
    if (t->n_split[TAML_VALID] == 0) {
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: %d images give an empty valid split (the last tenth of the train "
                          "file); expected at least 10",
                          path[0], n_train_file);
        goto out;
    }
    if (t->n_split[TAML_TEST] == 0) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: no images; expected a non-empty test split", path[2]);
        goto out;
    }
    t->height = (int32_t)dims[0][1];
    t->width = (int32_t)dims[0][2];
    t->channels = 1;
    px = (size_t)t->height * (size_t)t->width;
    t->pixels = taml_malloc(px * (size_t)t->n + 1);
    memcpy(t->pixels, data[0] + 16, px * (size_t)n_train_file);
    memcpy(t->pixels + px * (size_t)n_train_file, data[2] + 16, px * dims[2][0]);
    t->label = taml_malloc((size_t)t->n * sizeof *t->label);
    for (int32_t r = 0; r < n_train_file; r++) t->label[r] = data[1][8 + r];
    for (uint32_t r = 0; r < dims[2][0]; r++) t->label[n_train_file + (int32_t)r] = data[3][8 + r];
    rc = finish_image_classes(t, dir, path[1], err);
out:
    for (int f = 0; f < 4; f++) {
        free(path[f]);
        free(data[f]);
    }
    return rc;
}

static int load_u8(taml_task *t, const char *dir, taml_err *err)
{
    char *img_path = find_maybe_gz(dir, "images.u8"), *lab_path = find_maybe_gz(dir, "labels.u8");
    unsigned char *img = NULL, *lab = NULL;
    size_t img_size = 0, lab_size = 0;
    char *meta = taml_path_join(dir, "meta.txt");
    int rc = TAML_OK;
    long long n = 0, h = 0, w = 0, c = 0, split[3] = {0, 0, 0};
    long long *needv[4] = {&n, &h, &w, &c}; /* all before the first goto out */
    int given = 0;
    double t0 = 0;
    uint64_t want = 0;
    if (!taml_is_file(meta)) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: missing; expected key=value lines with n, height, width, "
                          "channels next to images.u8", meta);
        goto out;
    }
    static const char *need[4] = {"n", "height", "width", "channels"};
    for (int k = 0; k < 4; k++) {
        rc = meta_int(t, dir, need[k], 1, INT32_MAX, needv[k], err);
        if (rc < 0) goto out;
        if (rc == 0) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s: no %s=; expected n, height, width and channels", meta,
                              need[k]);
            goto out;
        }
    }
    static const char *split_key[3] = {"train", "valid", "test"};
    for (int s = 0; s < 3; s++) {
        rc = meta_int(t, dir, split_key[s], 0, INT32_MAX, &split[s], err);
        if (rc < 0) goto out;
        given += rc;
    }
    if (given == 0) {
        split[TAML_TRAIN] = n * 8 / 10;
        split[TAML_VALID] = n / 10;
        split[TAML_TEST] = n - split[0] - split[1];
    } else if (given != 3 || split[0] + split[1] + split[2] != n) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: train=%lld valid=%lld test=%lld; expected all three, summing "
                          "to n=%lld", meta, split[0], split[1], split[2], n);
        goto out;
    }
    for (int s = 0; s < 3; s++)
        if (split[s] == 0) {
            rc = taml_err_set(err, TAML_EINVAL, "%s: n=%lld gives an empty %s split; expected %s", meta, n,
                              split_key[s], given ? "train, valid and test counts above 0"
                                                  : "n of at least 10 (80/10/10 in file order)");
            goto out;
        }
    if ((uint64_t)h * (uint64_t)w * (uint64_t)c > (uint64_t)1 << 30) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: height*width*channels = %lld; expected at most 2^30", meta,
                          h * w * c);
        goto out;
    }
    if (!img_path || !lab_path) {
        char *p = taml_path_join(dir, img_path ? "labels.u8" : "images.u8");
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s[.gz]: missing; expected images.u8 and labels.u8", p);
        free(p);
        goto out;
    }
    t0 = taml_now();
    if ((rc = read_gz(img_path, &img, &img_size, err)) < 0) goto out;
    if ((rc = read_gz(lab_path, &lab, &lab_size, err)) < 0) goto out;
    t->seconds_read = taml_now() - t0;
    want = (uint64_t)n * (uint64_t)h * (uint64_t)w * (uint64_t)c;
    if (img_size != want) {
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: %zu bytes; expected n*height*width*channels = %lld*%lld*%lld*%lld = %llu "
                          "(from %s)",
                          img_path, img_size, n, h, w, c, (unsigned long long)want, meta);
        goto out;
    }
    if (lab_size != (uint64_t)n) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: %zu bytes; expected one label byte per image, n = %lld (from %s)",
                          lab_path, lab_size, n, meta);
        goto out;
    }
    t->n = (int32_t)n;
    for (int s = 0; s < 3; s++) t->n_split[s] = (int32_t)split[s];
    t->height = (int32_t)h;
    t->width = (int32_t)w;
    t->channels = (int32_t)c;
    t->pixels = img;
    img = NULL;
    t->label = taml_malloc((size_t)n * sizeof *t->label);
    for (int32_t r = 0; r < t->n; r++) t->label[r] = lab[r];
    rc = finish_image_classes(t, dir, lab_path, err);
out:
    free(img_path);
    free(lab_path);
    free(img);
    free(lab);
    free(meta);
    return rc;
}

/* ----------------------------------------------------------------- loading */

static char *meta_or(const taml_task *t, const char *key, const char *dflt)
{
    const char *v = taml_task_meta(t, key);
    return taml_strdup(v ? v : dflt);
}

static char *base_name(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/') start--;
    return dup_range(dir + start, len - start);
}

int taml_task_load(taml_task **out, const char *dir, const taml_task_opts *opts, taml_err *err)
{
    *out = NULL;
    taml_task_opts o = opts ? *opts : taml_task_default_opts();
    if (o.wide_min_count < 1 || o.wide_max < 0)
        return taml_err_set(err, TAML_EINVAL, "wide vocabulary options min count %d, cap %d; expected min count "
                            ">= 1 and cap >= 0", o.wide_min_count, o.wide_max);
    if (!taml_is_dir(dir))
        return taml_err_set(err, TAML_ENOTFOUND, "%s: no such directory; expected a task directory", dir);
    taml_task *t = taml_calloc(1, sizeof *t);
    t->dir = taml_strdup(dir);
    t->wide_min_count = o.wide_min_count;
    t->wide_max = o.wide_max;
    int rc;
    char *idx = NULL, *u8 = NULL; /* all before the first goto fail */
    int is_idx = 0, is_u8 = 0;
    if ((rc = read_meta(t, dir, err)) < 0) goto fail;

    static const char *text_files[4] = {"train.tsv", "valid.tsv", "test.tsv", "all.tsv"};
    int has[4];
    for (int k = 0; k < 4; k++) {
        char *p = taml_path_join(dir, text_files[k]);
        has[k] = taml_is_file(p);
        free(p);
    }
    idx = find_maybe_gz(dir, idx_name[0]);
    u8 = find_maybe_gz(dir, "images.u8");
    is_idx = idx != NULL;
    is_u8 = u8 != NULL;
    free(idx);
    free(u8);
    if ((has[0] && has[1] && has[2]) || has[3]) {
        t->kind = TAML_TASK_TEXT;
        rc = load_text(t, dir, &o, err);
    } else if (is_idx) {
        t->kind = TAML_TASK_IMAGE;
        rc = load_idx(t, dir, err);
    } else if (is_u8) {
        t->kind = TAML_TASK_IMAGE;
        rc = load_u8(t, dir, err);
    } else if (has[0] || has[1] || has[2]) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: has %s%s%sbut not all of train.tsv, valid.tsv, test.tsv "
                          "(nor all.tsv); expected the three splits or all.tsv", dir,
                          has[0] ? "train.tsv " : "", has[1] ? "valid.tsv " : "", has[2] ? "test.tsv " : "");
    } else {
        rc = taml_err_set(err, TAML_ENOTFOUND,
                          "%s: no task files; expected train.tsv + valid.tsv + test.tsv, all.tsv, IDX files "
                          "(train-images-idx3-ubyte[.gz] ...) or images.u8 + labels.u8 + meta.txt",
                          dir);
    }
    if (rc < 0) goto fail;
    if (t->n_classes < 2) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: every example has the label '%s'; expected at least two classes",
                          dir, t->n_classes ? t->class_names[0] : "");
        goto fail;
    }
    t->name = meta_or(t, "name", "");
    if (!t->name[0]) {
        free(t->name);
        t->name = base_name(dir);
    }
    t->language = meta_or(t, "language", "");
    t->source = meta_or(t, "source", "");
    t->license = meta_or(t, "license", "");
    *out = t;
    return TAML_OK;
fail:
    taml_task_free(t);
    return rc;
}
