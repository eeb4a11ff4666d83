/* report/report.c - the self-contained HTML report of `taml report`.
 *
 * One HTML file: inline CSS, inline SVG (report/svg.h), no script and no
 * external resource, so it opens anywhere and can be archived as is. It
 * shows, for one or more studies (one colour each, in the order given):
 *   - the studies and, against the first random-search study, the trials each
 *     needed to reach random search's validation accuracy-top10 (Table 2);
 *   - the valid - test gap of the top 10 at the end of each study (Fig. 4);
 *   - per task: a status table, validation and test accuracy-top10 against
 *     trials with +-2 s.e.m. bands (Fig. 2 and the appendix's curves), the
 *     frequency of each decision's choices over trials in a moving window
 *     (Fig. 5, from the trials' recorded actions), the policy of the last
 *     controller checkpoint along its most likely configuration (through the
 *     ctrl API), and the best configurations found;
 *   - the cosine similarity of the task embeddings of each study's last
 *     checkpoint (Fig. 6).
 * The numbers are those of search/metrics.h and `taml status`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/text.h"
#include "ctrl/controller.h"
#include "report/policy.h"
#include "report/report.h"
#include "report/status.h"
#include "report/svg.h"
#include "search/metrics.h"
#include "space/space.h"
#include "store/store.h"

static const char CSS[] =
    "body{font-family:sans-serif;font-size:14px;color:#222;margin:24px auto;max-width:1200px;"
    "padding:0 16px;background:#fafafa}"
    "h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:32px 0 8px;padding-top:8px;"
    "border-top:2px solid #ccc}h3{font-size:15px;margin:18px 0 6px}"
    "p.note{color:#555;margin:4px 0 10px;max-width:900px}"
    "table{border-collapse:collapse;margin:6px 0 12px;background:#fff}"
    "th,td{border:1px solid #d4d4d4;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0;font-weight:600}td.num{text-align:right;font-variant-numeric:"
    "tabular-nums;white-space:nowrap}"
    "td.cfg{font-family:monospace;font-size:12px}"
    ".figs{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0}"
    ".figs svg{border:1px solid #e2e2e2;background:#fff}"
    ".swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px}"
    "nav a{margin-right:12px}details{margin:6px 0}summary{cursor:pointer;font-weight:600}";

/* ---- small HTML helpers ------------------------------------------------- */

static void esc(taml_svg_buf *b, const char *s)
{
    taml_svg_escape(b, s);
}

/* <td class="num">84.01</td> (percent) or "-". */
static void td_pct(taml_svg_buf *b, double v)
{
    if (isnan(v)) taml_svg_buf_puts(b, "<td class=\"num\">-</td>");
    else taml_svg_buf_printf(b, "<td class=\"num\">%.2f</td>", 100 * v);
}

static void td_pct_pm(taml_svg_buf *b, double v, double sem)
{
    if (isnan(v)) taml_svg_buf_puts(b, "<td class=\"num\">-</td>");
    else if (isnan(sem)) taml_svg_buf_printf(b, "<td class=\"num\">%.2f</td>", 100 * v);
    else taml_svg_buf_printf(b, "<td class=\"num\">%.2f &#177; %.2f</td>", 100 * v, 200 * sem);
}

static void swatch(taml_svg_buf *b, int color)
{
    taml_svg_buf_printf(b, "<span class=\"swatch\" style=\"background:%s\"></span>",
                        taml_svg_color(color));
}

/* The configuration JSON as "name=value" pairs (escaped); the raw text when
 * it does not parse. */
static void config_text(taml_svg_buf *b, const char *json)
{
    cJSON *c = cJSON_Parse(json);
    if (!cJSON_IsObject(c)) {
        esc(b, json);
        cJSON_Delete(c);
        return;
    }
    int first = 1;
    for (cJSON *m = c->child; m; m = m->next) {
        char v[64];
        if (cJSON_IsNumber(m)) snprintf(v, sizeof v, "%g", m->valuedouble);
        else if (cJSON_IsBool(m)) snprintf(v, sizeof v, "%s", cJSON_IsTrue(m) ? "true" : "false");
        else if (cJSON_IsString(m)) snprintf(v, sizeof v, "%s", m->valuestring);
        else snprintf(v, sizeof v, "?");
        taml_svg_buf_puts(b, first ? "" : " ");
        esc(b, m->string);
        taml_svg_buf_puts(b, "=");
        esc(b, v);
        first = 0;
    }
    cJSON_Delete(c);
}

/* ---- per-study derived data --------------------------------------------- */

