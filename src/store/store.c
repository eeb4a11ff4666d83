/* store/store.c - the study store on SQLite (see store.h for the contract and
 * the trial state machine).
 *
 * Every SQLite failure is translated here, at the boundary, into a taml_err
 * naming the study file and what the store was doing; nothing above this
 * file sees an sqlite3 return code.
 */
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* "TAML" in ASCII: PRAGMA application_id of every study file. */
#define TAML_STORE_APP_ID 0x54414d4c

struct taml_store {
    sqlite3 *db;
    char *path;
    int depth; /* nesting of taml_store_begin */
    int readonly;
    int64_t schema; /* the file's schema version (below TAML_STORE_SCHEMA: read only, unmigrated) */
};

struct taml_store_iter {
    taml_store *s;
    sqlite3_stmt *st;
    taml_trial cur; /* strings owned by the iterator */
};

static const char *state_names[] = {"pending", "running", "done",  "diverged",
                                    "invalid", "failed",  "pruned"};
#define N_STATES ((int)(sizeof state_names / sizeof state_names[0]))

const char *taml_trial_state_name(taml_trial_state s)
{
    return (unsigned)s < (unsigned)N_STATES ? state_names[s] : "?";
}

int taml_trial_state_parse(const char *s)
{
    for (int i = 0; i < N_STATES; i++)
        if (s && !strcmp(s, state_names[i])) return i;
    return -1;
}

int taml_trial_state_final(taml_trial_state s)
{
    return s == TAML_TRIAL_DONE || s == TAML_TRIAL_DIVERGED || s == TAML_TRIAL_INVALID ||
           s == TAML_TRIAL_FAILED || s == TAML_TRIAL_PRUNED;
}

int taml_trial_transition_ok(taml_trial_state from, taml_trial_state to)
{
    if (from == TAML_TRIAL_PENDING) return to == TAML_TRIAL_RUNNING;
    if (from == TAML_TRIAL_RUNNING) return to == TAML_TRIAL_PENDING || taml_trial_state_final(to);
    return 0;
}

double taml_store_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Translates the connection's last error into err (TAML_EDB, or
 * TAML_ECORRUPT for a damaged file), saying what the store was doing and,
 * for the failures a user acts on, what happened in words: a damaged file,
 * a full disk, a file that cannot be written. */
static int db_fail(taml_store *s, taml_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(s->db) & 0xff;
    const char *msg = sqlite3_errmsg(s->db);
    /* SQLite's I/O errors keep the system's errno: a full disk shows as
     * "disk I/O error" (the -shm file of a WAL study cannot grow) */
    int sys = sqlite3_system_errno(s->db);
    if (code == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT)) code = SQLITE_FULL;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: the study file is damaged (SQLite: %s, while %s); restore it "
                            "from a copy, or use another --study file",
                            s->path, msg, what);
    if (code == SQLITE_FULL)
        return taml_err_set(err, TAML_EDB,
                            "%s: the disk is full (SQLite: %s) while %s; what was committed "
                            "before is kept",
                            s->path, msg, what);
    if (code == SQLITE_READONLY)
        return taml_err_set(err, TAML_EDB, "%s: cannot write the study file (SQLite: %s) while %s",
                            s->path, msg, what);
    if (code == SQLITE_CANTOPEN || code == SQLITE_IOERR)
        return taml_err_set(err, TAML_EDB, "%s: cannot read or write the study file (SQLite: %s%s%s) "
                            "while %s",
                            s->path, msg, sys ? ": " : "", sys ? strerror(sys) : "", what);
    return taml_err_set(err, TAML_EDB, "%s: %s: %s", s->path, what, msg);
}

static int exec_sql(taml_store *s, const char *sql, taml_err *err)
{
    char *emsg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &emsg) != SQLITE_OK) {
        char what[96];
        snprintf(what, sizeof what, "running %.*s%s", 60, sql, strlen(sql) > 60 ? "..." : "");
        int rc = db_fail(s, err, what);
        sqlite3_free(emsg);
        return rc;
    }
    return TAML_OK;
}

static int prepare(taml_store *s, sqlite3_stmt **st, const char *sql, taml_err *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return db_fail(s, err, "preparing a query");
    }
    return TAML_OK;
}

/* Reads one integer from a single-value query (a PRAGMA or a count). */
static int query_i64(taml_store *s, const char *sql, int64_t *out, taml_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st, sql, err);
    if (rc) return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = TAML_OK;
    } else if (step == SQLITE_DONE) {
        *out = 0;
        rc = TAML_OK;
    } else {
        char what[96];
        snprintf(what, sizeof what, "running %s", sql);
        rc = db_fail(s, err, what);
    }
    sqlite3_finalize(st);
    return rc;
}

static const char *schema_sql =
    "CREATE TABLE study ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  method TEXT NOT NULL, seed INTEGER NOT NULL, space_json TEXT NOT NULL,"
    "  space_fingerprint TEXT NOT NULL, trials_per_task INTEGER NOT NULL,"
    "  options_json TEXT NOT NULL, taml_version TEXT NOT NULL, created REAL NOT NULL);"
    "CREATE TABLE tasks ("
    "  idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dir TEXT NOT NULL);"
    "CREATE TABLE trials ("
    "  id INTEGER PRIMARY KEY, task INTEGER NOT NULL REFERENCES tasks(idx),"
    "  method TEXT NOT NULL, config_json TEXT NOT NULL, actions TEXT NOT NULL,"
    "  seed INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN"
    "    ('pending','running','done','diverged','invalid','failed')),"
    "  valid_acc REAL, test_acc REAL, loss REAL, steps INTEGER,"
    "  queued_at REAL NOT NULL, started_at REAL, finished_at REAL, train_seconds REAL,"
    "  worker INTEGER, error TEXT, update_seq INTEGER UNIQUE);"
    "CREATE INDEX trials_task ON trials(task, id);"
    "CREATE TABLE checkpoints ("
    "  id INTEGER PRIMARY KEY, after_seq INTEGER NOT NULL, created REAL NOT NULL,"
    "  blob BLOB NOT NULL);"
    "CREATE TABLE baselines ("
    "  checkpoint INTEGER NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,"
    "  task INTEGER NOT NULL REFERENCES tasks(idx), baseline REAL, sigma REAL,"
    "  PRIMARY KEY (checkpoint, task));";

/* The steps from one schema version to the next. A study file is made with
 * schema_sql (version 1) and every step after it; a file of an older
 * version gets the steps it lacks from taml_store_upgrade, in one
 * transaction with the version bump (a reader of an older file sees what it
 * has: every reader below checks s->schema before touching what a step
 * added). Steps only add: a file never loses a column or a row by being
 * migrated. */
