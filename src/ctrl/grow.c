/* ctrl/grow.c - a controller carried over to a grown (or shrunk) space: the
 * mapping of decisions and choices, and the grown controller (grow.h says
 * what each part becomes and why). Shares the controller's private layout
 * (ctrl_internal.h): a head is W (HEAD_IN, n) input-major then b (n), an
 * action table (n, E).
 */
#include "ctrl/grow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "ctrl/ctrl_internal.h"

#define H TAML_CTRL_HIDDEN
#define E TAML_CTRL_EMBED
#define HEAD_IN (H + 2 * E)

const char *taml_grow_kind_name(taml_grow_kind k)
{
    static const char *names[] = {"same", "grown", "new", "replaced", "dropped"};
    return k >= TAML_GROW_SAME && k <= TAML_GROW_DROPPED ? names[k] : "?";
}

/* The kinds of a decision's values as a bit set (1 << taml_choice_kind). */
static unsigned kinds_of(const taml_space *s, int d)
{
    unsigned m = 0;
    for (int c = 0; c < taml_space_choices(s, d); c++) m |= 1u << taml_space_choice(s, d, c)->kind;
    return m;
}

static const char *kinds_text(unsigned m)
{
    static const char *texts[] = {"none", "numbers", "strings", "numbers and strings",
                                  "booleans", "numbers and booleans", "strings and booleans",
                                  "numbers, strings and booleans"};
    return texts[m & 7];
}

void taml_grow_plan_deinit(taml_grow_plan *plan)
{
    for (int i = 0; i < plan->n; i++) {
        free(plan->d[i].added);
        free(plan->d[i].removed);
        free(plan->d[i].old_of);
    }
    free(plan->d);
    memset(plan, 0, sizeof *plan);
}

int taml_grow_plan_make(taml_grow_plan *plan, const taml_space *from, const taml_space *to,
                        const char *source, taml_err *err)
{
    memset(plan, 0, sizeof *plan);
    if (!source) source = "the controller";
    int Dn = taml_space_decisions(to), Do = taml_space_decisions(from);
    plan->d = taml_calloc((size_t)(Dn + Do), sizeof *plan->d);
    int shared = 0; /* decisions sharing at least one choice */
    for (int d = 0; d < Dn; d++) {
        taml_grow_decision *g = &plan->d[plan->n++];
        g->to = d;
        g->from = taml_space_find(from, taml_space_name(to, d));
        int n = taml_space_choices(to, d);
        if (g->from < 0) {
            g->kind = TAML_GROW_NEW;
            continue;
        }
        unsigned ko = kinds_of(from, g->from), kn = kinds_of(to, d);
        if (!(ko & kn)) {
            taml_err_set(err, TAML_EMISMATCH,
                         "%s: decision '%s' has values of another type: the controller's are "
                         "%s, this search's %s; a controller carries over only to decisions "
                         "whose values are of a type it knows (rename the decision, or search "
                         "the controller's own space)",
                         source, taml_space_name(to, d), kinds_text(ko), kinds_text(kn));
            taml_grow_plan_deinit(plan);
            return TAML_EMISMATCH;
        }
        int no = taml_space_choices(from, g->from), common = 0;
        g->old_of = taml_malloc((size_t)n * sizeof *g->old_of);
        g->added = taml_malloc((size_t)n * sizeof *g->added);
        g->removed = taml_malloc((size_t)no * sizeof *g->removed);
        for (int c = 0; c < n; c++) {
            g->old_of[c] = -1;
            for (int k = 0; k < no && g->old_of[c] < 0; k++)
                if (taml_space_choice_equal(taml_space_choice(to, d, c), taml_space_choice(from, g->from, k)))
                    g->old_of[c] = k;
            if (g->old_of[c] < 0)
                g->added[g->n_added++] = c;
            else
                common++;
        }
        for (int k = 0; k < no; k++) {
            int kept = 0;
            for (int c = 0; c < n && !kept; c++) kept = g->old_of[c] == k;
            if (!kept) g->removed[g->n_removed++] = k;
        }
        if (!common) {
            g->kind = TAML_GROW_REPLACED;
            free(g->old_of);
            g->old_of = NULL;
            continue;
        }
        shared++;
        int in_order = n == no;
        for (int c = 0; in_order && c < n; c++) in_order = g->old_of[c] == c;
        g->kind = in_order ? TAML_GROW_SAME : TAML_GROW_GROWN;
        if (!in_order || g->from != d) plan->changed = 1;
    }
    for (int k = 0; k < Do; k++) {
        if (taml_space_find(to, taml_space_name(from, k)) >= 0) continue;
        taml_grow_decision *g = &plan->d[plan->n++];
        g->kind = TAML_GROW_DROPPED;
        g->to = -1;
        g->from = k;
    }
    if (plan->n != Dn || Dn != Do) plan->changed = 1;
    for (int i = 0; i < Dn; i++)
        if (plan->d[i].kind != TAML_GROW_SAME) plan->changed = 1;
    if (!shared) {
        char diff[512];
        taml_space_diff(from, to, diff, sizeof diff);
        taml_err_set(err, TAML_EMISMATCH,
                     "%s: the controller was made for a space that shares no choice of any "
                     "decision with this search's, so nothing of it would carry over "
                     "(controller vs this search: %s); transfer from a controller of this "
                     "kind of space, or search without --from",
                     source, diff);
        taml_grow_plan_deinit(plan);
        return TAML_EMISMATCH;
    }
    return TAML_OK;
}

