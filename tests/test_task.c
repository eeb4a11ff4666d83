/* tests/test_task.c - loading task directories: the text and image formats,
 * splits, labels, token ids, the wide vocabulary, and every kind of bad input
 * (fixtures in tests/fixtures/tasks/, written by make_task_fixtures.py). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/task.h"
#include "data/tokenise.h"
#include "test.h"

#define FIX "tests/fixtures/tasks/"

static taml_task *load_ok(const char *dir, const taml_task_opts *opts)
{
    taml_err err;
    taml_err_clear(&err);
    taml_task *t = NULL;
    int rc = taml_task_load(&t, dir, opts, &err);
    if (rc != 0) fprintf(stderr, "  load %s: %s\n", dir, err.msg);
    return t;
}

/* Token ids of row r as the words they stand for, joined by spaces. */
static char *row_words(const taml_task *t, int32_t r)
{
    size_t cap = 1;
    for (int64_t k = t->tok_off[r]; k < t->tok_off[r + 1]; k++) cap += strlen(t->words[t->tok[k]]) + 1;
    char *s = taml_calloc(cap, 1);
    for (int64_t k = t->tok_off[r]; k < t->tok_off[r + 1]; k++) {
        if (k > t->tok_off[r]) strcat(s, " ");
        strcat(s, t->words[t->tok[k]]);
    }
    return s;
}

/* The dictionary id of w by a linear scan (to check taml_task_word_id). */
static int32_t word_id(const taml_task *t, const char *w)
{
    for (int32_t i = 0; i < t->n_words; i++)
        if (!strcmp(t->words[i], w)) return i;
    return -1;
}

TEST(task_three_split_files_with_bom_and_crlf_load_exactly)
{
    taml_task *t = load_ok(FIX "film-mini", NULL);
    CHECK(t);
    CHECK_EQ_INT(t->kind, TAML_TASK_TEXT);
    CHECK_STR(t->name, "film-mini");
    CHECK_STR(t->language, "en");
    CHECK_STR(t->source, "made up for taml's tests");
    CHECK_STR(t->license, "CC0-1.0");
    CHECK_STR(taml_task_meta(t, "note"), "small = fine");
    CHECK(taml_task_meta(t, "absent") == NULL);
    CHECK_EQ_INT(t->n, 8);
    CHECK_EQ_INT(t->n_split[TAML_TRAIN], 4);
    CHECK_EQ_INT(t->n_split[TAML_VALID], 2);
    CHECK_EQ_INT(t->n_split[TAML_TEST], 2);
    /* The BOM is not part of the first label; classes come from all splits. */
    CHECK_EQ_INT(t->n_classes, 3);
    CHECK_STR(t->class_names[0], "neg");
    CHECK_STR(t->class_names[1], "neutral");
    CHECK_STR(t->class_names[2], "pos");
    int32_t want_label[8] = {2, 0, 2, 0, 0, 2, 1, 2};
    for (int r = 0; r < 8; r++) CHECK_EQ_INT(t->label[r], want_label[r]);
    /* Dictionary ids follow first appearance; repeats are kept; CR is gone. */
    CHECK_EQ_INT(t->n_words, 20);
    int32_t want_tok[] = {0, 1, 2, 3, 4, 5, 6, 3, 0, 7, 5, 8, 9, 9, 10, 11};
    CHECK_EQ_INT(t->tok_off[4], 16);
    for (int k = 0; k < 16; k++) CHECK_EQ_INT(t->tok[k], want_tok[k]);
    char *s = row_words(t, 3);
    CHECK_STR(s, "boring");
    free(s);
    s = row_words(t, 6);
    CHECK_STR(s, "the film runs 120 minutes");
    free(s);
    s = row_words(t, 7);
    CHECK_STR(s, "i love it");
    free(s);
    CHECK_EQ_INT(t->tok_off[8], 30);
    CHECK_NEAR(taml_task_mean_tokens(t), 30.0 / 8, 1e-12);
    /* Wide vocabulary: the 12 train words, wide id == dictionary id. */
    CHECK_EQ_INT(t->n_wide, 12);
    for (int32_t w = 0; w < 12; w++) CHECK_EQ_INT(t->wide_of_word[w], w);
    for (int32_t w = 12; w < 20; w++) CHECK_EQ_INT(t->wide_of_word[w], -1);
    /* Train labels pos, neg, pos, neg: a tie goes to the lower index. */
    CHECK_EQ_INT(taml_task_majority_class(t), 0);
    CHECK_NEAR(taml_task_majority_share(t), 0.5, 1e-12);
    CHECK(t->text_bytes > 100);
    /* Word lookup by hash agrees with the dictionary order. */
    for (int32_t w = 0; w < t->n_words; w++) {
        CHECK_EQ_INT(taml_task_word_id(t, t->words[w], strlen(t->words[w])), w);
        CHECK_EQ_INT(t->word_len[w], strlen(t->words[w]));
    }
    CHECK_EQ_INT(taml_task_word_id(t, "film", 4), 3);
    CHECK_EQ_INT(taml_task_word_id(t, "films", 5), -1);
    CHECK_EQ_INT(taml_task_word_id(t, "fil", 3), -1);
    CHECK_EQ_INT(taml_task_word_id(t, "", 0), -1);
    taml_task_free(t);
}

