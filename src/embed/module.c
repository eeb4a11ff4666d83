/* embed/module.c - the embedding-module file: writer, mmap reader, word
 * lookup through an on-disk hash table, and the built-in random-D baseline
 * (see module.h).
 *
 * File format, version 2 (written): the envelope of core/bytes.h, read in
 * place, every offset from the start of the file (all integers
 * little-endian):
 *
 *   0    envelope header (24 bytes): "TAMLMODL", u32 version 2, u32 flags 0,
 *        u64 payload length (the file is that + 28 bytes)
 *   24   section table (88 bytes; 104 for an image module)
 *          u32      dim
 *          u32      kind: 0 text, 1 image
 *          u64      rows
 *          u64      meta_off, meta_len      "key=value\n" lines, UTF-8
 *          u64      words_off, words_len    rows NUL-terminated words
 *          u64      index_off               (rows + 1) u64 word offsets
 *          u64      hash_off, hash_cap      hash_cap slots {u32 tag, u32 row + 1}
 *          u64      matrix_off, matrix_len  (rows, dim) float32
 *          image only:
 *          u64      graph_off, graph_len    the layer graph (image_graph.h)
 *   112  the sections in the order above, zero padding between them so
 *        that the index and the hash table start at multiples of 8 and the
 *        matrix at a multiple of 64; the payload ends with the matrix
 *   end  u32 CRC-32 of every byte before it
 *
 * An image module (kind 1) has rows 0, dim = its features after pooling, no
 * words, index or hash table (offsets and lengths 0), the graph section at a
 * multiple of 8 after the metadata (from 128), and the weights as the matrix
 * (n_weights float32, 64-aligned, read in place). Opening decodes the graph
 * (a few kilobytes) and resolves every shape (embed/image_graph.h), so a
 * graph that does not fit together is refused naming the file and the op.
 *
 * Version 1 (read only; the default library was built in it): a 128-byte
 * header "TAMLMODL" | u32 version 1 | u32 dim | u64 rows | u64 file_size |
 * the eight section fields above (meta_off .. matrix_len, from offset 32) |
 * zeros to 128, the same sections from offset 128 (the matrix 64-aligned),
 * then zeros to a multiple of 8 and a 16-byte trailer: u32 CRC-32 of every
 * byte before the trailer, u32 0, "TAMLMEND".
 *
 * The hash table makes opening independent of the vocabulary size: nothing is
 * built at open; the cost is one pass of CRC-32 over the file (which also
 * brings it into the page cache) and O(rows) bounds checks, so that a file
 * that passes them can never make a lookup read outside the mapping. Slots are
 * probed linearly from fnv1a64(word) & (cap - 1); the tag is the hash's high
 * 32 bits, so most mismatches are rejected without touching the words. A
 * refusal names the file, the offset and the field ("m.tamlm: offset 56:
 * words length: ..."), or is a checksum mismatch of the file.
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

#include "core/bytes.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "core/utf8.h"
#include "core/util.h"
#include "embed/image_graph.h"

#define MAGIC "TAMLMODL"
#define VERSION 2u
#define WHAT "taml module"
#define TABLE_END 112 /* version 2: the sections start here */
#define TABLE_END_IMAGE 128 /* ... and here in an image module */
#define OFF_MATRIX_LEN 104  /* the table's fields, for messages */
#define OFF_GRAPH_OFF 112
#define V1_END_MAGIC "TAMLMEND"
#define V1_HEADER 128
#define V1_TRAILER 16
#define MAX_RANDOM_DIM 65536

struct taml_module {
    char *path;
    int32_t dim;
    int64_t rows;
    int kind; /* TAML_MODULE_TEXT or TAML_MODULE_IMAGE */
    uint32_t crc32; /* the CRC-32 stored in the file (checked at open); 0 for random-D */
    taml_image_graph graph; /* image modules: decoded at open, weights in the map */
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
    taml_image_graph_deinit(&m->graph);
    free_meta(m);
    free(m->path);
    free(m->random_name);
    free(m);
}

