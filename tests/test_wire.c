/* tests/test_wire.c - the MPI transport's message codec (src/exec/wire.c),
 * without MPI: round trips keep every field, and truncated, wrong-version,
 * oversized, corrupted and garbage messages are refused with a message
 * naming the place (never a crash or a read outside the buffer: run under
 * ASan to see). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/rng.h"
#include "core/util.h"
#include "exec/wire.h"
#include "format_check.h"
#include "test.h"

static const char *cfg =
    "{\"embedding\":\"m1\",\"fine_tune\":false,\"layers\":2,\"hidden_size\":64,"
    "\"deep_l2\":\"disable\",\"wide_l1\":0.001,\"samples\":10000}";

static void job_msg(void **m, size_t *n)
{
    taml_job job = {.id = 12345678901LL, .task = 7, .config_json = cfg,
                    .seed = 0xfedcba9876543210ULL};
    taml_err err;
    CHECK_EQ_INT(taml_wire_job_encode(&job, m, n, &err), 0);
}

static taml_job_result sample_result(void)
{
    taml_job_result r = {.id = 42, .task = 3, .worker = 5, .status = 3, .valid_acc = 0.8125,
                         .test_acc = NAN, .loss = INFINITY, .steps = 10000,
                         .train_seconds = 12.5};
    snprintf(r.error, sizeof r.error, "loss became NaN at step %d", 517);
    return r;
}

static void result_msg(void **m, size_t *n)
{
    taml_job_result r = sample_result();
    taml_err err;
    CHECK_EQ_INT(taml_wire_result_encode(&r, m, n, &err), 0);
}

/* Rewrites the envelope's length and checksum after a body was edited, so a
 * test reaches the field checks behind them. */
static void reseal(unsigned char *m, size_t n)
{
    fc_reseal(m, n);
}

TEST(wire_job_round_trip_keeps_id_task_seed_and_config)
{
    void *m;
    size_t n;
    job_msg(&m, &n);
    CHECK_EQ_INT(n, TAML_WIRE_HEADER + 24 + strlen(cfg) + 4 + TAML_WIRE_TRAILER); /* + no rung */
    CHECK(!memcmp(m, "TAMLWIRE", 8));
    CHECK_EQ_INT(taml_bytes_load_u32((unsigned char *)m + 8), TAML_WIRE_VERSION);
    CHECK_EQ_INT(taml_bytes_load_u32((unsigned char *)m + 24), TAML_WIRE_JOB);
    taml_err err;
    CHECK_EQ_INT(taml_wire_type_of(m, n, &err), TAML_WIRE_JOB);
    taml_job job;
    char *copy;
    CHECK_EQ_INT(taml_wire_job_decode(m, n, &job, &copy, &err), 0);
    CHECK_EQ_INT(job.id, 12345678901LL);
    CHECK_EQ_INT(job.task, 7);
    CHECK(job.seed == 0xfedcba9876543210ULL);
    CHECK_STR(job.config_json, cfg);
    CHECK(job.config_json == copy);
    free(copy);
    free(m);
}

TEST(wire_result_round_trip_keeps_every_field_including_nan_and_inf)
{
    void *m;
    size_t n;
    result_msg(&m, &n);
    taml_job_result got, want = sample_result();
    taml_err err;
    CHECK_EQ_INT(taml_wire_result_decode(m, n, &got, &err), 0);
    CHECK_EQ_INT(got.id, want.id);
    CHECK_EQ_INT(got.task, want.task);
    CHECK_EQ_INT(got.worker, want.worker);
    CHECK_EQ_INT(got.status, want.status);
    CHECK(got.valid_acc == 0.8125);
    CHECK(isnan(got.test_acc));
    CHECK(isinf(got.loss) && got.loss > 0);
    CHECK_EQ_INT(got.steps, 10000);
    CHECK(got.train_seconds == 12.5);
    CHECK_STR(got.error, "loss became NaN at step 517");
    free(m);
}

