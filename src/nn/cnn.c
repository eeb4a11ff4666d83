/* nn/cnn.c - the image-module runner: plans the tensors' buffers once,
 * then runs the ops of nn/cnn_kernels.h in graph order (see cnn.h). */
#include "nn/cnn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "nn/cnn_kernels.h"

#define DEFAULT_BATCH 1 /* measured: one image keeps a MobileNet's tensors in L2 */
#define MAX_BATCH 4096

struct taml_cnn {
    const taml_image_graph *g;
    int batch, reference, keep;
    float **tensor;       /* (n_ops + 1) each (batch, h, w, c) in a slot; NULL: not needed */
    float **slot;         /* (n_slots) the buffers */
    int n_slots;
    float *scratch;       /* im2col block of the largest convolution */
    taml_cnn_geom *geom;  /* (n_ops) windowed ops and pad, for one image */
    int32_t *src;         /* (n_ops) the tensor op k reads first (its in[0], or a
                           * fused pad's input) */
    char *run;            /* (n_ops) 1: run op k (needed and not fused away) */
    taml_cnn_resize plan; /* for images of plan.h x plan.w (0: none yet) */
    int32_t *plan_i;      /* (4 S) the plan's index tables */
    double *plan_f;       /* (2 S) its weights, (6 S) its rows */
    const float **cat;    /* (max inputs) a concat's input pointers */
    int32_t *cat_c;       /* their channels */
    double *profile;      /* (n_ops) or NULL */
    size_t floats;
};

static size_t tensor_floats(const taml_image_graph *g, int32_t t)
{
    taml_image_shape s = taml_image_graph_shape(g, t);
    return (size_t)s.h * s.w * s.c;
}

void taml_cnn_free(taml_cnn *r)
{
    if (!r) return;
    for (int s = 0; s < r->n_slots; s++) free(r->slot[s]);
    free(r->slot);
    free(r->tensor);
    free(r->scratch);
    free(r->geom);
    free(r->src);
    free(r->run);
    free(r->plan_i);
    free(r->plan_f);
    free(r->cat);
    free(r->cat_c);
    free(r);
}

/* Zero padding read only by convolutions becomes theirs: the kernels pad
 * as they read, so the padded copy (MobileNetV2's ZeroPadding2D before each
 * stride-2 depthwise) is never written. Kept when a reader's padding would
 * then reach its kernel size, or when the pad is the cut. */
static void fuse_pads(taml_cnn *r)
{
    const taml_image_graph *g = r->g;
    for (int32_t p = 0; p < g->n_ops; p++) {
        const taml_image_op *pad = &g->ops[p];
        if (!r->run[p] || pad->kind != TAML_IMAGE_PAD || g->output == p + 1) continue;
        int ok = 1;
        for (int32_t k = p + 1; k < g->n_ops && ok; k++) {
            const taml_image_op *op = &g->ops[k];
            if (!r->run[k]) continue;
            for (int32_t i = 0; i < op->n_in; i++) {
                if (op->in[i] != p + 1) continue;
                int conv = op->kind == TAML_IMAGE_CONV || op->kind == TAML_IMAGE_DWCONV;
                if (!conv || i != 0 || op->pad[0] + pad->pad[0] >= op->kh ||
                    op->pad[1] + pad->pad[1] >= op->kh || op->pad[2] + pad->pad[2] >= op->kw ||
                    op->pad[3] + pad->pad[3] >= op->kw)
                    ok = 0;
            }
        }
        if (!ok) continue;
        r->run[p] = 0;
        for (int32_t k = p + 1; k < g->n_ops; k++) {
            if (!r->run[k] || r->src[k] != p + 1) continue;
            taml_cnn_geom *q = &r->geom[k];
            int32_t pads[4] = {q->pt + pad->pad[0], q->pb + pad->pad[1], q->pl + pad->pad[2],
                               q->pr + pad->pad[3]};
            taml_image_shape x = taml_image_graph_shape(g, pad->in[0]);
            taml_cnn_geom_set(q, 1, x.h, x.w, x.c, q->Co, q->kh, q->kw, q->sh, q->sw, pads);
            r->src[k] = pad->in[0];
        }
    }
}

