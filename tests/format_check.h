/* tests/format_check.h - the damage checks every binary format's tests share
 * (checkpoints, bundles, models, modules, wire messages): a truncated,
 * resealed-short or bit-flipped buffer must be refused with a message that
 * names the source and the place, "SOURCE: offset N: FIELD: what", or a
 * checksum mismatch of the source ("SOURCE: ... checksum mismatch ..."), never
 * read outside the bytes given (each trial decodes an exactly-sized copy, so
 * ASan sees any overread). Not a test file: no TEST here. */
#ifndef TAML_TESTS_FORMAT_CHECK_H
#define TAML_TESTS_FORMAT_CHECK_H

#include <stddef.h>

#include "core/err.h"

/* Decodes buf (n bytes) named source; returns a status (0 accepted). ctx is
 * the caller's. Whatever it accepts it frees. */
typedef int (*fc_decode_fn)(const void *buf, size_t n, const char *source, taml_err *err,
                            void *ctx);

/* 1 when msg is "SOURCE: offset N: FIELD: what" (FIELD non-empty) or
 * "SOURCE: ...checksum mismatch...". */
int fc_names_place(const char *msg, const char *source);

/* Every cut of buf to [0, n) bytes (all within 300 bytes of either end,
 * every step-th in between) is refused with fc_names_place. */
void fc_truncations(const void *buf, size_t n, const char *source, size_t step,
                    fc_decode_fn decode, void *ctx);

/* One byte changed (xor 0x5a) at every position from `from` on (every
 * step-th one past the first and last 300): refused, naming the source and
 * the place (or a checksum mismatch), or "not a" for a damaged magic. */
void fc_flips(const void *buf, size_t n, const char *source, size_t from, size_t step,
              fc_decode_fn decode, void *ctx);

/* For an envelope (core/bytes.h): its payload cut to every length (as
 * fc_truncations), then length and CRC-32 written to fit, so the decoder's
 * own field reads run out: refused with "SOURCE: offset N: FIELD: ..." (not
 * a checksum mismatch). */
void fc_resealed_truncations(const void *buf, size_t n, const char *source, size_t step,
                             fc_decode_fn decode, void *ctx);

/* An fc_decode_fn for modules, which are opened from files (mapped): writes
 * buf to the file at path `source`, then opens it (ctx unused). */
int fc_module_open_bytes(const void *buf, size_t n, const char *source, taml_err *err,
                         void *ctx);
/* An fc_decode_fn for model files (nn/model.h's taml_model_decode; a model
 * exactly when it succeeds; ctx unused). */
int fc_model_decode(const void *buf, size_t n, const char *source, taml_err *err, void *ctx);

/* Writes the envelope's length and CRC-32 for its n bytes. */
void fc_reseal(unsigned char *buf, size_t n);

#endif
