/* ctrl/bundle.h - several controllers as one blob: the checkpoint of an aml
 * study, which trains a fresh controller per task (search/search.h), one
 * controller per task in task order. A study's checkpoint blob is either
 * one controller checkpoint (taml_ctrl_save: multitask, transfer) or a
 * bundle; taml_ctrl_bundle_is tells them apart.
 *
 * Version 2 (written): the envelope of core/bytes.h with magic "TAMLBNDL",
 * version 2, flags 0, around
 *
 *   u32 n | n x (u64 size | a controller checkpoint of size bytes)
 *
 * Version 1 (read only; written before the envelope): "TAMLAMLC" | u32 n |
 * n x (u64 size | checkpoint), all little-endian, without version, length
 * or CRC of its own (each checkpoint carries its CRC). Its magic differs
 * from version 2's because it has no version field to dispatch on.
 */
#ifndef TAML_CTRL_BUNDLE_H
#define TAML_CTRL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ctrl/controller.h"

/* 1 when blob (size bytes) starts like a bundle of either version, 0 when
 * it is something else (a single controller checkpoint, say). */
int taml_ctrl_bundle_is(const void *blob, size_t size);

/* The n controllers c[0..n-1] as one bundle (*blob heap, caller frees). */
void taml_ctrl_bundle_save(taml_ctrl *const *c, int32_t n, void **blob, size_t *size);

/* Splits a bundle of either version into its controllers' checkpoints: *n
 * of them, (*parts)[i] pointing into blob, (*sizes)[i] bytes; the caller
 * frees the two arrays (not the parts). source names the blob in messages
 * ("s.db: checkpoint after update 40"). TAML_ECORRUPT for a bad magic, CRC
 * or truncation ("SOURCE: offset N: FIELD: what"), bytes after the last
 * part; TAML_EFORMAT for an unknown version. */
int taml_ctrl_bundle_split(const void *blob, size_t size, const char *source, int32_t *n,
                           const void ***parts, size_t **sizes, taml_err *err);

/* Splits and loads every controller for space (taml_ctrl_load_named; part
 * i is named "SOURCE: controller i+1 of N"): *out (heap array of *n
 * controllers; free each and the array). On a failure nothing is left. */
int taml_ctrl_bundle_load(taml_ctrl ***out, int32_t *n, const taml_space *space,
                          const void *blob, size_t size, const char *source, taml_err *err);

#endif