TEST(task_wide_vocabulary_obeys_min_count_and_cap)
{
    taml_task_opts o = taml_task_default_opts();
    CHECK_EQ_INT(o.wide_min_count, 1);
    CHECK_EQ_INT(o.wide_max, 1 << 20);
    o.wide_min_count = 2; /* train counts of 2: i, film, it, lovely */
    taml_task *t = load_ok(FIX "film-mini", &o);
    CHECK(t);
    CHECK_EQ_INT(t->n_wide, 4);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "i")], 0);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "film")], 1);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "it")], 2);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "lovely")], 3);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "love")], -1);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "great")], -1); /* valid-only word */
    CHECK_EQ_INT(t->n_words, 20);                            /* the dictionary keeps all */
    taml_task_free(t);
    o.wide_min_count = 1;
    o.wide_max = 2; /* the two most frequent, ties by first appearance: i, film */
    t = load_ok(FIX "film-mini", &o);
    CHECK(t);
    CHECK_EQ_INT(t->n_wide, 2);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "i")], 0);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "film")], 1);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "it")], -1);
    taml_task_free(t);
    taml_err err;
    o.wide_max = -1;
    CHECK_EQ_INT(taml_task_load(&t, FIX "film-mini", &o, &err), TAML_EINVAL);
    CHECK(t == NULL);
}

TEST(task_all_tsv_splits_80_10_10_in_file_order)
{
    taml_task *t = load_ok(FIX "udhr-mini", NULL);
    CHECK(t);
    CHECK_STR(t->name, "udhr-mini"); /* no meta.txt: the directory's name */
    CHECK_STR(t->language, "");
    CHECK_EQ_INT(t->n, 21);
    CHECK_EQ_INT(t->n_split[TAML_TRAIN], 16);
    CHECK_EQ_INT(t->n_split[TAML_VALID], 2);
    CHECK_EQ_INT(t->n_split[TAML_TEST], 3);
    CHECK_EQ_INT(t->n_classes, 3);
    CHECK_STR(t->class_names[0], "deutsch");
    CHECK_STR(t->class_names[1], "english");
    CHECK_STR(t->class_names[2], "español");
    int32_t want_label[5] = {2, 0, 1, 2, 0}; /* rows 16..20 */
    for (int r = 0; r < 5; r++) CHECK_EQ_INT(t->label[16 + r], want_label[r]);
    /* Values from the reference rule (tests/ref/make_tokenise_expected.py). */
    CHECK_EQ_INT(t->n_words, 124);
    CHECK_EQ_INT(t->n_wide, 110);
    CHECK_EQ_INT(t->tok_off[21], 157);
    int32_t want20[3] = {122, 99, 123};
    CHECK_EQ_INT(t->tok_off[21] - t->tok_off[20], 3);
    for (int k = 0; k < 3; k++) CHECK_EQ_INT(t->tok[t->tok_off[20] + k], want20[k]);
    char *s = row_words(t, 20);
    CHECK_STR(s, "ärger über öl");
    free(s);
    s = row_words(t, 7);
    CHECK_STR(s, "qué tal el niño comió piñas en ávila");
    free(s);
    /* The wide vocabulary is built from the train split only. */
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "über")], 99);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "ärger")], -1);
    CHECK_EQ_INT(t->wide_of_word[word_id(t, "perro")], -1);
    taml_task_free(t);
    taml_task_opts o = taml_task_default_opts();
    o.wide_min_count = 2;
    t = load_ok(FIX "udhr-mini", &o);
    CHECK(t);
    CHECK_EQ_INT(t->n_wide, 17);
    taml_task_free(t);
}

