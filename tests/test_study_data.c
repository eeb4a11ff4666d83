/* tests/test_study_data.c - a study never mixes data: it records each task's
 * data (data/task.h's identity) and each module file of its space, and
 * `taml search` refuses to continue, or to transfer from a study, with other
 * data under the same task or module name, naming both paths and what
 * differs; an old study (tests/fixtures/v1, schema 1) records them when it
 * first continues and says so; a larger --trials extends a study, recorded;
 * export finds the module library the search recorded. Each case runs the
 * real taml on the small fixture tasks (a trial takes milliseconds). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "data/task.h"
#include "store/store.h"
#include "test.h"
#include "testutil.h"

#define FIX "tests/fixtures/"
/* The small space of the v1 fixtures: random-8, samples 1000. */
#define SPACE FIX "v1/space.json"

/* Runs a shell command (printf-style) with stderr joined; returns its exit
 * status and its output in *out (heap; NULL: freed here). */
__attribute__((format(printf, 2, 3))) static int sh(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    CHECK(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    char *o;
    int rc = taml_test_run(cmd, &o);
    free(cmd);
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

static char *tmp(const char *name)
{
    return taml_path_join(taml_test_tmpdir(), name);
}

/* A copy of fixture task name at dir/name. */
static char *copy_task(const char *name, const char *dir)
{
    char *to = taml_asprintf("%s/%s", dir, name);
    CHECK_EQ_INT(sh(NULL, "mkdir -p %s && cp -r " FIX "tasks/%s %s/", dir, name, dir), 0);
    return to;
}

/* One random trial on task_dir into study (the study is new or continues). */
static int search(const char *study, const char *task_dir, int trials, char **out)
{
    return sh(out, "%s search --study %s --task %s --method random --trials %d --workers 1 "
                   "--space " SPACE,
              taml_test_bin(), study, task_dir, trials);
}

/* Runs sed expression expr on the file of task dir (in place). */
static void edit(const char *dir, const char *file, const char *expr)
{
    CHECK_EQ_INT(sh(NULL, "sed -i '%s' %s/%s", expr, dir, file), 0);
}

/* A search on a copy of child-topics, then its all.tsv changed by expr (its
 * 600 lines: train 1..480, valid 481..540, test 541..600) in a copy under
 * another directory: the same search on it is refused, naming both
 * directories and saying says. */
static void refuses_after(const char *expr, const char *says)
{
    char *d1 = tmp("a"), *d2 = tmp("b"), *study = tmp("s.db");
    sh(NULL, "rm -rf %s %s %s", d1, d2, study);
    char *t1 = copy_task("child-topics", d1), *t2 = copy_task("child-topics", d2), *out;
    CHECK_EQ_INT(search(study, t1, 1, NULL), 0);
    edit(t2, "all.tsv", expr);
    int rc = search(study, t2, 2, &out);
    CHECK_MSG(rc == 1, "%s: rc %d\n%s", expr, rc, out);
    CHECK_CONTAINS(out, "task 'child-topics' is not the data the study ran on");
    CHECK_CONTAINS(out, t1);
    CHECK_CONTAINS(out, t2);
    CHECK_CONTAINS(out, says);
    free(out);
    /* nothing was added, and on its own data the study goes on */
    CHECK_EQ_INT(search(study, t1, 2, &out), 0);
    CHECK_CONTAINS(out, "2 trials");
    free(out);
    free(t1);
    free(t2);
    free(d1);
    free(d2);
    free(study);
}

TEST(study_refuses_to_continue_on_other_data_under_a_task_name_saying_what_differs)
{
    /* the text of one valid line */
    refuses_after("500s/\\t.*/\\tsomething else entirely/", "the texts of the valid split");
    /* one train label to another class */
    refuses_after("3s/^[a-z]*\\t/food\\t/", "the labels of the train split");
    /* one line more: 601 lines split 480/60/61 */
    refuses_after("$p", "the examples per split (test 60 then, 61 now)");
    /* a class renamed everywhere: as many classes, other names */
    refuses_after("s/^food\\t/cooking\\t/", "the class names (4 of them then and now");
    /* a label that differs by a trailing space is another class */
    refuses_after("7s/^\\([a-z]*\\)\\t/\\1 \\t/", "the classes (4 then, 5 now)");
}

TEST(study_continues_on_the_same_data_wherever_it_is_and_under_meta_name)
{
    char *d1 = tmp("a"), *d2 = tmp("b"), *study = tmp("s.db"), *out;
    char *t1 = copy_task("child-topics", d1), *t2 = copy_task("child-topics", d2);
    CHECK_EQ_INT(search(study, t1, 1, NULL), 0);
    /* the same data in another place continues */
    CHECK_EQ_INT(search(study, t2, 2, &out), 0);
    CHECK_CONTAINS(out, "2 trials");
    free(out);
    /* another task named child-topics through meta.txt is refused */
    char *d3 = tmp("c");
    char *t3 = copy_task("film-mini", d3);
    CHECK_EQ_INT(sh(NULL, "sed -i '/^name/d' %s/meta.txt && echo name=child-topics >> %s/meta.txt",
                    t3, t3),
                 0);
    CHECK_EQ_INT(search(study, t3, 3, &out), 1);
    CHECK_CONTAINS(out, "task 'child-topics' is not the data the study ran on");
    CHECK_CONTAINS(out, "film-mini");
    free(out);
    free(t1);
    free(t2);
    free(t3);
    free(d1);
    free(d2);
    free(d3);
    free(study);
}

/* The data recorded for a task is what taml_task_load says, and a study's
 * store holds it as given. */
TEST(study_records_the_identity_the_task_loader_computes)
{
    char *study = tmp("s.db");
    CHECK_EQ_INT(search(study, FIX "tasks/child-topics", 1, NULL), 0);
    taml_task *t;
    taml_err err;
    CHECK_EQ_INT(taml_task_load(&t, FIX "tasks/child-topics", NULL, &err), 0);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, study, TAML_STORE_READONLY, &err), 0);
    taml_study_task d;
    CHECK_EQ_INT(taml_store_task_data_get(s, 0, &d, &err), 1);
    CHECK(d.fingerprint == t->identity.fingerprint);
    CHECK_EQ_INT(d.n_split[0], 480);
    CHECK_EQ_INT(d.n_split[1], 60);
    CHECK_EQ_INT(d.n_split[2], 60);
    CHECK_EQ_INT(d.n_classes, 4);
    CHECK_EQ_INT(d.image, 0);
    for (int k = 0; k < 3; k++) {
        CHECK(d.labels[k] == t->identity.labels[k]);
        CHECK(d.content[k] == t->identity.content[k]);
    }
    CHECK(d.classes == t->identity.classes);
    CHECK_STR(d.dir, FIX "tasks/child-topics");
    taml_study_task_deinit(&d);
    /* the splits' digests differ from each other (they cover other rows) */
    CHECK(t->identity.content[0] != t->identity.content[1]);
    CHECK(t->identity.labels[1] != t->identity.labels[2]);
    taml_task_free(t);
    /* an image task's pixels are its content */
    CHECK_EQ_INT(taml_task_load(&t, FIX "tasks/idx-mini", NULL, &err), 0);
    CHECK_EQ_INT(t->identity.image, 1);
    CHECK(t->identity.content[0] != 0 && t->identity.content[0] != t->identity.content[2]);
    taml_task_free(t);
    taml_store_close(s);
    free(study);
}

