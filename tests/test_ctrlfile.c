/* tests/test_ctrlfile.c - controller files (ctrl/ctrlfile.h,
 * search/ctrlfile.h): made from a study with their provenance, the same
 * bytes when made again, every damaged byte refused naming the file and
 * what failed, a source of `taml search --method transfer`; the shipped
 * one found without --from (and a clear error when there is none); `taml
 * controller info` and `taml similar` as a user runs them (taml-fake). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "ctrl/controller.h"
#include "ctrl/ctrlfile.h"
#include "fake_child.h"
#include "search/ctrlfile.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"
#include "test.h"
#include "testutil.h"

static const char *SPACE = "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],"
                           "\"hidden_size\":[8,16,32],\"activation\":[\"relu\",\"swish\"]}";

/* A deterministic multitask study of alpha and beta with the fake child. */
static void multitask_study(const char *path)
{
    taml_space *space = NULL;
    taml_err err;
    TAML_ASSERT(taml_space_from_json(&space, SPACE, "test", &err) == 0);
    static const char *names[] = {"alpha", "beta"}, *dirs[] = {"d/alpha", "d/beta"};
    taml_fake_child fake = {0};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = TAML_SEARCH_MULTITASK;
    o.trials = 10;
    o.seed = 9;
    o.deterministic = 1;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    CHECK_EQ_INT(taml_search_run(path, space, 2, names, dirs, &o, &err), 0);
    taml_space_free(space);
}

