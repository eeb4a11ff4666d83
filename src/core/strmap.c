/* core/strmap.c - open-addressing string map with linear probing (see strmap.h). */
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

typedef struct slot {
    uint64_t hash;
    uint32_t len;
    int32_t value;
    size_t key; /* offset into the arena; slot empty when len == UINT32_MAX */
} slot;

struct taml_strmap {
    slot *slots;
    size_t cap, size; /* cap is a power of two */
    char *arena;
    size_t arena_len, arena_cap;
};

#define EMPTY UINT32_MAX

static void init_slots(slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++) s[i].len = EMPTY;
}

taml_strmap *taml_strmap_new(size_t expected)
{
    taml_strmap *m = taml_calloc(1, sizeof *m);
    m->cap = 16;
    while (m->cap < expected * 2) m->cap *= 2;
    m->slots = taml_malloc(m->cap * sizeof *m->slots);
    init_slots(m->slots, m->cap);
    m->arena_cap = 1024;
    m->arena = taml_malloc(m->arena_cap);
    return m;
}

void taml_strmap_free(taml_strmap *m)
{
    if (!m) return;
    free(m->slots);
    free(m->arena);
    free(m);
}

static size_t find(const taml_strmap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;;) {
        const slot *s = &m->slots[i];
        if (s->len == EMPTY) return i;
        if (s->hash == h && s->len == len && memcmp(m->arena + s->key, key, len) == 0) return i;
        i = (i + 1) & mask;
    }
}

int32_t taml_strmap_get(const taml_strmap *m, const char *key, size_t len)
{
    uint64_t h = taml_fnv1a(TAML_FNV_INIT, key, len);
    size_t i = find(m, key, len, h);
    return m->slots[i].len == EMPTY ? -1 : m->slots[i].value;
}

static void grow(taml_strmap *m)
{
    slot *old = m->slots;
    size_t old_cap = m->cap;
    m->cap *= 2;
    m->slots = taml_malloc(m->cap * sizeof *m->slots);
    init_slots(m->slots, m->cap);
    size_t mask = m->cap - 1;
    for (size_t j = 0; j < old_cap; j++) {
        if (old[j].len == EMPTY) continue;
        size_t i = (size_t)old[j].hash & mask;
        while (m->slots[i].len != EMPTY) i = (i + 1) & mask;
        m->slots[i] = old[j];
    }
    free(old);
}

int32_t taml_strmap_put(taml_strmap *m, const char *key, size_t len, int32_t value)
{
    TAML_ASSERT(len < EMPTY);
    uint64_t h = taml_fnv1a(TAML_FNV_INIT, key, len);
    size_t i = find(m, key, len, h);
    if (m->slots[i].len != EMPTY) return m->slots[i].value;
    if (m->arena_len + len + 1 > m->arena_cap) {
        while (m->arena_len + len + 1 > m->arena_cap) m->arena_cap *= 2;
        m->arena = taml_realloc(m->arena, m->arena_cap);
    }
    memcpy(m->arena + m->arena_len, key, len);
    m->arena[m->arena_len + len] = '\0';
    m->slots[i] = (slot){.hash = h, .len = (uint32_t)len, .value = value, .key = m->arena_len};
    m->arena_len += len + 1;
    m->size++;
    if (m->size * 2 > m->cap) grow(m);
    return value;
}

size_t taml_strmap_size(const taml_strmap *m) { return m->size; }
