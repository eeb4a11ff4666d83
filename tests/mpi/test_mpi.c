/* tests/mpi/test_mpi.c - `taml search` over MPI ranks, as a user runs it:
 * `mpirun -n 3 --oversubscribe build-mpi/taml search ...` on this machine,
 * with the fake child (milliseconds a trial: build-mpi/taml-fake,
 * TAML_FAKE_BIN, tests/fake_main.c). Built and run only by
 * `make MPI=1 test-mpi` (the default build and `make test` need no MPI).
 *
 * Proves: a deterministic study over MPI ranks equals the single-machine
 * study with the same seed, bit for bit, whatever the ranks and threads
 * (with real children on fixture tasks too; the ranks' children in worker
 * processes, the single machine's on threads); children that crash, crash
 * once and hang in the ranks' worker processes are retried and timed out
 * as on one machine;
 * a worker rank killed in the middle of a run (Open MPI then aborts the job)
 * loses nothing: the next run, on one machine or over MPI, completes the
 * study equal to one never interrupted. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "exec/wire.h"
#include "store/store.h"
#include "../study_compare.h"
#include "../test.h"
#include "../testutil.h"

static const char *space_text =
    "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
    "\"activation\":[\"relu\",\"swish\"],\"deep_l2\":[0,0.001,\"disable\"],"
    "\"wide_l1\":[0,0.01,\"disable\"]}";

typedef struct setup {
    char *ta, *tb, *space, *log;
} setup;

static void setup_init(setup *s)
{
    const char *dir = taml_test_tmpdir();
    taml_err err;
    s->ta = taml_path_join(dir, "task-a");
    s->tb = taml_path_join(dir, "task-b");
    s->space = taml_path_join(dir, "space.json");
    s->log = taml_path_join(dir, "mpirun.log");
    remove(s->log);
    CHECK_EQ_INT(taml_mkdirs(s->ta, &err), 0);
    CHECK_EQ_INT(taml_mkdirs(s->tb, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(s->space, space_text, strlen(space_text), &err), 0);
    /* Open MPI refuses root without these; CI runs as root */
    if (geteuid() == 0) {
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
}

static void setup_deinit(setup *s)
{
    free(s->ta);
    free(s->tb);
    free(s->space);
    free(s->log);
}

static char *tmp(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    char *wal = taml_asprintf("%s-wal", p), *shm = taml_asprintf("%s-shm", p);
    remove(p);
    remove(wal);
    remove(shm);
    free(wal);
    free(shm);
    return p;
}

/* Starts `[mpirun -n ranks --oversubscribe] taml search` on the study (ranks
 * 0: no mpirun) with the fake child sleeping child_us per trial, the flags
 * in extra (NULL-terminated, may be NULL) and TAML_FAKE_FAULTS=faults (NULL:
 * none, then TAML_FAKE_FAULT_DIR is the test's directory); output goes to
 * the log. Returns the pid. */