static int admit_pruned(taml_store *s, taml_err *err);
static const struct migration {
    int64_t to;      /* the version the step makes */
    const char *sql; /* the step */
    int (*more)(taml_store *s, taml_err *err); /* what SQL alone cannot do, after it (or NULL) */
} migrations[] = {
    /* The data a study ran on (src/search/study.c checks it when the study
     * continues or is transferred from): the module library's directory
     * (export's default), each task's data as digests with the directory
     * it was loaded from (data/task.h's taml_task_identity; each 64-bit
     * digest as 16 hex digits), each embedding module the space names as
     * the file it was found at, its size and its stored CRC-32. */
    {2, "ALTER TABLE study ADD COLUMN modules_dir TEXT;"
        "CREATE TABLE task_data ("
        "  task INTEGER PRIMARY KEY REFERENCES tasks(idx),"
        "  fingerprint TEXT NOT NULL, dir TEXT NOT NULL,"
        "  kind TEXT NOT NULL CHECK (kind IN ('text','image')),"
        "  train INTEGER NOT NULL, valid INTEGER NOT NULL, test INTEGER NOT NULL,"
        "  classes INTEGER NOT NULL, classes_digest TEXT NOT NULL,"
        "  labels_train TEXT NOT NULL, labels_valid TEXT NOT NULL, labels_test TEXT NOT NULL,"
        "  content_train TEXT NOT NULL, content_valid TEXT NOT NULL, content_test TEXT NOT NULL,"
        "  recorded REAL NOT NULL);"
        "CREATE TABLE modules ("
        "  name TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL,"
        "  crc32 INTEGER NOT NULL, recorded REAL NOT NULL);", NULL},
    /* trials.attempts: the runs of a trial that ended (with a result, its
     * worker process's death or a timeout: exec/proc.h); a run cut short by
     * the search's own end is not one. Trials finished before had one run
     * each, unfinished ones none. */
    {3, "ALTER TABLE trials ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);"
        "UPDATE trials SET attempts = 1 WHERE state IN ('done','diverged','invalid','failed');", NULL},
    /* Ensembles (search/ensemble.h): per task the one recorded last, how it
     * was selected, its size, the trials it chose from, its accuracies, and
     * its members with their weights. Two new tables; nothing else changes. */
    {4, "CREATE TABLE ensembles ("
        "  task INTEGER PRIMARY KEY REFERENCES tasks(idx),"
        "  selection TEXT NOT NULL CHECK (selection IN ('top','greedy')),"
        "  size INTEGER NOT NULL CHECK (size >= 1), candidates INTEGER NOT NULL,"
        "  trials INTEGER NOT NULL, valid_acc REAL NOT NULL, test_acc REAL NOT NULL,"
        "  created REAL NOT NULL, taml_version TEXT NOT NULL);"
        "CREATE TABLE ensemble_members ("
        "  task INTEGER NOT NULL REFERENCES ensembles(task) ON DELETE CASCADE,"
        "  pos INTEGER NOT NULL, trial INTEGER NOT NULL REFERENCES trials(id),"
        "  weight INTEGER NOT NULL CHECK (weight >= 1), PRIMARY KEY (task, pos));", NULL},
    /* A transfer study's source (issue 16): the controller it started from
     * (a study, a checkpoint or a controller file, as given), that
     * controller's own space, and how it was carried over to the study's
     * space (ctrl/grow.h: the mapping as JSON and one line for people).
     * One new table; nothing else changes. */
    {5, "CREATE TABLE transfer ("
        "  id INTEGER PRIMARY KEY CHECK (id = 1), source TEXT NOT NULL,"
        "  source_space TEXT NOT NULL, source_fingerprint TEXT NOT NULL,"
        "  grown INTEGER NOT NULL CHECK (grown IN (0, 1)), mapping_json TEXT NOT NULL,"
        "  summary TEXT NOT NULL, recorded REAL NOT NULL);", NULL},
    /* Pruning (search/prune.h): the state 'pruned' (admit_pruned widens the
     * CHECK of trials.state), the reward the controller applied when it is
     * not the validation accuracy (a pruned trial's estimate), the
     * validation accuracy at each rung reached (a JSON array of numbers),
     * and the rung a pruned trial stopped at. Rows keep what they had. */
    {6, "ALTER TABLE trials ADD COLUMN reward REAL;"
        "ALTER TABLE trials ADD COLUMN rungs TEXT;"
        "ALTER TABLE trials ADD COLUMN rung INTEGER CHECK (rung >= 0);",
     admit_pruned},
};

/* Adds 'pruned' to the states trials.state admits. SQLite cannot alter a
 * CHECK constraint; its documented way for a change that leaves every
 * stored row valid (sqlite.org/lang_altertable.html, "Making Other Kinds
 * Of Table Schema Changes", the simpler procedure: here a constraint made
 * looser) is to edit the table's SQL in sqlite_schema under
 * writable_schema and bump schema_version, inside the migration's
 * transaction. The edit must happen exactly once, else the file is not
 * one this build made (ECORRUPT, nothing changed). */
static int admit_pruned(taml_store *s, taml_err *err)
{
    int64_t ver = 0;
    int rc = query_i64(s, "PRAGMA schema_version", &ver, err);
    if (rc) return rc;
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 0, (int *)NULL);
    if ((rc = exec_sql(s, "PRAGMA writable_schema = ON", err))) return rc;
    rc = exec_sql(s,
                  "UPDATE sqlite_master SET sql = replace(sql, '''invalid'',''failed'')',"
                  " '''invalid'',''failed'',''pruned'')')"
                  " WHERE type = 'table' AND name = 'trials'"
                  " AND instr(sql, '''invalid'',''failed'')') > 0",
                  err);
    int changed = rc ? 0 : sqlite3_changes(s->db);
    if (!rc && changed == 1) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA schema_version = %lld", (long long)ver + 1);
        rc = exec_sql(s, pragma, err);
    }
    int off = exec_sql(s, "PRAGMA writable_schema = OFF", rc ? NULL : err);
    if (rc) return rc;
    if (off) return off;
    if (changed != 1)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: the trials table does not declare the states this taml knows",
                            s->path);
    return TAML_OK;
}

/* Runs the steps from version `from` on (inside the caller's transaction). */
static int migrate(taml_store *s, int64_t from, taml_err *err)
{
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
        if (migrations[i].to <= from) continue;
        int rc = exec_sql(s, migrations[i].sql, err);
        if (!rc && migrations[i].more) rc = migrations[i].more(s, err);
        if (rc) return taml_err_prefix(err, "migrating the study to schema %lld", (long long)migrations[i].to);
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", TAML_STORE_SCHEMA);
    return exec_sql(s, pragma, err);
}

int taml_store_upgrade(taml_store *s, taml_err *err)
{
    if (s->schema >= TAML_STORE_SCHEMA) return TAML_OK;
    if (s->readonly)
        return taml_err_set(err, TAML_EINVAL, "%s: opened to read: cannot migrate it to schema %d",
                            s->path, TAML_STORE_SCHEMA);
    /* another process may have done it first: the version is read again
     * under the write lock */
    int64_t ver = 0;
    int rc = exec_sql(s, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    if ((rc = query_i64(s, "PRAGMA user_version", &ver, err)) ||
        (ver < TAML_STORE_SCHEMA && (rc = migrate(s, ver, err)))) {
        exec_sql(s, "ROLLBACK", NULL);
        return rc;
    }
    if ((rc = exec_sql(s, "COMMIT", err))) {
        exec_sql(s, "ROLLBACK", NULL);
        return rc;
    }
    s->schema = TAML_STORE_SCHEMA;
    return TAML_OK;
}

/* Checks the file is a taml study this build can read, creating the schema
 * in a new empty file (an older one is migrated by taml_store_upgrade). */
static int check_or_init_schema(taml_store *s, taml_err *err)
{
    int64_t app = 0, ver = 0, n_objects = 0;
    int rc = query_i64(s, "PRAGMA application_id", &app, err);
    int code = sqlite3_extended_errcode(s->db) & 0xff;
    if (rc && code != SQLITE_NOTADB && code != SQLITE_CORRUPT)
        return rc; /* the file could not be read (db_fail said why: a full disk, ...) */
    if (rc)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: not a taml study (not an SQLite database, or damaged: %s)",
                            s->path, sqlite3_errmsg(s->db));
    if ((rc = query_i64(s, "PRAGMA user_version", &ver, err))) return rc;
    if ((rc = query_i64(s, "SELECT count(*) FROM sqlite_master", &n_objects, err))) return rc;
    if (app == 0 && ver == 0 && n_objects == 0) {
        if (s->readonly)
            return taml_err_set(err, TAML_ENOTFOUND, "%s: empty file, no study in it", s->path);
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA application_id = %d;", TAML_STORE_APP_ID);
        if ((rc = exec_sql(s, "BEGIN IMMEDIATE", err))) return rc;
        if ((rc = exec_sql(s, schema_sql, err)) || (rc = exec_sql(s, pragma, err)) ||
            (rc = migrate(s, 1, err))) {
            exec_sql(s, "ROLLBACK", NULL);
            return rc;
        }
        if ((rc = exec_sql(s, "COMMIT", err))) return rc;
        s->schema = TAML_STORE_SCHEMA;
        return TAML_OK;
    }
    if (app != TAML_STORE_APP_ID)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: an SQLite database, but not a taml study (application id %#llx, "
                            "expected %#x)",
                            s->path, (unsigned long long)app, TAML_STORE_APP_ID);
    if (ver > TAML_STORE_SCHEMA)
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: made by a newer taml (study schema %lld; this taml reads up to "
                            "%d): upgrade taml to open it",
                            s->path, (long long)ver, TAML_STORE_SCHEMA);
    if (ver < 1)
        return taml_err_set(err, TAML_EFORMAT, "%s: taml study with no schema version", s->path);
    s->schema = ver;
    return TAML_OK;
}

