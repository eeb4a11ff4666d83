/* nn/config.h - a child model's configuration: the 12 decisions of the
 * paper's search space (supplementary Table 1), and its one JSON parser.
 *
 * Names are those of the reference implementation, so one file drives both:
 *   {"embedding": "random-100", "fine_tune": false, "layers": 2,
 *    "hidden_size": 64, "activation": "relu", "normalization": "none",
 *    "dropout": 0.1, "deep_lr": 0.1, "deep_l2": 0.0001, "wide_lr": 0.1,
 *    "wide_l1": "disable", "samples": 10000}
 * Every name is required except "embedding" (the module may be given apart,
 * e.g. `taml train --module`). Values may lie outside the paper's space (a
 * user may define another) but must make sense: see taml_child_config_parse.
 *
 * Beyond the paper, optional decisions of the text features (docs/
 * child-model.md "N-gram features"; absent means the paper's child exactly):
 *   "word_ngrams": 2          wide tower: word n-grams of 1 .. 2 words
 *   "char_ngrams": "3-5"      wide tower: character n-grams of 3 .. 5 ("none")
 *   "weighting": "log"        wide tower: "count", "binary", "log" (1 + ln count) or
 *                             "tfidf" (log times idf, each example's L2 norm 1)
 *   "subwords": true          deep tower: a word the module lacks is the mean
 *                             of its learned character n-gram vectors
 *   "buckets": 2097152        hash buckets of the hashed n-grams
 * The search layer turns its sampled actions into this JSON and calls the
 * same parser, so there is one place that decides what a valid config is.
 */
#ifndef TAML_NN_CONFIG_H
#define TAML_NN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "nn/ngrams.h"

#define TAML_CHILD_MAX_LAYERS 64
/* Term weightings of the wide tower's features. */
enum { TAML_WEIGHT_COUNT = 0, TAML_WEIGHT_BINARY = 1, TAML_WEIGHT_LOG = 2, TAML_WEIGHT_TFIDF = 3 };
#define TAML_CHILD_MAX_HIDDEN 65536

typedef struct taml_child_config {
    char embedding[256]; /* module name or path; "" when not given */
    int fine_tune;       /* 0 or 1 */
    int layers;          /* hidden layers, 1 .. TAML_CHILD_MAX_LAYERS */
    int hidden_size;     /* units per hidden layer, 1 .. TAML_CHILD_MAX_HIDDEN */
    int activation;      /* TAML_ACT_RELU or TAML_ACT_SWISH */
    int normalization;   /* TAML_NORM_NONE, _BATCH or _LAYER */
    double dropout;      /* in [0, 1) */
    double deep_lr;      /* > 0 */
    double deep_l2;      /* >= 0; ignored when deep_disabled */
    int deep_disabled;   /* deep_l2 was "disable" */
    double wide_lr;      /* > 0 */
    double wide_l1;      /* >= 0; ignored when wide_disabled */
    int wide_disabled;   /* wide_l1 was "disable" */
    int64_t samples;     /* training examples seen, >= 1; steps = samples / 100 */
    /* the text-feature decisions (defaults: the paper's child) */
    int word_ngrams;     /* 1 .. TAML_NGRAM_WORD_MAX (1: words only) */
    int char_min, char_max; /* character n-grams char_min .. char_max; 0, 0: none */
    int weighting;       /* TAML_WEIGHT_* (count: a feature adds its row once per occurrence) */
    int subwords;        /* 0 or 1 */
    int32_t buckets;     /* 1 .. TAML_NGRAM_BUCKETS_MAX (default TAML_NGRAM_BUCKETS_DEFAULT) */
} taml_child_config;

/* 1 when cfg's wide tower reads more than the paper's bag of words (word or
 * character n-grams, another weighting): the n-gram wide tower. */
int taml_child_config_ngrams(const taml_child_config *cfg);
/* 1 when cfg uses none of the decisions beyond the paper's 12 (the
 * paper's child, bit for bit). */
int taml_child_config_is_paper(const taml_child_config *cfg);

/* Parses a JSON object (text, len bytes, need not be NUL-terminated) into
 * *out. Refused with TAML_EFORMAT (bad JSON) or TAML_EINVAL (an unknown or
 * missing name, a value of the wrong type or out of range), the message
 * naming the decision and what was expected. */
int taml_child_config_parse(taml_child_config *out, const char *text, size_t len, taml_err *err);

/* The child's decisions by name: the index of name in the order above
 * (0 embedding .. 11 samples, then the optional 12 word_ngrams, 13
 * char_ngrams, 14 weighting, 15 subwords, 16 buckets), or -1 when the child
 * has no such decision; and the name of index i (0 .. TAML_CHILD_DECISIONS_ALL
 * - 1). The first TAML_CHILD_DECISIONS are the paper's. */
#define TAML_CHILD_DECISIONS 12
#define TAML_CHILD_DECISIONS_ALL 17
int taml_child_config_decision(const char *name);
const char *taml_child_config_decision_name(int i);

/* Checks only decision name's value in the config object text (len bytes)
 * by the rules of taml_child_config_parse, whatever the other decisions
 * hold (a search space checks each choice on its own). */
int taml_child_config_check_decision(const char *text, size_t len, const char *name,
                                     taml_err *err);

/* Reads and parses a JSON file; errors name the path. */
int taml_child_config_load(taml_child_config *out, const char *path, taml_err *err);

/* Writes cfg as one-line JSON into buf (size bytes; 1024 always suffice);
 * parsing the result gives cfg back. The text-feature decisions are written
 * only when they differ from their defaults, so a paper config prints as it
 * always has. Returns the length (as snprintf). */
int taml_child_config_format(const taml_child_config *cfg, char *buf, size_t size);

#endif
