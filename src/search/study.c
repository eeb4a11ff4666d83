/* search/study.c - the study a search runs on (see search_internal.h): a
 * new study is created with its settings, its controllers and their first
 * checkpoint; a study that exists is first checked to be the one asked for
 * (method, tasks, space, seed, order, the controller's learning options) and
 * then rebuilt in memory as the loop left it: the newest checkpoint, the
 * controller updates recorded after it replayed in their order, and every
 * trial's state. Also the transfer source reader: a controller from a study
 * file's newest checkpoint or from a checkpoint file.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/text.h"
#include "core/util.h"
#include "ctrl/bundle.h"
#include "ctrl/ctrlfile.h"
#include "ctrl/grow.h"
#include "embed/module.h"
#include "search/search_internal.h"

/* ------------------------------------------------------ setting up a study */

/* The controllers from a checkpoint blob (search.c's save_blob writes it);
 * source names the blob in messages. */
static int load_blob(search_run *r, const void *blob, size_t size, const char *source, taml_err *err)
{
    if (r->method != TAML_SEARCH_AML) {
        r->n_ctrl = 1;
        r->ctrl = taml_calloc(1, sizeof *r->ctrl);
        return taml_ctrl_load_named(&r->ctrl[0], r->space, blob, size, source, err);
    }
    int32_t n;
    int rc = taml_ctrl_bundle_load(&r->ctrl, &n, r->space, blob, size, source, err);
    if (rc) return rc;
    r->n_ctrl = n;
    if (n != r->n_tasks)
        return taml_err_set(err, TAML_ECORRUPT, "%s: %d aml %s for %d %s", source, (int)n,
                            taml_text_plural(n, "controller", "controllers"), (int)r->n_tasks,
                            taml_text_plural(r->n_tasks, "task", "tasks"));
    return TAML_OK;
}

/* The pruner's settings as the options record them: "" for none (a study
 * without a pruner keeps the record it had before pruning existed). */
static char *prune_json(const taml_prune_opts *p)
{
    if (p->pruner == TAML_PRUNER_NONE) return taml_strdup("");
    return taml_asprintf(",\"pruner\":\"%s\",\"prune_eta\":%d,\"prune_min\":%lld,"
                         "\"prune_warmup\":%d",
                         taml_prune_name(p->pruner), (int)p->eta, (long long)p->min_samples,
                         (int)p->warmup);
}

static char *options_json(const search_run *r)
{
    char *s = taml_asprintf("{\"deterministic\":%s,\"lag\":%d", r->deterministic ? "true" : "false",
                            r->deterministic ? (int)r->lag : 0);
    /* only when on: every study made without them keeps its record as it was */
    if (r->explore > 0) s = taml_append(s, ",\"explore_uniform\":%.17g", r->explore);
    if (r->temp0 != 1)
        s = taml_append(s, ",\"explore_temperature\":%.17g,\"explore_trials\":%d", r->temp0,
                        (int)r->temp_trials);
    char *pr = prune_json(&r->prune);
    s = taml_append(s, "%s}", pr);
    free(pr);
    return s;
}

int taml_search_prune_of_options(const char *options_json, taml_prune_opts *p)
{
    taml_prune_opts_default(p);
    cJSON *j = cJSON_Parse(options_json ? options_json : "{}");
    cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "pruner");
    cJSON *eta = cJSON_GetObjectItemCaseSensitive(j, "prune_eta");
    cJSON *min = cJSON_GetObjectItemCaseSensitive(j, "prune_min");
    cJSON *warm = cJSON_GetObjectItemCaseSensitive(j, "prune_warmup");
    int rc = 0;
    if (name) {
        int k = cJSON_IsString(name) ? taml_prune_parse(name->valuestring) : -1;
        if (k < 0) rc = -1;
        else p->pruner = (taml_pruner)k;
    }
    if (cJSON_IsNumber(eta)) p->eta = (int32_t)eta->valuedouble;
    if (cJSON_IsNumber(min)) p->min_samples = (int64_t)min->valuedouble;
    if (cJSON_IsNumber(warm)) p->warmup = (int32_t)warm->valuedouble;
    cJSON_Delete(j);
    return rc;
}

/* "asha (eta 3, min 1000 samples, warm-up 5)" or "none". */
static void prune_text(const taml_prune_opts *p, char *buf, size_t cap)
{
    if (p->pruner == TAML_PRUNER_NONE)
        snprintf(buf, cap, "none");
    else
        snprintf(buf, cap, "%s (--prune-eta %d, --prune-min %lld, --prune-warmup %d)",
                 taml_prune_name(p->pruner), (int)p->eta, (long long)p->min_samples,
                 (int)p->warmup);
}

static char *fingerprint_hex(const taml_space *s)
{
    return taml_asprintf("%016" PRIx64, taml_space_fingerprint(s));
}

