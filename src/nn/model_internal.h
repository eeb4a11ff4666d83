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
#include "nn/ngrams.h"

#define TAML_MODEL_BATCH TAML_CHILD_BATCH
#define TAML_MODEL_MAX_PARTS (TAML_NGRAM_WORD_MAX + TAML_NGRAM_CHAR_MAX)

/* One n-gram part of the wide tower (the config's order: words, word n-grams
 * 2 .. n, character n-grams min .. max), and its prediction scratch. */
typedef struct model_part {
    int kind, n;         /* TAML_GRAM_WORD / _CHAR (nn/features.h), n */
    int32_t rows, base;  /* its rows of the wide table start at base */
    uint32_t *bucket;    /* (rows) the bucket of each row (NULL for single words) */
    float *idf;          /* (rows) tfidf weighting only, else NULL */
    taml_ngrams_map *map;
    /* one batch's features: example b's are ids[off[b] .. off[b+1]) */
    int64_t off[TAML_MODEL_BATCH + 1];
    int32_t *ids, *cnt;
    size_t cap;
    int32_t *stamp;      /* (rows) 1 + the last text that held the row */
    int64_t *where;      /* (rows) its entry there */
} model_part;

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
    /* beyond the paper (version 3): the n-gram parts and the subword vectors */
    int version;         /* of the file: TAML_MODEL_VERSION or TAML_MODEL_VERSION_TEXT */
    int word_ngrams, char_min, char_max, weighting, subwords;
    int64_t buckets;
    int n_parts;
    model_part parts[TAML_MODEL_MAX_PARTS];
    taml_net_part bparts[TAML_MODEL_MAX_PARTS];
    float scale[TAML_MODEL_BATCH]; /* tfidf: one batch's scales */
    int32_t S;           /* subword rows (in net.sub->table) */
    uint32_t *sub_bucket;
    taml_ngrams_map *sub_map;
    int64_t sub_off[TAML_MODEL_BATCH + 1]; /* one batch's subword tokens, each its own word */
    int64_t *sub_woff;
    int32_t *sub_words, *sub_wrows;
    size_t sub_cap, sub_wcap;
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
/* Sets the decisions beyond the paper from the parsed config; the n-gram
 * parts' kinds and lengths in the config's order (rows, buckets unset). */
void taml_model_set_text(taml_model *m, const taml_child_config *cfg);

#endif