/* ---- describing a plan ------------------------------------------------- */

/* The values of choices idx[0..n) of decision d of s, "a, b" (JSON texts). */
static char *append_values(char *b, const taml_space *s, int d, const int *idx, int n, const char *sep)
{
    for (int i = 0; i < n; i++) {
        char v[256];
        taml_space_choice_text(taml_space_choice(s, d, idx[i]), v, sizeof v);
        b = taml_append(b, "%s%s", i ? sep : "", v);
    }
    return b;
}

char *taml_grow_plan_summary(const taml_grow_plan *plan, const taml_space *from,
                             const taml_space *to)
{
    char *b = taml_strdup("");
    int parts = 0;
    for (int i = 0; i < plan->n; i++) {
        const taml_grow_decision *g = &plan->d[i];
        const char *sep = parts ? "; " : "";
        switch (g->kind) {
        case TAML_GROW_SAME: /* a shift by a decision added or dropped is no news */
            break;
        case TAML_GROW_GROWN:
            b = taml_append(b, "%s%s:", sep, taml_space_name(to, g->to));
            if (g->n_added) {
                b = taml_append(b, " %d %s added (", g->n_added, taml_text_plural(g->n_added, "choice", "choices"));
                b = append_values(b, to, g->to, g->added, g->n_added, ", ");
                b = taml_append(b, ")");
            }
            if (g->n_removed) {
                b = taml_append(b, "%s %d %s removed (", g->n_added ? "," : "", g->n_removed,
                       taml_text_plural(g->n_removed, "choice", "choices"));
                b = append_values(b, from, g->from, g->removed, g->n_removed, ", ");
                b = taml_append(b, ")");
            }
            if (!g->n_added && !g->n_removed) b = taml_append(b, " choices reordered");
            parts++;
            break;
        case TAML_GROW_NEW:
            b = taml_append(b, "%snew decision %s (fresh head)", sep, taml_space_name(to, g->to));
            parts++;
            break;
        case TAML_GROW_REPLACED:
            b = taml_append(b, "%s%s: no choice in common (fresh head)", sep, taml_space_name(to, g->to));
            parts++;
            break;
        case TAML_GROW_DROPPED:
            b = taml_append(b, "%sdropped decision %s", sep, taml_space_name(from, g->from));
            parts++;
            break;
        }
    }
    /* the shared decisions in another order: the LSTM conditions each on
     * those before it, so say so once */
    int last = -1, reordered = 0;
    for (int i = 0; i < plan->n; i++) {
        const taml_grow_decision *g = &plan->d[i];
        if (g->to < 0 || g->from < 0) continue;
        if (g->from < last) reordered = 1;
        last = g->from;
    }
    if (reordered) {
        b = taml_append(b, "%sthe decisions they share are in another order", parts ? "; " : "");
        parts++;
    }
    if (!parts) b = taml_append(b, "nothing changed");
    return b;
}