TEST(wire_hello_stop_and_bye_round_trip)
{
    taml_wire_hello h = {.threads = 4, .status = TAML_ENOTFOUND, .tasks_fp = 0x1122334455667788ULL};
    snprintf(h.host, sizeof h.host, "node17");
    snprintf(h.error, sizeof h.error, "cannot read /data/task-a");
    void *m;
    size_t n;
    taml_err err;
    CHECK_EQ_INT(taml_wire_hello_encode(&h, &m, &n, &err), 0);
    taml_wire_hello g;
    CHECK_EQ_INT(taml_wire_hello_decode(m, n, &g, &err), 0);
    CHECK_EQ_INT(g.threads, 4);
    CHECK_EQ_INT(g.status, TAML_ENOTFOUND);
    CHECK(g.tasks_fp == 0x1122334455667788ULL);
    CHECK_STR(g.host, "node17");
    CHECK_STR(g.error, "cannot read /data/task-a");
    free(m);

    CHECK_EQ_INT(taml_wire_stop_encode(&m, &n), 0);
    CHECK_EQ_INT(n, TAML_WIRE_HEADER + TAML_WIRE_TRAILER);
    CHECK_EQ_INT(taml_wire_stop_decode(m, n, &err), 0);
    /* a STOP is not a BYE */
    taml_wire_bye b;
    CHECK(taml_wire_bye_decode(m, n, &b, &err) < 0);
    CHECK_CONTAINS(err.msg, "expected a BYE message, got a STOP message");
    free(m);

    taml_wire_bye bye = {.status = TAML_EFORMAT};
    snprintf(bye.error, sizeof bye.error, "rank 0 sent garbage");
    CHECK_EQ_INT(taml_wire_bye_encode(&bye, &m, &n), 0);
    CHECK_EQ_INT(taml_wire_bye_decode(m, n, &b, &err), 0);
    CHECK_EQ_INT(b.status, TAML_EFORMAT);
    CHECK_STR(b.error, "rank 0 sent garbage");
    free(m);
}

static int decode_result(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    (void)source, (void)ctx;
    taml_job_result r;
    int rc = taml_wire_result_decode(buf, n, &r, err);
    if (rc) CHECK_EQ_INT(r.id, 0);
    return rc;
}

static int decode_job(const void *buf, size_t n, const char *source, taml_err *err, void *ctx)
{
    (void)source, (void)ctx;
    taml_job job;
    char *copy;
    int rc = taml_wire_job_decode(buf, n, &job, &copy, err);
    if (rc) CHECK(copy == NULL && job.config_json == NULL);
    free(copy);
    return rc;
}

TEST(wire_truncated_messages_are_refused_at_every_length)
{
    void *m;
    size_t n;
    /* cut anywhere, cut with length and CRC fixed up (the fields run out),
     * a byte changed anywhere: refused, naming the message, offset and field
     * (or the checksum) */
    result_msg(&m, &n);
    fc_truncations(m, n, "RESULT message", 1, decode_result, NULL);
    fc_resealed_truncations(m, n, "RESULT message", 1, decode_result, NULL);
    fc_flips(m, n, "RESULT message", 0, 1, decode_result, NULL);
    taml_err err;
    taml_job_result r;
    CHECK(taml_wire_result_decode(m, n - 1, &r, &err) < 0);
    CHECK_CONTAINS(err.msg, "RESULT message: offset 16: length: truncated");
    unsigned char *p = m;
    reseal(p, n - 3);
    CHECK(taml_wire_result_decode(p, n - 3, &r, &err) < 0);
    CHECK_CONTAINS(err.msg, "RESULT message: offset 98: error: truncated");
    free(m);
    job_msg(&m, &n);
    fc_truncations(m, n, "JOB message", 1, decode_job, NULL);
    fc_resealed_truncations(m, n, "JOB message", 1, decode_job, NULL);
    fc_flips(m, n, "JOB message", 0, 1, decode_job, NULL);
    free(m);
}

