/* search/ctrlfile.c - controller files from studies, their description and
 * the shipped ones' place (ctrlfile.h). The provenance is JSON (cJSON stays
 * in this file). */
#include "search/ctrlfile.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/util.h"
#include "ctrl/controller.h"
#include "ctrl/ctrlfile.h"
#include "search/method.h"
#include "space/space.h"
#include "store/store.h"

static void add_hex(cJSON *o, const char *k, uint64_t v)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, v);
    cJSON_AddStringToObject(o, k, hex);
}

/* Finished trials of task k (every final state, pruned among them). */
static int64_t finished(taml_store *s, int32_t k, taml_err *err)
{
    int64_t n = 0;
    for (int st = TAML_TRIAL_DONE; st <= TAML_TRIAL_PRUNED; st++) {
        int64_t c = taml_store_count(s, st, k, err);
        if (c < 0) return c;
        n += c;
    }
    return n;
}

/* The study's own `taml search` command, from what it recorded. */
static char *search_command(const taml_study *st, const taml_space *space, int det, int lag)
{
    char *b = taml_asprintf("taml search --study STUDY.db --method %s", st->method);
    for (int32_t k = 0; k < st->n_tasks; k++) b = taml_append(b, " --task %s", st->task_dirs[k]);
    b = taml_append(b, " --trials %d --seed %" PRIu64, (int)st->trials_per_task, st->seed);
    if (det) b = taml_append(b, " --deterministic --lag %d", lag);
    const char *builtin = taml_space_builtin(space);
    if (builtin)
        b = taml_append(b, " --space %s --modules %s", builtin,
                        st->modules_dir ? st->modules_dir : "MODULES");
    else
        b = taml_append(b, " --space SPACE.json (the provenance's \"space\")");
    return b;
}

/* The provenance of the study's newest checkpoint (ctrlfile.h). */
static int provenance(taml_store *s, const char *study_path, const taml_study *st,
                      const taml_space *space, int64_t updates, const char *rebuild,
                      const char *taml_version, char **out, taml_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *opts = cJSON_Parse(st->options_json);
    cJSON *jd = cJSON_GetObjectItemCaseSensitive(opts, "deterministic");
    cJSON *jl = cJSON_GetObjectItemCaseSensitive(opts, "lag");
    int det = cJSON_IsTrue(jd), lag = cJSON_IsNumber(jl) ? (int)jl->valuedouble : 0;
    cJSON_Delete(opts);
    cJSON_AddStringToObject(o, "format", "taml controller");
    cJSON_AddStringToObject(o, "taml_version", taml_version ? taml_version : "");
    cJSON_AddStringToObject(o, "study", study_path);
    cJSON_AddStringToObject(o, "study_taml_version", st->taml_version ? st->taml_version : "");
    cJSON_AddStringToObject(o, "method", st->method);
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, st->seed);
    cJSON_AddRawToObject(o, "seed", seed); /* exact beyond 2^53 */
    cJSON_AddBoolToObject(o, "deterministic", det);
    cJSON_AddNumberToObject(o, "lag", lag);
    cJSON_AddNumberToObject(o, "trials_per_task", st->trials_per_task);
    cJSON_AddNumberToObject(o, "updates", (double)updates);
    char *sj = taml_space_to_json(space), *label = taml_space_label(sj);
    cJSON_AddStringToObject(o, "space", sj);
    add_hex(o, "space_fingerprint", taml_space_fingerprint(space));
    cJSON_AddStringToObject(o, "space_label", label);
    free(sj);
    free(label);
    cJSON *tasks = cJSON_AddArrayToObject(o, "tasks");
    int rc = TAML_OK;
    for (int32_t k = 0; k < st->n_tasks && !rc; k++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddItemToArray(tasks, t);
        cJSON_AddStringToObject(t, "name", st->task_names[k]);
        cJSON_AddStringToObject(t, "dir", st->task_dirs[k]);
        int64_t n = finished(s, k, err);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        cJSON_AddNumberToObject(t, "trials", (double)n);
        taml_study_task d;
        int got = taml_store_task_data_get(s, k, &d, err);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got) {
            add_hex(t, "fingerprint", d.fingerprint);
            cJSON *ex = cJSON_AddArrayToObject(t, "examples");
            for (int j = 0; j < 3; j++) cJSON_AddItemToArray(ex, cJSON_CreateNumber(d.n_split[j]));
            cJSON_AddNumberToObject(t, "classes", d.n_classes);
            cJSON_AddStringToObject(t, "kind", d.image ? "image" : "text");
            taml_study_task_deinit(&d);
        }
    }
    cJSON *mods = cJSON_AddArrayToObject(o, "modules");
    int e = taml_space_find(space, "embedding");
    for (int c = 0; !rc && e >= 0 && c < taml_space_choices(space, e); c++) {
        const taml_choice *ch = taml_space_choice(space, e, c);
        if (ch->kind != TAML_CHOICE_STRING) continue;
        taml_study_module m;
        int got = taml_store_module_get(s, ch->str, &m, err);
        if (got < 0) rc = got;
        if (got != 1) continue;
        cJSON *mo = cJSON_CreateObject();
        cJSON_AddStringToObject(mo, "name", m.name);
        cJSON_AddNumberToObject(mo, "size", (double)m.size);
        char crc[16];
        snprintf(crc, sizeof crc, "%08" PRIx32, m.crc32);
        cJSON_AddStringToObject(mo, "crc32", crc);
        cJSON_AddItemToArray(mods, mo);
        taml_study_module_deinit(&m);
    }
    char *cmd = rebuild ? taml_strdup(rebuild) : search_command(st, space, det, lag);
    cJSON_AddStringToObject(o, "rebuild", cmd);
    free(cmd);
    if (!rc) {
        char *text = cJSON_Print(o);
        *out = taml_strdup(text);
        cJSON_free(text);
    }
    cJSON_Delete(o);
    return rc;
}