static pid_t start_with(const setup *s, int ranks, const char *study, int trials, int workers,
                        const char *lag, int child_us, const char *const *extra,
                        const char *faults)
{
    const char *bin = taml_test_fake_bin();
    char n[16], tr[16], wk[16], us[16];
    snprintf(n, sizeof n, "%d", ranks);
    snprintf(tr, sizeof tr, "%d", trials);
    snprintf(wk, sizeof wk, "%d", workers);
    snprintf(us, sizeof us, "%d", child_us);
    const char *argv[40];
    int a = 0;
    if (ranks > 0) {
        argv[a++] = "mpirun";
        argv[a++] = "-n";
        argv[a++] = n;
        argv[a++] = "--oversubscribe";
    }
    const char *rest[] = {bin, "search", "--study", study, "--task", s->ta, "--task", s->tb,
                          "--method", "multitask", "--trials", tr, "--workers", wk, "--seed", "7",
                          "--space", s->space, "--deterministic"};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) argv[a++] = rest[i];
    if (lag) {
        argv[a++] = "--lag";
        argv[a++] = lag;
    }
    for (int i = 0; extra && extra[i] && a < 39; i++) argv[a++] = extra[i];
    argv[a] = NULL;
    /* segv-once keeps its markers beside the study: a study's own */
    char *study_dir = taml_asprintf("%s.faults", study);
    taml_err derr;
    CHECK_EQ_INT(taml_mkdirs(study_dir, &derr), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("TAML_FAKE_CHILD", us, 1);
        if (faults) {
            setenv("TAML_FAKE_FAULTS", faults, 1);
            setenv("TAML_FAKE_FAULT_DIR", study_dir, 1);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(study_dir);
    return pid;
}

static pid_t start(const setup *s, int ranks, const char *study, int trials, int workers,
                   const char *lag, int child_us)
{
    return start_with(s, ranks, study, trials, workers, lag, child_us, NULL, NULL);
}

/* Waits for pid; returns its exit status, or 128 + signal. */
static int finish(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(const setup *s, int ranks, const char *study, int trials, int workers,
               const char *lag)
{
    return finish(start(s, ranks, study, trials, workers, lag, 1000));
}

/* Finished trials in the study, -1 when it cannot be read (yet). */
static int64_t finished_trials(const char *path)
{
    taml_store *st;
    taml_err err;
    if (taml_store_open(&st, path, TAML_STORE_READONLY, &err)) return -1;
    int64_t all = taml_store_count(st, -1, -1, &err);
    int64_t pend = taml_store_count(st, TAML_TRIAL_PENDING, -1, &err);
    int64_t running = taml_store_count(st, TAML_TRIAL_RUNNING, -1, &err);
    taml_store_close(st);
    return all < 0 || pend < 0 || running < 0 ? -1 : all - pend - running;
}

/* Which workers ran the study's finished trials: a bit per worker index. */
static unsigned workers_seen(const char *path)
{
    taml_store *st;
    taml_err err;
    unsigned seen = 0;
    if (taml_store_open(&st, path, TAML_STORE_READONLY, &err)) return 0;
    taml_store_iter *it;
    if (taml_store_iter_new(st, TAML_ITER_BY_ID, 0, &it, &err) == 0) {
        taml_trial t;
        while (taml_store_iter_next(it, &t, &err) == 1)
            if (taml_trial_state_final(t.state) && t.worker >= 0 && t.worker < 32)
                seen |= 1u << t.worker;
        taml_store_iter_free(it);
    }
    taml_store_close(st);
    return seen;
}

/* The pid of the process mpirun (parent) started as MPI rank `rank`, found
 * by its environment; 0 when there is none (yet). */
static pid_t rank_pid(pid_t parent, int rank)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    char want[64];
    int wn = snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0) continue;
        char path[64], *text = NULL;
        size_t n = 0;
        taml_err err;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        if (taml_read_file(path, &text, &n, &err)) continue;
        /* "pid (comm) state ppid ...": the ppid follows the last ')' */
        const char *close = strrchr(text, ')');
        int ppid = 0;
        if (close) sscanf(close + 1, " %*c %d", &ppid);
        free(text);
        if (ppid != parent) continue;
        snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
        if (taml_read_file(path, &text, &n, &err)) continue;
        for (size_t i = 0; i < n; i += strlen(text + i) + 1)
            if (!strncmp(text + i, want, (size_t)wn) && text[i + (size_t)wn] == '\0') found = pid;
        free(text);
    }
    closedir(d);
    return found;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