TEST(task_idx_gz_and_plain_keep_test_split_and_take_valid_from_train_end)
{
    taml_task *t = load_ok(FIX "idx-mini", NULL);
    CHECK(t);
    CHECK_EQ_INT(t->kind, TAML_TASK_IMAGE);
    CHECK_STR(t->name, "idx-mini");
    CHECK_EQ_INT(t->height, 2);
    CHECK_EQ_INT(t->width, 3);
    CHECK_EQ_INT(t->channels, 1);
    CHECK_EQ_INT(t->n, 15);
    CHECK_EQ_INT(t->n_split[TAML_TRAIN], 11);
    CHECK_EQ_INT(t->n_split[TAML_VALID], 1);
    CHECK_EQ_INT(t->n_split[TAML_TEST], 3);
    /* Label values 0, 1, 2, 10 in numeric order, named as decimals. */
    CHECK_EQ_INT(t->n_classes, 4);
    CHECK_STR(t->class_names[0], "0");
    CHECK_STR(t->class_names[2], "2");
    CHECK_STR(t->class_names[3], "10");
    CHECK_EQ_INT(t->label[11], 3); /* the valid row: the train file's last */
    CHECK_EQ_INT(t->label[12], 2);
    CHECK_EQ_INT(t->label[13], 3);
    CHECK_EQ_INT(t->label[14], 0);
    CHECK_EQ_INT(t->pixels[11 * 6 + 5], 71);
    CHECK_EQ_INT(t->pixels[12 * 6], 200);
    CHECK_EQ_INT(t->pixels[14 * 6 + 5], 217);
    CHECK_EQ_INT(t->n_words, 0);
    CHECK_EQ_INT(taml_task_word_id(t, "a", 1), -1);
    /* Train labels 0 1 2 0 1 2 0 1 2 0 1: class 0 and 1 tie at 4, 0 wins. */
    CHECK_EQ_INT(taml_task_majority_class(t), 0);
    CHECK_NEAR(taml_task_majority_share(t), 4.0 / 11, 1e-12);
    taml_task_free(t);
}

TEST(task_u8_images_use_meta_counts_and_class_names)
{
    taml_task *t = load_ok(FIX "u8-mini", NULL);
    CHECK(t);
    CHECK_EQ_INT(t->kind, TAML_TASK_IMAGE);
    CHECK_EQ_INT(t->height, 2);
    CHECK_EQ_INT(t->width, 2);
    CHECK_EQ_INT(t->channels, 3);
    CHECK_EQ_INT(t->n, 10);
    CHECK_EQ_INT(t->n_split[TAML_TRAIN], 6);
    CHECK_EQ_INT(t->n_split[TAML_VALID], 2);
    CHECK_EQ_INT(t->n_split[TAML_TEST], 2);
    CHECK_EQ_INT(t->n_classes, 3);
    CHECK_STR(t->class_names[0], "cat");
    CHECK_STR(t->class_names[1], "dog");
    CHECK_STR(t->class_names[2], "bird");
    CHECK_EQ_INT(t->label[9], 1);
    CHECK_EQ_INT(t->pixels[9 * 12 + 11], 119);
    CHECK_NEAR(taml_task_majority_share(t), 2.0 / 6, 1e-12);
    taml_task_free(t);
}

/* Loads a bad fixture; checks the status and that the message names the
 * file (and line) and says what was expected. */
static void expect_error(const char *dir, int code, const char *where, const char *what)
{
    taml_err err;
    taml_err_clear(&err);
    taml_task *t = (taml_task *)&err; /* must be reset to NULL */
    int rc = taml_task_load(&t, dir, NULL, &err);
    if (rc != code || !strstr(err.msg, where) || !strstr(err.msg, what))
        fprintf(stderr, "  %s: rc %d (%s), message \"%s\"\n", dir, rc, taml_err_name(rc), err.msg);
    CHECK_EQ_INT(rc, code);
    CHECK_EQ_INT(err.code, code);
    CHECK(t == NULL);
    CHECK_CONTAINS(err.msg, where);
    CHECK_CONTAINS(err.msg, what);
}

#define BAD FIX "bad/"

