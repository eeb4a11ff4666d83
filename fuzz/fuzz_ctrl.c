/* fuzz/fuzz_ctrl.c - fuzz target for the parsers of src/space and
 * src/ctrl: search-space JSON (taml_space_from_json), controller
 * checkpoints (taml_ctrl_load) and controller files (taml_ctrlfile_open).
 *
 * One input; its first byte picks what it feeds:
 *   3 mod 4: the rest patches a valid controller file (ctrl/ctrlfile.h)
 *         around the checkpoint below, as for odd bytes (offset, flags bit
 *         0: truncate, bit 1: rewrite the length and CRC to fit); a file
 *         that opens must hold a checkpoint that loads.
 *   even: the rest is space JSON text. A space that loads must survive its
 *         own round trip (canonical text -> same fingerprint) and map every
 *         action vector to a config and back.
 *   odd:  the rest patches a valid checkpoint of a small fixed space made at
 *         start-up (the LSTM alone is ~1 MB, too big for a corpus): bytes
 *         1-4 = offset (little-endian, modulo the size), byte 5 = flags
 *         (bit 0: truncate after the patch; bit 1: rewrite the length and
 *         the CRC to fit, so the structural checks behind them are reached;
 *         bit 2: patch the checkpoint in the version-1 layout instead, the
 *         same payload without a length field), then the patch bytes.
 * Every input must end in a value or a clean error; sanitizers catch the rest.
 *
 * Two builds:
 *   make fuzz              -> build/fuzz/fuzz_ctrl FILE|DIR...: replays a corpus
 *                             (fuzz/corpus/ctrl/) and prints a tally
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_ctrl.c src/core/[a-z]*.c src/space/[a-z]*.c src/ctrl/[a-z]*.c \
 *     -lcjson -lz -lm -o fuzz_ctrl && ./fuzz_ctrl -max_total_time=300 fuzz/corpus/ctrl
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "ctrl/controller.h"
#include "ctrl/ctrlfile.h"
#include "space/space.h"
#include "replay.h"

static taml_space *small_space;
static unsigned char *ckpt;
static size_t ckpt_size;

static void setup(void)
{
    if (ckpt) return;
    taml_err err;
    if (taml_space_from_json(&small_space, "{\"a\": [1, 2], \"b\": [\"x\", \"y\", true]}", "fuzz",
                             &err) < 0)
        abort();
    taml_ctrl *c;
    if (taml_ctrl_new(&c, small_space, NULL, &err) < 0) abort();
    taml_ctrl_add_task(c, "t0", &err);
    taml_ctrl_add_task(c, "t1", &err);
    taml_rng r;
    taml_rng_seed(&r, 1);
    for (int i = 0; i < 8; i++) {
        int32_t a[2];
        taml_ctrl_sample(c, i % 2, &r, a);
        taml_ctrl_update(c, i % 2, a, 0.1 * i, NULL, &err);
    }
    void *buf;
    taml_ctrl_save(c, &buf, &ckpt_size);
    ckpt = buf;
    taml_ctrl_free(c);
}

static int run_space(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    taml_space *s = NULL, *back = NULL;
    taml_err err;
    int ok = taml_space_from_json(&s, text, "fuzz", &err) == 0;
    free(text);
    if (!ok) return 0;
    char *canon = taml_space_to_json(s);
    if (taml_space_from_json(&back, canon, "canon", &err) < 0) abort();
    if (taml_space_fingerprint(back) != taml_space_fingerprint(s)) abort();
    char how[256];
    if (taml_space_diff(s, back, how, sizeof how)) abort();
    int D = taml_space_decisions(s);
    int32_t *a = calloc((size_t)D, sizeof *a), *b = calloc((size_t)D, sizeof *b);
    for (int rep = 0; rep < 3; rep++) {
        for (int d = 0; d < D; d++) a[d] = (rep * 7 + d) % taml_space_choices(s, d);
        char *cfg = taml_space_config_text(s, a);
        if (taml_space_actions_from_config(s, cfg, b, &err) < 0) abort();
        if (memcmp(a, b, (size_t)D * sizeof *a)) abort();
        free(cfg);
    }
    free(a);
    free(b);
    free(canon);
    taml_space_free(s);
    taml_space_free(back);
    return 1;
}

/* The version-1 layout of the version-2 checkpoint v2 (n bytes): "TAMLCTRL"
 * | u32 1 | u32 0 | payload | CRC, 8 bytes shorter. */
