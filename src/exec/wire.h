/* exec/wire.h - the bytes the MPI transport (exec/mpi.c) sends between rank 0
 * and the worker ranks, and the process backend (exec/proc.c) between the
 * search process and its workers: a versioned, checksummed encoding of the
 * executor's jobs and results (exec/pool.h) and of the few control messages
 * around them.
 *
 * It lives apart from mpi.c and is compiled in every build, so the default
 * `make test` checks the codec (round trips, truncated, wrong-version,
 * oversized and garbage messages) on machines without MPI.
 *
 * Every message is one envelope of core/bytes.h (magic "TAMLWIRE", version
 * TAML_WIRE_VERSION, flags 0, payload length, CRC-32 of all before it, all
 * integers little-endian, doubles as their IEEE-754 bits) whose payload is
 * a u32 type (taml_wire_type) and the fields of that type:
 *
 *   off size
 *     0   24  envelope header: "TAMLWIRE", u32 version, u32 flags, u64 length
 *    24    4  type
 *    28    N  fields (N <= TAML_WIRE_MAX_BODY)
 *  28+N    4  CRC-32 of bytes 0 .. 28+N-1
 *
 * Another version (also version 1's 16-byte "TMLW" header) is refused as
 * TAML_EMISMATCH: messages are never stored, so a build speaks one version.
 * Version 3 added the rungs of a pruned search (exec/pool.h's taml_job):
 * r <= TAML_JOB_RUNGS, rung samples ascending and >= 1, thresholds in
 * [0, 1] or NaN, rung accuracies in [0, 1] or NaN, the pruned rung in
 * 0 .. r - 1 of the result's rungs when the status is pruned (6), else 0.
 *
 *   HELLO  worker -> 0, once at start: i32 threads, i32 status (0 or a taml
 *          error code), u64 tasks fingerprint, u16 n + host, u16 n + error
 *   JOB    0 -> worker: i64 id, i32 task, u64 seed, u32 n + config JSON,
 *          u32 r + r x (i64 rung samples, f64 rung threshold)   (version 3)
 *   RESULT worker -> 0: i64 id, i32 task, i32 worker (thread in its rank),
 *          i32 status, f64 valid, f64 test, f64 loss, i64 steps,
 *          f64 train_seconds, u32 r + r x f64 rung accuracy, i32 pruned
 *          rung (version 3), u16 n + error
 *   STOP   0 -> worker: empty; finish the jobs running, then say BYE
 *   BYE    worker -> 0, last: i32 status, u16 n + error (why, when not 0)
 *
 * Strings are sent without a terminating NUL and must not contain one. A
 * decoder checks the envelope, the checksum, that the body has exactly the
 * fields of its type and that each value is in range; anything else is a
 * negative status (TAML_ECORRUPT for a cut or damaged envelope, TAML_EFORMAT
 * for a bad field, TAML_EMISMATCH for another version) with a message
 * naming the place, "JOB message: offset 40: config: truncated ...", never a
 * read outside the buffer.
 */
#ifndef TAML_EXEC_WIRE_H
#define TAML_EXEC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "exec/pool.h"

#define TAML_WIRE_VERSION 3
#define TAML_WIRE_HEADER 28 /* the envelope's header and the type */
#define TAML_WIRE_TRAILER 4 /* the CRC-32 */
/* Largest body (the fields) accepted: a config JSON is a few hundred bytes;
 * 1 MiB leaves room for large custom spaces while a corrupt length cannot
 * make a receiver allocate gigabytes. */
#define TAML_WIRE_MAX_BODY (1u << 20)
#define TAML_WIRE_MAX_MSG (TAML_WIRE_HEADER + TAML_WIRE_MAX_BODY + TAML_WIRE_TRAILER)
#define TAML_WIRE_HOST 256

typedef enum taml_wire_type {
    TAML_WIRE_HELLO = 1,
    TAML_WIRE_JOB = 2,
    TAML_WIRE_RESULT = 3,
    TAML_WIRE_STOP = 4,
    TAML_WIRE_BYE = 5,
} taml_wire_type;

/* A worker rank's greeting: how many jobs it runs at once, and whether it
 * could load what the study needs (status 0) or why not (error). */
typedef struct taml_wire_hello {
    int32_t threads;
    int32_t status;
    uint64_t tasks_fp; /* taml_wire_tasks_fp of the tasks it loaded */
    char host[TAML_WIRE_HOST];
    char error[TAML_ERR_MSG];
} taml_wire_hello;

/* A worker rank's farewell: status 0 after STOP, or why it stops by itself. */
typedef struct taml_wire_bye {
    int32_t status;
    char error[TAML_ERR_MSG];
} taml_wire_bye;

/* Encoders: *out gets a heap buffer of *len bytes (caller frees). Strings
 * longer than their field are cut (host, errors) or refused (a config over
 * TAML_WIRE_MAX_BODY, or one holding a NUL cannot be, being a C string). */
int taml_wire_hello_encode(const taml_wire_hello *h, void **out, size_t *len, taml_err *err);
int taml_wire_job_encode(const taml_job *job, void **out, size_t *len, taml_err *err);
int taml_wire_result_encode(const taml_job_result *res, void **out, size_t *len, taml_err *err);
int taml_wire_stop_encode(void **out, size_t *len);
int taml_wire_bye_encode(const taml_wire_bye *b, void **out, size_t *len);

/* Checks the envelope and checksum of msg (len bytes) and returns its type
 * (> 0), or a negative status with a message saying what is wrong. */
int taml_wire_type_of(const void *msg, size_t len, taml_err *err);

/* Decoders: validate everything (header, type, fields, ranges) and fill the
 * output; on failure the output is zeroed and a negative status is
 * returned. job_decode sets job->config_json to *config, a NUL-terminated
 * heap copy the caller frees. */
int taml_wire_hello_decode(const void *msg, size_t len, taml_wire_hello *h, taml_err *err);
int taml_wire_job_decode(const void *msg, size_t len, taml_job *job, char **config, taml_err *err);
int taml_wire_result_decode(const void *msg, size_t len, taml_job_result *res, taml_err *err);
int taml_wire_stop_decode(const void *msg, size_t len, taml_err *err);
int taml_wire_bye_decode(const void *msg, size_t len, taml_wire_bye *b, taml_err *err);

/* For a stream transport (exec/proc.c's sockets), where a receiver must
 * know a message's size before it has all of it: the whole size of the
 * message whose first TAML_WIRE_FRAME_HEAD bytes are head, from the payload
 * length in its envelope header. A negative status (TAML_EFORMAT, or
 * TAML_EMISMATCH for another version) when head is not a taml message's or
 * says more than TAML_WIRE_MAX_MSG. The whole message is checked later by
 * its decoder, as any other. */
#define TAML_WIRE_FRAME_HEAD 24
int taml_wire_frame_size(const void *head, size_t *size, taml_err *err);

/* A fingerprint of a study's task list (count and names in order), so that
 * rank 0 can check that every worker rank loaded the same tasks. */
uint64_t taml_wire_tasks_fp(int32_t n_tasks, const char *const *names);

#endif