TEST(task_line_without_tab_is_refused_with_file_and_line)
{
    expect_error(BAD "no-tab", TAML_EFORMAT, "no-tab/all.tsv:3:",
                 "no TAB in the line \"a this line has no tab\"; expected LABEL<TAB>TEXT");
}

TEST(task_empty_label_is_refused_with_file_and_line)
{
    expect_error(BAD "empty-label", TAML_EFORMAT, "empty-label/valid.tsv:2:",
                 "empty label in \"\\tsome text without a label\"");
}

TEST(task_invalid_utf8_is_refused_with_line_and_byte_offset)
{
    expect_error(BAD "invalid-utf8", TAML_EFORMAT, "invalid-utf8/all.tsv:4:",
                 "invalid UTF-8 at byte 9 of the line (file offset 28");
}

TEST(task_empty_file_is_refused)
{
    expect_error(BAD "empty-file", TAML_EINVAL, "empty-file/test.tsv:", "no examples (the file is empty)");
}

TEST(task_all_tsv_too_short_for_a_valid_split_is_refused)
{
    expect_error(BAD "empty-split", TAML_EINVAL, "empty-split/all.tsv:", "9 lines give an empty valid split");
}

TEST(task_with_one_class_is_refused)
{
    expect_error(BAD "one-class", TAML_EINVAL, "one-class", "label 'spam'; expected at least two classes");
}

TEST(task_empty_line_inside_a_file_is_refused)
{
    expect_error(BAD "empty-line", TAML_EFORMAT, "empty-line/all.tsv:5:", "empty line");
}

TEST(task_missing_directory_is_not_found)
{
    expect_error(FIX "does-not-exist", TAML_ENOTFOUND, "does-not-exist", "no such directory");
}

TEST(task_directory_without_task_files_is_not_found)
{
    expect_error(BAD "no-files", TAML_ENOTFOUND, "no-files", "no task files; expected train.tsv");
    expect_error(BAD "partial-splits", TAML_ENOTFOUND, "partial-splits", "not all of train.tsv, valid.tsv, test.tsv");
}

TEST(task_meta_line_without_equals_is_refused)
{
    expect_error(BAD "meta-no-equals", TAML_EFORMAT, "meta-no-equals/meta.txt:2:", "expected key=value");
}

TEST(task_idx_bad_header_and_sizes_are_refused)
{
    expect_error(BAD "idx-bad-magic", TAML_EFORMAT, "idx-bad-magic/train-images-idx3-ubyte:",
                 "magic 00 00 08 01; expected 00 00 08 03");
    expect_error(BAD "idx-truncated", TAML_EFORMAT, "idx-truncated/train-images-idx3-ubyte:",
                 "72 bytes of data (truncated), the file holds 67");
    expect_error(BAD "idx-truncated-gz", TAML_EFORMAT, "idx-truncated-gz/train-images-idx3-ubyte.gz:",
                 "truncated or corrupt gzip data");
    expect_error(BAD "idx-label-count", TAML_EFORMAT, "idx-label-count/train-labels-idx1-ubyte:",
                 "11 labels for the 12 images");
    expect_error(BAD "idx-size-differs", TAML_EFORMAT, "idx-size-differs/t10k-images-idx3-ubyte:",
                 "images of 3x2");
    expect_error(BAD "idx-missing-file", TAML_ENOTFOUND, "idx-missing-file/t10k-labels-idx1-ubyte[.gz]:",
                 "missing");
}

TEST(task_u8_bad_sizes_meta_and_class_names_are_refused)
{
    expect_error(BAD "u8-size", TAML_EFORMAT, "u8-size/images.u8:", "119 bytes; expected n*height*width*channels");
    expect_error(BAD "u8-no-n", TAML_EFORMAT, "u8-no-n/meta.txt:", "no n=");
    expect_error(BAD "u8-classes-short", TAML_EFORMAT, "u8-classes-short/classes.txt:",
                 "2 class names, but");
    expect_error(BAD "u8-bad-splits", TAML_EFORMAT, "u8-bad-splits/meta.txt:", "summing to n=10");
}

static void write_bytes(const char *dir, const char *name, const void *data, size_t size)
{
    char *p = taml_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    TAML_ASSERT(f);
    TAML_ASSERT(fwrite(data, 1, size, f) == size);
    fclose(f);
    free(p);
}

