/* tests/test_disk_full.c - a full disk loses nothing already stored and
 * says so: a search, an export and an import on a small tmpfs (mounted in a
 * private mount namespace, `unshare -m`, which needs root or a user
 * namespace; where it cannot be mounted the test says why and passes
 * without running). The search fails with "the disk is full" and the study
 * file's name, every trial committed before is intact, and once there is
 * room again the same command continues to exactly what an uninterrupted
 * run gives; an export or import over an existing file leaves that file as
 * it was and no temporary file behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

#define FIX "tests/fixtures/"

/* Everything happens inside one `unshare -m sh -c`: the mount goes away
 * with it, so the script copies out what the test checks (into OUT) and
 * writes each command's output and status there. $1 OUT, $2 the mount
 * point, $3 taml. */
static const char *script =
    "set -u\n"
    "OUT=$1; M=$2; T=$3\n"
    "S=\"--task " FIX "tasks/child-topics --method random --workers 1 --space " FIX "v1/space.json\"\n"
    /* room for the WAL (SQLite checkpoints it at about 4 MB) */
    "mount -t tmpfs -o size=16m tmpfs $M || exit 77\n"
    "run() { name=$1; shift; \"$@\" > $OUT/$name.out 2>&1; echo $? > $OUT/$name.rc; }\n"
    "free_kb() { df -k --output=avail $M | tail -1; }\n"
    /* fill NAME KB: a new file that leaves KB free */
    "fill() { dd if=/dev/zero of=$M/$1 bs=1k count=$(( $(free_kb) - $2 )) 2>/dev/null; }\n"
    /* a study, a model and a module while there is room */
    "run search1 $T search --study $M/s.db $S --trials 5\n"
    "run export1 $T export $M/s.db --task child-topics -o $M/m.taml\n"
    "run import1 $T embed import " FIX "v1/vectors.vec --format fasttext-vec --name t "
    "--language en -o $M/t.tamlm\n"
    "cp $M/m.taml $OUT/m.before; cp $M/t.tamlm $OUT/t.before\n"
    /* 40 KB left: the search runs a few trials and the disk fills */
    "fill fill1 40\n"
    "run search2 $T search --study $M/s.db $S --trials 300\n"
    "sqlite3 $M/s.db 'PRAGMA integrity_check' > $OUT/integrity 2>&1\n"
    /* the study with its WAL (committed trials not yet checkpointed) */
    "cp $M/s.db $OUT/full.db; [ -f $M/s.db-wal ] && cp $M/s.db-wal $OUT/full.db-wal\n"
    /* nothing left: export (of a study on another disk, and of the study
     * here) and import over the files they made */
    "cp $M/s.db $OUT/elsewhere.db; [ -f $M/s.db-wal ] && cp $M/s.db-wal $OUT/elsewhere.db-wal\n"
    "fill fill2 0\n"
    "run export2 $T export $OUT/elsewhere.db --task child-topics -o $M/m.taml\n"
    "run export3 $T export $M/s.db --task child-topics -o $M/m.taml\n"
    "run import2 $T embed import " FIX "v1/vectors.vec --format fasttext-vec --name t "
    "--language en -o $M/t.tamlm\n"
    "cp $M/m.taml $OUT/m.after; cp $M/t.tamlm $OUT/t.after\n"
    "ls $M > $OUT/files\n"
    /* room again: the same search continues */
    "rm $M/fill1 $M/fill2\n"
    "run search3 $T search --study $M/s.db $S --trials 300\n"
    "cp $M/s.db $OUT/final.db; [ -f $M/s.db-wal ] && cp $M/s.db-wal $OUT/final.db-wal\n"
    "umount $M\n";

static char *slurp(const char *dir, const char *name)
{
    char *path = taml_path_join(dir, name), *data;
    size_t n;
    taml_err err;
    CHECK_MSG(taml_read_file(path, &data, &n, &err) == 0, "%s", err.msg);
    free(path);
    return data;
}

static int status_of(const char *dir, const char *name)
{
    char *rc_name = taml_asprintf("%s.rc", name);
    char *t = slurp(dir, rc_name);
    int rc = atoi(t);
    free(t);
    free(rc_name);
    return rc;
}

/* Step name exited with 1 and its output says both a and b. */
static void exited_saying(const char *dir, const char *name, const char *a, const char *b)
{
    CHECK_EQ_INT(status_of(dir, name), 1);
    char *out_name = taml_asprintf("%s.out", name);
    char *msg = slurp(dir, out_name);
    CHECK_CONTAINS(msg, a);
    CHECK_CONTAINS(msg, b);
    free(msg);
    free(out_name);
}