/* Checks that a stored study is the one asked for; EMISMATCH says what differs. */
static int check_same_study(search_run *r, const taml_study *st, taml_err *err)
{
    const char *path = taml_store_path(r->store);
    if (taml_search_method_parse(st->method) != (int)r->method)
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study was made with method %s, not %s; continue it with "
                            "--method %s or use another --study file",
                            path, st->method, taml_search_method_name(r->method), st->method);
    int same_tasks = st->n_tasks == r->n_tasks;
    for (int32_t i = 0; same_tasks && i < r->n_tasks; i++)
        same_tasks = !strcmp(st->task_names[i], r->names[i]);
    if (!same_tasks) {
        char have[512] = "", want[512] = "";
        for (int32_t i = 0; i < st->n_tasks; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "",
                     st->task_names[i]);
        for (int32_t i = 0; i < r->n_tasks; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? ", " : "",
                     r->names[i]);
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study's tasks are [%s] (in this order), not [%s]", path, have,
                            want);
    }
    char *fp = fingerprint_hex(r->space);
    int same_space = !strcmp(fp, st->space_fingerprint);
    free(fp);
    if (!same_space) {
        taml_space *old = NULL;
        char diff[512] = "the fingerprints differ";
        taml_err e2;
        if (taml_space_from_json(&old, st->space_json, "study space", &e2) == 0)
            taml_space_diff(old, r->space, diff, sizeof diff);
        taml_space_free(old);
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study was made with another search space (study vs now: %s)",
                            path, diff);
    }
    if (r->o->seed_set && r->o->seed != st->seed)
        return taml_err_set(err, TAML_EMISMATCH, "%s: the study's seed is %" PRIu64 ", not %" PRIu64,
                            path, st->seed, r->o->seed);
    if (r->deterministic && r->o->lag == 0) {
        /* no --lag given: keep the study's (its default was the worker count
         * of the run that made it, which this run need not share) */
        cJSON *j = cJSON_Parse(st->options_json);
        cJSON *lag = cJSON_GetObjectItemCaseSensitive(j, "lag");
        if (cJSON_IsNumber(lag) && lag->valuedouble >= 1) r->lag = (int32_t)lag->valuedouble;
        cJSON_Delete(j);
    }
    if (!r->o->explore_set) { /* not given: the study's own (search.h) */
        cJSON *j = cJSON_Parse(st->options_json);
        cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "explore_uniform");
        r->explore = cJSON_IsNumber(x) ? x->valuedouble : 0;
        cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "explore_temperature");
        cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "explore_trials");
        r->temp0 = cJSON_IsNumber(t) ? t->valuedouble : 1;
        r->temp_trials = cJSON_IsNumber(k) ? (int32_t)k->valuedouble : 100;
        cJSON_Delete(j);
    }
    taml_prune_opts was;
    if (taml_search_prune_of_options(st->options_json, &was) < 0)
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study's options %s name a pruner this taml does not know "
                            "(it knows none, median and asha): continue it with the taml that made it",
                            path, st->options_json);
    char *p_was = prune_json(&was), *p_now = prune_json(&r->prune);
    int same_prune = !strcmp(p_was, p_now);
    free(p_was);
    free(p_now);
    if (!same_prune) {
        char a[160], b[160];
        prune_text(&was, a, sizeof a);
        prune_text(&r->prune, b, sizeof b);
        return taml_err_set(err, TAML_EMISMATCH,
                            "%s: the study's pruner is %s, not %s: continue it with the pruning "
                            "options it was made with",
                            path, a, b);
    }
    char *opt = options_json(r);
    int same_opts = !strcmp(opt, st->options_json);
    free(opt);
    if (!same_opts) {
        char *want = options_json(r);
        taml_err_set(err, TAML_EMISMATCH,
                     "%s: the study's order is %s, not %s (--deterministic, --lag and the "
                     "--explore-* flags must be as when it was made)",
                     path, st->options_json, want);
        free(want);
        return TAML_EMISMATCH;
    }
    return TAML_OK;
}

/* ------------------------------------------------ the data a study ran on */

static const char *const split_names[3] = {"train", "valid", "test"};

taml_study_task taml_search_data_of(const taml_task_identity *id, const char *dir)
{
    taml_study_task d = {.fingerprint = id->fingerprint, .image = id->image,
                        .n_classes = id->n_classes, .classes = id->classes,
                        .dir = (char *)dir};
    for (int k = 0; k < 3; k++) {
        d.n_split[k] = id->n_split[k];
        d.labels[k] = id->labels[k];
        d.content[k] = id->content[k];
    }
    return d;
}

