/* tests/test_image_features.c - an image task's CNN features
 * (nn/image_features.h): the values are the runner's, the disk cache is
 * read back, a damaged one recomputed, the lock beside it makes two
 * processes compute them once, and `taml search` prints their progress. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/util.h"
#include "data/task.h"
#include "embed/module.h"
#include "nn/cnn.h"
#include "nn/image_features.h"
#include "test.h"
#include "testutil.h"

/* What the progress callback saw. */
typedef struct seen {
    int starts, ends, waits, from_cache, uncached, fd; /* fd >= 0: also tell a pipe */
} seen;

static void record(void *user, const char *task, const char *module, int64_t done, int64_t total,
                   int cached)
{
    (void)task, (void)module;
    seen *s = user;
    char c = 0;
    if (cached == 2) s->waits++, c = 'W';
    else if (cached == 1) s->from_cache++, c = 'R';
    else if (done == 0) s->starts++;
    else if (done == total) {
        s->ends++;
        if (cached < 0) s->uncached++;
        c = 'C';
    }
    if (c && s->fd >= 0) CHECK(write(s->fd, &c, 1) == 1);
}

typedef struct fixture {
    char *lib, *dir;
    taml_task *t;
    taml_module *m;
} fixture;

static void fixture_open(fixture *f, const char *name)
{
    f->lib = taml_test_tiny_image_library();
    f->dir = taml_test_image_task(name);
    taml_err err;
    CHECK_MSG(taml_task_load(&f->t, f->dir, NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(taml_module_open(&f->m, "tiny-cnn", f->lib, &err) == 0, "%s", err.msg);
}

static void fixture_close(fixture *f)
{
    taml_module_close(f->m);
    taml_task_free(f->t);
    free(f->dir);
    free(f->lib);
}

static float *features(const fixture *f, seen *s, int32_t *dim)
{
    taml_image_features_opts o = {.threads = 2, .progress = record, .user = s};
    float *x = NULL;
    taml_err err;
    CHECK_MSG(taml_image_features_compute(&x, dim, f->t, f->m, &o, &err) == 0, "%s", err.msg);
    return x;
}

TEST(image_features_are_the_runners_then_come_from_the_disk_cache_and_a_damaged_one_is_redone)
{
    fixture f;
    fixture_open(&f, "u8-feat");
    seen s = {.fd = -1};
    int32_t D;
    float *x = features(&f, &s, &D);
    CHECK_EQ_INT(D, 56); /* the fixture's cut: 2 x 2 cells of 14 channels */
    CHECK_EQ_INT(s.starts, 1);
    CHECK_EQ_INT(s.ends, 1);
    CHECK_EQ_INT(s.uncached, 0);
    CHECK_EQ_INT(s.from_cache, 0);
    /* every row is what one runner gives for that image alone */
    taml_cnn *r;
    taml_err err;
    CHECK(taml_cnn_new(&r, taml_module_image(f.m), NULL, &err) == 0);
    float want[56];
    size_t P = 2 * 2 * 3;
    for (int32_t e = 0; e < f.t->n; e++) {
        CHECK(taml_cnn_features(r, f.t->pixels + e * P, 1, 2, 2, 3, want, &err) == 0);
        CHECK(!memcmp(want, x + (size_t)e * D, sizeof want));
    }
    taml_cnn_free(r);
    /* the second time from the disk cache, the same bytes */
    seen s2 = {.fd = -1};
    float *y = features(&f, &s2, &D);
    CHECK_EQ_INT(s2.from_cache, 1);
    CHECK_EQ_INT(s2.starts, 0);
    CHECK(!memcmp(x, y, sizeof *x * (size_t)f.t->n * (size_t)D));
    free(y);
    /* one float flipped in the file: recomputed (and rewritten) */
    char *path = taml_image_features_cache_path(f.t, f.m);
    CHECK_CONTAINS(path, "/u8-feat/.taml-cache/features-tiny-cnn-");
    FILE *fp = fopen(path, "r+b");
    CHECK(fp && fseek(fp, 60, SEEK_SET) == 0 && fputc(0x55, fp) != EOF && fclose(fp) == 0);
    seen s3 = {.fd = -1};
    y = features(&f, &s3, &D);
    CHECK_EQ_INT(s3.from_cache, 0);
    CHECK_EQ_INT(s3.starts, 1);
    CHECK(!memcmp(x, y, sizeof *x * (size_t)f.t->n * (size_t)D));
    free(y);
    seen s4 = {.fd = -1};
    free(features(&f, &s4, &D));
    CHECK_EQ_INT(s4.from_cache, 1);
    /* no_cache: computed, nothing read */
    taml_image_features_opts o = {.no_cache = 1, .progress = record, .user = &s4};
    CHECK(taml_image_features_compute(&y, &D, f.t, f.m, &o, &err) == 0);
    CHECK_EQ_INT(s4.starts, 1);
    free(y);
    free(path);
    free(x);
    fixture_close(&f);
}

/* Reads one byte from fd within 30 s (0 when none came). */
static char read_byte(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c = 0;
    if (poll(&p, 1, 30000) == 1 && read(fd, &c, 1) == 1) return c;
    return 0;
}

TEST(two_processes_wait_on_the_cache_lock_and_compute_the_features_once)
{
    fixture f;
    fixture_open(&f, "u8-lock");
    /* this process holds the lock, as a process computing them would */
    char *path = taml_image_features_cache_path(f.t, f.m);
    char *lock = taml_asprintf("%s.lock", path), *dir = taml_path_join(f.dir, ".taml-cache");
    taml_err err;
    CHECK(taml_mkdirs(dir, &err) == 0);
    int held = open(lock, O_RDWR | O_CREAT, 0666);
    CHECK(held >= 0 && flock(held, LOCK_EX) == 0);
    int pipes[2];
    CHECK(pipe(pipes) == 0);
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        CHECK(pid[i] >= 0);
        if (pid[i] == 0) {
            close(held);
            seen s = {.fd = pipes[1]};
            taml_image_features_opts o = {.threads = 1, .progress = record, .user = &s};
            float *x;
            int32_t D;
            taml_err e;
            int rc = taml_image_features_compute(&x, &D, f.t, f.m, &o, &e);
            _exit(rc == 0 && D == 56 ? 0 : 1);
        }
    }
    close(pipes[1]);
    /* both wait on the lock, neither has computed */
    CHECK_EQ_INT(read_byte(pipes[0]), 'W');
    CHECK_EQ_INT(read_byte(pipes[0]), 'W');
    CHECK(access(path, F_OK) != 0);
    close(held); /* released: one computes, the other reads what it wrote */
    char a = read_byte(pipes[0]), b = read_byte(pipes[0]);
    CHECK_MSG((a == 'C' && b == 'R') || (a == 'R' && b == 'C'), "after the lock: '%c' '%c'", a,
              b);
    CHECK_EQ_INT(read_byte(pipes[0]), 0); /* nothing more */
    close(pipes[0]);
    for (int i = 0; i < 2; i++) {
        int st;
        CHECK(waitpid(pid[i], &st, 0) == pid[i]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK(access(path, F_OK) == 0);
    CHECK(access(lock, F_OK) == 0); /* kept: see image_features.h */
    free(dir);
    free(lock);
    free(path);
    fixture_close(&f);
}

TEST(search_on_an_image_task_prints_the_features_progress_then_reads_the_cache)
{
    char *lib = taml_test_tiny_image_library(), *dir = taml_test_image_task("u8-cli");
    char *out = taml_test_tiny_image_search(lib, dir, "s1.db", 2);
    CHECK_CONTAINS(out, "features: u8-cli x tiny-cnn: computing the features of 10 images");
    CHECK_CONTAINS(out, "features: u8-cli x tiny-cnn: 10 images in ");
    CHECK_CONTAINS(out, "2 trials");
    free(out);
    out = taml_test_tiny_image_search(lib, dir, "s2.db", 1);
    CHECK_CONTAINS(out, "features: u8-cli x tiny-cnn: 10 images from the disk cache");
    CHECK(!strstr(out, "computing"));
    free(out);
    free(dir);
    free(lib);
}
