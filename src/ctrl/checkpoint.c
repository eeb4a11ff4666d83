/* ctrl/checkpoint.c - controller checkpoints: the whole learning state in one
 * little-endian byte string (README "File formats", docs/controller.md), to a
 * memory buffer (the study store keeps it as an SQLite blob) or a file.
 *
 *   "TAMLCTRL" | u32 version (1) | u32 0 | u64 space fingerprint
 *   | u32 len, space canonical JSON | options | u32 H | u32 E
 *   | u64 Adam step | 4 x u64 RNG state | u64 n, theta[n], m[n], v[n] (f64)
 *   | u32 tasks | per task: u32 len, name, emb[E], m[E], v[E], u64 step,
 *     f64 baseline, f64 variance, u64 rewards seen
 *   | u32 CRC-32 of everything before it
 *
 * Doubles are stored as their IEEE-754 bits, so loading restores the state
 * bit for bit and continuing equals never stopping.
 */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ctrl/ctrl_internal.h"

#define MAGIC "TAMLCTRL"
#define VERSION 1u

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
} wbuf;

static void put(wbuf *w, const void *src, size_t n)
{
    if (w->n + n > w->cap) {
        while (w->n + n > w->cap) w->cap = w->cap ? 2 * w->cap : 4096;
        w->p = taml_realloc(w->p, w->cap);
    }
    memcpy(w->p + w->n, src, n);
    w->n += n;
}

static void put_u64(wbuf *w, uint64_t x)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(x >> (8 * i));
    put(w, b, 8);
}

static void put_u32(wbuf *w, uint32_t x)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(x >> (8 * i));
    put(w, b, 4);
}

static void put_f64(wbuf *w, double d)
{
    uint64_t x;
    memcpy(&x, &d, 8);
    put_u64(w, x);
}

static void put_f64s(wbuf *w, const double *d, size_t n)
{
    for (size_t i = 0; i < n; i++) put_f64(w, d[i]);
}

static void put_str(wbuf *w, const char *s)
{
    size_t n = strlen(s);
    put_u32(w, (uint32_t)n);
    put(w, s, n);
}

