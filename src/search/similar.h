/* search/similar.h - "which of my tasks is this like?" (`taml similar`,
 * issue 16): after a short transfer on a new task, the tasks the source
 * controller knows ranked by the cosine similarity of their task
 * embeddings to the new task's (paper Figure 6, search/metrics.h), each
 * with its best configuration when the source is a study (a controller
 * file or checkpoint holds no trials).
 */
#ifndef TAML_SEARCH_SIMILAR_H
#define TAML_SEARCH_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* One known task. */
typedef struct taml_similar_row {
    char *task;        /* its name in the controller */
    double cosine;     /* of its embedding to the new task's (NaN: a zero embedding) */
    int has_best;      /* 1: the source study holds a finished trial of it with an accuracy */
    int64_t best_id;   /* that study's best trial of the task by validation accuracy */
    double best_valid, best_test;
    char *best_config; /* its configuration (JSON text) */
} taml_similar_row;

typedef struct taml_similar {
    char *task;           /* the new task */
    char *source;         /* the transfer's source as the study recorded it, or NULL */
    int64_t trials;       /* its finished trials in the transfer study */
    int source_is_study;  /* 0: a controller file or checkpoint (no trials to show) */
    size_t n;
    taml_similar_row *rows; /* (n) by cosine, highest first (NaN last; ties by name) */
} taml_similar;

void taml_similar_deinit(taml_similar *s);

/* The ranking for the first task of the transfer study at study_path (its
 * newest checkpoint), whose source is read from the study's transfer
 * record (store.h; a study, a controller file or a checkpoint: a study's
 * best trials are read from it, when it is still there). Errors name the
 * file; EINVAL for a study that is not a transfer. The task itself is not
 * ranked. */
int taml_similar_rank(const char *study_path, taml_similar *out, taml_err *err);

/* The ranking as text for people (heap) or as JSON (docs/cli.md "taml
 * similar": {"task", "trials", "source", "source_is_study", "known":
 * [{"task", "cosine", "best": {"trial", "valid", "test", "config"} or
 * null}]}). */
char *taml_similar_text(const taml_similar *s);
char *taml_similar_json(const taml_similar *s);

#endif
