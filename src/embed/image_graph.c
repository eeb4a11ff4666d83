/* embed/image_graph.c - the image graph's checks, shapes and cost, and its
 * binary layout in the module file (see image_graph.h). */
#include "embed/image_graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define LAYOUT_VERSION 1u

static const char *const op_names[TAML_IMAGE_N_OPS] = {"conv", "dwconv", "maxpool", "avgpool",
                                                       "pad", "add", "concat"};
static const char *const act_names[TAML_IMAGE_N_ACTS] = {"none", "relu", "relu6"};

const char *taml_image_op_name(taml_image_op_kind k)
{
    return (unsigned)k < TAML_IMAGE_N_OPS ? op_names[k] : "?";
}

const char *taml_image_act_name(taml_image_act a)
{
    return (unsigned)a < TAML_IMAGE_N_ACTS ? act_names[a] : "?";
}

int taml_image_op_parse(const char *s)
{
    for (int i = 0; i < TAML_IMAGE_N_OPS; i++)
        if (!strcmp(s, op_names[i])) return i;
    return -1;
}

int taml_image_act_parse(const char *s)
{
    for (int i = 0; i < TAML_IMAGE_N_ACTS; i++)
        if (!strcmp(s, act_names[i])) return i;
    return -1;
}

const char *taml_image_pooling_describe(const taml_image_graph *g, char *buf, int cap)
{
    if (g->pooling == TAML_IMAGE_POOL_GRID) snprintf(buf, (size_t)cap, "grid %d", (int)g->grid);
    else snprintf(buf, (size_t)cap, "global");
    return buf;
}

void taml_image_graph_init(taml_image_graph *g)
{
    memset(g, 0, sizeof *g);
}

void taml_image_graph_deinit(taml_image_graph *g)
{
    for (int32_t k = 0; k < g->n_ops; k++) {
        free(g->ops[k].name);
        free(g->ops[k].in);
    }
    free(g->ops);
    taml_image_graph_init(g);
}

void taml_image_graph_alloc_ops(taml_image_graph *g, int32_t n)
{
    TAML_ASSERT(!g->ops && n >= 0);
    g->ops = taml_calloc((size_t)(n ? n : 1), sizeof *g->ops);
    g->n_ops = n;
}

taml_image_shape taml_image_graph_shape(const taml_image_graph *g, int32_t t)
{
    TAML_ASSERT(t >= 0 && t <= g->n_ops);
    if (t == 0) return (taml_image_shape){g->input_size, g->input_size, 3};
    return g->ops[t - 1].out;
}

/* ---- checks ---- */

