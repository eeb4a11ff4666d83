/* nn/image_features.c - an image task's CNN features, on threads, cached on
 * disk (see image_features.h). */
#include "nn/image_features.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/util.h"
#include "nn/cnn.h"

#define MAGIC "TAMLFEAT"
#define VERSION 1u
#define HEAD_FIELDS 20 /* u64 fingerprint, u32 crc, u32 n, u32 dim */
#define CHUNK 16       /* images a thread claims at a time */
#define REPORT 512     /* images between progress calls */

/* <task dir>/.taml-cache/features-<module>-<fingerprint>-<crc>.bin; the
 * module's name is kept to [A-Za-z0-9._-] (others become '_'). */
char *taml_image_features_cache_path(const taml_task *t, const taml_module *m)
{
    const char *name = taml_module_name(m);
    char safe[96];
    size_t k = 0;
    for (const char *p = name; *p && k < sizeof safe - 1; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-';
        safe[k++] = ok ? ch : '_';
    }
    safe[k] = '\0';
    return taml_asprintf("%s/.taml-cache/features-%s-%016llx-%08x.bin", t->dir, safe,
                         (unsigned long long)t->identity.fingerprint, taml_module_checksum(m));
}

static void header(unsigned char h[TAML_ENVELOPE_HEAD + HEAD_FIELDS], const taml_task *t,
                   const taml_module *m, int32_t dim)
{
    uint64_t payload = HEAD_FIELDS + (uint64_t)t->n * (uint64_t)dim * 4;
    taml_envelope_header(h, MAGIC, VERSION, 0, payload);
    unsigned char *f = h + TAML_ENVELOPE_HEAD;
    taml_bytes_store_u64(f, t->identity.fingerprint);
    taml_bytes_store_u32(f + 8, taml_module_checksum(m));
    taml_bytes_store_u32(f + 12, (uint32_t)t->n);
    taml_bytes_store_u32(f + 16, (uint32_t)dim);
}

/* Reads the cached features into out ((n, dim) floats) when the file holds
 * exactly these: 1 when it did, 0 when there is no usable file (absent,
 * another task's or module's, damaged: the caller recomputes). Reads the
 * floats straight into out, so the peak memory is the features alone. */
static int cache_read(const char *path, const taml_task *t, const taml_module *m, int32_t dim,
                      float *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char want[TAML_ENVELOPE_HEAD + HEAD_FIELDS], got[sizeof want], tail[4];
    header(want, t, m, dim);
    size_t bytes = (size_t)t->n * (size_t)dim * 4;
    int ok = fread(got, 1, sizeof got, f) == sizeof got && !memcmp(got, want, sizeof want) &&
             (bytes == 0 || fread(out, 1, bytes, f) == bytes) && fread(tail, 1, 4, f) == 4 &&
             fgetc(f) == EOF;
    fclose(f);
    if (!ok) return 0;
    uint32_t crc = taml_crc32(taml_crc32(0, got, sizeof got), out, bytes);
    return crc == taml_bytes_load_u32(tail);
}

/* Writes the features atomically; TAML_OK or a status (the caller goes on
 * without a cache). */
static int cache_write(const char *path, const taml_task *t, const taml_module *m, int32_t dim,
                       const float *feat, taml_err *err)
{
    char *dir = taml_path_join(t->dir, ".taml-cache");
    int rc = taml_mkdirs(dir, err);
    free(dir);
    if (rc) return rc;
    char *tmp;
    FILE *f = taml_file_atomic_open(path, &tmp, err);
    if (!f) return TAML_EIO;
    unsigned char h[TAML_ENVELOPE_HEAD + HEAD_FIELDS], tail[4];
    header(h, t, m, dim);
    size_t bytes = (size_t)t->n * (size_t)dim * 4;
    taml_bytes_store_u32(tail, taml_crc32(taml_crc32(0, h, sizeof h), feat, bytes));
    int failed = fwrite(h, 1, sizeof h, f) != sizeof h ||
                 (bytes && fwrite(feat, 1, bytes, f) != bytes) || fwrite(tail, 1, 4, f) != 4;
    return taml_file_atomic_commit(f, tmp, path, failed, err);
}

/* Takes the lock beside the cache file (path + ".lock", created and kept:
 * removing a lock file races with a process opening it), waiting while
 * another process holds it (told to the progress callback first). Returns
 * the descriptor holding it, or -1 when no lock can be had (a directory
 * that cannot be written: then there is no cache either, and each process
 * computes its own features). Closing the descriptor releases the lock, as
 * does the process's death. */
static int cache_lock(const char *path, const taml_task *t, const taml_module *m,
                      const taml_image_features_opts *o)
{
    char *dir = taml_path_join(t->dir, ".taml-cache");
    taml_err err;
    int rc = taml_mkdirs(dir, &err);
    free(dir);
    if (rc) return -1;
    char *lp = taml_asprintf("%s.lock", path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    free(lp);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
    if (errno == EWOULDBLOCK && o->progress)
        o->progress(o->user, t->name, taml_module_name(m), 0, t->n, 2);
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR) continue;
    if (rc == 0) return fd;
    close(fd); /* a file system without flock: compute without the lock */
    return -1;
}

