/* search/objective.c - an outside command as the trial (objective.h): runs
 * it, feeds it the config, reads its result line, and turns every way it
 * can go wrong into a failed trial with a message. */
#include "search/objective.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/text.h"
#include "core/util.h"
#include "store/store.h"

extern char **environ;

/* Bytes of the command's stderr kept for the message (its end). */
#define TAIL 600

struct taml_objective {
    char *cmd;
    int32_t n_tasks;
    char **args, **names;
    double timeout;
};

int taml_objective_new(taml_objective **out, const char *cmd, int32_t n_tasks,
                       const char *const *task_args, double timeout, taml_err *err)
{
    *out = NULL;
    if (!cmd || !*cmd) return taml_err_set(err, TAML_EINVAL, "--objective: the command is empty");
    taml_objective *o = taml_calloc(1, sizeof *o);
    o->cmd = taml_strdup(cmd);
    o->n_tasks = n_tasks;
    o->timeout = timeout;
    o->args = taml_calloc((size_t)n_tasks, sizeof *o->args);
    o->names = taml_calloc((size_t)n_tasks, sizeof *o->names);
    for (int32_t i = 0; i < n_tasks; i++) {
        o->args[i] = taml_strdup(task_args[i]);
        char *copy = taml_strdup(task_args[i]);
        size_t n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
        o->names[i] = taml_strdup(basename(copy));
        free(copy);
    }
    *out = o;
    return TAML_OK;
}

void taml_objective_free(taml_objective *o)
{
    if (!o) return;
    for (int32_t i = 0; i < o->n_tasks; i++) {
        free(o->args[i]);
        free(o->names[i]);
    }
    free(o->args);
    free(o->names);
    free(o->cmd);
    free(o);
}

const char *const *taml_objective_names(const taml_objective *o)
{
    return (const char *const *)o->names;
}

/* The environment of the command: the search's, with the trial's three
 * variables in place of any of the same names. Heap (strings too). */
static char **command_env(const taml_objective *o, const taml_job *job)
{
    size_t n = 0;
    while (environ && environ[n]) n++;
    char **env = taml_calloc(n + 4, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TAML_TRIAL=", 11) && strncmp(environ[i], "TAML_SEED=", 10) &&
            strncmp(environ[i], "TAML_TASK=", 10))
            env[k++] = taml_strdup(environ[i]);
    env[k++] = taml_asprintf("TAML_TRIAL=%" PRId64, job->id);
    env[k++] = taml_asprintf("TAML_SEED=%" PRIu64, job->seed);
    env[k++] = taml_asprintf("TAML_TASK=%s", o->args[job->task]);
    env[k] = NULL;
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++) free(env[i]);
    free(env);
}

/* What the command did. */
typedef struct run_out {
    char *out; /* stdout, NUL-terminated */
    size_t out_len;
    char tail[TAIL + 1]; /* the end of stderr */
    size_t tail_len;
    int status;    /* waitpid's */
    int timed_out; /* 1: killed at the timeout */
    int too_much;  /* 1: killed past the output limit */
    double seconds;
} run_out;

static void keep_tail(run_out *r, const char *buf, size_t n)
{
    if (n >= TAIL) {
        memcpy(r->tail, buf + n - TAIL, TAIL);
        r->tail_len = TAIL;
    } else {
        size_t keep = r->tail_len + n > TAIL ? TAIL - n : r->tail_len;
        memmove(r->tail, r->tail + r->tail_len - keep, keep);
        memcpy(r->tail + keep, buf, n);
        r->tail_len = keep + n;
    }
    r->tail[r->tail_len] = '\0';
}

/* Runs the command to its end (or kills it); 0, or errno when it could not
 * be started. */
