/* data/task.c - loading a task directory into a taml_task (see task.h and
 * docs/formats.md "Task directories"): the dispatcher. It reads meta.txt, decides which
 * layout the directory holds and hands it to the text loader (task_text.c:
 * TSV, the dictionary, the wide vocabulary) or an image loader
 * (task_image.c: IDX, images.u8 + labels.u8, gzip), then checks and fills
 * in what every task has (two classes at least; name, language, source,
 * license). The accessors of task.h that need no loader live here too.
 *
 * Every error names the file, the line (text) or the header field (images),
 * and what was expected.
 */
#include "data/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/task_internal.h"


taml_task_opts taml_task_default_opts(void)
{
    taml_task_opts o = {.wide_min_count = 1, .wide_max = 1 << 20};
    return o;
}

const char *taml_task_kind_name(taml_task_kind kind)
{
    return kind == TAML_TASK_IMAGE ? "image" : "text";
}

void taml_task_free(taml_task *t)
{
    if (!t) return;
    task_impl *ti = task_impl_of(t);
    free(t->name);
    free(t->dir);
    free(t->language);
    free(t->source);
    free(t->license);
    for (int32_t i = 0; i < t->n_classes; i++) free(t->class_names[i]);
    free(t->class_names);
    free(t->label);
    free(t->words);
    free(ti->word_chars);
    free(t->word_len);
    taml_strmap_free(ti->word_index);
    free(t->tok_off);
    free(t->tok);
    free(t->wide_of_word);
    free(t->pixels);
    for (int32_t i = 0; i < ti->n_meta; i++) {
        free(ti->meta_key[i]);
        free(ti->meta_value[i]);
    }
    free(ti->meta_key);
    free(ti->meta_value);
    free(ti);
}

const char *taml_task_meta(const taml_task *t, const char *key)
{
    const task_impl *ti = task_impl_of_const(t);
    for (int32_t i = 0; i < ti->n_meta; i++)
        if (!strcmp(ti->meta_key[i], key)) return ti->meta_value[i];
    return NULL;
}

int32_t taml_task_majority_class(const taml_task *t)
{
    int64_t *count = taml_calloc((size_t)t->n_classes, sizeof *count);
    for (int32_t r = 0; r < t->n_split[TAML_TRAIN]; r++) count[t->label[r]]++;
    int32_t best = 0;
    for (int32_t c = 1; c < t->n_classes; c++)
        if (count[c] > count[best]) best = c;
    free(count);
    return best;
}

double taml_task_majority_share(const taml_task *t)
{
    if (t->n_split[TAML_TRAIN] == 0) return 0.0;
    int32_t best = taml_task_majority_class(t);
    int64_t k = 0;
    for (int32_t r = 0; r < t->n_split[TAML_TRAIN]; r++) k += t->label[r] == best;
    return (double)k / (double)t->n_split[TAML_TRAIN];
}

double taml_task_mean_tokens(const taml_task *t)
{
    if (t->kind != TAML_TASK_TEXT || t->n == 0) return 0.0;
    return (double)t->tok_off[t->n] / (double)t->n;
}

/* ---------------------------------------------------------------- meta.txt */

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) (*s)++, (*len)--;
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* Reads DIR/meta.txt when present: key=value lines, blank lines and lines
 * starting with '#' skipped, spaces around keys and values trimmed. */
