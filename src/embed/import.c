/* embed/import.c - readers of standard word-vector files, feeding the module
 * writer through the task tokeniser's normalisation (see import.h for the
 * formats and the rules). */
#include "embed/import.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/text.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/tokenise.h"

#define MAX_BIN_WORD 4096

static const char *const format_names[] = {"word2vec-text", "fasttext-vec", "glove",
                                           "word2vec-bin", "vocab-f32"};

int taml_vec_format_parse(const char *name, taml_vec_format *out, taml_err *err)
{
    for (int i = 0; i < (int)(sizeof format_names / sizeof *format_names); i++)
        if (!strcmp(name, format_names[i])) {
            *out = (taml_vec_format)i;
            return TAML_OK;
        }
    return taml_err_set(err, TAML_EINVAL,
                        "unknown vector format '%s' (word2vec-text, word2vec-bin, glove, "
                        "fasttext-vec, vocab-f32)",
                        name);
}

typedef struct importer {
    const char *path;
    taml_module_writer *w;
    int32_t dim;
    taml_import_stats st;
    /* Mapped words wait until every exact word is in. */
    char *pend_words; /* NUL-separated tokens */
    size_t pend_len, pend_cap;
    float *pend_vec; /* (n_pend, dim) */
    int64_t n_pend, cap_pend;
    /* The current word's token. */
    char *tok;
    size_t tok_len, tok_cap;
    int n_tok;
} importer;

static void on_token(const char *tok, size_t len, void *ctx)
{
    importer *im = ctx;
    if (im->n_tok++ > 0) return;
    if (len + 1 > im->tok_cap) {
        im->tok_cap = 2 * (len + 1);
        im->tok = taml_realloc(im->tok, im->tok_cap);
    }
    memcpy(im->tok, tok, len);
    im->tok_len = len;
}

static size_t code_points(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* where: "line 12" or "entry 5"; the caller has checked nothing yet. */
static int add_word(importer *im, const char *word, size_t len, const float *vec,
                    const char *where, taml_err *err)
{
    im->st.read++;
    if (len == 0) return taml_err_set(err, TAML_EFORMAT, "%s:%s: empty word", im->path, where);
    size_t bad = taml_utf8_check(word, len);
    if (bad != len)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s:%s: the word is not valid UTF-8 (byte %zu is 0x%02x)", im->path,
                            where, bad + 1, (unsigned char)word[bad]);
    for (int32_t k = 0; k < im->dim; k++)
        if (!isfinite(vec[k]))
            return taml_err_set(err, TAML_EFORMAT, "%s:%s: value %d of '%.*s' is %s", im->path,
                                where, (int)k + 1, (int)(len > 64 ? 64 : len), word,
                                isnan(vec[k]) ? "NaN" : "infinite");
    im->n_tok = 0;
    taml_tokenise(word, len, on_token, im);
    if (im->n_tok != 1) {
        im->st.not_one_token++;
        return TAML_OK;
    }
    if (code_points(im->tok, im->tok_len) == code_points(word, len)) {
        int rc = taml_module_writer_add(im->w, im->tok, im->tok_len, vec, err);
        if (rc < 0) return taml_err_prefix(err, "%s:%s", im->path, where);
        if (rc == 1) im->st.exact++;
        else im->st.duplicate++;
        return TAML_OK;
    }
    if (im->n_pend == im->cap_pend) {
        im->cap_pend = im->cap_pend ? 2 * im->cap_pend : 256;
        im->pend_vec = taml_realloc(im->pend_vec, (size_t)im->cap_pend * (size_t)im->dim * 4);
    }
    while (im->pend_len + im->tok_len + 1 > im->pend_cap)
        im->pend_words = taml_realloc(im->pend_words, im->pend_cap = 2 * im->pend_cap + 4096);
    memcpy(im->pend_words + im->pend_len, im->tok, im->tok_len);
    im->pend_words[im->pend_len + im->tok_len] = '\0';
    im->pend_len += im->tok_len + 1;
    memcpy(im->pend_vec + (size_t)im->n_pend * (size_t)im->dim, vec, (size_t)im->dim * 4);
    im->n_pend++;
    return TAML_OK;
}

