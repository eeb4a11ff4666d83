/* fuzz/fuzz_study.c - fuzz target for what the search layer reads back from
 * disk: study files (src/store: SQLite plus taml's own columns, e.g. the
 * actions list) and aml checkpoint bundles (ctrl/bundle.h: taml_ctrl_bundle_split).
 *
 * One input; its first byte picks what it feeds:
 *   even: the rest is an aml checkpoint bundle (of either version).
 *   odd:  the rest patches a valid study made at start-up (2 tasks, 12
 *         trials in every state, pruned ones with rungs, two checkpoints): bytes 1-4 = offset
 *         (little-endian, modulo the size), byte 5 = flags (bit 0: truncate
 *         after the patch; bit 1: patch the pages after the first, so the
 *         header survives and the damage is met while reading), then the
 *         patch bytes. The file is opened read-only and read the way status,
 *         report and resume read it: settings, every trial by id and by
 *         update, both checkpoints.
 * Every input must end in a value or a clean error; sanitizers catch the rest.
 *
 * Two builds:
 *   make fuzz              -> build/fuzz/fuzz_study FILE|DIR...: replays a
 *                             corpus (fuzz/corpus/study/) and prints a tally
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_study.c src/core/[a-z]*.c src/store/[a-z]*.c src/space/[a-z]*.c \
 *     src/ctrl/[a-z]*.c -lsqlite3 -lcjson -lz -lm \
 *     -o fuzz_study && ./fuzz_study -max_total_time=300 fuzz/corpus/study
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "ctrl/bundle.h"
#include "store/store.h"
#include "replay.h"

static char *dir, *good_path, *test_path;
static char *good;
static size_t good_size;

static void make_study(void)
{
    if (good) return;
    const char *base = getenv("TMPDIR");
    dir = taml_asprintf("%s/taml-fuzz-study-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) abort();
    good_path = taml_path_join(dir, "good.db");
    test_path = taml_path_join(dir, "test.db");
    taml_store *s;
    taml_err err;
    if (taml_store_open(&s, good_path, TAML_STORE_CREATE, &err)) abort();
    char *names[] = {"alpha", "beta"}, *dirs[] = {"d/alpha", "d/beta"};
    taml_study st = {.method = "aml", .seed = 3, .space_json = "{\"a\":[1,2],\"b\":[\"x\",\"y\"]}",
                     .space_fingerprint = "00ff", .trials_per_task = 6, .options_json = "{}",
                     .taml_version = "fuzz", .n_tasks = 2, .task_names = names,
                     .task_dirs = dirs};
    if (taml_store_create(s, &st, &err)) abort();
    unsigned char blob[64];
    for (int i = 0; i < 64; i++) blob[i] = (unsigned char)(i * 37);
    if (taml_store_checkpoint_save(s, 0, blob, 64, 0, NULL, NULL, &err)) abort();
    for (int i = 1; i <= 12; i++) {
        int32_t acts[2] = {i % 2, (i / 2) % 2};
        taml_trial t = {.task = i % 2, .method = "aml", .config_json = "{\"a\":1,\"b\":\"x\"}",
                        .n_actions = 2, .actions = acts, .seed = (uint64_t)i * 0x9e3779b97f4a7c15ULL};
        if (taml_store_trial_add(s, &t, &err)) abort();
        if (i > 10) continue; /* pending */
        if (taml_store_trial_start(s, t.id, i % 3, &err)) abort();
        if (i > 8) continue; /* running */
        /* done, diverged, invalid, failed, pruned (schema 5: its rungs,
         * rung and reward), and the rungs of a done one */
        double rungs[2] = {0.05 * i, 0.1 * i};
        int k = i % 5;
        taml_trial r = {.state = (taml_trial_state)(TAML_TRIAL_DONE + k),
                        .valid_acc = k == 3 ? NAN : 0.1 * i,
                        .test_acc = k == 4 ? NAN : 0.05 * i,
                        .loss = k == 1 ? INFINITY : 1.0 / i,
                        .steps = 10 * i,
                        .train_seconds = 0.5,
                        .worker = -1,
                        .error = k == 3 ? "failed" : NULL,
                        .update_seq = k == 3 ? 0 : i - (i > 3), /* 1, 2, 3, ... */
                        .n_rungs = k == 4 ? 2 : k == 0 ? 1 : 0,
                        .rung_acc = rungs,
                        .pruned_rung = 1,
                        .reward = 0.1 * i + 0.05};
        if (taml_store_trial_finish(s, t.id, &r, &err)) abort();
    }
    double b[2] = {0.5, 0.25};
    if (taml_store_checkpoint_save(s, 4, blob, 32, 2, b, b, &err)) abort();
    taml_store_close(s); /* folds the WAL into the file */
    if (taml_read_file(good_path, &good, &good_size, &err)) abort();
}