TEST(task_accepts_a_12_mb_line_and_a_10_mb_token)
{
    /* Lines have no length limit (files are read whole): a 12 MB text of
     * 2.4 million words and a single 10 MB token both load. */
    const char *dir = taml_test_tmpdir();
    size_t words = 2400000, big = 10u << 20;
    size_t cap = 64 + 5 * words + big + 1024;
    char *buf = taml_malloc(cap), *p = buf;
    p += sprintf(p, "long\t");
    for (size_t i = 0; i < words; i++) memcpy(p, "Word ", 5), p += 5;
    p += sprintf(p, "\ntoken\t");
    memset(p, 'x', big), p += big;
    p += sprintf(p, "\n");
    for (int i = 0; i < 8; i++) p += sprintf(p, "%s\tshort %d\n", i % 2 ? "long" : "token", i);
    write_bytes(dir, "all.tsv", buf, (size_t)(p - buf));
    free(buf);
    taml_task *t = load_ok(dir, NULL);
    CHECK(t);
    CHECK_EQ_INT(t->n, 10);
    CHECK_EQ_INT(t->tok_off[1], (int64_t)words);
    CHECK_EQ_INT(t->tok_off[2] - t->tok_off[1], 1);
    CHECK_EQ_INT(strlen(t->words[t->tok[t->tok_off[1]]]), big);
    CHECK_STR(t->words[0], "word");
    CHECK(t->text_bytes > (int64_t)(5 * words + big));
    taml_task_free(t);
}

TEST(task_trailing_blank_lines_and_missing_final_newline_are_fine)
{
    const char *dir = taml_test_tmpdir();
    const char text[] = "a\tone\r\nb\ttwo\r\na\tthree\nb\tfour\na\tfive\nb\tsix\na\tseven\nb\teight\n"
                        "a\tnine\nb\tten\r\n\r\n\n";
    write_bytes(dir, "all.tsv", text, sizeof text - 1);
    taml_task *t = load_ok(dir, NULL);
    CHECK(t);
    CHECK_EQ_INT(t->n, 10);
    CHECK_STR(t->words[t->tok[t->tok_off[9]]], "ten");
    taml_task_free(t);
}

/* Flips, drops and duplicates bytes of the good fixtures and loads the
 * results: every load must end in success or a clean error with a message
 * (run under ASan/UBSan by the sanitizer build). */
TEST(task_loader_survives_random_corruption_of_every_fixture_file)
{
    static const char *files[][2] = {
        {"film-mini", "train.tsv"}, {"film-mini", "valid.tsv"}, {"film-mini", "meta.txt"},
        {"udhr-mini", "all.tsv"}, {"idx-mini", "train-images-idx3-ubyte.gz"},
        {"idx-mini", "train-labels-idx1-ubyte"}, {"idx-mini", "t10k-labels-idx1-ubyte.gz"},
        {"u8-mini", "meta.txt"}, {"u8-mini", "classes.txt"}, {"u8-mini", "labels.u8"},
    };
    static const char *all_files[][2] = {
        {"film-mini", "train.tsv"}, {"film-mini", "valid.tsv"}, {"film-mini", "test.tsv"},
        {"film-mini", "meta.txt"}, {"udhr-mini", "all.tsv"}, {"idx-mini", "train-images-idx3-ubyte.gz"},
        {"idx-mini", "train-labels-idx1-ubyte"}, {"idx-mini", "t10k-images-idx3-ubyte.gz"},
        {"idx-mini", "t10k-labels-idx1-ubyte.gz"}, {"idx-mini", "meta.txt"}, {"u8-mini", "images.u8"},
        {"u8-mini", "labels.u8"}, {"u8-mini", "meta.txt"}, {"u8-mini", "classes.txt"},
    };
    const char *tmp = taml_test_tmpdir();
    taml_rng rng;
    taml_rng_seed(&rng, 20261127);
    int ok = 0, failed = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char *task_dir = taml_path_join(tmp, files[f][0]);
        taml_err err;
        CHECK(taml_mkdirs(task_dir, &err) == 0);
        /* Fresh copies of the task's files. */
        for (size_t g = 0; g < sizeof all_files / sizeof all_files[0]; g++) {
            if (strcmp(all_files[g][0], files[f][0])) continue;
            char *src = taml_asprintf(FIX "%s/%s", all_files[g][0], all_files[g][1]), *data;
            size_t size;
            CHECK(taml_read_file(src, &data, &size, &err) == 0);
            write_bytes(task_dir, all_files[g][1], data, size);
            free(data);
            free(src);
        }
        char *src = taml_asprintf(FIX "%s/%s", files[f][0], files[f][1]), *orig;
        size_t size;
        CHECK(taml_read_file(src, &orig, &size, &err) == 0);
        char *buf = taml_malloc(2 * size + 16);
        for (int round = 0; round < 60; round++) {
            memcpy(buf, orig, size);
            size_t n = size;
            int edits = 1 + (int)taml_rng_below(&rng, 4);
            for (int e = 0; e < edits && n > 0; e++) {
                size_t at = (size_t)taml_rng_below(&rng, n);
                switch (taml_rng_below(&rng, 4)) {
                case 0: buf[at] ^= (char)(1 << taml_rng_below(&rng, 8)); break;
                case 1: n = at; break; /* truncate */
                case 2: memmove(buf + at, buf + at + 1, n - at - 1), n--; break;
                default:
                    memmove(buf + at + 1, buf + at, n - at), n++;
                    buf[at] = "\t\n\r\xff\xc3\0="[taml_rng_below(&rng, 7)];
                }
            }
            write_bytes(task_dir, files[f][1], buf, n);
            taml_task *t = NULL;
            taml_err_clear(&err);
            if (taml_task_load(&t, task_dir, NULL, &err) == 0) {
                CHECK(t && t->n == t->n_split[0] + t->n_split[1] + t->n_split[2]);
                CHECK(t->n_classes >= 2 && t->n_split[0] > 0 && t->n_split[1] > 0 && t->n_split[2] > 0);
                for (int32_t r = 0; r < t->n; r++) CHECK(t->label[r] >= 0 && t->label[r] < t->n_classes);
                taml_task_free(t);
                ok++;
            } else {
                CHECK(t == NULL);
                CHECK(err.code < 0 && err.msg[0] != '\0');
                failed++;
            }
        }
        free(buf);
        free(orig);
        free(src);
        free(task_dir);
    }
    CHECK(ok > 20);
    CHECK(failed > 20);
}

