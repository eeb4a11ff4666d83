/* nn/model.h - a trained child as a file: what `taml export` writes and
 * `taml predict` reads. It sits above the child (nn/child.h) and holds
 * everything a prediction needs, nothing of the task or module it came from:
 * the config, the class names, the wide vocabulary with its weight rows, the
 * embedding rows of only the task's words the module knows (fine-tuned rows
 * when fine-tuned), every dense weight and the batch-norm running averages.
 *
 * File format (all integers and floats little-endian): the envelope of
 * core/bytes.h, magic "TAMLCLSF", version 1 or 3, flags 0; a model is
 * written in the lowest version that holds it: version 1 when its config
 * has only the paper's decisions, else 3 (docs/formats.md "Model files";
 * version 2 is the ensemble container, version 4 the image model).
 * Version 1:
 *   "TAMLCLSF"  u32 version  u32 flags (0)  u64 N  | N payload bytes |  u32 CRC-32
 * (the CRC covers every byte before it; the layout has not changed since
 * version 1 was first written, before the envelope was shared). The
 * payload, in order (str = u32 length + UTF-8 bytes; f32 arrays are IEEE
 * binary32):
 *   str task name, str config JSON, u32 tokeniser version
 *   (TAML_TOKENISE_VERSION), str provenance JSON (study, trial, seed,
 *   accuracies, ...; free-form for tools), u32 kind (0 text, 1 image),
 *   u32 height, width, channels (0 for text),
 *   u32 C, C x str class names,
 *   u32 D, L, H, activation, normalization, fine_tuned  (D = 0: no deep tower)
 *   u32 wide (0/1); text and wide: u32 rows, u32 V <= rows, V x str words
 *   (word i owns row i), f32 bias (C), f32 table (rows, C); image and wide:
 *   f32 bias (C), f32 weights (D_pixels, C)
 *   deep (D > 0): text: u32 R, R x str words, f32 rows (R, D); then u64
 *   n_deep, f32 dense parameters (n_deep, laid out as nn/net.h does), and
 *   with batch norm f32 running mean (L, H) and running variance (L, H).
 * Version 3 appends, for text models, the n-gram parts of the wide table
 * (u32 P, then per part u32 kind, u32 n, u32 rows and, hashed, rows x u32
 * bucket, and with tfidf weighting f32 idf (rows); the table's rows are the
 * parts' in order) when the config asks
 * for n-grams, and the subword vectors (u32 S, S x u32 bucket, f32 (S, D))
 * when it asks for subwords and has a deep tower.
 * Version 4 (an image model whose deep tower reads an image module's
 * features; every other model is still written as version 1, byte for byte)
 * is version 1's payload, whose deep input width D is the module's feature
 * dimension instead of the pixels, followed by the module: str its name, u32
 * its file's CRC-32, its graph section (embed/image_graph.h, layout version
 * 1, as in the module file; docs/formats.md) and the graph's n_weights f32
 * weights. Predicting runs that CNN on each image (nn/cnn.h), then the net.
 * The payload must be consumed exactly. A model whose tokeniser version is
 * not this build's is refused: its words would not match the tokens.
 *
 * Version 2 (TAML_MODEL_VERSION_ENSEMBLE): an ensemble, a container of K
 * single models of one task, the same envelope with version 2 around
 *   u32 K (1 .. TAML_MODEL_MAX_MEMBERS), str provenance JSON of the ensemble,
 *   K x (u32 weight >= 1, u64 size, size bytes: the member as a complete
 *   single-model file, envelope and CRC included, of a version the single
 *   decoder reads).
 * The members keep their own framing so that their payload (version 1
 * today) can change without the container changing. They must agree on
 * what a prediction is: the task name, the kind, the image size and the
 * class names in order.
 *
 * Predictions reproduce the child's own evaluation bit for bit when texts
 * arrive in the same batches of TAML_CHILD_BATCH (the net and its kernels
 * are the ones that trained, the pooled input is computed the same way).
 * An ensemble predicts class probabilities, the weighted mean of its
 * members' (taml_model_mean_proba, the one function the ensemble builder of
 * search/ensemble.h scores with too).
 */
#ifndef TAML_NN_MODEL_H
#define TAML_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"

#define TAML_MODEL_VERSION 1          /* a single model: what export writes for one */
#define TAML_MODEL_VERSION_ENSEMBLE 2 /* a container of members */
#define TAML_MODEL_VERSION_TEXT 3     /* a single text model with the text features beyond the paper */
#define TAML_MODEL_MAX_MEMBERS 1000
/* Version 4: an image model whose deep tower reads an image module (see
 * above). This build reads 1, 2, 3 and 4. */
#define TAML_MODEL_VERSION_IMAGE 4

typedef struct taml_model taml_model;

/* What a model says about itself; strings owned by the model. An ensemble
 * fills the fields its members share (task, kind, image size, classes,
 * tokeniser version), its own provenance, config_json NULL and the
 * per-member counts 0: ask its members (taml_model_member). */