int taml_store_open(taml_store **out, const char *path, int flags, taml_err *err)
{
    *out = NULL;
    taml_store *s = taml_calloc(1, sizeof *s);
    s->path = taml_strdup(path);
    s->readonly = (flags & TAML_STORE_READONLY) != 0;
    int oflags = s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (!s->readonly && (flags & TAML_STORE_CREATE)) oflags |= SQLITE_OPEN_CREATE;
    oflags |= SQLITE_OPEN_NOMUTEX; /* one connection per thread; the store is not shared */
    int rc = TAML_OK;
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: a directory, not a study file", path);
        goto fail;
    }
    if (!exists && !(oflags & SQLITE_OPEN_CREATE)) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: no such study file", path);
        goto fail;
    }
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        if (!s->db) {
            rc = taml_err_set(err, TAML_EDB, "%s: cannot open: out of memory", path);
        } else {
            int code = sqlite3_errcode(s->db);
            rc = taml_err_set(err, code == SQLITE_CANTOPEN ? TAML_ENOTFOUND : TAML_EDB,
                              "%s: cannot open study: %s", path, sqlite3_errmsg(s->db));
        }
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 10000);
    if (flags & TAML_STORE_KEEP_WAL) sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    if ((rc = check_or_init_schema(s, err))) goto fail;
    if (!s->readonly && (rc = exec_sql(s, "PRAGMA journal_mode = WAL", err))) goto fail;
    if ((rc = exec_sql(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", err)))
        goto fail;
    *out = s;
    return TAML_OK;
fail:
    taml_store_close(s);
    return rc;
}

void taml_store_close(taml_store *s)
{
    if (!s) return;
    if (s->db) sqlite3_close(s->db); /* every statement is finalized by its user */
    free(s->path);
    free(s);
}

const char *taml_store_path(const taml_store *s)
{
    return s->path;
}

int taml_store_begin(taml_store *s, taml_err *err)
{
    if (s->depth++ > 0) return TAML_OK;
    int rc = exec_sql(s, "BEGIN IMMEDIATE", err);
    if (rc) s->depth = 0;
    return rc;
}

int taml_store_commit(taml_store *s, taml_err *err)
{
    TAML_ASSERT(s->depth > 0);
    if (--s->depth > 0) return TAML_OK;
    int rc = exec_sql(s, "COMMIT", err);
    if (rc) exec_sql(s, "ROLLBACK", NULL);
    return rc;
}

void taml_store_rollback(taml_store *s)
{
    if (s->depth == 0) return;
    s->depth = 0;
    exec_sql(s, "ROLLBACK", NULL);
}

int taml_store_has_study(taml_store *s)
{
    int64_t n = 0;
    if (query_i64(s, "SELECT count(*) FROM study", &n, NULL)) return 0;
    return n > 0;
}

/* ------------------------------------------------------------------ study */

static char *col_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? taml_strdup((const char *)t) : NULL;
}

void taml_study_deinit(taml_study *s)
{
    if (!s) return;
    free(s->method);
    free(s->space_json);
    free(s->space_fingerprint);
    free(s->options_json);
    free(s->taml_version);
    free(s->modules_dir);
    for (int32_t i = 0; i < s->n_tasks; i++) {
        if (s->task_names) free(s->task_names[i]);
        if (s->task_dirs) free(s->task_dirs[i]);
    }
    free(s->task_names);
    free(s->task_dirs);
    memset(s, 0, sizeof *s);
}

int taml_store_create(taml_store *s, const taml_study *study, taml_err *err)
{
    TAML_ASSERT(study->method && study->space_json && study->space_fingerprint);
    sqlite3_stmt *st = NULL;
    int rc = taml_store_begin(s, err);
    if (rc) return rc;
    if (taml_store_has_study(s)) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: already holds a study", s->path);
        goto out;
    }
    if ((rc = prepare(s, &st,
                      "INSERT INTO study (id, method, seed, space_json, space_fingerprint,"
                      " trials_per_task, options_json, taml_version, created, modules_dir)"
                      " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      err)))
        goto out;
    sqlite3_bind_text(st, 1, study->method, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)study->seed);
    sqlite3_bind_text(st, 3, study->space_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, study->space_fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, study->trials_per_task);
    sqlite3_bind_text(st, 6, study->options_json ? study->options_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, study->taml_version ? study->taml_version : "", -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 8, taml_store_now());
    if (study->modules_dir)
        sqlite3_bind_text(st, 9, study->modules_dir, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 9);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, "writing the study settings");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prepare(s, &st, "INSERT INTO tasks (idx, name, dir) VALUES (?, ?, ?)", err)))
        goto out;
    for (int32_t i = 0; i < study->n_tasks; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_text(st, 2, study->task_names[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, study->task_dirs ? study->task_dirs[i] : "", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = ((sqlite3_errcode(s->db) & 0xff) == SQLITE_CONSTRAINT)
                     ? taml_err_set(err, TAML_EINVAL, "%s: task name '%s' given twice", s->path,
                                    study->task_names[i])
                     : db_fail(s, err, "writing the task list");
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    if (rc) {
        taml_store_rollback(s);
        return rc;
    }
    return taml_store_commit(s, err);
}

int taml_store_study(taml_store *s, taml_study *out, taml_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    /* modules_dir: since schema 2 (a file of schema 1 opened to read has none) */
    int rc = prepare(s, &st,
                     s->schema >= 2
                         ? "SELECT method, seed, space_json, space_fingerprint, trials_per_task,"
                           " options_json, taml_version, created, modules_dir FROM study WHERE id = 1"
                         : "SELECT method, seed, space_json, space_fingerprint, trials_per_task,"
                           " options_json, taml_version, created, NULL FROM study WHERE id = 1",
                     err);
    if (rc) return rc;
    int32_t cap = 0; /* before the first goto out */
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        rc = step == SQLITE_DONE ? taml_err_set(err, TAML_ENOTFOUND, "%s: holds no study yet", s->path)
                                 : db_fail(s, err, "reading the study settings");
        goto out;
    }
    out->method = col_strdup(st, 0);
    out->seed = (uint64_t)sqlite3_column_int64(st, 1);
    out->space_json = col_strdup(st, 2);
    out->space_fingerprint = col_strdup(st, 3);
    out->trials_per_task = sqlite3_column_int(st, 4);
    out->options_json = col_strdup(st, 5);
    out->taml_version = col_strdup(st, 6);
    out->created = sqlite3_column_double(st, 7);
    out->modules_dir = col_strdup(st, 8);
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prepare(s, &st, "SELECT idx, name, dir FROM tasks ORDER BY idx", err))) goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int32_t idx = sqlite3_column_int(st, 0);
        if (idx != out->n_tasks) {
            rc = taml_err_set(err, TAML_ECORRUPT, "%s: task indices are not 0..n-1", s->path);
            goto out;
        }
        if (out->n_tasks == cap) {
            cap = cap ? 2 * cap : 8;
            out->task_names = taml_realloc(out->task_names, (size_t)cap * sizeof(char *));
            out->task_dirs = taml_realloc(out->task_dirs, (size_t)cap * sizeof(char *));
        }
        out->task_names[out->n_tasks] = col_strdup(st, 1);
        out->task_dirs[out->n_tasks] = col_strdup(st, 2);
        out->n_tasks++;
    }
    if (step != SQLITE_DONE) rc = db_fail(s, err, "reading the task list");
