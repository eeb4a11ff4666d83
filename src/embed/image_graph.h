/* embed/image_graph.h - the layer graph of an image module: plain data that
 * the module file stores (version 1 of the graph layout, docs/formats.md)
 * and nn/cnn.h runs.
 *
 * A graph maps one S x S x 3 float image (tensor 0, already resized and
 * scaled) through ops 0 .. n_ops - 1; op k reads the tensors of its `in`
 * list (each produced before it) and produces tensor k + 1, NHWC (channels
 * contiguous). Every shape follows from S: taml_image_graph_resolve computes
 * and checks them once (the importer when it reads cnn.json, the module
 * reader when it opens a file), so that a runner never meets a shape it did
 * not plan for. The ops (docs/formats.md, "The image graph"):
 *
 *   conv     k x k (kh, kw), stride (sh, sw), explicit zero padding
 *            [top, bottom, left, right], weights HWIO (kh, kw, cin, cout) and
 *            a bias (cout), then an activation
 *   dwconv   the same per channel (depth multiplier 1): weights (kh, kw, c)
 *   maxpool  padded positions never win
 *   avgpool  padded positions are not counted (TensorFlow's rule)
 *   pad      zeros around (ZeroPadding2D)
 *   add      two inputs of one shape, then an activation
 *   concat   two or more inputs of equal H, W; channels in `in` order
 *
 * Output size of a windowed op: (H + top + bottom - kh) / sh + 1 (floor),
 * which with TensorFlow's 'same' padding (total = max((ceil(H/s) - 1) s +
 * k - H, 0), top = floor(total / 2), the extra pixel bottom/right) is
 * ceil(H / s), and with 'valid' (no padding) floor((H - k) / s) + 1.
 */
#ifndef TAML_EMBED_IMAGE_GRAPH_H
#define TAML_EMBED_IMAGE_GRAPH_H

#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"

typedef enum taml_image_op_kind {
    TAML_IMAGE_CONV,
    TAML_IMAGE_DWCONV,
    TAML_IMAGE_MAXPOOL,
    TAML_IMAGE_AVGPOOL,
    TAML_IMAGE_PAD,
    TAML_IMAGE_ADD,
    TAML_IMAGE_CONCAT,
    TAML_IMAGE_N_OPS
} taml_image_op_kind;

typedef enum taml_image_act {
    TAML_IMAGE_ACT_NONE,
    TAML_IMAGE_ACT_RELU,
    TAML_IMAGE_ACT_RELU6,
    TAML_IMAGE_N_ACTS
} taml_image_act;

typedef enum taml_image_pooling {
    TAML_IMAGE_POOL_GLOBAL, /* mean over all positions: C features */
    TAML_IMAGE_POOL_GRID,   /* G x G cells' means: G G C features, cell-major */
} taml_image_pooling;

/* Limits the checks enforce (a graph beyond them is refused). */
#define TAML_IMAGE_MAX_SIZE 4096      /* input side S */
#define TAML_IMAGE_MAX_KERNEL 64      /* kh, kw, sh, sw */
#define TAML_IMAGE_MAX_PAD 1024       /* a pad op's side */
#define TAML_IMAGE_MAX_CHANNELS 65536
#define TAML_IMAGE_MAX_OPS 100000
#define TAML_IMAGE_MAX_IN 1024        /* inputs of a concat */
#define TAML_IMAGE_MAX_TENSOR (1 << 28) /* floats of one tensor (1 GiB) */
#define TAML_IMAGE_MAX_NAME 256

typedef struct taml_image_shape {
    int32_t h, w, c;
} taml_image_shape;

typedef struct taml_image_op {
    taml_image_op_kind kind;
    taml_image_act act; /* conv, dwconv, add; NONE for the others */
    char *name;         /* the source layer's name (heap; "" allowed) */
    int32_t n_in;
    int32_t *in;        /* (n_in) tensor indices, each <= this op's index (heap) */
    int32_t kh, kw, sh, sw;   /* windowed ops; 0 for pad, add, concat */
    int32_t pad[4];           /* top, bottom, left, right: windowed ops and pad */
    int32_t cin, cout;        /* conv; dwconv: both c; 0 for the others */
    int64_t w_off, b_off;     /* conv, dwconv: float offsets into the weights */
    /* Set by taml_image_graph_resolve: */
    const float *w;           /* conv (kh, kw, cin, cout); dwconv (kh, kw, c) */
    const float *b;           /* (cout) */
    taml_image_shape out;     /* tensor index + 1 */
    int needed;               /* 1 when the output depends on it */
} taml_image_op;

typedef struct taml_image_graph {
    int32_t input_size;  /* S: the network runs on S x S x 3 */
    int32_t min_input;   /* the smallest S at which the graph still runs (1 .. S);
                          * task images are resized to S, whatever their size */
    float scale[3], shift[3]; /* x = byte value * scale[ch] + shift[ch] */
    taml_image_pooling pooling;
    int32_t grid;        /* G for GRID, 1 for GLOBAL */
    int32_t n_ops;
    taml_image_op *ops;  /* (n_ops) heap */
    int32_t output;      /* the cut: a tensor index in 1 .. n_ops */
    int64_t n_weights;   /* floats in the weights */
    const float *weights;/* borrowed: the module's mapped matrix, or the importer's */
    /* Set by taml_image_graph_resolve: */
    int32_t dim;         /* features after pooling */
    double mflops;       /* 2 x multiply-adds / 1e6 of the needed ops, per image */
} taml_image_graph;

/* An empty graph (zeros); _deinit frees what the graph owns (ops, names,
 * input lists; never the weights) and leaves it empty. */
void taml_image_graph_init(taml_image_graph *g);
void taml_image_graph_deinit(taml_image_graph *g);
/* Allocates n zeroed ops (g must have none). */
void taml_image_graph_alloc_ops(taml_image_graph *g, int32_t n);

/* The shape of tensor t (0: the input (S, S, 3); k + 1: op k's output),
 * valid after resolve. */
taml_image_shape taml_image_graph_shape(const taml_image_graph *g, int32_t t);

/* Checks every field and computes every shape, the weight pointers (g->weights
 * must hold g->n_weights floats), which ops the output needs, dim and mflops.
 * A refusal (TAML_EFORMAT) names source, the op and what is wrong:
 * "cnn.json: op 12 (block_2_depthwise): dwconv: input has 96 channels, c is 144". */
int taml_image_graph_resolve(taml_image_graph *g, const char *source, taml_err *err);

/* 2 x multiply-adds / 1e6 of op per image (0 for ops without weights). */
double taml_image_op_mflops(const taml_image_op *op);

/* The graph section (layout version 1, docs/formats.md): every field above
 * that is not resolved. decode reads it from r into an empty g (then resolve
 * it); a failure is r's ("SOURCE: offset N: FIELD: what"). */
void taml_image_graph_encode(const taml_image_graph *g, taml_bytes_writer *w);
int taml_image_graph_decode(taml_image_graph *g, taml_bytes_reader *r);

/* Names: "conv", ...; "none", "relu", "relu6". parse returns -1 for others. */
const char *taml_image_op_name(taml_image_op_kind k);
const char *taml_image_act_name(taml_image_act a);
int taml_image_op_parse(const char *s);
int taml_image_act_parse(const char *s);
/* "global" or "grid G" into buf (cap bytes); returns buf. */
const char *taml_image_pooling_describe(const taml_image_graph *g, char *buf, int cap);

#endif
