/* ctrl/checkpoint.c - controller checkpoints: the whole learning state in one
 * little-endian byte string (docs/controller.md), to a memory buffer (the
 * study store keeps it as an SQLite blob) or a file.
 *
 * Version 2 (written): the envelope of core/bytes.h, magic "TAMLCTRL",
 * version 2, flags 0, around this payload:
 *
 *   u64 space fingerprint | u32 len, space canonical JSON | options
 *   | u32 H | u32 E | u64 Adam step | 4 x u64 RNG state
 *   | u64 n, theta[n], m[n], v[n] (f64)
 *   | u32 tasks | per task: u32 len, name, emb[E], m[E], v[E], u64 step,
 *     f64 baseline, f64 variance, u64 rewards seen
 *
 * (options: f64 lr, beta1, beta2, adam_eps, grad_clip, entropy_weight,
 * ema_decay, u32 warmup, normalise, transfer_restart, f64 adv_clip,
 * init_scale, task_init_scale, u64 seed.)
 *
 * Version 1 (read only; written before the envelope): "TAMLCTRL" | u32 1 |
 * u32 0 | the same payload | u32 CRC-32 of everything before it. It has no
 * length field, so a truncated one shows as a checksum mismatch. Its
 * payload is version 2's byte for byte: a version-1 checkpoint saved again
 * differs only in its framing.
 *
 * Doubles are stored as their IEEE-754 bits, so loading restores the state
 * bit for bit and continuing equals never stopping.
 */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "ctrl/ctrl_internal.h"

#define MAGIC "TAMLCTRL"
#define VERSION 2u
#define WHAT "controller checkpoint"

static void put_opts(taml_bytes_writer *w, const taml_ctrl_opts *o)
{
    taml_bytes_put_f64(w, o->lr);
    taml_bytes_put_f64(w, o->beta1);
    taml_bytes_put_f64(w, o->beta2);
    taml_bytes_put_f64(w, o->adam_eps);
    taml_bytes_put_f64(w, o->grad_clip);
    taml_bytes_put_f64(w, o->entropy_weight);
    taml_bytes_put_f64(w, o->ema_decay);
    taml_bytes_put_u32(w, (uint32_t)o->warmup);
    taml_bytes_put_u32(w, (uint32_t)o->normalise);
    taml_bytes_put_u32(w, (uint32_t)o->transfer_restart);
    taml_bytes_put_f64(w, o->adv_clip);
    taml_bytes_put_f64(w, o->init_scale);
    taml_bytes_put_f64(w, o->task_init_scale);
    taml_bytes_put_u64(w, o->seed);
}

void taml_ctrl_save(const taml_ctrl *c, void **buf, size_t *size)
{
    taml_bytes_writer w;
    taml_bytes_writer_init(&w);
    size_t start = taml_envelope_begin(&w, MAGIC, VERSION, 0);
    taml_bytes_put_u64(&w, taml_space_fingerprint(c->space));
    char *sj = taml_space_to_json(c->space);
    taml_bytes_put_str32(&w, sj);
    free(sj);
    put_opts(&w, &c->opts);
    taml_bytes_put_u32(&w, TAML_CTRL_HIDDEN);
    taml_bytes_put_u32(&w, TAML_CTRL_EMBED);
    taml_bytes_put_u64(&w, c->step);
    for (int i = 0; i < 4; i++) taml_bytes_put_u64(&w, c->rng.s[i]);
    taml_bytes_put_u64(&w, c->n_theta);
    taml_bytes_put_f64s(&w, c->theta, c->n_theta);
    taml_bytes_put_f64s(&w, c->m, c->n_theta);
    taml_bytes_put_f64s(&w, c->v, c->n_theta);
    taml_bytes_put_u32(&w, (uint32_t)c->n_tasks);
    for (int t = 0; t < c->n_tasks; t++) {
        const ctrl_task *k = &c->tasks[t];
        taml_bytes_put_str32(&w, k->name);
        taml_bytes_put_f64s(&w, k->emb, TAML_CTRL_EMBED);
        taml_bytes_put_f64s(&w, k->m, TAML_CTRL_EMBED);
        taml_bytes_put_f64s(&w, k->v, TAML_CTRL_EMBED);
        taml_bytes_put_u64(&w, k->step);
        taml_bytes_put_f64(&w, k->b);
        taml_bytes_put_f64(&w, k->var);
        taml_bytes_put_u64(&w, k->n);
    }
    taml_envelope_end(&w, start);
    *buf = taml_bytes_writer_take(&w, size);
}

/* ---- reading ----------------------------------------------------------- */

