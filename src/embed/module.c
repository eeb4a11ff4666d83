/* embed/module.c - the embedding-module file: writer, mmap reader, word
 * lookup through an on-disk hash table, and the built-in random-D baseline
 * (see module.h; the format is described in README "File formats").
 *
 * File layout (all integers little-endian; every section offset is from the
 * start of the file):
 *
 *   0    header (128 bytes)
 *          char     magic[8]     "TAMLMODL"
 *          u32      version      1
 *          u32      dim
 *          u64      rows
 *          u64      file_size    of the whole file, trailer included
 *          u64      meta_off, meta_len      "key=value\n" lines, UTF-8
 *          u64      words_off, words_len    rows NUL-terminated words
 *          u64      index_off               (rows + 1) u64 word offsets
 *          u64      hash_off, hash_cap      hash_cap slots {u32 tag, u32 row + 1}
 *          u64      matrix_off, matrix_len  (rows, dim) float32, 64-byte aligned
 *          zero padding to 128
 *   ...  sections in the order above, 8-byte aligned (matrix: 64)
 *   end  trailer (16 bytes): u32 crc32 of every byte before the trailer,
 *        u32 zero, char end[8] "TAMLMEND"
 *
 * The hash table makes opening independent of the vocabulary size: nothing is
 * built at open; the cost is one pass of CRC-32 over the file (which also
 * brings it into the page cache) and O(rows) bounds checks, so that a file
 * that passes them can never make a lookup read outside the mapping. Slots are
 * probed linearly from fnv1a64(word) & (cap - 1); the tag is the hash's high
 * 32 bits, so most mismatches are rejected without touching the words.
 */
#include "embed/module.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/strmap.h"
#include "core/utf8.h"
#include "core/util.h"

#define MAGIC "TAMLMODL"
#define END_MAGIC "TAMLMEND"
#define VERSION 1u
#define HEADER_SIZE 128
#define TRAILER_SIZE 16
#define MAX_RANDOM_DIM 65536

struct taml_module {
    char *path;
    int32_t dim;
    int64_t rows;
    int random; /* the built-in baseline: no file */
    char *random_name;
    /* The mapping and views into it. */
    unsigned char *map;
    size_t map_size;
    const char *words;      /* (words_len) */
    const uint64_t *index;  /* (rows + 1) */
    const uint32_t *hash;   /* (hash_cap, 2) */
    uint64_t hash_cap;
    const float *matrix;    /* (rows, dim) */
    /* Parsed metadata (heap copies). */
    size_t n_meta;
    char **meta_key, **meta_val;
    int64_t corpus_tokens;
};

/* ---- little-endian helpers ---- */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void wr64(unsigned char *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}


/* ---- name resolution ---- */

int taml_module_parse_random(const char *s, int32_t *dim)
{
    if (strncmp(s, "random-", 7) != 0) return 0;
    const char *p = s + 7;
    if (*p < '1' || *p > '9') return 0;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (*p - '0');
        if (v > MAX_RANDOM_DIM) return 0;
    }
    if (dim) *dim = (int32_t)v;
    return 1;
}

/* ---- reading ---- */

static void free_meta(taml_module *m)
{
    for (size_t i = 0; i < m->n_meta; i++) {
        free(m->meta_key[i]);
        free(m->meta_val[i]);
    }
    free(m->meta_key);
    free(m->meta_val);
}

void taml_module_close(taml_module *m)
{
    if (!m) return;
    if (m->map) munmap(m->map, m->map_size);
    free_meta(m);
    free(m->path);
    free(m->random_name);
    free(m);
}

static int parse_meta(taml_module *m, const char *text, size_t len, taml_err *err)
{
    size_t cap = 16;
    m->meta_key = taml_malloc(cap * sizeof *m->meta_key);
    m->meta_val = taml_malloc(cap * sizeof *m->meta_val);
    size_t i = 0;
    while (i < len) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        if (!nl)
            return taml_err_set(err, TAML_ECORRUPT, "%s: metadata does not end with a newline",
                                m->path);
        const char *eq = memchr(line, '=', (size_t)(nl - line));
        if (!eq || eq == line)
            return taml_err_set(err, TAML_ECORRUPT, "%s: metadata line without key=value",
                                m->path);
        if (m->n_meta == cap) {
            cap *= 2;
            m->meta_key = taml_realloc(m->meta_key, cap * sizeof *m->meta_key);
            m->meta_val = taml_realloc(m->meta_val, cap * sizeof *m->meta_val);
        }
        m->meta_key[m->n_meta] = taml_asprintf("%.*s", (int)(eq - line), line);
        m->meta_val[m->n_meta] = taml_asprintf("%.*s", (int)(nl - eq - 1), eq + 1);
        m->n_meta++;
        i = (size_t)(nl - text) + 1;
    }
    const char *tok = taml_module_meta(m, "corpus_tokens");
    m->corpus_tokens = *tok ? strtoll(tok, NULL, 10) : 0;
    return TAML_OK;
}

