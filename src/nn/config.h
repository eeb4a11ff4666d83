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
 * The search layer turns its sampled actions into this JSON and calls the
 * same parser, so there is one place that decides what a valid config is.
 */
#ifndef TAML_NN_CONFIG_H
#define TAML_NN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TAML_CHILD_MAX_LAYERS 64
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
} taml_child_config;

/* Parses a JSON object (text, len bytes, need not be NUL-terminated) into
 * *out. Refused with TAML_EFORMAT (bad JSON) or TAML_EINVAL (an unknown or
 * missing name, a value of the wrong type or out of range), the message
 * naming the decision and what was expected. */
int taml_child_config_parse(taml_child_config *out, const char *text, size_t len, taml_err *err);

/* The child's decisions by name: the index of name in the order above
 * (0 embedding .. 11 samples), or -1 when the child has no such decision;
 * and the name of index i (0 .. TAML_CHILD_DECISIONS - 1). */
#define TAML_CHILD_DECISIONS 12
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
 * parsing the result gives cfg back. Returns the length (as snprintf). */
int taml_child_config_format(const taml_child_config *cfg, char *buf, size_t size);

#endif
