/* tests/test_checkpoint.c - controller checkpoints (ctrl/checkpoint.c) and
 * controller bundles (ctrl/bundle.h) as bytes: their layout in the envelope
 * of core/bytes.h, the version-1 layouts still read, and every kind of
 * damage refused with "SOURCE: offset N: FIELD: what" (or a checksum
 * mismatch). The controller's behaviour across a save and load is in
 * test_controller.c; checkpoints written by the old code are read in
 * test_formats_v1.c. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/rng.h"
#include "core/util.h"
#include "ctrl/bundle.h"
#include "ctrl/controller.h"
#include "format_check.h"
#include "test.h"

static taml_space *small_space(void)
{
    taml_space *sp;
    taml_err err;
    CHECK(taml_space_from_json(&sp, "{\"a\": [1, 2], \"b\": [\"x\", \"y\", true]}", "t", &err) == 0);
    return sp;
}

/* A controller of `tasks` tasks after 4 updates a task (seed makes it
 * distinct): Adam moments, baselines and counts all set. */
static taml_ctrl *trained(const taml_space *sp, int tasks, uint64_t seed)
{
    taml_ctrl_opts o;
    taml_ctrl_opts_default(&o);
    o.seed = seed;
    o.warmup = 2;
    taml_ctrl *c;
    taml_err err;
    CHECK(taml_ctrl_new(&c, sp, &o, &err) == 0);
    for (int t = 0; t < tasks; t++) {
        char name[16];
        snprintf(name, sizeof name, "task-%d", t);
        CHECK_EQ_INT(taml_ctrl_add_task(c, name, &err), t);
    }
    taml_rng r;
    taml_rng_seed(&r, seed);
    for (int i = 0; i < 4 * tasks; i++) {
        int32_t a[2];
        taml_ctrl_sample(c, i % tasks, &r, a);
        CHECK(taml_ctrl_update(c, i % tasks, a, 0.1 * (i % 7), NULL, &err) == 0);
    }
    return c;
}

/* A checkpoint of trained(sp, 2, seed) (heap, *n bytes). */
static void *saved(const taml_space *sp, uint64_t seed, size_t *n)
{
    taml_ctrl *c = trained(sp, 2, seed);
    void *buf;
    taml_ctrl_save(c, &buf, n);
    taml_ctrl_free(c);
    return buf;
}

static int load_ckpt(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    taml_ctrl *c = NULL;
    int rc = taml_ctrl_load_named(&c, ctx, buf, n, source, err);
    taml_ctrl_free(c);
    return rc;
}

/* The version-1 framing of a version-2 checkpoint: no length, version 1. */
static unsigned char *as_v1(const unsigned char *v2, size_t n, size_t *size)
{
    size_t payload = n - TAML_ENVELOPE_HEAD - TAML_ENVELOPE_TAIL;
    *size = 16 + payload + 4;
    unsigned char *b = taml_malloc(*size);
    memcpy(b, "TAMLCTRL", 8);
    taml_bytes_store_u32(b + 8, 1);
    taml_bytes_store_u32(b + 12, 0);
    memcpy(b + 16, v2 + TAML_ENVELOPE_HEAD, payload);
    taml_bytes_store_u32(b + 16 + payload, taml_crc32(0, b, 16 + payload));
    return b;
}

TEST(ctrl_checkpoint_is_an_envelope_of_version_2_around_the_version_1_payload)
{
    taml_space *sp = small_space();
    size_t n;
    void *buf = saved(sp, 7, &n);
    unsigned char *b = buf;
    CHECK(!memcmp(b, "TAMLCTRL", 8));
    CHECK_EQ_INT(taml_bytes_load_u32(b + 8), 2);
    CHECK_EQ_INT(taml_bytes_load_u32(b + 12), 0);
    CHECK_EQ_INT(taml_bytes_load_u64(b + 16), n - 28);
    CHECK_EQ_INT(taml_bytes_load_u32(b + n - 4), taml_crc32(0, b, n - 4));
    CHECK(taml_bytes_load_u64(b + 24) == taml_space_fingerprint(sp));
    /* the same payload in the version-1 framing loads to the same state:
     * saved again, it is the version-2 checkpoint byte for byte */
    size_t n1;
    unsigned char *v1 = as_v1(b, n, &n1);
    CHECK_EQ_INT(n1, n - 8);
    taml_ctrl *back;
    taml_err err;
    CHECK_EQ_INT(taml_ctrl_load_named(&back, sp, v1, n1, "old.ckpt", &err), 0);
    void *again;
    size_t na;
    taml_ctrl_save(back, &again, &na);
    CHECK(na == n && !memcmp(again, buf, n));
    taml_space *own;
    CHECK_EQ_INT(taml_ctrl_checkpoint_space(&own, v1, n1, "old.ckpt", &err), 0);
    CHECK(taml_space_fingerprint(own) == taml_space_fingerprint(sp));
    taml_space_free(own);
    free(again);
    free(v1);
    free(buf);
    taml_ctrl_free(back);
    taml_space_free(sp);
}