/* The metadata lines at file offset off (len bytes, UTF-8 checked). */
static int parse_meta(taml_module *m, uint64_t off, const char *text, size_t len, taml_err *err)
{
    size_t cap = 16;
    m->meta_key = taml_malloc(cap * sizeof *m->meta_key);
    m->meta_val = taml_malloc(cap * sizeof *m->meta_val);
    size_t i = 0;
    while (i < len) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        if (!nl)
            return taml_bytes_error(err, TAML_ECORRUPT, m->path, off + i, "metadata",
                                    "does not end with a newline");
        const char *eq = memchr(line, '=', (size_t)(nl - line));
        if (!eq || eq == line)
            return taml_bytes_error(err, TAML_ECORRUPT, m->path, off + i, "metadata",
                                    "a line without key=value");
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

/* The section table, read from either version's header; [lo, hi) is where
 * the sections may lie. */
typedef struct layout {
    uint64_t dim, kind, rows;
    uint64_t meta_off, meta_len, words_off, words_len, index_off, hash_off, hash_cap;
    uint64_t matrix_off, matrix_len;
    uint64_t graph_off, graph_len; /* image modules */
    uint64_t lo, hi;
} layout;

/* Refuses a section of n bytes at off outside [lo, hi) or not a multiple
 * of align, as a failure of the field just read. */
static void check_section(taml_bytes_reader *r, const layout *L, const char *field, uint64_t off,
                          uint64_t n, uint64_t align)
{
    if (!taml_bytes_ok(r)) return;
    if (off < L->lo || off > L->hi || n > L->hi - off)
        taml_bytes_fail(r, TAML_ECORRUPT, field,
                        "the section %llu + %llu bytes is outside the file's sections %llu .. %llu",
                        (unsigned long long)off, (unsigned long long)n, (unsigned long long)L->lo,
                        (unsigned long long)L->hi);
    else if (off % align)
        taml_bytes_fail(r, TAML_ECORRUPT, field, "the section offset %llu is not a multiple of %llu",
                        (unsigned long long)off, (unsigned long long)align);
}

/* An image module's table: no words, index or hash table; the weights'
 * length is checked against the graph once it is decoded. */
static void read_image_table(taml_bytes_reader *r, layout *L)
{
    if (taml_bytes_ok(r) && L->rows != 0)
        taml_bytes_fail(r, TAML_ECORRUPT, "rows", "%llu in an image module (0 expected)",
                        (unsigned long long)L->rows);
    L->meta_off = taml_bytes_u64(r, "metadata offset");
    L->meta_len = taml_bytes_u64(r, "metadata length");
    check_section(r, L, "metadata length", L->meta_off, L->meta_len, 1);
    static const char *const none[] = {"words offset", "words length", "word index offset",
                                       "hash offset", "hash slots"};
    for (int i = 0; i < 5; i++) {
        uint64_t v = taml_bytes_u64(r, none[i]);
        if (v != 0 && taml_bytes_ok(r))
            taml_bytes_fail(r, TAML_ECORRUPT, none[i], "%llu in an image module (0 expected)",
                            (unsigned long long)v);
    }
    L->matrix_off = taml_bytes_u64(r, "matrix offset");
    L->matrix_len = taml_bytes_u64(r, "matrix length");
    if (taml_bytes_ok(r) && L->matrix_len % 4)
        taml_bytes_fail(r, TAML_ECORRUPT, "matrix length", "%llu bytes is not whole floats",
                        (unsigned long long)L->matrix_len);
    check_section(r, L, "matrix length", L->matrix_off, L->matrix_len, 64);
    L->graph_off = taml_bytes_u64(r, "graph offset");
    L->graph_len = taml_bytes_u64(r, "graph length");
    check_section(r, L, "graph length", L->graph_off, L->graph_len, 8);
}

/* The table's fields from dim on, r at dim; version 1 has the file size
 * after rows (checked before: skipped), version 2 the kind after dim. */
static void read_table(taml_bytes_reader *r, int version, layout *L)
{
    L->dim = taml_bytes_u32(r, "dim");
    L->kind = version == 2 ? taml_bytes_u32(r, "kind") : TAML_MODULE_TEXT;
    if (taml_bytes_ok(r) && L->kind != TAML_MODULE_TEXT && L->kind != TAML_MODULE_IMAGE)
        taml_bytes_fail(r, TAML_ECORRUPT, "kind", "%llu (0 text or 1 image expected)",
                        (unsigned long long)L->kind);
    L->rows = taml_bytes_u64(r, "rows");
    if (L->kind == TAML_MODULE_IMAGE) {
        if (taml_bytes_ok(r) && (L->dim < 1 || L->dim > (1u << 20)))
            taml_bytes_fail(r, TAML_ECORRUPT, "dim", "%llu (1 .. 2^20 expected)",
                            (unsigned long long)L->dim);
        read_image_table(r, L);
        return;
    }
    if (taml_bytes_ok(r) && (L->dim < 1 || L->dim > (1u << 20) || L->rows > INT32_MAX))
        taml_bytes_fail(r, TAML_ECORRUPT, "rows", "bad shape (%llu rows, dim %llu)",
                        (unsigned long long)L->rows, (unsigned long long)L->dim);
    if (version == 1) taml_bytes_u64(r, "file size");
    L->meta_off = taml_bytes_u64(r, "metadata offset");
    L->meta_len = taml_bytes_u64(r, "metadata length");
    check_section(r, L, "metadata length", L->meta_off, L->meta_len, 1);
    L->words_off = taml_bytes_u64(r, "words offset");
    L->words_len = taml_bytes_u64(r, "words length");
    check_section(r, L, "words length", L->words_off, L->words_len, 1);
    L->index_off = taml_bytes_u64(r, "word index offset");
    check_section(r, L, "word index offset", L->index_off, (L->rows + 1) * 8, 8);
    L->hash_off = taml_bytes_u64(r, "hash offset");
    L->hash_cap = taml_bytes_u64(r, "hash slots");
    if (taml_bytes_ok(r) && (L->hash_cap > (1ull << 40) || L->hash_cap < L->rows + 1 ||
                             (L->hash_cap & (L->hash_cap - 1))))
        taml_bytes_fail(r, TAML_ECORRUPT, "hash slots",
                        "%llu slots for %llu words (a power of two > rows expected)",
                        (unsigned long long)L->hash_cap, (unsigned long long)L->rows);
    check_section(r, L, "hash slots", L->hash_off, L->hash_cap * 8, 8);
    L->matrix_off = taml_bytes_u64(r, "matrix offset");
    L->matrix_len = taml_bytes_u64(r, "matrix length");
    if (taml_bytes_ok(r) && L->matrix_len != L->rows * L->dim * 4)
        taml_bytes_fail(r, TAML_ECORRUPT, "matrix length", "%llu bytes for %llu x %llu floats",
                        (unsigned long long)L->matrix_len, (unsigned long long)L->rows,
                        (unsigned long long)L->dim);
    check_section(r, L, "matrix length", L->matrix_off, L->matrix_len, 64);
}

/* Version 1's framing: size, trailer, CRC; then its table. */
static int open_v1(taml_module *m, layout *L, taml_err *err)
{
    const unsigned char *p = m->map;
    const size_t size = m->map_size;
    const char *path = m->path;
    taml_bytes_reader r;
    taml_bytes_reader_init(&r, p, size, path);
    taml_bytes_take(&r, 24, "header");
    uint64_t file_size = taml_bytes_u64(&r, "file size");
    if (taml_bytes_ok(&r) && file_size != size)
        taml_bytes_fail(&r, TAML_ECORRUPT, "file size",
                        "the header says %llu bytes but the file has %zu (%s); re-import or "
                        "rebuild the module",
                        (unsigned long long)file_size, size,
                        size < file_size ? "truncated" : "extra bytes at the end");
    taml_bytes_take(&r, V1_HEADER - 32, "header");
    if (!taml_bytes_ok(&r) || size < V1_HEADER + V1_TRAILER) {
        taml_bytes_take(&r, V1_TRAILER, "trailer");
        return taml_bytes_status(&r, err);
    }
    const unsigned char *tr = p + size - V1_TRAILER;
    if (memcmp(tr + 8, V1_END_MAGIC, 8) != 0 || taml_bytes_load_u32(tr + 4) != 0)
        return taml_bytes_error(err, TAML_ECORRUPT, path, size - 12, "trailer",
                                "not 0 and \"" V1_END_MAGIC "\" (damaged file)");
    uint32_t want = taml_bytes_load_u32(tr), got = taml_crc32(0, p, size - V1_TRAILER);
    if (want != got)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: " WHAT " checksum mismatch (stored crc32 %08x, computed %08x): "
                            "the file is corrupted; re-import or rebuild the module",
                            path, want, got);
    /* From here on the bytes are what a writer wrote; the checks below guard
     * against a file written by something else that happens to carry a
     * valid checksum. */
    L->lo = V1_HEADER;
    L->hi = size - V1_TRAILER;
    taml_bytes_reader_init(&r, p, V1_HEADER, path);
    taml_bytes_take(&r, 12, "header");
    read_table(&r, 1, L);
    return taml_bytes_status(&r, err);
}