static int run_command(const taml_objective *o, const taml_job *job, run_out *r)
{
    int in = -1, op[2] = {-1, -1}, ep[2] = {-1, -1}, pfd = -1, rc = 0;
    char **env = command_env(o, job);
    char *argv[] = {"sh", "-c", o->cmd, NULL};
    double t0;
    pid_t pid;
    size_t clen = strlen(job->config_json), cap = 4096;
    int exited = 0, open_out = 1, open_err = 1;
    /* stdin from a memory file, not a pipe: a command that never reads it
     * cannot block the write (or raise SIGPIPE) */
    in = memfd_create("taml-config", MFD_CLOEXEC);
    if (in < 0 || write(in, job->config_json, clen) != (ssize_t)clen || write(in, "\n", 1) != 1 ||
        lseek(in, 0, SEEK_SET) != 0 || pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
        rc = errno ? errno : EIO;
        goto out;
    }
    t0 = taml_now();
    pid = fork();
    if (pid < 0) {
        rc = errno;
        goto out;
    }
    if (pid == 0) {
        /* only async-signal-safe calls here: the worker may be a thread */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigaction(SIGPIPE, &dfl, NULL);
        sigaction(SIGINT, &dfl, NULL);
        sigaction(SIGTERM, &dfl, NULL);
        dup2(in, 0);
        dup2(op[1], 1);
        dup2(ep[1], 2);
        execve("/bin/sh", argv, env);
        _exit(127);
    }
    setpgid(pid, pid); /* as the child does: whichever runs first */
    close(op[1]);
    close(ep[1]);
    op[1] = ep[1] = -1;
    pfd = pidfd_open(pid, 0);
    fcntl(op[0], F_SETFL, O_NONBLOCK);
    fcntl(op[0], F_SETPIPE_SZ, 1 << 20); /* fewer round trips for a long output (may fail) */
    fcntl(ep[0], F_SETFL, O_NONBLOCK);
    r->out = taml_malloc(cap);
    char buf[65536];
    while (!exited || open_out || open_err) {
        struct pollfd pf[3];
        int k = 0, i_out = -1, i_err = -1, i_pid = -1;
        if (open_out) pf[i_out = k++] = (struct pollfd){.fd = op[0], .events = POLLIN};
        if (open_err) pf[i_err = k++] = (struct pollfd){.fd = ep[0], .events = POLLIN};
        if (!exited && pfd >= 0) pf[i_pid = k++] = (struct pollfd){.fd = pfd, .events = POLLIN};
        int wait_ms = -1;
        if (o->timeout > 0) {
            double left = t0 + o->timeout - taml_now();
            wait_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
        }
        if (exited) wait_ms = 0; /* what is in the pipes now; a process it left holds them */
        if (pfd < 0 && !exited && (wait_ms < 0 || wait_ms > 20)) wait_ms = 20; /* no pidfd: poll */
        int got = poll(pf, (nfds_t)k, wait_ms);
        if (got < 0 && errno != EINTR) break;
        if (i_out >= 0 && got > 0 && (pf[i_out].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(op[0], buf, sizeof buf);
            if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
                open_out = 0;
            } else if (n > 0) {
                if (r->out_len + (size_t)n > TAML_OBJECTIVE_MAX_OUTPUT) {
                    r->too_much = 1;
                    break;
                }
                while (r->out_len + (size_t)n + 1 > cap) cap *= 2;
                r->out = taml_realloc(r->out, cap);
                memcpy(r->out + r->out_len, buf, (size_t)n);
                r->out_len += (size_t)n;
            }
        }
        if (i_err >= 0 && got > 0 && (pf[i_err].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(ep[0], buf, sizeof buf);
            if (n <= 0 && !(n < 0 && errno == EAGAIN))
                open_err = 0;
            else if (n > 0)
                keep_tail(r, buf, (size_t)n);
        }
        if (!exited && (i_pid >= 0 ? got > 0 && (pf[i_pid].revents & POLLIN) : 1) &&
            waitpid(pid, &r->status, WNOHANG) == pid) {
            exited = 1;
            continue;
        }
        if (exited && got == 0) break; /* drained; the rest belongs to processes it left */
        if (!exited && o->timeout > 0 && taml_now() >= t0 + o->timeout) {
            r->timed_out = 1;
            break;
        }
    }
    /* the command's whole group ends here: at the timeout, past the limit,
     * or what it left running after it exited */
    kill(-pid, SIGKILL);
    if (!exited) waitpid(pid, &r->status, 0);
    r->seconds = taml_now() - t0;
    r->out[r->out_len] = '\0';
out:
    if (pfd >= 0) close(pfd);
    for (int i = 0; i < 2; i++) {
        if (op[i] >= 0) close(op[i]);
        if (ep[i] >= 0) close(ep[i]);
    }
    if (in >= 0) close(in);
    free_env(env);
    return rc;
}

/* The tail of stderr for a message: " (stderr: ...)" with its lines
 * joined by " | ", or "" when it wrote nothing. */
static void stderr_note(const run_out *r, char *buf, size_t cap)
{
    size_t n = r->tail_len;
    while (n > 0 && (r->tail[n - 1] == '\n' || r->tail[n - 1] == '\r')) n--;
    if (n == 0) {
        snprintf(buf, cap, " (no stderr)");
        return;
    }
    size_t k = snprintf(buf, cap, " (stderr%s: ", r->tail_len == TAIL ? ", its end" : "");
    for (size_t i = 0; i < n && k + 4 < cap; i++) {
        char c = r->tail[i];
        if (c == '\n') {
            k += (size_t)snprintf(buf + k, cap - k, " | ");
        } else {
            buf[k++] = c == '\t' || c == '\r' ? ' ' : c;
            buf[k] = '\0';
        }
    }
    snprintf(buf + k, cap > k ? cap - k : 0, ")");
}

/* The last non-empty line of s (in place: s is changed). */
static char *last_line(char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) s[--len] = '\0';
    if (len == 0) return NULL;
    char *nl = memrchr(s, '\n', len);
    return nl ? nl + 1 : s;
}