TEST(ctrlfile_carries_provenance_is_made_again_bit_for_bit_and_refuses_any_damage)
{
    char *study = taml_test_tmp_path("multi.db"), *file = taml_test_tmp_path("c.tamlctrl"), *again = taml_test_tmp_path("again.tamlctrl");
    multitask_study(study);
    taml_err err;
    CHECK_EQ_INT(taml_search_ctrlfile_export(study, file, "make controller", "9.9.9", &err), 0);
    CHECK_EQ_INT(taml_search_ctrlfile_export(study, again, "make controller", "9.9.9", &err), 0);
    char *a = NULL, *b = NULL;
    size_t na, nb;
    CHECK_EQ_INT(taml_read_file(file, &a, &na, &err), 0);
    CHECK_EQ_INT(taml_read_file(again, &b, &nb, &err), 0);
    CHECK(na == nb && !memcmp(a, b, na)); /* no time stamp, nothing of the machine */
    free(b);
    /* the provenance */
    char *text;
    CHECK_EQ_INT(taml_search_ctrlfile_describe(file, 0, &text, &err), 0);
    CHECK_CONTAINS(text, "format        taml controller file, version 1\n");
    CHECK_CONTAINS(text, "(verified)");
    CHECK_CONTAINS(text, "taml_version  9.9.9\n");
    CHECK_CONTAINS(text, "method        multitask\n");
    CHECK_CONTAINS(text, "seed          9\n");
    CHECK_CONTAINS(text, "deterministic true\n");
    CHECK_CONTAINS(text, "updates       20\n");
    CHECK_CONTAINS(text, "space_label   custom (4 decisions)\n");
    CHECK_CONTAINS(text, "tasks         2\n");
    CHECK_CONTAINS(text, "rebuild       make controller\n");
    free(text);
    CHECK_EQ_INT(taml_search_ctrlfile_describe(file, 1, &text, &err), 0);
    CHECK_CONTAINS(text, "\"space\":\t\"{\\\"embedding\\\":[\\\"m1\\\",\\\"m2\\\"]");
    CHECK_CONTAINS(text, "\"name\":\t\"alpha\"");
    free(text);
    /* as a transfer source: the study's newest checkpoint, byte for byte */
    void *ck, *want;
    size_t nck, nwant;
    CHECK_EQ_INT(taml_search_load_source(file, &ck, &nck, &err), 0);
    CHECK_EQ_INT(taml_search_load_source(study, &want, &nwant, &err), 0);
    CHECK(nck == nwant && !memcmp(ck, want, nck));
    free(ck);
    free(want);
    /* a changed byte anywhere: the file's CRC-32 refuses it, naming the file */
    size_t at[] = {30, na / 2, na - 10};
    for (size_t i = 0; i < 3; i++) {
        a[at[i]] ^= 0x20;
        CHECK_EQ_INT(taml_write_file_atomic(again, a, na, &err), 0);
        CHECK_EQ_INT(taml_search_load_source(again, &ck, &nck, &err), TAML_ECORRUPT);
        CHECK_CONTAINS(err.msg, again);
        CHECK_CONTAINS(err.msg, "controller file checksum mismatch");
        a[at[i]] ^= 0x20;
    }
    /* cut short */
    CHECK_EQ_INT(taml_write_file_atomic(again, a, na - 100, &err), 0);
    CHECK_EQ_INT(taml_search_load_source(again, &ck, &nck, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "truncated");
    /* a checkpoint that is not one, in a well-framed file: named with its offset */
    void *bad;
    size_t nbad;
    taml_ctrlfile_make("{\"format\":\"taml controller\"}", "TAMLCTRL junk", 13, &bad, &nbad);
    CHECK_EQ_INT(taml_write_file_atomic(again, bad, nbad, &err), 0);
    free(bad);
    CHECK(taml_search_load_source(again, &ck, &nck, &err) < 0);
    CHECK_CONTAINS(err.msg, "(its controller checkpoint, at offset 64)");
    /* a provenance that is no JSON object */
    taml_ctrlfile_make("not json", "x", 1, &bad, &nbad);
    CHECK_EQ_INT(taml_write_file_atomic(again, bad, nbad, &err), 0);
    free(bad);
    CHECK_EQ_INT(taml_search_load_source(again, &ck, &nck, &err), TAML_ECORRUPT);
    CHECK_CONTAINS(err.msg, "offset 24: provenance: not a JSON object");
    /* a later version */
    a[8] = 2;
    CHECK_EQ_INT(taml_write_file_atomic(again, a, na, &err), 0);
    CHECK_EQ_INT(taml_search_load_source(again, &ck, &nck, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "controller file version 2; this taml reads version 1");
    free(a);
    /* an aml study has no multitask controller to export */
    free(study);
    free(file);
    free(again);
}

/* taml-fake by its absolute path (the commands below run in the test's
 * directory). */
static const char *fake_bin(void)
{
    static char *abs;
    if (!abs) abs = realpath(taml_test_fake_bin(), NULL);
    TAML_ASSERT(abs);
    return abs;
}

TEST(ctrlfile_cli_info_shipped_default_transfer_and_similar)
{
    const char *dir = taml_test_tmpdir();
    char *study = taml_test_tmp_path("multi.db");
    multitask_study(study);
    char *cmd = taml_asprintf(
        "cd %s && mkdir -p home/controllers t/gamma && printf '%%s' '%s' > space.json && "
        "printf '%%s' '{\"embedding\":[\"m1\",\"m2\",\"m3\"],\"layers\":[1,2,3],"
        "\"hidden_size\":[8,16,32],\"activation\":[\"relu\",\"swish\"]}' > grown.json && "
        "%s controller export multi.db -o home/controllers/default-text.tamlctrl && "
        "%s controller info home/controllers/default-text.tamlctrl",
        dir, SPACE, fake_bin(), fake_bin());
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "checksum      CRC-32 ");
    /* the default rebuild command: the study's own search, from its record */
    CHECK_CONTAINS(out, "rebuild       taml search --study STUDY.db --method multitask --task "
                        "d/alpha --task d/beta --trials 10 --seed 9 --deterministic --lag 1");
    free(out);
    free(cmd);
    /* transfer without --from: the shipped controller, grown to the space given */
    cmd = taml_asprintf("cd %s && TAML_FAKE_CHILD=0 TAML_HOME=home %s search --study x.db --task "
                        "t/gamma --method transfer --trials 6 --space grown.json --workers 1 "
                        "--isolation thread && %s status x.db",
                        dir, fake_bin(), fake_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "taml search: transfer from the controller taml ships for text tasks, "
                        "home/controllers/default-text.tamlctrl");
    CHECK_CONTAINS(out, "transfer: home/controllers/default-text.tamlctrl was made for another "
                        "space; carried over to this search's (recorded in the study, taml "
                        "status shows it): embedding: 1 choice added (\"m3\")");
    CHECK_CONTAINS(out, "transfer from home/controllers/default-text.tamlctrl, made for another "
                        "space (custom (4 decisions)), grown to this one: embedding: 1 choice "
                        "added (\"m3\")");
    free(out);
    free(cmd);
    /* none shipped: says where it looked and what to do */
    cmd = taml_asprintf("cd %s && TAML_FAKE_CHILD=0 TAML_HOME=nowhere %s search --study y.db "
                        "--task t/gamma --method transfer --trials 6 --space grown.json",
                        dir, fake_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 1);
    CHECK_CONTAINS(out, "--method transfer without --from starts from the controller taml ships "
                        "for text tasks, and there is none at nowhere/controllers/"
                        "default-text.tamlctrl: give --from STUDY_OR_CONTROLLER");
    free(out);
    free(cmd);
    /* taml similar from the study: both known tasks, each with its best
     * configuration; the JSON on stdout alone */
    cmd = taml_asprintf("cd %s && TAML_FAKE_CHILD=0 %s similar --from multi.db --task t/gamma "
                        "--trials 8 --space grown.json --workers 1 --isolation thread --json "
                        "2>/dev/null",
                        dir, fake_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK(out[0] == '{');
    CHECK_CONTAINS(out, "\"task\":\t\"gamma\"");
    CHECK_CONTAINS(out, "\"trials\":\t8");
    CHECK_CONTAINS(out, "\"source_is_study\":\ttrue");
    CHECK_CONTAINS(out, "\"task\":\t\"alpha\"");
    CHECK_CONTAINS(out, "\"task\":\t\"beta\"");
    CHECK_CONTAINS(out, "\"config\":\t{");
    free(out);
    free(cmd);
    /* from the shipped file: no trials to show, and it says so */
    cmd = taml_asprintf("cd %s && TAML_FAKE_CHILD=0 TAML_HOME=home %s similar --task t/gamma "
                        "--trials 8 --space grown.json --workers 1 --isolation thread "
                        "--study kept.db 2>/dev/null",
                        dir, fake_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "task gamma after 8 transfer trials from "
                        "home/controllers/default-text.tamlctrl");
    CHECK_CONTAINS(out, "the source is a controller file: it holds no trials");
    CHECK_CONTAINS(out, "  1  ");
    CHECK_CONTAINS(out, "  2  ");
    free(out);
    free(cmd);
    char *kept = taml_path_join(dir, "kept.db");
    CHECK(taml_is_file(kept));
    free(kept);
    /* the pruning flags go to the short transfer's search, which checks
     * them (this space has no samples decision, so no rungs) */
    cmd = taml_asprintf("cd %s && TAML_FAKE_CHILD=0 %s similar --from multi.db --task t/gamma "
                        "--trials 8 --space grown.json --workers 1 --isolation thread "
                        "--pruner asha --prune-warmup 2 --study pruned.db",
                        dir, fake_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 1);
    CHECK_CONTAINS(out, "--pruner asha: the search space has no 'samples' decision");
    free(out);
    free(cmd);
    cmd = taml_asprintf("%s similar --task t/gamma --pruner asha --pruner median", fake_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 2);
    CHECK_CONTAINS(out, "--pruner: given twice");
    free(out);
    free(cmd);
    free(study);
}

/* With the real child (tasks are loaded, so their data identity is known):
 * a controller file's provenance records each task's data fingerprint, and
 * a transfer to a task of the same name with other data is refused, as
 * from a study. */
TEST(ctrlfile_transfer_refuses_other_data_under_a_task_name_its_provenance_records)
{
    const char *dir = taml_test_tmpdir();
    char *bin = realpath(taml_test_bin(), NULL), *fixtures = realpath("tests/fixtures/tasks", NULL);
    TAML_ASSERT(bin && fixtures);
    const char *space =
        "{\"embedding\":[\"random-8\"],\"fine_tune\":[false],\"layers\":[1,2],\"hidden_size\":[8,16],"
        "\"activation\":[\"relu\"],\"normalization\":[\"none\"],\"dropout\":[0.0],"
        "\"deep_lr\":[0.1,0.3],\"deep_l2\":[0.0001],\"wide_lr\":[0.1],\"wide_l1\":[0.0001],"
        "\"samples\":[500]}";
    char *cmd = taml_asprintf(
        "cd %s && printf '%%s' '%s' > space.json && "
        "%s search --study m.db --task %s/child-topics --task %s/udhr-mini --method multitask "
        "--trials 3 --seed 2 --space space.json --workers 1 --isolation thread >/dev/null 2>&1 && "
        "%s controller export m.db -o c.tamlctrl >/dev/null && "
        "%s controller info c.tamlctrl | grep -c 'data [0-9a-f]\\{16\\}' && "
        "mkdir -p other && cp -r %s/child-topics other/ && "
        "sed -i '1s/^food/sport/' other/child-topics/all.tsv && "
        "%s search --study x.db --task other/child-topics --method transfer --from c.tamlctrl "
        "--trials 2 --space space.json --workers 1 --isolation thread",
        dir, space, bin, fixtures, fixtures, bin, bin, fixtures, bin);
    char *out;
    CHECK_EQ_INT(taml_test_run(cmd, &out), 1);
    CHECK_CONTAINS(out, "2\n"); /* both tasks' fingerprints are in the provenance */
    CHECK_CONTAINS(out, "c.tamlctrl: task 'child-topics' is not the data the controller was "
                        "trained on: its provenance records");
    CHECK_CONTAINS(out, "now other/child-topics holds data fingerprint");
    free(out);
    free(cmd);
    char *x = taml_path_join(dir, "x.db");
    CHECK(!taml_is_file(x));
    free(x);
    /* the same data under the name: fine */
    cmd = taml_asprintf("cd %s && %s search --study y.db --task %s/child-topics --method transfer "
                        "--from c.tamlctrl --trials 2 --space space.json --workers 1 "
                        "--isolation thread",
                        dir, bin, fixtures);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    free(out);
    free(cmd);
    free(bin);
    free(fixtures);
}

/* The controller taml ships (controllers/default-text.tamlctrl, in the
 * repository): `taml controller default` finds it, its checksum verifies,
 * its provenance names the whole text suite, the pruner and the one
 * command that rebuilds it; a copy with one byte changed is refused; and a
 * transfer without --from starts from it, carried over to a small space
 * (decisions it lacks dropped). */
TEST(ctrlfile_the_shipped_controller_verifies_and_transfers_out_of_the_box)
{
    const char *shipped = "controllers/default-text.tamlctrl";
    CHECK_MSG(taml_is_file(shipped), "%s is not in the tree (make controller builds it)", shipped);
    char *out = NULL;
    char *cmd = taml_asprintf("%s controller default", taml_test_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "/controllers/default-text.tamlctrl\n");
    free(out);
    free(cmd);
    cmd = taml_asprintf("%s controller info %s --json", taml_test_bin(), shipped);
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "\"method\":\t\"multitask\"");
    CHECK_CONTAINS(out, "\"deterministic\":\ttrue");
    CHECK_CONTAINS(out, "\"name\":\t\"wordnet-pos\"");
    CHECK_CONTAINS(out, "\"name\":\t\"brown-genre\"");
    CHECK_CONTAINS(out, "CONTROLLER_FLAGS=\\\"--pruner asha\\\" scripts/controller/build");
    CHECK(strstr(out, "/work/") == NULL && strstr(out, "/tmp/") == NULL); /* no machine's paths */
    /* every finished trial counted, the pruned ones among them: the tasks'
     * counts add up to the updates */
    long sum = 0, updates = -1;
    for (const char *p = out; (p = strstr(p, "\"trials\":\t")) != NULL; p++)
        sum += strtol(p + strlen("\"trials\":\t"), NULL, 10);
    const char *u = strstr(out, "\"updates\":\t");
    if (u) updates = strtol(u + strlen("\"updates\":\t"), NULL, 10);
    CHECK_MSG(updates > 0 && sum == updates, "tasks' trials %ld, updates %ld", sum, updates);
    free(out);
    free(cmd);
    /* one byte changed: refused naming the file and the checksum */
    const char *dir = taml_test_tmpdir();
    cmd = taml_asprintf("cp %s %s/bad.tamlctrl && printf 'X' | dd of=%s/bad.tamlctrl bs=1 "
                        "seek=5000 conv=notrunc 2>/dev/null && %s controller info %s/bad.tamlctrl",
                        shipped, dir, dir, taml_test_bin(), dir);
    CHECK(taml_test_run(cmd, &out) != 0);
    CHECK_CONTAINS(out, "bad.tamlctrl");
    CHECK_CONTAINS(out, "CRC");
    free(out);
    free(cmd);
    /* transfer without --from: the shipped controller over a small space */
    char *home = realpath(".", NULL);
    CHECK(home != NULL);
    cmd = taml_asprintf("cd %s && mkdir -p t/newtask && printf '%%s' '{\"layers\":[1,2,3],"
                        "\"hidden_size\":[8,16,32],\"activation\":[\"relu\",\"swish\"]}' > "
                        "small.json && TAML_FAKE_CHILD=0 TAML_HOME=%s %s search --study s.db "
                        "--task t/newtask --method transfer --trials 4 --space small.json "
                        "--workers 1 --isolation thread && %s status s.db",
                        dir, home, fake_bin(), fake_bin());
    CHECK_EQ_INT(taml_test_run(cmd, &out), 0);
    CHECK_CONTAINS(out, "transfer from the controller taml ships for text tasks");
    CHECK_CONTAINS(out, "carried over to this search's");
    free(out);
    free(cmd);
    free(home);
}