TEST(mpi_deterministic_study_over_3_ranks_equals_the_single_machine_study)
{
    setup s;
    setup_init(&s);
    char *one = tmp("det-one.db"), *mpi = tmp("det-mpi.db");
    /* 2 worker ranks x 1 worker = 2 workers, so the default lag is 2 as on
     * one machine with --workers 2; the ranks' children run in worker
     * processes (the default), the single machine's on threads */
    static const char *const threads[] = {"--isolation", "thread", NULL};
    CHECK_EQ_INT(finish(start_with(&s, 0, one, 20, 2, NULL, 1000, threads, NULL)), 0);
    CHECK_EQ_INT(run(&s, 3, mpi, 20, 1, NULL), 0);
    int64_t n = 0;
    CHECK(same_studies(one, mpi, &n));
    CHECK_EQ_INT(n, 40);
    CHECK_EQ_INT(finished_trials(mpi), 40);
    /* both worker ranks did trials, under distinct worker indices */
    CHECK_EQ_INT(workers_seen(mpi), 0x3);
    free(one);
    free(mpi);
    setup_deinit(&s);
}

/* With a pruner: the rungs and thresholds travel in the JOB messages and
 * the rung values back in the RESULTs (wire version 3), and the pruned
 * study over 3 ranks is the single machine's bit for bit. */
TEST(mpi_pruned_study_over_3_ranks_equals_the_single_machine_study)
{
    setup s;
    setup_init(&s);
    static const char *pruned_space =
        "{\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],\"activation\":[\"relu\",\"swish\"],"
        "\"samples\":[1000,3000,10000,30000]}";
    char *space = taml_path_join(taml_test_tmpdir(), "pruned-space.json");
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(space, pruned_space, strlen(pruned_space), &err), 0);
    char *one = tmp("prune-one.db"), *mpi = tmp("prune-mpi.db");
    const char *const one_flags[] = {"--space", space, "--pruner", "asha", "--prune-warmup", "2",
                                     "--isolation", "thread", NULL};
    const char *const mpi_flags[] = {"--space", space, "--pruner", "asha", "--prune-warmup", "2",
                                     NULL};
    CHECK_EQ_INT(finish(start_with(&s, 0, one, 20, 2, NULL, 1000, one_flags, NULL)), 0);
    CHECK_EQ_INT(finish(start_with(&s, 3, mpi, 20, 1, NULL, 1000, mpi_flags, NULL)), 0);
    int64_t n = 0;
    CHECK(same_studies(one, mpi, &n));
    CHECK_EQ_INT(n, 40);
    taml_store *st;
    CHECK_EQ_INT(taml_store_open(&st, mpi, TAML_STORE_READONLY, &err), 0);
    int64_t pruned = taml_store_count(st, TAML_TRIAL_PRUNED, -1, &err);
    taml_store_close(st);
    CHECK_MSG(pruned >= 5, "%lld pruned", (long long)pruned);
    free(space);
    free(one);
    free(mpi);
    setup_deinit(&s);
}

/* Children that segfault (always, or once), hang and time out on the
 * worker ranks' worker processes: each death travels to rank 0, which
 * retries as on one machine, and the study is the single machine's, with
 * the same attempts and errors. */
TEST(mpi_worker_processes_retry_and_time_out_trials_as_one_machine_does)
{
    setup s;
    setup_init(&s);
    char *one = tmp("faults-one.db"), *mpi = tmp("faults-mpi.db");
    static const char *const limits[] = {"--trial-timeout", "1", NULL};
    const char *faults = "segv=3,hang=5,segv-once=9";
    CHECK_EQ_INT(finish(start_with(&s, 0, one, 8, 2, NULL, 1000, limits, faults)), 0);
    CHECK_EQ_INT(finish(start_with(&s, 3, mpi, 8, 1, NULL, 1000, limits, faults)), 0);
    int64_t n = 0;
    CHECK(same_studies(one, mpi, &n));
    CHECK_EQ_INT(n, 16);
    char *a = study_trial_lines(one), *b = study_trial_lines(mpi);
    CHECK_STR(a, b);
    CHECK(a && b);
    CHECK_CONTAINS(a, "\n3 failed 3 nan attempt 3 of 3, the last allowed (--trial-retries 2): "
                      "its worker process ");
    CHECK_CONTAINS(a, "\n5 failed 1 nan timed out: still running after 1 s, its worker process "
                      "was killed\n");
    CHECK_CONTAINS(a, "\n9 done 2 0.");
    CHECK_CONTAINS(a, " attempt 1 of 3: its worker process ");
    free(a);
    free(b);
    free(one);
    free(mpi);
    setup_deinit(&s);
}

