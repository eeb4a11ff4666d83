/* data/task_text.c - the text loader of taml_task_load (task.c decides a
 * directory is a text task, see task.h for the formats).
 *
 * Each TSV file is read whole, checked line by line (TAB, label, UTF-8),
 * then its texts are tokenised straight into the task's dictionary and one
 * growing CSR array of token ids. Files are read in split order (train,
 * valid, test), so dictionary ids follow first appearance and the train
 * split's words take the lowest ids. Labels become classes sorted by bytes;
 * the train split's token counts give the wide vocabulary.
 *
 * Errors name the file, the line and what was expected.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/strmap.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/task_internal.h"
#include "data/tokenise.h"

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
    /* dictionary: word -> id in core's map (see on_token for why that one);
     * the words also back to back in chars, word w at word_off[w], its
     * length word_len[w], which become the task's words */
    taml_strmap *dict;
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
    uint64_t *row_hash; /* (cap) taml_hash64 of each row's text: the task's content digests */
} builder;

/* The tokeniser's callback: the token's dictionary id (a new id at first
 * sight), counted when train rows are being read, appended to the CSR.
 *
 * This lookup is most of a text task's load time. It used to go through an
 * open-addressing table private to the loader (a multiply-xorshift hash of
 * 8 bytes a step; 8-byte slots of 32 hash bits and the id, so a hit read
 * the word's length and bytes from two more arrays). Core's strmap (FNV-1a
 * byte by byte; 24-byte slots holding the whole hash, the length and the
 * key's offset) measured as fast or faster on the largest text tasks, so
 * the private table went. CPU seconds, best of 5 interleaved runs of
 * `taml data info DIR --time` (whole load), 2026-12-01, AMD EPYC, 2 cores
 * shared with other jobs; the quietest batch (in busier ones both rose
 * together, up to 0.29 s, neither ahead by more than the noise):
 *                      private table  core strmap
 *   debian-section-en  0.184 s        0.183 s      25.1 MB, 3.9 M tokens, 76,214 words
 *   wordnet-pos        0.080 s        0.074 s       8.8 MB, 1.5 M tokens, 55,397 words
 * Tokenising alone (bench/bench_tokenise) takes 0.074 s and 0.027 s of
 * these. Tokenise + dictionary only, the same token stream into either map
 * alternately, best of 15: 0.185 vs 0.169 s and 0.064 vs 0.054 s (a second
 * batch: 0.209 vs 0.190 s, 0.066 vs 0.069 s). The price is memory: the
 * task keeps the map for taml_task_word_id, 24 bytes a slot instead of 8
 * (6.3 instead of 2.1 MB for debian-section-en), and its own copy of the
 * words. */
static void on_token(const char *tok, size_t len, void *ctx)
{
    builder *b = ctx;
    if (b->overflow) return;
    if (len >= UINT32_MAX) { /* longer than the map's lengths */
        b->overflow = 1;
        return;
    }
    int32_t id = taml_strmap_put(b->dict, tok, len, b->n_words);
    if (id == b->n_words) {
        if (b->n_words == INT32_MAX - 1) {
            b->overflow = 1;
            return;
        }
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
        b->n_words++;
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
    const task_impl *ti = task_impl_of_const(t);
    return ti->word_index ? taml_strmap_get(ti->word_index, tok, len) : -1;
}

static void add_row(builder *b, int32_t label)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? (b->cap > INT32_MAX / 2 ? INT32_MAX : 2 * b->cap) : 1024;
        b->label = taml_realloc(b->label, (size_t)b->cap * sizeof *b->label);
        b->tok_off = taml_realloc(b->tok_off, ((size_t)b->cap + 1) * sizeof *b->tok_off);
        b->row_hash = taml_realloc(b->row_hash, (size_t)b->cap * sizeof *b->row_hash);
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
        b->label_names[b->n_labels++] = task_dup_range(s, len);
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
    task_lines it;
    task_lines_init(&it, data, used);
    const char *line;
    size_t len;
    while (task_lines_next(&it, &line, &len)) {
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
        b->row_hash[b->n - 1] = taml_hash64(TAML_FNV_INIT, tab + 1, len - llen - 1);
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

int taml_task_load_text(taml_task *t, const char *dir, const taml_task_opts *o, taml_err *err)
{
    static const char *split_file[3] = {"train.tsv", "valid.tsv", "test.tsv"};
    builder b = {.t = t};
    b.labels = taml_strmap_new(64);
    b.dict = taml_strmap_new(1 << 13);
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
                              "%s: %d %s an empty valid split (80/10/10 in file order, floor "
                              "for train and valid); expected at least 10 lines",
                              all, n, taml_text_plural(n, "line gives", "lines give"));
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
    t->words = taml_malloc(((size_t)b.n_words + 1) * sizeof *t->words);
    for (int32_t w = 0; w < b.n_words; w++) t->words[w] = b.chars + b.word_off[w];
    task_impl_of(t)->word_chars = b.chars;
    b.chars = NULL;
    t->word_len = b.word_len;
    b.word_len = NULL;
    task_impl_of(t)->word_index = b.dict;
    b.dict = NULL;
    build_wide(t, b.count, o->wide_min_count, o->wide_max);
    /* the texts' digests: the rows' hashes, split by split (rows are in
     * split order) */
    for (int s = 0, first = 0; s < 3; first += t->n_split[s], s++)
        t->identity.content[s] = taml_hash64(TAML_FNV_INIT, b.row_hash + first,
                                             (size_t)t->n_split[s] * sizeof *b.row_hash);
out:
    for (int s = 0; s < 3; s++) free(paths[s]);
    if (b.label_names && !t->class_names)
        for (int32_t i = 0; i < b.n_labels; i++) free(b.label_names[i]);
    free(b.label_names);
    taml_strmap_free(b.labels);
    taml_strmap_free(b.dict);
    free(b.word_len);
    free(b.label);
    free(b.tok_off);
    free(b.tok);
    free(b.chars);
    free(b.word_off);
    free(b.count);
    free(b.spans);
    free(b.row_hash);
    return rc;
}