/* Gives every needed tensor a buffer: tensor t may share one with tensors
 * whose last reader ran before t was made. Greedy best fit in graph order;
 * a buffer grows to the largest tensor it holds. */
static int plan_buffers(taml_cnn *r, taml_err *err)
{
    const taml_image_graph *g = r->g;
    const int32_t T = g->n_ops + 1;
    int32_t *last = taml_malloc((size_t)T * sizeof *last);
    int32_t *slot_of = taml_malloc((size_t)T * sizeof *slot_of);
    size_t *size = taml_calloc((size_t)T, sizeof *size);
    int32_t *busy = taml_malloc((size_t)T * sizeof *busy); /* last use of the slot's tensor */
    int rc = TAML_OK;
    for (int32_t t = 0; t < T; t++) last[t] = -1, slot_of[t] = -1;
    for (int32_t k = 0; k < g->n_ops; k++)
        if (r->run[k]) {
            last[r->src[k]] = k;
            for (int32_t i = 1; i < g->ops[k].n_in; i++) last[g->ops[k].in[i]] = k;
        }
    last[g->output] = g->n_ops; /* read by the pooling, after every op */
    int n = 0;
    for (int32_t t = 0; t < T; t++) {
        if (t > 0 && !r->run[t - 1]) continue;
        size_t need = (size_t)r->batch * tensor_floats(g, t);
        if (need > INT32_MAX) {
            rc = taml_err_set(err, TAML_EINVAL,
                              "a batch of %d images makes tensor %d %zu floats (at most 2^31 - 1)",
                              r->batch, (int)t, need);
            goto out;
        }
        int32_t now = t - 1; /* op t - 1 makes tensor t while it reads its inputs */
        int best = -1;
        for (int s = 0; s < n; s++) {
            if (busy[s] >= now || r->keep) continue; /* its tensor is still to be read */
            if (best < 0) best = s;
            else if (size[s] >= need && (size[best] < need || size[s] < size[best])) best = s;
            else if (size[best] < need && size[s] > size[best]) best = s;
        }
        if (best < 0) best = n++;
        if (size[best] < need) size[best] = need;
        busy[best] = last[t];
        slot_of[t] = best;
    }
    r->n_slots = n;
    r->slot = taml_calloc((size_t)n, sizeof *r->slot);
    for (int s = 0; s < n; s++) {
        r->slot[s] = taml_try_aligned(size[s] * sizeof(float));
        r->floats += size[s];
        if (!r->slot[s]) {
            rc = taml_err_set(err, TAML_ENOMEM, "cannot allocate %zu bytes for the CNN's tensors",
                              size[s] * sizeof(float));
            goto out;
        }
    }
    r->tensor = taml_calloc((size_t)T, sizeof *r->tensor);
    for (int32_t t = 0; t < T; t++)
        if (slot_of[t] >= 0) r->tensor[t] = r->slot[slot_of[t]];
out:
    free(last);
    free(slot_of);
    free(size);
    free(busy);
    return rc;
}