/* Version 2: the envelope (size, CRC), then its table. */
static int open_v2(taml_module *m, layout *L, taml_err *err)
{
    taml_envelope env;
    taml_bytes_reader r;
    int rc = taml_envelope_open_payload(m->map, m->map_size, m->path, MAGIC, WHAT, &env, &r, err);
    if (rc) return rc;
    L->lo = TABLE_END;
    L->hi = TAML_ENVELOPE_HEAD + env.size;
    /* The kind decides where the sections may start: peek at it. */
    if (env.size >= 8 && taml_bytes_load_u32(m->map + 28) == TAML_MODULE_IMAGE)
        L->lo = TABLE_END_IMAGE;
    read_table(&r, 2, L);
    return taml_bytes_status(&r, err);
}

/* An image module's graph: decoded from its section, its weights the
 * matrix, every shape resolved; a refusal names the file and the offset,
 * or the op. */
static int open_graph(taml_module *m, const layout *L, taml_err *err)
{
    taml_bytes_reader r;
    taml_bytes_reader_init(&r, m->map, (size_t)(L->graph_off + L->graph_len), m->path);
    taml_bytes_take(&r, (size_t)L->graph_off, "header");
    taml_image_graph_decode(&m->graph, &r);
    taml_bytes_expect_end(&r, "the graph");
    int rc = taml_bytes_status(&r, err);
    if (rc) return rc;
    taml_image_graph *g = &m->graph;
    if ((uint64_t)g->n_weights != L->matrix_len / 4)
        return taml_bytes_error(err, TAML_ECORRUPT, m->path, OFF_MATRIX_LEN, "matrix length",
                                "%llu floats, the graph says %lld",
                                (unsigned long long)(L->matrix_len / 4), (long long)g->n_weights);
    g->weights = (const float *)(m->map + L->matrix_off);
    if ((rc = taml_image_graph_resolve(g, m->path, err))) return rc;
    if (g->dim != m->dim)
        return taml_bytes_error(err, TAML_ECORRUPT, m->path, 24, "dim",
                                "%d, the graph gives %d features", (int)m->dim, (int)g->dim);
    return TAML_OK;
}