/* Version 1: checks the framing and the CRC; r then reads the payload. */
static int open_v1(const unsigned char *p, size_t n, const char *source, taml_bytes_reader *r,
                   taml_err *err)
{
    if (n < 20) {
        taml_bytes_reader_init(r, p, n, source);
        taml_bytes_take(r, 20, "version-1 header");
        return taml_bytes_status(r, err);
    }
    uint32_t stored = taml_bytes_load_u32(p + n - 4), got = taml_crc32(0, p, n - 4);
    if (stored != got)
        return taml_err_set(err, TAML_ECORRUPT,
                            "%s: " WHAT " checksum mismatch (CRC-32 %08x stored, %08x computed "
                            "over %zu bytes): the bytes are damaged or cut (version 1 has no "
                            "length field)",
                            source, stored, got, n - 4);
    taml_bytes_reader_init(r, p, n - 4, source); /* the CRC is not part of the payload */
    taml_bytes_take(r, 12, "header");
    if (taml_bytes_u32(r, "flags") != 0)
        return taml_bytes_fail(r, TAML_EFORMAT, "flags", "not 0 in a version-1 checkpoint");
    return TAML_OK;
}

/* Checks magic, version, framing and CRC of either version; on success r
 * reads the payload. */
static int open_checkpoint(const void *buf, size_t size, const char *source,
                           taml_bytes_reader *r, taml_err *err)
{
    uint32_t version;
    if (taml_envelope_peek(buf, size, MAGIC, &version)) {
        if (version == 1) return open_v1(buf, size, source, r, err);
        if (version != VERSION)
            return taml_bytes_error(err, TAML_EFORMAT, source, 8, "version",
                                    WHAT " version %u; this taml reads versions 1 and %u",
                                    version, VERSION);
    }
    taml_envelope env;
    return taml_envelope_open_payload(buf, size, source, MAGIC, WHAT, &env, r, err);
}

/* Reads the space at the start of the payload: the checkpoint's own, new in
 * *space, and its stored fingerprint. */
static int read_space(taml_bytes_reader *r, taml_space **space, uint64_t *fp, taml_err *err)
{
    *space = NULL;
    *fp = taml_bytes_u64(r, "space fingerprint");
    char *sj = taml_bytes_str32(r, SIZE_MAX, "space");
    if (!sj) return taml_bytes_status(r, err);
    taml_err inner;
    int rc = taml_space_from_json(space, sj, "the checkpoint's space", &inner);
    free(sj);
    if (rc < 0) {
        *space = NULL;
        taml_bytes_fail(r, TAML_ECORRUPT, "space", "%s", inner.msg);
    } else if (taml_space_fingerprint(*space) != *fp) {
        taml_bytes_fail(r, TAML_ECORRUPT, "space",
                        "its fingerprint %016llx is not that of its description (%016llx)",
                        (unsigned long long)*fp,
                        (unsigned long long)taml_space_fingerprint(*space));
        taml_space_free(*space);
        *space = NULL;
    }
    return taml_bytes_status(r, err);
}

static void read_opts(taml_bytes_reader *r, taml_ctrl_opts *o)
{
    o->lr = taml_bytes_f64(r, "lr");
    o->beta1 = taml_bytes_f64(r, "beta1");
    o->beta2 = taml_bytes_f64(r, "beta2");
    o->adam_eps = taml_bytes_f64(r, "adam_eps");
    o->grad_clip = taml_bytes_f64(r, "grad_clip");
    o->entropy_weight = taml_bytes_f64(r, "entropy_weight");
    o->ema_decay = taml_bytes_f64(r, "ema_decay");
    o->warmup = (int)taml_bytes_u32(r, "warmup");
    o->normalise = (int)taml_bytes_u32(r, "normalise");
    o->transfer_restart = (int)taml_bytes_u32(r, "transfer_restart");
    o->adv_clip = taml_bytes_f64(r, "adv_clip");
    o->init_scale = taml_bytes_f64(r, "init_scale");
    o->task_init_scale = taml_bytes_f64(r, "task_init_scale");
    o->seed = taml_bytes_u64(r, "seed");
}

/* The rest of the payload, after the space, into a new controller for
 * space (*out; NULL on a failure). */
