/* core/strmap.h - a string -> int32 hash map (open addressing, FNV-1a).
 *
 * Used wherever words meet ids: the task dictionary, the wide-tower
 * vocabulary, a module's vocabulary, class labels. Keys are copied into an
 * arena owned by the map; lookups take (pointer, length), so tokens need not
 * be NUL-terminated.
 */
#ifndef TAML_CORE_STRMAP_H
#define TAML_CORE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct taml_strmap taml_strmap;

taml_strmap *taml_strmap_new(size_t expected);
void taml_strmap_free(taml_strmap *m);
/* The value of key, or -1 when absent. */
int32_t taml_strmap_get(const taml_strmap *m, const char *key, size_t len);
/* Inserts key -> value if absent; returns the value now stored (the old one if
 * the key was there). */
int32_t taml_strmap_put(taml_strmap *m, const char *key, size_t len, int32_t value);
size_t taml_strmap_size(const taml_strmap *m);

#endif
