/* tests/test_module.c - the embedding-module file (embed/module.h): round
 * trip, refusal of damaged files, lookup, the random-D baseline, names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/util.h"
#include "embed/module.h"
#include "format_check.h"
#include "test.h"

static char *write_small(const char *name)
{
    taml_module_info info = {.name = "tiny", .language = "en", .corpus = "a test\nfixture",
                             .algorithm = "hand", .source = "tests", .license = "CC0",
                             .corpus_tokens = 12345};
    taml_module_writer *w = taml_module_writer_new(3, &info);
    taml_err err;
    const float king[3] = {1, 2, 3}, queen[3] = {-1, 0.5f, 1e-7f}, dup[3] = {9, 9, 9};
    const float cafe[3] = {0, 0, -2};
    CHECK_EQ_INT(taml_module_writer_add(w, "king", 4, king, &err), 1);
    CHECK_EQ_INT(taml_module_writer_add(w, "queen", 5, queen, &err), 1);
    CHECK_EQ_INT(taml_module_writer_add(w, "king", 4, dup, &err), 0);
    CHECK_EQ_INT(taml_module_writer_add(w, "caf\xc3\xa9", 5, cafe, &err), 1);
    CHECK_EQ_INT(taml_module_writer_set(w, "dropped_words", "7", &err), 0);
    CHECK_EQ_INT(taml_module_writer_rows(w), 3);
    char *path = taml_path_join(taml_test_tmpdir(), name);
    CHECK_EQ_INT(taml_module_writer_finish(w, path, &err), 0);
    taml_module_writer_free(w);
    return path;
}

TEST(module_round_trip_keeps_words_vectors_and_metadata)
{
    char *path = write_small("tiny.tamlm");
    taml_module *m;
    taml_err err;
    CHECK_EQ_INT(taml_module_open(&m, path, NULL, &err), 0);
    CHECK_STR(taml_module_name(m), "tiny");
    CHECK_STR(taml_module_language(m), "en");
    CHECK_EQ_INT(taml_module_dim(m), 3);
    CHECK_EQ_INT(taml_module_rows(m), 3);
    CHECK_EQ_INT(taml_module_corpus_tokens(m), 12345);
    CHECK_STR(taml_module_meta(m, "corpus"), "a test fixture"); /* newline flattened */
    CHECK_STR(taml_module_meta(m, "license"), "CC0");
    CHECK_STR(taml_module_meta(m, "dropped_words"), "7");
    CHECK_STR(taml_module_meta(m, "no_such_key"), "");
    CHECK_EQ_INT(taml_module_meta_count(m), 8);
    float v[3] = {0};
    CHECK_EQ_INT(taml_module_lookup(m, "king", 4, v), 1);
    CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3); /* the first "king" won */
    CHECK_EQ_INT(taml_module_lookup(m, "queen", 5, v), 1);
    CHECK(v[0] == -1 && v[1] == 0.5f && v[2] == 1e-7f);
    CHECK_EQ_INT(taml_module_lookup(m, "caf\xc3\xa9", 5, v), 1);
    CHECK(v[2] == -2);
    v[0] = 42;
    CHECK_EQ_INT(taml_module_lookup(m, "kin", 3, v), 0);
    CHECK_EQ_INT(taml_module_lookup(m, "kings", 5, v), 0);
    CHECK(v[0] == 42); /* untouched */
    CHECK_EQ_INT(taml_module_find(m, "queen", 5), 1);
    CHECK_STR(taml_module_word(m, 2), "caf\xc3\xa9");
    CHECK((uintptr_t)taml_module_vector(m, 0) % 64 == 0);
    CHECK(taml_module_vector(m, 1)[1] == 0.5f);
    taml_module_close(m);
    taml_module_close(NULL);
    free(path);
}

