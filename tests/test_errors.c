/* tests/test_errors.c - every error about a file names the file, the real
 * cause and what was expected (docs/errors.md lists them): the search space
 * that lacks a decision or holds one the child does not know, JSON nested
 * past the reader's limit, a decision given twice in a config, a number too
 * large for a double, a word2vec binary read as text, labels that differ
 * by a space, counts of one; and the text rules of core/text.h they use. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"
#include "nn/config.h"
#include "space/space.h"
#include "test.h"
#include "testutil.h"

#define FIX "tests/fixtures/"

static char *tmp(const char *name)
{
    return taml_path_join(taml_test_tmpdir(), name);
}

static char *write_tmp(const char *name, const char *text)
{
    char *p = tmp(name);
    taml_err err;
    CHECK_MSG(taml_write_file_atomic(p, text, strlen(text), &err) == 0, "%s", err.msg);
    return p;
}

/* A task directory name in the test's directory whose all.tsv is text. */
static char *task_of(const char *name, const char *text)
{
    char *dir = tmp(name);
    taml_err err;
    CHECK_EQ_INT(taml_mkdirs(dir, &err), 0);
    char *all = taml_path_join(dir, "all.tsv");
    CHECK_MSG(taml_write_file_atomic(all, text, strlen(text), &err) == 0, "%s", err.msg);
    free(all);
    return dir;
}

/* The output of `taml ARGS` (printf-style), stderr joined, with its status
 * checked. */
__attribute__((format(printf, 2, 3))) static char *taml(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args = NULL;
    CHECK(vasprintf(&args, fmt, ap) >= 0);
    va_end(ap);
    char *cmd = taml_asprintf("%s %s", taml_test_bin(), args), *out;
    int rc = taml_test_run(cmd, &out);
    CHECK_MSG(rc == status, "%s: status %d, not %d\n%s", cmd, rc, status, out);
    free(cmd);
    free(args);
    return out;
}

/* A space as the paper's with the small choices of the tests, with the
 * text of decision `drop` left out and `extra` (e.g. ", \"x\": [1]")
 * added. */
static char *space_without(const char *drop, const char *extra)
{
    static const char *decisions[] = {
        "\"embedding\": [\"random-8\"]", "\"fine_tune\": [false]", "\"layers\": [1]",
        "\"hidden_size\": [8]", "\"activation\": [\"relu\"]", "\"normalization\": [\"none\"]",
        "\"dropout\": [0.0, 0.1]", "\"deep_lr\": [0.1]", "\"deep_l2\": [0]", "\"wide_lr\": [0.1]",
        "\"wide_l1\": [0]", "\"samples\": [1000]"};
    char buf[1024] = "{";
    for (size_t i = 0; i < sizeof decisions / sizeof *decisions; i++) {
        if (drop && !strncmp(decisions[i] + 1, drop, strlen(drop))) continue;
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", buf[1] ? ", " : "",
                 decisions[i]);
    }
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s}", extra);
    return taml_strdup(buf);
}

static char *search_with_space(int status, const char *space_text)
{
    char *space = write_tmp("space.json", space_text), *study = tmp("s.db");
    char *out = taml(status, "search --study %s --task " FIX "tasks/child-topics --method random "
                             "--trials 1 --workers 1 --space %s",
                     study, space);
    free(space);
    free(study);
    return out;
}