TEST(mpi_study_does_not_depend_on_ranks_or_threads_per_rank)
{
    setup s;
    setup_init(&s);
    char *one = tmp("lag-one.db"), *mpi = tmp("lag-mpi.db");
    /* 1 thread on one machine vs 2 ranks x 2 threads, same lag 3 */
    CHECK_EQ_INT(run(&s, 0, one, 15, 1, "3"), 0);
    CHECK_EQ_INT(run(&s, 3, mpi, 15, 2, "3"), 0);
    int64_t n = 0;
    CHECK(same_studies(one, mpi, &n));
    CHECK_EQ_INT(n, 30);
    unsigned seen = workers_seen(mpi);
    CHECK_MSG((seen & ~0xfu) == 0 && (seen & 0x3) && (seen & 0xc),
              "workers seen 0x%x: expected indices 0..3 from both ranks", seen);
    free(one);
    free(mpi);
    setup_deinit(&s);
}

/* Starts an MPI search of 2 x 40 trials (20 ms each), kills worker rank 2
 * with SIGKILL once 10 trials are done, and checks the job ended early. */
static void run_and_kill_a_rank(const setup *s, const char *study)
{
    pid_t pid = start(s, 3, study, 40, 1, NULL, 20000);
    CHECK(pid > 0);
    pid_t victim = 0;
    for (int i = 0; i < 3000; i++) { /* up to 30 s on a loaded machine */
        if (finished_trials(study) >= 10 && (victim = rank_pid(pid, 2)) > 0) break;
        sleep_ms(10);
    }
    CHECK_MSG(victim > 0, "no rank 2 found under mpirun %d", (int)pid);
    CHECK_EQ_INT(kill(victim, SIGKILL), 0);
    int rc = finish(pid);
    CHECK_MSG(rc != 0, "mpirun exited 0 although a rank was killed");
    int64_t done = finished_trials(study);
    fprintf(stderr, "    (rank 2 killed: mpirun exited %d with %lld of 80 trials done)\n", rc,
            (long long)done);
    CHECK(done >= 10 && done < 80);
}

TEST(mpi_killed_worker_rank_loses_nothing_when_resumed_on_one_machine)
{
    setup s;
    setup_init(&s);
    char *whole = tmp("kill-whole.db"), *killed = tmp("kill-one.db");
    CHECK_EQ_INT(run(&s, 0, whole, 40, 2, NULL), 0);
    run_and_kill_a_rank(&s, killed);
    /* the same command on one machine continues the study (lag kept: 2) */
    CHECK_EQ_INT(run(&s, 0, killed, 40, 2, NULL), 0);
    int64_t n = 0;
    CHECK(same_studies(whole, killed, &n));
    CHECK_EQ_INT(n, 80);
    CHECK_EQ_INT(finished_trials(killed), 80);
    free(whole);
    free(killed);
    setup_deinit(&s);
}

TEST(mpi_killed_worker_rank_loses_nothing_when_resumed_over_mpi)
{
    setup s;
    setup_init(&s);
    char *whole = tmp("kill-whole2.db"), *killed = tmp("kill-mpi.db");
    CHECK_EQ_INT(run(&s, 0, whole, 40, 2, NULL), 0);
    run_and_kill_a_rank(&s, killed);
    CHECK_EQ_INT(run(&s, 3, killed, 40, 1, NULL), 0);
    int64_t n = 0;
    CHECK(same_studies(whole, killed, &n));
    CHECK_EQ_INT(n, 80);
    free(whole);
    free(killed);
    setup_deinit(&s);
}