/* Checks the mapped file and sets the views; every offset a lookup can follow
 * is bounds-checked here. */
static int validate(taml_module *m, taml_err *err)
{
    const unsigned char *p = m->map;
    const size_t size = m->map_size;
    const char *path = m->path;
    if (size < HEADER_SIZE + TRAILER_SIZE || memcmp(p, MAGIC, 8) != 0)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: not a taml module (no \"" MAGIC "\" header; import word vectors "
                            "with `taml embed import`)",
                            path);
    uint32_t version = rd32(p + 8);
    if (version != VERSION)
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: module format version %u, this taml reads version %u", path,
                            version, VERSION);
    uint64_t file_size = rd64(p + 24);
    if (file_size != size)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: the header says %llu bytes but the file has %zu (%s); "
                            "re-import or rebuild the module",
                            path, (unsigned long long)file_size, size,
                            size < file_size ? "truncated" : "extra bytes at the end");
    const unsigned char *tr = p + size - TRAILER_SIZE;
    if (memcmp(tr + 8, END_MAGIC, 8) != 0)
        return taml_err_set(err, TAML_ECORRUPT, "%s: no \"" END_MAGIC "\" trailer (damaged file)",
                            path);
    uint32_t want = rd32(tr), got = taml_crc32(0, p, size - TRAILER_SIZE);
    if (want != got)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: checksum mismatch (stored crc32 %08x, computed %08x): the file "
                            "is corrupted; re-import or rebuild the module",
                            path, want, got);
    /* From here on the bytes are what a writer wrote; the checks below guard
     * against a file written by something else that happens to carry a
     * valid checksum. */
    uint64_t dim = rd32(p + 12), rows = rd64(p + 16);
    uint64_t meta_off = rd64(p + 32), meta_len = rd64(p + 40);
    uint64_t words_off = rd64(p + 48), words_len = rd64(p + 56);
    uint64_t index_off = rd64(p + 64);
    uint64_t hash_off = rd64(p + 72), hash_cap = rd64(p + 80);
    uint64_t matrix_off = rd64(p + 88), matrix_len = rd64(p + 96);
    uint64_t body = size - TRAILER_SIZE;
#define IN_BODY(off, len) ((off) >= HEADER_SIZE && (off) <= body && (len) <= body - (off))
    if (dim < 1 || dim > (1u << 20) || rows > INT32_MAX)
        return taml_err_set(err, TAML_ECORRUPT, "%s: bad shape (%llu rows, dim %llu)", path,
                            (unsigned long long)rows, (unsigned long long)dim);
    if (!IN_BODY(meta_off, meta_len) || !IN_BODY(words_off, words_len) ||
        !IN_BODY(index_off, (rows + 1) * 8) || index_off % 8 || hash_cap > (1ull << 40) ||
        !IN_BODY(hash_off, hash_cap * 8) || hash_off % 8 || hash_cap < rows + 1 ||
        (hash_cap & (hash_cap - 1)) || matrix_len != rows * dim * 4 ||
        !IN_BODY(matrix_off, matrix_len) || matrix_off % 64)
        return taml_err_set(err, TAML_ECORRUPT, "%s: section table out of bounds", path);
