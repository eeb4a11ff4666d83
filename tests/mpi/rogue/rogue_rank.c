/* tests/mpi/rogue/rogue_rank.c - a test double of a broken MPI rank, for
 * tests/mpi/test_mpi.c: started beside `taml search` in one MPMD job
 * (`mpirun -n 1 taml search ... : -n 1 rogue_rank MODE`), it speaks taml's
 * protocol wrongly on purpose, so the tests see what a malformed message
 * does to a real rank 0 or worker rank (an error naming the rank, never a
 * crash or a hang). The only MPI code outside src/exec/mpi.c, and only a
 * test's: it must create its communicator as taml_mpi_open does (one
 * MPI_Comm_dup of MPI_COMM_WORLD) for its messages to reach taml's.
 *
 * Modes, as a worker rank (rank 1):
 *   bad-hello     sends 40 random bytes instead of HELLO
 *   garbage       greets properly, answers the first JOB with random bytes
 *   wrong-id      answers the first JOB with a RESULT for another trial
 *   oversized     answers the first JOB with a 2 MiB message
 *   early-bye     answers the first JOB with BYE (leaves before STOP)
 * then answers STOP with BYE. As rank 0:
 *   root-garbage  waits for the worker's HELLO, sends it a garbage JOB and
 *                 prints the worker's BYE ("bye STATUS: MESSAGE")
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/wire.h"

#define TAG 7301 /* as src/exec/mpi.c */

static MPI_Comm comm;

static void *recv_any(int *src, int *len)
{
    MPI_Status st;
    MPI_Probe(MPI_ANY_SOURCE, TAG, comm, &st);
    MPI_Get_count(&st, MPI_BYTE, len);
    void *buf = malloc(*len > 0 ? (size_t)*len : 1);
    MPI_Recv(buf, *len, MPI_BYTE, st.MPI_SOURCE, TAG, comm, MPI_STATUS_IGNORE);
    *src = st.MPI_SOURCE;
    return buf;
}

static void send_to(int dest, void *msg, size_t len)
{
    MPI_Send(msg, (int)len, MPI_BYTE, dest, TAG, comm);
    free(msg);
}

static void *garbage(size_t n)
{
    unsigned char *p = malloc(n);
    srand(7);
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)rand();
    return p;
}

static int as_worker(const char *mode, uint64_t fp)
{
    void *msg;
    size_t len;
    taml_err err;
    if (!strcmp(mode, "bad-hello")) {
        send_to(0, garbage(40), 40);
    } else {
        taml_wire_hello h = {.threads = 1, .tasks_fp = fp};
        snprintf(h.host, sizeof h.host, "rogue");
        taml_wire_hello_encode(&h, &msg, &len, &err);
        send_to(0, msg, len);
    }
    int answered = 0;
    for (;;) {
        int src, n;
        void *in = recv_any(&src, &n);
        int type = taml_wire_type_of(in, (size_t)n, &err);
        if (type == TAML_WIRE_STOP) {
            free(in);
            break;
        }
        if (type == TAML_WIRE_JOB && !answered) {
            answered = 1;
            taml_job job;
            char *cfg;
            taml_wire_job_decode(in, (size_t)n, &job, &cfg, &err);
            if (!strcmp(mode, "garbage")) {
                send_to(0, garbage(64), 64);
            } else if (!strcmp(mode, "wrong-id")) {
                taml_job_result r = {.id = job.id + 1000, .task = job.task, .status = 2,
                                     .valid_acc = 0.5, .test_acc = 0.5};
                taml_wire_result_encode(&r, &msg, &len, &err);
                send_to(0, msg, len);
            } else if (!strcmp(mode, "oversized")) {
                size_t big = 2u << 20;
                send_to(0, calloc(1, big), big);
            } else if (!strcmp(mode, "early-bye")) {
                taml_wire_bye b = {.status = 0};
                taml_wire_bye_encode(&b, &msg, &len);
                send_to(0, msg, len);
                free(cfg);
                free(in);
                return 0; /* gone: rank 0 sends no STOP to a rank that said BYE */
            }
            free(cfg);
        }
        free(in);
    }
    taml_wire_bye b = {.status = 0};
    taml_wire_bye_encode(&b, &msg, &len);
    send_to(0, msg, len);
    return 0;
}

static int as_root(void)
{
    int src, n;
    void *in = recv_any(&src, &n);
    taml_err err;
    taml_wire_hello h;
    if (taml_wire_hello_decode(in, (size_t)n, &h, &err)) {
        printf("rogue: bad hello: %s\n", err.msg);
        return 1;
    }
    free(in);
    send_to(src, garbage(50), 50);
    in = recv_any(&src, &n);
    taml_wire_bye b;
    if (taml_wire_bye_decode(in, (size_t)n, &b, &err)) {
        printf("rogue: expected BYE: %s\n", err.msg);
        return 1;
    }
    printf("bye %d: %s\n", (int)b.status, b.error);
    fflush(stdout);
    free(in);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rogue_rank MODE TASKS_FP (see the file)\n");
        return 2;
    }
    int provided;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    int rank;
    MPI_Comm_rank(comm, &rank);
    uint64_t fp = strtoull(argv[2], NULL, 16);
    int rc = rank == 0 ? as_root() : as_worker(argv[1], fp);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return rc;
}