/* Checks the mapped file and sets the views; every offset a lookup can follow
 * is bounds-checked here. */
static int validate(taml_module *m, taml_err *err)
{
    const unsigned char *p = m->map;
    const size_t size = m->map_size;
    const char *path = m->path;
    if (size >= 8 && memcmp(p, MAGIC, 8) != 0)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: not a taml module (no \"" MAGIC "\" header; import word vectors "
                            "with `taml embed import`)",
                            path);
    uint32_t version = VERSION;
    layout L;
    int rc;
    taml_envelope_peek(p, size, MAGIC, &version);
    if (version == 1)
        rc = open_v1(m, &L, err);
    else if (version != VERSION)
        rc = taml_bytes_error(err, TAML_EMISMATCH, path, 8, "version",
                              "module format version %u, this taml reads versions 1 and %u",
                              version, VERSION);
    else
        rc = open_v2(m, &L, err);
    if (rc) return rc;
    uint64_t rows = L.rows;
    m->dim = (int32_t)L.dim;
    m->rows = (int64_t)rows;
    m->kind = (int)L.kind;
    if (m->kind == TAML_MODULE_IMAGE) {
        const char *meta = (const char *)p + L.meta_off;
        size_t bad = taml_utf8_check(meta, L.meta_len);
        if (bad != L.meta_len)
            return taml_bytes_error(err, TAML_ECORRUPT, path, L.meta_off + bad, "metadata",
                                    "not UTF-8");
        if ((rc = parse_meta(m, L.meta_off, meta, L.meta_len, err))) return rc;
        return open_graph(m, &L, err);
    }
    m->words = (const char *)p + L.words_off;
    m->index = (const uint64_t *)(p + L.index_off);
    m->hash = (const uint32_t *)(p + L.hash_off);
    m->hash_cap = L.hash_cap;
    m->matrix = (const float *)(p + L.matrix_off);
    /* Words: offsets increasing, each word NUL-terminated and non-empty. */
    if (m->index[0] != 0 || m->index[rows] != L.words_len)
        return taml_bytes_error(err, TAML_ECORRUPT, path, L.index_off, "word index",
                                "does not cover the words");
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t a = m->index[r], b = m->index[r + 1];
        if (b < a + 2 || b > L.words_len || m->words[b - 1] != '\0')
            return taml_bytes_error(err, TAML_ECORRUPT, path, L.index_off + 8 * r, "word index",
                                    "word %llu is malformed", (unsigned long long)r);
    }
    uint64_t used = 0; /* at least one empty slot, or a probe would never end */
    for (uint64_t s = 0; s < L.hash_cap; s++) {
        if (m->hash[2 * s + 1] > rows)
            return taml_bytes_error(err, TAML_ECORRUPT, path, L.hash_off + 8 * s, "hash table",
                                    "slot %llu names a missing row", (unsigned long long)s);
        used += m->hash[2 * s + 1] != 0;
    }
    if (used != rows)
        return taml_bytes_error(err, TAML_ECORRUPT, path, L.hash_off, "hash table",
                                "holds %llu words, not %llu", (unsigned long long)used,
                                (unsigned long long)rows);
    const char *meta = (const char *)p + L.meta_off;
    size_t bad = taml_utf8_check(meta, L.meta_len);
    if (bad != L.meta_len)
        return taml_bytes_error(err, TAML_ECORRUPT, path, L.meta_off + bad, "metadata",
                                "not UTF-8");
    return parse_meta(m, L.meta_off, meta, L.meta_len, err);
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
        rc = taml_err_set(err, TAML_EIO, "%s: %s, not a module file", path,
                          S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
        goto fail;
    }
    if (st.st_size == 0) { /* nothing to map */
        close(fd);
        rc = taml_bytes_error(err, TAML_ECORRUPT, path, 0, "magic",
                              "truncated (an empty file is not a taml module)");
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
    /* validate checked it: version 1 keeps it in its 16-byte trailer,
     * version 2 in the envelope's last 4 bytes */
    m->crc32 = taml_bytes_load_u32(m->map + m->map_size -
                                   (taml_bytes_load_u32(m->map + 8) == 1 ? 16 : 4));
    *out = m;
    return TAML_OK;
fail:
    taml_module_close(m);
    return rc;
}