/* A library dir holding tiny.tamlm imported from the fixture vectors, the
 * first vector's first value replaced by first. */
static char *library(const char *name, const char *first)
{
    char *dir = tmp(name);
    CHECK_EQ_INT(sh(NULL, "mkdir -p %s && sed '2s/^the [^ ]*/the %s/' " FIX "v1/vectors.vec > "
                          "%s/v.vec && %s embed import %s/v.vec --format fasttext-vec --name tiny "
                          "--language en -o %s/tiny.tamlm",
                    dir, first, dir, taml_test_bin(), dir, dir),
             0);
    return dir;
}

static const char *tiny_space =
    "{\"embedding\": [\"tiny\"], \"fine_tune\": [false], \"layers\": [1],"
    " \"hidden_size\": [8], \"activation\": [\"relu\"], \"normalization\": [\"none\"],"
    " \"dropout\": [0.0], \"deep_lr\": [0.1], \"deep_l2\": [0], \"wide_lr\": [0.1],"
    " \"wide_l1\": [0], \"samples\": [1000]}";

static int module_search(const char *study, const char *space, const char *lib, int trials,
                         char **out)
{
    return sh(out, "%s search --study %s --task " FIX "tasks/child-topics --method random "
                   "--trials %d --workers 1 --space %s --modules %s",
              taml_test_bin(), study, trials, space, lib);
}

