/* tests/test_grow_search.c - a transfer study whose space is not its source
 * controller's (ctrl/grow.h) with the fake child: the study records the
 * mapping (store.h's transfer record), its checkpoints are the grown
 * controller's, it resumes exactly and --deterministic still holds (2
 * workers equal 1), and a source that cannot be carried over is refused
 * before the study file is made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "report/report.h"
#include "report/status.h"
#include "report/study.h"
#include "ctrl/controller.h"
#include "fake_child.h"
#include "search/search.h"
#include "space/space.h"
#include "store/store.h"
#include "study_compare.h"
#include "test.h"
#include "testutil.h"

static const char *SRC = "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],\"hidden_size\":[8,16,32],"
                         "\"activation\":[\"relu\",\"swish\"],\"wide_l1\":[0,0.01,\"disable\"]}";
/* m3 added, hidden_size 8 removed, dropout new, activation dropped */
static const char *GROWN = "{\"embedding\":[\"m1\",\"m2\",\"m3\"],\"layers\":[1,2,3],"
                           "\"hidden_size\":[16,32],\"dropout\":[0,0.1],\"wide_l1\":[0,0.01,\"disable\"]}";

static const char *names[] = {"alpha", "beta", "gamma"};
static const char *dirs[] = {"d/alpha", "d/beta", "d/gamma"};

static taml_space *space_of(const char *json)
{
    taml_space *s = NULL;
    taml_err err;
    TAML_ASSERT(taml_space_from_json(&s, json, "test", &err) == 0);
    return s;
}

/* Runs a study of method m over space json on tasks [first, first + n). */
static int run(const char *path, const char *json, taml_search_method m, int first, int n,
               int trials, int workers, const char *from, taml_test_stopper *stop, taml_err *err)
{
    taml_space *space = space_of(json);
    taml_fake_child fake = {.sleep_us = workers > 1 ? 200 : 0};
    taml_search_opts o;
    taml_search_opts_default(&o);
    o.method = m;
    o.trials = trials;
    o.workers = workers;
    o.seed = 5;
    o.deterministic = 1;
    o.lag = 2;
    o.checkpoint_every = 3;
    o.child = taml_fake_child_run;
    o.child_ctx = &fake;
    void *blob = NULL;
    if (from) {
        int rc = taml_search_load_source(from, &blob, &o.from_size, err);
        if (rc) {
            taml_space_free(space);
            return rc;
        }
        o.from_blob = blob;
        o.from_path = from;
    }
    if (stop) {
        o.progress = taml_test_stopper_progress;
        o.user = stop;
        o.stop = &stop->stop;
    }
    int rc = taml_search_run(path, space, n, names + first, dirs + first, &o, err);
    free(blob);
    taml_space_free(space);
    return rc;
}

