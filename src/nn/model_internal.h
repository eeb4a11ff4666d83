/* nn/model_internal.h - the model's private state, shared by model.c (made
 * from a child, predictions) and model_file.c (the file codec). Nothing
 * outside src/nn includes this. */
#ifndef TAML_NN_MODEL_INTERNAL_H
#define TAML_NN_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/strmap.h"
#include "embed/image_graph.h"
#include "nn/cnn.h"
#include "nn/model.h"
#include "nn/net.h"

#define TAML_MODEL_BATCH TAML_CHILD_BATCH

struct taml_model {
    taml_model_info info;
    char *task_name, *config_json, *provenance_json;
    uint32_t tok_version;
    int32_t C;
    char **class_names; /* (C) */
    int image, deep, wide, fine_tuned;
    int32_t height, width, channels;
    taml_net_shape shape;
    void *block; /* the net's memory */
    taml_net_t net;
    /* text: word i of wide_words owns row i of net.wtab; word i of emb_words
     * owns row i of rows (frozen) or of net.emb (fine-tuned) */
    int32_t V, R;
    char **wide_words, **emb_words;
    taml_strmap *wide_map, *emb_map;
    float *rows; /* (R, D) frozen module rows; NULL when fine-tuned */
    /* prediction scratch: one batch's ids */
    int64_t deep_off[TAML_MODEL_BATCH + 1], wide_off[TAML_MODEL_BATCH + 1];
    int32_t *deep_ids, *wide_ids;
    size_t deep_cap, wide_cap;
    int32_t ex[TAML_MODEL_BATCH];
    /* version 4: the image module the deep tower read, carried whole (its
     * graph, owning a copy of its weights) and run on each image to make
     * the deep input; NULL otherwise (pixels) */
    taml_image_graph *cnn_graph;
    float *cnn_weights;    /* (cnn_graph->n_weights) */
    char *module_name;     /* the module's name and its file's CRC-32, for info */
    uint32_t module_crc;
    taml_cnn *cnn;         /* the runner, made at the first prediction */
    /* an ensemble (n_members > 0): the fields above that its members share
     * (task name, classes, kind, image size, tokeniser version) are copies
     * of member 0's, the net is unused */
    int32_t n_members;
    taml_model **members; /* (n_members) single models */
    uint32_t *weights;    /* (n_members) */
    float *member_logits; /* (n_members, TAML_MODEL_BATCH, C) prediction scratch */
};

/* Takes an empty graph g whose fields were decoded (its weights not yet
 * set) and the weights (heap, n floats, taken), resolves it and attaches
 * both to m; source names the model in a refusal. */
int taml_model_attach_cnn(taml_model *m, taml_image_graph *g, float *weights, const char *source,
                          taml_err *err);

/* The deep tower's dense parameter count for shape s (0 without one). */
size_t taml_model_deep_params(const taml_net_shape *s);
/* Lays out the net for m->shape (evaluation only) in a fresh block. */
void taml_model_alloc_net(taml_model *m);
/* Once every field is set: the word maps and the public info. */
void taml_model_finish(taml_model *m);

#endif