/* The work the threads share. */
typedef struct job {
    const taml_task *t;
    const taml_module *m;
    const taml_image_graph *g;
    int32_t dim;
    float *out;
    const taml_image_features_opts *o;
    pthread_mutex_t mu; /* next, done, rc, err, progress calls */
    int32_t next;       /* first image not yet claimed */
    int64_t done, reported;
    int rc;
    taml_err err;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    const taml_task *t = j->t;
    size_t P = (size_t)t->height * t->width * t->channels;
    taml_cnn *r = NULL;
    taml_err err;
    int rc = taml_cnn_new(&r, j->g, NULL, &err);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        if (rc && !j->rc) {
            j->rc = rc;
            j->err = err;
        }
        int32_t a = j->rc ? t->n : j->next;
        int32_t b = a + CHUNK < t->n ? a + CHUNK : t->n;
        j->next = b;
        pthread_mutex_unlock(&j->mu);
        if (a >= b) break;
        for (int32_t e = a; e < b && !rc; e++)
            rc = taml_cnn_features(r, t->pixels + (size_t)e * P, 1, t->height, t->width,
                                   t->channels, j->out + (size_t)e * j->dim, &err);
        pthread_mutex_lock(&j->mu);
        j->done += b - a;
        if (j->o->progress && !rc && j->done - j->reported >= REPORT && j->done < t->n) {
            j->reported = j->done;
            j->o->progress(j->o->user, t->name, taml_module_name(j->m), j->done, t->n, 0);
        }
        pthread_mutex_unlock(&j->mu);
    }
    taml_cnn_free(r);
    return NULL;
}

int taml_image_features_compute(float **out, int32_t *dim, const taml_task *t,
                                const taml_module *m, const taml_image_features_opts *o,
                                taml_err *err)
{
    *out = NULL;
    *dim = 0;
    taml_image_features_opts defaults = {0};
    if (!o) o = &defaults;
    int rc = taml_module_expect_kind(m, TAML_MODULE_IMAGE, t->name, err);
    if (rc) return rc;
    if (t->kind != TAML_TASK_IMAGE)
        return taml_err_set(err, TAML_EMISMATCH,
                            "task '%s' is a text task; module '%s' is an image module (a CNN "
                            "feature extractor): it needs an image task",
                            t->name, taml_module_name(m));
    if (t->channels != 1 && t->channels != 3)
        return taml_err_set(err, TAML_EINVAL,
                            "task '%s' has images of %d channels; module '%s' reads grey (1) or "
                            "RGB (3) images",
                            t->name, (int)t->channels, taml_module_name(m));
    int32_t D = taml_module_dim(m);
    size_t bytes = (size_t)t->n * (size_t)D * sizeof(float);
    float *feat = taml_try_aligned(bytes);
    if (!feat)
        return taml_err_set(err, TAML_ENOMEM,
                            "task '%s', module '%s': cannot allocate %zu bytes for the features of "
                            "%d images",
                            t->name, taml_module_name(m), bytes, (int)t->n);
    char *path = o->no_cache || !t->dir ? NULL : taml_image_features_cache_path(t, m);
    int lock = -1;
    /* read without the lock first (the common case: a cache already
     * written), then again under it: the process that held it has just
     * written the file this one waited for */
    int hit = path && cache_read(path, t, m, D, feat);
    if (path && !hit) {
        lock = cache_lock(path, t, m, o);
        hit = lock >= 0 && cache_read(path, t, m, D, feat);
    }
    if (hit) {
        if (lock >= 0) close(lock);
        if (o->progress) o->progress(o->user, t->name, taml_module_name(m), t->n, t->n, 1);
        free(path);
        *out = feat;
        *dim = D;
        return TAML_OK;
    }
    if (o->progress) o->progress(o->user, t->name, taml_module_name(m), 0, t->n, 0);
    job j = {.t = t, .m = m, .g = taml_module_image(m), .dim = D, .out = feat, .o = o};
    pthread_mutex_init(&j.mu, NULL);
    taml_err_clear(&j.err);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = o->threads > 0 ? o->threads : cores > 0 ? (int)cores : 1;
    if (threads > t->n) threads = t->n > 0 ? t->n : 1;
    if (threads > 256) threads = 256;
    pthread_t tid[256];
    int started = 0;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&tid[i], NULL, worker, &j) != 0) break;
        started++;
    }
    if (started == 0) worker(&j); /* no thread could start: compute here */
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&j.mu);
    if (j.rc) {
        rc = taml_err_set(err, j.rc, "task '%s', module '%s': %s", t->name, taml_module_name(m),
                          j.err.msg);
        if (lock >= 0) close(lock);
        free(feat);
        free(path);
        return rc;
    }
    int cached = 0;
    if (path) {
        taml_err werr;
        cached = cache_write(path, t, m, D, feat, &werr) == TAML_OK ? 0 : -1;
    }
    if (lock >= 0) close(lock); /* after the rename: a waiter finds the file */
    if (o->progress) o->progress(o->user, t->name, taml_module_name(m), t->n, t->n, cached);
    free(path);
    *out = feat;
    *dim = D;
    return TAML_OK;
}