out:
    sqlite3_finalize(st);
    if (rc) taml_study_deinit(out);
    return rc;
}

int taml_store_set_trials(taml_store *s, int32_t trials_per_task, taml_err *err)
{
    TAML_ASSERT(trials_per_task >= 1);
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "UPDATE study SET trials_per_task = ? WHERE id = 1", err);
    if (rc) return rc;
    sqlite3_bind_int(st, 1, trials_per_task);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(s, err, "recording the trials asked for");
    sqlite3_finalize(st);
    return rc;
}

int taml_store_set_modules_dir(taml_store *s, const char *dir, taml_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "UPDATE study SET modules_dir = ? WHERE id = 1", err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(s, err, "recording the module library");
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------ the data a study ran on */

static void bind_hex(sqlite3_stmt *st, int i, uint64_t v)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)v);
    sqlite3_bind_text(st, i, hex, -1, SQLITE_TRANSIENT);
}

/* Column i as 16 hex digits into *v; 0, or -1 when it is not. */
static int col_hex(sqlite3_stmt *st, int i, uint64_t *v)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    if (!t || strlen(t) != 16 || strspn(t, "0123456789abcdef") != 16) return -1;
    *v = strtoull(t, NULL, 16);
    return 0;
}

void taml_study_task_deinit(taml_study_task *d)
{
    if (!d) return;
    free(d->dir);
    memset(d, 0, sizeof *d);
}

int taml_store_task_data_get(taml_store *s, int32_t task, taml_study_task *out, taml_err *err)
{
    memset(out, 0, sizeof *out);
    if (s->schema < 2) return 0; /* an older study opened to read: nothing recorded */
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "SELECT fingerprint, dir, train, valid, test, classes, classes_digest,"
                     " labels_train, labels_valid, labels_test, content_train, content_valid,"
                     " content_test, recorded, kind FROM task_data WHERE task = ?",
                     err);
    if (rc) return rc;
    sqlite3_bind_int(st, 1, task);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        int bad = col_hex(st, 0, &out->fingerprint) || col_hex(st, 6, &out->classes);
        for (int k = 0; k < 3; k++) {
            out->n_split[k] = sqlite3_column_int(st, 2 + k);
            bad |= col_hex(st, 7 + k, &out->labels[k]) || col_hex(st, 10 + k, &out->content[k]);
        }
        out->n_classes = sqlite3_column_int(st, 5);
        out->dir = col_strdup(st, 1);
        out->recorded = sqlite3_column_double(st, 13);
        const char *kind = (const char *)sqlite3_column_text(st, 14);
        out->image = kind && !strcmp(kind, "image");
        rc = 1;
        if (bad) {
            taml_study_task_deinit(out);
            rc = taml_err_set(err, TAML_ECORRUPT,
                              "%s: task %d's recorded data: a digest is not 16 hex digits",
                              s->path, (int)task);
        }
    } else if (step != SQLITE_DONE) {
        rc = db_fail(s, err, "reading a task's recorded data");
    }
    sqlite3_finalize(st);
    return rc;
}

int taml_store_task_data_put(taml_store *s, int32_t task, const taml_study_task *d, taml_err *err)
{
    TAML_ASSERT(s->schema >= 2);
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "INSERT INTO task_data (task, fingerprint, dir, train, valid, test, classes,"
                     " classes_digest, labels_train, labels_valid, labels_test, content_train,"
                     " content_valid, content_test, recorded, kind)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     err);
    if (rc) return rc;
    sqlite3_bind_int(st, 1, task);
    bind_hex(st, 2, d->fingerprint);
    sqlite3_bind_text(st, 3, d->dir ? d->dir : "", -1, SQLITE_STATIC);
    for (int k = 0; k < 3; k++) {
        sqlite3_bind_int(st, 4 + k, d->n_split[k]);
        bind_hex(st, 9 + k, d->labels[k]);
        bind_hex(st, 12 + k, d->content[k]);
    }
    sqlite3_bind_int(st, 7, d->n_classes);
    bind_hex(st, 8, d->classes);
    sqlite3_bind_double(st, 15, taml_store_now());
    sqlite3_bind_text(st, 16, d->image ? "image" : "text", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        int code = sqlite3_extended_errcode(s->db);
        rc = code == SQLITE_CONSTRAINT_PRIMARYKEY || code == SQLITE_CONSTRAINT_FOREIGNKEY
                 ? taml_err_set(err, TAML_EINVAL, "%s: task %d has no place for its data (%s)",
                                s->path, (int)task,
                                code == SQLITE_CONSTRAINT_PRIMARYKEY ? "already recorded"
                                                                     : "no such task")
                 : db_fail(s, err, "recording a task's data");
    }
    sqlite3_finalize(st);
    return rc;
}

void taml_study_module_deinit(taml_study_module *m)
{
    if (!m) return;
    free(m->name);
    free(m->path);
    memset(m, 0, sizeof *m);
}

int taml_store_module_get(taml_store *s, const char *name, taml_study_module *out, taml_err *err)
{
    memset(out, 0, sizeof *out);
    if (s->schema < 2) return 0;
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "SELECT name, path, size, crc32, recorded FROM modules WHERE name = ?",
                     err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        out->name = col_strdup(st, 0);
        out->path = col_strdup(st, 1);
        out->size = (uint64_t)sqlite3_column_int64(st, 2);
        out->crc32 = (uint32_t)sqlite3_column_int64(st, 3);
        out->recorded = sqlite3_column_double(st, 4);
        rc = 1;
    } else if (step != SQLITE_DONE) {
        rc = db_fail(s, err, "reading a module's record");
    }
    sqlite3_finalize(st);
    return rc;
}

int taml_store_module_put(taml_store *s, const taml_study_module *m, taml_err *err)
{
    TAML_ASSERT(s->schema >= 2 && m->name && m->path);
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "INSERT INTO modules (name, path, size, crc32, recorded) VALUES (?, ?, ?, ?, ?)",
                     err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)m->size);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)m->crc32);
    sqlite3_bind_double(st, 5, taml_store_now());
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY
                 ? taml_err_set(err, TAML_EINVAL, "%s: module '%s' is already recorded", s->path,
                                m->name)
                 : db_fail(s, err, "recording a module");
    sqlite3_finalize(st);
    return rc;
}

