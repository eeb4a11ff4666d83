/* nn/ngrams.c - hashed word and character n-grams, and the bucket -> row map
 * (see ngrams.h). */
#include "nn/ngrams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

uint64_t taml_ngrams_token_hash(const char *tok, size_t len)
{
    return taml_fnv1a(TAML_FNV_INIT, tok, len);
}

uint32_t taml_ngrams_word_bucket(const uint64_t *h, int n, int64_t buckets)
{
    uint64_t x = h[0];
    for (int k = 1; k < n; k++) x = x * 116049371u + h[k];
    return (uint32_t)(x % (uint64_t)buckets);
}

size_t taml_ngrams_char_max(size_t len, int nmin, int nmax)
{
    /* at most len + 2 characters, each starting at most nmax - nmin + 1 n-grams */
    return (len + 2) * (size_t)(nmax - nmin + 1);
}

size_t taml_ngrams_char_buckets(const char *tok, size_t len, int nmin, int nmax, int64_t buckets,
                               uint32_t *out)
{
    TAML_ASSERT(nmin >= 1 && nmin <= nmax);
    /* "<" + tok + ">" and the byte offset of each of its characters */
    char small[256];
    size_t smallpos[257];
    size_t blen = len + 2;
    char *s = blen <= sizeof small ? small : taml_malloc(blen);
    size_t *pos = blen + 1 <= sizeof smallpos / sizeof smallpos[0] ? smallpos
                                                                   : taml_malloc((blen + 1) * sizeof *pos);
    s[0] = '<';
    memcpy(s + 1, tok, len);
    s[blen - 1] = '>';
    size_t nc = 0;
    for (size_t i = 0; i < blen; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) pos[nc++] = i;
    pos[nc] = blen;
    size_t k = 0;
    for (size_t i = 0; i < nc; i++)
        for (int n = nmin; n <= nmax && i + (size_t)n <= nc; n++) {
            uint64_t h = taml_fnv1a(TAML_FNV_INIT, s + pos[i], pos[i + (size_t)n] - pos[i]);
            out[k++] = (uint32_t)(h % (uint64_t)buckets);
        }
    if (s != small) free(s);
    if (pos != smallpos) free(pos);
    return k;
}

float taml_ngrams_tfidf(int32_t c, float idf)
{
    /* the kernels' term weight 1 + ln c in float (kernels_tmpl.h), times idf */
    float tf = c == 1 ? 1.0f : 1.0f + logf((float)c);
    return tf * idf;
}

float taml_ngrams_scale(double sumsq)
{
    return sumsq > 0 ? (float)(1.0 / sqrt(sumsq)) : 0.0f;
}

float taml_ngrams_idf(int64_t df, int64_t n)
{
    return (float)(log((1.0 + (double)n) / (1.0 + (double)df)) + 1.0);
}

/* ---- bucket -> row ----------------------------------------------------- */

struct taml_ngrams_map {
    uint32_t *key; /* (cap) bucket + 1; 0 = empty */
    int32_t *val;
    size_t cap, n;
};

static size_t slot_of(uint32_t b, size_t cap)
{
    uint64_t x = (uint64_t)b * 0x9E3779B97F4A7C15ULL;
    return (size_t)(x >> 32) & (cap - 1);
}

taml_ngrams_map *taml_ngrams_map_new(size_t expected)
{
    taml_ngrams_map *m = taml_calloc(1, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * expected) cap *= 2;
    m->cap = cap;
    m->key = taml_calloc(cap, sizeof *m->key);
    m->val = taml_malloc(cap * sizeof *m->val);
    return m;
}

void taml_ngrams_map_free(taml_ngrams_map *m)
{
    if (!m) return;
    free(m->key);
    free(m->val);
    free(m);
}

int32_t taml_ngrams_map_get(const taml_ngrams_map *m, uint32_t b)
{
    for (size_t i = slot_of(b, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->key[i] == 0) return -1;
        if (m->key[i] == b + 1) return m->val[i];
    }
}

static void grow(taml_ngrams_map *m)
{
    size_t old = m->cap;
    uint32_t *key = m->key;
    int32_t *val = m->val;
    m->cap = 2 * old;
    m->key = taml_calloc(m->cap, sizeof *m->key);
    m->val = taml_malloc(m->cap * sizeof *m->val);
    for (size_t i = 0; i < old; i++)
        if (key[i]) {
            size_t j = slot_of(key[i] - 1, m->cap);
            while (m->key[j]) j = (j + 1) & (m->cap - 1);
            m->key[j] = key[i];
            m->val[j] = val[i];
        }
    free(key);
    free(val);
}

int32_t taml_ngrams_map_put(taml_ngrams_map *m, uint32_t b, int32_t row)
{
    TAML_ASSERT(b < UINT32_MAX);
    if (2 * (m->n + 1) > m->cap) grow(m);
    size_t i = slot_of(b, m->cap);
    for (; m->key[i]; i = (i + 1) & (m->cap - 1))
        if (m->key[i] == b + 1) return m->val[i];
    m->key[i] = b + 1;
    m->val[i] = row;
    m->n++;
    return row;
}
