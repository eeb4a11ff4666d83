/* report/policy.c - the controllers behind a study's checkpoints, and its
 * policy over trials rebuilt by replaying every update onto the first
 * checkpoint (the store keeps it for this; see store.h). The replay is
 * exact: the search applied the same updates, with the same actions and
 * rewards, in the same order (update_seq), so its end equals the newest
 * checkpoint (tests check it). */
#include <stdlib.h>
#include <string.h>

#include "ctrl/bundle.h"
#include "report/policy.h"

void taml_report_ctrls_deinit(taml_report_ctrls *cs)
{
    for (size_t i = 0; i < cs->n; i++) taml_ctrl_free(cs->c[i]);
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}

int taml_report_ctrls_load(taml_report_ctrls *out, const taml_space *sp, const void *blob,
                           size_t size, const char *source, taml_err *err)
{
    memset(out, 0, sizeof *out);
    if (!taml_ctrl_bundle_is(blob, size)) {
        out->c = taml_calloc(1, sizeof *out->c);
        int rc = taml_ctrl_load_named(&out->c[0], sp, blob, size, source, err);
        if (rc < 0) {
            taml_report_ctrls_deinit(out);
            return rc;
        }
        out->n = 1;
        return 0;
    }
    /* an aml bundle: one controller a task */
    int32_t n;
    int rc = taml_ctrl_bundle_load(&out->c, &n, sp, blob, size, source, err);
    if (rc < 0) return rc;
    out->n = (size_t)n;
    out->per_task = 1;
    return 0;
}

taml_ctrl *taml_report_ctrls_find(const taml_report_ctrls *cs, const taml_report_study *s,
                                  size_t task, int *tid)
{
    const char *name = task < s->n_tasks ? s->tasks[task].name : "";
    if (cs->per_task) {
        /* aml: the task's own controller, at its index. */
        if (task >= cs->n) return NULL;
        int t = taml_ctrl_find_task(cs->c[task], name);
        if (t < 0 && taml_ctrl_tasks(cs->c[task]) == 1) t = 0;
        *tid = t;
        return t < 0 ? NULL : cs->c[task];
    }
    for (size_t i = 0; i < cs->n; i++) {
        int t = taml_ctrl_find_task(cs->c[i], name);
        if (t >= 0) {
            *tid = t;
            return cs->c[i];
        }
    }
    return NULL;
}

void taml_report_policy_free(taml_report_policy *p, size_t n)
{
    if (!p) return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].x);
        free(p[i].p);
    }
    free(p);
}

/* One applied update: its sequence number and the trial (task, index). */
typedef struct upd {
    int64_t seq;
    size_t task, i;
} upd;

static int by_seq(const void *a, const void *b)
{
    int64_t x = ((const upd *)a)->seq, y = ((const upd *)b)->seq;
    return (x > y) - (x < y);
}

/* Appends the task's current policy as the curve's next point. */
static void sample(taml_report_policy *pc, taml_ctrl *c, int tid, double x)
{
    pc->x[pc->n] = x;
    taml_ctrl_probabilities(c, tid, NULL, NULL, pc->p + pc->n * pc->total);
    pc->n++;
}