/* ----------------------------------------------------------------- trials */

/* Actions are stored as a JSON array of integers: readable with the sqlite3
 * shell and easy to parse. */
static char *actions_text(const int32_t *a, int32_t n)
{
    size_t cap = 2 + (size_t)n * 12, len = 0;
    char *s = taml_malloc(cap);
    s[len++] = '[';
    for (int32_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? "," : "", (int)a[i]);
    s[len++] = ']';
    s[len] = '\0';
    return s;
}

static int parse_actions(const char *txt, int32_t **a, int32_t *n)
{
    *a = NULL;
    *n = 0;
    if (!txt || *txt != '[') return -1;
    const char *p = txt + 1;
    int32_t cap = 0;
    while (*p && *p != ']') {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) goto bad;
        if (*n == cap) *a = taml_realloc(*a, (size_t)(cap = cap ? 2 * cap : 16) * sizeof(int32_t));
        (*a)[(*n)++] = (int32_t)v;
        p = end;
        if (*p == ',') p++;
    }
    if (*p != ']') goto bad;
    return 0;
bad:
    free(*a);
    *a = NULL;
    *n = 0;
    return -1;
}

int taml_store_trial_add(taml_store *s, taml_trial *t, taml_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "INSERT INTO trials (task, method, config_json, actions, seed, state,"
                     " queued_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                     err);
    if (rc) return rc;
    char *acts = actions_text(t->actions, t->n_actions);
    t->queued_at = taml_store_now();
    sqlite3_bind_int(st, 1, t->task);
    sqlite3_bind_text(st, 2, t->method ? t->method : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->config_json ? t->config_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, acts, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)t->seed);
    sqlite3_bind_double(st, 6, t->queued_at);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
                 ? taml_err_set(err, TAML_EINVAL, "%s: no task with index %d", s->path, (int)t->task)
                 : db_fail(s, err, "adding a trial");
    } else {
        t->id = sqlite3_last_insert_rowid(s->db);
        t->state = TAML_TRIAL_PENDING;
    }
    free(acts);
    sqlite3_finalize(st);
    return rc;
}

/* The state of trial id, or a negative status. */
static int trial_state(taml_store *s, int64_t id, taml_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "SELECT state FROM trials WHERE id = ?", err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = taml_trial_state_parse((const char *)sqlite3_column_text(st, 0));
        if (rc < 0)
            rc = taml_err_set(err, TAML_ECORRUPT, "%s: trial %lld has an unknown state", s->path,
                              (long long)id);
    } else if (step == SQLITE_DONE)
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: no trial %lld", s->path, (long long)id);
    else
        rc = db_fail(s, err, "reading a trial's state");
    sqlite3_finalize(st);
    return rc;
}

/* Explains why an UPDATE guarded by "state = from" changed nothing. */
static int refused_transition(taml_store *s, int64_t id, taml_trial_state to, taml_err *err)
{
    int cur = trial_state(s, id, err);
    if (cur < 0) return cur;
    return taml_err_set(err, TAML_EINVAL, "%s: trial %lld is %s and cannot become %s", s->path,
                        (long long)id, taml_trial_state_name((taml_trial_state)cur),
                        taml_trial_state_name(to));
}

int taml_store_trial_start(taml_store *s, int64_t id, int32_t worker, taml_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "UPDATE trials SET state = 'running', started_at = ?, worker = ?"
                     " WHERE id = ? AND state = 'pending'",
                     err);
    if (rc) return rc;
    sqlite3_bind_double(st, 1, taml_store_now());
    sqlite3_bind_int(st, 2, worker);
    sqlite3_bind_int64(st, 3, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(s, err, "starting a trial");
    else if (sqlite3_changes(s->db) != 1)
        rc = refused_transition(s, id, TAML_TRIAL_RUNNING, err);
    sqlite3_finalize(st);
    return rc;
}

static void bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* Rung accuracies as a JSON array, each number as %.17g so that it reads
 * back bit for bit (the thresholds a resumed search computes from them
 * must be the ones an uninterrupted one would); null for a NaN. */
static char *rungs_text(const double *acc, int32_t n)
{
    size_t cap = 3 + (size_t)n * 26, len = 0;
    char *t = taml_malloc(cap);
    t[len++] = '[';
    for (int32_t i = 0; i < n; i++) {
        if (isfinite(acc[i]))
            len += (size_t)snprintf(t + len, cap - len, "%s%.17g", i ? "," : "", acc[i]);
        else
            len += (size_t)snprintf(t + len, cap - len, "%snull", i ? "," : "");
    }
    t[len++] = ']';
    t[len] = '\0';
    return t;
}

static int parse_rungs(const char *txt, double **acc, int32_t *n)
{
    *acc = NULL;
    *n = 0;
    if (!txt) return 0;
    if (*txt != '[') return -1;
    const char *p = txt + 1;
    int32_t cap = 0;
    while (*p && *p != ']') {
        double v;
        char *end;
        if (!strncmp(p, "null", 4)) {
            v = NAN;
            end = (char *)p + 4;
        } else {
            v = strtod(p, &end);
            if (end == p || !(v >= 0 && v <= 1)) goto bad;
        }
        if (*n == cap) *acc = taml_realloc(*acc, (size_t)(cap = cap ? 2 * cap : 8) * sizeof **acc);
        (*acc)[(*n)++] = v;
        p = end;
        if (*p == ',') p++;
    }
    if (*p != ']') goto bad;
    return 0;
bad:
    free(*acc);
    *acc = NULL;
    *n = 0;
    return -1;
}

int taml_store_trial_finish(taml_store *s, int64_t id, const taml_trial *r, taml_err *err)
{
    TAML_ASSERT(taml_trial_state_final(r->state));
    TAML_ASSERT(r->state != TAML_TRIAL_PRUNED ||
                (r->pruned_rung >= 0 && r->pruned_rung < r->n_rungs));
    int v6 = s->schema >= 6;
    if (!v6 && (r->state == TAML_TRIAL_PRUNED || r->n_rungs > 0))
        return taml_err_set(err, TAML_EINVAL,
                            "%s: study schema %d holds no pruned trial nor rungs (migrate it first)",
                            s->path, (int)s->schema);
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     v6 ? "UPDATE trials SET state = ?, valid_acc = ?, test_acc = ?, loss = ?,"
                          " steps = ?, train_seconds = ?, error = coalesce(?, error), update_seq = ?,"
                          " finished_at = ?, worker = coalesce(?, worker), attempts = attempts + 1,"
                          " reward = ?12, rungs = ?13, rung = ?14"
                          " WHERE id = ?11 AND state = 'running'"
                        : "UPDATE trials SET state = ?, valid_acc = ?, test_acc = ?, loss = ?,"
                          " steps = ?, train_seconds = ?, error = coalesce(?, error), update_seq = ?,"
                          " finished_at = ?, worker = coalesce(?, worker), attempts = attempts + 1"
                          " WHERE id = ? AND state = 'running'",
                     err);
    if (rc) return rc;
    char *rungs = NULL;
    if (v6) {
        /* only a pruned trial's reward differs from its accuracy (a caller's
         * zero-initialised trial leaves reward 0: not a reward) */
        bind_real_or_null(st, 12, r->state == TAML_TRIAL_PRUNED ? r->reward : NAN);
        if (r->n_rungs > 0) {
            rungs = rungs_text(r->rung_acc, r->n_rungs);
            sqlite3_bind_text(st, 13, rungs, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 13);
        }
        if (r->state == TAML_TRIAL_PRUNED)
            sqlite3_bind_int(st, 14, r->pruned_rung);
        else
            sqlite3_bind_null(st, 14);
    }
    sqlite3_bind_text(st, 1, taml_trial_state_name(r->state), -1, SQLITE_STATIC);
    bind_real_or_null(st, 2, r->valid_acc);
    bind_real_or_null(st, 3, r->test_acc);
    /* A diverged trial's loss is not finite: keep it as NULL, its state says why. */
    bind_real_or_null(st, 4, r->loss);
    sqlite3_bind_int64(st, 5, r->steps);
    bind_real_or_null(st, 6, r->train_seconds);
    if (r->error)
        sqlite3_bind_text(st, 7, r->error, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 7);
    if (r->update_seq > 0)
        sqlite3_bind_int64(st, 8, r->update_seq);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_double(st, 9, taml_store_now());
    if (r->worker >= 0)
        sqlite3_bind_int(st, 10, r->worker);
    else
        sqlite3_bind_null(st, 10);
    sqlite3_bind_int64(st, 11, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(s, err, "finishing a trial");
    else if (sqlite3_changes(s->db) != 1)
        rc = refused_transition(s, id, r->state, err);
    sqlite3_finalize(st);
    free(rungs);
    return rc;
}