static int add_pending(importer *im, taml_err *err)
{
    size_t off = 0;
    for (int64_t i = 0; i < im->n_pend; i++) {
        const char *t = im->pend_words + off;
        size_t n = strlen(t);
        off += n + 1;
        int rc = taml_module_writer_add(im->w, t, n,
                                        im->pend_vec + (size_t)i * (size_t)im->dim, err);
        if (rc < 0) return taml_err_prefix(err, "%s", im->path);
        if (rc == 1) im->st.mapped++;
        else im->st.duplicate++;
    }
    return TAML_OK;
}

/* Parses "COUNT DIM" (word2vec / fastText header). */
static int parse_header(const char *line, int64_t *count, int32_t *dim)
{
    char *end;
    errno = 0;
    long long c = strtoll(line, &end, 10);
    if (end == line || errno || c < 0 || (*end != ' ' && *end != '\t')) return 0;
    const char *p = end;
    long long d = strtoll(p, &end, 10);
    if (end == p || errno || d < 1 || d > (1 << 20)) return 0;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return 0;
    *count = c;
    *dim = (int32_t)d;
    return 1;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Splits "word v1 .. vK" into the word and the values (up to cap); *k gets
 * the number of values found. Returns 0, or -1 with *bad at a value that is
 * not a number. */
static int split_line(char *line, char **word, size_t *wlen, float *vals, int32_t cap,
                      int32_t *k, char **bad)
{
    char *p = line;
    *word = p;
    while (*p && !is_space(*p)) p++;
    *wlen = (size_t)(p - line);
    int32_t n = 0;
    for (;;) {
        while (is_space(*p)) p++;
        if (!*p) break;
        char *end;
        float v = strtof(p, &end);
        if (end == p || (*end && !is_space(*end))) {
            *bad = p;
            return -1;
        }
        if (n < cap) vals[n] = v;
        n++;
        p = end;
    }
    *k = n;
    return 0;
}

static void chomp(char *line, ssize_t *n)
{
    while (*n > 0 && (line[*n - 1] == '\n' || line[*n - 1] == '\r')) line[--*n] = '\0';
}

static int read_text(importer *im, FILE *f, const taml_import_opts *o, taml_err *err)
{
    char *line = NULL, *word, *bad;
    size_t cap = 0, wlen;
    int64_t lineno = 0, count = -1, seen = 0;
    float *vals = NULL;
    int32_t vcap = 0, k;
    int rc = TAML_OK;
    char where[48];
    ssize_t n;
    int glove = o->format == TAML_VEC_GLOVE;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        chomp(line, &n);
        if (lineno == 1 && !glove) {
            int32_t d;
            if (!parse_header(line, &count, &d)) {
                rc = taml_err_set(err, TAML_EFORMAT,
                                  "%s:1: expected the header \"COUNT DIM\" of a word2vec/fastText "
                                  "text file (a GloVe file has none: use --format glove)",
                                  im->path);
                goto out;
            }
            if (o->dim && d != o->dim) {
                rc = taml_err_set(err, TAML_EFORMAT, "%s:1: dimension %d, expected %d", im->path,
                                  (int)d, (int)o->dim);
                goto out;
            }
            im->dim = d;
            vals = taml_malloc((size_t)(vcap = d) * sizeof *vals);
            continue;
        }
        if (n == 0) continue; /* blank lines carry nothing */
        if (o->max_words && seen >= o->max_words) break;
        if (!vals) { /* GloVe: the dimension is the first line's */
            vcap = 1024;
            vals = taml_malloc((size_t)vcap * sizeof *vals);
        }
        snprintf(where, sizeof where, "%" PRId64, lineno);
        if (split_line(line, &word, &wlen, vals, vcap, &k, &bad) < 0) {
            char *e = bad, shown[96];
            while (*e && !is_space(*e)) e++;
            /* the bytes as they are, escaped: a binary float prints as \xNN */
            taml_text_quote(shown, sizeof shown, bad, (size_t)(e - bad));
            int binary = taml_text_looks_binary(line, (size_t)n);
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%" PRId64 ": %s is not a number%s", im->path,
                              lineno, shown,
                              binary ? "; the line holds binary bytes: a word2vec binary file? "
                                       "try --format word2vec-bin"
                                     : "");
            goto out;
        }
        if (im->dim == 0) {
            if (k == 0) {
                rc = taml_err_set(err, TAML_EFORMAT, "%s:%" PRId64 ": a word with no values",
                                  im->path, lineno);
                goto out;
            }
            if (o->dim && k != o->dim) {
                rc = taml_err_set(err, TAML_EFORMAT,
                                  "%s:%" PRId64 ": %d %s, expected dimension %d", im->path,
                                  lineno, (int)k, taml_text_plural(k, "value", "values"), (int)o->dim);
                goto out;
            }
            if (k > vcap) { /* re-parse into a buffer of the right size */
                vals = taml_realloc(vals, (size_t)(vcap = k) * sizeof *vals);
                split_line(line, &word, &wlen, vals, vcap, &k, &bad);
            }
            im->dim = k;
        }
        if (k != im->dim) {
            rc = taml_err_set(err, TAML_EFORMAT,
                              "%s:%" PRId64 ": %d %s after the word, expected %d (the "
                              "dimension of %s)",
                              im->path, lineno, (int)k, taml_text_plural(k, "value", "values"), (int)im->dim,
                              glove ? "the first line" : "the header");
            goto out;
        }
        if (!im->w) im->w = taml_module_writer_new(im->dim, NULL);
        word[wlen] = '\0';
        if (o->format == TAML_VEC_FASTTEXT_VEC && !strcmp(word, "</s>")) {
            /* fastText's end-of-line marker is not a word. */
            im->st.read++;
            im->st.not_one_token++;
            seen++;
            continue;
        }
        if ((rc = add_word(im, word, wlen, vals, where, err)) < 0) goto out;
        seen++;
    }
    if (ferror(f)) {
        rc = taml_err_set(err, TAML_EIO, "%s: read error: %s", im->path, strerror(errno));
        goto out;
    }
    if (lineno == 0 || (seen == 0 && count <= 0)) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: empty file: no vectors", im->path);
        goto out;
    }
    if (count >= 0 && !o->max_words && seen != count) {
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: the header announces %" PRId64 " %s, the file has %" PRId64
                          "%s",
                          im->path, count, taml_text_plural(count, "vector", "vectors"), seen,
                          seen < count ? " (truncated?)" : "");
        goto out;
    }