static void appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* The splits (" the train and test splits") whose digests differ in a vs b. */
static void splits_differ(char *buf, size_t cap, const uint64_t *a, const uint64_t *b)
{
    int n = 0, which[3];
    for (int k = 0; k < 3; k++)
        if (a[k] != b[k]) which[n++] = k;
    appendf(buf, cap, " of the ");
    for (int i = 0; i < n; i++)
        appendf(buf, cap, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", split_names[which[i]]);
    appendf(buf, cap, " %s", taml_text_plural(n, "split", "splits"));
}

void taml_search_data_diff(const taml_study_task *was, const taml_study_task *now, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (was->image != now->image) {
        appendf(buf, cap, "the kind (%s then, %s now)", was->image ? "image" : "text",
                now->image ? "image" : "text");
        return;
    }
    if (memcmp(was->n_split, now->n_split, sizeof was->n_split)) {
        appendf(buf, cap, "the examples per split (");
        for (int k = 0, first = 1; k < 3; k++)
            if (was->n_split[k] != now->n_split[k]) {
                appendf(buf, cap, "%s%s %d then, %d now", first ? "" : "; ", split_names[k],
                        (int)was->n_split[k], (int)now->n_split[k]);
                first = 0;
            }
        appendf(buf, cap, ")");
        return;
    }
    if (was->n_classes != now->n_classes)
        appendf(buf, cap, "the classes (%d then, %d now)", (int)was->n_classes, (int)now->n_classes);
    else if (was->classes != now->classes)
        appendf(buf, cap, "the class names (%d of them then and now, but not the same)",
                (int)now->n_classes);
    if (memcmp(was->labels, now->labels, sizeof was->labels)) {
        appendf(buf, cap, "%sthe labels", buf[0] ? "; " : "");
        splits_differ(buf, cap, was->labels, now->labels);
    }
    if (memcmp(was->content, now->content, sizeof was->content)) {
        appendf(buf, cap, "%sthe %s", buf[0] ? "; " : "", now->image ? "pixels" : "texts");
        splits_differ(buf, cap, was->content, now->content);
    }
    if (!buf[0] && was->fingerprint != now->fingerprint)
        appendf(buf, cap, "the fingerprint (%016" PRIx64 " then, %016" PRIx64 " now)",
                was->fingerprint, now->fingerprint);
}

/* "train 80, valid 10, test 10 examples, 4 classes" */
static void data_summary(const taml_study_task *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "train %d, valid %d, test %d examples, %d %s", (int)d->n_split[0],
             (int)d->n_split[1], (int)d->n_split[2], (int)d->n_classes,
             taml_text_plural(d->n_classes, "class", "classes"));
}

/* Refuses task `name` as data now when the record was says otherwise; what
 * names whose record it is ("the study", "the transfer source X"). */
static int check_task_data(const char *path, const char *what, const char *name,
                           const taml_study_task *was, const taml_study_task *now, taml_err *err)
{
    char diff[512], then[128], cur[128];
    taml_search_data_diff(was, now, diff, sizeof diff);
    if (!diff[0]) return TAML_OK;
    data_summary(was, then, sizeof then);
    data_summary(now, cur, sizeof cur);
    return taml_err_set(err, TAML_EMISMATCH,
                        "%s: task '%s' is not the data %s ran on: %s recorded %s (%s), now %s "
                        "holds %s; they differ in %s. Give the task directory it ran on, or "
                        "another --study file (or another task name: meta.txt name=)",
                        path, name, what, what, was->dir, then, now->dir, cur, diff);
}

/* Records the data of every task that has no record yet (a new study, or
 * one made before taml recorded it) and refuses a task whose data is not
 * what was recorded. */
static int check_study_data(search_run *r, const char *const *task_dirs, int creating, taml_err *err)
{
    if (!r->o->task_identity) return TAML_OK;
    const char *path = taml_store_path(r->store);
    for (int32_t k = 0; k < r->n_tasks; k++) {
        taml_study_task was, now = taml_search_data_of(&r->o->task_identity[k], task_dirs[k]);
        int rc = taml_store_task_data_get(r->store, k, &was, err);
        if (rc < 0) return rc;
        if (rc == 1) {
            rc = check_task_data(path, "the study", r->names[k], &was, &now, err);
            taml_study_task_deinit(&was);
            if (rc) return rc;
            continue;
        }
        if ((rc = taml_store_task_data_put(r->store, k, &now, err))) return rc;
        if (!creating)
            taml_search_log(r,
                            "task '%s': the study had no record of its data (made before taml "
                            "recorded it); recorded %s now: the study continues only on this data",
                            r->names[k], task_dirs[k]);
    }
    return TAML_OK;
}

/* "PATH (N bytes, CRC-32 X)" */
static void module_summary(const char *path, uint64_t size, uint32_t crc, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s (%" PRIu64 " bytes, CRC-32 %08" PRIx32 ")", path, size, crc);
}

/* Refuses module stamp now under name when the record was is another file. */
static int check_module(const char *path, const char *what, const char *name,
                        const taml_study_module *was, const taml_module_stamp *now, taml_err *err)
{
    if (was->crc32 == now->crc32 && was->size == now->size) return TAML_OK;
    char then[4200], cur[4200];
    module_summary(was->path, was->size, was->crc32, then, sizeof then);
    module_summary(now->path, now->size, now->crc32, cur, sizeof cur);
    return taml_err_set(err, TAML_EMISMATCH,
                        "%s: module '%s' is not the file %s ran on: %s recorded %s, now it is %s; "
                        "they differ in %s. Give --modules the library it ran with, or another "
                        "--study file",
                        path, name, what, what, then, cur,
                        was->crc32 != now->crc32 ? "the checksum" : "the size");
}

/* Calls fn for the stamp of each module file the space's "embedding"
 * choices name (random-D and names that are no module file have none: a
 * trial that picks one fails with its own message, as before). */
