/* nn/net.h - the two-tower wide & deep network of one child: its parameter
 * layout, forward pass and backward pass, over memory the caller provides.
 *
 * Sits between the kernels (nn/kernels.h) and the trainer (nn/child.h): the
 * trainer owns data, randomness, the optimiser and the training loop; the net
 * only maps a batch to a loss and gradients. Like the kernels it is compiled
 * twice from net_tmpl.h: taml_net_* over float (training) and taml_netd_* over
 * double (the whole-model gradient check), so the check covers the code that
 * trains.
 *
 *   deep:  x0 (pooled module rows, or the mean of the fine-tuned table's rows)
 *          -> L x [dense -> relu|swish -> dropout (training) -> none|BN|LN]
 *          -> dense to C logits
 *   wide:  bias + sum of the (V, C) table's rows of the example's wide ids
 *   logits = deep + wide; loss = softmax cross-entropy summed over the batch.
 * Beyond the paper (shape.wide_parts, shape.sub_rows; absent, the net is the
 * paper's exactly):
 *   n-gram wide tower: bias + sum over the batch's parts (word n-grams,
 *          character n-grams) of weight(count) times the rows base + id
 *   subwords: x0 is the mean over the tokens of the module rows of the
 *          tokens the module knows and, for each token it lacks, the mean
 *          of the token's n-gram vectors (a (sub_rows, D) table learned
 *          with the deep tower; the module rows are emb when fine-tuning,
 *          else the caller's frozen table).
 * Layer order is TF1's canned DNN (dense -> activation -> dropout -> norm).
 */
#ifndef TAML_NN_NET_H
#define TAML_NN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/config.h"
#include "nn/kernels.h"

typedef struct taml_net_shape {
    int B;             /* rows of a training batch (evaluation may use fewer) */
    int D;             /* deep input width; 0 = no deep tower */
    int L, H, C;       /* hidden layers, their width, classes */
    int act, norm;     /* TAML_ACT_*, TAML_NORM_* */
    int dropout;       /* 1: training forward multiplies by the caller's masks */
    int64_t emb_rows;  /* > 0: fine-tuning; x0 is the mean of rows of emb (emb_rows, D) */
    int emb_cap;       /* most distinct emb rows one batch can touch */
    int64_t wide_rows; /* V, wide features; 0 = no wide tower */
    int wide_cap;      /* most distinct wide rows one batch can touch */
    int wide_dense;    /* P > 0: the wide tower is a dense linear layer on xw (B, P)
                        * (image tasks: raw pixels) instead of a table */
    int wide_parts;    /* > 0: the wide table's rows are those of the batch's n-gram parts */
    int weighting;     /* TAML_WEIGHT_* of the n-gram parts */
    int sub_rows;      /* > 0: subword vectors (sub_rows, D) in the deep input */
    int sub_cap;       /* most distinct subword rows one batch can touch */
} taml_net_shape;

/* One n-gram part of a batch: per-example features (CSR over the whole task,
 * nn/features.h's taml_ngrams_part) whose rows start at row base of the wide
 * table. */
typedef struct taml_net_part {
    const int64_t *off;
    const int32_t *ids;
    const int32_t *cnt;
    int32_t base;
    const float *idf; /* (rows) tfidf weighting only, else NULL */
} taml_net_part;

/* A batch: example ids into per-example id lists (CSR over the whole task). */
typedef struct taml_net_batch {
    int B;                   /* rows, <= shape.B */
    const int32_t *ex;       /* (B) example ids (index into the CSR arrays) */
    const int32_t *labels;   /* (B) classes; NULL when only logits are wanted */
    const int64_t *deep_off; /* fine-tuning: example e's emb rows are deep_ids[deep_off[e] ..) */
    const int32_t *deep_ids;
    const int64_t *wide_off; /* wide tower: example e's wide ids are wide_ids[wide_off[e] ..) */
    const int32_t *wide_ids;
    const taml_net_part *parts; /* (shape.wide_parts) the n-gram wide tower's parts */
    const float *wide_scale;    /* tfidf: each example's scale (indexed as the CSR), else NULL */
    const int64_t *sub_off;     /* subwords (nn/features.h's taml_subwords): example e's */
    const int32_t *sub_words;   /*   tokens the module lacks are sub_words[sub_off[e] ..), */
    const int64_t *sub_woff;    /*   word w's n-gram rows sub_wrows[sub_woff[w] .. w + 1) */
    const int32_t *sub_wrows;
} taml_net_batch;

/* The subword vectors of a net (carved from its block only when it has them). */
#define TAML_NET_SUB_FIELDS(REAL, SPARSE)                                                     \
    REAL *table;        /* (sub_rows, D) n-gram vectors */                                   \
    SPARSE g;           /* their sparse gradient */                                          \
    const REAL *frozen; /* (R, D) the module rows when not fine-tuning (the caller's) */
typedef struct taml_net_sub {
    TAML_NET_SUB_FIELDS(float, taml_kernel_sparse)
} taml_net_sub;
typedef struct taml_netd_sub {
    TAML_NET_SUB_FIELDS(double, taml_kerneld_sparse)
} taml_netd_sub;

/* The net of one precision: REAL is float or double, SPARSE its kernels' sparse
 * gradient type, SUB its subword struct. One body for both structs below. */
