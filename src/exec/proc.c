/* exec/proc.c - the executor's process backend (see proc.h): the search
 * process's pool, the fork server and the worker loop.
 *
 * The search process (P) keeps one slot per worker: its socket, the trial it
 * runs and since when, and a buffer for the bytes of a message not yet
 * whole (the sockets are streams; a message's envelope header gives its
 * size). It waits in poll() on the server's socket and every worker's, with
 * the nearest trial deadline as the timeout, so a result or a death wakes it
 * at once and nothing spins. The server (S) waits in poll() on P's socket, a
 * signalfd for SIGCHLD and the workers' stderr pipes.
 *
 * A death is known from S's EXITED message, the only authority on it (it
 * reaped the process): P then reads what is left on the worker's socket,
 * so a RESULT written just before the worker died still counts, and only
 * then gives the job TAML_JOB_DIED (or TAML_JOB_TIMEOUT when P had asked
 * for the kill). Kills go through S, which kills only a child it has not
 * reaped: P never signals a pid that may have been reused.
 */
#include "exec/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "exec/wire.h"

/* Deaths in a row before a worker is ready that make the pool give up. */
#define EARLY_DEATHS 3
/* A memory limit must leave a worker this much above what it holds at start. */
#define MEMORY_MARGIN_MB 8

/* ------------------------------------------------- P <-> S control messages */

enum { CTL_SPAWN = 1, CTL_KILL, CTL_SPAWNED, CTL_EXITED };
#define CTL_TEXT 200

typedef struct ctl_msg {
    int32_t type;
    int32_t slot;
    int32_t pid;    /* SPAWNED: the worker's (0: fork failed); KILL, EXITED: whose */
    int32_t status; /* SPAWNED with pid 0: errno; EXITED: the wait status */
    char text[CTL_TEXT]; /* EXITED: the last "taml:" line of its stderr, "" if none */
} ctl_msg;

/* Sends m, with fd (>= 0) attached as SCM_RIGHTS. */
static int ctl_send(int ctl, const ctl_msg *m, int fd)
{
    struct iovec iov = {(void *)m, sizeof *m};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&u, 0, sizeof u);
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n;
    while ((n = sendmsg(ctl, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    return n == (ssize_t)sizeof *m ? 0 : -1;
}

/* Receives one message: 1 (with *fd the descriptor attached, or -1), 0 at
 * the end (the other side closed), -1 on an error. */
static int ctl_recv(int ctl, ctl_msg *m, int *fd)
{
    *fd = -1;
    struct iovec iov = {m, sizeof *m};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    ssize_t n;
    while ((n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n == 0) return 0;
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(c), sizeof *fd);
    if (n != (ssize_t)sizeof *m) {
        if (*fd >= 0) close(*fd);
        *fd = -1;
        return -1;
    }
    m->text[CTL_TEXT - 1] = '\0';
    return 1;
}

/* Closes every descriptor from lo up. */
static void close_from(int lo)
{
    if (close_range((unsigned)lo, ~0U, 0) == 0) return;
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = lo; fd < (max > 0 && max < 65536 ? max : 65536); fd++) close((int)fd);
}

/* Writes all n bytes (a socket: no SIGPIPE). 0, or -1 with errno. */
static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What a wait status says, after prefix: "died of signal 11 (Segmentation
 * fault)" or "exited with status 1", and the last "taml:" line it wrote. */
static void describe_exit(char *buf, size_t cap, const char *prefix, int status,
                          const char *last_line)
{
    int n;
    if (WIFSIGNALED(status))
        n = snprintf(buf, cap, "%sdied of signal %d (%s)", prefix, WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
    else
        n = snprintf(buf, cap, "%sexited with status %d", prefix,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (last_line[0] && n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, " (it last said: %s)", last_line);
}

/* ---------------------------------------------------------------- worker */

/* Reads exactly n bytes: 1, 0 at the end before any byte, -1 otherwise. */
static int read_full(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, c + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0 && got == 0) return 0;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 1;
}

/* One whole message from a blocking stream: 1 with *msg (heap), 0 at the
 * end, negative (err) on a bad frame or a cut message. */
static int read_msg(int fd, void **msg, size_t *len, taml_err *err)
{
    *msg = NULL;
    unsigned char head[TAML_WIRE_FRAME_HEAD];
    int rc = read_full(fd, head, sizeof head);
    if (rc <= 0) return rc == 0 ? 0 : taml_err_set(err, TAML_EIO, "the socket broke in a message");
    size_t size;
    if ((rc = taml_wire_frame_size(head, &size, err))) return rc;
    unsigned char *m = taml_malloc(size);
    memcpy(m, head, sizeof head);
    if (read_full(fd, m + sizeof head, size - sizeof head) != 1) {
        free(m);
        return taml_err_set(err, TAML_EIO, "the socket broke in a message");
    }
    *msg = m;
    *len = size;
    return 1;
}

/* The worker's data segment now, in MiB (VmData: heap and private writable
 * mappings, what RLIMIT_DATA counts), or -1 when unknown. */
static long data_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmData:", 7)) kb = strtol(line + 7, NULL, 10);
    fclose(f);
    return kb < 0 ? -1 : (kb + 1023) / 1024;
}