int taml_search_ctrlfile_export(const char *study_path, const char *out_path, const char *rebuild,
                                const char *taml_version, taml_err *err)
{
    taml_store *s;
    int rc = taml_store_open(&s, study_path, TAML_STORE_READONLY, err);
    if (rc) return rc;
    taml_study st;
    memset(&st, 0, sizeof st);
    void *blob = NULL;
    size_t size = 0;
    int64_t after = 0;
    taml_space *space = NULL;
    char *prov = NULL, *what = NULL;
    void *file = NULL;
    size_t fsize = 0;
    int m;
    if (!taml_store_has_study(s)) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: holds no study", study_path);
        goto out;
    }
    if ((rc = taml_store_study(s, &st, err))) goto out;
    m = taml_search_method_parse(st.method);
    if (m != TAML_SEARCH_MULTITASK && m != TAML_SEARCH_TRANSFER) {
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: a %s study has no multitask controller to export (a controller "
                          "file is made from a multitask or transfer study)",
                          study_path, st.method);
        goto out;
    }
    rc = taml_store_checkpoint_last(s, &blob, &size, &after, err);
    if (rc == 0) rc = taml_err_set(err, TAML_EINVAL, "%s: the study has no checkpoint", study_path);
    if (rc < 0) goto out;
    what = taml_asprintf("%s: checkpoint after update %lld", study_path, (long long)after);
    if ((rc = taml_ctrl_checkpoint_space(&space, blob, size, what, err))) goto out;
    if ((rc = provenance(s, study_path, &st, space, after, rebuild, taml_version, &prov, err)))
        goto out;
    taml_ctrlfile_make(prov, blob, size, &file, &fsize);
    rc = taml_write_file_atomic(out_path, file, fsize, err);
out:
    free(file);
    free(what);
    free(prov);
    free(blob);
    taml_space_free(space);
    taml_study_deinit(&st);
    taml_store_close(s);
    return rc;
}