typedef int (*module_fn)(void *ctx, const char *name, const taml_module_stamp *m, taml_err *err);
static int each_module(const taml_space *space, const char *library, module_fn fn, void *ctx,
                       taml_err *err)
{
    int d = taml_space_find(space, "embedding");
    if (d < 0) return TAML_OK;
    for (int c = 0; c < taml_space_choices(space, d); c++) {
        const taml_choice *ch = taml_space_choice(space, d, c);
        if (ch->kind != TAML_CHOICE_STRING) continue;
        taml_module_stamp m;
        taml_err ignored;
        if (taml_module_stamp_get(&m, ch->str, library, &ignored) != 1) continue;
        int rc = fn(ctx, ch->str, &m, err);
        taml_module_stamp_deinit(&m);
        if (rc) return rc;
    }
    return TAML_OK;
}

typedef struct module_check {
    search_run *r;
    int creating;
} module_check;

static int study_module(void *ctx, const char *name, const taml_module_stamp *m, taml_err *err)
{
    module_check *mc = ctx;
    taml_store *store = mc->r->store;
    taml_study_module was;
    int rc = taml_store_module_get(store, name, &was, err);
    if (rc < 0) return rc;
    if (rc == 1) {
        rc = check_module(taml_store_path(store), "the study", name, &was, m, err);
        taml_study_module_deinit(&was);
        return rc;
    }
    taml_study_module now = {.name = (char *)name, .path = m->path, .size = m->size,
                              .crc32 = m->crc32};
    if ((rc = taml_store_module_put(store, &now, err))) return rc;
    if (!mc->creating)
        taml_search_log(mc->r, "module '%s': the study had no record of its file; recorded %s",
                        name, m->path);
    return TAML_OK;
}

/* The module library as the study records it: an absolute path when it
 * resolves (export may run elsewhere), else as given. Heap. */
static char *library_path(const char *dir)
{
    char *abs = realpath(dir, NULL);
    return abs ? abs : taml_strdup(dir);
}

/* Records (or checks) the study's modules and, when none is recorded, its
 * module library. */
static int check_study_modules(search_run *r, const taml_study *st, int creating, taml_err *err)
{
    int rc;
    if (!creating && !st->modules_dir && r->o->modules_dir) {
        char *dir = library_path(r->o->modules_dir);
        rc = taml_store_set_modules_dir(r->store, dir, err);
        if (!rc)
            taml_search_log(r, "the study had no record of its module library; recorded %s", dir);
        free(dir);
        if (rc) return rc;
    }
    module_check mc = {.r = r, .creating = creating};
    return each_module(r->space, r->o->modules_dir, study_module, &mc, err);
}

/* A transfer from a study shares its controller's tasks and modules by
 * name: where both have one under a name, the data must be the same. */
typedef struct source_check {
    taml_store *src;
    const char *path, *what;
} source_check;

static int source_module(void *ctx, const char *name, const taml_module_stamp *m, taml_err *err)
{
    source_check *sc = ctx;
    taml_study_module was;
    int rc = taml_store_module_get(sc->src, name, &was, err);
    if (rc <= 0) return rc;
    rc = check_module(sc->path, sc->what, name, &was, m, err);
    taml_study_module_deinit(&was);
    return rc;
}

/* A controller file's provenance records each task's data fingerprint
 * (search/ctrlfile.h): a task the new study shares by name must be that
 * data. */
static int check_ctrlfile_data(const search_run *r, const char *from, const char *const *task_dirs,
                               taml_err *err)
{
    char *data = NULL;
    size_t size = 0;
    taml_err ignored;
    if (taml_read_file(from, &data, &size, &ignored)) return TAML_OK;
    taml_ctrlfile f;
    int rc = TAML_OK;
    if (!taml_ctrlfile_is(data, size) || taml_ctrlfile_open(&f, data, size, from, &ignored)) {
        free(data);
        return TAML_OK; /* a checkpoint records no data (a bad file was refused before) */
    }
    cJSON *prov = cJSON_Parse(f.provenance), *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(prov, "tasks"))
    {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        cJSON *fp = cJSON_GetObjectItemCaseSensitive(t, "fingerprint");
        cJSON *dir = cJSON_GetObjectItemCaseSensitive(t, "dir");
        if (!cJSON_IsString(name) || !cJSON_IsString(fp)) continue;
        for (int32_t k = 0; !rc && r->o->task_identity && k < r->n_tasks; k++) {
            if (strcmp(name->valuestring, r->names[k])) continue;
            char now[17];
            snprintf(now, sizeof now, "%016" PRIx64, r->o->task_identity[k].fingerprint);
            if (strcmp(now, fp->valuestring))
                rc = taml_err_set(err, TAML_EMISMATCH,
                                  "%s: task '%s' is not the data the controller was trained on: "
                                  "its provenance records %s (data fingerprint %s), now %s holds "
                                  "data fingerprint %s. Give the task directory it ran on (`taml "
                                  "controller info %s` lists them), or another task name (meta.txt "
                                  "name=)",
                                  from, r->names[k], cJSON_IsString(dir) ? dir->valuestring : "?",
                                  fp->valuestring, task_dirs[k], now, from);
        }
    }
    cJSON_Delete(prov);
    taml_ctrlfile_deinit(&f);
    free(data);
    return rc;
}