/* Sets RLIMIT_DATA to mb MiB; "" in why, or why it cannot. */
static void limit_memory(int64_t mb, char *why, size_t cap)
{
    why[0] = '\0';
    long have = data_mib();
    if (have >= 0 && mb < have + MEMORY_MARGIN_MB) {
        snprintf(why, cap,
                 "a memory limit of %lld MiB leaves a worker nothing to work with: it holds %ld "
                 "MiB when it starts (taml and the loaded tasks), give at least %ld",
                 (long long)mb, have, have + MEMORY_MARGIN_MB);
        return;
    }
    struct rlimit rl = {(rlim_t)mb << 20, (rlim_t)mb << 20};
    if (setrlimit(RLIMIT_DATA, &rl) != 0)
        snprintf(why, cap, "cannot limit a worker's memory to %lld MiB: %s", (long long)mb,
                 strerror(errno));
}

static int send_msg(int fd, void *msg, size_t len)
{
    int rc = write_all(fd, msg, len);
    free(msg);
    return rc;
}

/* A worker: HELLO, then one job at a time until STOP or the end of the
 * socket (fd 3). Never returns. */
static _Noreturn void worker_main(int fd, int32_t slot, const taml_proc_opts *o, taml_job_fn fn,
                                  void *ctx)
{
    taml_wire_hello h = {.threads = 1};
    if (gethostname(h.host, sizeof h.host - 1) != 0) snprintf(h.host, sizeof h.host, "?");
    if (o->memory_mb > 0) {
        limit_memory(o->memory_mb, h.error, sizeof h.error);
        if (h.error[0]) h.status = TAML_EINVAL;
    }
    void *msg;
    size_t len;
    taml_err e;
    if (taml_wire_hello_encode(&h, &msg, &len, &e) || send_msg(fd, msg, len) || h.status) _exit(1);
    for (;;) {
        int rc = read_msg(fd, &msg, &len, &e);
        if (rc == 0) _exit(0); /* the search process is gone */
        taml_wire_bye bye = {0};
        if (rc > 0) {
            int type = taml_wire_type_of(msg, len, &e);
            if (type == TAML_WIRE_JOB) {
                taml_job job;
                char *cfg;
                if ((rc = taml_wire_job_decode(msg, len, &job, &cfg, &e)) == 0) {
                    free(msg);
                    taml_job_result res;
                    memset(&res, 0, sizeof res);
                    double t0 = taml_now();
                    fn(ctx, slot, &job, &res);
                    res.train_seconds = taml_now() - t0;
                    res.id = job.id;
                    res.task = job.task;
                    res.worker = slot;
                    res.error[TAML_JOB_ERR - 1] = '\0';
                    free(cfg);
                    if (taml_wire_result_encode(&res, &msg, &len, &e) || send_msg(fd, msg, len))
                        _exit(1);
                    continue;
                }
            } else if (type == TAML_WIRE_STOP) {
                rc = taml_wire_stop_decode(msg, len, &e);
            } else if (type > 0) {
                rc = taml_err_set(&e, TAML_EFORMAT, "an unexpected message of type %d", type);
            } else {
                rc = type;
            }
            free(msg);
        }
        bye.status = rc;
        if (rc)
            snprintf(bye.error, sizeof bye.error, "the search process sent a malformed message: %.900s",
                     e.msg);
        taml_wire_bye_encode(&bye, &msg, &len);
        send_msg(fd, msg, len);
        _exit(rc ? 1 : 0);
    }
}

/* ---------------------------------------------------------------- server */