#define TAML_NET_FIELDS(REAL, SPARSE, SUB)                                                    \
    taml_net_shape s;                                                                         \
    REAL *deep, *ddeep; /* (n_deep) deep tower's dense parameters and gradients */           \
    size_t n_deep;                                                                            \
    REAL *wide, *dwide; /* (C [+ P C]) wide bias [then dense weights (P, C)], gradient */    \
    size_t n_wide;                                                                            \
    REAL *xw;           /* (B, P) dense wide input (wide_dense), filled by the caller */     \
    REAL *emb;          /* (emb_rows, D) fine-tuned table (the caller fills it) */           \
    REAL *wtab;         /* (V, C) wide table */                                              \
    SPARSE gemb, gwide; /* sparse gradients of emb and wtab */                               \
    REAL *rmean, *rvar; /* (L, H) batch-norm running averages */                             \
    REAL *mask;         /* (L, B, H) dropout masks: 0 or 1/(1-p), filled by the caller */    \
    REAL *x0;           /* (B, D) deep input; the caller fills it unless fine-tuning */      \
    REAL *logits;       /* (B, C) */                                                         \
    REAL *dlogits;                                                                            \
    /* views into deep/ddeep, per hidden layer l < L and the output layer L */               \
    REAL *w[TAML_CHILD_MAX_LAYERS + 1], *b[TAML_CHILD_MAX_LAYERS + 1];                       \
    REAL *gam[TAML_CHILD_MAX_LAYERS], *bet[TAML_CHILD_MAX_LAYERS];                           \
    REAL *dw[TAML_CHILD_MAX_LAYERS + 1], *db[TAML_CHILD_MAX_LAYERS + 1];                     \
    REAL *dgam[TAML_CHILD_MAX_LAYERS], *dbet[TAML_CHILD_MAX_LAYERS];                         \
    /* activations of the last forward pass */                                               \
    REAL *z, *a, *d, *h, *xhat; /* (L, B, H) each (d, h, xhat only when used) */             \
    REAL *mean, *var;           /* (L, H) batch statistics (batch norm) */                   \
    REAL *rstd;                 /* (L, B) per-row 1/std (layer norm) */                      \
    const REAL *out[TAML_CHILD_MAX_LAYERS]; /* layer l's output (one of a, d, h) */          \
    REAL *g1, *g2, *dx0, *colsum;           /* backward scratch */                           \
    int train;                              /* the last forward was a training pass */   \
    SUB *sub;                               /* subwords (NULL without) */

/* Both instantiations are written out (definitions: net_tmpl.h, compiled by
 * net.c with NF(name) = taml_net_##name and taml_netd_##name). */

/* ---- over float: training ---- */

typedef struct taml_net_t {
    TAML_NET_FIELDS(float, taml_kernel_sparse, taml_net_sub)
} taml_net_t;
/* Bytes of memory the net needs for shape s (parameters, gradients, buffers). */
size_t taml_net_size(const taml_net_shape *s);
/* Lays the net out in block (taml_net_size bytes, 64-byte aligned); parameters are zero,
 * running variances 1, sparse gradients empty. */
void taml_net_init(taml_net_t *n, const taml_net_shape *s, void *block);
/* Forward pass. train: batch statistics and dropout masks; else running averages and
 * no dropout. Returns the loss summed over the batch when b->labels is set (and fills
 * dlogits = p - onehot), else 0. */
double taml_net_forward(taml_net_t *n, const taml_net_batch *b, int train);
/* Adds the gradients of the last training forward's loss to ddeep, dwide, gemb, gwide
 * (and sub->g). */
void taml_net_backward(taml_net_t *n, const taml_net_batch *b);
/* Zeroes ddeep, dwide and clears the sparse gradients. */
void taml_net_zero_grad(taml_net_t *n);
/* Moves the batch-norm running averages by the last training forward's statistics. */
void taml_net_update_running(taml_net_t *n);

/* ---- over double: the whole-model gradient check ---- */

typedef struct taml_netd_t {
    TAML_NET_FIELDS(double, taml_kerneld_sparse, taml_netd_sub)
} taml_netd_t;
/* Bytes of memory the net needs for shape s (parameters, gradients, buffers). */
size_t taml_netd_size(const taml_net_shape *s);
/* Lays the net out in block (taml_netd_size bytes, 64-byte aligned); parameters are zero,
 * running variances 1, sparse gradients empty. */
void taml_netd_init(taml_netd_t *n, const taml_net_shape *s, void *block);
/* Forward pass. train: batch statistics and dropout masks; else running averages and
 * no dropout. Returns the loss summed over the batch when b->labels is set (and fills
 * dlogits = p - onehot), else 0. */
double taml_netd_forward(taml_netd_t *n, const taml_net_batch *b, int train);
/* Adds the gradients of the last training forward's loss to ddeep, dwide, gemb, gwide
 * (and sub->g). */
void taml_netd_backward(taml_netd_t *n, const taml_net_batch *b);
/* Zeroes ddeep, dwide and clears the sparse gradients. */
void taml_netd_zero_grad(taml_netd_t *n);
/* Moves the batch-norm running averages by the last training forward's statistics. */
void taml_netd_update_running(taml_netd_t *n);

#endif
