/* core/rng.h - the one random number generator of taml (xoshiro256**).
 *
 * No hidden global state: every worker, trial and controller owns a taml_rng.
 * A trial's generator is seeded from (study seed, trial id) with
 * taml_rng_derive, so any trial can be replayed alone. The state is four
 * 64-bit words and can be saved and restored verbatim (checkpoints).
 */
#ifndef TAML_CORE_RNG_H
#define TAML_CORE_RNG_H

#include <stdint.h>

typedef struct taml_rng {
    uint64_t s[4];
} taml_rng;

/* Seeds from one 64-bit value (expanded with splitmix64; any seed is fine). */
void taml_rng_seed(taml_rng *r, uint64_t seed);
/* A seed for stream `id` of a run seeded with `seed`: distinct ids give
 * independent streams; pure function of its arguments. */
uint64_t taml_rng_derive(uint64_t seed, uint64_t id);
uint64_t taml_rng_u64(taml_rng *r);
/* Uniform in [0, n), unbiased; n > 0. */
uint64_t taml_rng_below(taml_rng *r, uint64_t n);
/* Uniform in [0, 1) with 53 (double) or 24 (float) random bits. */
double taml_rng_uniform(taml_rng *r);
float taml_rng_uniformf(taml_rng *r);
/* Standard normal (Box-Muller; consumes two uniforms per call). */
double taml_rng_normal(taml_rng *r);
/* Fisher-Yates shuffle of n int32 values. */
void taml_rng_shuffle_i32(taml_rng *r, int32_t *a, int64_t n);

#endif