static int check_source_data(const search_run *r, const char *const *task_dirs, taml_err *err)
{
    const char *from = r->o->from_path;
    if (!from) return TAML_OK;
    taml_store *src = NULL;
    taml_err e2;
    if (taml_store_open(&src, from, TAML_STORE_READONLY, &e2))
        return check_ctrlfile_data(r, from, task_dirs, err);
    char *what = taml_asprintf("the transfer source %s", from);
    taml_study st;
    int rc = taml_store_study(src, &st, err);
    for (int32_t k = 0; !rc && r->o->task_identity && k < r->n_tasks; k++) {
        int32_t j = -1;
        for (int32_t i = 0; i < st.n_tasks; i++)
            if (!strcmp(st.task_names[i], r->names[k])) j = i;
        if (j < 0) continue;
        taml_study_task was, now = taml_search_data_of(&r->o->task_identity[k], task_dirs[k]);
        if ((rc = taml_store_task_data_get(src, j, &was, err)) == 1) {
            rc = check_task_data(from, what, r->names[k], &was, &now, err);
            taml_study_task_deinit(&was);
        }
    }
    if (!rc) {
        source_check sc = {.src = src, .path = from, .what = what};
        rc = each_module(r->space, r->o->modules_dir, source_module, &sc, err);
    }
    if (rc >= 0 && rc != TAML_OK) rc = TAML_OK;
    taml_study_deinit(&st);
    taml_store_close(src);
    free(what);
    return rc;
}

/* The transfer source's controller for r's space (*out): loaded as it is
 * when it was made for this space, else carried over to it (ctrl/grow.h)
 * with the study's tasks added first, in their order (the first gives the
 * reference input of an added choice's share), so their ids are what
 * adding them after a plain load gives. *own (heap) is the source's own
 * space and *plan the mapping from it (always made: every decision "same"
 * when nothing differs). */
static int source_controller(const search_run *r, taml_ctrl **out, taml_space **own,
                             taml_grow_plan *plan, taml_err *err)
{
    *out = NULL;
    *own = NULL;
    memset(plan, 0, sizeof *plan);
    const char *source = r->o->from_path ? r->o->from_path : "transfer source";
    int rc = taml_ctrl_checkpoint_space(own, r->o->from_blob, r->o->from_size, source, err);
    if (!rc) rc = taml_grow_plan_make(plan, *own, r->space, source, err);
    if (rc) return rc;
    if (!plan->changed)
        return taml_ctrl_load_named(out, r->space, r->o->from_blob, r->o->from_size, source, err);
    taml_ctrl *src = NULL;
    rc = taml_ctrl_load_named(&src, *own, r->o->from_blob, r->o->from_size, source, err);
    int ref = -1;
    for (int32_t k = 0; !rc && k < r->n_tasks; k++) {
        int id = taml_ctrl_add_task(src, r->names[k], err);
        if (id < 0) rc = id;
        if (k == 0) ref = id;
    }
    if (!rc) rc = taml_ctrl_grow(out, src, r->space, plan, ref, err);
    taml_ctrl_free(src);
    return rc;
}

/* Records where a new transfer study's controller came from and how it was
 * carried over (store.h's transfer record), and says so when it grew. */
static int record_transfer(search_run *r, const taml_space *own, const taml_grow_plan *plan,
                           taml_err *err)
{
    char *json = taml_space_to_json(own), *fp = fingerprint_hex(own);
    char *mapping = taml_grow_plan_json(plan, own, r->space);
    char *summary = taml_grow_plan_summary(plan, own, r->space);
    const char *source = r->o->from_path ? r->o->from_path : "transfer source";
    taml_store_transfer t = {.source = (char *)source, .source_space = json,
                             .source_fingerprint = fp, .grown = plan->changed,
                             .mapping_json = mapping, .summary = summary};
    int rc = taml_store_transfer_put(r->store, &t, err);
    if (!rc && plan->changed)
        taml_search_log(r,
                        "transfer: %s was made for another space; carried over to this "
                        "search's (recorded in the study, taml status shows it): %s",
                        source, summary);
    free(json);
    free(fp);
    free(mapping);
    free(summary);
    return rc;
}