typedef struct taml_model_info {
    int ensemble;      /* 1: an ensemble (file version 2) */
    int32_t n_members; /* its members; 1 for a single model */
    const char *task_name;
    const char *config_json;
    const char *provenance_json;
    uint32_t tokeniser_version;
    int image;                      /* 1: an image model (predict_images) */
    int32_t height, width, channels; /* image models */
    int32_t n_classes;
    const char *const *class_names; /* (n_classes) */
    int32_t dim;                     /* deep input width (0: no deep tower) */
    int32_t n_wide_words;            /* text: words with a wide-tower row */
    int32_t n_emb_rows;              /* text: words with an embedding row */
    int fine_tuned;
    int64_t n_gram_rows;             /* text: rows of hashed word and character n-grams */
    int32_t n_subword_rows;          /* text: subword (character n-gram) vectors */
    const char *image_module; /* image models whose deep tower reads an image
                               * module (carried in the file): its name; else NULL */
    uint32_t version;         /* the file version it is written in */
} taml_model_info;

/* Copies a trained child into a model. c must have been built from cfg and
 * f (the features of its task and module, kept alive meanwhile);
 * provenance_json (may be NULL: "{}") is stored as given. Fails only on a
 * child whose features are inconsistent (TAML_EINVAL). */
int taml_model_from_child(taml_model **out, const taml_child *c, const taml_child_config *cfg,
                          const taml_features *f, const char *provenance_json, taml_err *err);
void taml_model_free(taml_model *m);

const taml_model_info *taml_model_info_get(const taml_model *m);

/* An ensemble of n (1 .. TAML_MODEL_MAX_MEMBERS) single models, whose
 * probabilities are averaged with the weights (each >= 1: a member that
 * greedy selection picked twice weighs 2). The members are taken (freed
 * with the ensemble, or at once on failure; the array itself stays the
 * caller's). provenance_json (NULL: "{}") is stored as given. Refused
 * (TAML_EINVAL): no member, an ensemble as a member, a zero weight, members
 * of different tasks, kinds, image sizes or classes (the message names the
 * member and what differs). */
int taml_model_ensemble_new(taml_model **out, taml_model **members, const uint32_t *weights,
                            int32_t n, const char *provenance_json, taml_err *err);
/* Member i (0 .. n_members - 1) and its weight (may be NULL); a single
 * model is its own member 0 of weight 1. Owned by m. */
const taml_model *taml_model_member(const taml_model *m, int32_t i, uint32_t *weight);

/* The model as file bytes (*buf heap, caller frees). (nn/model_file.c, as
 * the three below.) */
void taml_model_encode(const taml_model *m, void **buf, size_t *size);
/* Parses file bytes; source names them in messages (NULL: "model").
 * Refused: a wrong magic, truncation or CRC mismatch (TAML_ECORRUPT),
 * another version (TAML_EMISMATCH), a payload that does not hold together
 * (TAML_EFORMAT; truncated inside: TAML_ECORRUPT), another tokeniser
 * version (TAML_EMISMATCH); all as "SOURCE: offset N: FIELD: what" (or a
 * checksum mismatch of SOURCE). */
int taml_model_decode(taml_model **out, const void *buf, size_t size, const char *source,
                      taml_err *err);
/* Writes the file atomically / reads it; errors name the path. */
int taml_model_save(const taml_model *m, const char *path, taml_err *err);
int taml_model_load(taml_model **out, const char *path, taml_err *err);

/* Logits (n, C) of n texts (texts[i], lens[i] bytes of UTF-8; invalid bytes
 * act as separators, as in the tokeniser), tokenised as the task loader does:
 * tokens outside the model's words are skipped by the tower that lacks them.
 * Evaluated in consecutive batches of TAML_CHILD_BATCH. Single text models
 * only (TAML_EINVAL otherwise: an ensemble has probabilities, not logits).
 * Not thread-safe: one model per thread. */
int taml_model_predict_texts(taml_model *m, int32_t n, const char *const *texts,
                             const size_t *lens, float *logits, taml_err *err);
/* Logits (n, C) of n images, pixels (n, height * width * channels) bytes.
 * Image models only. */
int taml_model_predict_images(taml_model *m, int32_t n, const uint8_t *pixels, float *logits,
                              taml_err *err);

/* Class probabilities (n, C) of n texts / images: a single model's softmax
 * of its logits (as taml_model_argmax computes it), an ensemble's
 * taml_model_mean_proba of its members' logits. Otherwise as above. */
int taml_model_proba_texts(taml_model *m, int32_t n, const char *const *texts,
                           const size_t *lens, double *proba, taml_err *err);
int taml_model_proba_images(taml_model *m, int32_t n, const uint8_t *pixels, double *proba,
                            taml_err *err);

/* The index of the largest of the C logits (ties: the lowest index, as the
 * child's accuracy counts), and their softmax in proba (may be NULL). */
int32_t taml_model_argmax(const float *logits, int32_t C, double *proba);
/* The ensemble's probabilities of n examples: proba (n, C) = sum_k w[k]
 * softmax(logits[k]) / sum_k w[k], k = 0 .. K - 1 summed in that order in
 * double, each softmax as taml_model_argmax's; logits[k] is (n, C). */
void taml_model_mean_proba(int32_t K, const float *const *logits, const uint32_t *w, int32_t n,
                           int32_t C, double *proba);
/* The most probable of C classes (ties: the lowest index). */
int32_t taml_model_best_class(const double *proba, int32_t C);

#endif
