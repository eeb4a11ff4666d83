/* core/rng.c - xoshiro256** (Blackman and Vigna) seeded by splitmix64. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void taml_rng_seed(taml_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t taml_rng_derive(uint64_t seed, uint64_t id)
{
    uint64_t x = seed ^ 0x5851f42d4c957f2dULL;
    uint64_t a = splitmix64(&x);
    x = a ^ (id * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    return splitmix64(&x);
}

uint64_t taml_rng_u64(taml_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t taml_rng_below(taml_rng *r, uint64_t n)
{
    /* Lemire's rejection on the high word would need 128-bit products; a plain
     * rejection loop on the top bits is simple and exact. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = taml_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double taml_rng_uniform(taml_rng *r) { return (double)(taml_rng_u64(r) >> 11) * 0x1.0p-53; }

float taml_rng_uniformf(taml_rng *r) { return (float)(taml_rng_u64(r) >> 40) * 0x1.0p-24f; }

double taml_rng_normal(taml_rng *r)
{
    double u1 = taml_rng_uniform(r), u2 = taml_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void taml_rng_shuffle_i32(taml_rng *r, int32_t *a, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)taml_rng_below(r, (uint64_t)i + 1);
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