/* S's view of one worker. */
typedef struct wproc {
    pid_t pid;          /* 0: none */
    int err_fd;         /* its stderr (read end), -1 when closed */
    char line[CTL_TEXT]; /* the line being read */
    size_t line_len;
    int line_cut;       /* the line is longer than the buffer */
    char last[CTL_TEXT]; /* its last line starting with "taml:" */
} wproc;

static void line_end(wproc *w)
{
    w->line[w->line_len] = '\0';
    if (!strncmp(w->line, "taml:", 5)) snprintf(w->last, sizeof w->last, "%s", w->line);
    w->line_len = 0;
    w->line_cut = 0;
}

/* Copies what the worker wrote to S's stderr and follows its lines. Returns
 * 0 when the pipe is at its end (then closed), 1 otherwise. */
static int drain_stderr(wproc *w)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(w->err_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 1; /* EAGAIN: all read for now */
        if (n == 0) {
            if (w->line_len) line_end(w);
            close(w->err_fd);
            w->err_fd = -1;
            return 0;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t k = write(2, buf + off, (size_t)(n - off));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) break; /* stderr is gone: keep reading, drop the copy */
            off += k;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                line_end(w);
            } else if (w->line_len < sizeof w->line - 1) {
                w->line[w->line_len++] = buf[i];
            } else {
                w->line_cut = 1;
            }
        }
    }
}

/* Forks worker slot and sends P its socket (SPAWNED); a failure is sent
 * as SPAWNED with pid 0 and the errno. */
static void spawn(int ctl, wproc *ws, int32_t slot, const sigset_t *mask, const taml_proc_opts *o,
                  taml_job_fn fn, void *ctx)
{
    ctl_msg m = {.type = CTL_SPAWNED, .slot = slot};
    int sv[2] = {-1, -1}, ep[2] = {-1, -1};
    pid_t pid = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(ep, O_CLOEXEC) != 0 ||
        (fflush(NULL), pid = fork()) < 0) {
        m.status = errno;
        for (int i = 0; i < 2; i++) {
            if (sv[i] >= 0) close(sv[i]);
            if (ep[i] >= 0) close(ep[i]);
        }
        ctl_send(ctl, &m, -1);
        return;
    }
    if (pid == 0) {
        pid_t server = getppid();
        sigprocmask(SIG_SETMASK, mask, NULL);
        signal(SIGCHLD, SIG_DFL);
        /* fd 3 is the socket (it replaces S's control socket there), 1 and
         * 2 the pipe to S; nothing else stays open */
        dup2(sv[1], 3);
        dup2(ep[1], 1);
        dup2(ep[1], 2);
        close_from(4);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != server) _exit(0); /* S died before the line above */
        worker_main(3, slot, o, fn, ctx);
    }
    close(sv[1]);
    close(ep[1]);
    fcntl(ep[0], F_SETFL, O_NONBLOCK);
    wproc *w = &ws[slot];
    memset(w, 0, sizeof *w);
    w->pid = pid;
    w->err_fd = ep[0];
    m.pid = (int32_t)pid;
    ctl_send(ctl, &m, sv[0]);
    close(sv[0]);
}

/* Reaps every worker that ended and tells P how each did. */
static void reap(int ctl, wproc *ws, int32_t n)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int32_t i = 0; i < n; i++) {
            wproc *w = &ws[i];
            if (w->pid != pid) continue;
            /* it is dead: what it wrote is in the pipe (read without
             * waiting: a process it started could hold the pipe open) */
            if (w->err_fd >= 0 && drain_stderr(w)) {
                if (w->line_len) line_end(w);
                close(w->err_fd);
                w->err_fd = -1;
            }
            ctl_msg m = {.type = CTL_EXITED, .slot = i, .pid = (int32_t)pid, .status = status};
            snprintf(m.text, sizeof m.text, "%s", w->last);
            w->pid = 0;
            ctl_send(ctl, &m, -1);
        }
    }
}

