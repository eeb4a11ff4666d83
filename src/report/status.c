/* report/status.c - the per-task table of `taml status`: trials, the best
 * model, accuracy-top10 with its error bar, and trials-to-target against a
 * random-search study (paper Table 2), as text or JSON. Every number comes
 * from search/metrics.h over the arrays report/study.c loaded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/text.h"
#include "report/status.h"
#include "report/svg.h"
#include "search/metrics.h"
#include "space/space.h"

void taml_status_rows_free(taml_status_row *rows, size_t n)
{
    if (!rows) return;
    for (size_t i = 0; i < n; i++) free(rows[i].target_note);
    free(rows);
}

/* A metrics message without its "metrics: " prefix, for a note. */
static char *note_from(const taml_err *e)
{
    const char *m = e->msg;
    if (!strncmp(m, "metrics: ", 9)) m += 9;
    return taml_strdup(m);
}

static int fill_row(taml_status_row *r, const taml_report_task *k,
                    const taml_report_study *against, size_t budget, taml_err *err)
{
    memset(r, 0, sizeof *r);
    r->task = k->name;
    r->trials = k->n;
    r->failed = k->n_failed;
    r->diverged = k->n_diverged;
    r->invalid = k->n_invalid;
    r->pruned = k->n_pruned;
    r->unfinished = k->n_unfinished;
    r->best_valid = r->best_test = NAN;
    r->top_valid = r->top_valid_sem = r->top_test = r->top_test_sem = NAN;
    r->target = NAN;
    r->ensemble = k->has_ensemble ? &k->ensemble : NULL;
    size_t best;
    if (taml_metrics_best(k->valid, k->n, 1, &best) == 1) {
        r->best_id = k->id[best];
        r->best_valid = k->valid[best];
        r->best_test = k->test[best];
    }
    if (k->n > 0) {
        double *v = taml_malloc(k->n * sizeof *v), *vs = taml_malloc(k->n * sizeof *vs);
        double *t = taml_malloc(k->n * sizeof *t), *ts = taml_malloc(k->n * sizeof *ts);
        size_t *c = taml_malloc(k->n * sizeof *c);
        int rc = taml_metrics_topn(k->valid, k->test, k->n, TAML_REPORT_TOP, v, t, vs, ts, c, err);
        if (rc == 0) {
            r->top_valid = v[k->n - 1];
            r->top_valid_sem = vs[k->n - 1];
            r->top_test = t[k->n - 1];
            r->top_test_sem = ts[k->n - 1];
            r->top_count = c[k->n - 1];
        }
        free(v);
        free(vs);
        free(t);
        free(ts);
        free(c);
        if (rc < 0) return taml_err_prefix(err, "task %s", k->name);
    }
    if (!against) return 0;
    const taml_report_task *rk = taml_report_study_task(against, k->name);
    if (!rk) {
        r->target_note = taml_asprintf("the random study has no task %s", k->name);
        return 0;
    }
    taml_err e;
    taml_err_clear(&e);
    if (taml_metrics_target(rk->valid, rk->n, TAML_REPORT_TOP, budget, &r->target, &e) < 0) {
        r->target_note = note_from(&e);
        return 0;
    }
    r->has_target = 1;
    r->budget = budget ? budget : rk->n;
    r->rs_to_target = taml_metrics_trials_to_target(rk->valid, r->budget, TAML_REPORT_TOP, r->target,
                                                 err);
    r->to_target = taml_metrics_trials_to_target(k->valid, k->n, TAML_REPORT_TOP, r->target, err);
    if (r->rs_to_target < 0 || r->to_target < 0) return taml_err_prefix(err, "task %s", k->name);
    return 0;
}

int taml_status_table(const taml_report_study *s, const taml_report_study *against,
                       size_t budget, taml_status_row **rows, size_t *n, taml_err *err)
{
    *rows = NULL;
    *n = 0;
    taml_status_row *r = taml_calloc(s->n_tasks ? s->n_tasks : 1, sizeof *r);
    for (size_t i = 0; i < s->n_tasks; i++) {
        int rc = fill_row(&r[i], &s->tasks[i], against, budget, err);
        if (rc < 0) {
            taml_status_rows_free(r, i + 1);
            return rc;
        }
    }
    *rows = r;
    *n = s->n_tasks;
    return 0;
}