TEST(study_refuses_another_module_file_under_a_module_name_and_export_finds_its_library)
{
    char *lib1 = library("lib1", "0.5"), *lib2 = library("lib2", "0.25");
    char *space = tmp("space.json"), *study = tmp("s.db"), *out;
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(space, tiny_space, strlen(tiny_space), &err), 0);
    CHECK_EQ_INT(module_search(study, space, lib1, 4, &out), 0);
    free(out);
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, study, TAML_STORE_READONLY, &err), 0);
    taml_study_module m;
    CHECK_EQ_INT(taml_store_module_get(s, "tiny", &m, &err), 1);
    CHECK_CONTAINS(m.path, "lib1/tiny.tamlm");
    taml_study_module_deinit(&m);
    taml_study st;
    CHECK_EQ_INT(taml_store_study(s, &st, &err), 0);
    CHECK(st.modules_dir && st.modules_dir[0] == '/'); /* absolute: export may run elsewhere */
    CHECK_CONTAINS(st.modules_dir, "lib1");
    taml_study_deinit(&st);
    taml_store_close(s);

    /* another file under the name is refused, naming both */
    CHECK_EQ_INT(module_search(study, space, lib2, 5, &out), 1);
    CHECK_CONTAINS(out, "module 'tiny' is not the file the study ran on");
    CHECK_CONTAINS(out, "lib1/tiny.tamlm");
    CHECK_CONTAINS(out, "lib2/tiny.tamlm");
    CHECK_CONTAINS(out, "the checksum");
    free(out);
    /* the same file in another library (a copy) continues */
    char *lib3 = tmp("lib3");
    CHECK_EQ_INT(sh(NULL, "mkdir -p %s && cp %s/tiny.tamlm %s/", lib3, lib1, lib3), 0);
    CHECK_EQ_INT(module_search(study, space, lib3, 5, &out), 0);
    free(out);

    /* export without --modules (and without $TAML_MODULES) opens the
     * module from the library the study recorded, from another directory */
    char *model = tmp("m.taml");
    int rc = sh(&out, "d=$PWD && cd / && env -u TAML_MODULES $d/%s export %s --task child-topics "
                      "--task-dir $d/" FIX "tasks/child-topics -o %s",
                taml_test_bin(), study, model);
    CHECK_MSG(rc == 0, "%s", out);
    CHECK_CONTAINS(out, "exported task child-topics, trial ");
    CHECK_CONTAINS(out, "(the best of 5 finished trials with a model;");
    free(out);
    /* export refuses another module file, and other data under the task */
    CHECK_EQ_INT(sh(&out, "%s export %s --task child-topics -o %s --modules %s", taml_test_bin(),
                    study, model, lib2),
                 1);
    CHECK_CONTAINS(out, "module 'tiny' is not the file the study ran on");
    CHECK_CONTAINS(out, "lib2/tiny.tamlm");
    free(out);
    char *d2 = tmp("b");
    char *t2 = copy_task("child-topics", d2);
    edit(t2, "all.tsv", "550s/\\t.*/\\tsomething else/");
    CHECK_EQ_INT(sh(&out, "%s export %s --task child-topics -o %s --task-dir %s", taml_test_bin(),
                    study, model, t2),
                 1);
    CHECK_CONTAINS(out, "holds other data than the study ran on");
    CHECK_CONTAINS(out, "the texts of the test split");
    free(out);
    free(t2);
    free(d2);
    free(model);
    free(lib1);
    free(lib2);
    free(lib3);
    free(space);
    free(study);
}