int taml_store_trial_applied(taml_store *s, int64_t id, int64_t seq, double reward, taml_err *err)
{
    TAML_ASSERT(seq > 0);
    if (s->schema < 6 && isfinite(reward))
        return taml_err_set(err, TAML_EINVAL, "%s: study schema %d records no reward (migrate it first)",
                            s->path, (int)s->schema);
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     s->schema >= 6
                         ? "UPDATE trials SET update_seq = ?1, reward = coalesce(?3, reward) WHERE id = ?2"
                           " AND update_seq IS NULL"
                           " AND state IN ('done','diverged','invalid','failed','pruned')"
                         : "UPDATE trials SET update_seq = ? WHERE id = ? AND update_seq IS NULL"
                           " AND state IN ('done','diverged','invalid','failed')",
                     err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, id);
    if (s->schema >= 6) bind_real_or_null(st, 3, reward);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(s, err, "recording a controller update");
    else if (sqlite3_changes(s->db) != 1)
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: trial %lld is not finished or its update was already recorded",
                          s->path, (long long)id);
    sqlite3_finalize(st);
    return rc;
}

int taml_store_trial_retry(taml_store *s, int64_t id, const char *error, int32_t *attempts,
                           taml_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "UPDATE trials SET state = 'pending', started_at = NULL, worker = NULL,"
                     " error = ?, attempts = attempts + 1 WHERE id = ? AND state = 'running'"
                     " RETURNING attempts",
                     err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, error ? error : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (attempts) *attempts = sqlite3_column_int(st, 0);
        step = sqlite3_step(st);
    } else if (step == SQLITE_DONE) {
        sqlite3_finalize(st);
        return refused_transition(s, id, TAML_TRIAL_PENDING, err);
    }
    if (step != SQLITE_DONE) rc = db_fail(s, err, "returning a trial to pending");
    sqlite3_finalize(st);
    return rc;
}

int taml_store_requeue(taml_store *s, int64_t *n, taml_err *err)
{
    int rc = exec_sql(s,
                      "UPDATE trials SET state = 'pending', started_at = NULL, worker = NULL"
                      " WHERE state = 'running'",
                      err);
    if (n) *n = rc ? 0 : sqlite3_changes(s->db);
    return rc;
}

#define TRIAL_COLUMNS_V1                                                                       \
    "id, task, method, config_json, actions, seed, state, valid_acc, test_acc, loss, steps,"   \
    " queued_at, started_at, finished_at, train_seconds, worker, error, update_seq"

/* The columns read_trial reads, for the file's schema: a study older than
 * schema 3 not (yet) migrated has no attempts column; its trials had one
 * run each if finished (what the migration writes). Before schema 6 there
 * is no reward, rungs nor rung (NULL: none). */
static const char *trial_columns(const taml_store *s)
{
    return s->schema >= 6   ? TRIAL_COLUMNS_V1 ", attempts, reward, rungs, rung"
           : s->schema >= 3 ? TRIAL_COLUMNS_V1 ", attempts, NULL, NULL, NULL"
                            : TRIAL_COLUMNS_V1 ", CASE WHEN state IN ('done','diverged','invalid',"
                                               "'failed') THEN 1 ELSE 0 END, NULL, NULL, NULL";
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Reads the row under st into t; strings are heap copies. */
static int read_trial(taml_store *s, sqlite3_stmt *st, taml_trial *t, taml_err *err)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    t->task = sqlite3_column_int(st, 1);
    t->method = col_strdup(st, 2);
    t->config_json = col_strdup(st, 3);
    if (parse_actions((const char *)sqlite3_column_text(st, 4), &t->actions, &t->n_actions)) {
        taml_trial_deinit(t);
        return taml_err_set(err, TAML_ECORRUPT, "%s: trial %lld: actions are not a list of integers",
                            s->path, (long long)sqlite3_column_int64(st, 0));
    }
    t->seed = (uint64_t)sqlite3_column_int64(st, 5);
    int state = taml_trial_state_parse((const char *)sqlite3_column_text(st, 6));
    if (state < 0) { /* the CHECK constraint admits only known states: a damaged file */
        taml_trial_deinit(t);
        return taml_err_set(err, TAML_ECORRUPT, "%s: trial %lld has an unknown state",
                            s->path, (long long)sqlite3_column_int64(st, 0));
    }
    t->state = (taml_trial_state)state;
    t->valid_acc = col_real(st, 7);
    t->test_acc = col_real(st, 8);
    t->loss = col_real(st, 9);
    t->steps = sqlite3_column_int64(st, 10);
    t->queued_at = sqlite3_column_double(st, 11);
    t->started_at = sqlite3_column_double(st, 12);
    t->finished_at = sqlite3_column_double(st, 13);
    t->train_seconds = col_real(st, 14);
    t->worker = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 15);
    t->error = col_strdup(st, 16);
    t->update_seq = sqlite3_column_int64(st, 17);
    t->attempts = sqlite3_column_int(st, 18);
    t->reward = col_real(st, 19);
    if (parse_rungs((const char *)sqlite3_column_text(st, 20), &t->rung_acc, &t->n_rungs)) {
        taml_trial_deinit(t);
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: trial %lld: rungs are not a list of accuracies in [0, 1]",
                            s->path, (long long)sqlite3_column_int64(st, 0));
    }
    t->pruned_rung = sqlite3_column_type(st, 21) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 21);
    if (t->state == TAML_TRIAL_PRUNED && (t->pruned_rung < 0 || t->pruned_rung >= t->n_rungs)) {
        int64_t id = t->id;
        taml_trial_deinit(t);
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: trial %lld is pruned without a rung it reached", s->path,
                            (long long)id);
    }
    return TAML_OK;
}

void taml_trial_deinit(taml_trial *t)
{
    if (!t) return;
    free(t->method);
    free(t->config_json);
    free(t->actions);
    free(t->error);
    free(t->rung_acc);
    memset(t, 0, sizeof *t);
}