/* What the report computes once per study. */
typedef struct study_view {
    taml_report_study *s;
    taml_status_row *rows; /* (s->n_tasks) against the report's random study */
    size_t nrows;
    taml_space *space;     /* NULL when the study's space does not parse */
    taml_report_ctrls last; /* the newest checkpoint's controllers (n = 0: none) */
    char *ctrl_note;        /* why there are none (heap), or NULL */
    taml_report_policy *policy; /* (s->n_tasks) the policy replayed over updates, or NULL */
    char *policy_note;      /* why there is no replay (heap), or NULL */
} study_view;

static void view_deinit(study_view *v)
{
    taml_status_rows_free(v->rows, v->nrows);
    taml_report_ctrls_deinit(&v->last);
    taml_report_policy_free(v->policy, v->s ? v->s->n_tasks : 0);
    taml_space_free(v->space);
    free(v->ctrl_note);
    free(v->policy_note);
}

static int view_init(study_view *v, taml_report_study *s, const taml_report_study *rs,
                     taml_err *err)
{
    memset(v, 0, sizeof *v);
    v->s = s;
    int rc = taml_status_table(s, rs, 0, &v->rows, &v->nrows, err);
    if (rc < 0) return taml_err_prefix(err, "%s", s->path);
    taml_err e;
    taml_err_clear(&e);
    if (taml_space_from_json(&v->space, s->space_json, "the study's space", &e) < 0) {
        v->space = NULL;
        v->ctrl_note = taml_asprintf("the study's search space could not be read: %s", e.msg);
        return 0;
    }
    if (!s->ckpt) {
        v->ctrl_note = taml_strdup(s->method == TAML_SEARCH_RANDOM
                                       ? "random search has no controller"
                                       : "the study has no controller checkpoint yet");
        return 0;
    }
    char *source = taml_asprintf("%s: checkpoint after update %lld", s->path,
                                 (long long)s->ckpt_seq);
    int loaded = taml_report_ctrls_load(&v->last, v->space, s->ckpt, s->ckpt_size, source, &e);
    free(source);
    if (loaded < 0) {
        v->ctrl_note = taml_asprintf("the last controller checkpoint could not be read: %s", e.msg);
        return 0;
    }
    return taml_report_policy_replay(s, v->space, 200, &v->policy, &v->policy_note, err);
}

/* A choice as text without JSON's quotes around strings ("relu", "0.1"). */
static void choice_plain(const taml_space *sp, int d, int c, char *buf, size_t cap)
{
    taml_space_choice_text(taml_space_choice(sp, d, c), buf, cap);
    size_t n = strlen(buf);
    if (n >= 2 && buf[0] == '"' && buf[n - 1] == '"') {
        memmove(buf, buf + 1, n - 2);
        buf[n - 2] = 0;
    }
}

/* The label of choice c of decision d ("choice c" without a space). */
static void choice_label(const study_view *v, size_t d, int c, char *buf, size_t cap)
{
    if (v->space && (int)d < taml_space_decisions(v->space) &&
        c < taml_space_choices(v->space, (int)d)) {
        choice_plain(v->space, (int)d, c, buf, cap);
        return;
    }
    snprintf(buf, cap, "choice %d", c);
}

static const char *decision_name(const study_view *v, size_t d, char *buf, size_t cap)
{
    if (v->space && (int)d < taml_space_decisions(v->space))
        return taml_space_name(v->space, (int)d);
    snprintf(buf, cap, "decision %zu", d + 1);
    return buf;
}

static size_t decision_choices(const study_view *v, const taml_report_task *k, size_t d)
{
    if (v->space && (int)d < taml_space_decisions(v->space))
        return (size_t)taml_space_choices(v->space, (int)d);
    int mx = -1; /* no space: as many choices as the trials used */
    for (size_t i = 0; i < k->n; i++)
        if (k->actions[i * v->s->n_actions + d] > mx) mx = k->actions[i * v->s->n_actions + d];
    return (size_t)(mx + 1);
}

/* ---- the sections ------------------------------------------------------- */

