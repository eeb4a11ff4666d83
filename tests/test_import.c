/* tests/test_import.c - importing word-vector files (embed/import.h): each
 * format, the tokeniser normalisation, and each kind of bad input. Fixtures
 * are written by the tests themselves (a few lines each). */
#include <stdlib.h>

#include "core/util.h"
#include "embed/import.h"
#include "embed/module.h"
#include "test.h"

static char *fixture(const char *name, const void *data, size_t n)
{
    char *path = taml_path_join(taml_test_tmpdir(), name);
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(path, data, n, &err), 0);
    return path;
}

/* Imports text `data` as format fmt into a module; returns the status; on
 * success *m is the opened module. */
static int import_text(const char *fmt, const char *data, taml_module **m, taml_import_stats *st,
                       taml_err *err)
{
    char *in = fixture("in.txt", data, strlen(data));
    char *out = taml_path_join(taml_test_tmpdir(), "out.tamlm");
    taml_import_opts o = {0};
    CHECK_EQ_INT(taml_vec_format_parse(fmt, &o.format, err), 0);
    taml_module_info info = {.name = "fixture", .language = "en", .corpus_tokens = 99};
    int rc = taml_module_import(in, &o, &info, out, st, err);
    *m = NULL;
    if (rc == 0) CHECK_EQ_INT(taml_module_open(m, out, NULL, err), 0);
    free(in);
    free(out);
    return rc;
}

static void check_vec(taml_module *m, const char *word, float a, float b)
{
    float v[2] = {0};
    CHECK_MSG(taml_module_lookup(m, word, strlen(word), v) == 1, "'%s' missing", word);
    CHECK_MSG(v[0] == a && v[1] == b, "'%s' is (%g, %g), expected (%g, %g)", word, v[0], v[1], a,
              b);
}

TEST(import_glove_normalises_words_like_the_tokeniser_first_occurrence_wins)
{
    const char *glove = "The 1 2\n"
                        "the 3 4\n"
                        "cat 0.5 -0.5\n"
                        ", 9 9\n"
                        "new_york 1 1\n"
                        "-ing 7 7\n"
                        "ing 8 8\n"
                        "hello! 5 5\n"
                        "K\xc3\x96NIG 6 6\n";
    taml_module *m;
    taml_import_stats st;
    taml_err err;
    CHECK_EQ_INT(import_text("glove", glove, &m, &st, &err), 0);
    CHECK_EQ_INT(st.read, 9);
    CHECK_EQ_INT(st.exact, 4);          /* the, cat, ing, könig */
    CHECK_EQ_INT(st.mapped, 1);         /* hello */
    CHECK_EQ_INT(st.not_one_token, 2);  /* ",", "new_york" */
    CHECK_EQ_INT(st.duplicate, 2);      /* "the" again, "-ing" after "ing" */
    CHECK_EQ_INT(taml_module_rows(m), 5);
    CHECK_EQ_INT(taml_module_dim(m), 2);
    check_vec(m, "the", 1, 2);
    check_vec(m, "ing", 8, 8); /* the exact word beats the earlier mapped one */
    check_vec(m, "hello", 5, 5);
    check_vec(m, "k\xc3\xb6nig", 6, 6);
    CHECK_EQ_INT(taml_module_find(m, ",", 1), -1);
    CHECK_EQ_INT(taml_module_find(m, "The", 3), -1);
    CHECK_STR(taml_module_name(m), "fixture");
    CHECK_EQ_INT(taml_module_corpus_tokens(m), 99);
    CHECK_STR(taml_module_meta(m, "import_format"), "glove");
    taml_module_close(m);
}