out:
    free(line);
    free(vals);
    return rc;
}

static int read_bin(importer *im, FILE *f, const taml_import_opts *o, taml_err *err)
{
    char head[128];
    int64_t count;
    int32_t d;
    if (!fgets(head, sizeof head, f))
        return taml_err_set(err, TAML_EFORMAT, "%s: empty file: no vectors", im->path);
    ssize_t hn = (ssize_t)strlen(head);
    chomp(head, &hn);
    if (!parse_header(head, &count, &d))
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: expected the header line \"COUNT DIM\" of a word2vec binary file",
                            im->path);
    if (o->dim && d != o->dim)
        return taml_err_set(err, TAML_EFORMAT, "%s: dimension %d, expected %d", im->path, (int)d,
                            (int)o->dim);
    if (count == 0) return taml_err_set(err, TAML_EFORMAT, "%s: empty file: no vectors", im->path);
    im->dim = d;
    im->w = taml_module_writer_new(d, NULL);
    char *word = taml_malloc(MAX_BIN_WORD + 1);
    float *vals = taml_malloc((size_t)d * sizeof *vals);
    int rc = TAML_OK;
    char where[48];
    int64_t e;
    for (e = 0; e < count; e++) {
        if (o->max_words && e >= o->max_words) break;
        snprintf(where, sizeof where, "entry %" PRId64, e + 1);
        int c;
        while ((c = getc(f)) == '\n') {} /* the newline word2vec writes after a vector */
        size_t n = 0;
        while (c != EOF && c != ' ') {
            if (n == MAX_BIN_WORD) {
                rc = taml_err_set(err, TAML_EFORMAT,
                                  "%s:%s: a word longer than %d bytes (not a word2vec binary "
                                  "file, or a wrong dimension in the header?)",
                                  im->path, where, MAX_BIN_WORD);
                goto out;
            }
            word[n++] = (char)c;
            c = getc(f);
        }
        if (c == EOF) break;
        if (fread(vals, sizeof *vals, (size_t)d, f) != (size_t)d) break;
        word[n] = '\0';
        if ((rc = add_word(im, word, n, vals, where, err)) < 0) goto out;
    }
    if (e < count && !(o->max_words && e >= o->max_words)) {
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: truncated: the header announces %" PRId64
                          " %s, entry %" PRId64 " is incomplete",
                          im->path, count, taml_text_plural(count, "vector", "vectors"), e + 1);
        goto out;
    }
    if (!o->max_words) {
        int c;
        while ((c = getc(f)) == '\n' || c == ' ') {}
        if (c != EOF)
            rc = taml_err_set(err, TAML_EFORMAT,
                              "%s: data after the %" PRId64 " %s the header announces",
                              im->path, count, taml_text_plural(count, "vector", "vectors"));
    }