/* Reads {"valid": V, "test": T} from line; 0, or a message in why. */
static int parse_result(const char *line, double *valid, double *test, char *why, size_t cap)
{
    char shown[160];
    taml_text_quote(shown, sizeof shown, line, strlen(line));
    cJSON *j = cJSON_Parse(line);
    int rc = -1;
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "valid");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "test");
    if (!cJSON_IsObject(j))
        snprintf(why, cap, "its last line %s is not a JSON object {\"valid\": V, \"test\": T}", shown);
    else if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
        snprintf(why, cap, "its last line %s has no \"valid\" accuracy in [0, 1]", shown);
    else if (t && !cJSON_IsNull(t) && (!cJSON_IsNumber(t) || !(t->valuedouble >= 0 && t->valuedouble <= 1)))
        snprintf(why, cap, "its last line %s: \"test\" is not an accuracy in [0, 1] (or null)", shown);
    else {
        *valid = v->valuedouble;
        *test = cJSON_IsNumber(t) ? t->valuedouble : NAN;
        rc = 0;
    }
    cJSON_Delete(j);
    return rc;
}

void taml_objective_job(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    (void)worker;
    const taml_objective *o = ctx;
    out->status = TAML_TRIAL_FAILED;
    out->valid_acc = out->test_acc = out->loss = NAN;
    out->steps = 0;
    run_out r = {0};
    char why[TAML_JOB_ERR / 2], note[TAML_JOB_ERR / 2 - 16];
    int rc = run_command(o, job, &r);
    if (rc) {
        snprintf(out->error, sizeof out->error, "objective: cannot run /bin/sh -c: %s",
                 taml_text_errno(rc));
        free(r.out);
        return;
    }
    stderr_note(&r, note, sizeof note);
    char *line = last_line(r.out, r.out_len);
    if (r.timed_out)
        snprintf(why, sizeof why, "timed out: still running after %g s; its processes were killed",
                 o->timeout);
    else if (r.too_much)
        snprintf(why, sizeof why, "it printed more than %d MB on stdout; its processes were killed",
                 TAML_OBJECTIVE_MAX_OUTPUT / (1024 * 1024));
    else if (WIFSIGNALED(r.status))
        snprintf(why, sizeof why, "it was killed by signal %d (%s)", WTERMSIG(r.status),
                 strsignal(WTERMSIG(r.status)));
    else if (WEXITSTATUS(r.status) != 0)
        snprintf(why, sizeof why, "it exited with status %d", WEXITSTATUS(r.status));
    else if (!line)
        snprintf(why, sizeof why, "it printed no result line on stdout (expected {\"valid\": V, \"test\": T})");
    else if (parse_result(line, &out->valid_acc, &out->test_acc, why, sizeof why) == 0)
        out->status = TAML_TRIAL_DONE;
    out->train_seconds = r.seconds;
    if (out->status != TAML_TRIAL_DONE)
        snprintf(out->error, sizeof out->error, "objective: %s%s", why, note);
    free(r.out);
}