static _Noreturn void server_main(int ctl, pid_t parent, const taml_proc_opts *o, taml_job_fn fn,
                                  void *ctx)
{
    /* what P holds (the study, its lock, other pools' sockets) is not S's;
     * a control socket on 0..2 (P had closed one) gives way to /dev/null */
    if (ctl != 3) {
        dup2(ctl, 3);
        if (ctl < 3) {
            int nul = open("/dev/null", O_RDWR);
            if (nul >= 0 && nul != ctl) dup2(nul, ctl);
        }
    }
    ctl = 3;
    close_from(4);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) _exit(1);
    int32_t n = o->workers;
    wproc *ws = taml_calloc((size_t)n, sizeof *ws);
    struct pollfd *pf = taml_calloc((size_t)n + 2, sizeof *pf);
    int32_t *who = taml_calloc((size_t)n + 2, sizeof *who);
    for (int32_t i = 0; i < n; i++) ws[i].err_fd = -1;
    for (;;) {
        int k = 0;
        pf[k++] = (struct pollfd){.fd = ctl, .events = POLLIN};
        pf[k++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (int32_t i = 0; i < n; i++)
            if (ws[i].err_fd >= 0) {
                who[k] = i;
                pf[k++] = (struct pollfd){.fd = ws[i].err_fd, .events = POLLIN};
            }
        if (poll(pf, (nfds_t)k, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int j = 2; j < k; j++)
            if (pf[j].revents) drain_stderr(&ws[who[j]]);
        if (pf[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            }
            reap(ctl, ws, n);
        }
        if (pf[0].revents) {
            ctl_msg m;
            int fd;
            int got = ctl_recv(ctl, &m, &fd);
            if (got <= 0) break; /* P is gone or closed the pool */
            if (fd >= 0) close(fd);
            if (m.slot < 0 || m.slot >= n) continue;
            if (m.type == CTL_SPAWN && ws[m.slot].pid == 0)
                spawn(ctl, ws, m.slot, &old, o, fn, ctx);
            else if (m.type == CTL_KILL && ws[m.slot].pid == m.pid && m.pid > 0)
                kill(ws[m.slot].pid, SIGKILL);
        }
    }
    for (int32_t i = 0; i < n; i++)
        if (ws[i].pid > 0) kill(ws[i].pid, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    _exit(0);
}

/* --------------------------------------------------- the search's side */

enum { SLOT_IDLE, SLOT_SPAWNING, SLOT_STARTING, SLOT_READY };

typedef struct slot {
    int state;
    pid_t pid;
    int fd;              /* the socket to the worker, -1 when closed */
    unsigned char *buf;  /* bytes read, not yet a whole message */
    size_t len, cap;
    int64_t job;         /* the trial id it runs, 0 when idle */
    int32_t task;
    double sent;         /* when the job was sent */
    int killed;          /* KILL asked for the timeout */
    int dead;            /* EXITED seen: it takes no job any more */
    int early;           /* deaths in a row before its HELLO */
} slot;

typedef struct job_node {
    struct job_node *next;
    int64_t id;
    int32_t task;
    void *msg; /* the JOB message */
    size_t len;
} job_node;

typedef struct res_node {
    struct res_node *next;
    taml_job_result r;
} res_node;

typedef struct proc_pool {
    taml_proc_opts o;
    pid_t server;
    int ctl;
    slot *slots;
    int started;
    job_node *jobs, *jobs_tail;   /* submitted, waiting for a ready worker */
    res_node *res, *res_tail;     /* results not yet taken */
    struct pollfd *pf;            /* (workers + 1) what wait polls */
    int32_t *who;                 /* (workers + 1) the slot of each */
    int failed;
    taml_err fail;
} proc_pool;

static int pool_fail(proc_pool *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pool_fail(proc_pool *p, int code, const char *fmt, ...)
{
    if (!p->failed) {
        p->failed = 1;
        va_list ap;
        va_start(ap, fmt);
        char msg[TAML_ERR_MSG];
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        taml_err_set(&p->fail, code, "%s", msg);
    }
    return p->fail.code;
}

static void push_result(proc_pool *p, const taml_job_result *r)
{
    res_node *n = taml_calloc(1, sizeof *n);
    n->r = *r;
    if (p->res_tail)
        p->res_tail->next = n;
    else
        p->res = n;
    p->res_tail = n;
}

static int ask_spawn(proc_pool *p, int32_t i)
{
    ctl_msg m = {.type = CTL_SPAWN, .slot = i};
    if (ctl_send(p->ctl, &m, -1))
        return pool_fail(p, TAML_ESYS, "the worker processes' server is gone: %s", strerror(errno));
    p->slots[i].state = SLOT_SPAWNING;
    return TAML_OK;
}

static void send_job(proc_pool *p, int32_t i, job_node *j)
{
    slot *s = &p->slots[i];
    s->job = j->id;
    s->task = j->task;
    s->sent = taml_now();
    s->killed = 0;
    /* a worker that died meanwhile is reported by the server: then this job
     * gets TAML_JOB_DIED, so a failed write needs nothing here */
    write_all(s->fd, j->msg, j->len);
    free(j->msg);
    free(j);
}

/* Gives the waiting jobs to the ready idle workers, oldest first. */
static void dispatch(proc_pool *p)
{
    for (int32_t i = 0; i < p->o.workers && p->jobs; i++) {
        slot *s = &p->slots[i];
        if (s->state != SLOT_READY || s->job || s->fd < 0 || s->dead) continue;
        job_node *j = p->jobs;
        p->jobs = j->next;
        if (!p->jobs) p->jobs_tail = NULL;
        send_job(p, i, j);
    }
}

static void slot_close(slot *s)
{
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    s->len = 0;
}

/* Handles one whole message from worker i. */
static int on_worker_msg(proc_pool *p, int32_t i, const void *msg, size_t len)
{
    slot *s = &p->slots[i];
    taml_err e;
    int type = taml_wire_type_of(msg, len, &e);
    if (type == TAML_WIRE_HELLO && s->state == SLOT_STARTING) {
        taml_wire_hello h;
        if (taml_wire_hello_decode(msg, len, &h, &e)) goto bad;
        if (h.status)
            return pool_fail(p, h.status, "worker process %d could not start: %s", (int)i, h.error);
        s->state = SLOT_READY;
        s->early = 0;
        dispatch(p);
        return TAML_OK;
    }
    if (type == TAML_WIRE_RESULT && s->state == SLOT_READY) {
        taml_job_result r;
        if (taml_wire_result_decode(msg, len, &r, &e)) goto bad;
        if (!s->job || r.id != s->job || r.worker != i)
            return pool_fail(p, TAML_EFORMAT,
                             "worker process %d returned trial %lld (as worker %d), while it ran "
                             "trial %lld",
                             (int)i, (long long)r.id, (int)r.worker, (long long)s->job);
        s->job = 0;
        push_result(p, &r);
        dispatch(p);
        return TAML_OK;
    }
    if (type == TAML_WIRE_BYE) {
        taml_wire_bye b;
        if (taml_wire_bye_decode(msg, len, &b, &e)) goto bad;
        return pool_fail(p, b.status ? b.status : TAML_EINVAL,
                         "worker process %d stopped by itself: %s", (int)i,
                         b.error[0] ? b.error : "no reason given");
    }
    if (type > 0) taml_err_set(&e, TAML_EFORMAT, "an unexpected message of type %d", type);
bad:
    return pool_fail(p, e.code < 0 ? e.code : TAML_EFORMAT,
                     "worker process %d sent a malformed message: %s", (int)i, e.msg);
}

/* Reads what worker i's socket holds now and handles every whole message.
 * For a dead worker that is all it wrote: a stream socket's writes are in
 * the reader's queue when they return. */
static int read_worker(proc_pool *p, int32_t i)
{
    slot *s = &p->slots[i];
    while (s->fd >= 0) {
        if (s->cap - s->len < 4096) {
            s->cap = s->cap ? 2 * s->cap : 8192;
            s->buf = taml_realloc(s->buf, s->cap);
        }
        ssize_t n = recv(s->fd, s->buf + s->len, s->cap - s->len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) { /* the end, or a reset: its death comes from the server */
            slot_close(s);
            break;
        }
        s->len += (size_t)n;
        size_t off = 0;
        while (s->len - off >= TAML_WIRE_FRAME_HEAD) {
            size_t size;
            taml_err e;
            if (taml_wire_frame_size(s->buf + off, &size, &e))
                return pool_fail(p, e.code, "worker process %d sent a malformed message: %s",
                                 (int)i, e.msg);
            if (s->len - off < size) break;
            int rc = on_worker_msg(p, i, s->buf + off, size);
            if (rc) return rc;
            off += size;
        }
        memmove(s->buf, s->buf + off, s->len - off);
        s->len -= off;
    }
    return p->failed ? p->fail.code : TAML_OK;
}

static int on_ctl(proc_pool *p)
{
    ctl_msg m;
    int fd;
    int got = ctl_recv(p->ctl, &m, &fd);
    if (got <= 0)
        return pool_fail(p, TAML_ESYS, "the worker processes' server (pid %d) is gone",
                         (int)p->server);
    if (m.slot < 0 || m.slot >= p->o.workers) {
        if (fd >= 0) close(fd);
        return pool_fail(p, TAML_EFORMAT, "the worker processes' server named worker %d", (int)m.slot);
    }
    slot *s = &p->slots[m.slot];
    if (m.type == CTL_SPAWNED) {
        if (m.pid <= 0 || fd < 0) {
            if (fd >= 0) close(fd);
            return pool_fail(p, TAML_ESYS, "cannot start worker process %d: %s", (int)m.slot,
                             strerror(m.status ? m.status : EINVAL));
        }
        s->pid = m.pid;
        s->fd = fd;
        s->len = 0;
        s->dead = 0;
        s->state = SLOT_STARTING;
        return TAML_OK;
    }
    if (fd >= 0) close(fd);
    if (m.type != CTL_EXITED || m.pid != s->pid) return TAML_OK;
    /* a RESULT it wrote before it died still counts (and a HELLO must not
     * make it take a job) */
    s->dead = 1;
    int rc = read_worker(p, m.slot);
    slot_close(s);
    if (rc) return rc;
    int was_ready = s->state == SLOT_READY;
    s->state = SLOT_IDLE;
    s->pid = 0;
    if (s->job) {
        taml_job_result r;
        memset(&r, 0, sizeof r);
        r.id = s->job;
        r.task = s->task;
        r.worker = m.slot;
        r.valid_acc = r.test_acc = r.loss = NAN;
        r.train_seconds = taml_now() - s->sent;
        if (s->killed) {
            r.status = TAML_JOB_TIMEOUT;
            snprintf(r.error, sizeof r.error,
                     "timed out: still running after %g s, its worker process was killed",
                     p->o.timeout);
        } else {
            r.status = TAML_JOB_DIED;
            describe_exit(r.error, sizeof r.error, "its worker process ", m.status, m.text);
        }
        s->job = 0;
        push_result(p, &r);
    }
    if (!was_ready && ++s->early >= EARLY_DEATHS) {
        char why[TAML_ERR_MSG];
        describe_exit(why, sizeof why, "", m.status, m.text);
        return pool_fail(p, TAML_ESYS,
                         "worker process %d died %d times in a row before it was ready; the "
                         "last time it %s",
                         (int)m.slot, s->early, why);
    }
    return ask_spawn(p, m.slot);
}

/* Asks for the kill of every worker past its deadline; returns the next
 * deadline (INFINITY when none). */
static double check_deadlines(proc_pool *p, double now)
{
    double next = INFINITY;
    if (!(p->o.timeout > 0)) return next;
    for (int32_t i = 0; i < p->o.workers; i++) {
        slot *s = &p->slots[i];
        if (!s->job || s->killed) continue;
        double due = s->sent + p->o.timeout;
        if (now >= due) {
            ctl_msg m = {.type = CTL_KILL, .slot = i, .pid = s->pid};
            if (ctl_send(p->ctl, &m, -1) == 0) s->killed = 1;
        } else if (due < next) {
            next = due;
        }
    }
    return next;
}

static int start(proc_pool *p)
{
    p->started = 1;
    for (int32_t i = 0; i < p->o.workers; i++) {
        int rc = ask_spawn(p, i);
        if (rc) return rc;
    }
    return TAML_OK;
}

static int proc_submit(void *impl, const taml_job *job, taml_err *err)
{
    proc_pool *p = impl;
    if (!p->failed && !p->started) start(p);
    if (p->failed) {
        if (err) *err = p->fail;
        return p->fail.code;
    }
    job_node *j = taml_calloc(1, sizeof *j);
    int rc = taml_wire_job_encode(job, &j->msg, &j->len, err);
    if (rc) {
        free(j);
        return rc;
    }
    j->id = job->id;
    j->task = job->task;
    if (p->jobs_tail)
        p->jobs_tail->next = j;
    else
        p->jobs = j;
    p->jobs_tail = j;
    dispatch(p);
    return TAML_OK;
}

static int proc_wait(void *impl, taml_job_result *out, double timeout, taml_err *err)
{
    proc_pool *p = impl;
    double until = timeout >= 0 ? taml_now() + timeout : INFINITY;
    int32_t n = p->o.workers;
    struct pollfd *pf = p->pf;
    int32_t *who = p->who;
    int rc = 0, polled = 0;
    for (;;) {
        if (p->res) {
            res_node *r = p->res;
            p->res = r->next;
            if (!p->res) p->res_tail = NULL;
            *out = r->r;
            free(r);
            rc = 1;
            break;
        }
        if (p->failed) {
            *err = p->fail;
            rc = p->fail.code;
            break;
        }
        double now = taml_now();
        if (polled && now >= until) break;
        double next = check_deadlines(p, now);
        if (until < next) next = until;
        int ms = isinf(next) ? -1 : next <= now ? 0 : (int)ceil((next - now) * 1e3);
        int k = 0;
        pf[k++] = (struct pollfd){.fd = p->ctl, .events = POLLIN};
        for (int32_t i = 0; i < n; i++)
            if (p->slots[i].fd >= 0) {
                who[k] = i;
                pf[k++] = (struct pollfd){.fd = p->slots[i].fd, .events = POLLIN};
            }
        int got = poll(pf, (nfds_t)k, ms);
        polled = 1;
        if (got < 0) {
            if (errno == EINTR) break; /* a signal (Ctrl-C): let the caller look */
            pool_fail(p, TAML_ESYS, "poll: %s", strerror(errno));
            continue;
        }
        for (int j = 1; j < k && !p->failed; j++)
            if (pf[j].revents) read_worker(p, who[j]);
        if (!p->failed && pf[0].revents) on_ctl(p);
    }
    return rc;
}

static void proc_free(void *impl)
{
    proc_pool *p = impl;
    /* idle workers are told to stop; busy ones (their results are not
     * wanted any more) are killed by the server when it sees the end */
    for (int32_t i = 0; i < p->o.workers; i++) {
        slot *s = &p->slots[i];
        if (s->fd >= 0 && s->state == SLOT_READY && !s->job) {
            void *msg;
            size_t len;
            taml_wire_stop_encode(&msg, &len);
            write_all(s->fd, msg, len);
            free(msg);
        }
        slot_close(s);
        free(s->buf);
    }
    close(p->ctl);
    while (waitpid(p->server, NULL, 0) < 0 && errno == EINTR) {
    }
    while (p->jobs) {
        job_node *j = p->jobs;
        p->jobs = j->next;
        free(j->msg);
        free(j);
    }
    while (p->res) {
        res_node *r = p->res;
        p->res = r->next;
        free(r);
    }
    free(p->slots);
    free(p->pf);
    free(p->who);
    free(p);
}

static const taml_pool_ops proc_ops = {proc_submit, proc_wait, proc_free};

int taml_proc_pool_new(taml_pool **out, const taml_proc_opts *o, taml_job_fn fn, void *ctx,
                       taml_err *err)
{
    *out = NULL;
    if (o->workers < 1 || o->workers > 4096)
        return taml_err_set(err, TAML_EINVAL, "workers: %d is not in 1..4096", (int)o->workers);
    if (!(o->timeout >= 0) || isinf(o->timeout))
        return taml_err_set(err, TAML_EINVAL, "trial timeout: %g s is not a number >= 0", o->timeout);
    if (o->memory_mb < 0 || o->memory_mb > ((int64_t)1 << 40))
        return taml_err_set(err, TAML_EINVAL, "trial memory: %lld MiB is not in 0..2^40",
                            (long long)o->memory_mb);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return taml_err_set(err, TAML_ESYS, "cannot make a socket for the worker processes: %s",
                            strerror(errno));
    pid_t parent = getpid();
    fflush(NULL); /* what stdio holds must not be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return taml_err_set(err, TAML_ESYS, "cannot start the worker processes' server: fork: %s",
                            strerror(e));
    }
    if (pid == 0) {
        close(sv[0]);
        server_main(sv[1], parent, o, fn, ctx);
    }
    close(sv[1]);
    proc_pool *p = taml_calloc(1, sizeof *p);
    p->o = *o;
    p->server = pid;
    p->ctl = sv[0];
    p->slots = taml_calloc((size_t)o->workers, sizeof *p->slots);
    for (int32_t i = 0; i < o->workers; i++) p->slots[i].fd = -1;
    p->pf = taml_calloc((size_t)o->workers + 1, sizeof *p->pf);
    p->who = taml_calloc((size_t)o->workers + 1, sizeof *p->who);
    *out = taml_pool_from_ops(&proc_ops, p, o->workers);
    return TAML_OK;
}