static void section_studies(taml_svg_buf *b, const study_view *v, size_t ns,
                            const taml_report_study *rs)
{
    taml_svg_buf_puts(b, "<h2 id=\"studies\">Studies</h2>\n<table>\n<tr><th>study</th>"
                         "<th>file</th><th>method</th><th>space</th><th>tasks</th><th>finished trials</th>"
                         "<th>trials per task asked</th><th>controller checkpoint</th></tr>\n");
    for (size_t i = 0; i < ns; i++) {
        const taml_report_study *s = v[i].s;
        size_t fin = 0;
        for (size_t k = 0; k < s->n_tasks; k++) fin += s->tasks[k].n;
        taml_svg_buf_puts(b, "<tr><td>");
        swatch(b, (int)i);
        esc(b, s->label);
        taml_svg_buf_puts(b, "</td><td>");
        esc(b, s->path);
        taml_svg_buf_puts(b, "</td><td>");
        esc(b, taml_search_method_name(s->method));
        taml_svg_buf_puts(b, "</td><td>");
        char *space = taml_space_label(s->space_json);
        esc(b, space);
        free(space);
        taml_svg_buf_printf(b, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td>"
                               "<td class=\"num\">%d</td><td>",
                            s->n_tasks, fin, s->trials_per_task);
        if (s->ckpt) taml_svg_buf_printf(b, "after update %lld", (long long)s->ckpt_seq);
        else taml_svg_buf_puts(b, "none");
        taml_svg_buf_puts(b, "</td></tr>\n");
    }
    taml_svg_buf_puts(b, "</table>\n<p class=\"note\">accuracy-top10: the mean accuracy of the "
                         "10 trials with the best validation accuracy so far (ties go to the "
                         "earlier trial; failed trials, among them those whose worker process "
                         "died on every attempt or that timed out, count as trials but never "
                         "rank; diverged "
                         "and invalid ones count with their recorded accuracies). Error bars "
                         "and bands are &#177; 2 s.e.m. over those 10 models. Ensemble: the "
                         "mean probabilities of the ensemble of a task's trials the study "
                         "recorded (top K: the K best by validation accuracy; greedy K: "
                         "Caruana's selection with replacement on the validation split from "
                         "the best M), beside the single best model; `taml export STUDY --task "
                         "NAME --ensemble K --record` or `taml search ... --ensemble K` records "
                         "one. Accuracies in %.");
    for (size_t i = 0; i < ns; i++) {
        const taml_report_study *s = v[i].s;
        if (!s->has_transfer || !s->transfer.grown) continue;
        taml_svg_buf_puts(b, " ");
        esc(b, s->label);
        taml_svg_buf_puts(b, ": a transfer from ");
        esc(b, s->transfer.source);
        taml_svg_buf_puts(b, ", whose controller was made for another space and grown to this "
                             "study's: ");
        esc(b, s->transfer.summary);
        taml_svg_buf_puts(b, ".");
    }
    if (rs) {
        taml_svg_buf_puts(b, " Trials-to-target are measured against ");
        esc(b, rs->label);
        taml_svg_buf_puts(b, ".");
    }
    taml_svg_buf_puts(b, "</p>\n");
}

/* Task names of all studies, first appearance first (borrowed). */
static size_t all_tasks(const study_view *v, size_t ns, const char ***out)
{
    size_t cap = 0, n = 0;
    for (size_t i = 0; i < ns; i++) cap += v[i].s->n_tasks;
    const char **names = taml_malloc((cap ? cap : 1) * sizeof *names);
    for (size_t i = 0; i < ns; i++)
        for (size_t k = 0; k < v[i].s->n_tasks; k++) {
            const char *t = v[i].s->tasks[k].name;
            size_t j = 0;
            while (j < n && strcmp(names[j], t)) j++;
            if (j == n) names[n++] = t;
        }
    *out = names;
    return n;
}

static const taml_status_row *row_of(const study_view *v, const char *task)
{
    for (size_t i = 0; i < v->nrows; i++)
        if (!strcmp(v->rows[i].task, task)) return &v->rows[i];
    return NULL;
}

static void section_target(taml_svg_buf *b, const study_view *v, size_t ns, const char **tasks,
                           size_t nt, const taml_report_study *rs)
{
    taml_svg_buf_puts(b, "<h2 id=\"target\">Trials to reach random search (paper Table 2)</h2>\n");
    if (!rs) {
        taml_svg_buf_puts(b, "<p class=\"note\">No random-search study was given, so there is "
                             "no target: add one to the command line.</p>\n");
        return;
    }
    taml_svg_buf_puts(b, "<p class=\"note\">Target: the random study's validation "
                         "accuracy-top10 after its T trials. Each cell: the first trial count at "
                         "which a study's validation accuracy-top10 (over a full top 10) reached "
                         "it; n/a: never within its trials.</p>\n<table>\n<tr><th>task</th>"
                         "<th>target</th><th>T</th>");
    for (size_t i = 0; i < ns; i++) {
        taml_svg_buf_puts(b, "<th>");
        swatch(b, (int)i);
        esc(b, v[i].s->label);
        taml_svg_buf_puts(b, "</th>");
    }
    taml_svg_buf_puts(b, "</tr>\n");
    for (size_t t = 0; t < nt; t++) {
        taml_svg_buf_puts(b, "<tr><td>");
        esc(b, tasks[t]);
        taml_svg_buf_puts(b, "</td>");
        /* Target and T from the first study that has one for this task. */
        const taml_status_row *tr = NULL;
        for (size_t i = 0; i < ns && !tr; i++) {
            const taml_status_row *r = row_of(&v[i], tasks[t]);
            if (r && r->has_target) tr = r;
        }
        if (tr) {
            td_pct(b, tr->target);
            taml_svg_buf_printf(b, "<td class=\"num\">%zu</td>", tr->budget);
        } else {
            taml_svg_buf_puts(b, "<td colspan=\"2\">no target</td>");
        }
        for (size_t i = 0; i < ns; i++) {
            const taml_status_row *r = row_of(&v[i], tasks[t]);
            if (!r) taml_svg_buf_puts(b, "<td>-</td>");
            else if (!r->has_target) {
                taml_svg_buf_puts(b, "<td>");
                esc(b, r->target_note);
                taml_svg_buf_puts(b, "</td>");
            } else if (r->to_target > 0)
                taml_svg_buf_printf(b, "<td class=\"num\">%ld</td>", r->to_target);
            else
                taml_svg_buf_puts(b, "<td class=\"num\">n/a</td>");
        }
        taml_svg_buf_puts(b, "</tr>\n");
    }
    taml_svg_buf_puts(b, "</table>\n");
}