TEST(ctrl_checkpoint_damage_is_refused_naming_the_source_offset_and_field)
{
    taml_space *sp = small_space();
    size_t n;
    void *buf = saved(sp, 8, &n);
    fc_truncations(buf, n, "t.ckpt", 4099, load_ckpt, sp);
    fc_resealed_truncations(buf, n, "t.ckpt", 4099, load_ckpt, sp);
    fc_flips(buf, n, "t.ckpt", 0, 997, load_ckpt, sp);
    size_t n1;
    unsigned char *v1 = as_v1(buf, n, &n1);
    fc_truncations(v1, n1, "old.ckpt", 4099, load_ckpt, sp);
    fc_flips(v1, n1, "old.ckpt", 0, 997, load_ckpt, sp);
    free(v1);

    /* what some damages say, word for word */
    unsigned char *b = taml_malloc(n);
    taml_err err;
    taml_ctrl *out;
    memcpy(b, buf, n);
    CHECK_EQ_INT(taml_ctrl_load_named(&out, sp, b, n - 1, "t.ckpt", &err), TAML_ECORRUPT);
    CHECK(out == NULL);
    CHECK_CONTAINS(err.msg, "t.ckpt: offset 16: length: truncated");
    taml_bytes_store_u32(b + 8, 3);
    CHECK_EQ_INT(taml_ctrl_load_named(&out, sp, b, n, "t.ckpt", &err), TAML_EFORMAT);
    CHECK_STR(err.msg, "t.ckpt: offset 8: version: controller checkpoint version 3; this taml "
                       "reads versions 1 and 2");
    taml_bytes_store_u32(b + 8, 2);
    /* the weight count, 8 bytes before the weights (after the space JSON,
     * 13 options, H, E, the Adam step and 4 RNG words) */
    size_t at = 24 + 8 + 4 + taml_bytes_load_u32(b + 32) + 7 * 8 + 3 * 4 + 3 * 8 + 8 + 2 * 4 + 8 +
                4 * 8;
    taml_bytes_store_u64(b + at, 999);
    fc_reseal(b, n);
    CHECK_EQ_INT(taml_ctrl_load_named(&out, sp, b, n, "t.ckpt", &err), TAML_ECORRUPT);
    char want[128];
    snprintf(want, sizeof want, "t.ckpt: offset %zu: weights: 999; its space needs ", at);
    CHECK_CONTAINS(err.msg, want);
    memcpy(b, buf, n);
    taml_bytes_store_u32(b + n - 4, 0);
    CHECK_EQ_INT(taml_ctrl_load_named(&out, sp, b, n, "t.ckpt", &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "t.ckpt: controller checkpoint checksum mismatch");
    /* no name: the messages say what it is */
    CHECK_EQ_INT(taml_ctrl_load(&out, sp, b, 5, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "controller checkpoint: offset 0: magic: truncated");
    free(b);
    free(buf);
    taml_space_free(sp);
}

static int split_bundle(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    (void)ctx;
    int32_t k;
    const void **parts;
    size_t *sizes;
    int rc = taml_ctrl_bundle_split(buf, n, source, &k, &parts, &sizes, err);
    if (rc == 0) {
        free(parts);
        free(sizes);
    }
    return rc;
}

TEST(ctrl_bundle_holds_one_checkpoint_per_controller_in_order)
{
    taml_space *sp = small_space();
    taml_ctrl *c[3] = {trained(sp, 1, 1), trained(sp, 1, 2), trained(sp, 1, 3)};
    void *blob;
    size_t n;
    taml_ctrl_bundle_save(c, 3, &blob, &n);
    unsigned char *b = blob;
    CHECK(!memcmp(b, "TAMLBNDL", 8));
    CHECK_EQ_INT(taml_bytes_load_u32(b + 8), 2);
    CHECK_EQ_INT(taml_bytes_load_u64(b + 16), n - 28);
    CHECK_EQ_INT(taml_bytes_load_u32(b + 24), 3);
    CHECK(taml_ctrl_bundle_is(b, n));
    int32_t k;
    const void **parts;
    size_t *sizes;
    taml_err err;
    CHECK_EQ_INT(taml_ctrl_bundle_split(b, n, "b.db", &k, &parts, &sizes, &err), 0);
    CHECK_EQ_INT(k, 3);
    for (int i = 0; i < 3; i++) {
        void *one;
        size_t len;
        taml_ctrl_save(c[i], &one, &len);
        CHECK(sizes[i] == len && !memcmp(parts[i], one, len));
        free(one);
    }
    /* a single checkpoint is not a bundle */
    CHECK(!taml_ctrl_bundle_is(parts[0], sizes[0]));
    free(parts);
    free(sizes);
    taml_ctrl **back;
    CHECK_EQ_INT(taml_ctrl_bundle_load(&back, &k, sp, b, n, "b.db", &err), 0);
    CHECK_EQ_INT(k, 3);
    void *again;
    size_t na;
    taml_ctrl_bundle_save(back, 3, &again, &na);
    CHECK(na == n && !memcmp(again, b, n));
    free(again);
    for (int i = 0; i < 3; i++) taml_ctrl_free(back[i]);
    free(back);
    /* an empty bundle is one too */
    void *none;
    taml_ctrl_bundle_save(c, 0, &none, &na);
    CHECK_EQ_INT(taml_ctrl_bundle_load(&back, &k, sp, none, na, "b.db", &err), 0);
    CHECK_EQ_INT(k, 0);
    free(back);
    free(none);
    /* damage to a part is named with the part */
    b[n / 2] ^= 1;
    CHECK_EQ_INT(taml_ctrl_bundle_split(b, n, "b.db", &k, &parts, &sizes, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "b.db: controller bundle checksum mismatch");
    fc_reseal(b, n);
    CHECK(taml_ctrl_bundle_load(&back, &k, sp, b, n, "b.db", &err) < 0);
    CHECK_CONTAINS(err.msg, "b.db: controller 2 of 3: controller checkpoint checksum mismatch");
    CHECK(back == NULL && k == 0);
    free(blob);
    for (int i = 0; i < 3; i++) taml_ctrl_free(c[i]);
    taml_space_free(sp);
}

TEST(ctrl_bundle_damage_is_refused_naming_the_source_offset_and_field)
{
    taml_space *sp = small_space();
    taml_ctrl *c[2] = {trained(sp, 1, 4), trained(sp, 2, 5)};
    void *blob;
    size_t n;
    taml_ctrl_bundle_save(c, 2, &blob, &n);
    fc_truncations(blob, n, "b.db", 8191, split_bundle, NULL);
    fc_resealed_truncations(blob, n, "b.db", 8191, split_bundle, NULL);
    fc_flips(blob, n, "b.db", 0, 1999, split_bundle, NULL);
    free(blob);
    for (int i = 0; i < 2; i++) taml_ctrl_free(c[i]);
    taml_space_free(sp);
}

TEST(ctrl_bundle_version_1_splits_and_refuses_damage)
{
    /* "TAMLAMLC" | u32 n | n x (u64 size, bytes), as written before the
     * envelope (the parts here are not checkpoints: split does not look) */
    unsigned char b[12 + 8 + 3 + 8 + 2] = {'T', 'A', 'M', 'L', 'A', 'M', 'L', 'C', 2, 0, 0, 0};
    b[12] = 3;
    memcpy(b + 20, "abc", 3);
    b[23] = 2;
    memcpy(b + 31, "de", 2);
    int32_t n;
    const void **parts;
    size_t *sizes;
    taml_err err;
    CHECK(taml_ctrl_bundle_is(b, sizeof b));
    CHECK_EQ_INT(taml_ctrl_bundle_split(b, sizeof b, "a.db", &n, &parts, &sizes, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(sizes[0], 3);
    CHECK(!memcmp(parts[0], "abc", 3));
    CHECK_EQ_INT(sizes[1], 2);
    CHECK(!memcmp(parts[1], "de", 2));
    free(parts);
    free(sizes);
    fc_truncations(b, sizeof b, "a.db", 1, split_bundle, NULL);
    CHECK_EQ_INT(taml_ctrl_bundle_split(b, sizeof b - 1, "a.db", &n, &parts, &sizes, &err),
                 TAML_ECORRUPT);
    CHECK_STR(err.msg, "a.db: offset 31: controller 2 of 2: truncated (needs 2 bytes, 1 left)");
    unsigned char longer[sizeof b + 1];
    memcpy(longer, b, sizeof b);
    longer[sizeof b] = 0;
    CHECK_EQ_INT(taml_ctrl_bundle_split(longer, sizeof longer, "a.db", &n, &parts, &sizes, &err),
                 TAML_ECORRUPT);
    CHECK_STR(err.msg, "a.db: offset 33: the last controller: 1 unexpected bytes after it");
    b[11] = 0x7f; /* a count no file this size can hold */
    CHECK_EQ_INT(taml_ctrl_bundle_split(b, sizeof b, "a.db", &n, &parts, &sizes, &err),
                 TAML_ECORRUPT);
    CHECK_STR(err.msg, "a.db: offset 8: controllers: 2130706434 controllers in 21 bytes");
    CHECK_EQ_INT(taml_ctrl_bundle_split("TAMLCTRL....", 12, "a.db", &n, &parts, &sizes, &err),
                 TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "a.db: not a controller bundle (expected magic \"TAMLBNDL\"");
    CHECK(!taml_ctrl_bundle_is("TAMLCTRL....", 12));
}