static int read_state(taml_bytes_reader *r, const taml_space *space, taml_ctrl **out,
                      taml_err *err)
{
    *out = NULL;
    taml_ctrl_opts o;
    size_t opts_at = taml_bytes_offset(r);
    read_opts(r, &o);
    uint32_t hid = taml_bytes_u32(r, "LSTM units");
    uint32_t emb = taml_bytes_u32(r, "embedding size");
    if (taml_bytes_ok(r) && (hid != TAML_CTRL_HIDDEN || emb != TAML_CTRL_EMBED))
        taml_bytes_fail(r, TAML_EMISMATCH, "embedding size",
                        "%u LSTM units and embeddings of %u; this taml uses %d and %d", hid, emb,
                        TAML_CTRL_HIDDEN, TAML_CTRL_EMBED);
    if (!taml_bytes_ok(r)) return taml_bytes_status(r, err);
    taml_ctrl *c = taml_ctrl_alloc(space, &o);
    c->step = taml_bytes_u64(r, "Adam step");
    for (int i = 0; i < 4; i++) c->rng.s[i] = taml_bytes_u64(r, "RNG state");
    uint64_t n = taml_bytes_u64(r, "weights");
    if (taml_bytes_ok(r) && n != c->n_theta)
        taml_bytes_fail(r, TAML_ECORRUPT, "weights", "%llu; its space needs %zu",
                        (unsigned long long)n, c->n_theta);
    taml_bytes_f64s(r, c->theta, c->n_theta, "weights");
    taml_bytes_f64s(r, c->m, c->n_theta, "Adam first moments");
    taml_bytes_f64s(r, c->v, c->n_theta, "Adam second moments");
    uint32_t tasks = taml_bytes_u32(r, "tasks");
    for (uint32_t t = 0; t < tasks && taml_bytes_ok(r); t++) {
        char *name = taml_bytes_str32(r, SIZE_MAX, "task name");
        if (!name) break;
        if (!name[0] || taml_ctrl_find_task(c, name) >= 0) {
            taml_bytes_fail(r, TAML_ECORRUPT, "task name", "task %u has an empty or repeated name",
                            t);
            free(name);
            break;
        }
        ctrl_task *k = taml_ctrl_push_task(c, name);
        free(name);
        taml_bytes_f64s(r, k->emb, TAML_CTRL_EMBED, "task embedding");
        taml_bytes_f64s(r, k->m, TAML_CTRL_EMBED, "task Adam first moments");
        taml_bytes_f64s(r, k->v, TAML_CTRL_EMBED, "task Adam second moments");
        k->step = taml_bytes_u64(r, "task Adam step");
        k->b = taml_bytes_f64(r, "task baseline");
        k->var = taml_bytes_f64(r, "task variance");
        k->n = taml_bytes_u64(r, "task rewards seen");
    }
    int rc = taml_bytes_expect_end(r, "the last task");
    taml_err oe;
    if (!rc && taml_ctrl_set_opts(c, &o, &oe) < 0)
        rc = taml_bytes_error(err, TAML_ECORRUPT, r->source, opts_at, "options", "%s", oe.msg);
    else if (rc)
        taml_bytes_status(r, err);
    if (rc) {
        taml_ctrl_free(c);
        return rc;
    }
    *out = c;
    return TAML_OK;
}

int taml_ctrl_checkpoint_space(taml_space **out, const void *buf, size_t size,
                               const char *source, taml_err *err)
{
    *out = NULL;
    if (!source) source = WHAT;
    taml_bytes_reader r;
    uint64_t fp;
    int rc = open_checkpoint(buf, size, source, &r, err);
    return rc ? rc : read_space(&r, out, &fp, err);
}

int taml_ctrl_load_named(taml_ctrl **out, const taml_space *space, const void *buf, size_t size,
                         const char *source, taml_err *err)
{
    *out = NULL;
    if (!source) source = WHAT;
    taml_bytes_reader r;
    taml_space *own = NULL;
    uint64_t fp;
    int rc = open_checkpoint(buf, size, source, &r, err);
    if (!rc) rc = read_space(&r, &own, &fp, err);
    if (rc) return rc;
    if (fp != taml_space_fingerprint(space)) {
        char how[1024];
        taml_space_diff(own, space, how, sizeof how);
        rc = taml_err_set(err, TAML_EMISMATCH,
                          "%s: the controller checkpoint was made for another search space "
                          "(checkpoint vs this search: %s)",
                          source, how);
    } else {
        rc = read_state(&r, space, out, err);
    }
    taml_space_free(own);
    return rc;
}

int taml_ctrl_load(taml_ctrl **out, const taml_space *space, const void *buf, size_t size,
                   taml_err *err)
{
    return taml_ctrl_load_named(out, space, buf, size, NULL, err);
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
    rc = taml_ctrl_load_named(out, space, data, size, path, err);
    free(data);
    return rc;
}
