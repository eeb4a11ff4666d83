/* nn/ngrams.h - the hashed n-gram features of a text, defined once for the
 * features a child trains on (nn/features.c) and the model that predicts
 * (nn/model.c): word n-grams and character n-grams of the wide tower, and
 * the character n-grams whose vectors stand in for the words a module lacks
 * (subwords, the deep tower). docs/formats.md "N-gram features" is the
 * definition; this header is its code.
 *
 * The tokens are the tokeniser's (data/tokenise.h). Hashes are 64-bit
 * FNV-1a (core/util.h) reduced modulo the bucket count:
 *   - a word n-gram (n >= 2) of tokens t1 .. tn: h = H(t1), then
 *     h = h * 116049371 + H(tk) for k = 2 .. n (mod 2^64), as fastText's
 *     addWordNgrams combines its word hashes; H = FNV-1a 64 of the token;
 *   - a character n-gram: FNV-1a 64 of the UTF-8 bytes of n consecutive code
 *     points of "<" + token + ">" (fastText's computeSubwords: begin and end
 *     markers, whole characters; the markers are never part of a token).
 * A bucket is in [0, buckets); features are compacted to rows elsewhere
 * (only buckets present in the train split get a row).
 */
#ifndef TAML_NN_NGRAMS_H
#define TAML_NN_NGRAMS_H

#include <stddef.h>
#include <stdint.h>

/* The bucket count when a config gives none, and the range a config may give. */
#define TAML_NGRAM_BUCKETS_DEFAULT (1 << 21)
#define TAML_NGRAM_BUCKETS_MAX (1 << 30)
/* The longest word n-gram and character n-gram a config may ask for. */
#define TAML_NGRAM_WORD_MAX 5
#define TAML_NGRAM_CHAR_MAX 8
/* The character n-grams of the subword vectors (fastText's minn, maxn). */
#define TAML_SUBWORD_MIN 3
#define TAML_SUBWORD_MAX 6

/* H: the 64-bit FNV-1a hash of a token's bytes. */
uint64_t taml_ngrams_token_hash(const char *tok, size_t len);

/* The bucket of the word n-gram whose tokens have hashes h[0 .. n). */
uint32_t taml_ngrams_word_bucket(const uint64_t *h, int n, int64_t buckets);

/* An upper bound of the character n-grams taml_ngrams_char_buckets writes for a
 * token of len bytes and lengths nmin .. nmax. */
size_t taml_ngrams_char_max(size_t len, int nmin, int nmax);

/* Writes the buckets of the character n-grams of "<" + tok + ">" with nmin ..
 * nmax code points (1 <= nmin <= nmax) into out (room for taml_ngrams_char_max
 * entries), in fastText's order: by start character, then by length; returns
 * how many. tok is well-formed UTF-8 (a token). */
size_t taml_ngrams_char_buckets(const char *tok, size_t len, int nmin, int nmax, int64_t buckets,
                               uint32_t *out);

/* tf-idf weighting: the weight (1 + ln c) idf of a feature seen c >= 1 times
 * whose inverse document frequency is idf, as the float kernels compute it,
 * and the scale of an example whose weights' squares sum to sumsq (in
 * double, in the order the features are listed): 1 / sqrt(sumsq), 0 when
 * the example has none. */
float taml_ngrams_tfidf(int32_t c, float idf);
float taml_ngrams_scale(double sumsq);
/* The idf of a feature held by df of n train examples: ln((1 + n) / (1 +
 * df)) + 1 (scikit-learn's smooth idf). */
float taml_ngrams_idf(int64_t df, int64_t n);

/* A bucket -> row map (open addressing). */
typedef struct taml_ngrams_map taml_ngrams_map;
taml_ngrams_map *taml_ngrams_map_new(size_t expected);
void taml_ngrams_map_free(taml_ngrams_map *m);
/* The row of bucket b, or -1. */
int32_t taml_ngrams_map_get(const taml_ngrams_map *m, uint32_t b);
/* Inserts b -> row if absent; returns the row now stored. */
int32_t taml_ngrams_map_put(taml_ngrams_map *m, uint32_t b, int32_t row);

#endif