/* Figure 4: the final valid - test gap of each study's top 10 per task,
 * with 2 s.e.m. of the ten per-model gaps. */
static int section_gap(taml_svg_buf *b, const study_view *v, size_t ns, const char **tasks,
                       size_t nt, taml_err *err)
{
    taml_svg_buf_puts(b, "<h2 id=\"gap\">Validation - test gap of the top 10 (paper Figure 4)"
                         "</h2>\n<p class=\"note\">Validation accuracy-top10 minus test "
                         "accuracy-top10 at the end of each study; a large positive gap means "
                         "the search fitted the validation split (a small validation split "
                         "invites it). Error bars: 2 s.e.m. of the ten models' gaps.</p>\n"
                         "<div class=\"figs\">\n");
    taml_svg_series *s = taml_calloc(ns, sizeof *s);
    double *y = taml_malloc(ns * nt * sizeof *y), *e = taml_malloc(ns * nt * sizeof *e);
    for (size_t i = 0; i < ns; i++) {
        for (size_t t = 0; t < nt; t++) {
            const taml_report_task *k = taml_report_study_task(v[i].s, tasks[t]);
            double mean = NAN, sem = NAN;
            if (k) taml_metrics_gap(k->valid, k->test, k->n, TAML_REPORT_TOP, &mean, &sem);
            y[i * nt + t] = mean;
            e[i * nt + t] = 2 * sem;
        }
        s[i] = (taml_svg_series){.name = v[i].s->label, .y = y + i * nt, .band = e + i * nt,
                                 .n = nt, .color = (int)i};
    }
    taml_svg_plot p = {.title = "valid - test accuracy-top10", .ylabel = "gap",
                       .width = nt > 6 ? 900 : 620, .ymin = NAN, .ymax = NAN, .y_percent = 1};
    int rc = nt ? taml_svg_bars(b, &p, tasks, nt, s, ns, err) : 0;
    free(s);
    free(y);
    free(e);
    taml_svg_buf_puts(b, "</div>\n");
    return rc;
}

/* Figure 2: validation and test accuracy-top10 over trials, one line per
 * study, +-2 s.e.m. bands. */
static int task_curves(taml_svg_buf *b, const study_view *v, size_t ns, const char *task,
                       taml_err *err)
{
    taml_svg_series *sv = taml_calloc(ns, sizeof *sv), *st = taml_calloc(ns, sizeof *st);
    double **mem = taml_calloc(4 * ns, sizeof *mem);
    size_t m = 0;
    int rc = 0;
    for (size_t i = 0; i < ns && rc == 0; i++) {
        const taml_report_task *k = taml_report_study_task(v[i].s, task);
        if (!k || k->n == 0) continue;
        double *a = mem[4 * i] = taml_malloc(k->n * sizeof *a);
        double *as = mem[4 * i + 1] = taml_malloc(k->n * sizeof *as);
        double *c = mem[4 * i + 2] = taml_malloc(k->n * sizeof *c);
        double *cs = mem[4 * i + 3] = taml_malloc(k->n * sizeof *cs);
        rc = taml_metrics_topn(k->valid, k->test, k->n, TAML_REPORT_TOP, a, c, as, cs, NULL, err);
        for (size_t j = 0; j < k->n; j++) {
            as[j] *= 2;
            cs[j] *= 2;
        }
        sv[m] = (taml_svg_series){.name = v[i].s->label, .y = a, .band = as, .n = k->n,
                                  .color = (int)i};
        st[m] = sv[m];
        st[m].y = c;
        st[m].band = cs;
        m++;
    }
    if (rc == 0) {
        taml_svg_buf_puts(b, "<div class=\"figs\">\n");
        char *t1 = taml_asprintf("%s: validation accuracy-top10", task);
        char *t2 = taml_asprintf("%s: test accuracy-top10", task);
        taml_svg_plot p = {.title = t1, .xlabel = "trials", .ylabel = "accuracy",
                           .ymin = NAN, .ymax = NAN, .y_percent = 1, .unit_interval = 1};
        rc = taml_svg_lines(b, &p, sv, m, err);
        p.title = t2;
        if (rc == 0) rc = taml_svg_lines(b, &p, st, m, err);
        free(t1);
        free(t2);
        taml_svg_buf_puts(b, "</div>\n");
    }
    for (size_t i = 0; i < 4 * ns; i++) free(mem[i]);
    free(mem);
    free(sv);
    free(st);
    return rc;
}

