/* fuzz/fuzz_model.c - fuzz target for the model-file parser of src/nn/model.c
 * (taml_model_decode: what `taml predict` reads).
 *
 * One input: byte 0 holds flags, the rest is a model file. Flag bit 0
 * recomputes the trailing CRC-32 (and bit 1 the envelope's length) so that
 * mutations reach the structural checks behind them (else nearly every
 * mutation stops at the checksum). A refusal must name the source. A
 * model that loads must predict: two texts (text models) or two images of
 * zero and 255 bytes (image models), all logits finite; an ensemble
 * (version 2) its probabilities, all finite. Flag bits 0 and 1 apply to the
 * outer envelope only: a member's own CRC stays as it was.
 * Every input must end in a model or a clean error; sanitizers catch the rest.
 *
 * Two builds:
 *   make fuzz              -> build/fuzz/fuzz_model FILE|DIR...: replays a corpus
 *                             (fuzz/corpus/model/) and prints a tally
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_model.c src/core/[a-z]*.c src/data/[a-z]*.c src/embed/[a-z]*.c \
 *     src/nn/[a-z]*.c -lcjson -lutf8proc -lz -lm -ldl -lpthread -o fuzz_model \
 *     && ./fuzz_model -max_total_time=300 fuzz/corpus/model
 * The corpus: models exported from tiny studies of tests/fixtures/tasks
 * (text: frozen, fine-tuned, wide only, deep only with batch norm; image: on
 * pixels, and imagecnn-0, version 4, carrying the tiny fixture CNN),
 * and two of version 3 trained on child-topics with the v1 fixture module
 * (ngrams-*: word bigrams, character 3-4-grams, log weighting, subwords;
 * subwords-finetuned-*: subwords with a fine-tuned module, deep only;
 * tfidf-*: word bigrams, character 1-2-grams, tfidf, wide only);
 * and ensembles of them (ensemble-*: three text members, weights 2, 1, 1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/util.h"
#include "nn/model.h"
#include "replay.h"

static int run_one(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    int flags = data[0];
    size_t n = size - 1;
    unsigned char *buf = malloc(n ? n : 1);
    memcpy(buf, data + 1, n);
    if ((flags & 2) && n >= TAML_ENVELOPE_HEAD + TAML_ENVELOPE_TAIL)
        taml_bytes_store_u64(buf + 16, n - TAML_ENVELOPE_HEAD - TAML_ENVELOPE_TAIL);
    if ((flags & 1) && n >= 4) taml_bytes_store_u32(buf + n - 4, taml_crc32(0, buf, n - 4));
    taml_model *m = NULL;
    taml_err err;
    int ok = taml_model_decode(&m, buf, n, "fuzz.taml", &err) == 0;
    free(buf);
    if (!ok && strncmp(err.msg, "fuzz.taml: ", 11) != 0) abort();
    if (!ok) return 0;
    const taml_model_info *mi = taml_model_info_get(m);
    float *z = malloc(sizeof *z * 2 * (size_t)mi->n_classes);
    if (mi->ensemble) {
        double *p = malloc(sizeof *p * 2 * (size_t)mi->n_classes);
        const char *texts[2] = {"the oven was hot, yes", "Stadium WIN \xc3\xa9t\xc3\xa9 42"};
        size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
        size_t P = (size_t)mi->height * mi->width * mi->channels;
        uint8_t *px = calloc(2, P ? P : 1);
        if (mi->image ? taml_model_proba_images(m, 2, px, p, &err)
                      : taml_model_proba_texts(m, 2, texts, lens, p, &err))
            abort();
        for (int32_t j = 0; j < 2 * mi->n_classes; j++)
            if (!(p[j] >= 0 && p[j] <= 1)) abort();
        free(px);
        free(p);
    } else if (mi->image) {
        size_t P = (size_t)mi->height * mi->width * mi->channels;
        uint8_t *px = malloc(2 * P);
        memset(px, 0, P);
        memset(px + P, 255, P);
        if (taml_model_predict_images(m, 2, px, z, &err)) abort();
        free(px);
    } else {
        const char *texts[2] = {"the oven was hot, yes", "Stadium WIN \xc3\xa9t\xc3\xa9 42"};
        size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
        if (taml_model_predict_texts(m, 2, texts, lens, z, &err)) abort();
    }
    free(z);
    taml_model_free(m);
    return 1;
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays fuzz inputs through the model-file parser",
    .accepted = "loaded",
    .run_one = run_one,
};
#endif