TEST(errors_space_blames_the_decision_at_fault_and_names_the_file)
{
    static const struct {
        const char *drop, *extra; /* space_without's arguments */
        const char *says, *also;
    } cases[] = {
        /* a missing decision: the one missing, not the first (embedding) */
        {"dropout", "", "space.json: the space has no decision 'dropout'", "(embedding is optional)"},
        /* a decision the child does not have */
        {NULL, ", \"momentum\": [0.9]",
         "space.json: decision 'momentum' is not one the child model has", "embedding (optional)"},
        /* a choice out of range: that decision and that choice */
        {"dropout", ", \"dropout\": [0.1, 1.5]",
         "space.json: the search space does not make valid child configurations (decision "
         "'dropout', choice 2 of 2: 1.5)",
         "expected a number in [0, 0.99]"},
        /* a first choice out of range is that choice's fault too */
        {"layers", ", \"layers\": [0, 1]", "(decision 'layers', choice 1 of 2: 0)", "\"layers\" is 0"},
        /* a number too large for a double is out of range, not "not a number" */
        {"deep_lr", ", \"deep_lr\": [0.1, 1e999]",
         "space.json: decision 'deep_lr' choice 2 is a number out of range", "1.8e308"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *sp = space_without(cases[i].drop, cases[i].extra), *out = search_with_space(1, sp);
        CHECK_CONTAINS(out, cases[i].says);
        CHECK_CONTAINS(out, cases[i].also);
        CHECK(!strstr(out, "decision 'embedding'"));
        free(out);
        free(sp);
    }
}

/* n nested arrays inside an object member: depth n + 1. */
static char *nested(const char *key, int n)
{
    size_t len = strlen(key) + 2 * (size_t)n + 16;
    char *s = taml_malloc(len);
    int o = snprintf(s, len, "{\"%s\": ", key);
    for (int i = 0; i < n; i++) s[o++] = '[';
    for (int i = 0; i < n; i++) s[o++] = ']';
    snprintf(s + o, len - (size_t)o, "}");
    return s;
}

TEST(errors_json_nested_past_the_readers_limit_says_the_limit)
{
    taml_err err;
    taml_space *sp = NULL;
    char *deep = nested("layers", 1000); /* 1001 levels */
    CHECK_EQ_INT(taml_space_from_json(&sp, deep, "deep.json", &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "deep.json:1: arrays and objects nested deeper than 1000 levels, the "
                            "JSON reader's limit");
    taml_child_config c;
    CHECK_EQ_INT(taml_child_config_parse(&c, deep, strlen(deep), &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "config: byte 1010: arrays and objects nested deeper than 1000 levels");
    int32_t actions[1];
    CHECK_EQ_INT(taml_space_actions_from_config(NULL, deep, actions, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "nested deeper than 1000 levels");
    free(deep);
    /* 1000 levels parse (and are refused for what they hold) */
    deep = nested("layers", 999);
    CHECK_EQ_INT(taml_space_from_json(&sp, deep, "ok.json", &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "ok.json: decision 'layers' choice 1 is a list");
    free(deep);
    /* through the command line: the config file's name */
    deep = nested("dropout", 2000);
    char *path = write_tmp("deep.json", deep), *out;
    out = taml(1, "train --task " FIX "tasks/child-topics --config %s", path);
    CHECK_CONTAINS(out, path);
    CHECK_CONTAINS(out, "nested deeper than 1000 levels");
    free(out);
    free(path);
    free(deep);
    /* a deep text that is not valid JSON anyway still says why it stopped */
    CHECK_EQ_INT(taml_text_json_depth("[[[\"[[[[\"]]]", 12, 2, NULL), 3);
}

/* `taml embed import FILE --format format` into FILE.tamlm: exits with
 * status and says says; its output (heap). */
static char *import_says(int status, const char *file, const char *format, const char *says)
{
    char *out = taml(status, "embed import %s --format %s --name x --language en -o %s.tamlm", file,
                     format, file);
    CHECK_CONTAINS(out, says);
    return out;
}

static const char *full_config =
    "{\"embedding\": \"random-8\", \"fine_tune\": false, \"layers\": 1, \"hidden_size\": 8, "
    "\"activation\": \"relu\", \"normalization\": \"none\", \"dropout\": 0, \"deep_lr\": 0.1, "
    "\"deep_l2\": 0, \"wide_lr\": 0.1, \"wide_l1\": 0, \"samples\": 1000%s}";

TEST(errors_config_refuses_a_decision_given_twice_and_a_number_out_of_range)
{
    taml_child_config c;
    taml_err err;
    char *text = taml_asprintf(full_config, ", \"dropout\": 0.5");
    CHECK_EQ_INT(taml_child_config_parse(&c, text, strlen(text), &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "config: decision \"dropout\" is given twice");
    free(text);
    text = taml_asprintf(full_config, "");
    CHECK_EQ_INT(taml_child_config_parse(&c, text, strlen(text), &err), 0);
    free(text);
    /* 1e999 overflows a double: out of range, with the range */
    static const struct {
        const char *from, *to, *says;
    } cases[] = {
        {"\"deep_lr\": 0.1", "\"deep_lr\": 1e999",
         "config: \"deep_lr\" is out of range (beyond the largest double, about 1.8e308); "
         "expected a number in (0, 1e+06]"},
        {"\"layers\": 1", "\"layers\": -1e999", "\"layers\" is out of range"},
        {"\"deep_l2\": 0", "\"deep_l2\": 1e400", "expected a number in [0, 1e+06] or \"disable\""},
        {"\"deep_lr\": 0.1", "\"deep_lr\": \"fast\"", "\"deep_lr\" must be a number in (0, 1e+06]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *base = taml_asprintf(full_config, "");
        char *at = strstr(base, cases[i].from);
        CHECK(at != NULL);
        text = taml_asprintf("%.*s%s%s", (int)(at - base), base, cases[i].to,
                             at + strlen(cases[i].from));
        CHECK_EQ_INT(taml_child_config_parse(&c, text, strlen(text), &err), TAML_EINVAL);
        CHECK_CONTAINS(err.msg, cases[i].says);
        free(text);
        free(base);
    }
    /* on the command line, a repeated decision in a config file names it */
    text = taml_asprintf(full_config, ", \"layers\": 2");
    char *path = write_tmp("twice.json", text), *out;
    out = taml(1, "train --task " FIX "tasks/child-topics --config %s", path);
    CHECK_CONTAINS(out, "twice.json: config: decision \"layers\" is given twice");
    free(out);
    free(path);
    free(text);
}

TEST(errors_word2vec_binary_imported_as_text_is_shown_escaped_with_the_format_to_try)
{
    /* "2 4\n" then word, space, 4 little-endian floats, newline */
    static const unsigned char bin[] = {'2', ' ', '4', '\n', 't', 'h', 'e', ' ', 0xcd, 0xcc, 0xcc,
                                        0x3d, 0, 0, 0x20, 0xc0, 0, 0, 0x50, 0x40, 0x6f, 0x12,
                                        0x83, 0x3a, '\n'};
    char *path = tmp("w2v.bin");
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(path, bin, sizeof bin, &err), 0);
    char *out = import_says(1, path, "word2vec-text",
                            "w2v.bin:2: \"\\xcd\\xcc\\xcc=\" is not a number; the line holds "
                            "binary bytes: a word2vec binary file? try --format word2vec-bin");
    /* nothing but the escapes: no raw byte above 0x7e in the message */
    for (const unsigned char *p = (const unsigned char *)out; *p; p++) CHECK(*p < 0x7f);
    free(out);
    /* a text file with a bad number gets no such hint */
    char *txt = write_tmp("v.txt", "1 2\nthe 1 x2\n");
    free(import_says(1, txt, "word2vec-text", "v.txt:2: \"x2\" is not a number\n"));
    free(txt);
    free(path);
}

TEST(errors_data_info_classes_shows_labels_that_differ_by_a_space_apart)
{
    /* 20 lines: "a" and "a " are two labels */
    char text[512] = "";
    for (int i = 0; i < 20; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s\tword %d\n",
                 i % 3 == 0 ? "a " : i % 3 == 1 ? "a" : "b\x01", i);
    char *dir = task_of("t", text);
    char *out = taml(0, "data info %s --classes", dir);
    CHECK_CONTAINS(out, "  \"a\"\n");
    CHECK_CONTAINS(out, "  \"a \"\n");
    CHECK_CONTAINS(out, "  \"b\\x01\"\n");
    free(out);
    free(dir);
}

TEST(errors_counts_of_one_take_the_singular)
{
    /* one line: an empty valid split */
    char *dir = task_of("one", "a\tb\n");
    char *out = taml(1, "data info %s", dir);
    CHECK_CONTAINS(out, "all.tsv: 1 line gives an empty valid split");
    free(out);
    /* a search summary of one trial */
    char *study = tmp("s.db");
    out = taml(0, "search --study %s --task " FIX "tasks/child-topics --method random --trials 1 "
                  "--workers 1 --space " FIX "v1/space.json",
               study);
    CHECK_CONTAINS(out, "child-topics                     1 trial   best valid");
    free(out);
    out = taml(0, "status %s", study);
    CHECK_CONTAINS(out, "1 task, 1 trial per task asked");
    free(out);
    /* an import of one word */
    char *vec = write_tmp("one.vec", "1 2\nthe 0.5 0.25\n");
    free(import_says(0, vec, "fasttext-vec", ": 1 word x 2 from"));
    free(vec);
    free(study);
    free(dir);
}

TEST(errors_text_rules_quote_detect_binary_count_depth_and_pluralise)
{
    char q[32];
    CHECK_STR(taml_text_quote(q, sizeof q, "a \"b\"\t\\", 7), "\"a \\\"b\\\"\\t\\\\\"");
    CHECK_STR(taml_text_quote(q, sizeof q, "\xff\x01z", 3), "\"\\xff\\x01z\"");
    CHECK_STR(taml_text_quote(q, sizeof q, "caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");
    /* cut on a character boundary, the cut said */
    CHECK_STR(taml_text_quote(q, 16, "abcdefghijklmnopqrstuvwxyz", 26), "\"abcdefghij\"...");
    CHECK_STR(taml_text_quote(q, 16, "abcdefghi\xc3\xa9xyz", 14), "\"abcdefghi\"...");
    CHECK_EQ_INT(taml_text_looks_binary("plain text\twith tab\r\n", 21), 0);
    CHECK_EQ_INT(taml_text_looks_binary("caf\xc3\xa9", 5), 0);
    CHECK_EQ_INT(taml_text_looks_binary("a\0b", 3), 1);
    CHECK_EQ_INT(taml_text_looks_binary("\xcd\xcc\xcc=", 4), 1);
    size_t at = 0;
    CHECK_EQ_INT(taml_text_json_depth("{\"a\": [[1], {\"b\": [2]}]}", 24, 2, &at), 4);
    CHECK_EQ_INT(at, 7); /* the first bracket past the limit */
    CHECK_EQ_INT(taml_text_json_depth("\"[[[\\\"[[\"", 9, 0, NULL), 0);
    CHECK_STR(taml_text_plural(1, "trial", "trials"), "trial");
    CHECK_STR(taml_text_plural(0, "trial", "trials"), "trials");
    CHECK_STR(taml_text_plural(-1, "trial", "trials"), "trials");
    /* the hash: the same bytes the same value, any change another; the
     * length is part of it */
    const char *s = "the quick brown fox jumps over the lazy dog";
    uint64_t h = taml_hash64(1, s, strlen(s));
    CHECK(h == taml_hash64(1, s, strlen(s)));
    CHECK(h != taml_hash64(2, s, strlen(s)));
    char t[64];
    for (size_t i = 0; i < strlen(s); i++) {
        memcpy(t, s, strlen(s));
        t[i] ^= 1;
        CHECK(taml_hash64(1, t, strlen(s)) != h);
    }
    static const char zeros[16] = {0};
    CHECK(taml_hash64(1, zeros, 8) != taml_hash64(1, zeros, 9));
    CHECK(taml_hash64(1, zeros, 0) != taml_hash64(1, zeros, 1));
}

/* The bad inputs found by trying every command on every kind of file: each
 * gets a message naming the file and what is wrong, and exit 1 (2 for a
 * usage error, with the usage). In the test's directory: text.txt (a
 * line of text), empty (no bytes), dir/ (a directory), s.db (a study of
 * three trials), bad.db (s.db with bytes 100..115 overwritten), and the v1
 * fixture model (a text model). */
TEST(errors_bad_files_of_every_kind_name_the_file_and_the_cause)
{
    const char *d = taml_test_tmpdir();
    char *cmd = taml_asprintf(
        "cd %s && echo hello > text.txt && : > empty && mkdir -p dir && "
        "%s/%s search --study s.db --task %s/" FIX "tasks/child-topics --method random "
        "--trials 3 --workers 1 --space %s/" FIX "v1/space.json > /dev/null 2>&1 && "
        "cp s.db bad.db && printf XXXXXXXXXXXXXXXX | dd of=bad.db bs=1 seek=100 conv=notrunc "
        "2>/dev/null",
        d, getenv("PWD"), taml_test_bin(), getenv("PWD"), getenv("PWD"));
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    free(out);
    free(cmd);
    static const struct {
        const char *args; /* %1$s: the test's directory */
        int status;
        const char *says;
    } cases[] = {
        {"data info %1$s/text.txt", 1, "text.txt: a file, not a directory; expected a task directory"},
        {"embed info %1$s/none.tamlm", 1, "none.tamlm: cannot open: No such file or directory"},
        {"embed info none.tamlm", 1, "none.tamlm: no such module file"},
        {"embed info %1$s/empty", 1, "empty: offset 0: magic: truncated"},
        {"embed info %1$s/dir", 1, "dir: a directory, not a module file"},
        {"embed list --dir %1$s/text.txt", 1, "text.txt: not a directory; expected the module library"},
        {"embed info random-0", 1, "module 'random-0': random-D needs D in 1..65536"},
        {"embed neighbours random-8 'two words'", 2, "WORD: 'two words' is 2 tokens for the tokeniser"},
        {"train --task " FIX "tasks/child-topics --config %1$s/dir", 1,
         "dir: cannot read: a directory, not a file"},
        {"train --task " FIX "tasks/child-topics --config %1$s/empty", 1,
         "empty: config: empty; expected a JSON object of the 12 decisions"},
        {"search --study %1$s/n.db --task " FIX "tasks/child-topics --method random --trials 1 "
         "--space %1$s/empty",
         1, "empty: empty; a space is one object"},
        {"status %1$s/none.db", 1, "none.db: no such study file"},
        {"status %1$s/dir", 1, "dir: a directory, not a study file"},
        {"status %1$s/text.txt", 1, "text.txt: not a taml study (not an SQLite database"},
        {"status %1$s/bad.db", 1, "bad.db: the study file is damaged (SQLite: "},
        {"export %1$s/none.db --task child-topics -o %1$s/m.taml", 1, "none.db: no such study file"},
        {"export %1$s/s.db --task child-topics -o %1$s/no/m.taml", 1,
         "no/m.taml: cannot create it (through "},
        {"search --study %1$s/no/s.db --task " FIX "tasks/child-topics --method random --trials 1 "
         "--space " FIX "v1/space.json",
         1, "no/s.db: cannot open or create the study file: No such file or directory"},
        {"search --study %1$s/t.db --task " FIX "tasks/child-topics --method transfer --trials 1 "
         "--space " FIX "v1/space.json --from %1$s/dir",
         1, "dir: a directory, not a study or checkpoint file"},
        {"predict " FIX "v1/model.taml --images %1$s/empty", 2,
         "is a text model: it reads texts on stdin, not --images"},
        {"predict %1$s/s.db", 1, "s.db: not a taml model"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char args[1024];
        snprintf(args, sizeof args, cases[i].args, d);
        taml_test_cli_says(args, cases[i].status, cases[i].says);
    }
    /* an image model: it reads --images, a file of whole images, at least one */
    static const char *ispace =
        "{\"embedding\": [\"pixels\"], \"fine_tune\": [false], \"layers\": [1], "
        "\"hidden_size\": [8], \"activation\": [\"relu\"], \"normalization\": [\"none\"], "
        "\"dropout\": [0.0], \"deep_lr\": [0.1], \"deep_l2\": [0], \"wide_lr\": [0.1], "
        "\"wide_l1\": [0], \"samples\": [1000]}";
    char *space = write_tmp("ispace.json", ispace), *study = tmp("img.db"), *model = tmp("img.taml");
    char *five = write_tmp("five", "12345");
    free(taml(0, "search --study %s --task " FIX "tasks/idx-mini --method random --trials 1 "
                 "--workers 1 --space %s",
              study, space));
    free(taml(0, "export %s --task idx-mini -o %s", study, model));
    char args[1024];
    snprintf(args, sizeof args, "predict %s", model);
    taml_test_cli_says(args, 2, "is an image model (2x3x1): give --images FILE");
    snprintf(args, sizeof args, "predict %s --images %s", model, five);
    taml_test_cli_says(args, 1, "five: 5 bytes is not a whole number of 2x3x1 images");
    snprintf(args, sizeof args, "predict %s --images %s/empty", model, d);
    taml_test_cli_says(args, 1,
                       "empty: 0 bytes (empty) is not a whole number of 2x3x1 images; expected "
                       "raw bytes (6 per image");
    /* an IDX file of images of another shape, and one of no images */
    static const unsigned char idx_3x2[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6};
    static const unsigned char idx_none[] = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3};
    char *wrong = tmp("wrong.idx"), *none = tmp("none.idx");
    CHECK(taml_write_file_atomic(wrong, idx_3x2, sizeof idx_3x2, NULL) == 0);
    CHECK(taml_write_file_atomic(none, idx_none, sizeof idx_none, NULL) == 0);
    snprintf(args, sizeof args, "predict %s --images %s", model, wrong);
    taml_test_cli_says(args, 1, "wrong.idx: IDX images of 3x2x1; expected 2x3x1 (height x width x channels)");
    snprintf(args, sizeof args, "predict %s --images %s", model, none);
    taml_test_cli_says(args, 1, "none.idx: an IDX file of no images");
    free(wrong);
    free(none);
    free(five);
    free(space);
    free(study);
    free(model);
}