#undef IN_BODY
    m->dim = (int32_t)dim;
    m->rows = (int64_t)rows;
    m->words = (const char *)p + words_off;
    m->index = (const uint64_t *)(p + index_off);
    m->hash = (const uint32_t *)(p + hash_off);
    m->hash_cap = hash_cap;
    m->matrix = (const float *)(p + matrix_off);
    /* Words: offsets increasing, each word NUL-terminated and non-empty. */
    if (m->index[0] != 0 || m->index[rows] != words_len)
        return taml_err_set(err, TAML_ECORRUPT, "%s: word index does not cover the words", path);
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t a = m->index[r], b = m->index[r + 1];
        if (b < a + 2 || b > words_len || m->words[b - 1] != '\0')
            return taml_err_set(err, TAML_ECORRUPT, "%s: word %llu is malformed", path,
                                (unsigned long long)r);
    }
    uint64_t used = 0; /* at least one empty slot, or a probe would never end */
    for (uint64_t s = 0; s < hash_cap; s++) {
        if (m->hash[2 * s + 1] > rows)
            return taml_err_set(err, TAML_ECORRUPT, "%s: hash slot %llu names a missing row",
                                path, (unsigned long long)s);
        used += m->hash[2 * s + 1] != 0;
    }
    if (used != rows)
        return taml_err_set(err, TAML_ECORRUPT, "%s: hash table holds %llu words, not %llu", path,
                            (unsigned long long)used, (unsigned long long)rows);
    if (taml_utf8_check((const char *)p + meta_off, meta_len) != meta_len)
        return taml_err_set(err, TAML_ECORRUPT, "%s: metadata is not UTF-8", path);
    return parse_meta(m, (const char *)p + meta_off, meta_len, err);
}

static int open_file(taml_module **out, const char *path, taml_err *err)
{
    taml_module *m = taml_calloc(1, sizeof *m);
    m->path = taml_strdup(path);
    int rc = TAML_OK;
    void *map = NULL; /* before the first goto fail */
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        rc = taml_err_set(err, errno == ENOENT ? TAML_ENOTFOUND : TAML_EIO, "%s: cannot open: %s",
                          path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        rc = taml_err_set(err, TAML_EIO, "%s: not a regular file", path);
        goto fail;
    }
    if ((size_t)st.st_size < HEADER_SIZE + TRAILER_SIZE) {
        close(fd);
        rc = taml_err_set(err, TAML_ECORRUPT,
                          "%s: %lld bytes is too short for a taml module (truncated or not a "
                          "module)",
                          path, (long long)st.st_size);
        goto fail;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        rc = taml_err_set(err, TAML_ESYS, "%s: mmap failed: %s", path, strerror(errno));
        goto fail;
    }
    m->map = map;
    m->map_size = (size_t)st.st_size;
    rc = validate(m, err);
    if (rc < 0) goto fail;
    *out = m;
    return TAML_OK;
fail:
    taml_module_close(m);
    return rc;
}

int taml_module_open(taml_module **out, const char *name_or_path, const char *library,
                     taml_err *err)
{
    *out = NULL;
    if (!host_is_little_endian())
        return taml_err_set(err, TAML_EMISMATCH, "taml modules are little-endian; this host is not");
    int32_t dim;
    if (taml_module_parse_random(name_or_path, &dim)) {
        taml_module *m = taml_calloc(1, sizeof *m);
        m->random = 1;
        m->dim = dim;
        m->path = taml_strdup("");
        m->random_name = taml_strdup(name_or_path);
        *out = m;
        return TAML_OK;
    }
    if (!*name_or_path)
        return taml_err_set(err, TAML_EINVAL, "empty module name");
    /* A path when it looks like one (or names an existing file), else a name
     * in the library directory. */
    if (strchr(name_or_path, '/') || taml_is_file(name_or_path))
        return open_file(out, name_or_path, err);
    if (!library || !*library)
        return taml_err_set(err, TAML_ENOTFOUND,
                            "module '%s' not found: it is neither a file nor random-D, and no "
                            "module library was given to find it by name",
                            name_or_path);
    char *file = taml_asprintf("%s/%s.tamlm", library, name_or_path);
    int rc;
    if (taml_is_file(file))
        rc = open_file(out, file, err);
    else
        rc = taml_err_set(err, TAML_ENOTFOUND,
                          "module '%s' not found: no %s (`taml embed list` shows what the "
                          "library holds, `taml embed build-defaults` builds the default one)",
                          name_or_path, file);
    free(file);
    return rc;
}

const char *taml_module_meta(const taml_module *m, const char *key)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (!strcmp(m->meta_key[i], key)) return m->meta_val[i];
    return "";
}

size_t taml_module_meta_count(const taml_module *m) { return m->n_meta; }

void taml_module_meta_at(const taml_module *m, size_t i, const char **key, const char **value)
{
    TAML_ASSERT(i < m->n_meta);
    *key = m->meta_key[i];
    *value = m->meta_val[i];
}

