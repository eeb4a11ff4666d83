/* space/space.h - the search space as data: an ordered list of named
 * categorical decisions, each a list of choices (numbers, strings, booleans).
 *
 * The controller (src/ctrl) decides the decisions in this order, one action
 * (a choice index) per decision; the search layer turns a vector of actions
 * into a child configuration with taml_space_config_text, the one path from
 * actions to a config, and back with taml_space_actions_from_config (replays).
 * Configurations cross this header as JSON text: the JSON library (cJSON)
 * stays inside space.c, and no caller inherits its types.
 *
 * Two spaces are built in, both with the embedding-module names given at
 * search time as the first decision's choices: "paper", the paper's 12
 * decisions exactly (supplementary Table 1, DESIGN.md), and "taml", the
 * default of new studies: the paper's 12 followed by the decisions of the
 * text features beyond the paper (word_ngrams, char_ngrams, weighting,
 * subwords; docs/child-model.md). A JSON file may give another space
 * (docs/formats.md "Search spaces"):
 *
 *     {"layers": [1, 2, 3], "activation": ["relu", "swish"], "fine_tune": [false, true]}
 *
 * A space is immutable once built; its fingerprint (a hash of its canonical
 * description) travels with every checkpoint and study, and taml_space_diff
 * says how two spaces differ when they must agree but do not.
 */
#ifndef TAML_SPACE_SPACE_H
#define TAML_SPACE_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* The number of decisions of the paper's space and of the taml space. */
#define TAML_SPACE_PAPER_DECISIONS 12
#define TAML_SPACE_TAML_DECISIONS 16

typedef enum taml_choice_kind {
    TAML_CHOICE_NUMBER = 0,
    TAML_CHOICE_STRING = 1,
    TAML_CHOICE_BOOL = 2,
} taml_choice_kind;

/* One choice of a decision (owned by the space; str valid while it lives). */
typedef struct taml_choice {
    taml_choice_kind kind;
    double num;      /* TAML_CHOICE_NUMBER */
    const char *str; /* TAML_CHOICE_STRING */
    int boolean;     /* TAML_CHOICE_BOOL: 0 or 1 */
} taml_choice;

typedef struct taml_space taml_space;

/* The paper's 12-decision space (names and choices as DESIGN.md: embedding,
 * fine_tune, layers, hidden_size, activation, normalization, dropout, deep_lr,
 * deep_l2, wide_lr, wide_l1, samples). The embedding decision's choices are
 * the n_modules names given (copied); at least one, no duplicates, no empty
 * names, else TAML_EINVAL. */
int taml_space_new_default(taml_space **out, const char *const *modules, int n_modules,
                           taml_err *err);
/* The default space of image tasks: the paper's, with fine_tune {false}
 * alone (the embedding's choices: "pixels" and image modules). Fine-tuning
 * an image module would backpropagate through the CNN in every trial,
 * which 2 cores cannot afford, and would bypass the features computed once
 * per (task, module); the child refuses it rather than ignore it
 * (docs/modules.md). */
int taml_space_new_image_default(taml_space **out, const char *const *modules, int n_modules,
                                 taml_err *err);

/* The built-in space named name: "paper" (taml_space_new_default) or "taml"
 * (the paper's 12 decisions, then word_ngrams [1, 2, 3], char_ngrams
 * ["none", "2-4", "3-5"], weighting ["count", "log", "tfidf"], subwords
 * [false, true]). Another name is TAML_EINVAL naming the two. */
int taml_space_new_named(taml_space **out, const char *name, const char *const *modules,
                         int n_modules, taml_err *err);
/* "paper" or "taml" when s is that built-in space over its own embedding
 * choices, else NULL (a space of a file). */
const char *taml_space_builtin(const taml_space *s);

/* For people: "taml (16 decisions)", "paper (12 decisions)", "custom (N
 * decisions)" for the space of JSON text json, or "unreadable". Heap. */
char *taml_space_label(const char *json);

/* A space from JSON text: one object whose members are the decisions, in
 * order; each member's value is a non-empty array of numbers, strings or
 * booleans (kinds may mix, as in the paper's "disable" choices). Refused with
 * TAML_EFORMAT (unparsable, "origin:line: ...") or TAML_EINVAL (no decisions,
 * a decision without choices, duplicate decision names, duplicate choices,
 * a choice that is null/object/array). origin names the text in messages
 * (a path, or "space" for inline text). */
int taml_space_from_json(taml_space **out, const char *text, const char *origin, taml_err *err);
/* taml_space_from_json on the contents of a file. */
int taml_space_load(taml_space **out, const char *path, taml_err *err);
/* A deep copy. */
taml_space *taml_space_clone(const taml_space *s);
void taml_space_free(taml_space *s);

int taml_space_decisions(const taml_space *s);
/* The name of decision d (0 <= d < decisions). */
const char *taml_space_name(const taml_space *s, int d);
/* The number of choices of decision d. */
int taml_space_choices(const taml_space *s, int d);
/* Choice c of decision d. */
const taml_choice *taml_space_choice(const taml_space *s, int d, int c);
/* The index of the decision named name, or -1. */
int taml_space_find(const taml_space *s, const char *name);
/* The sum of all decisions' choice counts, and the offset of decision d's
 * first choice in that flat layout (used for per-choice probability arrays). */
int taml_space_total_choices(const taml_space *s);
int taml_space_offset(const taml_space *s, int d);
/* The number of configurations (product of the choice counts), as a double. */
double taml_space_size(const taml_space *s);

/* The canonical description: the space as compact JSON text in the format
 * taml_space_from_json reads (numbers printed exactly). Heap string. */
char *taml_space_to_json(const taml_space *s);
/* FNV-1a 64 of the canonical description: equal for equal spaces. */
uint64_t taml_space_fingerprint(const taml_space *s);
/* 0 when a and b are the same space; else 1, and writes a one-line account of
 * the first differences to buf (e.g. "decision 3 'layers': choices [1,2,3] vs
 * [1,2,3,5,7]"), NUL-terminated and truncated to cap bytes. */
int taml_space_diff(const taml_space *a, const taml_space *b, char *buf, size_t cap);

/* The child configuration for one action per decision, as compact JSON text:
 * one object {"name":value,...} in decision order (numbers, strings,
 * booleans as given), printed as cJSON_PrintUnformatted prints it. This text
 * is what a study stores and what nn/config.h parses, so it is a file
 * format: it stays byte for byte. actions[d] must be in [0, choices(d))
 * (asserted). Heap string; the caller frees it with free(). */
char *taml_space_config_text(const taml_space *s, const int32_t *actions);
/* The reverse, for replays: reads config_json (NUL-terminated JSON text: an
 * object with one member per decision; extra members are an error) into
 * actions (decisions entries). Numbers match a choice when equal to 1e-9
 * relative. TAML_EFORMAT when the text is not JSON (naming the byte offset);
 * TAML_EINVAL when it is not an object, or names the decision and the value
 * not in the space. */
int taml_space_actions_from_config(const taml_space *s, const char *config_json,
                                   int32_t *actions, taml_err *err);
/* 1 when a and b are the same choice: the same kind and value (numbers
 * exactly equal, as the canonical description prints them). */
int taml_space_choice_equal(const taml_choice *a, const taml_choice *b);
/* Writes a choice as JSON text into buf ("0.001", "\"relu\"", "true"). */
void taml_space_choice_text(const taml_choice *c, char *buf, size_t cap);

#endif
