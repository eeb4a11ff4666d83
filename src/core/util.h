/* core/util.h - small operating-system helpers shared by every layer:
 * monotonic time, whole-file reads, directories, checksums. */
#ifndef TAML_CORE_UTIL_H
#define TAML_CORE_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/err.h"

/* Seconds from an arbitrary fixed point (CLOCK_MONOTONIC). */
double taml_now(void);

/* Reads a whole file into a NUL-terminated heap buffer (*data, *size without the
 * NUL). Errors name the path. The caller frees *data. */
int taml_read_file(const char *path, char **data, size_t *size, taml_err *err);
/* Writes size bytes to path atomically (path.tmp, fsync, rename). */
int taml_write_file_atomic(const char *path, const void *data, size_t size, taml_err *err);
/* The same for a file written piece by piece: taml_file_atomic_open creates
 * path.tmp.PID (*tmp, heap) and returns it open for writing, or NULL with
 * TAML_EIO (then *tmp is NULL). taml_file_atomic_commit flushes, fsyncs and
 * closes f and renames *tmp over path; when failed is non-zero (a write of
 * the caller's went wrong) or any step fails, the temporary file is removed
 * and path is left as it was (TAML_EIO). It frees tmp either way. */
FILE *taml_file_atomic_open(const char *path, char **tmp, taml_err *err);
int taml_file_atomic_commit(FILE *f, char *tmp, const char *path, int failed, taml_err *err);

/* 1 if path exists and is a directory / a regular file, else 0. */
int taml_is_dir(const char *path);
int taml_is_file(const char *path);
/* mkdir -p; existing directories are fine. */
int taml_mkdirs(const char *path, taml_err *err);
/* rm -rf path: removes a file or a directory tree (symbolic links are
 * removed, never followed). A path that does not exist is fine. Errors name
 * the entry that could not be removed. */
int taml_rmtree(const char *path, taml_err *err);
/* dir + "/" + name, heap-allocated. */
char *taml_path_join(const char *dir, const char *name);

/* CRC-32 (zlib's polynomial), continuing from crc (start with 0). */
uint32_t taml_crc32(uint32_t crc, const void *data, size_t size);
/* 64-bit FNV-1a hash, continuing from h (start with TAML_FNV_INIT). */
#define TAML_FNV_INIT 0xcbf29ce484222325ULL
uint64_t taml_fnv1a(uint64_t h, const void *data, size_t size);
/* A fast 64-bit hash of data (8 bytes a step, about 5 GB/s), continuing from
 * h (start with any seed, e.g. TAML_FNV_INIT): for telling data apart where
 * FNV-1a's byte a step would cost too much (a task's every text, at load).
 * Not a cryptographic hash. The same bytes give the same value on every
 * host (the words are read little-endian). */
uint64_t taml_hash64(uint64_t h, const void *data, size_t size);

/* The directory holding taml's own files (scripts/, ...): override when it
 * is given and not empty (the CLI passes $TAML_HOME), else found from the
 * running executable: the repository root for build/taml (one level up,
 * when it holds scripts/setup), PREFIX/share/taml for an installed
 * PREFIX/bin/taml (when that holds scripts/setup: `make install`), else
 * ".". Heap string. */
char *taml_home(const char *override);

#endif
