/* tests/test_ask_cli.c - `taml ask` and `taml tell` as a user's script runs
 * them: a deterministic loop of asks and tells (several trials out, told
 * out of order) with the fake child's accuracies makes the same study as
 * `taml search --deterministic` with the same seed and lag; bad tells exit
 * as docs/errors.md says and change nothing. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "fake_child.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

static const char *space_text =
    "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32,64],"
    "\"activation\":[\"relu\",\"swish\"],\"deep_l2\":[0,0.001,\"disable\"],"
    "\"wide_l1\":[0,0.01,\"disable\"]}";

/* `cd TMP && $TAML_BIN args`: the exit status, the output in *out. */
static int taml_here(const char *args, char **out)
{
    char *cwd = getcwd(NULL, 0);
    char *cmd = taml_asprintf("cd %s && %s/%s %s", taml_test_tmpdir(), cwd, taml_test_bin(), args);
    free(cwd);
    int st = taml_test_run(cmd, out);
    free(cmd);
    return st;
}

typedef struct held {
    int64_t id;
    int32_t task;
    uint64_t seed;
    char config[512];
} held;

/* Parses `taml ask`'s line "ID\tTASK\tSEED\tCONFIG". */
static void parse_asked(const char *line, held *h)
{
    char task[64];
    CHECK_MSG(sscanf(line, "%" SCNd64 "\t%63[^\t]\t%" SCNu64 "\t%511[^\n]", &h->id, task, &h->seed,
                     h->config) == 4,
              "ask printed: %s", line);
    h->task = !strcmp(task, "alpha") ? 0 : 1;
}

static void tell(const held *h)
{
    taml_job job = {.id = h->id, .task = h->task, .config_json = h->config, .seed = h->seed};
    taml_job_result r = {0};
    taml_fake_child_run(NULL, 0, &job, &r);
    char *args;
    if (r.status == TAML_TRIAL_FAILED)
        args = taml_asprintf("tell s.db %" PRId64 " --state failed", h->id);
    else
        args = taml_asprintf("tell s.db %" PRId64 " --valid %.17g --test %.17g --state %s", h->id,
                             r.valid_acc, r.test_acc,
                             taml_trial_state_name((taml_trial_state)r.status));
    char *out;
    int st = taml_here(args, &out);
    CHECK_MSG(st == 0, "taml %s: exit %d: %s", args, st, out);
    free(out);
    free(args);
}

/* The test's space as TMP/space.json; returns TMP. */
static const char *write_space(void)
{
    const char *d = taml_test_tmpdir();
    char *p = taml_path_join(d, "space.json");
    CHECK_EQ_INT(taml_write_file_atomic(p, space_text, strlen(space_text), NULL), 0);
    free(p);
    return d;
}

TEST(ask_tell_cli_loop_equals_taml_search_deterministic)
{
    const char *d = write_space();
    char *cwd = getcwd(NULL, 0);
    char *cmd = taml_asprintf("mkdir -p %s/t/alpha %s/t/beta && cd %s && TAML_FAKE_CHILD=0 %s/%s "
                              "search --study ref.db --task t/alpha --task t/beta --method "
                              "multitask --trials 6 --space space.json --deterministic --lag 3 "
                              "--seed 9 --workers 2 --isolation thread",
                              d, d, d, cwd, taml_test_fake_bin()), *out;
    free(cwd);
    int st = taml_test_run(cmd, &out);
    CHECK_MSG(st == 0, "%s: %s", cmd, out);
    free(out);
    free(cmd);
    /* the loop: ask until three are out, tell the middle one, and so on */
    held h[8];
    int n = 0, asked = 0, first = 1;
    for (int step = 0; step < 100; step++) {
        if (n < 3) {
            st = taml_here(first ? "ask s.db --method multitask --task t/alpha --task t/beta "
                                   "--trials 6 --space space.json --deterministic --lag 3 --seed 9"
                                 : "ask s.db",
                           &out);
            if (st == 0) {
                parse_asked(out, &h[n++]);
                asked++;
                first = 0;
                free(out);
                continue;
            }
            CHECK_MSG(st == 3, "ask: exit %d: %s", st, out);
            free(out);
            if (n == 0) break;
        }
        int k = n / 2;
        tell(&h[k]);
        h[k] = h[--n];
    }
    CHECK_EQ_INT(asked, 12);
    char *a = taml_path_join(d, "ref.db"), *b = taml_path_join(d, "s.db");
    int64_t trials = 0;
    CHECK(same_studies(a, b, &trials));
    CHECK_EQ_INT(trials, 12);
    free(a);
    free(b);
}