const char *taml_module_name(const taml_module *m)
{
    if (m->random) return m->random_name;
    const char *n = taml_module_meta(m, "name");
    return *n ? n : m->path;
}

const char *taml_module_language(const taml_module *m)
{
    return m->random ? "" : taml_module_meta(m, "language");
}

int32_t taml_module_dim(const taml_module *m) { return m->dim; }
int64_t taml_module_rows(const taml_module *m) { return m->random ? 0 : m->rows; }
const char *taml_module_path(const taml_module *m) { return m->path; }
int taml_module_is_random(const taml_module *m) { return m->random; }
int64_t taml_module_corpus_tokens(const taml_module *m) { return m->corpus_tokens; }

int64_t taml_module_find(const taml_module *m, const char *word, size_t len)
{
    if (m->random || m->rows == 0) return -1;
    uint64_t h = taml_fnv1a(TAML_FNV_INIT, word, len);
    uint32_t tag = (uint32_t)(h >> 32);
    uint64_t mask = m->hash_cap - 1, i = h & mask;
    for (;;) {
        uint32_t row1 = m->hash[2 * i + 1];
        if (row1 == 0) return -1;
        if (m->hash[2 * i] == tag) {
            uint64_t r = row1 - 1, a = m->index[r], b = m->index[r + 1];
            if (b - a - 1 == len && memcmp(m->words + a, word, len) == 0) return (int64_t)r;
        }
        i = (i + 1) & mask;
    }
}

const char *taml_module_word(const taml_module *m, int64_t r)
{
    TAML_ASSERT(!m->random && r >= 0 && r < m->rows);
    return m->words + m->index[r];
}

const float *taml_module_vector(const taml_module *m, int64_t r)
{
    TAML_ASSERT(!m->random && r >= 0 && r < m->rows);
    return m->matrix + (size_t)r * (size_t)m->dim;
}

int taml_module_lookup(const taml_module *m, const char *word, size_t len, float *out)
{
    if (m->random) {
        /* A pure function of (word bytes, dim): every process, thread and
         * trial sees the same vector for a word. */
        taml_rng r;
        taml_rng_seed(&r, taml_rng_derive(taml_fnv1a(TAML_FNV_INIT, word, len), (uint64_t)m->dim));
        double scale = 1.0 / sqrt((double)m->dim);
        /* Box-Muller, both values of each pair used (taml_rng_normal keeps
         * one): half the transcendental calls for a lookup. */
        for (int32_t i = 0; i < m->dim; i += 2) {
            double u1 = taml_rng_uniform(&r), u2 = taml_rng_uniform(&r);
            if (u1 < 1e-300) u1 = 1e-300;
            double rad = sqrt(-2.0 * log(u1)) * scale, ang = 6.283185307179586 * u2;
            out[i] = (float)(rad * cos(ang));
            if (i + 1 < m->dim) out[i + 1] = (float)(rad * sin(ang));
        }
        return 1;
    }
    int64_t row = taml_module_find(m, word, len);
    if (row < 0) return 0;
    memcpy(out, taml_module_vector(m, row), (size_t)m->dim * sizeof *out);
    return 1;
}

/* ---- writing ---- */

struct taml_module_writer {
    int32_t dim;
    size_t n_meta, cap_meta;
    char **meta_key, **meta_val;
    taml_strmap *seen;
    char *words; /* NUL-terminated words back to back */
    size_t words_len, words_cap;
    uint64_t *index; /* (rows + 1) */
    float *vec;      /* (rows, dim) */
    int64_t rows, cap_rows;
};

/* Metadata values are single lines: control characters become spaces. */
static char *one_line(const char *s)
{
    char *c = taml_strdup(s ? s : "");
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return c;
}

static void meta_put(taml_module_writer *w, const char *key, const char *value)
{
    for (size_t i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta_key[i], key)) {
            free(w->meta_val[i]);
            w->meta_val[i] = one_line(value);
            return;
        }
    if (w->n_meta == w->cap_meta) {
        w->cap_meta = w->cap_meta ? 2 * w->cap_meta : 16;
        w->meta_key = taml_realloc(w->meta_key, w->cap_meta * sizeof *w->meta_key);
        w->meta_val = taml_realloc(w->meta_val, w->cap_meta * sizeof *w->meta_val);
    }
    w->meta_key[w->n_meta] = taml_strdup(key);
    w->meta_val[w->n_meta] = one_line(value);
    w->n_meta++;
}