/* A JSON string literal of s (names are plain text; escape what JSON needs). */
static char *append_json_string(char *b, const char *s)
{
    b = taml_append(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            b = taml_append(b, "\\%c", *p);
        else if (*p < 0x20)
            b = taml_append(b, "\\u%04x", *p);
        else
            b = taml_append(b, "%c", *p);
    }
    return taml_append(b, "\"");
}

char *taml_grow_plan_json(const taml_grow_plan *plan, const taml_space *from,
                          const taml_space *to)
{
    char *b = NULL;
    b = taml_append(b, "{\"decisions\":[");
    for (int i = 0; i < plan->n; i++) {
        const taml_grow_decision *g = &plan->d[i];
        b = taml_append(b, "%s{\"name\":", i ? "," : "");
        b = append_json_string(b, g->to >= 0 ? taml_space_name(to, g->to) : taml_space_name(from, g->from));
        b = taml_append(b, ",\"status\":\"%s\",\"added\":[", taml_grow_kind_name(g->kind));
        if (g->to >= 0) {
            if (g->kind == TAML_GROW_NEW || g->kind == TAML_GROW_REPLACED) {
                int n = taml_space_choices(to, g->to);
                int *all = taml_malloc((size_t)n * sizeof *all);
                for (int c = 0; c < n; c++) all[c] = c;
                b = append_values(b, to, g->to, all, n, ",");
                free(all);
            } else {
                b = append_values(b, to, g->to, g->added, g->n_added, ",");
            }
        }
        b = taml_append(b, "],\"removed\":[");
        if (g->kind == TAML_GROW_DROPPED) {
            int n = taml_space_choices(from, g->from);
            int *all = taml_malloc((size_t)n * sizeof *all);
            for (int c = 0; c < n; c++) all[c] = c;
            b = append_values(b, from, g->from, all, n, ",");
            free(all);
        } else if (g->from >= 0) {
            b = append_values(b, from, g->from, g->removed, g->n_removed, ",");
        }
        b = taml_append(b, "]}");
    }
    b = taml_append(b, "]}");
    return b;
}

/* ---- the grown controller ---------------------------------------------- */

static double fresh(taml_ctrl *c)
{
    return (2 * taml_rng_uniform(&c->rng) - 1) * c->opts.init_scale;
}

/* Decision g->to's head and action table in c from src's (grow.h). */
static void carry_decision(taml_ctrl *c, const taml_ctrl *src, const taml_grow_decision *g)
{
    int d = g->to, n = taml_space_choices(c->space, d);
    double *W = c->theta + c->head_off[d], *b = W + (size_t)HEAD_IN * n;
    double *A = d < c->D - 1 ? c->theta + c->act_off[d] : NULL; /* (n, E) */
    if (!g->old_of) { /* new or replaced: a zero head, fresh action embeddings */
        if (A)
            for (size_t i = 0; i < (size_t)n * E; i++) A[i] = fresh(c);
        return;
    }
    int o = g->from, no = taml_space_choices(src->space, o);
    const double *Wo = src->theta + src->head_off[o], *bo = Wo + (size_t)HEAD_IN * no;
    const double *Ao = o < src->D - 1 ? src->theta + src->act_off[o] : NULL;
    int kept = n - g->n_added;
    for (int k = 0; k < n; k++) {
        int j = g->old_of[k];
        if (j >= 0) {
            for (int i = 0; i < HEAD_IN; i++) W[(size_t)i * n + k] = Wo[(size_t)i * no + j];
            b[k] = bo[j];
            continue;
        }
        /* added: the mean of the kept columns (the bias is set later) */
        for (int i = 0; i < HEAD_IN; i++) {
            double s = 0;
            for (int q = 0; q < n; q++)
                if (g->old_of[q] >= 0) s += Wo[(size_t)i * no + g->old_of[q]];
            W[(size_t)i * n + k] = s / kept;
        }
        double s = 0;
        for (int q = 0; q < n; q++)
            if (g->old_of[q] >= 0) s += bo[g->old_of[q]];
        b[k] = s / kept;
    }
    if (!A) return;
    for (int k = 0; k < n; k++) {
        int j = g->old_of[k];
        for (int i = 0; i < E; i++)
            A[(size_t)k * E + i] = j >= 0 && Ao ? Ao[(size_t)j * E + i] : fresh(c);
    }
}