static int new_controllers(search_run *r, taml_err *err)
{
    taml_ctrl_opts co;
    if (r->o->ctrl_opts)
        co = *r->o->ctrl_opts;
    else
        taml_ctrl_opts_default(&co);
    int rc;
    if (r->method == TAML_SEARCH_TRANSFER) {
        if (!r->o->from_blob)
            return taml_err_set(err, TAML_EINVAL,
                                "transfer needs a source controller (--from STUDY_OR_CHECKPOINT)");
        r->n_ctrl = 1;
        r->ctrl = taml_calloc(1, sizeof *r->ctrl);
        taml_space *own;
        taml_grow_plan plan;
        rc = source_controller(r, &r->ctrl[0], &own, &plan, err);
        if (!rc) rc = record_transfer(r, own, &plan, err);
        taml_grow_plan_deinit(&plan);
        taml_space_free(own);
        if (rc) return rc;
        if (r->o->ctrl_opts) {
            taml_ctrl_opts keep = *taml_ctrl_get_opts(r->ctrl[0]);
            co.seed = keep.seed;
            if ((rc = taml_ctrl_set_opts(r->ctrl[0], &co, err))) return rc;
        }
        return TAML_OK;
    }
    r->n_ctrl = r->method == TAML_SEARCH_AML ? r->n_tasks : 1;
    r->ctrl = taml_calloc((size_t)r->n_ctrl, sizeof *r->ctrl);
    for (int i = 0; i < r->n_ctrl; i++) {
        co.seed = taml_rng_derive(r->seed, STREAM_CTRL + (uint64_t)i);
        if ((rc = taml_ctrl_new(&r->ctrl[i], r->space, &co, err))) return rc;
    }
    return TAML_OK;
}

/* Registers the study's tasks in their controllers (existing names keep
 * their embedding: a resumed study, or a transfer to a task seen before). */
static int register_tasks(search_run *r, taml_err *err)
{
    for (int32_t k = 0; k < r->n_tasks; k++) {
        int id = taml_ctrl_add_task(run_ctrl_of(r, k), r->names[k], err);
        if (id < 0) return id;
        r->ctrl_task[k] = id;
    }
    return TAML_OK;
}

/* A resumed study keeps the learning options its controllers were made with
 * (they are in the checkpoint); options given again must be the same ones. */
static int check_same_learning(search_run *r, taml_err *err)
{
    const taml_ctrl_opts *a = taml_ctrl_get_opts(r->ctrl[0]), *b = r->o->ctrl_opts;
    int same = a->lr == b->lr && a->beta1 == b->beta1 && a->beta2 == b->beta2 &&
               a->adam_eps == b->adam_eps && a->grad_clip == b->grad_clip &&
               a->entropy_weight == b->entropy_weight && a->ema_decay == b->ema_decay &&
               a->warmup == b->warmup && a->normalise == b->normalise &&
               a->adv_clip == b->adv_clip && a->transfer_restart == b->transfer_restart;
    if (same) return TAML_OK;
    return taml_err_set(err, TAML_EMISMATCH,
                        "%s: the study's controller learns with lr %g, entropy weight %g (and "
                        "its other options), not lr %g, entropy weight %g as given: continue it "
                        "with its own options (or without these flags)",
                        taml_store_path(r->store), a->lr, a->entropy_weight, b->lr,
                        b->entropy_weight);
}

/* Restores the controllers: the newest checkpoint, then the updates recorded
 * after it, in the order they were applied. */
static int restore(search_run *r, taml_err *err)
{
    void *blob = NULL;
    size_t size;
    int64_t after;
    int rc = taml_store_checkpoint_last(r->store, &blob, &size, &after, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return taml_err_set(err, TAML_ECORRUPT, "%s: the study has no controller checkpoint",
                            taml_store_path(r->store));
    char *source = taml_asprintf("%s: checkpoint after update %lld", taml_store_path(r->store),
                                 (long long)after);
    rc = load_blob(r, blob, size, source, err);
    free(source);
    free(blob);
    if (rc) return rc;
    for (int32_t k = 0; k < r->n_tasks; k++) {
        r->ctrl_task[k] = taml_ctrl_find_task(run_ctrl_of(r, k), r->names[k]);
        if (r->ctrl_task[k] < 0)
            return taml_err_set(err, TAML_ECORRUPT, "%s: checkpoint has no task '%s'",
                                taml_store_path(r->store), r->names[k]);
    }
    r->seq = r->seq_ckpt = after;
    /* the baselines as of the checkpoint: a task with no update replayed
     * below keeps its value there, as in the run that saved it */
    if ((rc = taml_store_checkpoint_last_baselines(r->store, r->n_tasks, r->baseline, r->sigma,
                                                   err)) < 0)
        return rc;
    taml_store_iter *it;
    if ((rc = taml_store_iter_new(r->store, TAML_ITER_BY_SEQ, after, &it, err))) return rc;
    taml_trial t;
    int64_t replayed = 0;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (t.update_seq != r->seq + 1 || t.n_actions != r->n_dec || t.task < 0 ||
            t.task >= r->n_tasks) {
            rc = taml_err_set(err, TAML_ECORRUPT,
                              "%s: trial %lld has update %lld where %lld was expected",
                              taml_store_path(r->store), (long long)t.id,
                              (long long)t.update_seq, (long long)r->seq + 1);
            break;
        }
        taml_ctrl_step info;
        double reward = t.state == TAML_TRIAL_PRUNED && isfinite(t.reward) ? t.reward : t.valid_acc;
        if ((rc = taml_ctrl_update(run_ctrl_of(r, t.task), r->ctrl_task[t.task], t.actions, reward,
                                   &info, err)))
            break;
        r->baseline[t.task] = info.baseline;
        r->sigma[t.task] = info.sigma;
        r->seq++;
        replayed++;
    }
    taml_store_iter_free(it);
    if (rc < 0) return rc;
    if (replayed) taml_search_log(r, "replayed %lld controller updates after the checkpoint", (long long)replayed);
    return TAML_OK;
}