/* "84.01" for 0.8401, "-" for NaN. */
static void pct(char *out, size_t size, double v)
{
    if (isnan(v)) snprintf(out, size, "-");
    else snprintf(out, size, "%.2f", 100 * v);
}

/* "84.01 ± 0.64" (the error bar is 2 s.e.m.), "-" for NaN. */
static void pct_pm(char *out, size_t size, double v, double sem)
{
    if (isnan(v)) snprintf(out, size, "-");
    else if (isnan(sem)) snprintf(out, size, "%.2f", 100 * v);
    else snprintf(out, size, "%.2f \xc2\xb1 %.2f", 100 * v, 200 * sem);
}

static void count_or_na(char *out, size_t size, long t)
{
    if (t > 0) snprintf(out, size, "%ld", t);
    else snprintf(out, size, "n/a");
}

/* Pads s (UTF-8) with spaces to w display columns (code points). */
static void put_col(taml_svg_buf *b, const char *s, size_t w, int right)
{
    size_t cps = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) cps += (*p & 0xc0) != 0x80;
    size_t pad = cps < w ? w - cps : 0;
    if (right)
        for (size_t i = 0; i < pad; i++) taml_svg_buf_puts(b, " ");
    taml_svg_buf_puts(b, s);
    if (!right)
        for (size_t i = 0; i < pad; i++) taml_svg_buf_puts(b, " ");
}