/* The file a module name or path stands for (heap, *path), by the rule of
 * module.h: a path when it looks like one (or names an existing file), else
 * NAME.tamlm in the library. random-D and the empty name are the caller's. */
static int resolve(const char *name_or_path, const char *library, char **path, taml_err *err)
{
    *path = NULL;
    if (strchr(name_or_path, '/') || taml_is_file(name_or_path)) {
        *path = taml_strdup(name_or_path);
        return TAML_OK;
    }
    size_t n = strlen(name_or_path);
    if (taml_is_dir(name_or_path))
        return taml_err_set(err, TAML_EINVAL, "%s: a directory, not a module file (a module is "
                                              "a .tamlm file, or a name in the library)",
                            name_or_path);
    if (n > 6 && !strcmp(name_or_path + n - 6, ".tamlm"))
        return taml_err_set(err, TAML_ENOTFOUND,
                            "%s: no such module file (a module is a path to a .tamlm file, or "
                            "the name of one in the library: NAME for NAME.tamlm)",
                            name_or_path);

    if (!library || !*library)
        return taml_err_set(err, TAML_ENOTFOUND,
                            "module '%s' not found: it is neither a file nor random-D, and no "
                            "module library was given to find it by name",
                            name_or_path);
    char *file = taml_asprintf("%s/%s.tamlm", library, name_or_path);
    if (!taml_is_file(file) && !strncmp(name_or_path, "random-", 7) && n > 7 &&
        strspn(name_or_path + 7, "0123456789") == n - 7) {
        free(file);
        return taml_err_set(err, TAML_EINVAL,
                            "module '%s': random-D needs D in 1..%d (no leading zero), and the "
                            "library has no module of that name",
                            name_or_path, MAX_RANDOM_DIM);
    }
    if (!taml_is_file(file)) {
        int rc = taml_err_set(err, TAML_ENOTFOUND,
                              "module '%s' not found: no %s (`taml embed list` shows what the "
                              "library holds, `taml embed build-defaults` builds the default one)",
                              name_or_path, file);
        free(file);
        return rc;
    }
    *path = file;
    return TAML_OK;
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
    char *file;
    int rc = resolve(name_or_path, library, &file, err);
    if (rc) return rc;
    rc = open_file(out, file, err);
    free(file);
    return rc;
}

