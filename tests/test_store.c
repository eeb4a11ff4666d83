/* tests/test_store.c - the study store: round trips, the trial state machine,
 * refusal of files that are not (readable) studies, a reader beside a writer. */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/util.h"
#include "store/store.h"
#include "test.h"

static char *study_path(const char *name)
{
    char *p = taml_path_join(taml_test_tmpdir(), name);
    remove(p);
    return p;
}

static taml_store *new_study(const char *path, int n_tasks)
{
    static char *names[] = {"alpha", "beta", "gamma"};
    static char *dirs[] = {"data/alpha", "data/beta", "data/gamma"};
    taml_study st = {
        .method = "multitask",
        .seed = 0xfedcba9876543210ULL, /* above INT64_MAX: must survive the signed column */
        .space_json = "{\"decisions\":[]}",
        .space_fingerprint = "0123abcd",
        .trials_per_task = 7,
        .options_json = "{\"lag\":2}",
        .taml_version = "0.1.0",
        .n_tasks = n_tasks,
        .task_names = names,
        .task_dirs = dirs,
    };
    taml_store *s;
    taml_err err;
    if (taml_store_open(&s, path, TAML_STORE_CREATE, &err)) return NULL;
    if (taml_store_create(s, &st, &err)) {
        taml_store_close(s);
        return NULL;
    }
    return s;
}

static int64_t add_trial(taml_store *s, int32_t task, uint64_t seed)
{
    int32_t acts[4] = {3, 0, 12, 1};
    taml_trial t = {.task = task, .method = "aml", .config_json = "{\"layers\":2}",
                    .n_actions = 4, .actions = acts, .seed = seed};
    taml_err err;
    if (taml_store_trial_add(s, &t, &err)) return -1;
    return t.id;
}

TEST(store_study_settings_and_tasks_round_trip)
{
    char *path = study_path("rt.db");
    taml_store *s = new_study(path, 3);
    CHECK(s);
    CHECK(taml_store_has_study(s));
    taml_store_close(s);

    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_READONLY, &err), 0);
    taml_study st;
    CHECK_EQ_INT(taml_store_study(s, &st, &err), 0);
    CHECK_STR(st.method, "multitask");
    CHECK(st.seed == 0xfedcba9876543210ULL);
    CHECK_STR(st.space_json, "{\"decisions\":[]}");
    CHECK_STR(st.space_fingerprint, "0123abcd");
    CHECK_EQ_INT(st.trials_per_task, 7);
    CHECK_STR(st.options_json, "{\"lag\":2}");
    CHECK_STR(st.taml_version, "0.1.0");
    CHECK(st.created > 1.7e9);
    CHECK_EQ_INT(st.n_tasks, 3);
    CHECK_STR(st.task_names[2], "gamma");
    CHECK_STR(st.task_dirs[1], "data/beta");
    taml_study_deinit(&st);
    taml_store_close(s);
    free(path);
}

TEST(store_trial_round_trip_keeps_every_field)
{
    char *path = study_path("trial.db");
    taml_store *s = new_study(path, 2);
    CHECK(s);
    taml_err err;
    int64_t id = add_trial(s, 1, 0x8000000000000001ULL);
    CHECK_EQ_INT(id, 1);
    CHECK_EQ_INT(taml_store_trial_start(s, id, 3, &err), 0);
    taml_trial r = {.state = TAML_TRIAL_DONE, .valid_acc = 0.8125, .test_acc = 0.75,
                    .loss = 0.3125, .steps = 100, .train_seconds = 1.5, .update_seq = 1,
                    .worker = -1 /* keeps the worker given at start */};
    CHECK_EQ_INT(taml_store_trial_finish(s, id, &r, &err), 0);

    taml_trial t;
    CHECK_EQ_INT(taml_store_trial_get(s, id, &t, &err), 0);
    CHECK_EQ_INT(t.id, 1);
    CHECK_EQ_INT(t.task, 1);
    CHECK_STR(t.method, "aml");
    CHECK_STR(t.config_json, "{\"layers\":2}");
    CHECK_EQ_INT(t.n_actions, 4);
    CHECK_EQ_INT(t.actions[0], 3);
    CHECK_EQ_INT(t.actions[2], 12);
    CHECK_EQ_INT(t.actions[3], 1);
    CHECK(t.seed == 0x8000000000000001ULL);
    CHECK_EQ_INT(t.state, TAML_TRIAL_DONE);
    CHECK(t.valid_acc == 0.8125 && t.test_acc == 0.75 && t.loss == 0.3125);
    CHECK_EQ_INT(t.steps, 100);
    CHECK(t.train_seconds == 1.5);
    CHECK_EQ_INT(t.worker, 3);
    CHECK(t.error == NULL);
    CHECK_EQ_INT(t.update_seq, 1);
    CHECK(t.queued_at > 1.7e9 && t.started_at >= t.queued_at && t.finished_at >= t.started_at);
    taml_trial_deinit(&t);
    CHECK_EQ_INT(taml_store_last_seq(s, &err), 1);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_DONE, -1, &err), 1);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_DONE, 0, &err), 0);
    CHECK_EQ_INT(taml_store_count(s, -1, -1, &err), 1);
    taml_store_close(s);
    free(path);
}

