/* core/util.c - operating-system helpers (see util.h). */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/text.h"

double taml_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int taml_read_file(const char *path, char **data, size_t *size, taml_err *err)
{
    *data = NULL;
    if (size) *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return taml_err_set(err, TAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = taml_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = taml_realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f), e = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return taml_err_set(err, TAML_EIO, "%s: cannot read: %s", path,
                            e == EISDIR ? "a directory, not a file" : strerror(e));
    }
    buf[n] = '\0';
    *data = buf;
    if (size) *size = n;
    return TAML_OK;
}

FILE *taml_file_atomic_open(const char *path, char **tmp, taml_err *err)
{
    *tmp = taml_asprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(*tmp, "wb");
    if (!f) {
        taml_err_set(err, TAML_EIO, "%s: cannot create it (through %s): %s", path, *tmp,
                     taml_text_errno(errno));
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

int taml_file_atomic_commit(FILE *f, char *tmp, const char *path, int failed, taml_err *err)
{
    int rc = TAML_OK;
    /* the data must be on disk before the rename makes it the file */
    int bad = failed || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        /* failed: the caller's fwrite set errno (a full disk shows there first) */
        rc = taml_err_set(err, TAML_EIO, "%s: cannot write it (through %s): %s; the file was "
                          "left as it was",
                          path, tmp, taml_text_errno(e));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = taml_err_set(err, TAML_EIO, "%s: cannot rename into place: %s", path,
                          taml_text_errno(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int taml_write_file_atomic(const char *path, const void *data, size_t size, taml_err *err)
{
    char *tmp;
    FILE *f = taml_file_atomic_open(path, &tmp, err);
    if (!f) return TAML_EIO;
    int failed = size > 0 && fwrite(data, 1, size, f) != size;
    return taml_file_atomic_commit(f, tmp, path, failed, err);
}

int taml_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int taml_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int taml_mkdirs(const char *path, taml_err *err)
{
    char *p = taml_strdup(path);
    int rc = TAML_OK;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = taml_err_set(err, TAML_EIO, "%s: cannot create directory: %s", p,
                                  strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    if (rc == TAML_OK && !taml_is_dir(path))
        rc = taml_err_set(err, TAML_EIO, "%s: exists and is not a directory", path);
    free(p);
    return rc;
}

/* nftw passes no user pointer: the entry that could not be removed is kept
 * here, per thread, for the message (valid during taml_rmtree only). */
static _Thread_local char rm_failed[4096];

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    if (remove(path) == 0) return 0;
    snprintf(rm_failed, sizeof rm_failed, "%s", path);
    return errno ? errno : EIO;
}

int taml_rmtree(const char *path, taml_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? TAML_OK
                               : taml_err_set(err, TAML_EIO, "%s: cannot remove: %s", path,
                                              strerror(errno));
    /* depth first (children before their directory), not following symbolic
     * links; rm_entry's non-zero return (an errno) stops the walk */
    rm_failed[0] = '\0';
    int e = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (e == 0) return TAML_OK;
    if (e < 0) /* the walk itself failed (an unreadable directory) */
        return taml_err_set(err, TAML_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return taml_err_set(err, TAML_EIO, "%s: cannot remove: %s", rm_failed, strerror(e));
}

char *taml_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    if (n > 0 && dir[n - 1] == '/') return taml_asprintf("%s%s", dir, name);
    return taml_asprintf("%s/%s", dir, name);
}

uint32_t taml_crc32(uint32_t crc, const void *data, size_t size)
{
    const unsigned char *p = data;
    while (size > 0) { /* zlib takes uInt lengths */
        uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        size -= chunk;
    }
    return crc;
}

uint64_t taml_fnv1a(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* The finaliser of MurmurHash3 (public domain): every input bit reaches
 * every output bit. */
static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* A word of 8 bytes, little-endian whatever the host (compilers make it one
 * load on a little-endian one). */
static uint64_t load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

uint64_t taml_hash64(uint64_t h, const void *data, size_t size)
{
    /* One multiply-rotate chain over 8-byte words (the word's own multiply is
     * off the chain), the length folded in so that a prefix differs from the
     * whole, and a finaliser that spreads the last word's bits. */
    const uint64_t k1 = 0x9e3779b97f4a7c15ULL, k2 = 0xc2b2ae3d27d4eb4fULL;
    const unsigned char *p = data;
    h ^= (uint64_t)size * k2;
    for (; size >= 8; p += 8, size -= 8) h = rotl64(h ^ (load_le64(p) * k1), 29) * k2;
    if (size) {
        unsigned char tail[8] = {0};
        memcpy(tail, p, size);
        h = rotl64(h ^ (load_le64(tail) * k1), 29) * k2;
    }
    return fmix64(h);
}

char *taml_home(const char *override)
{
    if (override && *override) return taml_strdup(override);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* build/taml (or build-asan.../taml): the repository root is one level up. */
        char *dir = dirname(exe); /* .../build */
        char *root = taml_strdup(dirname(dir));
        /* the build tree's root, then an installed tree's share/taml */
        static const char *const homes[] = {"", "share/taml"};
        for (size_t i = 0; i < sizeof homes / sizeof homes[0]; i++) {
            char *home = homes[i][0] ? taml_path_join(root, homes[i]) : taml_strdup(root);
            char *probe = taml_path_join(home, "scripts/setup");
            int ok = taml_is_file(probe);
            free(probe);
            if (ok) {
                free(root);
                return home;
            }
            free(home);
        }
        free(root);
    }
    return taml_strdup(".");
}