static void task_table(taml_svg_buf *b, const study_view *v, size_t ns, const char *task,
                       const taml_report_study *rs)
{
    taml_svg_buf_puts(b, "<table>\n<tr><th>study</th><th>finished trials</th><th>failed</th>"
                         "<th>diverged</th><th>invalid</th><th>pruned</th><th>best valid</th>"
                         "<th>its test</th>"
                         "<th>ensemble valid</th><th>its test</th><th>ensemble</th>"
                         "<th>valid top10</th><th>test top10</th>");
    if (rs) taml_svg_buf_puts(b, "<th>trials to target</th>");
    taml_svg_buf_puts(b, "</tr>\n");
    for (size_t i = 0; i < ns; i++) {
        const taml_status_row *r = row_of(&v[i], task);
        if (!r) continue;
        taml_svg_buf_puts(b, "<tr><td>");
        swatch(b, (int)i);
        esc(b, v[i].s->label);
        taml_svg_buf_printf(b, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td>"
                               "<td class=\"num\">%zu</td><td class=\"num\">%zu</td>"
                               "<td class=\"num\">%zu</td>",
                            r->trials, r->failed, r->diverged, r->invalid, r->pruned);
        td_pct(b, r->best_valid);
        td_pct(b, r->best_test);
        if (r->ensemble) {
            const taml_store_ensemble *e = r->ensemble;
            td_pct(b, e->valid_acc);
            td_pct(b, e->test_acc);
            taml_svg_buf_printf(b, "<td>%s %d: %d member%s, from %d; trials", e->selection,
                                (int)e->size, (int)e->n_members, e->n_members == 1 ? "" : "s",
                                (int)e->candidates);
            for (int32_t j = 0; j < e->n_members; j++) {
                taml_svg_buf_printf(b, "%s %lld", j ? "," : "", (long long)e->member[j]);
                if (e->weight[j] != 1) taml_svg_buf_printf(b, " (x%d)", (int)e->weight[j]);
            }
            if ((size_t)e->trials != r->trials)
                taml_svg_buf_printf(b, "; built at %lld trials", (long long)e->trials);
            taml_svg_buf_puts(b, "</td>");
        } else {
            taml_svg_buf_puts(b, "<td colspan=\"3\">none recorded</td>");
        }
        td_pct_pm(b, r->top_valid, r->top_valid_sem);
        td_pct_pm(b, r->top_test, r->top_test_sem);
        if (rs) {
            if (!r->has_target) taml_svg_buf_puts(b, "<td>no target</td>");
            else if (r->to_target > 0)
                taml_svg_buf_printf(b, "<td class=\"num\">%ld</td>", r->to_target);
            else taml_svg_buf_puts(b, "<td class=\"num\">n/a</td>");
        }
        taml_svg_buf_puts(b, "</tr>\n");
    }
    taml_svg_buf_puts(b, "</table>\n");
}

/* Figure 5 from the trials: per decision, the share of each choice among
 * the last W trials of the task, as stacked areas. At most ~300 points per
 * plot (every step-th trial and the last). */