static int read_meta(task_impl *t, const char *dir, taml_err *err)
{
    char *path = taml_path_join(dir, "meta.txt"), *data = NULL;
    size_t size = 0, bad = 0;
    int32_t cap = 0; /* all before the first goto out */
    int rc = TAML_OK;
    if (!taml_is_file(path)) goto out;
    if ((rc = taml_read_file(path, &data, &size, err)) < 0) goto out;
    bad = taml_utf8_check(data, size);
    if (bad < size) {
        long line = 1;
        for (size_t i = 0; i < bad; i++) line += data[i] == '\n';
        rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: invalid UTF-8 at byte offset %zu; expected UTF-8 text",
                          path, line, bad);
        goto out;
    }
    task_lines it;
    task_lines_init(&it, data, size);
    const char *line;
    size_t len;
    while (task_lines_next(&it, &line, &len)) {
        trim(&line, &len);
        if (len == 0 || line[0] == '#') continue;
        const char *eq = memchr(line, '=', len);
        if (!eq || eq == line) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: expected key=value%s", path, it.no,
                              eq ? " with a non-empty key" : "");
            goto out;
        }
        const char *k = line, *v = eq + 1;
        size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
        trim(&k, &klen);
        trim(&v, &vlen);
        if (memchr(v, '\0', vlen) || memchr(k, '\0', klen)) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: NUL byte; expected text", path, it.no);
            goto out;
        }
        if (t->n_meta == cap) {
            cap = cap ? 2 * cap : 8;
            t->meta_key = taml_realloc(t->meta_key, (size_t)cap * sizeof *t->meta_key);
            t->meta_value = taml_realloc(t->meta_value, (size_t)cap * sizeof *t->meta_value);
        }
        t->meta_key[t->n_meta] = task_dup_range(k, klen);
        t->meta_value[t->n_meta] = task_dup_range(v, vlen);
        t->n_meta++;
    }
out:
    free(path);
    free(data);
    return rc;
}

int taml_task_meta_int(const taml_task *t, const char *dir, const char *key, long long lo, long long hi,
                       long long *v, taml_err *err)
{
    const char *s = taml_task_meta(t, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno || x < lo || x > hi) {
        char *path = taml_path_join(dir, "meta.txt");
        int rc = taml_err_set(err, TAML_EFORMAT, "%s: %s=%s; expected an integer in [%lld, %lld]", path,
                              key, s, lo, hi);
        free(path);
        return rc;
    }
    *v = x;
    return 1;
}

/* --------------------------------------------------------- the identity */

/* The digests of task.h's taml_task_identity; the text loader has already
 * set content[] from the texts as it read them. */
static void fill_identity(taml_task *t)
{
    taml_task_identity *id = &t->identity;
    uint64_t seed = TAML_FNV_INIT;
    id->image = t->kind == TAML_TASK_IMAGE;
    for (int s = 0; s < 3; s++) id->n_split[s] = t->n_split[s];
    id->n_classes = t->n_classes;
    id->classes = taml_hash64(seed, &t->n_classes, sizeof t->n_classes);
    for (int32_t c = 0; c < t->n_classes; c++) /* with the NUL: "a","bc" is not "ab","c" */
        id->classes = taml_hash64(id->classes, t->class_names[c], strlen(t->class_names[c]) + 1);
    size_t first = 0, px = (size_t)t->height * (size_t)t->width * (size_t)t->channels;
    for (int s = 0; s < 3; s++) {
        id->labels[s] = taml_hash64(seed, t->label + first, (size_t)t->n_split[s] * sizeof *t->label);
        if (t->kind == TAML_TASK_IMAGE) {
            int32_t shape[3] = {t->height, t->width, t->channels};
            id->content[s] = taml_hash64(taml_hash64(seed, shape, sizeof shape),
                                         t->pixels + first * px, (size_t)t->n_split[s] * px);
        }
        first += (size_t)t->n_split[s];
    }
    uint64_t h = taml_hash64(seed, &id->image, sizeof id->image);
    h = taml_hash64(h, id->n_split, sizeof id->n_split);
    h = taml_hash64(h, &id->classes, sizeof id->classes);
    h = taml_hash64(h, id->labels, sizeof id->labels);
    id->fingerprint = taml_hash64(h, id->content, sizeof id->content);
}

/* ------------------------------------------------------- the dispatcher */

static char *meta_or(const taml_task *t, const char *key, const char *dflt)
{
    const char *v = taml_task_meta(t, key);
    return taml_strdup(v ? v : dflt);
}