TEST(wire_another_version_is_refused_as_a_mismatch)
{
    void *m;
    size_t n;
    job_msg(&m, &n);
    unsigned char *p = m;
    p[8] = 1; /* version 1 */
    taml_err err;
    taml_job job;
    char *c;
    CHECK_EQ_INT(taml_wire_job_decode(m, n, &job, &c, &err), TAML_EMISMATCH);
    CHECK_STR(err.msg, "JOB message: offset 8: version: 1, this taml speaks 3: run the same taml "
                       "build on every rank");
    CHECK(c == NULL && job.config_json == NULL);
    free(m);
    /* a message of version 1's own layout: "TMLW", u16 version, type, flags */
    unsigned char old[16] = {'T', 'M', 'L', 'W', 1, 0, TAML_WIRE_STOP, 0};
    CHECK_EQ_INT(taml_wire_type_of(old, sizeof old, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "message: offset 4: version: 1 (a \"TMLW\" header), this taml speaks 3");
}

TEST(wire_oversized_messages_are_refused_on_both_sides)
{
    /* the encoder refuses a config larger than a message may carry */
    size_t big = TAML_WIRE_MAX_BODY;
    char *huge = taml_malloc(big + 1);
    memset(huge, 'x', big);
    huge[big] = '\0';
    taml_job job = {.id = 1, .task = 0, .config_json = huge, .seed = 1};
    void *m;
    size_t n;
    taml_err err;
    CHECK_EQ_INT(taml_wire_job_encode(&job, &m, &n, &err), TAML_EINVAL);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, "more than a message carries");
    free(huge);

    /* the decoder refuses a message over the limit, before its checksum */
    size_t over = TAML_WIRE_MAX_MSG + 1;
    unsigned char *p = taml_calloc(over, 1);
    memcpy(p, "TAMLWIRE", 8);
    p[8] = TAML_WIRE_VERSION;
    fc_reseal(p, over);
    CHECK_EQ_INT(taml_wire_type_of(p, over, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "message: 1048609 bytes, more than the 1048608 a taml message may have");
    free(p);

    /* a string field longer than its destination is refused, not cut */
    result_msg(&m, &n);
    p = m;
    size_t at = n - TAML_WIRE_TRAILER - strlen("loss became NaN at step 517") - 2;
    p[at] = 0xff, p[at + 1] = 0xff; /* error length 65535 > 1023 */
    reseal(p, n);
    taml_job_result r;
    CHECK(taml_wire_result_decode(m, n, &r, &err) < 0);
    CHECK_CONTAINS(err.msg, "RESULT message: offset 96: error: 65535 bytes, at most 1023 fit");
    free(m);
}

TEST(wire_flipped_bits_are_caught_by_the_checksum)
{
    void *m;
    size_t n;
    job_msg(&m, &n);
    unsigned char *p = m;
    taml_err err;
    for (size_t i = TAML_ENVELOPE_HEAD; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (unsigned char)(1u << bit);
            CHECK_EQ_INT(taml_wire_type_of(m, n, &err), TAML_ECORRUPT);
            p[i] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK_CONTAINS(err.msg, "message: taml message checksum mismatch");
    CHECK_EQ_INT(taml_wire_type_of(m, n, &err), TAML_WIRE_JOB);
    free(m);
}

TEST(wire_well_sealed_bodies_with_bad_fields_are_refused)
{
    void *m;
    size_t n;
    taml_err err;
    taml_job job;
    char *c;
    /* config length that lies (longer than the body) */
    job_msg(&m, &n);
    unsigned char *p = m;
    p[TAML_WIRE_HEADER + 20] = 0xff;
    reseal(p, n);
    CHECK(taml_wire_job_decode(m, n, &job, &c, &err) < 0);
    CHECK_CONTAINS(err.msg, "JOB message: offset 52: config: truncated");
    free(m);
    /* a NUL inside the config */
    job_msg(&m, &n);
    p = m;
    p[n - TAML_WIRE_TRAILER - 4 - 3] = 0; /* before the rung count */
    reseal(p, n);
    CHECK(taml_wire_job_decode(m, n, &job, &c, &err) < 0);
    CHECK_CONTAINS(err.msg, "JOB message: offset 48: config: a string holding a NUL byte");
    free(m);
    /* bytes after the last field */
    job_msg(&m, &n);
    p = taml_realloc(m, n + 3);
    memset(p + n - TAML_WIRE_TRAILER, 'z', 3);
    reseal(p, n + 3);
    CHECK(taml_wire_job_decode(p, n + 3, &job, &c, &err) < 0);
    char want[80];
    snprintf(want, sizeof want, "JOB message: offset %zu: the last field: 3 unexpected bytes",
             n - TAML_WIRE_TRAILER);
    CHECK_CONTAINS(err.msg, want);
    free(p);
    /* id 0 and a negative task */
    taml_job bad = {.id = 0, .task = 1, .config_json = "{}", .seed = 1};
    CHECK_EQ_INT(taml_wire_job_encode(&bad, &m, &n, &err), 0);
    CHECK(taml_wire_job_decode(m, n, &job, &c, &err) < 0);
    CHECK_CONTAINS(err.msg, "JOB message: offset 28: id: not >= 1");
    free(m);
    bad.id = 3, bad.task = -1;
    CHECK_EQ_INT(taml_wire_job_encode(&bad, &m, &n, &err), 0);
    CHECK(taml_wire_job_decode(m, n, &job, &c, &err) < 0);
    CHECK_CONTAINS(err.msg, "JOB message: offset 36: task: negative");
    free(m);
    /* a result with a negative time, a hello with 0 threads */
    taml_job_result r = sample_result();
    r.train_seconds = -1;
    CHECK_EQ_INT(taml_wire_result_encode(&r, &m, &n, &err), 0);
    CHECK(taml_wire_result_decode(m, n, &r, &err) < 0);
    CHECK_CONTAINS(err.msg, "RESULT message: offset 80: train seconds: not a finite number");
    free(m);
    taml_wire_hello h = {.threads = 0};
    CHECK_EQ_INT(taml_wire_hello_encode(&h, &m, &n, &err), 0);
    CHECK(taml_wire_hello_decode(m, n, &h, &err) < 0);
    CHECK_CONTAINS(err.msg, "HELLO message: offset 28: threads: not in 1..4096");
    free(m);
    /* unknown type and non-zero flags */
    CHECK_EQ_INT(taml_wire_stop_encode(&m, &n), 0);
    p = m;
    p[24] = 9;
    reseal(p, n);
    CHECK(taml_wire_type_of(m, n, &err) < 0);
    CHECK_STR(err.msg, "message: offset 24: type: unknown type 9");
    p[24] = TAML_WIRE_STOP, p[12] = 1;
    reseal(p, n);
    CHECK(taml_wire_stop_decode(m, n, &err) < 0);
    CHECK_STR(err.msg, "STOP message: offset 12: flags: 00000001, expected 0");
    free(m);
}

TEST(wire_garbage_is_refused_as_not_a_taml_message)
{
    taml_rng r;
    taml_rng_seed(&r, 99);
    unsigned char buf[200];
    taml_err err;
    for (int k = 0; k < 1000; k++) {
        size_t n = (size_t)taml_rng_below(&r, sizeof buf);
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)taml_rng_below(&r, 256);
        CHECK(taml_wire_type_of(buf, n, &err) < 0);
    }
    CHECK(taml_wire_type_of(NULL, 0, &err) < 0);
    const char text[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(taml_wire_type_of(text, sizeof text - 1, &err) < 0);
    CHECK_CONTAINS(err.msg, "not a taml message");
}

/* Decodes msg with every decoder; whatever one accepts must re-encode to the
 * same bytes (the encoding is canonical), so no decoder can accept a message
 * it misreads. Returns how many decoders accepted it (0 or 1). */
static int decode_all(const unsigned char *msg, size_t n)
{
    taml_err err;
    int ok = 0;
    void *again = NULL;
    size_t len = 0;
    taml_job job;
    char *c;
    if (taml_wire_job_decode(msg, n, &job, &c, &err) == 0) {
        ok++;
        CHECK_EQ_INT(taml_wire_job_encode(&job, &again, &len, &err), 0);
        free(c);
    }
    taml_job_result res;
    if (taml_wire_result_decode(msg, n, &res, &err) == 0) {
        ok++;
        free(again);
        CHECK_EQ_INT(taml_wire_result_encode(&res, &again, &len, &err), 0);
    }
    taml_wire_hello h;
    if (taml_wire_hello_decode(msg, n, &h, &err) == 0) {
        ok++;
        free(again);
        CHECK_EQ_INT(taml_wire_hello_encode(&h, &again, &len, &err), 0);
    }
    taml_wire_bye b;
    if (taml_wire_bye_decode(msg, n, &b, &err) == 0) {
        ok++;
        free(again);
        CHECK_EQ_INT(taml_wire_bye_encode(&b, &again, &len), 0);
    }
    if (taml_wire_stop_decode(msg, n, &err) == 0) {
        ok++;
        free(again);
        CHECK_EQ_INT(taml_wire_stop_encode(&again, &len), 0);
    }
    CHECK(ok <= 1);
    if (ok) {
        CHECK_EQ_INT(len, n);
        CHECK(memcmp(again, msg, n) == 0);
    }
    free(again);
    return ok;
}

TEST(wire_mutated_messages_decode_exactly_or_not_at_all)
{
    void *seeds[5];
    size_t sizes[5];
    taml_err err;
    job_msg(&seeds[0], &sizes[0]);
    result_msg(&seeds[1], &sizes[1]);
    taml_wire_hello h = {.threads = 2, .tasks_fp = 77};
    snprintf(h.host, sizeof h.host, "n1");
    CHECK_EQ_INT(taml_wire_hello_encode(&h, &seeds[2], &sizes[2], &err), 0);
    CHECK_EQ_INT(taml_wire_stop_encode(&seeds[3], &sizes[3]), 0);
    taml_wire_bye b = {.status = 0};
    CHECK_EQ_INT(taml_wire_bye_encode(&b, &seeds[4], &sizes[4]), 0);
    for (int s = 0; s < 5; s++) CHECK_EQ_INT(decode_all(seeds[s], sizes[s]), 1);

    taml_rng r;
    taml_rng_seed(&r, 2026);
    int accepted = 0, refused = 0;
    for (int k = 0; k < 20000; k++) {
        int s = (int)taml_rng_below(&r, 5);
        size_t n = sizes[s];
        /* grow or cut by up to 8 bytes, then change up to 4 bytes */
        size_t len = n + (size_t)taml_rng_below(&r, 9);
        if (taml_rng_below(&r, 2)) len = n > 8 ? n - (size_t)taml_rng_below(&r, 9) : n;
        unsigned char *p = taml_malloc(len ? len : 1);
        memcpy(p, seeds[s], len < n ? len : n);
        for (size_t i = n; i < len; i++) p[i] = (unsigned char)taml_rng_below(&r, 256);
        int edits = (int)taml_rng_below(&r, 5);
        for (int e = 0; e < edits && len; e++)
            p[taml_rng_below(&r, len)] = (unsigned char)taml_rng_below(&r, 256);
        /* most of the time fix the header up, to reach the field checks */
        if (len >= TAML_WIRE_HEADER && taml_rng_below(&r, 4) != 0) reseal(p, len);
        if (decode_all(p, len))
            accepted++;
        else
            refused++;
        free(p);
    }
    for (int s = 0; s < 5; s++) free(seeds[s]);
    /* both outcomes happen: the mutations reach past the header checks */
    CHECK(accepted > 100);
    CHECK(refused > 10000);
}

TEST(wire_tasks_fingerprint_depends_on_names_and_order)
{
    const char *a[] = {"sst2", "trec"}, *b[] = {"trec", "sst2"}, *c[] = {"sst2", "trec", "x"};
    uint64_t fa = taml_wire_tasks_fp(2, a);
    CHECK(fa == taml_wire_tasks_fp(2, a));
    CHECK(fa != taml_wire_tasks_fp(2, b));
    CHECK(fa != taml_wire_tasks_fp(3, c));
    CHECK(fa != taml_wire_tasks_fp(1, a));
}

/* A stream reader learns a message's size from its first 24 bytes: the
 * size of every message encoded, and a refusal, naming the field, of a
 * header that is not a taml message's, of another version, and of a length
 * over the limit or too short to hold the type. */
TEST(wire_frame_size_is_each_messages_length_and_refuses_bad_headers)
{
    void *m;
    size_t n, size;
    taml_err err;
    job_msg(&m, &n);
    CHECK_EQ_INT(taml_wire_frame_size(m, &size, &err), 0);
    CHECK_EQ_INT(size, n);
    unsigned char head[TAML_WIRE_FRAME_HEAD];
    memcpy(head, m, sizeof head);
    free(m);
    result_msg(&m, &n);
    CHECK_EQ_INT(taml_wire_frame_size(m, &size, &err), 0);
    CHECK_EQ_INT(size, n);
    free(m);
    taml_wire_stop_encode(&m, &n);
    CHECK_EQ_INT(taml_wire_frame_size(m, &size, &err), 0);
    CHECK_EQ_INT(size, n);
    CHECK_EQ_INT(n, 32);
    free(m);

    unsigned char bad[TAML_WIRE_FRAME_HEAD];
    memcpy(bad, head, sizeof bad);
    bad[0] = 'X';
    CHECK_EQ_INT(taml_wire_frame_size(bad, &size, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "offset 0: magic");
    CHECK_EQ_INT(size, 0);
    memcpy(bad, head, sizeof bad);
    bad[8] = 9;
    CHECK_EQ_INT(taml_wire_frame_size(bad, &size, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "offset 8: version: 9");
    memcpy(bad, head, sizeof bad);
    taml_bytes_store_u64(bad + 16, (uint64_t)TAML_WIRE_MAX_BODY + 5);
    CHECK_EQ_INT(taml_wire_frame_size(bad, &size, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "offset 16: length");
    taml_bytes_store_u64(bad + 16, (uint64_t)TAML_WIRE_MAX_BODY + 4);
    CHECK_EQ_INT(taml_wire_frame_size(bad, &size, &err), 0);
    CHECK_EQ_INT(size, TAML_WIRE_MAX_MSG);
    taml_bytes_store_u64(bad + 16, 3);
    CHECK_EQ_INT(taml_wire_frame_size(bad, &size, &err), TAML_EFORMAT);
}

/* Version 3: a job's rungs and thresholds, a result's rung accuracies and
 * the rung a pruned trial stopped at, bit for bit (NaN thresholds too);
 * rungs out of order, too many, a pruned status without its rung and a
 * rung without a pruned status are refused, naming the field. */
TEST(wire_rungs_of_jobs_and_results_round_trip_and_bad_ones_are_refused)
{
    taml_job job = {.id = 9, .task = 1, .config_json = cfg, .seed = 77, .n_rungs = 3,
                    .rung_samples = {1000, 3000, 9000},
                    .rung_threshold = {NAN, 0.5, 0.6180339887498949}};
    void *m;
    size_t n;
    taml_err err;
    CHECK_EQ_INT(taml_wire_job_encode(&job, &m, &n, &err), 0);
    CHECK_EQ_INT(n, TAML_WIRE_HEADER + 24 + strlen(cfg) + 4 + 3 * 16 + TAML_WIRE_TRAILER);
    taml_job got;
    char *c;
    CHECK_EQ_INT(taml_wire_job_decode(m, n, &got, &c, &err), 0);
    CHECK_EQ_INT(got.n_rungs, 3);
    CHECK_EQ_INT(got.rung_samples[2], 9000);
    CHECK(isnan(got.rung_threshold[0]) && got.rung_threshold[1] == 0.5 &&
          got.rung_threshold[2] == 0.6180339887498949);
    free(c);
    free(m);
    job.rung_samples[1] = 1000; /* not ascending */
    CHECK_EQ_INT(taml_wire_job_encode(&job, &m, &n, &err), 0);
    CHECK(taml_wire_job_decode(m, n, &got, &c, &err) < 0);
    CHECK_CONTAINS(err.msg, "rung samples: not ascending from >= 1");
    CHECK(c == NULL && got.n_rungs == 0);
    free(m);
    job.rung_samples[1] = 3000;
    job.rung_threshold[2] = 1.5;
    CHECK_EQ_INT(taml_wire_job_encode(&job, &m, &n, &err), 0);
    CHECK(taml_wire_job_decode(m, n, &got, &c, &err) < 0);
    CHECK_CONTAINS(err.msg, "rung threshold: not in [0, 1] or NaN");
    free(m);

    taml_job_result r = sample_result(), back;
    r.status = 6; /* pruned */
    r.n_rungs = 2;
    r.rung_acc[0] = 0.25;
    r.rung_acc[1] = 0.375;
    r.pruned_rung = 1;
    CHECK_EQ_INT(taml_wire_result_encode(&r, &m, &n, &err), 0);
    CHECK_EQ_INT(taml_wire_result_decode(m, n, &back, &err), 0);
    CHECK_EQ_INT(back.n_rungs, 2);
    CHECK(back.rung_acc[0] == 0.25 && back.rung_acc[1] == 0.375);
    CHECK_EQ_INT(back.pruned_rung, 1);
    free(m);
    r.pruned_rung = 2; /* not a rung it reached */
    CHECK_EQ_INT(taml_wire_result_encode(&r, &m, &n, &err), 0);
    CHECK(taml_wire_result_decode(m, n, &back, &err) < 0);
    CHECK_CONTAINS(err.msg, "pruned rung: not a rung of the result");
    free(m);
    r.status = 2, r.pruned_rung = 1; /* done, yet a pruned rung */
    CHECK_EQ_INT(taml_wire_result_encode(&r, &m, &n, &err), 0);
    CHECK(taml_wire_result_decode(m, n, &back, &err) < 0);
    CHECK_CONTAINS(err.msg, "pruned rung: not 0 for a trial not pruned");
    free(m);
    /* 25 rungs: more than a message carries */
    r.pruned_rung = 0;
    r.n_rungs = 0;
    CHECK_EQ_INT(taml_wire_result_encode(&r, &m, &n, &err), 0);
    unsigned char *p = m;
    size_t at = n - TAML_WIRE_TRAILER - strlen("loss became NaN at step 517") - 2 - 4 - 4;
    CHECK_EQ_INT(taml_bytes_load_u32(p + at), 0);
    p[at] = 25;
    reseal(p, n);
    CHECK(taml_wire_result_decode(m, n, &back, &err) < 0);
    CHECK_CONTAINS(err.msg, "rungs: more than 24");
    free(m);
}