static int task_choices(taml_svg_buf *b, const study_view *v, const taml_report_task *k,
                        const taml_report_opts *o, taml_err *err)
{
    size_t na = v->s->n_actions;
    if (k->n == 0 || na == 0) return 0;
    size_t w = o->window ? o->window : k->n / 10;
    if (!o->window) w = w < 10 ? 10 : w > 200 ? 200 : w;
    size_t step = k->n > 300 ? (k->n + 299) / 300 : 1;
    size_t np = (k->n - 1) / step + 1 + ((k->n - 1) % step != 0);
    int *acts = taml_malloc(k->n * sizeof *acts);
    double *x = taml_malloc(np * sizeof *x);
    int rc = 0;
    /* Open unless the controller's own probabilities follow (they say the
     * same, exactly; the page stays shorter). */
    taml_svg_buf_puts(b, v->policy ? "<details><summary>" : "<details open=\"open\"><summary>");
    esc(b, v->s->label);
    taml_svg_buf_printf(b, ": choices over trials (share in a moving window of %zu %s)"
                           "</summary>\n<div class=\"figs\">\n",
                        w, taml_text_plural((long long)w, "trial", "trials"));
    for (size_t d = 0; d < na && rc == 0; d++) {
        size_t nc = decision_choices(v, k, d);
        if (nc == 0) continue;
        for (size_t i = 0; i < k->n; i++) acts[i] = k->actions[i * na + d];
        double *f = taml_malloc(k->n * nc * sizeof *f);
        double *y = taml_malloc(np * nc * sizeof *y);
        taml_svg_series *s = taml_calloc(nc, sizeof *s);
        char (*labels)[64] = taml_malloc(nc * sizeof *labels);
        rc = taml_metrics_action_freq(acts, k->n, nc, w, f, err);
        if (rc == 0) {
            size_t p = 0;
            for (size_t i = 0; i < k->n; i++) {
                if (i % step && i != k->n - 1) continue;
                x[p] = (double)(i + 1);
                for (size_t c = 0; c < nc; c++) y[c * np + p] = f[i * nc + c];
                p++;
            }
            TAML_ASSERT(p == np);
            for (size_t c = 0; c < nc; c++) {
                choice_label(v, d, (int)c, labels[c], sizeof labels[c]);
                s[c] = (taml_svg_series){.name = labels[c], .x = x, .y = y + c * np, .n = np,
                                         .color = (int)c};
            }
            char nb[32];
            taml_svg_plot p2 = {.title = decision_name(v, d, nb, sizeof nb), .xlabel = "trials",
                                .ylabel = "share", .width = 360, .height = 230,
                                .ymin = NAN, .ymax = NAN};
            rc = taml_svg_stacked(b, &p2, s, nc, err);
        }
        free(f);
        free(y);
        free(s);
        free(labels);
    }
    taml_svg_buf_puts(b, "</div>\n</details>\n");
    free(acts);
    free(x);
    return rc;
}

/* Figure 5 through the controller: the policy replayed over the updates,
 * one stacked plot per decision (probabilities along the greedy path). */
static int task_policy_curves(taml_svg_buf *b, const study_view *v, size_t task, taml_err *err)
{
    if (!v->space) return 0;
    if (!v->policy) {
        if (v->policy_note && v->last.n) {
            taml_svg_buf_puts(b, "<p class=\"note\">");
            esc(b, v->s->label);
            taml_svg_buf_puts(b, ": no policy over trials: ");
            esc(b, v->policy_note);
            taml_svg_buf_puts(b, ".</p>\n");
        }
        return 0;
    }
    const taml_report_policy *pc = &v->policy[task];
    if (pc->n < 2) return 0;
    int nd = taml_space_decisions(v->space), rc = 0;
    double *y = taml_malloc(pc->n * sizeof *y * (size_t)taml_space_total_choices(v->space));
    taml_svg_buf_puts(b, "<details open=\"open\"><summary>");
    esc(b, v->s->label);
    taml_svg_buf_puts(b, ": the controller's probabilities over trials (its updates replayed "
                         "from the first checkpoint; decisions after the first along the most "
                         "likely choices before them)</summary>\n<div class=\"figs\">\n");
    for (int d = 0; d < nd && rc == 0; d++) {
        int nc = taml_space_choices(v->space, d), off = taml_space_offset(v->space, d);
        taml_svg_series *sr = taml_calloc((size_t)nc, sizeof *sr);
        char (*labels)[64] = taml_malloc((size_t)nc * sizeof *labels);
        for (int c = 0; c < nc; c++) {
            double *yc = y + (size_t)off * pc->n + (size_t)c * pc->n;
            for (size_t j = 0; j < pc->n; j++) yc[j] = pc->p[j * pc->total + (size_t)(off + c)];
            choice_label(v, (size_t)d, c, labels[c], sizeof labels[c]);
            sr[c] = (taml_svg_series){.name = labels[c], .x = pc->x, .y = yc, .n = pc->n,
                                      .color = c};
        }
        taml_svg_plot p = {.title = taml_space_name(v->space, d), .xlabel = "rewards applied",
                           .ylabel = "probability", .width = 360, .height = 230,
                           .ymin = NAN, .ymax = NAN};
        rc = taml_svg_stacked(b, &p, sr, (size_t)nc, err);
        free(sr);
        free(labels);
    }
    taml_svg_buf_puts(b, "</div>\n</details>\n");
    free(y);
    return rc;
}

/* The policy of the last checkpoint for this task: along the most likely
 * configuration, each decision's chosen value and its probability. */