static char *base_name(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/') start--;
    return task_dup_range(dir + start, len - start);
}

/* Which loader reads dir (has[k]: train/valid/test/all.tsv is there):
 * text when the three splits or all.tsv are, else image when IDX files or
 * images.u8 are, else -1. */
static int dir_kind(const char *dir, int has[4])
{
    static const char *text_files[4] = {"train.tsv", "valid.tsv", "test.tsv", "all.tsv"};
    for (int k = 0; k < 4; k++) {
        char *p = taml_path_join(dir, text_files[k]);
        has[k] = taml_is_file(p);
        free(p);
    }
    if ((has[0] && has[1] && has[2]) || has[3]) return TAML_TASK_TEXT;
    if (taml_task_has_idx(dir) || taml_task_has_u8(dir)) return TAML_TASK_IMAGE;
    return -1;
}

int taml_task_dir_kind(const char *dir)
{
    int has[4];
    return taml_is_dir(dir) ? dir_kind(dir, has) : -1;
}

int taml_task_load(taml_task **out, const char *dir, const taml_task_opts *opts, taml_err *err)
{
    *out = NULL;
    taml_task_opts o = opts ? *opts : taml_task_default_opts();
    if (o.wide_min_count < 1 || o.wide_max < 0)
        return taml_err_set(err, TAML_EINVAL, "wide vocabulary options min count %d, cap %d; expected min count "
                            ">= 1 and cap >= 0", o.wide_min_count, o.wide_max);
    if (!taml_is_dir(dir))
        return taml_err_set(err, TAML_ENOTFOUND, "%s: %s; expected a task directory", dir,
                            taml_is_file(dir) ? "a file, not a directory" : "no such directory");
    task_impl *ti = taml_calloc(1, sizeof *ti);
    taml_task *t = &ti->pub;
    t->dir = taml_strdup(dir);
    t->wide_min_count = o.wide_min_count;
    t->wide_max = o.wide_max;
    int has[4], kind = dir_kind(dir, has), rc;
    if ((rc = read_meta(ti, dir, err)) < 0) goto fail;
    if (kind == TAML_TASK_TEXT) {
        t->kind = TAML_TASK_TEXT;
        rc = taml_task_load_text(t, dir, &o, err);
    } else if (kind == TAML_TASK_IMAGE && taml_task_has_idx(dir)) {
        t->kind = TAML_TASK_IMAGE;
        rc = taml_task_load_idx(t, dir, err);
    } else if (kind == TAML_TASK_IMAGE) {
        t->kind = TAML_TASK_IMAGE;
        rc = taml_task_load_u8(t, dir, err);
    } else if (has[0] || has[1] || has[2]) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: has %s%s%sbut not all of train.tsv, valid.tsv, test.tsv "
                          "(nor all.tsv); expected the three splits or all.tsv", dir,
                          has[0] ? "train.tsv " : "", has[1] ? "valid.tsv " : "", has[2] ? "test.tsv " : "");
    } else {
        rc = taml_err_set(err, TAML_ENOTFOUND,
                          "%s: no task files; expected train.tsv + valid.tsv + test.tsv, all.tsv, IDX files "
                          "(train-images-idx3-ubyte[.gz] ...) or images.u8 + labels.u8 + meta.txt",
                          dir);
    }
    if (rc < 0) goto fail;
    if (t->n_classes < 2) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: every example has the label '%s'; expected at least two classes",
                          dir, t->n_classes ? t->class_names[0] : "");
        goto fail;
    }
    t->name = meta_or(t, "name", "");
    if (!t->name[0]) {
        free(t->name);
        t->name = base_name(dir);
    }
    t->language = meta_or(t, "language", "");
    t->source = meta_or(t, "source", "");
    t->license = meta_or(t, "license", "");
    fill_identity(t);
    *out = t;
    return TAML_OK;
fail:
    taml_task_free(t);
    return rc;
}