char *taml_status_text(const taml_report_study *s, const taml_report_study *against,
                       const taml_status_row *rows, size_t n)
{
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    char *space = taml_space_label(s->space_json);
    taml_svg_buf_printf(&b, "study %s: method %s, space %s, %zu %s, %d %s per task asked\n", s->path,
                        taml_search_method_name(s->method), space, s->n_tasks,
                        taml_text_plural((long long)s->n_tasks, "task", "tasks"), s->trials_per_task,
                        taml_text_plural(s->trials_per_task, "trial", "trials"));
    free(space);
    if (s->has_transfer && s->transfer.grown) {
        char *from = taml_space_label(s->transfer.source_space);
        taml_svg_buf_printf(&b, "transfer from %s, made for another space (%s), grown to this "
                                "one: %s\n",
                            s->transfer.source, from, s->transfer.summary);
        free(from);
    } else if (s->has_transfer) {
        taml_svg_buf_printf(&b, "transfer from %s (its own space)\n", s->transfer.source);
    }
    if (against)
        taml_svg_buf_printf(&b,
                            "against %s (method %s): target = its valid accuracy-top%d after T "
                            "trials;\ntrials to reach it (paper Table 2): RS = the random study "
                            "itself, this = this study, n/a = never\n",
                            against->path, taml_search_method_name(against->method),
                            TAML_REPORT_TOP);
    taml_svg_buf_printf(&b, "accuracies in %%; top%d = mean of the %d best by validation "
                            "accuracy, \xc2\xb1 2 s.e.m.; ensemble = the mean probabilities of "
                            "the recorded ensemble's members\n",
                        TAML_REPORT_TOP, TAML_REPORT_TOP);
    int missing = 0;
    for (size_t i = 0; i < n; i++) missing |= !rows[i].ensemble;
    if (missing)
        taml_svg_buf_puts(&b, "ensemble \"-\": none recorded; `taml export STUDY --task NAME "
                              "--ensemble K --record` (or `taml search ... --ensemble K`) "
                              "records one\n");
    taml_svg_buf_puts(&b, "\n");
    size_t tw = 4;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(rows[i].task);
        if (l > tw) tw = l;
    }
    static const struct {
        const char *name;
        size_t w;
        int right;
    } cols[] = {{"trials", 6, 1}, {"failed", 6, 1}, {"best valid (test)", 17, 0},
                {"ensemble valid (test)", 27, 0}, {"valid top10", 14, 0}, {"test top10", 14, 0},
                {"target", 8, 1}, {"T", 5, 1}, {"RS", 5, 1}, {"this", 9, 1}};
    put_col(&b, "task", tw, 0);
    for (size_t i = 0; i < (against ? 10u : 6u); i++) {
        taml_svg_buf_puts(&b, "  ");
        put_col(&b, cols[i].name, cols[i].w, cols[i].right);
    }
    taml_svg_buf_puts(&b, "\n");
    char a[64], c[64], d[160];
    for (size_t i = 0; i < n; i++) {
        const taml_status_row *r = &rows[i];
        put_col(&b, r->task, tw, 0);
        snprintf(a, sizeof a, "%zu", r->trials);
        taml_svg_buf_puts(&b, "  ");
        put_col(&b, a, 6, 1);
        snprintf(a, sizeof a, "%zu", r->failed);
        taml_svg_buf_puts(&b, "  ");
        put_col(&b, a, 6, 1);
        pct(a, sizeof a, r->best_valid);
        pct(c, sizeof c, r->best_test);
        snprintf(d, sizeof d, "%s (%s)", a, c);
        taml_svg_buf_puts(&b, "  ");
        put_col(&b, d, 17, 0);
        if (r->ensemble) {
            pct(a, sizeof a, r->ensemble->valid_acc);
            pct(c, sizeof c, r->ensemble->test_acc);
            snprintf(d, sizeof d, "%s (%s) %s %d", a, c, r->ensemble->selection,
                     (int)r->ensemble->size);
        } else {
            snprintf(d, sizeof d, "-");
        }
        taml_svg_buf_puts(&b, "  ");
        put_col(&b, d, 27, 0);
        pct_pm(a, sizeof a, r->top_valid, r->top_valid_sem);
        taml_svg_buf_puts(&b, "  ");
        put_col(&b, a, 14, 0);
        pct_pm(a, sizeof a, r->top_test, r->top_test_sem);
        taml_svg_buf_puts(&b, "  ");
        put_col(&b, a, 14, 0);
        if (against) {
            if (r->has_target) {
                pct(a, sizeof a, r->target);
                taml_svg_buf_puts(&b, "  ");
                put_col(&b, a, 8, 1);
                snprintf(a, sizeof a, "%zu", r->budget);
                taml_svg_buf_puts(&b, "  ");
                put_col(&b, a, 5, 1);
                count_or_na(a, sizeof a, r->rs_to_target);
                taml_svg_buf_puts(&b, "  ");
                put_col(&b, a, 5, 1);
                count_or_na(a, sizeof a, r->to_target);
                taml_svg_buf_puts(&b, "  ");
                put_col(&b, a, 9, 1);
            } else {
                taml_svg_buf_printf(&b, "  (no target: %s)", r->target_note ? r->target_note : "?");
            }
        }
        if (r->top_count < TAML_REPORT_TOP && r->trials > 0)
            taml_svg_buf_printf(&b, "  [top of %zu only]", r->top_count);
        if (r->unfinished) taml_svg_buf_printf(&b, "  [%zu unfinished]", r->unfinished);
        /* pruned trials count among the trials, never in a ranking */
        if (r->pruned) taml_svg_buf_printf(&b, "  [%zu pruned]", r->pruned);
        if (r->ensemble && (size_t)r->ensemble->trials != r->trials)
            taml_svg_buf_printf(&b, "  [ensemble built at %lld trials]",
                                (long long)r->ensemble->trials);
        taml_svg_buf_puts(&b, "\n");
    }
    /* No trailing blanks from padding the last column. */
    char *text = taml_svg_buf_take(&b), *w = text;
    for (const char *r = text; *r; r++) {
        if (*r == '\n')
            while (w > text && w[-1] == ' ') w--;
        *w++ = *r;
    }
    *w = 0;
    return text;
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

