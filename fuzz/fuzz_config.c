/* fuzz/fuzz_config.c - fuzz target for the child configuration parser
 * (src/nn/config.c), which reads user files and the search layer's JSON.
 *
 * One input = one JSON text. Every parse must end in a config or a clean error
 * with a message; a parsed config must satisfy the documented ranges and
 * survive a round trip (format, parse again, same struct). Sanitizers catch
 * the rest.
 *
 * Two builds:
 *   make fuzz                 -> build/fuzz/fuzz_config FILE|DIR...: replays a
 *                                corpus (fuzz/corpus/config/) and prints a tally
 *   clang -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -DTAML_LIBFUZZER -Isrc \
 *     fuzz/fuzz_config.c src/core/[a-z]*.c src/nn/config.c -lcjson -lz -lm -o fuzz_config \
 *     && ./fuzz_config -max_total_time=300 fuzz/corpus/config
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "nn/config.h"
#include "nn/kernels.h"
#include "replay.h"

/* 1 when the input parsed; aborts when a property fails. */
static int run_one(const uint8_t *data, size_t size)
{
    taml_child_config c, d;
    taml_err err;
    taml_err_clear(&err);
    if (taml_child_config_parse(&c, (const char *)data, size, &err) != 0) {
        if (!err.msg[0] || err.code >= 0) abort(); /* a refusal always says why */
        return 0;
    }
    if (c.layers < 1 || c.layers > TAML_CHILD_MAX_LAYERS || c.hidden_size < 1 ||
        c.hidden_size > TAML_CHILD_MAX_HIDDEN || c.activation < 0 || c.activation > 1 ||
        c.normalization < 0 || c.normalization > 2 || !(c.dropout >= 0 && c.dropout < 1) ||
        !(c.deep_lr > 0) || !(c.wide_lr > 0) || !(c.deep_l2 >= 0) || !(c.wide_l1 >= 0) ||
        c.samples < 1 || c.word_ngrams < 1 || c.word_ngrams > TAML_NGRAM_WORD_MAX ||
        (c.char_max ? c.char_min < 1 || c.char_min > c.char_max || c.char_max > TAML_NGRAM_CHAR_MAX
                    : c.char_min != 0) ||
        c.weighting < 0 || c.weighting > 2 || (c.subwords != 0 && c.subwords != 1) ||
        c.buckets < 1 || c.buckets > TAML_NGRAM_BUCKETS_MAX)
        abort();
    char buf[1024];
    int n = taml_child_config_format(&c, buf, sizeof buf);
    if (n < 0 || n >= (int)sizeof buf) abort();
    if (taml_child_config_parse(&d, buf, (size_t)n, &err) != 0) abort();
    if (memcmp(&c, &d, sizeof c) != 0) abort();
    return 1;
}

TAML_FUZZ_LIBFUZZER_ENTRY(run_one)

#ifndef TAML_LIBFUZZER
const taml_fuzz_def taml_fuzz_target = {
    .purpose = "replays fuzz inputs through the config parser",
    .accepted = "parsed",
    .run_one = run_one,
};
#endif