static void task_policy(taml_svg_buf *b, const study_view *v, size_t task)
{
    int t;
    taml_ctrl *c = taml_report_ctrls_find(&v->last, v->s, task, &t);
    if (!c) return;
    const taml_space *sp = taml_ctrl_space(c);
    int nd = taml_space_decisions(sp);
    int32_t *greedy = taml_malloc((size_t)nd * sizeof *greedy);
    double *probs = taml_malloc((size_t)taml_space_total_choices(sp) * sizeof *probs);
    taml_ctrl_probabilities(c, t, NULL, greedy, probs);
    taml_svg_buf_puts(b, "<h3>");
    esc(b, v->s->label);
    taml_svg_buf_printf(b, ": policy of the last checkpoint (after update %lld)</h3>\n"
                           "<p class=\"note\">The most likely configuration (each decision "
                           "taken greedily given the ones before it) and the probability of "
                           "each choice made.</p>\n<table>\n<tr><th>decision</th>"
                           "<th>most likely</th><th>probability</th><th>runner-up</th></tr>\n",
                        (long long)v->s->ckpt_seq);
    for (int d = 0; d < nd; d++) {
        const double *pd = probs + taml_space_offset(sp, d);
        int nc = taml_space_choices(sp, d), second = -1;
        for (int k = 0; k < nc; k++)
            if (k != greedy[d] && (second < 0 || pd[k] > pd[second])) second = k;
        char lab[64];
        taml_svg_buf_puts(b, "<tr><td>");
        esc(b, taml_space_name(sp, d));
        taml_svg_buf_puts(b, "</td><td>");
        choice_plain(sp, d, greedy[d], lab, sizeof lab);
        esc(b, lab);
        taml_svg_buf_printf(b, "</td><td class=\"num\">%.3f</td><td>", pd[greedy[d]]);
        if (second >= 0) {
            choice_plain(sp, d, second, lab, sizeof lab);
            esc(b, lab);
            taml_svg_buf_printf(b, " (%.3f)", pd[second]);
        }
        taml_svg_buf_puts(b, "</td></tr>\n");
    }
    taml_svg_buf_puts(b, "</table>\n");
    free(greedy);
    free(probs);
}

static void task_best(taml_svg_buf *b, const study_view *v, size_t ns, const char *task,
                      size_t nbest)
{
    size_t *idx = taml_malloc(nbest * sizeof *idx);
    taml_svg_buf_printf(b, "<h3>Best configurations (top %zu by validation accuracy)</h3>\n"
                           "<table>\n<tr><th>study</th><th>trial</th><th>state</th>"
                           "<th>valid</th><th>test</th><th>configuration</th></tr>\n",
                        nbest);
    for (size_t i = 0; i < ns; i++) {
        const taml_report_task *k = taml_report_study_task(v[i].s, task);
        if (!k) continue;
        size_t m = taml_metrics_best(k->valid, k->n, nbest, idx);
        for (size_t j = 0; j < m; j++) {
            size_t t = idx[j];
            taml_svg_buf_puts(b, "<tr><td>");
            swatch(b, (int)i);
            esc(b, v[i].s->label);
            taml_svg_buf_printf(b, "</td><td class=\"num\">%lld</td><td>%s</td>",
                                (long long)k->id[t], taml_trial_state_name(k->state[t]));
            td_pct(b, k->valid[t]);
            td_pct(b, k->test[t]);
            taml_svg_buf_puts(b, "<td class=\"cfg\">");
            config_text(b, k->config[t]);
            taml_svg_buf_puts(b, "</td></tr>\n");
        }
    }
    taml_svg_buf_puts(b, "</table>\n");
    free(idx);
}

/* Figure 6: cosine similarity of the task embeddings of each checkpoint. */
static int section_similarity(taml_svg_buf *b, const study_view *v, size_t ns, taml_err *err)
{
    taml_svg_buf_puts(b, "<h2 id=\"similarity\">Task similarity (paper Figure 6)</h2>\n"
                         "<p class=\"note\">Cosine similarity of the task embeddings learned "
                         "by the controller, from each study's last checkpoint. Tasks the "
                         "controller treats alike (similar good configurations) drift "
                         "together.</p>\n<div class=\"figs\">\n");
    int rc = 0, any = 0;
    for (size_t i = 0; i < ns && rc == 0; i++) {
        if (!v[i].last.n || v[i].last.per_task) {
            taml_svg_buf_puts(b, "<p class=\"note\">");
            esc(b, v[i].s->label);
            taml_svg_buf_puts(b, ": ");
            esc(b, v[i].last.n ? "single-task AML trains one controller per task, so its task "
                               "embeddings live in different networks and are not compared"
                             : v[i].ctrl_note);
            taml_svg_buf_puts(b, ".</p>\n");
            continue;
        }
        taml_ctrl *c = v[i].last.c[0];
        size_t k = (size_t)taml_ctrl_tasks(c);
        if (k == 0) continue;
        double *emb = taml_malloc(k * TAML_CTRL_EMBED * sizeof *emb);
        double *sim = taml_malloc(k * k * sizeof *sim);
        const char **names = taml_malloc(k * sizeof *names);
        for (size_t t = 0; t < k; t++) {
            memcpy(emb + t * TAML_CTRL_EMBED, taml_ctrl_task_embedding(c, (int)t),
                   TAML_CTRL_EMBED * sizeof *emb);
            names[t] = taml_ctrl_task_name(c, (int)t);
        }
        rc = taml_metrics_cosine(emb, k, TAML_CTRL_EMBED, sim, err);
        if (rc == 0) {
            char *title = taml_asprintf("%s", v[i].s->label);
            rc = taml_svg_heatmap(b, title, names, k, sim, -1, 1, err);
            free(title);
            any = 1;
        }
        free(emb);
        free(sim);
        free(names);
    }
    (void)any;
    taml_svg_buf_puts(b, "</div>\n");
    return rc;
}

