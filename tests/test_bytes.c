/* tests/test_bytes.c - core/bytes: the writer, the reader's sticky errors
 * with source, offset and field, and the envelope. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "test.h"

TEST(bytes_round_trip_every_type_little_endian_and_floats_bit_for_bit)
{
    taml_bytes_writer w;
    taml_bytes_writer_init(&w);
    taml_bytes_put_u8(&w, 0xab);
    taml_bytes_put_u16(&w, 0x1234);
    taml_bytes_put_u32(&w, 0xdeadbeef);
    taml_bytes_put_u64(&w, 0x0102030405060708ULL);
    taml_bytes_put_i32(&w, -5);
    taml_bytes_put_i64(&w, INT64_MIN);
    taml_bytes_put_f32(&w, -0.0f);
    double nan_payload;
    uint64_t bits = 0x7ff8000000000123ULL;
    memcpy(&nan_payload, &bits, 8);
    taml_bytes_put_f64(&w, nan_payload);
    float fs[3] = {1.5f, INFINITY, -2.25f};
    double ds[2] = {1e-300, -1e300};
    taml_bytes_put_f32s(&w, fs, 3);
    taml_bytes_put_f64s(&w, ds, 2);
    taml_bytes_put_str32(&w, "h\xc3\xa9llo");
    taml_bytes_put_str16(&w, "cut here", 3);
    size_t n;
    unsigned char *p = taml_bytes_writer_take(&w, &n);
    CHECK(w.p == NULL && w.n == 0);
    CHECK_EQ_INT(n, 1 + 2 + 4 + 8 + 4 + 8 + 4 + 8 + 12 + 16 + 4 + 6 + 2 + 3);
    /* little-endian on the wire whatever the host */
    CHECK_EQ_INT(p[1], 0x34);
    CHECK_EQ_INT(p[2], 0x12);
    CHECK_EQ_INT(p[3], 0xef);
    CHECK_EQ_INT(p[7], 0x08);

    taml_bytes_reader r;
    taml_bytes_reader_init(&r, p, n, "test.bin");
    CHECK_EQ_INT(taml_bytes_u8(&r, "a"), 0xab);
    CHECK_EQ_INT(taml_bytes_u16(&r, "b"), 0x1234);
    CHECK_EQ_INT(taml_bytes_u32(&r, "c"), 0xdeadbeef);
    CHECK(taml_bytes_u64(&r, "d") == 0x0102030405060708ULL);
    CHECK_EQ_INT(taml_bytes_i32(&r, "e"), -5);
    CHECK(taml_bytes_i64(&r, "f") == INT64_MIN);
    float z = taml_bytes_f32(&r, "g");
    CHECK(z == 0 && signbit(z));
    double q = taml_bytes_f64(&r, "h");
    uint64_t qb;
    memcpy(&qb, &q, 8);
    CHECK(qb == bits);
    float fo[3];
    double dd[2];
    taml_bytes_f32s(&r, fo, 3, "fs");
    taml_bytes_f64s(&r, dd, 2, "ds");
    CHECK(fo[0] == 1.5f && isinf(fo[1]) && fo[2] == -2.25f);
    CHECK(dd[0] == 1e-300 && dd[1] == -1e300);
    char *s = taml_bytes_str32(&r, 100, "s");
    CHECK_STR(s, "h\xc3\xa9llo");
    free(s);
    char buf[16];
    taml_bytes_str16(&r, buf, sizeof buf, "t");
    CHECK_STR(buf, "cut");
    CHECK_EQ_INT(taml_bytes_expect_end(&r, "the test"), TAML_OK);
    CHECK(taml_bytes_ok(&r));
    free(p);
}