TEST(task_nul_byte_in_a_label_is_refused_and_in_a_text_separates)
{
    const char *dir = taml_test_tmpdir();
    char text[] = "a\tone\nb\ttwo\na\tthr\0ee\nb\tfour\na\tfive\nb\tsix\na\tseven\nb\teight\na\tnine\nb\tten\n";
    write_bytes(dir, "all.tsv", text, sizeof text - 1);
    taml_task *t = load_ok(dir, NULL);
    CHECK(t);
    char *s = row_words(t, 2);
    CHECK_STR(s, "thr ee");
    free(s);
    taml_task_free(t);
    char bad[] = "a\tone\nb\0x\ttwo\na\tthree\nb\tfour\na\tfive\nb\tsix\na\tseven\nb\teight\na\tnine\nb\tten\n";
    write_bytes(dir, "all.tsv", bad, sizeof bad - 1);
    taml_err err;
    CHECK_EQ_INT(taml_task_load(&t, dir, NULL, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "all.tsv:2: NUL byte in the label");
}

typedef struct reader {
    const taml_task *t;
    int32_t found; /* words found again by taml_task_word_id */
    size_t tokens; /* tokens of every row re-tokenised from its words */
} reader;

static void count_tok(const char *tok, size_t len, void *ctx)
{
    (void)tok;
    (void)len;
    ++*(size_t *)ctx;
}

static void *read_task(void *arg)
{
    reader *r = arg;
    for (int rep = 0; rep < 50; rep++) {
        r->found = 0;
        r->tokens = 0;
        for (int32_t w = 0; w < r->t->n_words; w++) {
            r->found += taml_task_word_id(r->t, r->t->words[w], r->t->word_len[w]) == w;
            taml_tokenise(r->t->words[w], r->t->word_len[w], count_tok, &r->tokens);
        }
    }
    return NULL;
}

TEST(task_loaded_task_and_tokeniser_serve_many_threads_at_once)
{
    /* A loaded task is shared read-only by worker threads (run under
     * SANITIZE=thread to check for races). */
    taml_task *t = load_ok(FIX "udhr-mini", NULL);
    CHECK(t);
    pthread_t th[4];
    reader r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (reader){.t = t};
        CHECK(pthread_create(&th[i], NULL, read_task, &r[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(r[i].found, t->n_words);
        CHECK_EQ_INT(r[i].tokens, t->n_words); /* each word is one token */
    }
    taml_task_free(t);
}