TEST(store_diverged_trial_keeps_accuracy_and_null_loss)
{
    char *path = study_path("div.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    taml_err err;
    int64_t id = add_trial(s, 0, 9);
    CHECK_EQ_INT(taml_store_trial_start(s, id, 0, &err), 0);
    taml_trial r = {.state = TAML_TRIAL_DIVERGED, .valid_acc = 0.5, .test_acc = 0.4,
                    .loss = INFINITY, .steps = 7, .train_seconds = 0.1, .error = "loss is inf"};
    CHECK_EQ_INT(taml_store_trial_finish(s, id, &r, &err), 0);
    taml_trial t;
    CHECK_EQ_INT(taml_store_trial_get(s, id, &t, &err), 0);
    CHECK_EQ_INT(t.state, TAML_TRIAL_DIVERGED);
    CHECK(isnan(t.loss));
    CHECK(t.valid_acc == 0.5);
    CHECK_STR(t.error, "loss is inf");
    CHECK_EQ_INT(t.update_seq, 0);
    taml_trial_deinit(&t);
    /* Its update is applied later (deterministic mode), once only. */
    CHECK_EQ_INT(taml_store_trial_applied(s, id, 5, NAN, &err), 0);
    CHECK_EQ_INT(taml_store_trial_applied(s, id, 6, NAN, &err), TAML_EINVAL);
    CHECK_EQ_INT(taml_store_last_seq(s, &err), 5);
    taml_store_close(s);
    free(path);
}

TEST(store_state_machine_table_matches_the_diagram)
{
    int ok = 0;
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) ok += taml_trial_transition_ok(a, b);
    /* pending->running, running->pending, running->4 final states */
    CHECK_EQ_INT(ok, 6);
    CHECK(taml_trial_transition_ok(TAML_TRIAL_PENDING, TAML_TRIAL_RUNNING));
    CHECK(!taml_trial_transition_ok(TAML_TRIAL_PENDING, TAML_TRIAL_DONE));
    CHECK(!taml_trial_transition_ok(TAML_TRIAL_DONE, TAML_TRIAL_PENDING));
    CHECK(taml_trial_transition_ok(TAML_TRIAL_RUNNING, TAML_TRIAL_FAILED));
    for (int a = 0; a < 6; a++)
        CHECK_EQ_INT(taml_trial_state_parse(taml_trial_state_name(a)), a);
    CHECK_EQ_INT(taml_trial_state_parse("finished"), -1);
}