TEST(bytes_reader_error_sticks_and_names_source_offset_and_field)
{
    unsigned char b[10] = {1, 0, 0, 0, 2, 0, 0, 0, 9, 9};
    taml_bytes_reader r;
    taml_bytes_reader_init(&r, b, sizeof b, "ckpt.bin");
    CHECK_EQ_INT(taml_bytes_u32(&r, "count"), 1);
    CHECK_EQ_INT(taml_bytes_u32(&r, "size"), 2);
    CHECK(taml_bytes_u64(&r, "weights") == 0); /* 2 bytes left */
    CHECK(!taml_bytes_ok(&r));
    /* later reads return zero and do not replace the first message */
    CHECK_EQ_INT(taml_bytes_u8(&r, "other"), 0);
    taml_bytes_fail(&r, TAML_EINVAL, "later", "not this one");
    taml_err err;
    CHECK_EQ_INT(taml_bytes_status(&r, &err), TAML_ECORRUPT);
    CHECK_STR(err.msg, "ckpt.bin: offset 8: weights: truncated (needs 8 bytes, 2 left)");

    /* a refused value is reported where its field began */
    taml_bytes_reader_init(&r, b, sizeof b, "x");
    taml_bytes_u32(&r, "a");
    uint32_t v = taml_bytes_u32(&r, "tasks");
    CHECK_EQ_INT(v, 2);
    taml_bytes_fail(&r, TAML_ECORRUPT, "tasks", "%u tasks, expected 1", v);
    CHECK_EQ_INT(taml_bytes_status(&r, &err), TAML_ECORRUPT);
    CHECK_STR(err.msg, "x: offset 4: tasks: 2 tasks, expected 1");

    /* trailing bytes */
    taml_bytes_reader_init(&r, b, sizeof b, "y");
    taml_bytes_u64(&r, "a");
    CHECK_EQ_INT(taml_bytes_expect_end(&r, "the last task"), TAML_ECORRUPT);
    taml_bytes_status(&r, &err);
    CHECK_STR(err.msg, "y: offset 8: the last task: 2 unexpected bytes after it");
}

TEST(bytes_strings_longer_than_allowed_or_holding_nul_are_refused)
{
    taml_bytes_writer w = {0};
    taml_bytes_put_str32(&w, "abcdef");
    taml_bytes_put_u32(&w, 3);
    taml_bytes_put(&w, "a\0b", 3);
    taml_bytes_put_u32(&w, 0xffffffffu);
    taml_bytes_reader r;
    taml_err err;
    taml_bytes_reader_init(&r, w.p, w.n, "f");
    CHECK(taml_bytes_str32(&r, 5, "name") == NULL);
    taml_bytes_status(&r, &err);
    CHECK_STR(err.msg, "f: offset 0: name: a string of 6 bytes (at most 5 expected)");
    taml_bytes_reader_init(&r, w.p, w.n, "f");
    char *s = taml_bytes_str32(&r, 6, "name");
    CHECK_STR(s, "abcdef");
    free(s);
    CHECK(taml_bytes_str32(&r, 100, "label") == NULL);
    taml_bytes_status(&r, &err);
    CHECK_STR(err.msg, "f: offset 10: label: a string holding a NUL byte");
    /* a length past the end is a truncation, whatever the maximum */
    taml_bytes_reader_init(&r, w.p + 17, w.n - 17, "g");
    CHECK(taml_bytes_str32(&r, SIZE_MAX, "word") == NULL);
    taml_bytes_status(&r, &err);
    CHECK_CONTAINS(err.msg, "g: offset 4: word: truncated (needs 4294967295 bytes, 0 left)");
    taml_bytes_writer_deinit(&w);
}

TEST(bytes_sub_reader_reports_offsets_from_the_start_of_the_source)
{
    unsigned char b[12] = {0};
    b[4] = 7;
    taml_bytes_reader r, sub;
    taml_bytes_reader_init(&r, b, sizeof b, "bundle");
    taml_bytes_u32(&r, "n");
    taml_bytes_reader_sub(&r, 6, "part 1", &sub);
    CHECK_EQ_INT(taml_bytes_u32(&sub, "x"), 7);
    CHECK(taml_bytes_u32(&sub, "y") == 0);
    taml_err err;
    taml_bytes_status(&sub, &err);
    CHECK_STR(err.msg, "bundle: offset 8: y: truncated (needs 4 bytes, 2 left)");
    CHECK(taml_bytes_ok(&r));
    CHECK_EQ_INT(taml_bytes_offset(&r), 10);
    /* a sub-reader past the end fails with the parent's message */
    taml_bytes_reader_sub(&r, 100, "part 2", &sub);
    CHECK(!taml_bytes_ok(&r) && !taml_bytes_ok(&sub));
    taml_bytes_status(&sub, &err);
    CHECK_STR(err.msg, "bundle: offset 10: part 2: truncated (needs 100 bytes, 2 left)");
}