int taml_cnn_new(taml_cnn **out, const taml_image_graph *g, const taml_cnn_opts *o,
                 taml_err *err)
{
    *out = NULL;
    taml_cnn_opts none = {0};
    if (!o) o = &none;
    int batch = o->batch ? o->batch : DEFAULT_BATCH;
    if (batch < 1 || batch > MAX_BATCH)
        return taml_err_set(err, TAML_EINVAL, "CNN batch %d (1 .. %d expected)", batch,
                            MAX_BATCH);
    taml_cnn *r = taml_calloc(1, sizeof *r);
    r->g = g;
    r->batch = batch;
    r->reference = o->reference;
    r->keep = o->keep;
    r->geom = taml_calloc((size_t)g->n_ops, sizeof *r->geom);
    r->src = taml_calloc((size_t)g->n_ops, sizeof *r->src);
    r->run = taml_calloc((size_t)g->n_ops, sizeof *r->run);
    for (int32_t k = 0; k < g->n_ops; k++) {
        const taml_image_op *op = &g->ops[k];
        r->run[k] = (char)op->needed;
        r->src[k] = op->in[0];
        taml_image_shape x = taml_image_graph_shape(g, op->in[0]);
        int kh = op->kh ? op->kh : 1, kw = op->kw ? op->kw : 1;
        int sh = op->sh ? op->sh : 1, sw = op->sw ? op->sw : 1;
        taml_cnn_geom_set(&r->geom[k], 1, x.h, x.w, x.c, op->out.c, kh, kw, sh, sw, op->pad);
    }
    if (!r->reference && !r->keep) fuse_pads(r); /* else the graph as it is */
    int rc = plan_buffers(r, err);
    if (rc) {
        taml_cnn_free(r);
        return rc;
    }
    size_t scratch = 0;
    int32_t max_in = 1;
    for (int32_t k = 0; k < g->n_ops; k++) {
        const taml_image_op *op = &g->ops[k];
        if (!r->run[k]) continue;
        if (op->kind == TAML_IMAGE_CONV) {
            taml_cnn_geom b = r->geom[k];
            b.B = batch;
            size_t need = taml_cnn_conv2d_scratch(&b);
            if (need > scratch) scratch = need;
        }
        if (op->n_in > max_in) max_in = op->n_in;
    }
    r->scratch = taml_try_aligned((scratch ? scratch : 1) * sizeof(float));
    r->floats += scratch;
    if (!r->scratch) {
        taml_cnn_free(r);
        return taml_err_set(err, TAML_ENOMEM, "cannot allocate %zu bytes for im2col",
                            scratch * sizeof(float));
    }
    const size_t S = (size_t)g->input_size;
    r->plan_i = taml_malloc(4 * S * sizeof *r->plan_i);
    r->plan_f = taml_malloc(8 * S * sizeof *r->plan_f);
    r->plan.y0 = r->plan_i;
    r->plan.y1 = r->plan_i + S;
    r->plan.x0 = r->plan_i + 2 * S;
    r->plan.x1 = r->plan_i + 3 * S;
    r->plan.ly = r->plan_f;
    r->plan.lx = r->plan_f + S;
    r->plan.rows = r->plan_f + 2 * S;
    r->cat = taml_malloc((size_t)max_in * sizeof *r->cat);
    r->cat_c = taml_malloc((size_t)max_in * sizeof *r->cat_c);
    *out = r;
    return TAML_OK;
}

float *taml_cnn_input_tensor(taml_cnn *r) { return r->tensor[0]; }

const float *taml_cnn_output(const taml_cnn *r) { return r->tensor[r->g->output]; }

const float *taml_cnn_tensor(const taml_cnn *r, int32_t t)
{
    TAML_ASSERT(t >= 0 && t <= r->g->n_ops);
    if (t == 0 || t == r->g->output || (r->keep && r->run[t - 1])) return r->tensor[t];
    return NULL;
}

void taml_cnn_profile(taml_cnn *r, double *seconds) { r->profile = seconds; }

size_t taml_cnn_scratch_floats(const taml_cnn *r) { return r->floats; }

