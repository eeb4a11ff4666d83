/* fuzz/fuzz_wire.c - fuzz target for the MPI transport's message codec
 * (src/exec/wire.c): the bytes a worker rank or rank 0 may receive.
 *
 * One input = one message. Every decoder is tried; at most one may accept it,
 * and what it accepts must re-encode to exactly the input (the encoding is
 * canonical), so no decoder can accept a message it misreads; and the frame
 * size a stream reader takes from the first 24 bytes (exec/proc.c's
 * sockets) is the length of every message accepted, and within the limit
 * whenever it is given. Anything else aborts; sanitizers catch reads outside
 * the buffer.
 *
 * Two builds:
 *   make fuzz                 -> build/fuzz/fuzz_wire FILE|DIR...: replays a
 *                                corpus (fuzz/corpus/wire/) and prints a tally;
 *                                build/fuzz/fuzz_wire --seeds DIR writes the
 *                                seed messages (one of each type) into DIR
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_wire.c src/core/[a-z]*.c src/exec/wire.c -lz -lm -o fuzz_wire \
 *     && ./fuzz_wire -max_total_time=300 fuzz/corpus/wire
 *                              -> coverage-guided fuzzing with libFuzzer
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "exec/wire.h"
#include "replay.h"

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_wire: %s\n", what);
        abort();
    }
}

/* 1 when a decoder accepted the message. */
static int run_one(const uint8_t *msg, size_t n)
{
    taml_err err;
    int ok = 0;
    void *again = NULL;
    size_t len = 0;
    taml_job job;
    char *cfg;
    if (taml_wire_job_decode(msg, n, &job, &cfg, &err) == 0) {
        ok++;
        must(taml_wire_job_encode(&job, &again, &len, &err) == 0, "a decoded job does not encode");
        free(cfg);
    }
    taml_job_result res;
    if (taml_wire_result_decode(msg, n, &res, &err) == 0) {
        ok++;
        free(again);
        taml_wire_result_encode(&res, &again, &len, &err);
    }
    taml_wire_hello h;
    if (taml_wire_hello_decode(msg, n, &h, &err) == 0) {
        ok++;
        free(again);
        taml_wire_hello_encode(&h, &again, &len, &err);
    }
    taml_wire_bye b;
    if (taml_wire_bye_decode(msg, n, &b, &err) == 0) {
        ok++;
        free(again);
        taml_wire_bye_encode(&b, &again, &len);
    }
    if (taml_wire_stop_decode(msg, n, &err) == 0) {
        ok++;
        free(again);
        taml_wire_stop_encode(&again, &len);
    }
    must(ok <= 1, "two decoders accepted one message");
    size_t frame = 0;
    int framed = n >= TAML_WIRE_FRAME_HEAD && taml_wire_frame_size(msg, &frame, &err) == 0;
    if (framed) must(frame >= 32 && frame <= TAML_WIRE_MAX_MSG, "a frame size out of range");
    if (ok) must(framed && frame == n, "an accepted message's frame size is not its length");
    if (ok) must(len == n && memcmp(again, msg, n) == 0, "an accepted message re-encodes differently");
    free(again);
    return ok;
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
static int write_seed(const char *dir, const char *name, void *msg, size_t len)
{
    char *p = taml_path_join(dir, name);
    taml_err err;
    int rc = taml_write_file_atomic(p, msg, len, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    free(p);
    free(msg);
    return rc;
}

static int write_seeds(const char *dir)
{
    taml_err err;
    void *m;
    size_t n;
    int rc = 0;
    taml_job job = {.id = 17, .task = 1, .seed = 99,
                    .config_json = "{\"embedding\":\"m1\",\"layers\":2,\"deep_l2\":\"disable\"}"};
    taml_wire_job_encode(&job, &m, &n, &err);
    rc |= write_seed(dir, "job", m, n);
    taml_job_result r = {.id = 17, .task = 1, .worker = 3, .status = 2, .valid_acc = 0.75,
                         .test_acc = 0.7, .loss = 0.5, .steps = 100, .train_seconds = 1.5};
    taml_wire_result_encode(&r, &m, &n, &err);
    rc |= write_seed(dir, "result", m, n);
    snprintf(r.error, sizeof r.error, "loss is NaN");
    r.status = 3;
    taml_wire_result_encode(&r, &m, &n, &err);
    rc |= write_seed(dir, "result-error", m, n);
    /* version 3: a job with rungs, a result pruned at one */
    job.n_rungs = 2;
    job.rung_samples[0] = 1000, job.rung_samples[1] = 3000;
    job.rung_threshold[0] = 0.0 / 0.0, job.rung_threshold[1] = 0.5;
    taml_wire_job_encode(&job, &m, &n, &err);
    rc |= write_seed(dir, "job-rungs", m, n);
    r.error[0] = '\0';
    r.status = 6, r.n_rungs = 2, r.rung_acc[0] = 0.4, r.rung_acc[1] = 0.45, r.pruned_rung = 1;
    taml_wire_result_encode(&r, &m, &n, &err);
    rc |= write_seed(dir, "result-pruned", m, n);
    taml_wire_hello h = {.threads = 4, .tasks_fp = 0x0123456789abcdefULL};
    snprintf(h.host, sizeof h.host, "node1");
    taml_wire_hello_encode(&h, &m, &n, &err);
    rc |= write_seed(dir, "hello", m, n);
    taml_wire_stop_encode(&m, &n);
    rc |= write_seed(dir, "stop", m, n);
    taml_wire_bye b = {.status = TAML_EFORMAT};
    snprintf(b.error, sizeof b.error, "a malformed message");
    taml_wire_bye_encode(&b, &m, &n);
    rc |= write_seed(dir, "bye", m, n);
    return rc ? 1 : 0;
}

static int command(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--seeds")) return write_seeds(argv[2]);
    return -1;
}

const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays inputs through the MPI message codec",
    .accepted = "accepted",
    .run_one = run_one,
    .command = command,
    .command_usage = "--seeds DIR  (writes one valid message of each type)",
};
#endif