TEST(import_word2vec_and_fasttext_text_read_the_header)
{
    taml_module *m;
    taml_import_stats st;
    taml_err err;
    CHECK_EQ_INT(import_text("word2vec-text", "3 2\nRey 3 4 \r\nfile 5 6\n\nx 1e-3 -2E2\n", &m,
                             &st, &err), 0);
    check_vec(m, "rey", 3, 4);
    check_vec(m, "file", 5, 6);
    check_vec(m, "x", 1e-3f, -200);
    taml_module_close(m);
    CHECK_EQ_INT(import_text("fasttext-vec", "2 2\n</s> 1 1\nword 0 1\n", &m, &st, &err), 0);
    check_vec(m, "word", 0, 1);
    CHECK_EQ_INT(taml_module_find(m, "s", 1), -1); /* fastText's "</s>" is not a word */
    CHECK_EQ_INT(st.not_one_token, 1);
    taml_module_close(m);
    CHECK_EQ_INT(import_text("word2vec-text", "2 2\n</s> 1 1\nword 0 1\n", &m, &st, &err), 0);
    check_vec(m, "s", 1, 1); /* elsewhere "</s>" is "s" after dropping separators */
    CHECK_EQ_INT(st.mapped, 1);
    taml_module_close(m);
}

static void put_f32(char *buf, size_t *n, float v)
{
    memcpy(buf + *n, &v, 4);
    *n += 4;
}

static size_t bin_fixture(char *buf, const char *header, int entries)
{
    size_t n = strlen(header);
    memcpy(buf, header, n);
    const char *words[] = {"Cat", "dog"};
    for (int e = 0; e < entries; e++) {
        memcpy(buf + n, words[e], 3);
        n += 3;
        buf[n++] = ' ';
        put_f32(buf, &n, (float)e + 0.25f);
        put_f32(buf, &n, -1.5f);
        buf[n++] = '\n';
    }
    return n;
}

static int import_bin(const char *data, size_t n, taml_module **m, taml_err *err)
{
    char *in = fixture("in.bin", data, n);
    char *out = taml_path_join(taml_test_tmpdir(), "out.tamlm");
    taml_import_opts o = {.format = TAML_VEC_WORD2VEC_BIN};
    int rc = taml_module_import(in, &o, NULL, out, NULL, err);
    *m = NULL;
    if (rc == 0) CHECK_EQ_INT(taml_module_open(m, out, NULL, err), 0);
    free(in);
    free(out);
    return rc;
}