out:
    free(word);
    free(vals);
    return rc;
}

static int read_vocab_f32(importer *im, FILE *f, const taml_import_opts *o, taml_err *err)
{
    char *mpath;
    if (o->matrix_path) {
        mpath = taml_strdup(o->matrix_path);
    } else {
        const char *slash = strrchr(im->path, '/'), *dot = strrchr(im->path, '.');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - im->path) : strlen(im->path);
        mpath = taml_asprintf("%.*s.f32", (int)stem, im->path);
    }
    /* Count the words first: the dimension is the matrix size over them. */
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t rows = 0;
    while ((n = getline(&line, &cap, f)) >= 0) rows++;
    int rc = TAML_OK;
    FILE *mf = NULL;
    float *vals = NULL;
    int64_t bytes = 0; /* all before the first goto out */
    if (rows == 0) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: empty file: no words", im->path);
        goto out;
    }
    struct stat st;
    if (stat(mpath, &st) != 0) {
        rc = taml_err_set(err, TAML_EIO, "%s: cannot open the matrix: %s (give it with --matrix)",
                          mpath, strerror(errno));
        goto out;
    }
    bytes = st.st_size;
    if (bytes == 0 || bytes % (4 * rows) != 0) {
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: %" PRId64 " bytes is not 4 x %" PRId64
                          " words (%s) x a dimension: wrong matrix or truncated",
                          mpath, bytes, rows, im->path);
        goto out;
    }
    im->dim = (int32_t)(bytes / 4 / rows);
    if (o->dim && im->dim != o->dim) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: dimension %d (%" PRId64 " bytes / %" PRId64
                          " words / 4), expected %d",
                          mpath, (int)im->dim, bytes, rows, (int)o->dim);
        goto out;
    }
    mf = fopen(mpath, "rb");
    if (!mf) {
        rc = taml_err_set(err, TAML_EIO, "%s: cannot open: %s", mpath, strerror(errno));
        goto out;
    }
    im->w = taml_module_writer_new(im->dim, NULL);
    vals = taml_malloc((size_t)im->dim * sizeof *vals);
    rewind(f);
    char where[48];
    for (int64_t r = 0; r < rows; r++) {
        if (o->max_words && r >= o->max_words) break;
        n = getline(&line, &cap, f);
        if (n < 0) {
            rc = taml_err_set(err, TAML_EIO, "%s: changed while being read", im->path);
            goto out;
        }
        chomp(line, &n);
        if (fread(vals, 4, (size_t)im->dim, mf) != (size_t)im->dim) {
            rc = taml_err_set(err, TAML_EIO, "%s: read error", mpath);
            goto out;
        }
        snprintf(where, sizeof where, "%" PRId64, r + 1);
        if ((rc = add_word(im, line, (size_t)n, vals, where, err)) < 0) goto out;
    }
