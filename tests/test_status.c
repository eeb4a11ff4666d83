/* tests/test_status.c - `taml status`: the per-task table over studies built
 * here with the store API, against values worked out by hand, and the
 * command itself through $TAML_BIN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "report/status.h"
#include "store/store.h"
#include "study_fixture.h"
#include "test.h"
#include "testutil.h"

TEST(status_rows_match_hand_computed_top10_and_trials_to_target)
{
    char *rp, *ap;
    make_fixture(&rp, &ap, 0);
    taml_report_study *rs, *aml;
    taml_err err;
    CHECK_EQ_INT(taml_report_study_load(&rs, rp, &err), 0);
    CHECK_EQ_INT(taml_report_study_load(&aml, ap, &err), 0);
    CHECK_EQ_INT(aml->method, TAML_SEARCH_AML);
    CHECK_EQ_INT(aml->n_actions, 2);
    const taml_report_task *a = taml_report_study_task(aml, "alpha");
    CHECK(a);
    CHECK_EQ_INT(a->n, 14); /* the pending trial is not finished */
    CHECK_EQ_INT(a->n_unfinished, 1);
    CHECK(isnan(a->valid[0]));
    CHECK_EQ_INT(a->actions[11 * 2 + 0], 2);
    CHECK_CONTAINS(a->config[11], "\"activation\":\"swish\"");

    taml_status_row *rows;
    size_t n;
    CHECK_EQ_INT(taml_status_table(aml, rs, 0, &rows, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    const taml_status_row *r = &rows[0];
    CHECK_STR(r->task, "alpha");
    CHECK_EQ_INT(r->trials, 14);
    CHECK_EQ_INT(r->failed, 1);
    CHECK_EQ_INT(r->diverged, 1);
    CHECK_EQ_INT(r->invalid, 1);
    CHECK_EQ_INT(r->unfinished, 1);
    CHECK_EQ_INT(r->best_id, 12);
    CHECK_NEAR(r->best_valid, 0.72, 1e-12);
    CHECK_NEAR(r->best_test, 0.70, 1e-12);
    /* Top 10: 0.72 and nine of the 0.66 (the earliest), test 0.70 and 0.60s. */
    CHECK_EQ_INT(r->top_count, 10);
    CHECK_NEAR(r->top_valid, 0.666, 1e-12);
    CHECK_NEAR(r->top_test, 0.61, 1e-12);
    /* s.e.m. of {0.72, 0.66 x 9}: sd = 0.06 * sqrt(0.9 * 0.1 * 10 / 9) = 0.018974 */
    CHECK_NEAR(r->top_valid_sem, 0.06 * sqrt(0.1) / sqrt(10.0), 1e-9);
    /* Random search's top 10 at T = 12: mean of 0.62..0.71 = 0.665, reached
     * only at its 12th trial; aml reaches it at trial 12 (0.666). */
    CHECK(r->has_target);
    CHECK_NEAR(r->target, 0.665, 1e-12);
    CHECK_EQ_INT(r->budget, 12);
    CHECK_EQ_INT(r->rs_to_target, 12);
    CHECK_EQ_INT(r->to_target, 12);
    /* beta: the random study has 5 trials, too few for a top-10 target. */
    CHECK(!rows[1].has_target);
    CHECK_CONTAINS(rows[1].target_note, "5 trials with an accuracy in its first 5");
    CHECK_EQ_INT(rows[1].top_count, 3);
    /* gamma: no trials anywhere. */
    CHECK_EQ_INT(rows[2].trials, 0);
    CHECK(isnan(rows[2].top_valid));
    CHECK_CONTAINS(rows[2].target_note, "no task gamma & <co>");
    taml_status_rows_free(rows, n);

    /* A smaller budget: T = 10 gives 0.645 (0.60..0.69), which aml's ten
     * 0.66 trials reach at trial 11 and random search at its 10th. */
    CHECK_EQ_INT(taml_status_table(aml, rs, 10, &rows, &n, &err), 0);
    CHECK_NEAR(rows[0].target, 0.645, 1e-12);
    CHECK_EQ_INT(rows[0].rs_to_target, 10);
    CHECK_EQ_INT(rows[0].to_target, 11);
    taml_status_rows_free(rows, n);
    /* A budget beyond the random study: a note, not a failure. */
    CHECK_EQ_INT(taml_status_table(aml, rs, 50, &rows, &n, &err), 0);
    CHECK(!rows[0].has_target);
    CHECK_CONTAINS(rows[0].target_note, "fewer than the budget T = 50");
    taml_status_rows_free(rows, n);
    taml_report_study_free(rs);
    taml_report_study_free(aml);
    free(rp);
    free(ap);
}

TEST(status_text_and_json_show_the_rows)
{
    char *rp, *ap;
    make_fixture(&rp, &ap, 0);
    taml_report_study *rs, *aml;
    taml_err err;
    CHECK_EQ_INT(taml_report_study_load(&rs, rp, &err), 0);
    CHECK_EQ_INT(taml_report_study_load(&aml, ap, &err), 0);
    taml_status_row *rows;
    size_t n;
    CHECK_EQ_INT(taml_status_table(aml, rs, 0, &rows, &n, &err), 0);
    char *text = taml_status_text(aml, rs, rows, n);
    CHECK_CONTAINS(text, "method aml, space custom (2 decisions), 3 tasks");
    CHECK_CONTAINS(text, "72.00 (70.00)");
    CHECK_CONTAINS(text, "66.60 \xc2\xb1 1.20"); /* 2 s.e.m. = 0.012 */
    CHECK_CONTAINS(text, "66.50");
    CHECK_CONTAINS(text, "[1 unfinished]");
    CHECK_CONTAINS(text, "(no target: the random study has no task gamma & <co>)");
    CHECK(!strstr(text, " \n")); /* no padding left at line ends */
    free(text);
    char *js = taml_status_json(aml, rs, rows, n);
    cJSON *root = cJSON_Parse(js);
    CHECK(root);
    cJSON *tasks = cJSON_GetObjectItem(root, "tasks");
    CHECK_EQ_INT(cJSON_GetArraySize(tasks), 3);
    cJSON *t0 = cJSON_GetArrayItem(tasks, 0);
    CHECK_NEAR(cJSON_GetObjectItem(t0, "target")->valuedouble, 0.665, 1e-12);
    CHECK_EQ_INT(cJSON_GetObjectItem(t0, "trials_to_target")->valueint, 12);
    CHECK_EQ_INT(cJSON_GetObjectItem(t0, "random_trials_to_target")->valueint, 12);
    CHECK_EQ_INT(cJSON_GetObjectItem(t0, "best_trial")->valueint, 12);
    CHECK_NEAR(cJSON_GetObjectItem(t0, "top_valid_2sem")->valuedouble, 0.012, 1e-9);
    cJSON *t2 = cJSON_GetArrayItem(tasks, 2);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(t2, "top_valid")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(t2, "target")));
    cJSON_Delete(root);
    free(js);
    taml_status_rows_free(rows, n);
    taml_report_study_free(rs);
    taml_report_study_free(aml);
    free(rp);
    free(ap);
}