int taml_report_policy_replay(const taml_report_study *s, const taml_space *sp, size_t max_points,
                              taml_report_policy **out, char **note, taml_err *err)
{
    *out = NULL;
    *note = NULL;
    if (!s->first) {
        *note = taml_strdup(s->ckpt ? "the study keeps no checkpoint from before its first update"
                                    : "the study has no controller checkpoint");
        return 0;
    }
    size_t nd = (size_t)taml_space_decisions(sp);
    if (s->n_actions != nd) {
        *note = taml_asprintf("the trials hold %zu actions, the space has %zu decisions",
                              s->n_actions, nd);
        return 0;
    }
    taml_err e;
    taml_err_clear(&e);
    taml_report_ctrls cs;
    char *source = taml_asprintf("%s: first checkpoint", s->path);
    int loaded = taml_report_ctrls_load(&cs, sp, s->first, s->first_size, source, &e);
    free(source);
    if (loaded < 0) {
        *note = taml_asprintf("the first checkpoint could not be read: %s", e.msg);
        return 0;
    }
    if (max_points < 2) max_points = 2;
    size_t nu = 0;
    for (size_t k = 0; k < s->n_tasks; k++)
        for (size_t i = 0; i < s->tasks[k].n; i++) nu += s->tasks[k].seq[i] > 0;
    upd *u = taml_malloc((nu ? nu : 1) * sizeof *u);
    size_t *count = taml_calloc(s->n_tasks ? s->n_tasks : 1, sizeof *count);
    size_t *step = taml_calloc(s->n_tasks ? s->n_tasks : 1, sizeof *step);
    size_t *done = taml_calloc(s->n_tasks ? s->n_tasks : 1, sizeof *done);
    nu = 0;
    for (size_t k = 0; k < s->n_tasks; k++)
        for (size_t i = 0; i < s->tasks[k].n; i++)
            if (s->tasks[k].seq[i] > 0) {
                u[nu++] = (upd){s->tasks[k].seq[i], k, i};
                count[k]++;
            }
    qsort(u, nu, sizeof *u, by_seq);
    size_t total = (size_t)taml_space_total_choices(sp);
    taml_report_policy *pc = taml_calloc(s->n_tasks ? s->n_tasks : 1, sizeof *pc);
    for (size_t k = 0; k < s->n_tasks; k++) {
        /* Every step-th update of the task, and its last: <= max_points. */
        step[k] = count[k] / (max_points - 1) + (count[k] % (max_points - 1) != 0);
        if (step[k] == 0) step[k] = 1;
        size_t cap = count[k] / step[k] + 2;
        pc[k].total = total;
        pc[k].x = taml_malloc(cap * sizeof *pc[k].x);
        pc[k].p = taml_malloc(cap * total * sizeof *pc[k].p);
        int tid;
        taml_ctrl *c = taml_report_ctrls_find(&cs, s, k, &tid);
        if (c) sample(&pc[k], c, tid, 0);
    }
    int rc = 0;
    int32_t *acts = taml_malloc((nd ? nd : 1) * sizeof *acts);
    for (size_t j = 0; j < nu; j++) {
        const taml_report_task *k = &s->tasks[u[j].task];
        int tid;
        taml_ctrl *c = taml_report_ctrls_find(&cs, s, u[j].task, &tid);
        if (!c) continue;
        for (size_t d = 0; d < nd; d++) acts[d] = k->actions[u[j].i * nd + d];
        rc = taml_ctrl_update(c, tid, acts, k->reward[u[j].i], NULL, err);
        if (rc < 0) {
            taml_err_prefix(err, "%s: replaying trial %lld (update %lld)", s->path,
                            (long long)k->id[u[j].i], (long long)u[j].seq);
            break;
        }
        size_t dn = ++done[u[j].task];
        if (dn % step[u[j].task] == 0 || dn == count[u[j].task])
            sample(&pc[u[j].task], c, tid, (double)dn);
    }
    /* In a multitask study the other tasks' later updates move this task's
     * policy too: the last point is the controller at the very end. */
    for (size_t k = 0; k < s->n_tasks && rc == 0; k++) {
        int tid;
        taml_ctrl *c = taml_report_ctrls_find(&cs, s, k, &tid);
        if (!c || count[k] == 0) continue;
        pc[k].n--;
        sample(&pc[k], c, tid, (double)count[k]);
    }
    free(acts);
    free(u);
    free(count);
    free(step);
    free(done);
    taml_report_ctrls_deinit(&cs);
    if (rc < 0) {
        taml_report_policy_free(pc, s->n_tasks);
        return rc;
    }
    *out = pc;
    return 0;
}
