/* fuzz/fuzz_module.c - fuzz target for the word-vector importers
 * (src/embed/import.c) and the module reader (src/embed/module.c).
 *
 * One input = its first byte picks what the rest is (byte % 6):
 *   0 word2vec-text, 1 fasttext-vec, 2 glove, 3 word2vec-bin: a vector file
 *     imported into a module, which must then open and find each of its
 *     words with the vector stored for it;
 *   4 vocab-f32: a vocabulary, with a fixed 24-float matrix beside it;
 *   5 a module file itself (either version): opening it must give a module
 *     or a clean error naming the file, and a module that opens must answer
 *     every lookup without reading outside the file. So that mutations
 *     reach the structural checks behind the checksum, the target writes
 *     the right size into the header (when the first byte's bit 3 is set:
 *     version 2's payload length, version 1's file size) and the right
 *     CRC-32 (version 2: the last 4 bytes; 1: the trailer's first 4 of 16)
 *     before opening.
 * Every failure must be a negative status with a message; sanitizers catch
 * the rest.
 *
 * Two builds:
 *   make fuzz                 -> build/fuzz/fuzz_module FILE|DIR...: replays a
 *                                corpus (fuzz/corpus/module/) and prints a tally
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_module.c src/core/[a-z]*.c src/data/tokenise.c src/embed/[a-z]*.c \
 *     -lcjson -lutf8proc -lz -lm -o fuzz_module && ./fuzz_module -max_total_time=300 fuzz/corpus/module
 *                              -> coverage-guided fuzzing with libFuzzer
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/util.h"
#include "embed/import.h"
#include "embed/module.h"
#include "replay.h"

static char *root;

static void put(const char *name, const void *data, size_t size)
{
    char *p = taml_path_join(root, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    free(p);
}

static void setup(void)
{
    if (root) return;
    char tmpl[] = "/tmp/taml-fuzz-module-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    root = taml_strdup(tmpl);
    float m[24];
    for (int i = 0; i < 24; i++) m[i] = (float)i * 0.5f - 3;
    put("in.f32", m, sizeof m);
}

/* Every word of a module the writer made is found at its own row. A file
 * made by hand (kind 5) that passes the checks is only promised memory
 * safety: a hash table that does not match the words finds them elsewhere
 * or not at all (the checksum keeps such files from happening by accident). */
static void check_module(const taml_module *m, int strict)
{
    int64_t rows = taml_module_rows(m);
    int32_t dim = taml_module_dim(m);
    float *v = malloc((size_t)dim * sizeof *v);
    for (int64_t r = 0; r < rows; r++) {
        const char *w = taml_module_word(m, r);
        int64_t at = taml_module_find(m, w, strlen(w));
        if (at < -1 || at >= rows) abort();
        if (!strict) {
            taml_module_lookup(m, w, strlen(w), v);
            continue;
        }
        if (at != r) abort();
        if (!taml_module_lookup(m, w, strlen(w), v)) abort();
        if (memcmp(v, taml_module_vector(m, r), (size_t)dim * sizeof *v) != 0) abort();
    }
    taml_module_lookup(m, "absent-word", 11, v);
    free(v);
}

/* Returns 1 when the input gave a module, 0 when it was refused. */
static int run_one(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0) return 0;
    int kind = data[0] % 6;
    char *in = taml_path_join(root, kind == 4 ? "in.vocab" : "in.txt");
    char *out = taml_path_join(root, "out.tamlm");
    size_t n = size - 1;
    int v1 = n >= 12 && taml_bytes_load_u32(data + 9) == 1;
    if (kind == 5 && n >= (v1 ? 128 + 16 : TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL)) {
        /* Make the size and checksum agree with the mutated bytes. */
        unsigned char *b = malloc(n);
        memcpy(b, data + 1, n);
        if ((data[0] & 8) && v1) taml_bytes_store_u64(b + 24, n);
        if ((data[0] & 8) && !v1)
            taml_bytes_store_u64(b + 16, n - TAML_ENVELOPE_HEAD - TAML_ENVELOPE_TAIL);
        size_t tail = v1 ? 16 : TAML_ENVELOPE_TAIL;
        taml_bytes_store_u32(b + n - tail, taml_crc32(0, b, n - tail));
        put("in.txt", b, n);
        free(b);
    } else {
        put(kind == 4 ? "in.vocab" : "in.txt", data + 1, size - 1);
    }
    taml_err err;
    taml_err_clear(&err);
    int rc;
    const char *path = out;
    taml_module *m = NULL; /* before the goto done */
    if (kind < 5) {
        static const taml_vec_format fmt[] = {TAML_VEC_WORD2VEC_TEXT, TAML_VEC_FASTTEXT_VEC,
                                              TAML_VEC_GLOVE, TAML_VEC_WORD2VEC_BIN,
                                              TAML_VEC_VOCAB_F32};
        taml_import_opts o = {.format = fmt[kind]};
        taml_module_info info = {.name = "fuzz", .language = "en"};
        rc = taml_module_import(in, &o, &info, out, NULL, &err);
        if (rc < 0 && (err.msg[0] == '\0' || err.code != rc)) abort();
        if (rc < 0) goto done;
    } else {
        path = in;
    }
    taml_err_clear(&err);
    rc = taml_module_open(&m, path, NULL, &err);
    if (rc == 0) {
        check_module(m, kind < 5);
    } else if (m != NULL || err.msg[0] == '\0' || err.code != rc || kind < 5 ||
               strncmp(err.msg, path, strlen(path)) != 0) {
        abort(); /* a module the writer made must open; a refusal names the file */
    }
    taml_module_close(m);
done:
    free(in);
    free(out);
    return rc == 0;
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
static void cleanup(void) { taml_fuzz_remove_tree(root); }

const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays fuzz inputs through the importers and the module reader",
    .accepted = "gave a module",
    .run_one = run_one,
    .cleanup = cleanup,
};
#endif
