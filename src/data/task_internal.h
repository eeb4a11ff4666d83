/* data/task_internal.h - what the task loader's three files share; included
 * only inside src/data.
 *
 *   task.c        the dispatcher: which layout a directory holds, meta.txt,
 *                 the checks and fields every task gets, freeing
 *   task_text.c   TSV files, the dictionary and the wide vocabulary
 *   task_image.c  IDX files, raw images.u8 + labels.u8, gzip, classes.txt
 */
#ifndef TAML_DATA_TASK_INTERNAL_H
#define TAML_DATA_TASK_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/strmap.h"
#include "data/task.h"

/* A loaded task: the public fields first, so the taml_task * callers hold
 * points at pub and converts back to the whole (a pointer to a struct,
 * suitably converted, points to its first member: C11 6.7.2.1p15); then the
 * state callers do not see. Allocated by taml_task_load, freed by
 * taml_task_free. */
typedef struct task_impl {
    taml_task pub;
    taml_strmap *word_index; /* text: the dictionary, word -> id (taml_task_word_id); NULL for images */
    char *word_chars;        /* text: the NUL-terminated words, back to back (pub.words point in) */
    int32_t n_meta;          /* every key=value pair of meta.txt, in file order */
    char **meta_key, **meta_value; /* (n_meta) */
} task_impl;

static inline task_impl *task_impl_of(taml_task *t) { return (task_impl *)t; }
static inline const task_impl *task_impl_of_const(const taml_task *t) { return (const task_impl *)t; }

/* s[0..len) as a NUL-terminated heap string. */
static inline char *task_dup_range(const char *s, size_t len)
{
    char *d = taml_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* Iterates the lines of data[0..size): strips a leading UTF-8 byte-order
 * mark and a CR before each LF. task_lines_next returns 1 and the line in
 * *line, *len while lines remain; no is the line's number (from 1). A final
 * LF does not start another line. */
typedef struct task_lines {
    const char *p, *end;
    long no;
} task_lines;

static inline void task_lines_init(task_lines *it, const char *data, size_t size)
{
    it->p = data;
    it->end = data + size;
    it->no = 0;
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) it->p += 3;
}

static inline int task_lines_next(task_lines *it, const char **line, size_t *len)
{
    if (it->p >= it->end) return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *le = nl ? nl : it->end;
    *line = it->p;
    *len = (size_t)(le - it->p);
    if (*len > 0 && le[-1] == '\r') (*len)--;
    it->p = nl ? nl + 1 : it->end;
    it->no++;
    return 1;
}

/* task.c: meta.txt's key as an integer in [lo, hi] into *v. Returns 1 when
 * set, 0 when the key is absent (*v untouched), TAML_EFORMAT (naming
 * DIR/meta.txt, the key and the range) for any other value. */
int taml_task_meta_int(const taml_task *t, const char *dir, const char *key, long long lo, long long hi,
                       long long *v, taml_err *err);

/* task_text.c: loads the TSV files of dir (train.tsv + valid.tsv + test.tsv
 * when all three exist, else all.tsv split 80/10/10) into t: rows, labels,
 * classes, the dictionary and token ids, the wide vocabulary. */
int taml_task_load_text(taml_task *t, const char *dir, const taml_task_opts *o, taml_err *err);

/* task_image.c: 1 when dir holds the first IDX file (train-images-idx3-ubyte,
 * maybe .gz) / images.u8 (maybe .gz), else 0. */
int taml_task_has_idx(const char *dir);
int taml_task_has_u8(const char *dir);
/* task_image.c: load the four IDX files (the last tenth of the train file is
 * the valid split) / images.u8 + labels.u8 shaped by meta.txt (already read
 * into t), with classes.txt naming the label values when present. */
int taml_task_load_idx(taml_task *t, const char *dir, taml_err *err);
int taml_task_load_u8(taml_task *t, const char *dir, taml_err *err);

#endif