TEST(store_refuses_illegal_transitions_with_the_current_state)
{
    char *path = study_path("sm.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    taml_err err;
    int64_t id = add_trial(s, 0, 1);
    taml_trial r = {.state = TAML_TRIAL_DONE, .valid_acc = 0.5, .test_acc = 0.5, .loss = 1};
    /* pending -> done skips running */
    CHECK_EQ_INT(taml_store_trial_finish(s, id, &r, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "trial 1 is pending and cannot become done");
    CHECK_EQ_INT(taml_store_trial_start(s, id, 0, &err), 0);
    CHECK_EQ_INT(taml_store_trial_start(s, id, 0, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "is running and cannot become running");
    CHECK_EQ_INT(taml_store_trial_finish(s, id, &r, &err), 0);
    /* a finished trial is final: no restart, no second finish, no requeue */
    CHECK_EQ_INT(taml_store_trial_start(s, id, 0, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "is done");
    CHECK_EQ_INT(taml_store_trial_finish(s, id, &r, &err), TAML_EINVAL);
    int64_t n = -1;
    CHECK_EQ_INT(taml_store_requeue(s, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(taml_store_trial_start(s, 99, 0, &err), TAML_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no trial 99");
    taml_store_close(s);
    free(path);
}

TEST(store_requeue_returns_running_trials_to_pending)
{
    char *path = study_path("rq.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    taml_err err;
    int64_t a = add_trial(s, 0, 1), b = add_trial(s, 0, 2), c = add_trial(s, 0, 3);
    CHECK_EQ_INT(taml_store_trial_start(s, a, 0, &err), 0);
    CHECK_EQ_INT(taml_store_trial_start(s, b, 1, &err), 0);
    taml_trial r = {.state = TAML_TRIAL_FAILED, .valid_acc = NAN, .test_acc = NAN, .loss = NAN,
                    .error = "out of memory"};
    CHECK_EQ_INT(taml_store_trial_finish(s, a, &r, &err), 0);
    int64_t n = 0;
    CHECK_EQ_INT(taml_store_requeue(s, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_PENDING, -1, &err), 2);
    CHECK_EQ_INT(taml_store_count(s, TAML_TRIAL_FAILED, -1, &err), 1);
    taml_trial t;
    CHECK_EQ_INT(taml_store_trial_get(s, b, &t, &err), 0);
    CHECK_EQ_INT(t.state, TAML_TRIAL_PENDING);
    CHECK_EQ_INT(t.worker, -1);
    CHECK(t.seed == 2);
    taml_trial_deinit(&t);
    (void)c;
    taml_store_close(s);
    free(path);
}

TEST(store_trial_with_unknown_task_is_refused)
{
    char *path = study_path("fk.db");
    taml_store *s = new_study(path, 2);
    CHECK(s);
    CHECK_EQ_INT(add_trial(s, 5, 1), -1);
    taml_err err;
    int32_t acts[1] = {0};
    taml_trial t = {.task = 2, .method = "random", .config_json = "{}", .n_actions = 1,
                    .actions = acts};
    CHECK_EQ_INT(taml_store_trial_add(s, &t, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "no task with index 2");
    taml_store_close(s);
    free(path);
}

TEST(store_duplicate_task_names_and_second_study_are_refused)
{
    char *path = study_path("dup.db");
    taml_store *s;
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_CREATE, &err), 0);
    char *names[] = {"x", "x"}, *dirs[] = {"a", "b"};
    taml_study st = {.method = "aml", .space_json = "{}", .space_fingerprint = "f",
                     .n_tasks = 2, .task_names = names, .task_dirs = dirs};
    CHECK_EQ_INT(taml_store_create(s, &st, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "task name 'x' given twice");
    CHECK(!taml_store_has_study(s)); /* the failed create left nothing behind */
    st.n_tasks = 1;
    CHECK_EQ_INT(taml_store_create(s, &st, &err), 0);
    CHECK_EQ_INT(taml_store_create(s, &st, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "already holds a study");
    taml_store_close(s);
    free(path);
}

TEST(store_checkpoint_keeps_the_first_and_the_newest_with_their_baselines)
{
    char *path = study_path("ck.db");
    taml_store *s = new_study(path, 2);
    CHECK(s);
    taml_err err;
    void *blob;
    size_t size;
    int64_t after;
    CHECK_EQ_INT(taml_store_checkpoint_last(s, &blob, &size, &after, &err), 0);
    CHECK(blob == NULL);
    CHECK_EQ_INT(taml_store_checkpoint_first(s, &blob, &size, &after, &err), 0);
    double nb[2] = {1, 1}, ns[2] = {1, 1};
    CHECK_EQ_INT(taml_store_checkpoint_last_baselines(s, 2, nb, ns, &err), 0);
    CHECK(isnan(nb[0]) && isnan(nb[1]) && isnan(ns[0]) && isnan(ns[1]));
    unsigned char b0[4] = {7, 7, 7, 7}, b1[5] = {1, 2, 3, 4, 5}, b2[3] = {9, 0, 7};
    double base[2] = {0.5, 0.6}, sig[2] = {0.1, 0.2};
    CHECK_EQ_INT(taml_store_checkpoint_save(s, 0, b0, 4, 2, NULL, NULL, &err), 0);
    CHECK_EQ_INT(taml_store_checkpoint_save(s, 4, b1, 5, 2, base, sig, &err), 0);
    CHECK_EQ_INT(taml_store_checkpoint_save(s, 9, b2, 3, 2, base, NULL, &err), 0);
    CHECK_EQ_INT(taml_store_checkpoint_last(s, &blob, &size, &after, &err), 1);
    CHECK_EQ_INT(size, 3);
    CHECK_EQ_INT(after, 9);
    CHECK(memcmp(blob, b2, 3) == 0);
    free(blob);
    CHECK_EQ_INT(taml_store_checkpoint_first(s, &blob, &size, &after, &err), 1);
    CHECK_EQ_INT(size, 4);
    CHECK_EQ_INT(after, 0);
    CHECK(memcmp(blob, b0, 4) == 0);
    free(blob);
    /* the newest one's baselines come back as saved (its sigma was NULL);
     * a caller with more tasks than were saved gets NAN for the others */
    double gb[3], gs[3];
    CHECK_EQ_INT(taml_store_checkpoint_last_baselines(s, 3, gb, gs, &err), 1);
    CHECK(gb[0] == 0.5 && gb[1] == 0.6 && isnan(gb[2]));
    CHECK(isnan(gs[0]) && isnan(gs[1]) && isnan(gs[2]));
    /* two checkpoint rows remain (the middle one went, with its baselines) */
    taml_store_close(s);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *q;
    CHECK(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM checkpoints),"
                                 " (SELECT count(*) FROM baselines),"
                                 " (SELECT sum(baseline) FROM baselines)",
                             -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int(q, 0), 2);
    CHECK_EQ_INT(sqlite3_column_int(q, 1), 2);
    CHECK_NEAR(sqlite3_column_double(q, 2), 1.1, 1e-12);
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(path);
}

TEST(store_iterates_by_id_and_by_update_order)
{
    char *path = study_path("it.db");
    taml_store *s = new_study(path, 2);
    CHECK(s);
    taml_err err;
    /* five trials finish; the controller applied them in order 3, 1, 5, 2 */
    int64_t seqs[6] = {0, 2, 4, 1, 0, 3};
    for (int i = 1; i <= 5; i++) {
        CHECK_EQ_INT(add_trial(s, i % 2, (uint64_t)i), i);
        CHECK_EQ_INT(taml_store_trial_start(s, i, 0, &err), 0);
        taml_trial r = {.state = TAML_TRIAL_DONE, .valid_acc = i / 10.0, .test_acc = 0,
                        .loss = 0, .update_seq = seqs[i]};
        CHECK_EQ_INT(taml_store_trial_finish(s, i, &r, &err), 0);
    }
    taml_store_iter *it;
    taml_trial t;
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err), 0);
    int n = 0;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        n++;
        CHECK_EQ_INT(t.id, n);
        CHECK_EQ_INT(t.task, n % 2);
        CHECK_NEAR(t.valid_acc, n / 10.0, 1e-15);
    }
    CHECK_EQ_INT(n, 5);
    taml_store_iter_free(it);
    CHECK_EQ_INT(taml_store_iter_new(s, TAML_ITER_BY_SEQ, 1, &it, &err), 0);
    int64_t want[] = {1, 5, 2}, k = 0;
    while (taml_store_iter_next(it, &t, &err) == 1) {
        CHECK(k < 3);
        CHECK_EQ_INT(t.id, want[k]);
        k++;
    }
    CHECK_EQ_INT(k, 3);
    taml_store_iter_free(it);
    taml_store_close(s);
    free(path);
}

TEST(store_rollback_leaves_no_half_written_trial)
{
    char *path = study_path("tx.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    taml_err err;
    int64_t id = add_trial(s, 0, 1);
    CHECK_EQ_INT(taml_store_trial_start(s, id, 0, &err), 0);
    CHECK_EQ_INT(taml_store_begin(s, &err), 0);
    taml_trial r = {.state = TAML_TRIAL_DONE, .valid_acc = 0.9, .test_acc = 0.9, .loss = 0.1,
                    .update_seq = 1};
    CHECK_EQ_INT(taml_store_trial_finish(s, id, &r, &err), 0);
    unsigned char blob[2] = {1, 2};
    CHECK_EQ_INT(taml_store_checkpoint_save(s, 1, blob, 2, 0, NULL, NULL, &err), 0);
    taml_store_rollback(s);
    taml_trial t;
    CHECK_EQ_INT(taml_store_trial_get(s, id, &t, &err), 0);
    CHECK_EQ_INT(t.state, TAML_TRIAL_RUNNING);
    CHECK(isnan(t.valid_acc));
    taml_trial_deinit(&t);
    void *b;
    size_t size;
    int64_t after;
    CHECK_EQ_INT(taml_store_checkpoint_last(s, &b, &size, &after, &err), 0);
    taml_store_close(s);
    free(path);
}

TEST(store_refuses_a_file_that_is_not_a_study)
{
    taml_store *s;
    taml_err err;
    char *path = study_path("junk.db");
    FILE *f = fopen(path, "wb");
    CHECK(f);
    for (int i = 0; i < 300; i++) fputs("this is not a database. ", f);
    fclose(f);
    CHECK(taml_store_open(&s, path, 0, &err) < 0);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "not a taml study");

    /* an SQLite database of another program */
    char *other = study_path("other.db");
    sqlite3 *db;
    CHECK(sqlite3_open(other, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(taml_store_open(&s, other, 0, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "not a taml study");

    /* a missing file without CREATE */
    char *missing = study_path("missing.db");
    CHECK_EQ_INT(taml_store_open(&s, missing, 0, &err), TAML_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "missing.db");
    free(path);
    free(other);
    free(missing);
}

TEST(store_refuses_a_truncated_study)
{
    char *path = study_path("trunc.db");
    taml_store *s = new_study(path, 2);
    CHECK(s);
    for (int i = 0; i < 50; i++) CHECK(add_trial(s, i % 2, (uint64_t)i) > 0);
    taml_store_close(s); /* the last connection folds the WAL into the file */
    char *data;
    size_t size;
    taml_err err;
    CHECK_EQ_INT(taml_read_file(path, &data, &size, &err), 0);
    CHECK(size > 4096);
    /* keep the header page, damage the rest */
    for (size_t i = 100; i < size; i++) data[i] = (char)(i * 7);
    CHECK_EQ_INT(taml_write_file_atomic(path, data, size, &err), 0);
    free(data);
    int rc = taml_store_open(&s, path, 0, &err);
    if (rc == 0) { /* the header survived: the damage shows on first read */
        taml_study st;
        rc = taml_store_study(s, &st, &err);
        taml_store_close(s);
    }
    CHECK(rc < 0);
    CHECK_CONTAINS(err.msg, path);
    free(path);
}

TEST(store_refuses_a_study_from_a_newer_schema)
{
    char *path = study_path("newer.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    taml_store_close(s);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, 0, &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "newer taml (study schema 99");
    free(path);
}

struct reader_arg {
    const char *path;
    int64_t max_seen;
    int monotone, errors, reads;
    volatile int *stop;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    taml_store *s;
    taml_err err;
    if (taml_store_open(&s, a->path, TAML_STORE_READONLY, &err)) {
        a->errors++;
        return NULL;
    }
    while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
        taml_store_iter *it;
        if (taml_store_iter_new(s, TAML_ITER_BY_ID, 0, &it, &err)) {
            a->errors++;
            break;
        }
        taml_trial t;
        int64_t n = 0;
        int rc;
        while ((rc = taml_store_iter_next(it, &t, &err)) == 1) {
            n++;
            /* every trial a reader sees is whole: finished ones have results */
            if (t.id != n || (t.state == TAML_TRIAL_DONE && t.valid_acc != t.id / 1000.0))
                a->errors++;
        }
        if (rc < 0) a->errors++;
        taml_store_iter_free(it);
        if (n < a->max_seen) a->monotone = 0;
        a->max_seen = n;
        a->reads++;
    }
    taml_store_close(s);
    return NULL;
}

TEST(store_reader_sees_whole_trials_while_a_writer_adds_them)
{
    char *path = study_path("conc.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    volatile int stop = 0;
    struct reader_arg a = {.path = path, .monotone = 1, .stop = &stop};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, reader, &a) == 0);
    taml_err err;
    for (int i = 1; i <= 300; i++) {
        CHECK_EQ_INT(taml_store_begin(s, &err), 0);
        CHECK_EQ_INT(add_trial(s, 0, (uint64_t)i), i);
        CHECK_EQ_INT(taml_store_trial_start(s, i, 0, &err), 0);
        taml_trial r = {.state = TAML_TRIAL_DONE, .valid_acc = i / 1000.0, .test_acc = 0,
                        .loss = 0};
        CHECK_EQ_INT(taml_store_trial_finish(s, i, &r, &err), 0);
        CHECK_EQ_INT(taml_store_commit(s, &err), 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    CHECK_EQ_INT(a.errors, 0);
    CHECK(a.monotone);
    CHECK(a.reads > 0);
    taml_store_close(s);
    free(path);
}

TEST(store_refuses_a_trial_with_an_unknown_state)
{
    char *path = study_path("state.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    CHECK_EQ_INT(add_trial(s, 0, 1), 1);
    taml_store_close(s);
    sqlite3 *db; /* a damaged or hand-edited file: the CHECK constraint bypassed */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA ignore_check_constraints = 1;"
                           " UPDATE trials SET state = 'weird'",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, 0, &err), 0);
    taml_trial t;
    CHECK_EQ_INT(taml_store_trial_get(s, 1, &t, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "trial 1 has an unknown state");
    CHECK_EQ_INT(taml_store_trial_start(s, 1, 0, &err), TAML_ECORRUPT);
    taml_store_close(s);
    free(path);
}

/* attempts counts the runs that ended: a finish and a retry (the worker
 * process died) add one, a requeue (the search died) none; a retry records
 * its note, which a result without an error of its own keeps. */
TEST(store_attempts_count_finished_and_retried_runs_not_requeued_ones)
{
    char *path = study_path("att.db");
    taml_store *s = new_study(path, 1);
    CHECK(s);
    taml_err err;
    int64_t id = add_trial(s, 0, 1);
    taml_trial t;
    CHECK_EQ_INT(taml_store_trial_get(s, id, &t, &err), 0);
    CHECK_EQ_INT(t.attempts, 0);
    taml_trial_deinit(&t);
    int32_t att = -1;
    CHECK_EQ_INT(taml_store_trial_retry(s, id, "x", &att, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "trial 1 is pending and cannot become pending");
    CHECK_EQ_INT(taml_store_trial_start(s, id, 3, &err), 0);
    CHECK_EQ_INT(taml_store_trial_retry(s, id, "attempt 1 of 3: it died", &att, &err), 0);
    CHECK_EQ_INT(att, 1);
    CHECK_EQ_INT(taml_store_trial_get(s, id, &t, &err), 0);
    CHECK_EQ_INT(t.state, TAML_TRIAL_PENDING);
    CHECK_EQ_INT(t.worker, -1);
    CHECK_STR(t.error, "attempt 1 of 3: it died");
    taml_trial_deinit(&t);
    int64_t n = 0;
    CHECK_EQ_INT(taml_store_trial_start(s, id, 0, &err), 0);
    CHECK_EQ_INT(taml_store_requeue(s, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(taml_store_trial_start(s, id, 1, &err), 0);
    taml_trial r = {.state = TAML_TRIAL_DONE, .valid_acc = 0.5, .test_acc = 0.4, .loss = 1,
                    .worker = 1};
    CHECK_EQ_INT(taml_store_trial_finish(s, id, &r, &err), 0);
    CHECK_EQ_INT(taml_store_trial_get(s, id, &t, &err), 0);
    CHECK_EQ_INT(t.state, TAML_TRIAL_DONE);
    CHECK_EQ_INT(t.attempts, 2);
    CHECK_STR(t.error, "attempt 1 of 3: it died");
    taml_trial_deinit(&t);
    CHECK_EQ_INT(taml_store_trial_retry(s, id, "x", &att, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "is done and cannot become pending");
    /* a failure's own error replaces the note */
    int64_t b = add_trial(s, 0, 2);
    CHECK_EQ_INT(taml_store_trial_start(s, b, 0, &err), 0);
    CHECK_EQ_INT(taml_store_trial_retry(s, b, "attempt 1 of 2: it died", NULL, &err), 0);
    CHECK_EQ_INT(taml_store_trial_start(s, b, 0, &err), 0);
    r = (taml_trial){.state = TAML_TRIAL_FAILED, .valid_acc = NAN, .test_acc = NAN, .loss = NAN,
                     .worker = -1, .error = "attempt 2 of 2, the last allowed: it died"};
    CHECK_EQ_INT(taml_store_trial_finish(s, b, &r, &err), 0);
    CHECK_EQ_INT(taml_store_trial_get(s, b, &t, &err), 0);
    CHECK_EQ_INT(t.attempts, 2);
    CHECK_STR(t.error, "attempt 2 of 2, the last allowed: it died");
    taml_trial_deinit(&t);
    /* the column refuses nonsense */
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE trials SET attempts = -1 WHERE id = 1", NULL, NULL, NULL) ==
          SQLITE_CONSTRAINT);
    sqlite3_close(db);
    taml_store_close(s);
    free(path);
}