static void run_op(taml_cnn *r, int32_t k, int n)
{
    const taml_image_op *op = &r->g->ops[k];
    float *y = r->tensor[k + 1];
    const float *x = r->tensor[r->src[k]];
    taml_cnn_geom geom = r->geom[k];
    geom.B = n;
    const int ref = r->reference;
    switch (op->kind) {
    case TAML_IMAGE_CONV:
        if (ref) taml_cnn_conv2d_ref(y, x, op->w, op->b, &geom, (int)op->act);
        else taml_cnn_conv2d(y, x, op->w, op->b, &geom, (int)op->act, r->scratch);
        break;
    case TAML_IMAGE_DWCONV:
        if (ref) taml_cnn_dwconv2d_ref(y, x, op->w, op->b, &geom, (int)op->act);
        else taml_cnn_dwconv2d(y, x, op->w, op->b, &geom, (int)op->act);
        break;
    case TAML_IMAGE_MAXPOOL:
        (ref ? taml_cnn_maxpool2d_ref : taml_cnn_maxpool2d)(y, x, &geom);
        break;
    case TAML_IMAGE_AVGPOOL:
        (ref ? taml_cnn_avgpool2d_ref : taml_cnn_avgpool2d)(y, x, &geom);
        break;
    case TAML_IMAGE_PAD:
        (ref ? taml_cnn_pad2d_ref : taml_cnn_pad2d)(y, x, &geom);
        break;
    case TAML_IMAGE_ADD:
        taml_cnn_add(y, x, r->tensor[op->in[1]], (size_t)n * tensor_floats(r->g, k + 1),
                     (int)op->act);
        break;
    case TAML_IMAGE_CONCAT:
        for (int32_t i = 0; i < op->n_in; i++) {
            r->cat[i] = r->tensor[op->in[i]];
            r->cat_c[i] = taml_image_graph_shape(r->g, op->in[i]).c;
        }
        (ref ? taml_cnn_concat_ref : taml_cnn_concat)(y, r->cat, r->cat_c, (int)op->n_in,
                                                      (size_t)n * op->out.h * op->out.w);
        break;
    default:
        TAML_ASSERT(0);
    }
}

/* The calling thread's CPU time: on a shared machine the wall clock also
 * counts the time other processes held the core. */
static double thread_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void taml_cnn_run(taml_cnn *r, int n)
{
    TAML_ASSERT(n >= 1 && n <= r->batch);
    for (int32_t k = 0; k < r->g->n_ops; k++) {
        if (!r->run[k]) continue;
        if (!r->profile) {
            run_op(r, k, n);
            continue;
        }
        double t0 = thread_seconds();
        run_op(r, k, n);
        r->profile[k] += thread_seconds() - t0;
    }
}

int taml_cnn_features(taml_cnn *r, const uint8_t *images, int n, int h, int w, int c, float *out,
                      taml_err *err)
{
    const taml_image_graph *g = r->g;
    if (c != 1 && c != 3)
        return taml_err_set(err, TAML_EINVAL,
                            "images of %d channels: an image module takes 1 (grey, copied to "
                            "RGB) or 3 (RGB)",
                            c);
    /* Every image is resized to S x S first, so any size works: min_input
     * (the smallest S the graph itself would run at) does not limit it. */
    if (h < 1 || w < 1 || (int64_t)h * w > TAML_IMAGE_MAX_TENSOR)
        return taml_err_set(err, TAML_EINVAL, "%d x %d images: 1 .. 2^28 pixels expected", h, w);
    if (n < 1 || n > r->batch)
        return taml_err_set(err, TAML_EINVAL, "%d images in one call; this runner takes 1 .. %d",
                            n, r->batch);
    const int S = g->input_size;
    const size_t in_img = (size_t)h * w * c, x_img = (size_t)S * S * 3;
    if (!r->reference && (r->plan.h != h || r->plan.w != w)) taml_cnn_resize_plan(&r->plan, h, w, S);
    for (int i = 0; i < n; i++) {
        float *x = r->tensor[0] + (size_t)i * x_img;
        if (r->reference)
            taml_cnn_input_ref(x, images + i * in_img, h, w, c, S, g->scale, g->shift);
        else
            taml_cnn_input(x, images + i * in_img, c, &r->plan, g->scale, g->shift);
    }
    taml_cnn_run(r, n);
    taml_image_shape y = taml_image_graph_shape(g, g->output);
    (r->reference ? taml_cnn_pool_cut_ref : taml_cnn_pool_cut)(out, taml_cnn_output(r), n, y.h,
                                                               y.w, y.c, g->grid);
    return TAML_OK;
}