out:
    if (mf) fclose(mf);
    free(vals);
    free(line);
    free(mpath);
    return rc;
}

int taml_module_import(const char *path, const taml_import_opts *opts,
                       const taml_module_info *info, const char *out_path,
                       taml_import_stats *stats, taml_err *err)
{
    double t0 = taml_now();
    importer im = {.path = path};
    int rc;
    FILE *f = fopen(path, "rb");
    if (!f) return taml_err_set(err, TAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    switch (opts->format) {
    case TAML_VEC_WORD2VEC_BIN: rc = read_bin(&im, f, opts, err); break;
    case TAML_VEC_VOCAB_F32: rc = read_vocab_f32(&im, f, opts, err); break;
    default: rc = read_text(&im, f, opts, err); break;
    }
    fclose(f);
    if (rc == TAML_OK) rc = add_pending(&im, err);
    if (rc == TAML_OK && (!im.w || taml_module_writer_rows(im.w) == 0))
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: %s %" PRId64 " %s a token of the tokeniser (%s punctuation "
                          "or several tokens)",
                          path, im.st.read == 1 ? "the" : "none of the", im.st.read,
                          im.st.read == 1 ? "word is not" : "words is",
                          im.st.read == 1 ? "it is" : "all are");
    if (rc == TAML_OK) {
        /* The writer was made when the dimension became known; the metadata
         * keys it holds (all empty) are filled in now, in the same order. */
        taml_module_writer *w = im.w;
        taml_module_info none = {0};
        if (!info) info = &none;
        const char *keys[] = {"name", "language", "corpus", "algorithm", "source", "license"};
        const char *vals[] = {info->name, info->language, info->corpus,
                              info->algorithm, info->source, info->license};
        for (int i = 0; i < 6 && rc == TAML_OK; i++)
            rc = taml_module_writer_set(w, keys[i], vals[i] ? vals[i] : "", err);
        char buf[512];
        snprintf(buf, sizeof buf, "%" PRId64, info->corpus_tokens);
        if (rc == TAML_OK) rc = taml_module_writer_set(w, "corpus_tokens", buf, err);
        if (rc == TAML_OK)
            rc = taml_module_writer_set(w, "import_format", format_names[opts->format], err);
        snprintf(buf, sizeof buf,
                 "read %" PRId64 ", kept %" PRId64 " (%" PRId64 " after dropping separators), "
                 "dropped %" PRId64 " not one token, %" PRId64 " duplicates",
                 im.st.read, im.st.exact + im.st.mapped, im.st.mapped, im.st.not_one_token,
                 im.st.duplicate);
        if (rc == TAML_OK) rc = taml_module_writer_set(w, "import_words", buf, err);
        if (rc == TAML_OK)
            rc = taml_module_writer_set(
                w, "normalisation",
                "taml tokeniser: lower-cased; one-token words kept, first occurrence wins", err);
        for (int i = 0; i < opts->n_meta && rc == TAML_OK; i++) {
            const char *kv = opts->meta[i], *eq = strchr(kv, '=');
            if (!eq) {
                rc = taml_err_set(err, TAML_EINVAL, "metadata '%s' is not key=value", kv);
                break;
            }
            char *key = taml_asprintf("%.*s", (int)(eq - kv), kv);
            rc = taml_module_writer_set(w, key, eq + 1, err);
            free(key);
        }
        if (rc == TAML_OK) rc = taml_module_writer_finish(w, out_path, err);
    }
    im.st.dim = im.dim;
    im.st.seconds = taml_now() - t0;
    if (stats) *stats = im.st;
    taml_module_writer_free(im.w);
    free(im.pend_words);
    free(im.pend_vec);
    free(im.tok);
    return rc;
}