TEST(mpi_ranks_with_other_task_lists_are_refused_before_any_trial)
{
    setup s;
    setup_init(&s);
    char *study = tmp("tasks.db");
    /* rank 0 reads task-a task-b; the worker rank is given task-b task-a
     * (an MPMD launch: mpirun -n 1 A : -n 1 B) */
    const char *bin = taml_test_fake_bin();
    char *cmd = taml_asprintf(
        "TAML_FAKE_CHILD=1000 mpirun --oversubscribe -n 1 %s search --study %s --task %s --task %s "
        "--method random --trials 5 --workers 1 --space %s : -n 1 %s search --study %s --task %s "
        "--task %s --method random --trials 5 --workers 1 --space %s",
        bin, study, s.ta, s.tb, s.space, bin, study, s.tb, s.ta, s.space);
    char *log;
    int st = taml_test_run(cmd, &log);
    free(cmd);
    CHECK(st > 0); /* exited, with an error */
    CHECK_CONTAINS(log, "worker rank 1");
    CHECK_CONTAINS(log, "loaded another task list than rank 0");
    free(log);
    CHECK(finished_trials(study) <= 0);
    free(study);
    setup_deinit(&s);
}

/* Runs rank 0 = taml search, rank 1 = the rogue in `mode` (or the other way
 * round for root-garbage); returns mpirun's exit status and the log (heap). */
static int run_with_rogue(const setup *s, const char *mode, const char *study, char **log)
{
    const char *bin = taml_test_fake_bin(), *rogue = getenv("TAML_ROGUE");
    if (!rogue) rogue = "build-mpi/tests/mpi-rogue";
    const char *names[] = {"task-a", "task-b"};
    char fp[32];
    snprintf(fp, sizeof fp, "%llx", (unsigned long long)taml_wire_tasks_fp(2, names));
    char *search = taml_asprintf("%s search --study %s --task %s --task %s --method multitask "
                                 "--trials 10 --workers 1 --seed 7 --space %s --deterministic",
                                 bin, study, s->ta, s->tb, s->space);
    char *cmd = !strcmp(mode, "root-garbage")
                    ? taml_asprintf("TAML_FAKE_CHILD=1000 timeout 60 mpirun --oversubscribe -n 1 %s "
                                    "%s %s : -n 1 %s",
                                    rogue, mode, fp, search)
                    : taml_asprintf("TAML_FAKE_CHILD=1000 timeout 60 mpirun --oversubscribe -n 1 %s "
                                    ": -n 1 %s %s %s",
                                    search, rogue, mode, fp);
    int st = taml_test_run(cmd, log);
    free(cmd);
    free(search);
    return st;
}