/* Gives decision g->to's added choices their share at the reference input:
 * the kept logits z_k at step d of the greedy path of task, and each added
 * bias raised by log(mean exp z_k) - mean z_k. */
static void share_added(taml_ctrl *c, const taml_grow_decision *g, int task)
{
    int d = g->to, n = taml_space_choices(c->space, d);
    int32_t *path = taml_malloc((size_t)c->D * sizeof *path);
    taml_ctrl_greedy(c, task, path); /* fills the caches: h2 row d + 1, x row d */
    free(path);
    double u[HEAD_IN];
    memcpy(u, c->h2 + (size_t)(d + 1) * H, H * sizeof(double));
    memcpy(u + H, c->x + (size_t)d * 2 * E, 2 * E * sizeof(double));
    double *W = c->theta + c->head_off[d], *b = W + (size_t)HEAD_IN * n;
    double *z = taml_malloc((size_t)n * sizeof *z), mx = -INFINITY, mean = 0;
    int kept = 0;
    for (int k = 0; k < n; k++) {
        if (g->old_of[k] < 0) continue;
        z[k] = b[k];
        for (int i = 0; i < HEAD_IN; i++) z[k] += u[i] * W[(size_t)i * n + k];
        mx = fmax(mx, z[k]);
        mean += z[k];
        kept++;
    }
    mean /= kept;
    double se = 0;
    for (int k = 0; k < n; k++)
        if (g->old_of[k] >= 0) se += exp(z[k] - mx);
    double lme = mx + log(se / kept);
    for (int k = 0; k < n; k++)
        if (g->old_of[k] < 0) b[k] += lme - mean;
    free(z);
    c->version++; /* the weights changed: the forward caches are stale */
}

int taml_ctrl_grow(taml_ctrl **out, const taml_ctrl *src, const taml_space *to,
                   const taml_grow_plan *plan, int ref_task, taml_err *err)
{
    *out = NULL;
    if (ref_task < 0 || ref_task >= src->n_tasks)
        return taml_err_set(err, TAML_EINVAL, "controller growth: no task %d (have %d)", ref_task,
                            src->n_tasks);
    if (plan->n < taml_space_decisions(to))
        return taml_err_set(err, TAML_EINVAL, "controller growth: the plan is not for this space");
    taml_ctrl *c = taml_ctrl_alloc(to, &src->opts);
    c->rng = src->rng;
    for (int t = 0; t < src->n_tasks; t++) {
        ctrl_task *k = taml_ctrl_push_task(c, src->tasks[t].name);
        char *name = k->name;
        *k = src->tasks[t];
        k->name = name;
    }
    /* the groups of one size in every space: the LSTM layers and the start */
    memcpy(c->theta + c->goff[TAML_CTRL_LSTM1], src->theta + src->goff[TAML_CTRL_LSTM1],
           (c->goff[TAML_CTRL_HEADS] - c->goff[TAML_CTRL_LSTM1]) * sizeof(double));
    memcpy(c->theta + c->goff[TAML_CTRL_START], src->theta + src->goff[TAML_CTRL_START],
           E * sizeof(double));
    for (int d = 0; d < c->D; d++) carry_decision(c, src, &plan->d[d]);
    /* in decision order: a share set at d changes the path that reaches d + 1 */
    for (int d = 0; d < c->D; d++)
        if (plan->d[d].old_of && plan->d[d].n_added) share_added(c, &plan->d[d], ref_task);
    c->version++;
    *out = c;
    return TAML_OK;
}