static int graph_error(taml_err *err, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int graph_error(taml_err *err, const char *source, const char *fmt, ...)
{
    char msg[TAML_ERR_MSG / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return taml_err_set(err, TAML_EFORMAT, "%s: %s", source, msg);
}

static int op_error(taml_err *err, const char *source, int32_t k, const taml_image_op *op,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int op_error(taml_err *err, const char *source, int32_t k, const taml_image_op *op,
                    const char *fmt, ...)
{
    char msg[TAML_ERR_MSG / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return taml_err_set(err, TAML_EFORMAT, "%s: op %d (%.200s): %s: %s", source, (int)k,
                        op->name ? op->name : "", taml_image_op_name(op->kind), msg);
}

static int windowed(taml_image_op_kind k)
{
    return k == TAML_IMAGE_CONV || k == TAML_IMAGE_DWCONV || k == TAML_IMAGE_MAXPOOL ||
           k == TAML_IMAGE_AVGPOOL;
}

static int weighted(taml_image_op_kind k)
{
    return k == TAML_IMAGE_CONV || k == TAML_IMAGE_DWCONV;
}

/* A weight range [off, off + n) inside the n_weights floats. */
static int weights_fit(const taml_image_graph *g, int64_t off, int64_t n)
{
    return off >= 0 && off <= g->n_weights && n <= g->n_weights - off;
}

/* Checks op k against the shapes before it and sets its output shape. */
static int resolve_op(taml_image_graph *g, int32_t k, const char *source, taml_err *err)
{
    taml_image_op *op = &g->ops[k];
    if ((unsigned)op->kind >= TAML_IMAGE_N_OPS)
        return graph_error(err, source, "op %d (%.200s): unknown op type %u", (int)k,
                           op->name ? op->name : "", (unsigned)op->kind);
    if ((unsigned)op->act >= TAML_IMAGE_N_ACTS)
        return op_error(err, source, k, op, "unknown activation %u", (unsigned)op->act);
    int with_act = weighted(op->kind) || op->kind == TAML_IMAGE_ADD;
    if (!with_act && op->act != TAML_IMAGE_ACT_NONE)
        return op_error(err, source, k, op, "takes no activation (%s given)",
                        taml_image_act_name(op->act));
    int want_in = op->kind == TAML_IMAGE_ADD ? 2 : op->kind == TAML_IMAGE_CONCAT ? -1 : 1;
    if (want_in > 0 && op->n_in != want_in)
        return op_error(err, source, k, op, "%d inputs, expected %d", (int)op->n_in, want_in);
    if (want_in < 0 && (op->n_in < 2 || op->n_in > TAML_IMAGE_MAX_IN))
        return op_error(err, source, k, op, "%d inputs, expected 2 .. %d", (int)op->n_in,
                        TAML_IMAGE_MAX_IN);
    for (int32_t i = 0; i < op->n_in; i++)
        if (op->in[i] < 0 || op->in[i] > k)
            return op_error(err, source, k, op,
                            "input %d is tensor %d; op %d may read tensors 0 .. %d (the input "
                            "and the outputs of the ops before it)",
                            (int)i, (int)op->in[i], (int)k, (int)k);
    if (!windowed(op->kind) && (op->kh || op->kw || op->sh || op->sw))
        return op_error(err, source, k, op, "takes no kernel or stride");
    if (!windowed(op->kind) && op->kind != TAML_IMAGE_PAD &&
        (op->pad[0] || op->pad[1] || op->pad[2] || op->pad[3]))
        return op_error(err, source, k, op, "takes no padding");
    if (!weighted(op->kind) && (op->cin || op->cout || op->w_off || op->b_off))
        return op_error(err, source, k, op, "takes no channels or weights");
    taml_image_shape x = taml_image_graph_shape(g, op->in[0]), y = x;
    if (windowed(op->kind)) {
        if (op->kh < 1 || op->kw < 1 || op->kh > TAML_IMAGE_MAX_KERNEL ||
            op->kw > TAML_IMAGE_MAX_KERNEL)
            return op_error(err, source, k, op, "kernel %d x %d (1 .. %d expected)", (int)op->kh,
                            (int)op->kw, TAML_IMAGE_MAX_KERNEL);
        if (op->sh < 1 || op->sw < 1 || op->sh > TAML_IMAGE_MAX_KERNEL ||
            op->sw > TAML_IMAGE_MAX_KERNEL)
            return op_error(err, source, k, op, "stride %d x %d (1 .. %d expected)", (int)op->sh,
                            (int)op->sw, TAML_IMAGE_MAX_KERNEL);
        for (int i = 0; i < 4; i++) {
            int32_t kk = i < 2 ? op->kh : op->kw;
            if (op->pad[i] < 0 || op->pad[i] >= kk)
                return op_error(err, source, k, op,
                                "padding [%d, %d, %d, %d]: each side must be 0 .. kernel - 1 "
                                "(a wider one makes windows of padding only)",
                                (int)op->pad[0], (int)op->pad[1], (int)op->pad[2],
                                (int)op->pad[3]);
        }
        int64_t ph = (int64_t)x.h + op->pad[0] + op->pad[1];
        int64_t pw = (int64_t)x.w + op->pad[2] + op->pad[3];
        if (ph < op->kh || pw < op->kw)
            return op_error(err, source, k, op,
                            "a %d x %d kernel does not fit the padded input %lld x %lld (the "
                            "input, tensor %d, is %d x %d x %d at input size %d)",
                            (int)op->kh, (int)op->kw, (long long)ph, (long long)pw,
                            (int)op->in[0], (int)x.h, (int)x.w, (int)x.c, (int)g->input_size);
        y.h = (int32_t)((ph - op->kh) / op->sh + 1);
        y.w = (int32_t)((pw - op->kw) / op->sw + 1);
    }
    switch (op->kind) {
    case TAML_IMAGE_CONV:
    case TAML_IMAGE_DWCONV: {
        int dw = op->kind == TAML_IMAGE_DWCONV;
        if (op->cin != x.c)
            return op_error(err, source, k, op, "its input (tensor %d) has %d channels, %s is %d",
                            (int)op->in[0], (int)x.c, dw ? "c" : "cin", (int)op->cin);
        if (dw && op->cout != op->cin)
            return op_error(err, source, k, op, "cout %d differs from c %d (depth multiplier 1)",
                            (int)op->cout, (int)op->cin);
        if (op->cout < 1 || op->cout > TAML_IMAGE_MAX_CHANNELS)
            return op_error(err, source, k, op, "cout %d (1 .. %d expected)", (int)op->cout,
                            TAML_IMAGE_MAX_CHANNELS);
        int64_t nw = (int64_t)op->kh * op->kw * op->cin * (dw ? 1 : op->cout);
        if (!weights_fit(g, op->w_off, nw))
            return op_error(err, source, k, op,
                            "weights w at %lld + %lld floats are outside the %lld floats",
                            (long long)op->w_off, (long long)nw, (long long)g->n_weights);
        if (!weights_fit(g, op->b_off, op->cout))
            return op_error(err, source, k, op,
                            "bias b at %lld + %d floats is outside the %lld floats",
                            (long long)op->b_off, (int)op->cout, (long long)g->n_weights);
        op->w = g->weights + op->w_off;
        op->b = g->weights + op->b_off;
        y.c = op->cout;
        break;
    }
    case TAML_IMAGE_PAD:
        for (int i = 0; i < 4; i++)
            if (op->pad[i] < 0 || op->pad[i] > TAML_IMAGE_MAX_PAD)
                return op_error(err, source, k, op, "padding %d (0 .. %d expected)",
                                (int)op->pad[i], TAML_IMAGE_MAX_PAD);
        y.h = x.h + op->pad[0] + op->pad[1];
        y.w = x.w + op->pad[2] + op->pad[3];
        break;
    case TAML_IMAGE_ADD: {
        taml_image_shape z = taml_image_graph_shape(g, op->in[1]);
        if (z.h != x.h || z.w != x.w || z.c != x.c)
            return op_error(err, source, k, op,
                            "its inputs differ in shape: tensor %d is %d x %d x %d, tensor %d "
                            "is %d x %d x %d",
                            (int)op->in[0], (int)x.h, (int)x.w, (int)x.c, (int)op->in[1],
                            (int)z.h, (int)z.w, (int)z.c);
        break;
    }
    case TAML_IMAGE_CONCAT: {
        int64_t c = 0;
        for (int32_t i = 0; i < op->n_in; i++) {
            taml_image_shape z = taml_image_graph_shape(g, op->in[i]);
            if (z.h != x.h || z.w != x.w)
                return op_error(err, source, k, op,
                                "input %d (tensor %d) is %d x %d, input 0 (tensor %d) %d x %d",
                                (int)i, (int)op->in[i], (int)z.h, (int)z.w, (int)op->in[0],
                                (int)x.h, (int)x.w);
            c += z.c;
        }
        if (c > TAML_IMAGE_MAX_CHANNELS)
            return op_error(err, source, k, op, "%lld channels (at most %d)", (long long)c,
                            TAML_IMAGE_MAX_CHANNELS);
        y.c = (int32_t)c;
        break;
    }
    default:
        break;
    }
    if ((int64_t)y.h * y.w * y.c > TAML_IMAGE_MAX_TENSOR)
        return op_error(err, source, k, op, "its output %d x %d x %d is over %d floats",
                        (int)y.h, (int)y.w, (int)y.c, TAML_IMAGE_MAX_TENSOR);
    op->out = y;
    return TAML_OK;
}

double taml_image_op_mflops(const taml_image_op *op)
{
    if (!weighted(op->kind)) return 0;
    double macs = (double)op->kh * op->kw * op->cin * op->out.h * op->out.w;
    if (op->kind == TAML_IMAGE_CONV) macs *= op->cout;
    return 2 * macs / 1e6;
}

int taml_image_graph_resolve(taml_image_graph *g, const char *source, taml_err *err)
{
    if (g->input_size < 1 || g->input_size > TAML_IMAGE_MAX_SIZE)
        return graph_error(err, source, "input size %d (1 .. %d expected)", (int)g->input_size,
                           TAML_IMAGE_MAX_SIZE);
    if (g->min_input < 1 || g->min_input > g->input_size)
        return graph_error(err, source, "min_input %d (1 .. the input size %d expected)",
                           (int)g->min_input, (int)g->input_size);
    for (int i = 0; i < 3; i++)
        if (!isfinite(g->scale[i]) || !isfinite(g->shift[i]))
            return graph_error(err, source, "input scale or shift of channel %d is not finite", i);
    if (g->n_ops < 1 || g->n_ops > TAML_IMAGE_MAX_OPS)
        return graph_error(err, source, "%d ops (1 .. %d expected)", (int)g->n_ops,
                           TAML_IMAGE_MAX_OPS);
    if (g->output < 1 || g->output > g->n_ops)
        return graph_error(err, source, "output is tensor %d; expected an op's output, 1 .. %d",
                           (int)g->output, (int)g->n_ops);
    if (g->n_weights < 0 || (g->n_weights > 0 && !g->weights))
        return graph_error(err, source, "no weights");
    for (int32_t k = 0; k < g->n_ops; k++) {
        int rc = resolve_op(g, k, source, err);
        if (rc) return rc;
    }
    /* The ops the cut depends on; the others are never run. */
    for (int32_t k = 0; k < g->n_ops; k++) g->ops[k].needed = 0;
    g->ops[g->output - 1].needed = 1;
    for (int32_t k = g->output - 1; k >= 0; k--) {
        if (!g->ops[k].needed) continue;
        for (int32_t i = 0; i < g->ops[k].n_in; i++)
            if (g->ops[k].in[i] > 0) g->ops[g->ops[k].in[i] - 1].needed = 1;
    }
    taml_image_shape y = taml_image_graph_shape(g, g->output);
    if (g->pooling == TAML_IMAGE_POOL_GLOBAL) {
        if (g->grid != 1)
            return graph_error(err, source, "global pooling with grid %d (1 expected)",
                               (int)g->grid);
        g->dim = y.c;
    } else if (g->pooling == TAML_IMAGE_POOL_GRID) {
        if (g->grid < 1 || g->grid > y.h || g->grid > y.w)
            return graph_error(err, source,
                               "pooling grid %d: the output (tensor %d) is %d x %d, a grid of "
                               "1 .. %d cells a side gives every cell a position",
                               (int)g->grid, (int)g->output, (int)y.h, (int)y.w,
                               (int)(y.h < y.w ? y.h : y.w));
        if ((int64_t)g->grid * g->grid * y.c > (1 << 20))
            return graph_error(err, source, "%d x %d x %d features (at most 2^20)", (int)g->grid,
                               (int)g->grid, (int)y.c);
        g->dim = g->grid * g->grid * y.c;
    } else {
        return graph_error(err, source, "unknown pooling %u", (unsigned)g->pooling);
    }
    g->mflops = 0;
    for (int32_t k = 0; k < g->n_ops; k++)
        if (g->ops[k].needed) g->mflops += taml_image_op_mflops(&g->ops[k]);
    return TAML_OK;
}

/* ---- the binary layout (docs/formats.md "The image graph") ---- */

void taml_image_graph_encode(const taml_image_graph *g, taml_bytes_writer *w)
{
    taml_bytes_put_u32(w, LAYOUT_VERSION);
    taml_bytes_put_u32(w, (uint32_t)g->input_size);
    taml_bytes_put_u32(w, (uint32_t)g->min_input);
    taml_bytes_put_u32(w, 3);
    taml_bytes_put_f32s(w, g->scale, 3);
    taml_bytes_put_f32s(w, g->shift, 3);
    taml_bytes_put_u32(w, (uint32_t)g->pooling);
    taml_bytes_put_u32(w, (uint32_t)g->grid);
    taml_bytes_put_u32(w, (uint32_t)g->n_ops);
    taml_bytes_put_u32(w, (uint32_t)g->output);
    taml_bytes_put_u64(w, (uint64_t)g->n_weights);
    for (int32_t k = 0; k < g->n_ops; k++) {
        const taml_image_op *op = &g->ops[k];
        taml_bytes_put_u32(w, (uint32_t)op->kind);
        taml_bytes_put_u32(w, (uint32_t)op->act);
        taml_bytes_put_u32(w, (uint32_t)op->kh);
        taml_bytes_put_u32(w, (uint32_t)op->kw);
        taml_bytes_put_u32(w, (uint32_t)op->sh);
        taml_bytes_put_u32(w, (uint32_t)op->sw);
        for (int i = 0; i < 4; i++) taml_bytes_put_u32(w, (uint32_t)op->pad[i]);
        taml_bytes_put_u32(w, (uint32_t)op->cin);
        taml_bytes_put_u32(w, (uint32_t)op->cout);
        taml_bytes_put_u64(w, (uint64_t)op->w_off);
        taml_bytes_put_u64(w, (uint64_t)op->b_off);
        taml_bytes_put_u32(w, (uint32_t)op->n_in);
        for (int32_t i = 0; i < op->n_in; i++) taml_bytes_put_u32(w, (uint32_t)op->in[i]);
        taml_bytes_put_str32(w, op->name);
    }
}

/* A u32 that must fit an int32 field (larger ones fail here; the ranges are
 * resolve's). */
static int32_t get_i32(taml_bytes_reader *r, const char *field)
{
    uint32_t v = taml_bytes_u32(r, field);
    if (v > INT32_MAX) {
        taml_bytes_fail(r, TAML_ECORRUPT, field, "%u is out of range", v);
        return 0;
    }
    return (int32_t)v;
}

static int64_t get_i64(taml_bytes_reader *r, const char *field)
{
    uint64_t v = taml_bytes_u64(r, field);
    if (v > INT64_MAX) {
        taml_bytes_fail(r, TAML_ECORRUPT, field, "%llu is out of range", (unsigned long long)v);
        return 0;
    }
    return (int64_t)v;
}

/* The smallest op record: 12 u32 and 2 u64, n_in, one input, an empty name. */
#define OP_MIN_BYTES (12 * 4 + 2 * 8 + 4 + 4 + 4)

int taml_image_graph_decode(taml_image_graph *g, taml_bytes_reader *r)
{
    uint32_t version = taml_bytes_u32(r, "graph layout version");
    if (taml_bytes_ok(r) && version != LAYOUT_VERSION)
        taml_bytes_fail(r, TAML_EMISMATCH, "graph layout version",
                        "graph layout %u, this taml reads version %u", version, LAYOUT_VERSION);
    g->input_size = get_i32(r, "input size");
    g->min_input = get_i32(r, "min input");
    if (taml_bytes_u32(r, "input channels") != 3 && taml_bytes_ok(r))
        taml_bytes_fail(r, TAML_ECORRUPT, "input channels", "not 3");
    taml_bytes_f32s(r, g->scale, 3, "input scale");
    taml_bytes_f32s(r, g->shift, 3, "input shift");
    uint32_t pooling = taml_bytes_u32(r, "pooling");
    if (taml_bytes_ok(r) && pooling > TAML_IMAGE_POOL_GRID)
        taml_bytes_fail(r, TAML_ECORRUPT, "pooling", "unknown pooling %u", pooling);
    g->pooling = (taml_image_pooling)pooling;
    g->grid = get_i32(r, "pooling grid");
    int32_t n_ops = get_i32(r, "ops");
    if (taml_bytes_ok(r) && (n_ops < 1 || (size_t)n_ops > taml_bytes_left(r) / OP_MIN_BYTES))
        taml_bytes_fail(r, TAML_ECORRUPT, "ops", "%d ops in %zu bytes", (int)n_ops,
                        taml_bytes_left(r));
    g->output = get_i32(r, "output");
    g->n_weights = get_i64(r, "weights floats");
    if (!taml_bytes_ok(r)) return r->code;
    taml_image_graph_alloc_ops(g, n_ops);
    char field[64];
    for (int32_t k = 0; k < n_ops && taml_bytes_ok(r); k++) {
        taml_image_op *op = &g->ops[k];
        snprintf(field, sizeof field, "op %d", (int)k);
        uint32_t kind = taml_bytes_u32(r, field);
        if (taml_bytes_ok(r) && kind >= TAML_IMAGE_N_OPS)
            taml_bytes_fail(r, TAML_ECORRUPT, field, "unknown op type %u", kind);
        op->kind = (taml_image_op_kind)kind;
        uint32_t act = taml_bytes_u32(r, field);
        if (taml_bytes_ok(r) && act >= TAML_IMAGE_N_ACTS)
            taml_bytes_fail(r, TAML_ECORRUPT, field, "unknown activation %u", act);
        op->act = (taml_image_act)act;
        op->kh = get_i32(r, field);
        op->kw = get_i32(r, field);
        op->sh = get_i32(r, field);
        op->sw = get_i32(r, field);
        for (int i = 0; i < 4; i++) op->pad[i] = get_i32(r, field);
        op->cin = get_i32(r, field);
        op->cout = get_i32(r, field);
        op->w_off = get_i64(r, field);
        op->b_off = get_i64(r, field);
        int32_t n_in = get_i32(r, field);
        if (taml_bytes_ok(r) && (n_in < 1 || n_in > TAML_IMAGE_MAX_IN))
            taml_bytes_fail(r, TAML_ECORRUPT, field, "%d inputs (1 .. %d expected)", (int)n_in,
                            TAML_IMAGE_MAX_IN);
        if (!taml_bytes_ok(r)) break;
        op->in = taml_malloc((size_t)n_in * sizeof *op->in);
        op->n_in = n_in;
        for (int32_t i = 0; i < n_in; i++) op->in[i] = get_i32(r, field);
        op->name = taml_bytes_str32(r, TAML_IMAGE_MAX_NAME, field);
    }
    return r->code;
}
