/* tests/test_core.c - the core layer: errors, RNG, string map, files. */
#include <stdlib.h>
#include <unistd.h>

#include "core/err.h"
#include "core/rng.h"
#include "core/strmap.h"
#include "core/util.h"
#include "test.h"

TEST(err_message_keeps_code_and_gets_context_prefixed)
{
    taml_err err;
    taml_err_clear(&err);
    CHECK_EQ_INT(taml_err_set(&err, TAML_EFORMAT, "line %d: no tab", 7), TAML_EFORMAT);
    taml_err_prefix(&err, "%s", "train.tsv");
    CHECK_STR(err.msg, "train.tsv: line 7: no tab");
    CHECK_EQ_INT(err.code, TAML_EFORMAT);
}

TEST(rng_same_seed_same_stream_and_derived_streams_differ)
{
    taml_rng a, b, c;
    taml_rng_seed(&a, 42);
    taml_rng_seed(&b, 42);
    taml_rng_seed(&c, taml_rng_derive(42, 1));
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 100; i++) {
        uint64_t x = taml_rng_u64(&a), y = taml_rng_u64(&b), z = taml_rng_u64(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);
    CHECK(taml_rng_derive(1, 2) != taml_rng_derive(2, 1));
}

TEST(rng_uniform_and_normal_have_the_right_moments)
{
    taml_rng r;
    taml_rng_seed(&r, 7);
    double s = 0, s2 = 0, n = 200000;
    long below[10] = {0};
    for (int i = 0; i < n; i++) {
        double u = taml_rng_uniform(&r);
        CHECK(u >= 0 && u < 1);
        below[taml_rng_below(&r, 10)]++;
        double z = taml_rng_normal(&r);
        s += z;
        s2 += z * z;
    }
    CHECK_NEAR(s / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.02);
    for (int k = 0; k < 10; k++) CHECK_NEAR(below[k] / n, 0.1, 0.005);
}

TEST(strmap_maps_many_words_and_keeps_first_value)
{
    taml_strmap *m = taml_strmap_new(0);
    char key[32];
    for (int i = 0; i < 50000; i++) {
        int n = snprintf(key, sizeof key, "w%d", i);
        CHECK_EQ_INT(taml_strmap_put(m, key, (size_t)n, i), i);
    }
    CHECK_EQ_INT(taml_strmap_size(m), 50000);
    CHECK_EQ_INT(taml_strmap_put(m, "w17", 3, 99), 17);
    CHECK_EQ_INT(taml_strmap_get(m, "w49999", 6), 49999);
    CHECK_EQ_INT(taml_strmap_get(m, "w49999x", 6), 49999); /* only len bytes count */
    CHECK_EQ_INT(taml_strmap_get(m, "w50000", 6), -1);
    CHECK_EQ_INT(taml_strmap_get(m, "nope", 4), -1);
    taml_strmap_free(m);
}

TEST(write_file_atomic_then_read_back)
{
    taml_err err;
    char *path = taml_path_join(taml_test_tmpdir(), "a/b");
    char *dir = taml_path_join(taml_test_tmpdir(), "a");
    CHECK_EQ_INT(taml_mkdirs(dir, &err), 0);
    CHECK_EQ_INT(taml_write_file_atomic(path, "hello", 5, &err), 0);
    char *data;
    size_t n;
    CHECK_EQ_INT(taml_read_file(path, &data, &n, &err), 0);
    CHECK_EQ_INT(n, 5);
    CHECK_STR(data, "hello");
    free(data);
    CHECK_EQ_INT(taml_read_file("/nonexistent/x", &data, &n, &err), TAML_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent/x");
    free(path);
    free(dir);
}

TEST(rmtree_removes_a_tree_whose_name_has_quotes_and_never_follows_links)
{
    taml_err err;
    char *root = taml_path_join(taml_test_tmpdir(), "it's a \"tree\"");
    char *sub = taml_path_join(root, "a/b/c");
    CHECK_EQ_INT(taml_mkdirs(sub, &err), 0);
    char *file = taml_path_join(sub, "f.txt");
    CHECK_EQ_INT(taml_write_file_atomic(file, "x", 1, &err), 0);
    /* a link out of the tree: removing the tree removes the link only */
    char *outside = taml_path_join(taml_test_tmpdir(), "keep");
    CHECK_EQ_INT(taml_mkdirs(outside, &err), 0);
    char *kept = taml_path_join(outside, "kept.txt");
    CHECK_EQ_INT(taml_write_file_atomic(kept, "y", 1, &err), 0);
    char *link = taml_path_join(root, "link");
    CHECK_EQ_INT(symlink(outside, link), 0);
    CHECK_EQ_INT(taml_rmtree(root, &err), 0);
    CHECK(!taml_is_dir(root));
    CHECK(taml_is_file(kept));
    /* removing what is not there is fine */
    CHECK_EQ_INT(taml_rmtree(root, &err), 0);
    free(root), free(sub), free(file), free(outside), free(kept), free(link);
}