static int same_file(const char *dir, const char *a, const char *b)
{
    char *cmd = taml_asprintf("cmp -s %s/%s %s/%s", dir, a, dir, b), *out;
    int rc = taml_test_run(cmd, &out);
    free(out);
    free(cmd);
    return rc == 0;
}

TEST(disk_full_search_export_import_lose_nothing_and_say_the_disk_is_full)
{
    const char *dir = taml_test_tmpdir();
    char *out = NULL;
    /* can this process mount a tmpfs in a namespace of its own? */
    int rc = taml_test_run("unshare -m sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=64k "
                           "tmpfs $d && umount $d; s=$?; rmdir $d; exit $s'",
                           &out);
    if (rc != 0) {
        fprintf(stderr, "    skipped: cannot mount a tmpfs in a private mount namespace here "
                        "(unshare -m needs root or user namespaces; it said: %.200s)\n",
                out);
        free(out);
        return;
    }
    free(out);
    char *script_path = taml_path_join(dir, "full.sh"), *mnt = taml_path_join(dir, "mnt");
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(script_path, script, strlen(script), &err), 0);
    CHECK_EQ_INT(taml_mkdirs(mnt, &err), 0);
    char *cmd = taml_asprintf("unshare -m sh %s %s %s %s", script_path, dir, mnt, taml_test_bin());
    rc = taml_test_run(cmd, &out);
    CHECK_MSG(rc == 0, "%s: %d\n%s", cmd, rc, out);
    free(out);
    free(cmd);

    CHECK_EQ_INT(status_of(dir, "search1"), 0);
    CHECK_EQ_INT(status_of(dir, "export1"), 0);
    CHECK_EQ_INT(status_of(dir, "import1"), 0);
    /* the search: refused with the file and the cause, the file whole */
    exited_saying(dir, "search2", "mnt/s.db: the disk is full", "what was committed before is kept");
    char *msg = slurp(dir, "integrity");
    CHECK_STR(msg, "ok\n");
    free(msg);
    /* the export and the import: refused with the file and the cause, the
     * files they would have replaced unchanged, no temporary file left */
    exited_saying(dir, "export2", "mnt/m.taml: cannot write it", "the disk is full");
    /* reading the study needs room too */
    exited_saying(dir, "export3", "mnt/s.db: the disk is full", "mnt/s.db");
    exited_saying(dir, "import2", "mnt/t.tamlm: cannot write it", "the disk is full");
    CHECK(same_file(dir, "m.before", "m.after"));
    CHECK(same_file(dir, "t.before", "t.after"));
    msg = slurp(dir, "files");
    CHECK(!strstr(msg, ".tmp."));
    free(msg);

    /* the study as the full disk left it holds what an uninterrupted run
     * holds up to where it stopped, and continued it equals that run */
    CHECK_EQ_INT(status_of(dir, "search3"), 0);
    char *whole = taml_path_join(dir, "whole.db");
    cmd = taml_asprintf("%s search --study %s --task " FIX "tasks/child-topics --method random "
                        "--workers 1 --space " FIX "v1/space.json --trials 300",
                        taml_test_bin(), whole);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    free(out);
    free(cmd);
    char *final = taml_path_join(dir, "final.db"), *full = taml_path_join(dir, "full.db");
    int64_t n = 0;
    CHECK(same_studies(final, whole, &n));
    CHECK_EQ_INT(n, 300);
    cmd = taml_asprintf("sqlite3 %s \"SELECT count(*) FROM trials WHERE state NOT IN "
                        "('pending', 'running')\"",
                        full);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    int64_t kept = strtoll(out, NULL, 10);
    CHECK_MSG(kept > 5 && kept < 300, "%lld trials finished when the disk filled", (long long)kept);
    free(out);
    free(cmd);
    /* each of them as the uninterrupted run has it */
    char *q = taml_asprintf("SELECT id, config_json, seed, state, quote(valid_acc), quote(test_acc) "
                            "FROM trials WHERE state NOT IN ('pending', 'running') ORDER BY id "
                            "LIMIT %lld",
                            (long long)kept);
    char *a_out, *b_out;
    cmd = taml_asprintf("sqlite3 %s \"%s\"", full, q);
    CHECK_EQ_INT(taml_test_run(cmd, &a_out), 0);
    free(cmd);
    cmd = taml_asprintf("sqlite3 %s \"%s\"", whole, q);
    CHECK_EQ_INT(taml_test_run(cmd, &b_out), 0);
    free(cmd);
    CHECK_STR(a_out, b_out);
    free(a_out);
    free(b_out);
    free(q);
    free(final);
    free(full);
    free(whole);
    free(mnt);
    free(script_path);
}