TEST(import_word2vec_binary_reads_vectors_and_refuses_truncation)
{
    char buf[256];
    taml_module *m;
    taml_err err;
    size_t n = bin_fixture(buf, "2 2\n", 2);
    CHECK_EQ_INT(import_bin(buf, n, &m, &err), 0);
    check_vec(m, "cat", 0.25f, -1.5f);
    check_vec(m, "dog", 1.25f, -1.5f);
    taml_module_close(m);
    /* Cut inside the second vector. */
    CHECK_EQ_INT(import_bin(buf, n - 3, &m, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "truncated");
    CHECK_CONTAINS(err.msg, "entry 2");
    /* The header promises three. */
    n = bin_fixture(buf, "3 2\n", 2);
    CHECK_EQ_INT(import_bin(buf, n, &m, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "entry 3 is incomplete");
    /* More data than announced. */
    n = bin_fixture(buf, "1 2\n", 2);
    CHECK_EQ_INT(import_bin(buf, n, &m, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "data after the 1 vector the header");
    /* No header. */
    CHECK_EQ_INT(import_bin("cat \x01\x02", 6, &m, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "COUNT DIM");
    CHECK_EQ_INT(import_bin("", 0, &m, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "empty file");
}

TEST(import_vocab_f32_takes_the_dimension_from_the_matrix_size)
{
    const char *vocab = "Alpha\nbeta\ngamma\n";
    float mat[6] = {1, 2, 3, 4, 5, 6};
    char *in = fixture("table.vocab", vocab, strlen(vocab));
    char *f32 = fixture("table.f32", mat, sizeof mat);
    char *out = taml_path_join(taml_test_tmpdir(), "v.tamlm");
    taml_import_opts o = {.format = TAML_VEC_VOCAB_F32};
    taml_err err;
    CHECK_EQ_INT(taml_module_import(in, &o, NULL, out, NULL, &err), 0);
    taml_module *m;
    CHECK_EQ_INT(taml_module_open(&m, out, NULL, &err), 0);
    CHECK_EQ_INT(taml_module_dim(m), 2);
    check_vec(m, "alpha", 1, 2);
    check_vec(m, "gamma", 5, 6);
    taml_module_close(m);
    /* A matrix that does not divide into the words. */
    char *bad = fixture("table.f32", mat, 5 * sizeof(float));
    CHECK_EQ_INT(taml_module_import(in, &o, NULL, out, NULL, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "is not 4 x 3 words");
    o.matrix_path = "/nonexistent/m.f32";
    CHECK_EQ_INT(taml_module_import(in, &o, NULL, out, NULL, &err), TAML_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent/m.f32");
    free(bad);
    free(in);
    free(f32);
    free(out);
}

TEST(import_refuses_bad_text_input_naming_file_and_line)
{
    static const struct {
        const char *fmt, *data, *want;
    } cases[] = {
        {"glove", "a 1 2\nb 3 4\nc 5 6 7\n", "in.txt:3: 3 values after the word, expected 2"},
        {"glove", "a 1 2\nb 3\n", "in.txt:2: 1 value after the word, expected 2"},
        {"glove", "a 1 nan\n", "in.txt:1: value 2 of 'a' is NaN"},
        {"glove", "a 1 2\nb 1e999 2\n", "in.txt:2: value 1 of 'b' is infinite"},
        {"glove", "a 1 2\nb 1 x2\n", "in.txt:2: \"x2\" is not a number"},
        {"glove", "a 1 2\ncaf\xe9 1 2\n", "in.txt:2: the word is not valid UTF-8 (byte 4"},
        {"glove", "", "empty file"},
        {"glove", "\n\n", "empty file"},
        {"glove", "a\n", "a word with no values"},
        {"glove", ", 1 2\n... 3 4\n", "none of the 2 words"},
        {"word2vec-text", "a 1 2\n", "in.txt:1: expected the header \"COUNT DIM\""},
        {"word2vec-text", "3 2\na 1 2\nb 3 4\n", "announces 3 vectors, the file has 2 (truncated?)"},
        {"word2vec-text", "1 2\na 1 2\nb 3 4\n", "announces 1 vector, the file has 2"},
        {"word2vec-text", "2 3\na 1 2 3\nb 1 2\n", "in.txt:3: 2 values after the word, expected 3"},
        {"fasttext-vec", "", "empty file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        taml_module *m;
        taml_err err;
        int rc = import_text(cases[i].fmt, cases[i].data, &m, NULL, &err);
        CHECK_MSG(rc == TAML_EFORMAT, "case %zu: status %d (%s)", i, rc, err.msg);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  err.msg, cases[i].want);
        CHECK(m == NULL);
    }
}

TEST(import_checks_an_expected_dimension_and_knows_its_formats)
{
    taml_import_opts o = {0};
    taml_err err;
    CHECK_EQ_INT(taml_vec_format_parse("word2vec", &o.format, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "word2vec-text");
    CHECK_EQ_INT(taml_vec_format_parse("word2vec-bin", &o.format, &err), 0);
    CHECK_EQ_INT(o.format, TAML_VEC_WORD2VEC_BIN);
    o.format = TAML_VEC_GLOVE;
    o.dim = 3;
    char *in = fixture("dim.txt", "a 1 2\n", 6);
    char *out = taml_path_join(taml_test_tmpdir(), "dim.tamlm");
    CHECK_EQ_INT(taml_module_import(in, &o, NULL, out, NULL, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "expected dimension 3");
    CHECK_EQ_INT(taml_module_import("/nonexistent.txt", &o, NULL, out, NULL, &err), TAML_EIO);
    free(in);
    free(out);
}