/* Loads what the store knows of every trial into the per-id arrays. */
static int load_trials(search_run *r, taml_err *err)
{
    taml_store_iter *it;
    int rc = taml_store_iter_new(r->store, TAML_ITER_BY_ID, 0, &it, err);
    if (rc) return rc;
    taml_trial t;
    while ((rc = taml_store_iter_next(it, &t, err)) == 1) {
        if (t.id != r->next_id || t.n_actions != r->n_dec || t.task < 0 || t.task >= r->n_tasks) {
            rc = taml_err_set(err, TAML_ECORRUPT, "%s: trial %lld does not fit the study",
                              taml_store_path(r->store), (long long)t.id);
            break;
        }
        taml_search_grow(r, t.id);
        r->task[t.id] = t.task;
        memcpy(r->acts + (size_t)t.id * (size_t)r->n_dec, t.actions,
               (size_t)r->n_dec * sizeof(int32_t));
        r->flags[t.id] = RUN_SAMPLED;
        r->reward[t.id] =
            t.state == TAML_TRIAL_PRUNED && isfinite(t.reward) ? t.reward : t.valid_acc;
        r->attempts[t.id] = t.attempts;
        r->next_id++;
        if (t.state == TAML_TRIAL_PENDING) {
            taml_search_queue(r, t.id);
        } else if (t.state == TAML_TRIAL_RUNNING) {
            TAML_ASSERT(r->keep_running); /* else requeued: out with an asker */
            r->inflight++;
        } else {
            TAML_ASSERT(taml_trial_state_final(t.state)); /* running ones were requeued */
            int ok = t.state != TAML_TRIAL_FAILED && isfinite(t.valid_acc);
            r->flags[t.id] |= RUN_FINISHED | (ok ? 0 : RUN_NOREWARD);
            if (t.update_seq > 0 || !ok || !run_has_ctrl(r)) r->flags[t.id] |= RUN_APPLIED;
            if (t.state == TAML_TRIAL_PRUNED && r->prune.pruner == TAML_PRUNER_NONE) {
                rc = taml_err_set(err, TAML_ECORRUPT, "%s: trial %lld is pruned in a study without a pruner",
                                  taml_store_path(r->store), (long long)t.id);
                break;
            }
            taml_search_note_rungs(r, t.id, (int)t.state, t.n_rungs < TAML_JOB_RUNGS ? t.n_rungs : TAML_JOB_RUNGS,
                                   t.rung_acc, t.pruned_rung, t.valid_acc);
            taml_search_count_finished(r, t.task,
                                       ok && t.state != TAML_TRIAL_PRUNED ? t.valid_acc : NAN);
        }
    }
    taml_store_iter_free(it);
    if (rc < 0) return rc;
    if (r->deterministic) {
        while (r->resolved + 1 < r->next_id && (r->flags[r->resolved + 1] & RUN_APPLIED))
            r->resolved++;
    } else {
        /* Asynchronous order commits a result with its update, so nothing
         * finished is unapplied; apply any that is, in id order, to be safe. */
        for (int64_t id = 1; id < r->next_id; id++)
            if ((r->flags[id] & RUN_FINISHED) && !(r->flags[id] & RUN_APPLIED)) {
                if ((rc = taml_search_apply(r, id, 1, err))) return rc;
            }
    }
    return TAML_OK;
}

/* A continued study asked for more trials per task than it recorded: it is
 * extended, and the new number recorded (taml status shows it). */
static int extend_trials(search_run *r, const taml_study *st, taml_err *err)
{
    if (r->o->trials <= st->trials_per_task) return TAML_OK;
    int rc = taml_store_set_trials(r->store, r->o->trials, err);
    if (!rc)
        taml_search_log(r, "the study asked for %d %s per task; extended to %d (recorded)",
                        (int)st->trials_per_task, taml_text_plural(st->trials_per_task, "trial", "trials"),
                        (int)r->o->trials);
    return rc;
}