/* Rewrites byte `at` of a file with its complement. */
static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f);
    CHECK(fseek(f, at, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(c != EOF);
    CHECK(fseek(f, at, SEEK_SET) == 0);
    fputc(~c & 0xff, f);
    fclose(f);
}

TEST(module_open_refuses_a_flipped_byte_anywhere_by_checksum)
{
    char *path = write_small("flip.tamlm");
    struct stat st;
    CHECK(stat(path, &st) == 0);
    /* A byte in the metadata, in the words, and the last matrix float. */
    long where[] = {130, 200, (long)st.st_size - 20};
    for (int k = 0; k < 3; k++) {
        char *copy = taml_path_join(taml_test_tmpdir(), "flip-copy.tamlm");
        char *data;
        size_t n;
        taml_err err;
        CHECK_EQ_INT(taml_read_file(path, &data, &n, &err), 0);
        CHECK_EQ_INT(taml_write_file_atomic(copy, data, n, &err), 0);
        free(data);
        flip_byte(copy, where[k]);
        taml_module *m = (taml_module *)1;
        CHECK_EQ_INT(taml_module_open(&m, copy, NULL, &err), TAML_ECORRUPT);
        CHECK(m == NULL);
        CHECK_CONTAINS(err.msg, "checksum mismatch");
        CHECK_CONTAINS(err.msg, copy);
        free(copy);
    }
    free(path);
}

TEST(module_open_refuses_a_truncated_or_foreign_file)
{
    char *path = write_small("trunc.tamlm");
    struct stat st;
    CHECK(stat(path, &st) == 0);
    taml_err err;
    taml_module *m;
    CHECK(truncate(path, st.st_size - 1) == 0);
    CHECK_EQ_INT(taml_module_open(&m, path, NULL, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "truncated");
    CHECK(truncate(path, 100) == 0);
    CHECK_EQ_INT(taml_module_open(&m, path, NULL, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "trunc.tamlm: offset 16: length: truncated");
    CHECK(truncate(path, 0) == 0);
    CHECK_EQ_INT(taml_module_open(&m, path, NULL, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "trunc.tamlm: offset 0: magic: truncated");
    char *text = taml_path_join(taml_test_tmpdir(), "vectors.txt");
    const char *glove = "the 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8\n"
                        "cat 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8\n"
                        "dog 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8\n";
    CHECK_EQ_INT(taml_write_file_atomic(text, glove, strlen(glove), &err), 0);
    CHECK_EQ_INT(taml_module_open(&m, text, NULL, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "not a taml module");
    char *missing = taml_path_join(taml_test_tmpdir(), "nope.tamlm");
    CHECK_EQ_INT(taml_module_open(&m, missing, NULL, &err), TAML_ENOTFOUND);
    free(missing);
    free(text);
    free(path);
}

/* path in the test's directory (heap). */
static char *tmp(const char *name)
{
    return taml_path_join(taml_test_tmpdir(), name);
}

/* The bytes of write_small's module (heap, *n bytes). */
static char *small_bytes(const char *name, size_t *n)
{
    char *path = write_small(name), *data;
    taml_err err;
    CHECK_EQ_INT(taml_read_file(path, &data, n, &err), 0);
    free(path);
    return data;
}

TEST(module_file_is_an_envelope_with_sections_aligned_from_the_file_start)
{
    size_t n;
    char *data = small_bytes("layout.tamlm", &n);
    const unsigned char *b = (const unsigned char *)data;
    CHECK(!memcmp(b, "TAMLMODL", 8));
    CHECK_EQ_INT(taml_bytes_load_u32(b + 8), 2);
    CHECK_EQ_INT(taml_bytes_load_u32(b + 12), 0);
    CHECK_EQ_INT(taml_bytes_load_u64(b + 16), n - 28);
    CHECK_EQ_INT(taml_bytes_load_u32(b + n - 4), taml_crc32(0, b, n - 4));
    CHECK_EQ_INT(taml_bytes_load_u32(b + 24), 3);  /* dim */
    CHECK_EQ_INT(taml_bytes_load_u64(b + 32), 3);  /* rows */
    CHECK_EQ_INT(taml_bytes_load_u64(b + 40), 112); /* the metadata first */
    uint64_t index_off = taml_bytes_load_u64(b + 72), hash_off = taml_bytes_load_u64(b + 80);
    uint64_t matrix_off = taml_bytes_load_u64(b + 96), matrix_len = taml_bytes_load_u64(b + 104);
    CHECK(index_off % 8 == 0 && hash_off % 8 == 0 && matrix_off % 64 == 0);
    CHECK_EQ_INT(matrix_len, 3 * 3 * 4);
    CHECK_EQ_INT(matrix_off + matrix_len, n - 4); /* the payload ends with the matrix */
    float king[3];
    memcpy(king, b + matrix_off, sizeof king);
    CHECK(king[0] == 1 && king[1] == 2 && king[2] == 3);
    free(data);
}

TEST(module_damage_is_refused_naming_the_file_offset_and_field)
{
    size_t n;
    char *data = small_bytes("damage.tamlm", &n);
    taml_err err;
    char *cut = tmp("cut.tamlm"), *lie = tmp("lie.tamlm");
    fc_truncations(data, n, cut, 1, fc_module_open_bytes, NULL);
    fc_resealed_truncations(data, n, cut, 1, fc_module_open_bytes, NULL);
    fc_flips(data, n, cut, 0, 1, fc_module_open_bytes, NULL);
    /* a section table that lies under a good checksum */
    unsigned char *b = (unsigned char *)data;
    taml_bytes_store_u64(b + 64, 4096); /* words length */
    fc_reseal(b, n);
    CHECK_EQ_INT(fc_module_open_bytes(b, n, lie, &err, NULL), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "lie.tamlm: offset 64: words length: the section ");
    CHECK_CONTAINS(err.msg, " + 4096 bytes is outside the file's sections 112 .. ");
    taml_bytes_store_u32(b + 8, 3);
    CHECK_EQ_INT(fc_module_open_bytes(b, n, lie, &err, NULL), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "lie.tamlm: offset 8: version: module format version 3, this taml "
                            "reads versions 1 and 2");
    free(cut);
    free(lie);
    free(data);
}

TEST(module_lookup_finds_every_word_of_a_large_vocabulary_and_no_other)
{
    taml_module_writer *w = taml_module_writer_new(2, NULL);
    taml_err err;
    char word[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(word, sizeof word, "w%d", i);
        float v[2] = {(float)i, (float)-i};
        CHECK_EQ_INT(taml_module_writer_add(w, word, (size_t)n, v, &err), 1);
    }
    char *path = taml_path_join(taml_test_tmpdir(), "big.tamlm");
    CHECK_EQ_INT(taml_module_writer_finish(w, path, &err), 0);
    taml_module_writer_free(w);
    taml_module *m;
    CHECK_EQ_INT(taml_module_open(&m, path, NULL, &err), 0);
    CHECK_EQ_INT(taml_module_rows(m), 20000);
    CHECK_STR(taml_module_name(m), path); /* no name in the metadata: the path */
    int found = 0, right = 0;
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(word, sizeof word, "w%d", i);
        float v[2];
        if (taml_module_lookup(m, word, (size_t)n, v)) {
            found++;
            right += v[0] == (float)i && v[1] == (float)-i;
        }
    }
    CHECK_EQ_INT(found, 20000);
    CHECK_EQ_INT(right, 20000);
    int false_hits = 0;
    for (int i = 20000; i < 40000; i++) {
        int n = snprintf(word, sizeof word, "w%d", i);
        false_hits += taml_module_find(m, word, (size_t)n) >= 0;
    }
    CHECK_EQ_INT(false_hits, 0);
    taml_module_close(m);
    free(path);
}

TEST(module_writer_rejects_non_finite_values_and_bad_words)
{
    taml_module_writer *w = taml_module_writer_new(2, NULL);
    taml_err err;
    float nan2[2] = {0, NAN}, inf2[2] = {INFINITY, 0}, ok[2] = {1, 2};
    CHECK_EQ_INT(taml_module_writer_add(w, "a", 1, nan2, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "component 2 of 'a' is NaN");
    CHECK_EQ_INT(taml_module_writer_add(w, "b", 1, inf2, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "infinite");
    CHECK_EQ_INT(taml_module_writer_add(w, "\xc3(", 2, ok, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "not valid UTF-8");
    CHECK_EQ_INT(taml_module_writer_add(w, "\xed\xa0\x80", 3, ok, &err), TAML_EFORMAT); /* surrogate */
    CHECK_EQ_INT(taml_module_writer_add(w, "\xc0\xaf", 2, ok, &err), TAML_EFORMAT);      /* overlong */
    CHECK_EQ_INT(taml_module_writer_add(w, "caf\xc3", 4, ok, &err), TAML_EFORMAT);       /* cut */
    CHECK_EQ_INT(taml_module_writer_add(w, "a\tb", 3, ok, &err), TAML_EFORMAT);
    CHECK_EQ_INT(taml_module_writer_add(w, "", 0, ok, &err), TAML_EFORMAT);
    CHECK_EQ_INT(taml_module_writer_set(w, "Bad-Key", "x", &err), TAML_EINVAL);
    CHECK_EQ_INT(taml_module_writer_rows(w), 0);
    CHECK_EQ_INT(taml_module_writer_add(w, "\xf0\x9f\x98\x80", 4, ok, &err), 1);
    CHECK_EQ_INT(taml_module_writer_rows(w), 1);
    taml_module_writer_free(w);
    taml_module_writer_free(NULL);
}

TEST(module_with_no_words_opens_and_knows_nothing)
{
    taml_module_writer *w = taml_module_writer_new(4, NULL);
    char *path = taml_path_join(taml_test_tmpdir(), "empty.tamlm");
    taml_err err;
    CHECK_EQ_INT(taml_module_writer_finish(w, path, &err), 0);
    taml_module_writer_free(w);
    taml_module *m;
    CHECK_EQ_INT(taml_module_open(&m, path, NULL, &err), 0);
    float v[4];
    CHECK_EQ_INT(taml_module_rows(m), 0);
    CHECK_EQ_INT(taml_module_lookup(m, "x", 1, v), 0);
    taml_module_close(m);
    free(path);
}

TEST(module_random_baseline_is_deterministic_with_variance_one_over_dim)
{
    taml_module *a, *b;
    taml_err err;
    CHECK_EQ_INT(taml_module_open(&a, "random-64", NULL, &err), 0);
    CHECK_EQ_INT(taml_module_open(&b, "random-64", NULL, &err), 0);
    CHECK_EQ_INT(taml_module_dim(a), 64);
    CHECK_EQ_INT(taml_module_rows(a), 0);
    CHECK(taml_module_is_random(a));
    CHECK_STR(taml_module_name(a), "random-64");
    float x[64], y[64], z[64];
    CHECK_EQ_INT(taml_module_lookup(a, "zyzzyva", 7, x), 1);
    CHECK_EQ_INT(taml_module_lookup(b, "zyzzyva", 7, y), 1);
    CHECK(memcmp(x, y, sizeof x) == 0);
    CHECK_EQ_INT(taml_module_lookup(a, "zyzzyvb", 7, z), 1);
    CHECK(memcmp(x, z, sizeof x) != 0);
    CHECK_EQ_INT(taml_module_find(a, "zyzzyva", 7), -1);
    double s = 0, s2 = 0;
    int n = 0;
    char word[16];
    for (int i = 0; i < 2000; i++) {
        int len = snprintf(word, sizeof word, "t%d", i);
        CHECK_EQ_INT(taml_module_lookup(a, word, (size_t)len, x), 1);
        for (int k = 0; k < 64; k++, n++) {
            s += x[k];
            s2 += (double)x[k] * x[k];
        }
    }
    CHECK_NEAR(s / n, 0.0, 0.003);
    CHECK_NEAR(s2 / n, 1.0 / 64, 0.0005);
    /* Another dimension gives another vector, not a prefix of this one. */
    taml_module *c;
    CHECK_EQ_INT(taml_module_open(&c, "random-32", NULL, &err), 0);
    CHECK_EQ_INT(taml_module_lookup(c, "zyzzyva", 7, z), 1);
    CHECK(memcmp(y, z, 32 * sizeof(float)) != 0);
    /* An odd dimension fills its last component too. */
    taml_module *d;
    CHECK_EQ_INT(taml_module_open(&d, "random-3", NULL, &err), 0);
    float w[3] = {0, 0, 0};
    CHECK_EQ_INT(taml_module_lookup(d, "zyzzyva", 7, w), 1);
    CHECK(w[2] != 0 && isfinite(w[2]) && w[0] != w[1]);
    taml_module_close(a);
    taml_module_close(b);
    taml_module_close(c);
    taml_module_close(d);
}

TEST(module_random_names_are_parsed_strictly)
{
    int32_t d = 0;
    CHECK(taml_module_parse_random("random-100", &d) && d == 100);
    CHECK(taml_module_parse_random("random-1", &d) && d == 1);
    CHECK(!taml_module_parse_random("random-0", &d));
    CHECK(!taml_module_parse_random("random-", &d));
    CHECK(!taml_module_parse_random("random-01", &d));
    CHECK(!taml_module_parse_random("random-10x", &d));
    CHECK(!taml_module_parse_random("random-999999", &d));
    CHECK(!taml_module_parse_random("en-glove-100", &d));
}

TEST(module_names_resolve_in_the_library_directory_given)
{
    char *lib = taml_path_join(taml_test_tmpdir(), "lib");
    taml_err err;
    CHECK_EQ_INT(taml_mkdirs(lib, &err), 0);
    char *made = write_small("lib/tiny.tamlm");
    taml_module *m, *none;
    CHECK_EQ_INT(taml_module_open(&m, "tiny", lib, &err), 0);
    CHECK_EQ_INT(taml_module_rows(m), 3);
    taml_module_close(m);
    CHECK_EQ_INT(taml_module_open(&none, "missing-module", lib, &err), TAML_ENOTFOUND);
    CHECK(none == NULL);
    CHECK_CONTAINS(err.msg, "missing-module.tamlm");
    /* no library: a name is not found, whatever the environment says (the
     * library reads none) */
    setenv("TAML_MODULES", lib, 1);
    int rc = taml_module_open(&none, "tiny", NULL, &err);
    unsetenv("TAML_MODULES");
    CHECK_EQ_INT(rc, TAML_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no module library");
    /* paths and random-D need none */
    CHECK_EQ_INT(taml_module_open(&m, made, NULL, &err), 0);
    taml_module_close(m);
    CHECK_EQ_INT(taml_module_open(&m, "random-4", NULL, &err), 0);
    taml_module_close(m);
    free(made);
    free(lib);
}
