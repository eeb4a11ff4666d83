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
#include <string.h>
#include <time.h>

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

void taml_fake_child_run(void *ctx, int32_t worker, const taml_job *job, taml_job_result *out)
{
    const taml_fake_child *f = ctx;
    (void)worker;
    if (f && f->sleep_us > 0) {
        struct timespec ts = {f->sleep_us / 1000000, (long)(f->sleep_us % 1000000) * 1000L};
        nanosleep(&ts, NULL);
    }
    cJSON *cfg = cJSON_Parse(job->config_json);
    if (!cfg || !cJSON_IsObject(cfg)) {
        out->status = TAML_TRIAL_FAILED;
        snprintf(out->error, sizeof out->error, "fake child: config is not a JSON object");
        cJSON_Delete(cfg);
        return;
    }
    double sum = 0;
    int n = 0, disabled = 0;
    char buf[64];
    for (cJSON *m = cfg->child; m; m = m->next) {
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
    out->valid_acc = 0.3 + 0.6 * (n ? sum / n : 0) + noise;
    out->test_acc = out->valid_acc - 0.02 + 0.01 * taml_rng_normal(&r);
    out->loss = 1.0 - out->valid_acc;
}
