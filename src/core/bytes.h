/* core/bytes.h - the one byte codec of taml's binary formats: a growable
 * little-endian writer, a bounds-checked reader whose first error sticks and
 * names the source, the offset and the field, and the framed envelope that
 * every binary format (controller checkpoints, aml bundles, model files,
 * module files, wire messages) is written in.
 *
 * Envelope. All integers little-endian:
 *
 *   off     size  field
 *     0        8  magic: 8 ASCII bytes naming the format ("TAMLCTRL", ...)
 *     8        4  version of the payload's layout (the format's own number)
 *    12        4  flags (the format's own; 0 unless its header says otherwise)
 *    16        8  payload length N
 *    24        N  payload
 *    24 + N    4  CRC-32 (zlib's polynomial) of bytes 0 .. 24 + N - 1
 *
 * so an enveloped object is exactly N + 28 bytes. Opening one checks, in this
 * order, the magic, that the buffer holds the length the header says (else
 * "truncated"), that nothing follows it, and the CRC; the version is the
 * caller's to check (a format that still reads older versions dispatches on
 * it). A format that is read in place (a module, mapped) aligns its sections
 * by their offsets from the envelope's first byte, which is the file's.
 *
 * Reader errors. Every read names its field; the first failure (a read past
 * the end, or a value the caller refuses with taml_bytes_fail) is kept with
 * the offset of the field in the source, and every later read returns zeros,
 * so a decoder reads straight through and checks once:
 *
 *   SOURCE: offset 1234: FIELD: truncated (needs 8 bytes, 3 left)
 *   SOURCE: offset 40: tasks: 4294967295 tasks in 100 bytes
 *
 * SOURCE is what the caller named (a path, "study s.db checkpoint 3",
 * "message from rank 2"); offsets count from the start of the source, also
 * for a reader over a part of it (see taml_bytes_reader_sub).
 */
#ifndef TAML_CORE_BYTES_H
#define TAML_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ---- writing ---------------------------------------------------------- */

/* A growable buffer (plain data; zero-initialised is an empty writer). */
typedef struct taml_bytes_writer {
    unsigned char *p;
    size_t n, cap;
} taml_bytes_writer;

void taml_bytes_writer_init(taml_bytes_writer *w);
/* Frees the buffer; the writer is empty again. */
void taml_bytes_writer_deinit(taml_bytes_writer *w);
/* Hands the buffer to the caller (heap, *size bytes; never NULL) and leaves
 * the writer empty. */
void *taml_bytes_writer_take(taml_bytes_writer *w, size_t *size);

void taml_bytes_put(taml_bytes_writer *w, const void *src, size_t n);
void taml_bytes_put_zeros(taml_bytes_writer *w, size_t n);
/* Zero bytes up to the next multiple of align (a power of two) of w->n. */
void taml_bytes_put_pad(taml_bytes_writer *w, size_t align);
void taml_bytes_put_u8(taml_bytes_writer *w, uint8_t v);
void taml_bytes_put_u16(taml_bytes_writer *w, uint16_t v);
void taml_bytes_put_u32(taml_bytes_writer *w, uint32_t v);
void taml_bytes_put_u64(taml_bytes_writer *w, uint64_t v);
void taml_bytes_put_i32(taml_bytes_writer *w, int32_t v);
void taml_bytes_put_i64(taml_bytes_writer *w, int64_t v);
/* Floats as their IEEE-754 bits: a round trip is exact, NaN payloads too. */
void taml_bytes_put_f32(taml_bytes_writer *w, float v);
void taml_bytes_put_f64(taml_bytes_writer *w, double v);
void taml_bytes_put_f32s(taml_bytes_writer *w, const float *v, size_t n);
void taml_bytes_put_f64s(taml_bytes_writer *w, const double *v, size_t n);
/* u32 length + the bytes of s (no NUL); s NULL is "". */
void taml_bytes_put_str32(taml_bytes_writer *w, const char *s);
/* u16 length + at most min(max, 65535) bytes of s: for texts that may be
 * cut (host names, error messages), never for structure. */
void taml_bytes_put_str16(taml_bytes_writer *w, const char *s, size_t max);
/* Overwrites bytes already written (lengths known only later). */
void taml_bytes_patch_u32(taml_bytes_writer *w, size_t off, uint32_t v);
void taml_bytes_patch_u64(taml_bytes_writer *w, size_t off, uint64_t v);

/* Little-endian loads and stores on raw memory, for formats read in place. */
uint32_t taml_bytes_load_u32(const void *p);
uint64_t taml_bytes_load_u64(const void *p);
void taml_bytes_store_u32(void *p, uint32_t v);
void taml_bytes_store_u64(void *p, uint64_t v);

/* ---- reading ---------------------------------------------------------- */

typedef struct taml_bytes_reader {
    const unsigned char *p; /* the bytes read */
    size_t n;               /* how many */
    size_t at;              /* the cursor, 0 .. n */
    size_t base;            /* offset of p[0] in the source, for messages */
    const char *source;     /* borrowed: names the source in messages */
    size_t last;            /* where the last field read began (index into p) */
    int code;               /* TAML_OK, or the first failure's status */
    char msg[TAML_ERR_MSG]; /* the first failure's message */
} taml_bytes_reader;

/* A reader over n bytes at p; source (borrowed, kept until the reader's last
 * use) names them in messages. */
void taml_bytes_reader_init(taml_bytes_reader *r, const void *p, size_t n, const char *source);
/* A reader over the next n bytes of r (consumed from r): a nested object
 * whose offsets are still reported from the start of r's source. A
 * truncation is r's failure, and then the sub-reader fails too. */