void taml_ctrl_save(const taml_ctrl *c, void **buf, size_t *size)
{
    wbuf w = {0};
    put(&w, MAGIC, 8);
    put_u32(&w, VERSION);
    put_u32(&w, 0);
    put_u64(&w, taml_space_fingerprint(c->space));
    char *sj = taml_space_to_json(c->space);
    put_str(&w, sj);
    free(sj);
    const taml_ctrl_opts *o = &c->opts;
    put_f64(&w, o->lr);
    put_f64(&w, o->beta1);
    put_f64(&w, o->beta2);
    put_f64(&w, o->adam_eps);
    put_f64(&w, o->grad_clip);
    put_f64(&w, o->entropy_weight);
    put_f64(&w, o->ema_decay);
    put_u32(&w, (uint32_t)o->warmup);
    put_u32(&w, (uint32_t)o->normalise);
    put_u32(&w, (uint32_t)o->transfer_restart);
    put_f64(&w, o->adv_clip);
    put_f64(&w, o->init_scale);
    put_f64(&w, o->task_init_scale);
    put_u64(&w, o->seed);
    put_u32(&w, TAML_CTRL_HIDDEN);
    put_u32(&w, TAML_CTRL_EMBED);
    put_u64(&w, c->step);
    for (int i = 0; i < 4; i++) put_u64(&w, c->rng.s[i]);
    put_u64(&w, c->n_theta);
    put_f64s(&w, c->theta, c->n_theta);
    put_f64s(&w, c->m, c->n_theta);
    put_f64s(&w, c->v, c->n_theta);
    put_u32(&w, (uint32_t)c->n_tasks);
    for (int t = 0; t < c->n_tasks; t++) {
        const ctrl_task *k = &c->tasks[t];
        put_str(&w, k->name);
        put_f64s(&w, k->emb, TAML_CTRL_EMBED);
        put_f64s(&w, k->m, TAML_CTRL_EMBED);
        put_f64s(&w, k->v, TAML_CTRL_EMBED);
        put_u64(&w, k->step);
        put_f64(&w, k->b);
        put_f64(&w, k->var);
        put_u64(&w, k->n);
    }
    put_u32(&w, taml_crc32(0, w.p, w.n));
    *buf = w.p;
    *size = w.n;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct rbuf {
    const unsigned char *p;
    size_t n, at;
    int short_read; /* set when a read ran past the end */
} rbuf;

static const unsigned char *take(rbuf *r, size_t n)
{
    if (r->short_read || n > r->n - r->at) {
        r->short_read = 1;
        return NULL;
    }
    const unsigned char *q = r->p + r->at;
    r->at += n;
    return q;
}

static uint64_t get_u64(rbuf *r)
{
    const unsigned char *b = take(r, 8);
    uint64_t x = 0;
    if (b)
        for (int i = 0; i < 8; i++) x |= (uint64_t)b[i] << (8 * i);
    return x;
}

static uint32_t get_u32(rbuf *r)
{
    const unsigned char *b = take(r, 4);
    uint32_t x = 0;
    if (b)
        for (int i = 0; i < 4; i++) x |= (uint32_t)b[i] << (8 * i);
    return x;
}

static double get_f64(rbuf *r)
{
    uint64_t x = get_u64(r);
    double d;
    memcpy(&d, &x, 8);
    return d;
}

static void get_f64s(rbuf *r, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = get_f64(r);
}

/* A heap copy of a length-prefixed string (NULL on a short read). */
static char *get_str(rbuf *r)
{
    uint32_t n = get_u32(r);
    const unsigned char *q = take(r, n);
    if (!q) return NULL;
    char *s = taml_malloc((size_t)n + 1);
    memcpy(s, q, n);
    s[n] = 0;
    return s;
}

/* Checks magic, version and CRC; on success r is positioned after the
 * fixed header and *space holds the checkpoint's own space. */
static int open_checkpoint(rbuf *r, taml_space **space, uint64_t *fp, taml_err *err)
{
    *space = NULL;
    if (r->n < 24 || memcmp(r->p, MAGIC, 8) != 0)
        return taml_err_set(err, TAML_ECORRUPT,
                            "not a taml controller checkpoint (expected magic \"%s\", %zu bytes)",
                            MAGIC, r->n);
    r->at = 8;
    uint32_t version = get_u32(r);
    if (version != VERSION)
        return taml_err_set(err, TAML_EFORMAT,
                            "controller checkpoint version %u; this taml reads version %u",
                            version, VERSION);
    uint32_t stored = (uint32_t)r->p[r->n - 4] | (uint32_t)r->p[r->n - 3] << 8 |
                      (uint32_t)r->p[r->n - 2] << 16 | (uint32_t)r->p[r->n - 1] << 24;
    if (stored != taml_crc32(0, r->p, r->n - 4))
        return taml_err_set(err, TAML_ECORRUPT,
                            "controller checkpoint checksum mismatch: the data is corrupt or "
                            "truncated (%zu bytes)",
                            r->n);
    r->n -= 4; /* the CRC is not part of the body */
    get_u32(r);
    *fp = get_u64(r);
    char *sj = get_str(r);
    if (!sj)
        return taml_err_set(err, TAML_ECORRUPT, "controller checkpoint truncated in its space");
    taml_err inner;
    int rc = taml_space_from_json(space, sj, "checkpoint space", &inner);
    free(sj);
    if (rc < 0)
        return taml_err_set(err, TAML_ECORRUPT, "controller checkpoint: bad space (%s)", inner.msg);
    if (taml_space_fingerprint(*space) != *fp) {
        taml_space_free(*space);
        *space = NULL;
        return taml_err_set(err, TAML_ECORRUPT,
                            "controller checkpoint: space fingerprint does not match its "
                            "description");
    }
    return 0;
}

int taml_ctrl_checkpoint_space(taml_space **out, const void *buf, size_t size, taml_err *err)
{
    rbuf r = {buf, size, 0, 0};
    uint64_t fp;
    return open_checkpoint(&r, out, &fp, err);
}

int taml_ctrl_load(taml_ctrl **out, const taml_space *space, const void *buf, size_t size,
                   taml_err *err)
{
    *out = NULL;
    rbuf r = {buf, size, 0, 0};
    taml_space *own = NULL;
    taml_ctrl *c = NULL;
    uint64_t fp, n = 0;
    uint32_t hid = 0, emb = 0, tasks = 0; /* all before the first goto */
    int rc = open_checkpoint(&r, &own, &fp, err);
    if (rc < 0) return rc;
    if (fp != taml_space_fingerprint(space)) {
        char how[1024];
        taml_space_diff(own, space, how, sizeof how);
        rc = taml_err_set(err, TAML_EMISMATCH,
                          "the controller checkpoint was made for another search space "
                          "(checkpoint vs this search: %s)",
                          how);
        goto done;
    }
    taml_ctrl_opts o;
    o.lr = get_f64(&r);
    o.beta1 = get_f64(&r);
    o.beta2 = get_f64(&r);
    o.adam_eps = get_f64(&r);
    o.grad_clip = get_f64(&r);
    o.entropy_weight = get_f64(&r);
    o.ema_decay = get_f64(&r);
    o.warmup = (int)get_u32(&r);
    o.normalise = (int)get_u32(&r);
    o.transfer_restart = (int)get_u32(&r);
    o.adv_clip = get_f64(&r);
    o.init_scale = get_f64(&r);
    o.task_init_scale = get_f64(&r);
    o.seed = get_u64(&r);
    hid = get_u32(&r);
    emb = get_u32(&r);
    if (r.short_read) goto truncated;
    if (hid != TAML_CTRL_HIDDEN || emb != TAML_CTRL_EMBED) {
        rc = taml_err_set(err, TAML_EMISMATCH,
                          "controller checkpoint has %u LSTM units and embeddings of %u; this "
                          "taml uses %d and %d",
                          hid, emb, TAML_CTRL_HIDDEN, TAML_CTRL_EMBED);
        goto done;
    }
    c = taml_ctrl_alloc(space, &o);
    c->step = get_u64(&r);
    for (int i = 0; i < 4; i++) c->rng.s[i] = get_u64(&r);
    n = get_u64(&r);
    if (r.short_read) goto truncated;
    if (n != c->n_theta) {
        rc = taml_err_set(err, TAML_ECORRUPT,
                          "controller checkpoint holds %llu weights; its space needs %zu",
                          (unsigned long long)n, c->n_theta);
        goto done;
    }
    get_f64s(&r, c->theta, n);
    get_f64s(&r, c->m, n);
    get_f64s(&r, c->v, n);
    tasks = get_u32(&r);
    if (r.short_read) goto truncated;
    for (uint32_t t = 0; t < tasks; t++) {
        char *name = get_str(&r);
        if (!name) goto truncated;
        if (!name[0] || taml_ctrl_find_task(c, name) >= 0) {
            free(name);
            rc = taml_err_set(err, TAML_ECORRUPT,
                              "controller checkpoint: task %u has an empty or repeated name", t);
            goto done;
        }
        ctrl_task *k = taml_ctrl_push_task(c, name);
        free(name);
        get_f64s(&r, k->emb, TAML_CTRL_EMBED);
        get_f64s(&r, k->m, TAML_CTRL_EMBED);
        get_f64s(&r, k->v, TAML_CTRL_EMBED);
        k->step = get_u64(&r);
        k->b = get_f64(&r);
        k->var = get_f64(&r);
        k->n = get_u64(&r);
        if (r.short_read) goto truncated;
    }
    if (r.at != r.n) {
        rc = taml_err_set(err, TAML_ECORRUPT,
                          "controller checkpoint has %zu unexpected bytes after its last task",
                          r.n - r.at);
        goto done;
    }
    {
        taml_err oe;
        if (taml_ctrl_set_opts(c, &o, &oe) < 0) {
            rc = taml_err_set(err, TAML_ECORRUPT, "controller checkpoint: %s", oe.msg);
            goto done;
        }
    }
    *out = c;
    c = NULL;
    goto done;
truncated:
    rc = taml_err_set(err, TAML_ECORRUPT, "controller checkpoint truncated at byte %zu of %zu",
                      r.at, r.n);
done:
    taml_ctrl_free(c);
    taml_space_free(own);
    return rc;
}

int taml_ctrl_save_file(const taml_ctrl *c, const char *path, taml_err *err)
{
    void *buf;
    size_t size;
    taml_ctrl_save(c, &buf, &size);
    int rc = taml_write_file_atomic(path, buf, size, err);
    free(buf);
    return rc;
}

int taml_ctrl_load_file(taml_ctrl **out, const taml_space *space, const char *path,
                        taml_err *err)
{
    char *data = NULL;
    size_t size = 0;
    *out = NULL;
    int rc = taml_read_file(path, &data, &size, err);
    if (rc < 0) return rc;
    rc = taml_ctrl_load(out, space, data, size, err);
    if (rc < 0) taml_err_prefix(err, "%s", path);
    free(data);
    return rc;
}