int taml_report_html(taml_report_study *const *studies, size_t ns, const taml_report_opts *opts,
                     char **html, taml_err *err)
{
    *html = NULL;
    if (ns == 0) return taml_err_set(err, TAML_EINVAL, "report: no study given");
    taml_report_opts o = opts ? *opts : (taml_report_opts){0};
    if (!o.title) o.title = "taml report";
    if (!o.best) o.best = 5;
    const taml_report_study *rs = NULL;
    for (size_t i = 0; i < ns && !rs; i++)
        if (studies[i]->method == TAML_SEARCH_RANDOM) rs = studies[i];
    study_view *v = taml_calloc(ns, sizeof *v);
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    const char **tasks = NULL;
    size_t nt = 0, made = 0;
    int rc = 0;
    for (; made < ns && rc == 0; made++) rc = view_init(&v[made], studies[made], rs, err);
    if (rc < 0) goto done;
    nt = all_tasks(v, ns, &tasks);

    taml_svg_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                          "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
    esc(&b, o.title);
    taml_svg_buf_printf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", CSS);
    esc(&b, o.title);
    taml_svg_buf_puts(&b, "</h1>\n<nav><a href=\"#studies\">studies</a><a href=\"#target\">"
                          "trials to target</a><a href=\"#gap\">valid/test gap</a><a href=\"#similarity\">task similarity</a>");
    for (size_t t = 0; t < nt; t++) {
        taml_svg_buf_printf(&b, "<a href=\"#task-%zu\">", t);
        esc(&b, tasks[t]);
        taml_svg_buf_puts(&b, "</a>");
    }
    taml_svg_buf_puts(&b, "</nav>\n");
    section_studies(&b, v, ns, rs);
    section_target(&b, v, ns, tasks, nt, rs);
    rc = section_gap(&b, v, ns, tasks, nt, err);
    if (rc == 0) rc = section_similarity(&b, v, ns, err);
    for (size_t t = 0; t < nt && rc == 0; t++) {
        taml_svg_buf_printf(&b, "<h2 id=\"task-%zu\">Task ", t);
        esc(&b, tasks[t]);
        taml_svg_buf_puts(&b, "</h2>\n");
        task_table(&b, v, ns, tasks[t], rs);
        rc = task_curves(&b, v, ns, tasks[t], err);
        if (rc < 0) break;
        taml_svg_buf_puts(&b, "<h3>Choices over trials (paper Figure 5)</h3>\n");
        int shown = 0;
        for (size_t i = 0; i < ns && rc == 0; i++) {
            const taml_report_task *k = taml_report_study_task(v[i].s, tasks[t]);
            if (!k || v[i].s->method == TAML_SEARCH_RANDOM) continue;
            size_t ki = (size_t)(k - v[i].s->tasks);
            rc = task_choices(&b, &v[i], k, &o, err);
            if (rc == 0) rc = task_policy_curves(&b, &v[i], ki, err);
            task_policy(&b, &v[i], ki);
            shown = 1;
        }
        if (!shown)
            taml_svg_buf_puts(&b, "<p class=\"note\">Only random search ran this task: it "
                                  "samples every choice uniformly.</p>\n");
        if (rc == 0) task_best(&b, v, ns, tasks[t], o.best);
    }
    taml_svg_buf_puts(&b, "</body>\n</html>\n");
done:
    for (size_t i = 0; i < made; i++) view_deinit(&v[i]);
    free(v);
    free(tasks);
    if (rc < 0) {
        taml_svg_buf_deinit(&b);
        return rc;
    }
    *html = taml_svg_buf_take(&b);
    return 0;
}