static void as_v1(unsigned char *out, const unsigned char *v2, size_t n)
{
    memcpy(out, v2, 16);
    taml_bytes_store_u32(out + 8, 1);
    memcpy(out + 16, v2 + TAML_ENVELOPE_HEAD, n - TAML_ENVELOPE_HEAD - TAML_ENVELOPE_TAIL);
    taml_bytes_store_u32(out + n - 12, taml_crc32(0, out, n - 12));
}

/* Applies the input's patch (bytes 0-3 offset, byte 4 flags, then the
 * bytes: see the top) to buf (n bytes of an enveloped object; v1: the
 * version-1 layout, which has no length field); returns the new size. */
static size_t patch(unsigned char *buf, size_t n, const uint8_t *data, size_t size, int v1)
{
    if (size < 5) return n;
    int flags = data[4];
    uint32_t off = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                   (uint32_t)data[3] << 24;
    off %= (uint32_t)n;
    size_t len = size - 5;
    if (len > n - off) len = n - off;
    memcpy(buf + off, data + 5, len);
    if (flags & 1) n = off + len;
    if ((flags & 2) && !v1 && n >= TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL)
        taml_bytes_store_u64(buf + 16, n - TAML_ENVELOPE_HEAD - TAML_ENVELOPE_TAIL);
    if ((flags & 2) && n >= 4) taml_bytes_store_u32(buf + n - 4, taml_crc32(0, buf, n - 4));
    return n;
}

static int run_ckpt(const uint8_t *data, size_t size)
{
    setup();
    unsigned char *buf = malloc(ckpt_size);
    int flags = size >= 5 ? data[4] : 0, v1 = (flags & 4) != 0;
    size_t n = ckpt_size;
    if (v1) {
        n -= 8;
        as_v1(buf, ckpt, ckpt_size);
    } else {
        memcpy(buf, ckpt, ckpt_size);
    }
    n = patch(buf, n, data, size, v1);
    /* an exactly-sized copy, so that a read past the end is caught */
    unsigned char *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    buf = exact;
    taml_ctrl *c = NULL;
    taml_space *own = NULL;
    taml_err err;
    int ok = taml_ctrl_load_named(&c, small_space, buf, n, "fuzz.ckpt", &err) == 0;
    /* every refusal names the source */
    if (!ok && strncmp(err.msg, "fuzz.ckpt: ", 11) != 0) abort();
    if (ok) { /* a loaded controller must work */
        taml_rng r;
        taml_rng_seed(&r, 2);
        int32_t a[2];
        for (int t = 0; t < taml_ctrl_tasks(c); t++) {
            taml_ctrl_sample(c, t, &r, a);
            taml_ctrl_update(c, t, a, 0.5, NULL, &err);
        }
    }
    if (taml_ctrl_checkpoint_space(&own, buf, n, "fuzz.ckpt", &err) == 0) taml_space_free(own);
    taml_ctrl_free(c);
    free(buf);
    return ok;
}

static int run_ctrlfile(const uint8_t *data, size_t size)
{
    setup();
    void *file;
    size_t n;
    taml_ctrlfile_make("{\"format\":\"taml controller\"}", ckpt, ckpt_size, &file, &n);
    unsigned char *buf = file;
    n = patch(buf, n, data, size, 0);
    unsigned char *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    taml_ctrlfile f;
    taml_err err;
    int ok = taml_ctrlfile_open(&f, exact, n, "fuzz.tamlctrl", &err) == 0;
    if (!ok && strncmp(err.msg, "fuzz.tamlctrl", 13) != 0) abort();
    if (ok) {
        taml_space *own = NULL;
        taml_ctrl *c = NULL;
        if (taml_ctrl_checkpoint_space(&own, f.ckpt, f.ckpt_size, "inner", &err) < 0) abort();
        taml_ctrl_load_named(&c, own, f.ckpt, f.ckpt_size, "inner", &err);
        taml_ctrl_free(c);
        taml_space_free(own);
        taml_ctrlfile_deinit(&f);
    }
    free(exact);
    return ok;
}

static int run_one(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] % 4 == 3) return run_ctrlfile(data + 1, size - 1);
    return data[0] % 2 ? run_ckpt(data + 1, size - 1) : run_space(data + 1, size - 1);
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
static void cleanup(void)
{
    free(ckpt);
    taml_space_free(small_space);
}

const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays fuzz inputs through the space, checkpoint and controller-file parsers",
    .accepted = "loaded",
    .run_one = run_one,
    .cleanup = cleanup,
};
#endif