char *taml_status_json(const taml_report_study *s, const taml_report_study *against,
                       const taml_status_row *rows, size_t n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "study", s->path);
    cJSON_AddStringToObject(root, "method", taml_search_method_name(s->method));
    if (against) cJSON_AddStringToObject(root, "against", against->path);
    else cJSON_AddNullToObject(root, "against");
    cJSON_AddNumberToObject(root, "top", TAML_REPORT_TOP);
    if (s->has_transfer) {
        const taml_store_transfer *t = &s->transfer;
        cJSON *to = cJSON_AddObjectToObject(root, "transfer");
        cJSON_AddStringToObject(to, "source", t->source);
        cJSON_AddStringToObject(to, "source_fingerprint", t->source_fingerprint);
        cJSON_AddBoolToObject(to, "grown", t->grown);
        cJSON_AddStringToObject(to, "summary", t->summary);
        cJSON *m = cJSON_Parse(t->mapping_json);
        cJSON *d = m ? cJSON_DetachItemFromObjectCaseSensitive(m, "decisions") : NULL;
        if (d) cJSON_AddItemToObject(to, "decisions", d);
        else cJSON_AddNullToObject(to, "decisions");
        cJSON_Delete(m);
    }
    cJSON *tasks = cJSON_AddArrayToObject(root, "tasks");
    for (size_t i = 0; i < n; i++) {
        const taml_status_row *r = &rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "task", r->task);
        cJSON_AddNumberToObject(o, "trials", (double)r->trials);
        cJSON_AddNumberToObject(o, "failed", (double)r->failed);
        cJSON_AddNumberToObject(o, "diverged", (double)r->diverged);
        cJSON_AddNumberToObject(o, "invalid", (double)r->invalid);
        cJSON_AddNumberToObject(o, "pruned", (double)r->pruned);
        cJSON_AddNumberToObject(o, "unfinished", (double)r->unfinished);
        if (r->best_id) cJSON_AddNumberToObject(o, "best_trial", (double)r->best_id);
        else cJSON_AddNullToObject(o, "best_trial");
        add_num(o, "best_valid", r->best_valid);
        add_num(o, "best_test", r->best_test);
        if (r->ensemble) {
            const taml_store_ensemble *e = r->ensemble;
            cJSON *eo = cJSON_AddObjectToObject(o, "ensemble");
            cJSON_AddStringToObject(eo, "selection", e->selection);
            cJSON_AddNumberToObject(eo, "size", e->size);
            cJSON_AddNumberToObject(eo, "candidates", e->candidates);
            cJSON_AddNumberToObject(eo, "trials", (double)e->trials);
            cJSON *m = cJSON_AddArrayToObject(eo, "members");
            for (int32_t j = 0; j < e->n_members; j++) {
                cJSON *mj = cJSON_CreateObject();
                cJSON_AddNumberToObject(mj, "trial", (double)e->member[j]);
                cJSON_AddNumberToObject(mj, "weight", e->weight[j]);
                cJSON_AddItemToArray(m, mj);
            }
            add_num(eo, "valid", e->valid_acc);
            add_num(eo, "test", e->test_acc);
        }
        cJSON_AddNumberToObject(o, "top_count", (double)r->top_count);
        add_num(o, "top_valid", r->top_valid);
        add_num(o, "top_valid_2sem", 2 * r->top_valid_sem);
        add_num(o, "top_test", r->top_test);
        add_num(o, "top_test_2sem", 2 * r->top_test_sem);
        if (against) {
            add_num(o, "target", r->has_target ? r->target : NAN);
            if (r->has_target) {
                cJSON_AddNumberToObject(o, "budget", (double)r->budget);
                add_num(o, "random_trials_to_target", r->rs_to_target > 0 ? r->rs_to_target : NAN);
                add_num(o, "trials_to_target", r->to_target > 0 ? r->to_target : NAN);
            } else {
                cJSON_AddStringToObject(o, "target_note", r->target_note ? r->target_note : "");
            }
        }
        cJSON_AddItemToArray(tasks, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char *out = taml_strdup(text);
    cJSON_free(text);
    return out;
}