int taml_store_trial_get(taml_store *s, int64_t id, taml_trial *out, taml_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    char *sql = taml_asprintf("SELECT %s FROM trials WHERE id = ?", trial_columns(s));
    int rc = prepare(s, &st, sql, err);
    free(sql);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = read_trial(s, st, out, err);
    else if (step == SQLITE_DONE)
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: no trial %lld", s->path, (long long)id);
    else
        rc = db_fail(s, err, "reading a trial");
    sqlite3_finalize(st);
    return rc;
}

int64_t taml_store_count(taml_store *s, int state, int32_t task, taml_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "SELECT count(*) FROM trials WHERE (?1 IS NULL OR state = ?1)"
                     " AND (?2 < 0 OR task = ?2)",
                     err);
    if (rc) return rc;
    if (state >= 0)
        sqlite3_bind_text(st, 1, taml_trial_state_name((taml_trial_state)state), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int(st, 2, task);
    int64_t n;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        n = db_fail(s, err, "counting trials");
    sqlite3_finalize(st);
    return n;
}

int64_t taml_store_last_seq(taml_store *s, taml_err *err)
{
    int64_t n = 0;
    int rc = query_i64(s, "SELECT coalesce(max(update_seq), 0) FROM trials", &n, err);
    return rc ? rc : n;
}

/* ------------------------------------------------------------ checkpoints */

int taml_store_checkpoint_save(taml_store *s, int64_t after_seq, const void *blob, size_t size,
                               int32_t n_tasks, const double *baseline, const double *sigma,
                               taml_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t ck = 0; /* before the first goto out */
    int rc = taml_store_begin(s, err);
    if (rc) return rc;
    if ((rc = prepare(s, &st,
                      "INSERT INTO checkpoints (after_seq, created, blob) VALUES (?, ?, ?)", err)))
        goto out;
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_double(st, 2, taml_store_now());
    sqlite3_bind_blob64(st, 3, blob, size, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, "saving a controller checkpoint");
        goto out;
    }
    ck = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    st = NULL;
    /* Resume needs only the newest checkpoint and reports the first (see
     * store.h); the ones between would make the file grow by a controller
     * per checkpoint. Their baselines go with them (ON DELETE CASCADE). */
    if ((rc = prepare(s, &st,
                      "DELETE FROM checkpoints WHERE id < ?"
                      " AND id > (SELECT min(id) FROM checkpoints)",
                      err)))
        goto out;
    sqlite3_bind_int64(st, 1, ck);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, "dropping old checkpoints");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (baseline || sigma) {
        if ((rc = prepare(s, &st,
                          "INSERT INTO baselines (checkpoint, task, baseline, sigma)"
                          " VALUES (?, ?, ?, ?)",
                          err)))
            goto out;
        for (int32_t i = 0; i < n_tasks; i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, ck);
            sqlite3_bind_int(st, 2, i);
            bind_real_or_null(st, 3, baseline ? baseline[i] : NAN);
            bind_real_or_null(st, 4, sigma ? sigma[i] : NAN);
            if (sqlite3_step(st) != SQLITE_DONE) {
                rc = db_fail(s, err, "saving the reward baselines");
                goto out;
            }
        }
    }
out:
    sqlite3_finalize(st);
    if (rc) {
        taml_store_rollback(s);
        return rc;
    }
    return taml_store_commit(s, err);
}

static int checkpoint_get(taml_store *s, int newest, void **blob, size_t *size,
                          int64_t *after_seq, taml_err *err)
{
    *blob = NULL;
    *size = 0;
    *after_seq = 0;
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     newest ? "SELECT after_seq, blob FROM checkpoints ORDER BY id DESC LIMIT 1"
                            : "SELECT after_seq, blob FROM checkpoints ORDER BY id LIMIT 1",
                     err);
    if (rc) return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *after_seq = sqlite3_column_int64(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        int n = sqlite3_column_bytes(st, 1);
        *blob = taml_malloc(n > 0 ? (size_t)n : 1);
        if (n > 0) memcpy(*blob, b, (size_t)n);
        *size = (size_t)n;
        rc = 1;
    } else if (step == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = db_fail(s, err, "reading a checkpoint");
    }
    sqlite3_finalize(st);
    return rc;
}

int taml_store_checkpoint_last(taml_store *s, void **blob, size_t *size, int64_t *after_seq,
                               taml_err *err)
{
    return checkpoint_get(s, 1, blob, size, after_seq, err);
}

int taml_store_checkpoint_first(taml_store *s, void **blob, size_t *size, int64_t *after_seq,
                                taml_err *err)
{
    return checkpoint_get(s, 0, blob, size, after_seq, err);
}

int taml_store_checkpoint_last_baselines(taml_store *s, int32_t n_tasks, double *baseline,
                                         double *sigma, taml_err *err)
{
    for (int32_t i = 0; i < n_tasks; i++) baseline[i] = sigma[i] = NAN;
    int64_t ck = 0;
    int rc = query_i64(s, "SELECT coalesce(max(id), 0) FROM checkpoints", &ck, err);
    if (rc) return rc;
    if (ck == 0) return 0;
    sqlite3_stmt *st;
    if ((rc = prepare(s, &st, "SELECT task, baseline, sigma FROM baselines WHERE checkpoint = ?",
                      err)))
        return rc;
    sqlite3_bind_int64(st, 1, ck);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int task = sqlite3_column_int(st, 0);
        if (task < 0 || task >= n_tasks) continue; /* a task this caller does not know */
        baseline[task] = col_real(st, 1);
        sigma[task] = col_real(st, 2);
    }
    if (step != SQLITE_DONE) rc = db_fail(s, err, "reading the reward baselines");
    sqlite3_finalize(st);
    return rc ? rc : 1;
}

/* -------------------------------------------------------------- iterating */

int taml_store_iter_new(taml_store *s, int order, int64_t after_seq, taml_store_iter **out,
                        taml_err *err)
{
    *out = NULL;
    taml_store_iter *it = taml_calloc(1, sizeof *it);
    it->s = s;
    char *sql = taml_asprintf(order == TAML_ITER_BY_SEQ
                                  ? "SELECT %s FROM trials WHERE update_seq > ? ORDER BY update_seq"
                                  : "SELECT %s FROM trials ORDER BY id",
                              trial_columns(s));
    int rc = prepare(s, &it->st, sql, err);
    free(sql);
    if (rc) {
        free(it);
        return rc;
    }
    if (order == TAML_ITER_BY_SEQ) sqlite3_bind_int64(it->st, 1, after_seq);
    *out = it;
    return TAML_OK;
}

int taml_store_iter_next(taml_store_iter *it, taml_trial *t, taml_err *err)
{
    taml_trial_deinit(&it->cur);
    int step = sqlite3_step(it->st);
    if (step == SQLITE_DONE) {
        memset(t, 0, sizeof *t);
        return 0;
    }
    if (step != SQLITE_ROW) return db_fail(it->s, err, "reading trials");
    int rc = read_trial(it->s, it->st, &it->cur, err);
    if (rc) return rc;
    *t = it->cur;
    return 1;
}

void taml_store_iter_free(taml_store_iter *it)
{
    if (!it) return;
    taml_trial_deinit(&it->cur);
    sqlite3_finalize(it->st);
    free(it);
}

/* -------------------------------------------------------------- ensembles */

void taml_store_ensemble_deinit(taml_store_ensemble *e)
{
    if (!e) return;
    free(e->selection);
    free(e->member);
    free(e->weight);
    free(e->taml_version);
    memset(e, 0, sizeof *e);
}