TEST(mpi_malformed_or_unexpected_messages_from_a_worker_stop_the_search_with_the_reason)
{
    setup s;
    setup_init(&s);
    static const struct {
        const char *mode, *says;
    } cases[] = {
        {"bad-hello", "worker rank 1 sent a malformed greeting: HELLO message: not a taml message"},
        {"garbage", "worker rank 1 (rogue) sent a malformed message: message: not a taml message"},
        {"wrong-id", "worker rank 1 (rogue) sent a malformed message: it returned trial"},
        {"oversized", "rank 1 sent a message of 2097152 bytes, more than the"},
        {"early-bye", "worker rank 1 (rogue) stopped before the search ended"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *study = tmp("rogue.db"), *log;
        int rc = run_with_rogue(&s, cases[i].mode, study, &log);
        CHECK_MSG(rc != 0 && rc != 124, "%s: mpirun exited %d (124: hung)", cases[i].mode, rc);
        CHECK_CONTAINS(log, cases[i].says);
        CHECK_MSG(!strstr(log, "Segmentation") && !strstr(log, "Abort"), "%s: %s", cases[i].mode,
                  log);
        free(log);
        /* what was committed stays, and a run on one machine completes it */
        if (finished_trials(study) >= 0) {
            CHECK_EQ_INT(finish(start(&s, 0, study, 10, 1, NULL, 1000)), 0);
            CHECK_EQ_INT(finished_trials(study), 20);
        }
        free(study);
    }
    setup_deinit(&s);
}

TEST(mpi_worker_rank_refuses_a_malformed_job_and_tells_rank_0_why)
{
    setup s;
    setup_init(&s);
    char *study = tmp("rogue-root.db"), *log;
    int rc = run_with_rogue(&s, "root-garbage", study, &log);
    CHECK_MSG(rc != 0 && rc != 124, "mpirun exited %d (124: hung)", rc);
    /* the rogue rank 0 printed the worker's BYE */
    CHECK_CONTAINS(log, "bye -5: rank 0 sent a malformed message: message: not a taml message");
    CHECK_CONTAINS(log, "worker rank 1: rank 0 sent a malformed message");
    free(log);
    free(study);
    setup_deinit(&s);
}

TEST(mpi_real_children_on_worker_ranks_give_the_single_machine_study)
{
    setup s;
    setup_init(&s);
    const char *bin = taml_test_bin(); /* the real taml: no fake child in it */
    char *space = taml_path_join(taml_test_tmpdir(), "real-space.json");
    const char *text =
        "{\"embedding\":[\"random-50\",\"random-100\"],\"fine_tune\":[false,true],"
        "\"layers\":[1,2],\"hidden_size\":[16,32],\"activation\":[\"relu\",\"swish\"],"
        "\"normalization\":[\"none\",\"layer_norm\"],\"dropout\":[0.0,0.1],"
        "\"deep_lr\":[0.03,0.1],\"deep_l2\":[0,0.0001],\"wide_lr\":[0.03,0.1],"
        "\"wide_l1\":[0,0.0001],\"samples\":[1000,3000]}";
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(space, text, strlen(text), &err), 0);
    char *one = tmp("real-one.db"), *mpi = tmp("real-mpi.db");
    const char *args = "--task tests/fixtures/tasks/child-topics --task tests/fixtures/tasks/film-mini "
                       "--method multitask --trials 6 --seed 3 --deterministic --lag 2";
    char *c1 = taml_asprintf("%s search --study %s %s --space %s --workers 2 >>%s 2>&1", bin, one,
                             args, space, s.log);
    char *c2 = taml_asprintf("mpirun -n 3 --oversubscribe %s search --study %s %s --space %s "
                             "--workers 1 >>%s 2>&1",
                             bin, mpi, args, space, s.log);
    CHECK_EQ_INT(system(c1), 0);
    CHECK_EQ_INT(system(c2), 0);
    int64_t n = 0;
    CHECK(same_studies(one, mpi, &n));
    CHECK_EQ_INT(n, 12);
    CHECK_EQ_INT(workers_seen(mpi), 0x3);
    free(c1);
    free(c2);
    free(one);
    free(mpi);
    free(space);
    setup_deinit(&s);
}

TEST(mpi_objective_on_worker_ranks_gives_the_single_machine_study)
{
    /* taml search --objective over MPI: each worker rank runs the command
     * in its own worker processes; the deterministic study equals the one
     * machine's */
    setup s;
    setup_init(&s);
    const char *bin = taml_test_bin();
    char *one = tmp("obj-one.db"), *mpi = tmp("obj-mpi.db");
    const char *args = "--task left --task right --method multitask --trials 8 --seed 5 "
                       "--deterministic --lag 2 --space examples/objective_space.json "
                       "--objective examples/objective.sh";
    char *c1 = taml_asprintf("%s search --study %s %s --workers 2 >>%s 2>&1", bin, one, args,
                             s.log);
    char *c2 = taml_asprintf("mpirun -n 3 --oversubscribe %s search --study %s %s --workers 1 "
                             ">>%s 2>&1",
                             bin, mpi, args, s.log);
    CHECK_EQ_INT(system(c1), 0);
    CHECK_EQ_INT(system(c2), 0);
    int64_t n = 0;
    CHECK(same_studies(one, mpi, &n));
    CHECK_EQ_INT(n, 16);
    CHECK_EQ_INT(workers_seen(mpi), 0x3);
    free(c1);
    free(c2);
    free(one);
    free(mpi);
    setup_deinit(&s);
}
