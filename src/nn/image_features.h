/* nn/image_features.h - the deep input of an image task under an image
 * module: every image's pooled CNN features (nn/cnn.h), computed once per
 * (task, module) on several threads and kept on disk beside the task, so
 * that a second search, or a second worker process, reads them instead of
 * running the network again. nn/features.c calls it; the child then trains
 * on these rows as it trains a text task on its pooled module rows.
 *
 * The disk cache: <task dir>/.taml-cache/features-<module>-<task
 * fingerprint>-<module crc32>.bin, one envelope (core/bytes.h, magic
 * "TAMLFEAT", version 1) holding u64 the task's fingerprint, u32 the
 * module's CRC-32, u32 n images, u32 dim, then n x dim float32. It is
 * written atomically (temporary file, rename) and used only when every
 * field matches and its checksum holds; anything else is recomputed (and
 * rewritten). A task directory that cannot be written gets no cache: the
 * features are computed again by the next process, which the progress
 * callback is told.
 *
 * Several processes on one machine (two searches, a search's worker
 * processes, MPI ranks) compute a (task, module)'s features once: the one
 * that finds no cache takes an exclusive flock(2) on <cache file>.lock,
 * computes, writes the cache and releases it; the others wait on the lock
 * and then read the cache it wrote. The lock file is created and left in
 * place (never removed: a removal races with a process opening it); the
 * lock itself goes with its holder's descriptor, so a process that dies
 * while computing leaves nothing held and the next one computes. flock is
 * local to a machine (on NFS it may not hold across machines: each machine
 * then computes its own, the atomic rename keeps the file whole). A
 * directory where no lock file can be made gets no lock (and no cache).
 */
#ifndef TAML_NN_IMAGE_FEATURES_H
#define TAML_NN_IMAGE_FEATURES_H

#include <stdint.h>

#include "core/err.h"
#include "data/task.h"
#include "embed/module.h"

/* What happened, for the caller's progress line: done of total images so
 * far (once with done == 0 when a computation starts, then from the
 * computing threads, one at a time, at most every few hundred images, and
 * once at the end with done == total); cached: 1 when the features came
 * from the disk cache (then once, with done == total), -1 at the end of a
 * computation whose result could not be written to the disk cache, 2
 * (with done == 0) before waiting for another process that holds the
 * cache's lock (it computes them; this one then reads its cache). */
typedef void (*taml_image_features_progress)(void *user, const char *task, const char *module,
                                             int64_t done, int64_t total, int cached);

typedef struct taml_image_features_opts {
    int threads;  /* computing threads; 0: the machine's cores */
    int no_cache; /* 1: neither read nor write the disk cache */
    taml_image_features_progress progress; /* may be NULL */
    void *user;
} taml_image_features_opts;

/* The features of every image of task t (all splits, row order) under the
 * image module m: *out (t->n, *dim) floats (heap, caller frees). Refuses a
 * text task or a text module (TAML_EMISMATCH, naming both), an image the
 * network cannot read (its channel count; TAML_EINVAL naming the task and
 * the module), and returns TAML_ENOMEM when the features or a runner's
 * scratch cannot be allocated. o may be NULL. */
int taml_image_features_compute(float **out, int32_t *dim, const taml_task *t,
                                const taml_module *m, const taml_image_features_opts *o,
                                taml_err *err);

/* The disk cache's file of (t, m) (heap; its lock is this + ".lock"). */
char *taml_image_features_cache_path(const taml_task *t, const taml_module *m);

#endif