/* Reads everything a study offers; returns 1 when the file read as a study. */
static int read_study(const char *path)
{
    taml_store *s;
    taml_err err;
    if (taml_store_open(&s, path, TAML_STORE_READONLY, &err) < 0) return 0;
    int ok = 1;
    taml_study st;
    if (taml_store_study(s, &st, &err) < 0)
        ok = 0;
    else
        taml_study_deinit(&st);
    for (int order = 0; order < 2; order++) {
        taml_store_iter *it;
        if (taml_store_iter_new(s, order, 0, &it, &err) < 0) {
            ok = 0;
            continue;
        }
        taml_trial t;
        int rc;
        while ((rc = taml_store_iter_next(it, &t, &err)) == 1)
            for (int32_t i = 0; i < t.n_actions; i++) (void)t.actions[i];
        if (rc < 0) ok = 0;
        taml_store_iter_free(it);
    }
    void *blob;
    size_t size;
    int64_t after;
    if (taml_store_checkpoint_last(s, &blob, &size, &after, &err) < 0) ok = 0;
    free(blob);
    if (taml_store_checkpoint_first(s, &blob, &size, &after, &err) < 0) ok = 0;
    free(blob);
    if (taml_store_count(s, -1, -1, &err) < 0 || taml_store_last_seq(s, &err) < 0) ok = 0;
    taml_store_close(s);
    return ok;
}

static int run_one(const uint8_t *data, size_t size)
{
    make_study();
    if (size == 0) return 0;
    if ((data[0] & 1) == 0) {
        int32_t n;
        const void **parts;
        size_t *sizes;
        taml_err err;
        if (taml_ctrl_bundle_split(data + 1, size - 1, "fuzz.db", &n, &parts, &sizes, &err) < 0) {
            if (strncmp(err.msg, "fuzz.db: ", 9) != 0) abort(); /* refusals name the source */
            return 0;
        }
        /* the parts must tile the bundle's payload: 12 bytes before them in
         * version 1 ("TAMLAMLC" | u32 n), the envelope and u32 n in 2 */
        size_t sum = 0, frame = memcmp(data + 1, "TAMLAMLC", 8) ? 28 + 4 : 12;
        for (int32_t i = 0; i < n; i++) sum += sizes[i] + 8;
        if (sum + frame != size - 1) abort();
        free(parts);
        free(sizes);
        return 1;
    }
    if (size < 6) return 0;
    unsigned char *f = malloc(good_size);
    memcpy(f, good, good_size);
    uint32_t off = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                   (uint32_t)data[4] << 24;
    int flags = data[5];
    size_t lo = (flags & 2) && good_size > 4096 ? 4096 : 0;
    size_t at = lo + off % (good_size - lo), n = size - 6;
    if (n > good_size - at) n = good_size - at;
    memcpy(f + at, data + 6, n);
    size_t len = (flags & 1) ? at + n : good_size;
    unlink(test_path);
    char *wal = taml_asprintf("%s-wal", test_path), *shm = taml_asprintf("%s-shm", test_path);
    unlink(wal);
    unlink(shm);
    FILE *out = fopen(test_path, "wb");
    if (!out) abort();
    fwrite(f, 1, len, out);
    fclose(out);
    free(f);
    int ok = read_study(test_path);
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
    return ok;
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
static void cleanup(void)
{
    taml_fuzz_remove_tree(dir); /* good.db and the last input's test.db with it */
    free(good);
    free(good_path);
    free(test_path);
}

const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays fuzz inputs through the study store and the aml checkpoint bundle",
    .accepted = "read whole",
    .run_one = run_one,
    .cleanup = cleanup,
};
#endif