TEST(grow_search_records_the_mapping_resumes_exactly_and_stays_deterministic)
{
    char *multi = taml_test_tmp_path("multi.db"), *whole = taml_test_tmp_path("whole.db"), *one = taml_test_tmp_path("one.db");
    char *parts = taml_test_tmp_path("parts.db");
    taml_err err;
    CHECK_EQ_INT(run(multi, SRC, TAML_SEARCH_MULTITASK, 0, 2, 12, 1, NULL, NULL, &err), 0);
    /* 2 workers, uninterrupted */
    CHECK_EQ_INT(run(whole, GROWN, TAML_SEARCH_TRANSFER, 2, 1, 14, 2, multi, NULL, &err), 0);
    /* 1 worker: the same study bit for bit */
    CHECK_EQ_INT(run(one, GROWN, TAML_SEARCH_TRANSFER, 2, 1, 14, 1, multi, NULL, &err), 0);
    int64_t n = 0;
    CHECK(same_studies(whole, one, &n));
    CHECK_EQ_INT(n, 14);
    /* stopped again and again and continued without the source: the same */
    int runs = 0;
    for (;;) {
        taml_test_stopper st = {.after = 1 + runs % 3};
        CHECK_EQ_INT(run(parts, GROWN, TAML_SEARCH_TRANSFER, 2, 1, 14, 2, runs ? NULL : multi, &st,
                         &err),
                     0);
        runs++;
        if (!st.stop) break;
        CHECK(runs < 40);
    }
    CHECK(runs > 3);
    CHECK(same_studies(whole, parts, NULL));

    /* the record */
    taml_store *s;
    CHECK_EQ_INT(taml_store_open(&s, whole, TAML_STORE_READONLY, &err), 0);
    taml_store_transfer t;
    CHECK_EQ_INT(taml_store_transfer_get(s, &t, &err), 1);
    CHECK_STR(t.source, multi);
    CHECK_EQ_INT(t.grown, 1);
    CHECK_STR(t.summary, "embedding: 1 choice added (\"m3\"); hidden_size: 1 choice removed (8); "
                         "new decision dropout (fresh head); dropped decision activation");
    CHECK_CONTAINS(t.mapping_json, "{\"name\":\"embedding\",\"status\":\"grown\",\"added\":[\"m3\"],"
                                   "\"removed\":[]}");
    taml_space *own = space_of(SRC);
    char *fp = taml_asprintf("%016llx", (unsigned long long)taml_space_fingerprint(own));
    CHECK_STR(t.source_fingerprint, fp);
    free(fp);
    taml_space_free(own);
    taml_store_transfer_deinit(&t);
    /* the first checkpoint is the grown controller, with the source's tasks
     * and the new one */
    void *blob;
    size_t size;
    int64_t after;
    CHECK_EQ_INT(taml_store_checkpoint_first(s, &blob, &size, &after, &err), 1);
    taml_store_close(s);
    taml_space *g = space_of(GROWN);
    taml_ctrl *c = NULL;
    CHECK_EQ_INT(taml_ctrl_load(&c, g, blob, size, &err), 0);
    free(blob);
    CHECK_EQ_INT(taml_ctrl_tasks(c), 3);
    CHECK_EQ_INT(taml_ctrl_find_task(c, "gamma"), 2);
    /* m3 starts at 1/3 for the new task along its greedy path */
    double p[32];
    taml_ctrl_probabilities(c, 2, NULL, NULL, p);
    CHECK_NEAR(p[2], 1.0 / 3, 1e-12);
    taml_ctrl_free(c);
    taml_space_free(g);

    /* taml status and taml report say what grew */
    taml_report_study *rs;
    CHECK_EQ_INT(taml_report_study_load(&rs, whole, &err), 0);
    taml_status_row *rows;
    size_t nr;
    CHECK_EQ_INT(taml_status_table(rs, NULL, 0, &rows, &nr, &err), 0);
    char *text = taml_status_text(rs, NULL, rows, nr);
    char *want = taml_asprintf("transfer from %s, made for another space (custom (5 decisions)), "
                               "grown to this one: embedding: 1 choice added (\"m3\");",
                               multi);
    CHECK_CONTAINS(text, want);
    free(want);
    free(text);
    text = taml_status_json(rs, NULL, rows, nr);
    CHECK_CONTAINS(text, "\"grown\":\ttrue");
    CHECK_CONTAINS(text, "\"status\":\t\"dropped\"");
    free(text);
    taml_status_rows_free(rows, nr);
    char *html = NULL;
    taml_report_study *list[] = {rs};
    CHECK_EQ_INT(taml_report_html(list, 1, NULL, &html, &err), 0);
    CHECK_CONTAINS(html, "whose controller was made for another space and grown to this study's: "
                         "embedding: 1 choice added (&quot;m3&quot;)");
    free(html);
    taml_report_study_free(rs);

    /* a transfer in the source's own space records it too, not grown */
    char *same = taml_test_tmp_path("same.db");
    CHECK_EQ_INT(run(same, SRC, TAML_SEARCH_TRANSFER, 2, 1, 3, 1, multi, NULL, &err), 0);
    CHECK_EQ_INT(taml_store_open(&s, same, TAML_STORE_READONLY, &err), 0);
    CHECK_EQ_INT(taml_store_transfer_get(s, &t, &err), 1);
    CHECK_EQ_INT(t.grown, 0);
    CHECK_STR(t.summary, "nothing changed");
    taml_store_transfer_deinit(&t);
    taml_store_close(s);
    free(same);
    free(multi);
    free(whole);
    free(one);
    free(parts);
}

TEST(grow_search_refuses_a_source_of_another_kind_of_space_before_making_the_study)
{
    char *multi = taml_test_tmp_path("multi.db"), *xfer = taml_test_tmp_path("xfer.db");
    taml_err err;
    CHECK_EQ_INT(run(multi, SRC, TAML_SEARCH_MULTITASK, 0, 2, 6, 1, NULL, NULL, &err), 0);
    CHECK_EQ_INT(run(xfer, "{\"embedding\":[1,2],\"depth\":[4,5]}", TAML_SEARCH_TRANSFER, 2, 1, 3,
                     1, multi, NULL, &err),
                 TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "decision 'embedding' has values of another type: the controller's "
                            "are strings, this search's numbers");
    CHECK_CONTAINS(err.msg, multi);
    CHECK(!taml_is_file(xfer));
    CHECK_EQ_INT(run(xfer, "{\"module\":[\"x\",\"y\"],\"depth\":[4,5]}", TAML_SEARCH_TRANSFER, 2,
                     1, 3, 1, multi, NULL, &err),
                 TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "shares no choice of any decision with this search's");
    CHECK(!taml_is_file(xfer));
    free(multi);
    free(xfer);
}