int taml_search_study_open(search_run *r, const char *path, const char *const *task_dirs,
                           taml_err *err)
{
    int rc = taml_store_open(&r->store, path, TAML_STORE_CREATE | r->store_flags, err);
    if (rc) return rc;
    if (taml_store_has_study(r->store)) {
        taml_study st;
        if ((rc = taml_store_study(r->store, &st, err))) return rc;
        rc = check_same_study(r, &st, err);
        r->seed = st.seed;
        /* only a study that passed is migrated (a refused one stays as it was) */
        if (!rc) rc = taml_store_upgrade(r->store, err);
        if (!rc && !(rc = taml_store_begin(r->store, err))) {
            if (!(rc = check_study_data(r, task_dirs, 0, err)) &&
                !(rc = check_study_modules(r, &st, 0, err)) && !(rc = extend_trials(r, &st, err)))
                rc = taml_store_commit(r->store, err);
            else
                taml_store_rollback(r->store);
        }
        taml_study_deinit(&st);
        if (rc) return rc;
        if (run_has_ctrl(r) && (rc = restore(r, err))) return rc;
        if (run_has_ctrl(r) && r->o->ctrl_opts && (rc = check_same_learning(r, err))) return rc;
        int64_t n = 0;
        if (!r->keep_running && (rc = taml_store_requeue(r->store, &n, err))) return rc;
        if (n) taml_search_log(r, "%lld %s running when the search stopped: they run again",
                               (long long)n, n == 1 ? "trial was" : "trials were");
        return load_trials(r, err);
    }
    char *space_json = taml_space_to_json(r->space), *fp = fingerprint_hex(r->space);
    char *opts = options_json(r);
    char *modules_dir = r->o->modules_dir ? library_path(r->o->modules_dir) : NULL;
    taml_study st = {.method = (char *)taml_search_method_name(r->method),
                     .seed = r->seed,
                     .space_json = space_json,
                     .space_fingerprint = fp,
                     .trials_per_task = r->o->trials,
                     .options_json = opts,
                     .taml_version = (char *)(r->o->taml_version ? r->o->taml_version : ""),
                     .modules_dir = modules_dir,
                     .n_tasks = r->n_tasks,
                     .task_names = (char **)r->names,
                     .task_dirs = (char **)task_dirs};
    rc = taml_store_begin(r->store, err);
    if (!rc) rc = taml_store_create(r->store, &st, err);
    if (!rc) rc = check_study_data(r, task_dirs, 1, err);
    if (!rc) rc = check_study_modules(r, &st, 1, err);
    if (!rc && run_has_ctrl(r)) {
        rc = new_controllers(r, err);
        if (!rc) rc = register_tasks(r, err);
        if (!rc) rc = taml_search_checkpoint(r, err);
    }
    if (!rc)
        rc = taml_store_commit(r->store, err);
    else
        taml_store_rollback(r->store);
    free(space_json);
    free(fp);
    free(opts);
    free(modules_dir);
    return rc;
}

int taml_search_check_source(const search_run *r, const char *const *task_dirs, taml_err *err)
{
    if (r->method != TAML_SEARCH_TRANSFER || !r->o->from_blob) return TAML_OK;
    taml_ctrl *c = NULL;
    taml_space *own;
    taml_grow_plan plan;
    int rc = source_controller(r, &c, &own, &plan, err);
    taml_ctrl_free(c);
    taml_space_free(own);
    taml_grow_plan_deinit(&plan);
    if (rc) return rc;
    return check_source_data(r, task_dirs, err);
}

/* ------------------------------------------------- the transfer source */

/* 1 when the file at path starts with SQLite's 16-byte magic (a study),
 * 0 when not, TAML_EIO when it cannot be read. */
int taml_search_is_study_file(const char *path, taml_err *err)
{
    static const char magic[16] = "SQLite format 3";
    if (taml_is_dir(path))
        return taml_err_set(err, TAML_EIO, "%s: a directory, not a study or checkpoint file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return taml_err_set(err, TAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    char head[16];
    size_t got = fread(head, 1, sizeof head, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) return taml_err_set(err, TAML_EIO, "%s: read error", path);
    return got == sizeof head && !memcmp(head, magic, sizeof head);
}

int taml_search_load_source(const char *path, void **blob, size_t *size, taml_err *err)
{
    *blob = NULL;
    *size = 0;
    int rc = taml_search_is_study_file(path, err);
    if (rc < 0) return rc;
    if (rc == 0) {
        char *data = NULL;
        size_t n = 0;
        if ((rc = taml_read_file(path, &data, &n, err))) return rc;
        if (taml_ctrlfile_is(data, n)) { /* a controller file: its checkpoint, checked */
            taml_ctrlfile f;
            if ((rc = taml_ctrlfile_open(&f, data, n, path, err))) {
                free(data);
                return rc;
            }
            *blob = taml_malloc(f.ckpt_size);
            memcpy(*blob, f.ckpt, f.ckpt_size);
            *size = f.ckpt_size;
            taml_ctrlfile_deinit(&f);
            free(data);
            return TAML_OK;
        }
        *blob = data;
        *size = n;
        return TAML_OK;
    }
    taml_store *s;
    if ((rc = taml_store_open(&s, path, TAML_STORE_READONLY, err))) return rc;
    taml_study st;
    if ((rc = taml_store_study(s, &st, err))) {
        taml_store_close(s);
        return rc;
    }
    int m = taml_search_method_parse(st.method);
    int ok = m == TAML_SEARCH_MULTITASK || m == TAML_SEARCH_TRANSFER;
    if (!ok)
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: a %s study has no multitask controller to transfer from", path,
                          st.method);
    taml_study_deinit(&st);
    int64_t after;
    if (!rc) {
        rc = taml_store_checkpoint_last(s, blob, size, &after, err);
        if (rc == 0)
            rc = taml_err_set(err, TAML_ENOTFOUND, "%s: the study has no checkpoint", path);
        else if (rc > 0)
            rc = TAML_OK;
    }
    taml_store_close(s);
    return rc;
}