/* "name: value" lines of the provenance's members, in its order. */
static char *describe_text(const char *path, const taml_ctrlfile *f, size_t size, cJSON *prov)
{
    char *b = taml_asprintf("file          %s (%zu bytes)\nformat        taml controller file, "
                            "version %u\nchecksum      CRC-32 %08x (verified)\n",
                            path, size, (unsigned)f->version, (unsigned)f->crc32);
    static const char *const keys[] = {"taml_version", "study", "method", "seed",
                                       "deterministic", "lag", "trials_per_task", "updates",
                                       "space_label", "space_fingerprint"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(prov, keys[i]);
        if (!v) continue;
        char *t = cJSON_IsString(v) ? taml_strdup(v->valuestring) : cJSON_PrintUnformatted(v);
        b = taml_append(b, "%-13s %s\n", keys[i], t);
        if (cJSON_IsString(v)) free(t);
        else cJSON_free(t);
    }
    cJSON *tasks = cJSON_GetObjectItemCaseSensitive(prov, "tasks"), *t;
    b = taml_append(b, "tasks         %d\n", cJSON_GetArraySize(tasks));
    cJSON_ArrayForEach(t, tasks)
    {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        cJSON *trials = cJSON_GetObjectItemCaseSensitive(t, "trials");
        cJSON *fp = cJSON_GetObjectItemCaseSensitive(t, "fingerprint");
        b = taml_append(b, "  %-28s %6.0f trials  data %s\n",
                        cJSON_IsString(name) ? name->valuestring : "?",
                        cJSON_IsNumber(trials) ? trials->valuedouble : 0.0,
                        cJSON_IsString(fp) ? fp->valuestring : "(not recorded)");
    }
    cJSON *mods = cJSON_GetObjectItemCaseSensitive(prov, "modules"), *m;
    cJSON_ArrayForEach(m, mods)
    {
        cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        cJSON *crc = cJSON_GetObjectItemCaseSensitive(m, "crc32");
        b = taml_append(b, "module        %s (CRC-32 %s)\n", cJSON_IsString(name) ? name->valuestring : "?",
                        cJSON_IsString(crc) ? crc->valuestring : "?");
    }
    cJSON *r = cJSON_GetObjectItemCaseSensitive(prov, "rebuild");
    if (cJSON_IsString(r)) b = taml_append(b, "rebuild       %s\n", r->valuestring);
    return b;
}

int taml_search_ctrlfile_describe(const char *path, int json, char **out, taml_err *err)
{
    *out = NULL;
    char *data = NULL;
    size_t size = 0;
    int rc = taml_read_file(path, &data, &size, err);
    if (rc) return rc;
    taml_ctrlfile f;
    if (!taml_ctrlfile_is(data, size))
        rc = taml_err_set(err, TAML_EFORMAT, "%s: not a taml controller file (no \"TAMLCFIL\" "
                          "magic; a study or a checkpoint is given to --from as it is)", path);
    if (!rc) rc = taml_ctrlfile_open(&f, data, size, path, err);
    if (rc) {
        free(data);
        return rc;
    }
    cJSON *prov = cJSON_Parse(f.provenance);
    if (!prov || !cJSON_IsObject(prov)) {
        rc = taml_err_set(err, TAML_ECORRUPT, "%s: the provenance is not a JSON object", path);
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddNumberToObject(o, "version", f.version);
        char crc[16];
        snprintf(crc, sizeof crc, "%08x", (unsigned)f.crc32);
        cJSON_AddStringToObject(o, "crc32", crc);
        cJSON_AddNumberToObject(o, "size", (double)size);
        cJSON_AddItemToObject(o, "provenance", prov);
        prov = NULL;
        char *text = cJSON_Print(o);
        *out = taml_asprintf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(o);
    } else {
        *out = describe_text(path, &f, size, prov);
    }
    cJSON_Delete(prov);
    taml_ctrlfile_deinit(&f);
    free(data);
    return rc;
}

int taml_search_ctrlfile_default(const char *home, const char *kind, char **out)
{
    char *name = taml_asprintf("controllers/default-%s.tamlctrl", kind);
    *out = taml_path_join(home, name);
    free(name);
    return taml_is_file(*out);
}