int taml_module_stamp_get(taml_module_stamp *out, const char *name_or_path, const char *library,
                          taml_err *err)
{
    memset(out, 0, sizeof *out);
    if (taml_module_parse_random(name_or_path, NULL)) return 0;
    if (!*name_or_path) return taml_err_set(err, TAML_EINVAL, "empty module name");
    int rc = resolve(name_or_path, library, &out->path, err);
    if (rc) return rc;
    /* the magic and version at the start, the stored CRC at the end: where
     * it is depends on the version (module.c's top) */
    unsigned char head[32], tail[16];
    FILE *f = fopen(out->path, "rb");
    if (!f) {
        rc = taml_err_set(err, errno == ENOENT ? TAML_ENOTFOUND : TAML_EIO, "%s: cannot open: %s",
                          out->path, strerror(errno));
        taml_module_stamp_deinit(out);
        return rc;
    }
    int ok = fread(head, 1, sizeof head, f) == sizeof head && fseeko(f, 0, SEEK_END) == 0;
    off_t size = ok ? ftello(f) : -1;
    ok = ok && size >= (off_t)(V1_HEADER + V1_TRAILER) &&
         fseeko(f, size - (off_t)sizeof tail, SEEK_SET) == 0 &&
         fread(tail, 1, sizeof tail, f) == sizeof tail;
    fclose(f);
    uint32_t version = taml_bytes_load_u32(head + 8);
    if (!ok || memcmp(head, MAGIC, 8) != 0 || (version != 1 && version != VERSION)) {
        rc = taml_err_set(err, TAML_ECORRUPT,
                          "%s: not a taml module of version 1 or %u (no \"" MAGIC "\" header, "
                          "another version, or shorter than a module)",
                          out->path, VERSION);
        taml_module_stamp_deinit(out);
        return rc;
    }
    out->size = (uint64_t)size;
    out->crc32 = taml_bytes_load_u32(version == 1 ? tail : tail + 12);
    /* version 2: the section table's kind (a value open would refuse is
     * left to open; 0 here); version 1 is text */
    out->kind = version != 1 && taml_bytes_load_u32(head + 28) == TAML_MODULE_IMAGE
                    ? TAML_MODULE_IMAGE
                    : TAML_MODULE_TEXT;
    return 1;
}