TEST(ask_tell_cli_refuse_bad_input_with_their_exit_statuses_and_store_nothing)
{
    const char *d = write_space();
    char *out;
    CHECK_EQ_INT(taml_here("ask s.db", &out), 1);
    CHECK_CONTAINS(out, "s.db: no study here: the first ask of a study gives its settings");
    free(out);
    CHECK_EQ_INT(taml_here("ask s.db --method aml --task a --trials 1 --space space.json", &out), 0);
    free(out);
    char *path = taml_path_join(d, "s.db");
    char *before = study_trial_lines(path);
    static const struct {
        const char *args;
        int status;
        const char *says;
    } cases[] = {
        {"tell s.db 2 --valid 0.5", 1, "no trial 2: the study holds trials 1..1"},
        {"tell s.db 1 --valid 1.01", 2, "--valid: 1.01 is not a number in [0, 1]"},
        {"tell s.db 1 --valid nan", 2, "--valid: nan is not a number in [0, 1]"},
        {"tell s.db 1 --valid 0.5x", 2, "--valid: 0.5x is not a number in [0, 1]"},
        {"tell s.db 1 --valid 0.5 --test -1", 2, "--test: -1 is not a number in [0, 1]"},
        {"tell s.db 1", 2, "--valid is required"},
        {"tell s.db x --valid 0.5", 2, "TRIAL: x is not a whole number"},
        {"tell s.db 1 --valid 0.5 --state running", 2, "--state: 'running' is not done"},
        {"tell s.db 1 --valid 0.5 --error why", 2, "--error is for --state failed"},
        {"ask s.db --task b", 1, "no task 'b' in the study (its tasks: a)"},
        {"ask s.db --method random --task a --trials 1 --space space.json", 1,
         "the study was made with method aml, not random"},
        {"ask s.db --trials 3", 2, "come with --method"},
        {"ask s.db", 3, "no trial to hand out now: 1 trial is out and not told"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = taml_here(cases[i].args, &out);
        CHECK_MSG(st == cases[i].status && strstr(out, cases[i].says),
                  "taml %s: exit %d (not %d): %s", cases[i].args, st, cases[i].status, out);
        free(out);
    }
    char *after = study_trial_lines(path);
    CHECK_STR(after, before);
    CHECK_EQ_INT(taml_here("tell s.db 1 --state failed --error 'out of GPU memory'", &out), 0);
    free(out);
    CHECK_EQ_INT(taml_here("tell s.db 1 --valid 0.5", &out), 1);
    CHECK_CONTAINS(out, "trial 1 was told already (failed, no accuracy)");
    free(out);
    CHECK_EQ_INT(taml_here("ask s.db --json", &out), 3);
    CHECK_CONTAINS(out, "the study is complete: its 1 trial is told");
    free(out);
    free(after);
    after = study_trial_lines(path);
    CHECK_CONTAINS(after, "1 failed 1 nan out of GPU memory");
    free(after);
    free(before);
    free(path);
}

/* Without --space a new study of `taml ask` searches the taml space over the
 * module library, as `taml search` does; --space paper is the paper's; a later
 * ask without --space continues the study's own space, and one naming the
 * other space is refused. */
TEST(ask_space_names_taml_by_default_paper_one_flag_away_as_search)
{
    char *out;
    char *cwd = getcwd(NULL, 0);
    char *common = taml_asprintf("--task %s/tests/fixtures/tasks/child-topics --trials 3 "
                                 "--modules %s/tests/fixtures/v1",
                                 cwd, cwd);
    char *cmd = taml_asprintf("ask dflt.db --method random %s --json", common);
    CHECK_EQ_INT(taml_here(cmd, &out), 0);
    CHECK_CONTAINS(out, "\"word_ngrams\":");
    free(out), free(cmd);
    cmd = taml_asprintf("status %s/dflt.db", taml_test_tmpdir());
    CHECK_EQ_INT(taml_here(cmd, &out), 0);
    CHECK_CONTAINS(out, "space taml (16 decisions)");
    free(out), free(cmd);
    cmd = taml_asprintf("ask paper.db --method random %s --space paper --json", common);
    CHECK_EQ_INT(taml_here(cmd, &out), 0);
    CHECK_MSG(strstr(out, "\"word_ngrams\":") == NULL, "a paper-space trial: %s", out);
    CHECK_CONTAINS(out, "\"embedding\":");
    free(out), free(cmd);
    /* the same settings again without --space: the study keeps its space */
    cmd = taml_asprintf("ask paper.db --method random %s --json", common);
    CHECK_EQ_INT(taml_here(cmd, &out), 0);
    CHECK_MSG(strstr(out, "\"word_ngrams\":") == NULL, "a paper-space trial: %s", out);
    free(out), free(cmd);
    cmd = taml_asprintf("ask paper.db --method random %s --space taml --json", common);
    CHECK_EQ_INT(taml_here(cmd, &out), 1);
    CHECK_CONTAINS(out, "space");
    free(out), free(cmd);
    free(common);
    free(cwd);
}