taml_module_writer *taml_module_writer_new(int32_t dim, const taml_module_info *info)
{
    TAML_ASSERT(dim >= 1 && dim <= (1 << 20));
    taml_module_writer *w = taml_calloc(1, sizeof *w);
    w->dim = dim;
    taml_module_info none = {0};
    if (!info) info = &none;
    meta_put(w, "name", info->name);
    meta_put(w, "language", info->language);
    meta_put(w, "corpus", info->corpus);
    char tokens[32];
    snprintf(tokens, sizeof tokens, "%lld", (long long)info->corpus_tokens);
    meta_put(w, "corpus_tokens", tokens);
    meta_put(w, "algorithm", info->algorithm);
    meta_put(w, "source", info->source);
    meta_put(w, "license", info->license);
    w->seen = taml_strmap_new(1024);
    w->words_cap = 4096;
    w->words = taml_malloc(w->words_cap);
    w->cap_rows = 1024;
    w->index = taml_malloc((size_t)(w->cap_rows + 1) * sizeof *w->index);
    w->index[0] = 0;
    w->vec = taml_malloc((size_t)w->cap_rows * (size_t)dim * sizeof *w->vec);
    return w;
}

void taml_module_writer_free(taml_module_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta_key[i]);
        free(w->meta_val[i]);
    }
    free(w->meta_key);
    free(w->meta_val);
    taml_strmap_free(w->seen);
    free(w->words);
    free(w->index);
    free(w->vec);
    free(w);
}

int taml_module_writer_set(taml_module_writer *w, const char *key, const char *value,
                           taml_err *err)
{
    if (!*key) return taml_err_set(err, TAML_EINVAL, "empty metadata key");
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return taml_err_set(err, TAML_EINVAL,
                                "metadata key '%s': only a-z, 0-9 and _ are allowed", key);
    size_t n = strlen(value);
    if (taml_utf8_check(value, n) != n)
        return taml_err_set(err, TAML_EINVAL, "metadata %s: value is not UTF-8", key);
    meta_put(w, key, value);
    return TAML_OK;
}

int taml_module_writer_add(taml_module_writer *w, const char *word, size_t len, const float *vec,
                           taml_err *err)
{
    if (len == 0) return taml_err_set(err, TAML_EFORMAT, "empty word");
    size_t bad = taml_utf8_check(word, len);
    if (bad != len)
        return taml_err_set(err, TAML_EFORMAT, "word is not valid UTF-8 (byte %zu is 0x%02x)",
                            bad, (unsigned char)word[bad]);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)word[i] < 0x20 || word[i] == 0x7f)
            return taml_err_set(err, TAML_EFORMAT, "word contains control byte 0x%02x",
                                (unsigned char)word[i]);
    for (int32_t i = 0; i < w->dim; i++)
        if (!isfinite(vec[i]))
            return taml_err_set(err, TAML_EFORMAT, "component %d of '%.*s' is %s", (int)i + 1,
                                (int)(len > 64 ? 64 : len), word, isnan(vec[i]) ? "NaN" : "infinite");
    if (w->rows >= INT32_MAX - 1)
        return taml_err_set(err, TAML_EINVAL, "too many words (a module holds < 2^31)");
    if (taml_strmap_get(w->seen, word, len) >= 0) return 0;
    taml_strmap_put(w->seen, word, len, (int32_t)w->rows);
    if (w->rows == w->cap_rows) {
        w->cap_rows *= 2;
        w->index = taml_realloc(w->index, (size_t)(w->cap_rows + 1) * sizeof *w->index);
        w->vec = taml_realloc(w->vec, (size_t)w->cap_rows * (size_t)w->dim * sizeof *w->vec);
    }
    while (w->words_len + len + 1 > w->words_cap) w->words = taml_realloc(w->words, w->words_cap *= 2);
    memcpy(w->words + w->words_len, word, len);
    w->words[w->words_len + len] = '\0';
    w->words_len += len + 1;
    memcpy(w->vec + (size_t)w->rows * (size_t)w->dim, vec, (size_t)w->dim * sizeof *vec);
    w->rows++;
    w->index[w->rows] = w->words_len;
    return 1;
}

int64_t taml_module_writer_rows(const taml_module_writer *w) { return w->rows; }

/* A sequential writer that checksums what it writes. */
typedef struct sink {
    FILE *f;
    uint64_t off;
    uint32_t crc;
    int failed;
} sink;