/* fixture name.gz of tests/fixtures/v1 unpacked into the test's directory. */
static char *gunzip_fixture(const char *name)
{
    char *out = tmp(name);
    CHECK_EQ_INT(sh(NULL, "gunzip -c " FIX "v1/%s.gz > %s", name, out), 0);
    return out;
}

static int64_t user_version(const char *db)
{
    char *out;
    CHECK_EQ_INT(sh(&out, "sqlite3 %s 'PRAGMA user_version'", db), 0);
    int64_t v = strtoll(out, NULL, 10);
    free(out);
    return v;
}

TEST(study_made_before_the_records_records_them_when_it_continues_and_says_so)
{
    char *db = gunzip_fixture("aml-half.db"), *out;
    CHECK_EQ_INT(user_version(db), 1);
    /* read-only commands leave it as it is */
    CHECK_EQ_INT(sh(&out, "%s status %s", taml_test_bin(), db), 0);
    free(out);
    CHECK_EQ_INT(user_version(db), 1);
    taml_store *s;
    taml_err err;
    taml_study_task d;
    CHECK_EQ_INT(taml_store_open(&s, db, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_task_data_get(s, 0, &d, &err), 0);
    taml_study st;
    CHECK_EQ_INT(taml_store_study(s, &st, &err), 0);
    CHECK(st.modules_dir == NULL);
    taml_study_deinit(&st);
    taml_store_close(s);
    /* a continue it refuses leaves it as it was */
    CHECK_EQ_INT(sh(&out, "%s search --study %s --task " FIX "tasks/child-topics --method random "
                          "--seed 5 --space " SPACE " --trials 4",
                    taml_test_bin(), db),
                 1);
    CHECK_CONTAINS(out, "made with method aml, not random");
    free(out);
    CHECK_EQ_INT(user_version(db), 1);
    /* the first continue migrates it and records the data, saying so */
    const char *common = "--method aml --seed 5 --space " SPACE " --deterministic --workers 1";
    CHECK_EQ_INT(sh(&out, "%s search --study %s --task " FIX "tasks/child-topics %s --trials 4",
                    taml_test_bin(), db, common),
                 0);
    CHECK_CONTAINS(out, "task 'child-topics': the study had no record of its data");
    CHECK_CONTAINS(out, "recorded " FIX "tasks/child-topics now");
    CHECK_CONTAINS(out, "the study had no record of its module library");
    free(out);
    CHECK_EQ_INT(user_version(db), TAML_STORE_SCHEMA);
    CHECK_EQ_INT(taml_store_open(&s, db, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_task_data_get(s, 0, &d, &err), 1);
    CHECK_EQ_INT(d.n_split[0], 480);
    taml_study_task_deinit(&d);
    taml_study_module m;
    CHECK_EQ_INT(taml_store_module_get(s, "random-8", &m, &err), 0); /* random-D: no file */
    CHECK_EQ_INT(taml_store_count(s, -1, -1, &err), 4);
    taml_store_close(s);
    /* from then on it is checked: other data under the name is refused */
    char *d2 = tmp("b");
    char *t2 = copy_task("child-topics", d2);
    edit(t2, "all.tsv", "500s/\\t.*/\\tsomething else/");
    CHECK_EQ_INT(sh(&out, "%s search --study %s --task %s %s --trials 5", taml_test_bin(), db, t2,
                    common),
                 1);
    CHECK_CONTAINS(out, "is not the data the study ran on");
    free(out);
    /* and a second continue on its data says nothing more about records */
    CHECK_EQ_INT(sh(&out, "%s search --study %s --task " FIX "tasks/child-topics %s --trials 5",
                    taml_test_bin(), db, common),
                 0);
    CHECK(!strstr(out, "had no record"));
    free(out);
    free(t2);
    free(d2);
    free(db);
}

TEST(study_given_more_trials_is_extended_and_records_the_new_number)
{
    char *study = tmp("s.db"), *out;
    CHECK_EQ_INT(search(study, FIX "tasks/child-topics", 2, NULL), 0);
    CHECK_EQ_INT(search(study, FIX "tasks/child-topics", 5, &out), 0);
    CHECK_CONTAINS(out, "the study asked for 2 trials per task; extended to 5 (recorded)");
    CHECK_CONTAINS(out, "5 trials");
    free(out);
    CHECK_EQ_INT(sh(&out, "%s status %s", taml_test_bin(), study), 0);
    CHECK_CONTAINS(out, "5 trials per task asked");
    free(out);
    /* a smaller number runs no further and leaves the record */
    CHECK_EQ_INT(search(study, FIX "tasks/child-topics", 3, &out), 0);
    CHECK_CONTAINS(out, "5 trials");
    free(out);
    CHECK_EQ_INT(sh(&out, "%s status %s", taml_test_bin(), study), 0);
    CHECK_CONTAINS(out, "5 trials per task asked");
    free(out);
    free(study);
}

/* A transfer's source is checked before the study file is made. */
TEST(transfer_from_a_damaged_or_foreign_source_names_it_and_leaves_no_study_file)
{
    char *src = tmp("src.db"), *ck = tmp("bad.ckpt"), *study = tmp("t.db"), *out;
    CHECK_EQ_INT(sh(NULL, "%s search --study %s --task " FIX "tasks/child-topics --task " FIX
                          "tasks/udhr-mini --method multitask --trials 2 --workers 1 --space " SPACE,
                    taml_test_bin(), src),
                 0);
    /* the source's newest checkpoint as a file, one byte changed */
    CHECK_EQ_INT(sh(NULL, "sqlite3 %s \"SELECT writefile('%s', blob) FROM checkpoints ORDER BY id "
                          "DESC LIMIT 1\" > /dev/null && printf '\\377' | dd of=%s bs=1 seek=5000 "
                          "conv=notrunc 2>/dev/null",
                    src, ck, ck),
             0);
    const char *args = "--task " FIX "tasks/film-mini --method transfer --trials 2 --workers 1 "
                       "--space " SPACE;
    CHECK_EQ_INT(sh(&out, "%s search --study %s %s --from %s", taml_test_bin(), study, args, ck), 1);
    CHECK_CONTAINS(out, ck);
    CHECK_CONTAINS(out, "checksum mismatch");
    free(out);
    CHECK(!taml_is_file(study));
    /* a file that is no checkpoint */
    CHECK_EQ_INT(sh(&out, "%s search --study %s %s --from " SPACE, taml_test_bin(), study, args), 1);
    CHECK_CONTAINS(out, SPACE);
    free(out);
    CHECK(!taml_is_file(study));
    /* with --ctrl-lr too (the options are read from the source first) */
    CHECK_EQ_INT(sh(&out, "%s search --study %s %s --from %s --ctrl-lr 0.01", taml_test_bin(),
                    study, args, ck),
                 1);
    CHECK_CONTAINS(out, ck);
    free(out);
    CHECK(!taml_is_file(study));

    /* a source study that ran on other data under a task name the transfer
     * shares is refused, naming both */
    char *d2 = tmp("b");
    char *t2 = copy_task("udhr-mini", d2);
    edit(t2, "all.tsv", "2s/\\t.*/\\tnothing like before/");
    CHECK_EQ_INT(sh(&out, "%s search --study %s --task %s --method transfer --trials 2 --workers 1 "
                          "--space " SPACE " --from %s",
                    taml_test_bin(), study, t2, src),
                 1);
    CHECK_CONTAINS(out, "task 'udhr-mini' is not the data the transfer source");
    CHECK_CONTAINS(out, t2);
    CHECK_CONTAINS(out, FIX "tasks/udhr-mini");
    CHECK_CONTAINS(out, "the texts of the train split");
    free(out);
    CHECK(!taml_is_file(study));
    /* on its data it transfers */
    CHECK_EQ_INT(sh(&out, "%s search --study %s --task " FIX "tasks/udhr-mini --method transfer "
                          "--trials 2 --workers 1 --space " SPACE " --from %s",
                    taml_test_bin(), study, src),
                 0);
    free(out);
    free(t2);
    free(d2);
    free(src);
    free(ck);
    free(study);
}
