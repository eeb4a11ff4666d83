/* nn/model.h - a trained child as a file: what `taml export` writes and
 * `taml predict` reads. It sits above the child (nn/child.h) and holds
 * everything a prediction needs, nothing of the task or module it came from:
 * the config, the class names, the wide vocabulary with its weight rows, the
 * embedding rows of only the task's words the module knows (fine-tuned rows
 * when fine-tuned), every dense weight and the batch-norm running averages.
 *
 * File format, version 1 (all integers and floats little-endian): the
 * envelope of core/bytes.h, magic "TAMLCLSF", version 1, flags 0:
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
 * Predictions reproduce the child's own evaluation bit for bit when texts
 * arrive in the same batches of TAML_CHILD_BATCH (the net and its kernels
 * are the ones that trained, the pooled input is computed the same way).
 */
#ifndef TAML_NN_MODEL_H
#define TAML_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "nn/child.h"
#include "nn/config.h"
#include "nn/features.h"

#define TAML_MODEL_VERSION 1
/* Version 4: an image model whose deep tower reads an image module (see
 * above). Versions 2 and 3 are other branches' (the ensemble container, a
 * text model with n-gram fields); this build reads 1 and 4. */
#define TAML_MODEL_VERSION_IMAGE 4

typedef struct taml_model taml_model;

/* What a model says about itself; strings owned by the model. */
typedef struct taml_model_info {
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
 * Evaluated in consecutive batches of TAML_CHILD_BATCH. Text models only
 * (TAML_EINVAL otherwise). Not thread-safe: one model per thread. */
int taml_model_predict_texts(taml_model *m, int32_t n, const char *const *texts,
                             const size_t *lens, float *logits, taml_err *err);
/* Logits (n, C) of n images, pixels (n, height * width * channels) bytes.
 * Image models only. */
int taml_model_predict_images(taml_model *m, int32_t n, const uint8_t *pixels, float *logits,
                              taml_err *err);

/* The index of the largest of the C logits (ties: the lowest index, as the
 * child's accuracy counts), and their softmax in proba (may be NULL). */
int32_t taml_model_argmax(const float *logits, int32_t C, double *proba);

#endif