void taml_bytes_reader_sub(taml_bytes_reader *r, size_t n, const char *field,
                           taml_bytes_reader *sub);

/* Each read takes a field name for the message; after a failure every read
 * returns 0 (take: NULL) and consumes nothing. */
const void *taml_bytes_take(taml_bytes_reader *r, size_t n, const char *field);
uint8_t taml_bytes_u8(taml_bytes_reader *r, const char *field);
uint16_t taml_bytes_u16(taml_bytes_reader *r, const char *field);
uint32_t taml_bytes_u32(taml_bytes_reader *r, const char *field);
uint64_t taml_bytes_u64(taml_bytes_reader *r, const char *field);
int32_t taml_bytes_i32(taml_bytes_reader *r, const char *field);
int64_t taml_bytes_i64(taml_bytes_reader *r, const char *field);
float taml_bytes_f32(taml_bytes_reader *r, const char *field);
double taml_bytes_f64(taml_bytes_reader *r, const char *field);
/* n values into out; on a failure out is zeroed. */
void taml_bytes_f32s(taml_bytes_reader *r, float *out, size_t n, const char *field);
void taml_bytes_f64s(taml_bytes_reader *r, double *out, size_t n, const char *field);
/* A u32-length string of at most max bytes, as a NUL-terminated heap copy
 * (caller frees; NULL after a failure). A longer one, or one holding a NUL,
 * fails with the field's name. */
char *taml_bytes_str32(taml_bytes_reader *r, size_t max, const char *field);
/* The same for a u16 length, into buf (cap bytes with the NUL; a longer
 * string is cut, not refused: the writer side may cut too). */
void taml_bytes_str16(taml_bytes_reader *r, char *buf, size_t cap, const char *field);

/* Records a failure (unless one is recorded already) at the source offset
 * where the last field read began: for a value read and then refused
 * ("SOURCE: offset OFF: FIELD: <fmt>"). Returns the code in effect. */
int taml_bytes_fail(taml_bytes_reader *r, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same message for a format read in place (a mapped module), where no
 * reader walks the bytes: sets err to "SOURCE: offset OFF: FIELD: <fmt>"
 * and returns code. */
int taml_bytes_error(taml_err *err, int code, const char *source, size_t offset,
                     const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The source offset of the cursor. */
size_t taml_bytes_offset(const taml_bytes_reader *r);
/* Bytes left to read. */
size_t taml_bytes_left(const taml_bytes_reader *r);
/* Fails (TAML_ECORRUPT) when bytes are left: "N bytes after <what>". */
int taml_bytes_expect_end(taml_bytes_reader *r, const char *what);
/* 1 while nothing has failed. */
int taml_bytes_ok(const taml_bytes_reader *r);
/* Copies the failure (if any) into err and returns its code (TAML_OK if
 * none). */
int taml_bytes_status(const taml_bytes_reader *r, taml_err *err);

/* ---- the envelope ----------------------------------------------------- */

#define TAML_ENVELOPE_HEAD 24
#define TAML_ENVELOPE_TAIL 4

/* Starts an envelope at w->n: writes the header with a zero length and
 * returns the envelope's first offset (for _end). */
size_t taml_envelope_begin(taml_bytes_writer *w, const char magic[8], uint32_t version,
                           uint32_t flags);
/* Fills in the payload length (everything written since _begin's header)
 * and appends the CRC-32 of the whole envelope. */
void taml_envelope_end(taml_bytes_writer *w, size_t start);
/* The 24-byte header of an envelope whose payload (length bytes) a caller
 * streams out itself; the caller appends the CRC-32 of header + payload. */
void taml_envelope_header(unsigned char out[TAML_ENVELOPE_HEAD], const char magic[8],
                          uint32_t version, uint32_t flags, uint64_t length);

/* An opened envelope: its header fields, and the payload's place. */
typedef struct taml_envelope {
    uint32_t version, flags;
    const unsigned char *payload; /* inside the buffer given */
    size_t size;                  /* payload bytes */
} taml_envelope;

/* Checks that buf (n bytes, the whole of source) is one envelope of the
 * given magic: TAML_ECORRUPT "SOURCE: not a WHAT (expected magic "...")"
 * when the magic differs, "SOURCE: offset 0: magic: truncated ..." when
 * fewer than 8 bytes begin it, "SOURCE: offset 8: header: truncated ..."
 * for fewer than 28, "SOURCE: offset 16: length: truncated ..." when
 * the buffer is shorter than the header says, "SOURCE: offset N: trailing
 * bytes: ..." when longer, "SOURCE: WHAT checksum mismatch ..." when the
 * CRC differs. WHAT names the format for a user ("controller checkpoint"). */
int taml_envelope_open(const void *buf, size_t n, const char *source, const char magic[8],
                       const char *what, taml_envelope *env, taml_err *err);
/* 1 when buf (n bytes) starts with magic (and is at least 12 bytes long),
 * and then *version is the header's version: for formats that dispatch to
 * an older reader before opening. */
int taml_envelope_peek(const void *buf, size_t n, const char magic[8], uint32_t *version);
/* A reader over an opened envelope's payload, offsets reported from the
 * source's start. */
void taml_envelope_reader(const taml_envelope *env, const char *source, taml_bytes_reader *r);
/* taml_envelope_open for a format whose flags are 0 (every format of taml's
 * so far): TAML_EFORMAT "SOURCE: offset 12: flags: ..." for others; then r
 * reads the payload. The version is still the caller's to check. */
int taml_envelope_open_payload(const void *buf, size_t n, const char *source, const char magic[8],
                               const char *what, taml_envelope *env, taml_bytes_reader *r,
                               taml_err *err);

#endif