int taml_store_ensemble_put(taml_store *s, const taml_store_ensemble *e, taml_err *err)
{
    TAML_ASSERT(e->selection);
    if (s->schema < 4)
        return taml_err_set(err, TAML_EINVAL, "%s: schema %lld has no ensembles (taml_store_upgrade "
                            "adds them)", s->path, (long long)s->schema);
    if (e->n_members < 1)
        return taml_err_set(err, TAML_EINVAL, "%s: an ensemble without members", s->path);
    sqlite3_stmt *st = NULL;
    int rc = taml_store_begin(s, err);
    if (rc) return rc;
    if ((rc = prepare(s, &st, "DELETE FROM ensembles WHERE task = ?", err))) goto out;
    sqlite3_bind_int(st, 1, e->task);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, "replacing an ensemble");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prepare(s, &st,
                      "INSERT INTO ensembles (task, selection, size, candidates, trials, valid_acc,"
                      " test_acc, created, taml_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      err)))
        goto out;
    sqlite3_bind_int(st, 1, e->task);
    sqlite3_bind_text(st, 2, e->selection, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, e->size);
    sqlite3_bind_int(st, 4, e->candidates);
    sqlite3_bind_int64(st, 5, e->trials);
    sqlite3_bind_double(st, 6, e->valid_acc);
    sqlite3_bind_double(st, 7, e->test_acc);
    sqlite3_bind_double(st, 8, taml_store_now());
    sqlite3_bind_text(st, 9, e->taml_version ? e->taml_version : "", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        int code = sqlite3_extended_errcode(s->db);
        rc = code == SQLITE_CONSTRAINT_FOREIGNKEY
                 ? taml_err_set(err, TAML_EINVAL, "%s: no task with index %d", s->path, (int)e->task)
             : (code & 0xff) == SQLITE_CONSTRAINT
                 ? taml_err_set(err, TAML_EINVAL, "%s: ensemble of task %d: selection \"%s\", "
                                "size %d refused", s->path, (int)e->task, e->selection, (int)e->size)
                 : db_fail(s, err, "recording an ensemble");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prepare(s, &st,
                      "INSERT INTO ensemble_members (task, pos, trial, weight) VALUES (?, ?, ?, ?)",
                      err)))
        goto out;
    for (int32_t i = 0; i < e->n_members; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, e->task);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_int64(st, 3, e->member[i]);
        sqlite3_bind_int(st, 4, e->weight[i]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            int code = sqlite3_extended_errcode(s->db);
            rc = code == SQLITE_CONSTRAINT_FOREIGNKEY
                     ? taml_err_set(err, TAML_EINVAL, "%s: ensemble member %d: the study has no "
                                    "trial %lld", s->path, (int)i + 1, (long long)e->member[i])
                 : (code & 0xff) == SQLITE_CONSTRAINT
                     ? taml_err_set(err, TAML_EINVAL, "%s: ensemble member %d (trial %lld): weight "
                                    "%d is not >= 1", s->path,
                                    (int)i + 1, (long long)e->member[i], (int)e->weight[i])
                     : db_fail(s, err, "recording an ensemble's members");
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    if (rc) {
        taml_store_rollback(s);
        return rc;
    }
    return taml_store_commit(s, err);
}

int taml_store_ensemble_get(taml_store *s, int32_t task, taml_store_ensemble *out,
                            taml_err *err)
{
    memset(out, 0, sizeof *out);
    if (s->schema < 4) return 0; /* an older study opened to read: nothing recorded */
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT selection, size, candidates, trials, valid_acc, test_acc, created,"
                     " taml_version FROM ensembles WHERE task = ?",
                     err);
    if (rc) return rc;
    int32_t cap = 0; /* before the first goto out */
    sqlite3_bind_int(st, 1, task);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        rc = step == SQLITE_DONE ? 0 : db_fail(s, err, "reading an ensemble");
        goto out;
    }
    out->task = task;
    out->selection = col_strdup(st, 0);
    out->size = sqlite3_column_int(st, 1);
    out->candidates = sqlite3_column_int(st, 2);
    out->trials = sqlite3_column_int64(st, 3);
    out->valid_acc = col_real(st, 4);
    out->test_acc = col_real(st, 5);
    out->created = sqlite3_column_double(st, 6);
    out->taml_version = col_strdup(st, 7);
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prepare(s, &st, "SELECT pos, trial, weight FROM ensemble_members WHERE task = ?"
                              " ORDER BY pos", err)))
        goto out;
    sqlite3_bind_int(st, 1, task);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 0) != out->n_members) {
            rc = taml_err_set(err, TAML_ECORRUPT, "%s: ensemble of task %d: member positions are "
                              "not 0..n-1", s->path, (int)task);
            goto out;
        }
        if (out->n_members == cap) {
            cap = cap ? 2 * cap : 8;
            out->member = taml_realloc(out->member, (size_t)cap * sizeof *out->member);
            out->weight = taml_realloc(out->weight, (size_t)cap * sizeof *out->weight);
        }
        out->member[out->n_members] = sqlite3_column_int64(st, 1);
        out->weight[out->n_members] = sqlite3_column_int(st, 2);
        out->n_members++;
    }
    if (step != SQLITE_DONE) rc = db_fail(s, err, "reading an ensemble's members");
    else if (out->n_members == 0)
        rc = taml_err_set(err, TAML_ECORRUPT, "%s: ensemble of task %d has no members", s->path,
                          (int)task);
    else rc = 1;
out:
    sqlite3_finalize(st);
    if (rc < 0) taml_store_ensemble_deinit(out);
    return rc;
}

/* --------------------------------------------------------------- transfer */

void taml_store_transfer_deinit(taml_store_transfer *t)
{
    free(t->source);
    free(t->source_space);
    free(t->source_fingerprint);
    free(t->mapping_json);
    free(t->summary);
    memset(t, 0, sizeof *t);
}

int taml_store_transfer_put(taml_store *s, const taml_store_transfer *t, taml_err *err)
{
    if (s->schema < 5)
        return taml_err_set(err, TAML_EINVAL, "%s: schema %lld has no transfer record "
                            "(taml_store_upgrade adds it)", s->path, (long long)s->schema);
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "INSERT INTO transfer (id, source, source_space, source_fingerprint, grown, "
                     "mapping_json, summary, recorded) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                     err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, t->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->source_space, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->source_fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, t->grown ? 1 : 0);
    sqlite3_bind_text(st, 5, t->mapping_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, t->summary, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 7, taml_store_now());
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY
                 ? taml_err_set(err, TAML_EINVAL, "%s: the transfer source is already recorded",
                                s->path)
                 : db_fail(s, err, "recording the transfer source");
    sqlite3_finalize(st);
    return rc;
}

int taml_store_transfer_get(taml_store *s, taml_store_transfer *out, taml_err *err)
{
    memset(out, 0, sizeof *out);
    if (s->schema < 5) return 0; /* an older study opened to read: nothing recorded */
    sqlite3_stmt *st;
    int rc = prepare(s, &st,
                     "SELECT source, source_space, source_fingerprint, grown, mapping_json, "
                     "summary, recorded FROM transfer WHERE id = 1",
                     err);
    if (rc) return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        out->source = col_strdup(st, 0);
        out->source_space = col_strdup(st, 1);
        out->source_fingerprint = col_strdup(st, 2);
        out->grown = sqlite3_column_int(st, 3);
        out->mapping_json = col_strdup(st, 4);
        out->summary = col_strdup(st, 5);
        out->recorded = sqlite3_column_double(st, 6);
        rc = 1;
    } else if (step != SQLITE_DONE) {
        rc = db_fail(s, err, "reading the transfer source");
    }
    sqlite3_finalize(st);
    return rc;
}