/* Runs `$TAML_BIN args` with stdout+stderr captured; returns the exit status and
 * the output in *out (caller frees). */
static int run_taml(const char *args, char **out)
{
    char *cmd = taml_asprintf("%s %s", taml_test_bin(), args);
    int rc = taml_test_run(cmd, out);
    free(cmd);
    return rc;
}

TEST(status_command_prints_json_and_fails_clearly)
{
    char *rp, *ap, *out;
    make_fixture(&rp, &ap, 0);
    char *args = taml_asprintf("status '%s' --against '%s' --json", ap, rp);
    CHECK_EQ_INT(run_taml(args, &out), 0);
    CHECK_CONTAINS(out, "\"trials_to_target\":\t12");
    free(out);
    free(args);
    args = taml_asprintf("status '%s' --against '%s'", rp, ap);
    CHECK_EQ_INT(run_taml(args, &out), 0);
    CHECK_CONTAINS(out, "note: ");
    CHECK_CONTAINS(out, "is a 'aml' study, not random search");
    free(out);
    free(args);
    args = taml_asprintf("status '%s/missing.db'", taml_test_tmpdir());
    CHECK_EQ_INT(run_taml(args, &out), 1);
    CHECK_CONTAINS(out, "missing.db");
    free(out);
    free(args);
    CHECK_EQ_INT(run_taml("status", &out), 2);
    CHECK_CONTAINS(out, "taml status: STUDY is required");
    free(out);
    args = taml_asprintf("status '%s' --budget 0 --against '%s'", ap, rp);
    CHECK_EQ_INT(run_taml(args, &out), 2);
    CHECK_CONTAINS(out, "--budget: 0 is not a whole number in 1..1000000");
    free(out);
    free(args);
    free(rp);
    free(ap);
}

TEST(report_study_load_refuses_a_method_it_does_not_know)
{
    /* the store keeps the method as text; the read side turns it into a
     * taml_search_method, and text that is none of the four is refused */
    char *path = taml_path_join(taml_test_tmpdir(), "grid.db");
    char *names[1] = {"alpha"}, *dirs[1] = {"d/alpha"};
    taml_study st = {.method = "grid", .seed = 7, .space_json = "{\"a\":[1,2]}",
                     .space_fingerprint = "ab", .trials_per_task = 3, .options_json = "{}",
                     .taml_version = "test", .n_tasks = 1, .task_names = names,
                     .task_dirs = dirs};
    taml_store *s;
    taml_err err;
    CHECK_EQ_INT(taml_store_open(&s, path, TAML_STORE_CREATE, &err), 0);
    CHECK_EQ_INT(taml_store_create(s, &st, &err), 0);
    taml_store_close(s);
    taml_report_study *r = NULL;
    CHECK_EQ_INT(taml_report_study_load(&r, path, &err), TAML_ECORRUPT);
    CHECK(r == NULL);
    CHECK_CONTAINS(err.msg, "grid.db: the study's method is 'grid', none of random, aml, "
                            "multitask, transfer");
    free(path);
}

/* Every usage rule of `taml status`, one case each (exit 2, the usage shown);
 * --help prints it and exits 0. */
TEST(status_cli_usage_errors_name_themselves_and_exit_2)
{
    static const taml_test_usage_case cases[] = {
        {"status", "taml status: STUDY is required"},
        {"status a.db b.db", "taml status: unexpected argument 'b.db'"},
        {"status a.db --against b.db --budget 0", "--budget: 0 is not a whole number in 1..1000000"},
        {"status a.db --against b.db --budget 1000001",
         "--budget: 1000001 is not a whole number in 1..1000000"},
        {"status a.db --against b.db --budget 2x", "--budget: 2x is not a whole number"},
        {"status a.db --budget 5", "--budget is the random study's T: it needs --against"},
        {"status a.db --against", "taml status: --against needs a value"},
        {"status a.db --json=yes", "--json takes no value"},
        {"status a.db --wat", "taml status: unknown option '--wat'"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    taml_test_cli_says("status --help 2>/dev/null", 0, "usage: taml status STUDY");
    /* the ends of the range pass the usage checks (the study is then missing: 1) */
    taml_test_cli_says("status no-such.db --against b.db --budget 1000000", 1, "no-such.db");
}