TEST(bytes_pad_and_patch_place_bytes_where_asked)
{
    taml_bytes_writer w = {0};
    taml_bytes_put_u8(&w, 1);
    taml_bytes_put_pad(&w, 64);
    CHECK_EQ_INT(w.n, 64);
    taml_bytes_put_pad(&w, 64);
    CHECK_EQ_INT(w.n, 64);
    taml_bytes_put_u64(&w, 0);
    taml_bytes_patch_u64(&w, 64, 42);
    taml_bytes_patch_u32(&w, 1, 0x01020304);
    CHECK(taml_bytes_load_u64(w.p + 64) == 42);
    CHECK_EQ_INT(taml_bytes_load_u32(w.p + 1), 0x01020304);
    taml_bytes_writer_deinit(&w);
}

TEST(envelope_round_trips_and_refuses_magic_truncation_trailing_bytes_and_bad_crc)
{
    taml_bytes_writer w = {0};
    size_t start = taml_envelope_begin(&w, "TAMLTEST", 3, 5);
    taml_bytes_put_str32(&w, "payload");
    taml_envelope_end(&w, start);
    CHECK_EQ_INT(w.n, 28 + 4 + 7);
    taml_envelope env;
    taml_err err;
    CHECK_EQ_INT(taml_envelope_open(w.p, w.n, "t.bin", "TAMLTEST", "test object", &env, &err), 0);
    CHECK_EQ_INT(env.version, 3);
    CHECK_EQ_INT(env.flags, 5);
    CHECK_EQ_INT(env.size, 11);
    uint32_t v;
    CHECK(taml_envelope_peek(w.p, w.n, "TAMLTEST", &v) && v == 3);
    CHECK(!taml_envelope_peek(w.p, w.n, "TAMLOTHR", &v));
    taml_bytes_reader r;
    taml_envelope_reader(&env, "t.bin", &r);
    char *s = taml_bytes_str32(&r, 100, "text");
    CHECK_STR(s, "payload");
    free(s);
    taml_bytes_u8(&r, "more");
    taml_bytes_status(&r, &err);
    CHECK_STR(err.msg, "t.bin: offset 35: more: truncated (needs 1 bytes, 0 left)");

    CHECK_EQ_INT(taml_envelope_open(w.p, w.n, "t.bin", "TAMLCTRL", "controller checkpoint", &env,
                                    &err),
                 TAML_ECORRUPT);
    CHECK_STR(err.msg, "t.bin: not a controller checkpoint (expected magic \"TAMLCTRL\", 39 bytes)");
    /* cut inside the magic: a truncation at offset 0, not a foreign file */
    for (size_t cut = 0; cut < 8; cut++) {
        CHECK_EQ_INT(taml_envelope_open(w.p, cut, "t.bin", "TAMLTEST", "test object", &env, &err),
                     TAML_ECORRUPT);
        CHECK_CONTAINS(err.msg, "t.bin: offset 0: magic: truncated (a test object takes at least 28");
    }
    CHECK_EQ_INT(taml_envelope_open(NULL, 0, "t.bin", "TAMLTEST", "test object", &env, &err),
                 TAML_ECORRUPT);
    CHECK_EQ_INT(taml_bytes_error(&err, TAML_EFORMAT, "m.tamlm", 72, "word index", "word %d", 3),
                 TAML_EFORMAT);
    CHECK_STR(err.msg, "m.tamlm: offset 72: word index: word 3");
    /* every truncation is reported as one, never read past */
    for (size_t cut = 8; cut < w.n; cut++) {
        CHECK_EQ_INT(taml_envelope_open(w.p, cut, "t.bin", "TAMLTEST", "test object", &env, &err),
                     TAML_ECORRUPT);
        CHECK_CONTAINS(err.msg, "truncated");
    }
    unsigned char *longer = taml_malloc(w.n + 2);
    memcpy(longer, w.p, w.n);
    longer[w.n] = longer[w.n + 1] = 0;
    CHECK_EQ_INT(taml_envelope_open(longer, w.n + 2, "t.bin", "TAMLTEST", "test object", &env, &err),
                 TAML_ECORRUPT);
    CHECK_STR(err.msg, "t.bin: offset 39: trailing bytes: 2 after the end of the test object");
    free(longer);
    /* one flipped bit anywhere but the magic is a checksum mismatch */
    for (size_t i = 8; i < w.n; i++) {
        if (i >= 16 && i < 24) continue; /* the length: reported as a truncation */
        w.p[i] ^= 0x10;
        CHECK_EQ_INT(taml_envelope_open(w.p, w.n, "t.bin", "TAMLTEST", "test object", &env, &err),
                     TAML_ECORRUPT);
        CHECK_CONTAINS(err.msg, "t.bin: test object checksum mismatch");
        w.p[i] ^= 0x10;
    }
    taml_bytes_writer_deinit(&w);
}