static void emit(sink *s, const void *data, size_t n)
{
    if (n == 0) return;
    if (fwrite(data, 1, n, s->f) != n) s->failed = 1;
    s->crc = taml_crc32(s->crc, data, n);
    s->off += n;
}

static void pad_to(sink *s, uint64_t off)
{
    static const unsigned char zero[64];
    TAML_ASSERT(off >= s->off && off - s->off <= sizeof zero);
    emit(s, zero, (size_t)(off - s->off));
}

int taml_module_writer_finish(taml_module_writer *w, const char *path, taml_err *err)
{
    if (!host_is_little_endian())
        return taml_err_set(err, TAML_EMISMATCH, "taml modules are little-endian; this host is not");
    /* Metadata text. */
    size_t meta_len = 0;
    for (size_t i = 0; i < w->n_meta; i++)
        meta_len += strlen(w->meta_key[i]) + strlen(w->meta_val[i]) + 2;
    char *meta = taml_malloc(meta_len + 1);
    size_t mo = 0;
    for (size_t i = 0; i < w->n_meta; i++)
        mo += (size_t)sprintf(meta + mo, "%s=%s\n", w->meta_key[i], w->meta_val[i]);
    /* Hash table: load at most 1/2. */
    uint64_t rows = (uint64_t)w->rows, cap = 16;
    while (cap < 2 * rows + 1) cap *= 2;
    uint32_t *hash = taml_calloc((size_t)cap * 2, sizeof *hash);
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t a = w->index[r], len = w->index[r + 1] - a - 1;
        uint64_t h = taml_fnv1a(TAML_FNV_INIT, w->words + a, len), i = h & (cap - 1);
        while (hash[2 * i + 1]) i = (i + 1) & (cap - 1);
        hash[2 * i] = (uint32_t)(h >> 32);
        hash[2 * i + 1] = (uint32_t)(r + 1);
    }
    /* Layout. */
    uint64_t meta_off = HEADER_SIZE;
    uint64_t words_off = taml_align_up(meta_off + meta_len, 8);
    uint64_t index_off = taml_align_up(words_off + w->words_len, 8);
    uint64_t hash_off = index_off + (rows + 1) * 8;
    uint64_t matrix_off = taml_align_up(hash_off + cap * 8, 64);
    uint64_t matrix_len = rows * (uint64_t)w->dim * 4;
    uint64_t trailer_off = taml_align_up(matrix_off + matrix_len, 8);
    uint64_t file_size = trailer_off + TRAILER_SIZE;
    unsigned char hdr[HEADER_SIZE] = {0};
    memcpy(hdr, MAGIC, 8);
    wr32(hdr + 8, VERSION);
    wr32(hdr + 12, (uint32_t)w->dim);
    wr64(hdr + 16, rows);
    wr64(hdr + 24, file_size);
    wr64(hdr + 32, meta_off);
    wr64(hdr + 40, meta_len);
    wr64(hdr + 48, words_off);
    wr64(hdr + 56, w->words_len);
    wr64(hdr + 64, index_off);
    wr64(hdr + 72, hash_off);
    wr64(hdr + 80, cap);
    wr64(hdr + 88, matrix_off);
    wr64(hdr + 96, matrix_len);

    int rc = TAML_OK;
    char *tmp;
    sink s = {0};
    unsigned char tr[TRAILER_SIZE] = {0}; /* before the first goto out */
    s.f = taml_file_atomic_open(path, &tmp, err);
    if (!s.f) {
        rc = TAML_EIO;
        goto out;
    }
    emit(&s, hdr, sizeof hdr);
    emit(&s, meta, meta_len);
    pad_to(&s, words_off);
    emit(&s, w->words, w->words_len);
    pad_to(&s, index_off);
    emit(&s, w->index, (size_t)(rows + 1) * 8); /* host is little-endian (checked) */
    emit(&s, hash, (size_t)cap * 8);
    pad_to(&s, matrix_off);
    emit(&s, w->vec, (size_t)matrix_len);
    pad_to(&s, trailer_off);
    wr32(tr, s.crc);
    memcpy(tr + 8, END_MAGIC, 8);
    if (fwrite(tr, 1, sizeof tr, s.f) != sizeof tr) s.failed = 1;
    rc = taml_file_atomic_commit(s.f, tmp, path, s.failed, err);
out:
    free(meta);
    free(hash);
    return rc;
}
