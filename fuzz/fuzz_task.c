/* fuzz/fuzz_task.c - fuzz target for the task loader (src/data/task*.c).
 *
 * One input = one file of a task directory: its first byte picks the file
 * (see slot[] below), the rest are the file's bytes; the other files of that
 * task are fixed, well-formed ones written once to a temporary directory.
 * Every load must end in a task or a clean error; sanitizers catch the rest.
 * The input's bytes also go straight through the tokeniser, whose tokens must
 * be valid UTF-8 and tokenise to themselves.
 *
 * Two builds:
 *   make fuzz                 -> build/fuzz/fuzz_task FILE|DIR...: replays a
 *                                corpus (fuzz/corpus/task/) and prints a tally
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_task.c src/core/[a-z]*.c src/data/[a-z]*.c -lutf8proc -lz -o fuzz_task \
 *     && ./fuzz_task -max_total_time=300 fuzz/corpus/task
 *                              -> coverage-guided fuzzing with libFuzzer
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/utf8.h"
#include "data/task.h"
#include "data/tokenise.h"
#include "replay.h"

typedef struct file {
    const char *name;
    const char *data;
    size_t size;
} file;

#define F(name, lit) {name, lit, sizeof lit - 1}
static const char ten[] = "a\tone two\nb\tthree\na\tfour\nb\tfive\na\tsix\nb\tseven\na\teight\nb\tnine\n"
                          "a\tten\nb\televen\n";
/* The fixed files of each task directory (IDX headers big-endian). */
static const file text3[] = {F("train.tsv", "a\tone two\nb\tthree\n"), F("valid.tsv", "a\tx\n"),
                             F("test.tsv", "b\ty\n"), F("meta.txt", "name=t\n")};
static const file idx[] = {
    F("train-images-idx3-ubyte", "\0\0\x08\x03\0\0\0\x0c\0\0\0\x01\0\0\0\x01" "abcdefghijkl"),
    F("train-labels-idx1-ubyte", "\0\0\x08\x01\0\0\0\x0c" "\0\1\0\1\0\1\0\1\0\1\0\1"),
    F("t10k-images-idx3-ubyte", "\0\0\x08\x03\0\0\0\x02\0\0\0\x01\0\0\0\x01" "mn"),
    F("t10k-labels-idx1-ubyte", "\0\0\x08\x01\0\0\0\x02" "\0\1"),
};
static const file u8[] = {F("images.u8", "abcdefghij"), F("labels.u8", "\0\1\0\1\0\1\0\1\0\2"),
                          F("meta.txt", "n=10\nheight=1\nwidth=1\nchannels=1\n"),
                          F("classes.txt", "x\ny\nz\n")};

static const struct slot {
    const char *task; /* subdirectory */
    const file *files;
    int n_files;
    const char *target; /* the file the input replaces */
} slot[] = {
    {"all", NULL, 0, "all.tsv"},
    {"text3", text3, 4, "train.tsv"},
    {"text3", text3, 4, "meta.txt"},
    {"idx", idx, 4, "train-images-idx3-ubyte"},
    {"idx", idx, 4, "train-labels-idx1-ubyte"},
    {"idxgz", idx + 1, 3, "train-images-idx3-ubyte.gz"},
    {"u8", u8, 4, "images.u8"},
    {"u8", u8, 4, "labels.u8"},
    {"u8", u8, 4, "meta.txt"},
    {"u8", u8, 4, "classes.txt"},
};
enum { N_SLOTS = sizeof slot / sizeof slot[0] };

static char *root;

static void put(const char *dir, const char *name, const void *data, size_t size)
{
    char *p = taml_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    free(p);
}

static void setup(void)
{
    if (root) return;
    char tmpl[] = "/tmp/taml-fuzz-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    root = strdup(tmpl);
    taml_err err;
    for (int s = 0; s < N_SLOTS; s++) {
        char *dir = taml_path_join(root, slot[s].task);
        if (taml_mkdirs(dir, &err) < 0) abort();
        for (int k = 0; k < slot[s].n_files; k++) put(dir, slot[s].files[k].name, slot[s].files[k].data, slot[s].files[k].size);
        free(dir);
    }
    char *all = taml_path_join(root, "all");
    put(all, "all.tsv", ten, sizeof ten - 1);
    free(all);
}

/* Each token must be non-empty valid UTF-8 that tokenises to itself. */
static void check_again(const char *tok, size_t len, void *ctx)
{
    const char **want = ctx;
    if (len == 0 || strlen(want[0]) != len || memcmp(want[0], tok, len) != 0) abort();
}

static void check_token(const char *tok, size_t len, void *ctx)
{
    (void)ctx;
    if (len == 0 || taml_utf8_check(tok, len) != len) abort();
    char *copy = strndup(tok, len);
    const char *want[1] = {copy};
    if (taml_tokenise(tok, len, check_again, want) != 1) abort();
    free(copy);
}

/* Returns 1 when the input loaded as a task, 0 when it was refused. */
static int run_one(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0) return 0;
    /* The tokeniser takes any bytes (invalid UTF-8 separates). */
    taml_tokenise((const char *)data + 1, size - 1, check_token, NULL);
    const struct slot *s = &slot[data[0] % N_SLOTS];
    char *dir = taml_path_join(root, s->task);
    put(dir, s->target, data + 1, size - 1);
    taml_task *t = NULL;
    taml_err err;
    taml_err_clear(&err);
    int rc = taml_task_load(&t, dir, NULL, &err);
    if (rc == 0) {
        /* A loaded task must be consistent. */
        if (t->n != t->n_split[0] + t->n_split[1] + t->n_split[2] || t->n_classes < 2) abort();
        for (int32_t r = 0; r < t->n; r++)
            if (t->label[r] < 0 || t->label[r] >= t->n_classes) abort();
        if (t->kind == TAML_TASK_TEXT)
            for (int64_t k = 0; k < t->tok_off[t->n]; k++)
                if (t->tok[k] < 0 || t->tok[k] >= t->n_words) abort();
    } else if (t != NULL || err.msg[0] == '\0' || err.code != rc) {
        abort();
    }
    taml_task_free(t);
    /* Put the well-formed file back for the next input. */
    for (int k = 0; k < s->n_files; k++)
        if (!strcmp(s->files[k].name, s->target)) put(dir, s->target, s->files[k].data, s->files[k].size);
    if (!strcmp(s->target, "all.tsv")) put(dir, "all.tsv", ten, sizeof ten - 1);
    if (!strcmp(s->target, "train-images-idx3-ubyte.gz")) {
        char *p = taml_path_join(dir, s->target);
        unlink(p);
        free(p);
    }
    free(dir);
    return rc == 0;
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
static void cleanup(void) { taml_fuzz_remove_tree(root); }

const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays fuzz inputs through the task loader",
    .accepted = "loaded",
    .run_one = run_one,
    .cleanup = cleanup,
};
#endif