void taml_module_stamp_deinit(taml_module_stamp *s)
{
    if (!s) return;
    free(s->path);
    memset(s, 0, sizeof *s);
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
int taml_module_kind(const taml_module *m) { return m->kind; }

const char *taml_module_kind_name(int kind)
{
    return kind == TAML_MODULE_IMAGE ? "image" : "text";
}

const taml_image_graph *taml_module_image(const taml_module *m)
{
    return m->kind == TAML_MODULE_IMAGE ? &m->graph : NULL;
}

int taml_module_expect_kind(const taml_module *m, int kind, const char *task, taml_err *err)
{
    if (m->kind == kind) return TAML_OK;
    return taml_err_set(err, TAML_EMISMATCH,
                        "module '%s' is %s; task '%s' is %s task: it needs %s module",
                        taml_module_name(m),
                        m->kind == TAML_MODULE_IMAGE ? "an image module (a CNN feature extractor)"
                                                     : "a text module (word vectors)",
                        task, kind == TAML_MODULE_IMAGE ? "an image" : "a text",
                        kind == TAML_MODULE_IMAGE ? "an image" : "a text");
}
int64_t taml_module_rows(const taml_module *m) { return m->random ? 0 : m->rows; }
uint32_t taml_module_checksum(const taml_module *m) { return m->crc32; }
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
    int kind;
    taml_bytes_writer graph; /* image: the encoded graph section */
    int64_t n_weights;       /* image: floats in vec */
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

taml_module_writer *taml_module_writer_new_image(const taml_image_graph *g, const char *name)
{
    TAML_ASSERT(g->dim >= 1 && g->dim <= (1 << 20) && g->n_weights >= 0);
    taml_module_writer *w = taml_calloc(1, sizeof *w);
    w->dim = g->dim;
    w->kind = TAML_MODULE_IMAGE;
    meta_put(w, "name", name);
    meta_put(w, "kind", "image");
    taml_bytes_writer_init(&w->graph);
    taml_image_graph_encode(g, &w->graph);
    w->n_weights = g->n_weights;
    w->vec = taml_malloc((size_t)(g->n_weights ? g->n_weights : 1) * sizeof *w->vec);
    if (g->n_weights) memcpy(w->vec, g->weights, (size_t)g->n_weights * sizeof *w->vec);
    return w;
}

void taml_module_writer_free(taml_module_writer *w)
{
    if (!w) return;
    taml_bytes_writer_deinit(&w->graph);
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
    if (w->kind == TAML_MODULE_IMAGE)
        return taml_err_set(err, TAML_EINVAL, "an image module has no words");
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
    /* Layout: offsets from the start of the file (see the top). */
    uint64_t meta_off = TABLE_END;
    uint64_t words_off = meta_off + meta_len;
    uint64_t index_off = taml_align_up(words_off + w->words_len, 8);
    uint64_t hash_off = index_off + (rows + 1) * 8;
    uint64_t matrix_off = taml_align_up(hash_off + cap * 8, 64);
    uint64_t matrix_len = rows * (uint64_t)w->dim * 4;
    uint64_t graph_off = 0;
    if (w->kind == TAML_MODULE_IMAGE) { /* no words, index, hash (module.c's top) */
        meta_off = TABLE_END_IMAGE;
        words_off = index_off = hash_off = cap = 0;
        graph_off = taml_align_up(meta_off + meta_len, 8);
        matrix_off = taml_align_up(graph_off + w->graph.n, 64);
        matrix_len = (uint64_t)w->n_weights * 4;
    }
    uint64_t payload = matrix_off + matrix_len - TAML_ENVELOPE_HEAD;
    taml_bytes_writer hdr;
    taml_bytes_writer_init(&hdr);
    taml_bytes_put_zeros(&hdr, TAML_ENVELOPE_HEAD);
    taml_envelope_header(hdr.p, MAGIC, VERSION, 0, payload);
    taml_bytes_put_u32(&hdr, (uint32_t)w->dim);
    taml_bytes_put_u32(&hdr, (uint32_t)w->kind);
    taml_bytes_put_u64(&hdr, rows);
    taml_bytes_put_u64(&hdr, meta_off);
    taml_bytes_put_u64(&hdr, meta_len);
    taml_bytes_put_u64(&hdr, words_off);
    taml_bytes_put_u64(&hdr, w->words_len);
    taml_bytes_put_u64(&hdr, index_off);
    taml_bytes_put_u64(&hdr, hash_off);
    taml_bytes_put_u64(&hdr, cap);
    taml_bytes_put_u64(&hdr, matrix_off);
    taml_bytes_put_u64(&hdr, matrix_len);
    if (w->kind == TAML_MODULE_IMAGE) {
        taml_bytes_put_u64(&hdr, graph_off);
        taml_bytes_put_u64(&hdr, w->graph.n);
    }
    TAML_ASSERT(hdr.n == (w->kind == TAML_MODULE_IMAGE ? TABLE_END_IMAGE : TABLE_END));

    int rc = TAML_OK;
    char *tmp;
    sink s = {0};
    unsigned char crc[TAML_ENVELOPE_TAIL]; /* before the first goto out */
    s.f = taml_file_atomic_open(path, &tmp, err);
    if (!s.f) {
        rc = TAML_EIO;
        goto out;
    }
    emit(&s, hdr.p, hdr.n);
    emit(&s, meta, meta_len);
    if (w->kind == TAML_MODULE_IMAGE) {
        pad_to(&s, graph_off);
        emit(&s, w->graph.p, w->graph.n);
    } else {
        emit(&s, w->words, w->words_len);
        pad_to(&s, index_off);
        emit(&s, w->index, (size_t)(rows + 1) * 8); /* host is little-endian (checked) */
        emit(&s, hash, (size_t)cap * 8);
    }
    pad_to(&s, matrix_off);
    emit(&s, w->vec, (size_t)matrix_len);
    taml_bytes_store_u32(crc, s.crc);
    if (fwrite(crc, 1, sizeof crc, s.f) != sizeof crc) s.failed = 1;
    rc = taml_file_atomic_commit(s.f, tmp, path, s.failed, err);
out:
    taml_bytes_writer_deinit(&hdr);
    free(meta);
    free(hash);
    return rc;
}
