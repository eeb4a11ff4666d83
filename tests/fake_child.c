/* tests/fake_child.c - the synthetic child of the tests and benchmarks (see
 * fake_child.h). Never used for a user's result: it is not in libtaml, and
 * only build/taml-fake (tests/fake_main.c) puts it into `taml search`.
 *
 * Reward landscape: every (task, decision, value) has a fixed preference in
 * [0, 1) (a hash), the validation accuracy is 0.3 + 0.6 x their mean plus
 * small seeded noise, so a controller can learn and the optimum is known.
 * Both towers disabled makes the trial invalid, as the real child does.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/util.h"
#include "fake_child.h"
#include "store/store.h"

static double preference(int32_t task, const char *name, const char *value)
{
    uint64_t h = taml_fnv1a(TAML_FNV_INIT, &task, sizeof task);
    h = taml_fnv1a(h, name, strlen(name) + 1);
    h = taml_fnv1a(h, value, strlen(value));
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (double)(h >> 11) * 0x1.0p-53;
}

int taml_fake_child_faults(taml_fake_child *f, const char *spec)
{
    static const struct {
        const char *name;
        taml_fake_fault_kind kind;
    } kinds[] = {{"segv", TAML_FAKE_SEGV}, {"segv-once", TAML_FAKE_SEGV_ONCE},
                 {"hang", TAML_FAKE_HANG}, {"alloc", TAML_FAKE_ALLOC}};
    f->n_faults = 0;
    for (const char *p = spec; p && *p;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end || f->n_faults == TAML_FAKE_FAULTS_MAX) return -1;
        size_t k = 0, n = sizeof kinds / sizeof kinds[0];
        while (k < n && (strlen(kinds[k].name) != (size_t)(eq - p) ||
                         strncmp(kinds[k].name, p, (size_t)(eq - p))))
            k++;
        char *stop;
        long long id = strtoll(eq + 1, &stop, 10);
        if (k == n || stop != end || id < 1) return -1;
        f->faults[f->n_faults].kind = kinds[k].kind;
        f->faults[f->n_faults].trial = id;
        f->n_faults++;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* Does what trial id's fault says, if it has one: most never return; a
 * fault that could not happen returns why (the trial then fails with it). */
static const char *misbehave(const taml_fake_child *f, int64_t id)
{
    for (int i = 0; i < f->n_faults; i++) {
        if (f->faults[i].trial != id) continue;
        switch (f->faults[i].kind) {
        case TAML_FAKE_SEGV_ONCE: {
            char *mark = taml_asprintf("%s/segv-once-%lld", f->fault_dir ? f->fault_dir : ".",
                                       (long long)id);
            FILE *m = fopen(mark, "r");
            free(mark);
            if (m) { /* it crashed before: this run is fine */
                fclose(m);
                break;
            }
            mark = taml_asprintf("%s/segv-once-%lld", f->fault_dir ? f->fault_dir : ".",
                                 (long long)id);
            m = fopen(mark, "w");
            free(mark);
            if (m) fclose(m);
        }
            /* fall through */
        case TAML_FAKE_SEGV: {
            volatile int *volatile null = NULL; /* volatile: the store cannot be elided */
            *null = 1;                          /* a null write, as a bug makes */
            break;
        }
        case TAML_FAKE_HANG:
            for (;;) pause();
        case TAML_FAKE_ALLOC: {
            /* 64 MiB at a time, never touched (so no real memory is used if
             * no limit stops it), up to 64 GiB, then it reports itself */
            void *volatile sink = NULL;
            for (int k = 0; k < 1024; k++) sink = taml_malloc((size_t)64 << 20);
            (void)sink;
            return "fake child: allocated 64 GiB and no memory limit stopped it";
        }
        }
    }
    return NULL;
}

void taml_fake_child_run(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    const taml_fake_child *f = ctx;
    (void)worker;
    if (f && f->sleep_us > 0) {
        struct timespec ts = {f->sleep_us / 1000000, (long)(f->sleep_us % 1000000) * 1000L};
        nanosleep(&ts, NULL);
    }
    const char *no_fault = f ? misbehave(f, job->id) : NULL;
    if (no_fault) {
        out->status = TAML_TRIAL_FAILED;
        snprintf(out->error, sizeof out->error, "%s", no_fault);
        return;
    }
    cJSON *cfg = cJSON_Parse(job->config_json);
    if (!cfg || !cJSON_IsObject(cfg)) {
        out->status = TAML_TRIAL_FAILED;
        snprintf(out->error, sizeof out->error, "fake child: config is not a JSON object");
        cJSON_Delete(cfg);
        return;
    }
    int curve = job->n_rungs > 0 || (f && f->curve);
    double sum = 0, samples = 0;
    int n = 0, disabled = 0;
    char buf[64];
    for (cJSON *m = cfg->child; m; m = m->next) {
        if (curve && !strcmp(m->string, "samples") && cJSON_IsNumber(m)) {
            samples = m->valuedouble;
            continue;
        }
        const char *v = buf;
        if (cJSON_IsString(m))
            v = m->valuestring;
        else if (cJSON_IsNumber(m))
            snprintf(buf, sizeof buf, "%.17g", m->valuedouble);
        else
            snprintf(buf, sizeof buf, "%s", cJSON_IsTrue(m) ? "true" : "false");
        if ((!strcmp(m->string, "deep_l2") || !strcmp(m->string, "wide_l1")) &&
            !strcmp(v, "disable"))
            disabled++;
        sum += preference(job->task, m->string, v);
        n++;
    }
    cJSON_Delete(cfg);
    taml_rng r;
    taml_rng_seed(&r, job->seed);
    double noise = 0.01 * taml_rng_normal(&r);
    out->steps = 100;
    if (disabled == 2) {
        out->status = TAML_TRIAL_INVALID;
        out->valid_acc = out->test_acc = 0.3; /* the "majority class" */
        out->loss = 1.0;
        snprintf(out->error, sizeof out->error, "both towers disabled");
        return;
    }
    out->status = TAML_TRIAL_DONE;
    if (curve) {
        double m = n ? sum / n : 0, test_noise = 0.01 * taml_rng_normal(&r);
#define FAKE_AT(x) (0.3 + 0.6 * m * ((x) > 0 ? (x) / ((x) + 3000.0) : 1.0) + noise)
        out->steps = samples > 0 ? (int64_t)(samples / 100) : 100;
        for (int32_t k = 0; k < job->n_rungs; k++) {
            double v = FAKE_AT((double)job->rung_samples[k]);
            out->rung_acc[k] = v;
            out->n_rungs = k + 1;
            if (v < job->rung_threshold[k]) {
                out->status = TAML_TRIAL_PRUNED;
                out->pruned_rung = k;
                out->valid_acc = v;
                out->test_acc = 0.0 / 0.0;
                out->loss = 1.0 - v;
                out->steps = (job->rung_samples[k] + 99) / 100;
                return;
            }
        }
        out->valid_acc = FAKE_AT(samples);
#undef FAKE_AT
        out->test_acc = out->valid_acc - 0.02 + test_noise;
        out->loss = 1.0 - out->valid_acc;
        return;
    }
    out->valid_acc = 0.3 + 0.6 * (n ? sum / n : 0) + noise;
    out->test_acc = out->valid_acc - 0.02 + 0.01 * taml_rng_normal(&r);
    out->loss = 1.0 - out->valid_acc;
}
