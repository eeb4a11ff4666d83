/* tests/test_space.c - the search space as data (src/space): the paper's
 * default space, JSON spaces and their validation, the canonical description
 * and fingerprint, differences, and actions <-> child config. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "space/space.h"
#include "test.h"

static const char *const MODS[] = {"en-a", "en-b", "es-c"};

TEST(space_default_is_the_papers_twelve_decisions)
{
    taml_space *s = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_new_default(&s, MODS, 3, &err), 0);
    static const char *names[] = {"embedding", "fine_tune", "layers", "hidden_size",
                                  "activation", "normalization", "dropout", "deep_lr",
                                  "deep_l2", "wide_lr", "wide_l1", "samples"};
    static const int counts[] = {3, 2, 5, 6, 2, 3, 9, 8, 7, 8, 7, 7};
    CHECK_EQ_INT(taml_space_decisions(s), 12);
    int total = 0;
    for (int d = 0; d < 12; d++) {
        CHECK_STR(taml_space_name(s, d), names[d]);
        CHECK_EQ_INT(taml_space_choices(s, d), counts[d]);
        CHECK_EQ_INT(taml_space_offset(s, d), total);
        total += counts[d];
    }
    CHECK_EQ_INT(taml_space_total_choices(s), total);
    CHECK_STR(taml_space_choice(s, 0, 2)->str, "es-c");
    CHECK(taml_space_choice(s, 1, 1)->kind == TAML_CHOICE_BOOL && taml_space_choice(s, 1, 1)->boolean);
    CHECK_NEAR(taml_space_choice(s, 7, 0)->num, 0.001, 0);
    CHECK_STR(taml_space_choice(s, 8, 6)->str, "disable");
    CHECK_STR(taml_space_choice(s, 10, 6)->str, "disable");
    CHECK_NEAR(taml_space_choice(s, 11, 6)->num, 1e6, 0);
    CHECK_STR(taml_space_choice(s, 5, 1)->str, "batch_norm");
    /* 3 modules: 3/8 of the paper's 568,995,840 with 8 */
    CHECK_NEAR(taml_space_size(s), 568995840.0 / 8 * 3, 0);
    CHECK_EQ_INT(taml_space_find(s, "wide_l1"), 10);
    CHECK_EQ_INT(taml_space_find(s, "nope"), -1);
    taml_space_free(s);
}

TEST(space_default_refuses_no_duplicate_or_empty_module_names)
{
    taml_space *s = (taml_space *)1;
    taml_err err;
    CHECK_EQ_INT(taml_space_new_default(&s, MODS, 0, &err), TAML_EINVAL);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, "at least one module");
    const char *dup[] = {"a", "b", "a"};
    CHECK_EQ_INT(taml_space_new_default(&s, dup, 3, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "\"a\" twice");
    const char *empty[] = {"a", ""};
    CHECK_EQ_INT(taml_space_new_default(&s, empty, 2, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "empty name");
}

TEST(space_json_round_trips_through_its_canonical_description)
{
    taml_space *d = NULL, *j = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_new_default(&d, MODS, 3, &err), 0);
    char *text = taml_space_to_json(d);
    CHECK_CONTAINS(text, "\"deep_lr\":[0.001,0.003,0.01,0.03,0.1,0.3,1,3]");
    CHECK_CONTAINS(text, "\"fine_tune\":[false,true]");
    CHECK_CONTAINS(text, "\"wide_l1\":[0,1e-05,0.0001,0.001,0.01,0.1,\"disable\"]");
    CHECK_EQ_INT(taml_space_from_json(&j, text, "canon", &err), 0);
    char buf[256];
    CHECK_EQ_INT(taml_space_diff(d, j, buf, sizeof buf), 0);
    CHECK(taml_space_fingerprint(d) == taml_space_fingerprint(j));
    taml_space *c = taml_space_clone(j);
    CHECK(taml_space_fingerprint(c) == taml_space_fingerprint(d));
    free(text);
    taml_space_free(c);
    taml_space_free(d);
    taml_space_free(j);
}

TEST(space_json_file_with_mixed_choice_kinds_loads)
{
    const char *dir = taml_test_tmpdir();
    char *path = taml_path_join(dir, "space.json");
    const char *text = "{\n  \"layers\": [1, 2, 3],\n  \"act\": [\"relu\", \"swish\"],\n"
                       "  \"ft\": [false, true],\n  \"l2\": [0, 1e-5, \"disable\"]\n}\n";
    taml_err err;
    CHECK_EQ_INT(taml_write_file_atomic(path, text, strlen(text), &err), 0);
    taml_space *s = NULL;
    CHECK_EQ_INT(taml_space_load(&s, path, &err), 0);
    CHECK_EQ_INT(taml_space_decisions(s), 4);
    CHECK_STR(taml_space_name(s, 3), "l2");
    CHECK(taml_space_choice(s, 3, 2)->kind == TAML_CHOICE_STRING);
    CHECK_NEAR(taml_space_choice(s, 3, 1)->num, 1e-5, 0);
    CHECK_EQ_INT(taml_space_size(s), 3 * 2 * 2 * 3);
    taml_space_free(s);
    free(path);
}

/* Each bad space is refused with the code and a message naming the problem. */
TEST(space_json_bad_spaces_are_refused_with_clear_errors)
{
    static const struct {
        const char *text, *code_msg;
        int code;
    } bad[] = {
        {"{\n \"a\": [1, 2],\n \"b\": [1,, 2]\n}", "sp.json:3:", TAML_EFORMAT},
        {"{}", "no decisions", TAML_EINVAL},
        {"[1, 2]", "expected a JSON object", TAML_EINVAL},
        {"{\"a\": []}", "'a' has no choices", TAML_EINVAL},
        {"{\"a\": [1], \"a\": [2]}", "repeats the name", TAML_EINVAL},
        {"{\"a\": [1, 2, 1.0]}", "choice 1 twice", TAML_EINVAL},
        {"{\"a\": [\"x\", \"x\"]}", "\"x\" twice", TAML_EINVAL},
        {"{\"a\": [true, true]}", "true twice", TAML_EINVAL},
        {"{\"a\": [1, null]}", "choice 2 is null", TAML_EINVAL},
        {"{\"a\": [1, [2]]}", "choice 2 is a list", TAML_EINVAL},
        {"{\"a\": [{\"b\": 1}]}", "choice 1 is an object", TAML_EINVAL},
        {"{\"a\": 3}", "must be a list", TAML_EINVAL},
        {"{\"\": [1]}", "empty name", TAML_EINVAL},
        {"{\"a\": [1]} trailing", "sp.json:1:", TAML_EFORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        taml_space *s = (taml_space *)1;
        taml_err err;
        int rc = taml_space_from_json(&s, bad[i].text, "sp.json", &err);
        CHECK_MSG(rc == bad[i].code, "case %zu (%s): rc %d", i, bad[i].text, rc);
        CHECK(s == NULL);
        CHECK_CONTAINS(err.msg, bad[i].code_msg);
    }
    taml_space *s = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_load(&s, "/nonexistent/space.json", &err), TAML_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent/space.json");
}

TEST(space_fingerprint_and_diff_tell_spaces_apart)
{
    taml_space *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_from_json(&a, "{\"x\": [1, 2, 3], \"y\": [\"p\", \"q\"]}", "a", &err), 0);
    CHECK_EQ_INT(taml_space_from_json(&b, "{\"x\": [1, 2, 5], \"y\": [\"p\", \"q\"]}", "b", &err), 0);
    CHECK_EQ_INT(taml_space_from_json(&c, "{\"x\": [1, 2, 3]}", "c", &err), 0);
    CHECK_EQ_INT(taml_space_from_json(&d, "{\"y\": [\"p\", \"q\"], \"x\": [1, 2, 3]}", "d", &err), 0);
    CHECK(taml_space_fingerprint(a) != taml_space_fingerprint(b));
    CHECK(taml_space_fingerprint(a) != taml_space_fingerprint(c));
    CHECK(taml_space_fingerprint(a) != taml_space_fingerprint(d)); /* order matters */
    char buf[512];
    CHECK_EQ_INT(taml_space_diff(a, b, buf, sizeof buf), 1);
    CHECK_CONTAINS(buf, "decision 1 'x': choices [1,2,3] vs [1,2,5]");
    CHECK_EQ_INT(taml_space_diff(a, c, buf, sizeof buf), 1);
    CHECK_CONTAINS(buf, "2 decisions vs 1");
    CHECK_CONTAINS(buf, "decision 2 'y' only in the first");
    CHECK_EQ_INT(taml_space_diff(a, d, buf, sizeof buf), 1);
    CHECK_CONTAINS(buf, "decision 1 is 'x' vs 'y'");
    char tiny[8];
    CHECK_EQ_INT(taml_space_diff(a, b, tiny, sizeof tiny), 1);
    CHECK(strlen(tiny) < sizeof tiny);
    taml_space_free(a);
    taml_space_free(b);
    taml_space_free(c);
    taml_space_free(d);
}

TEST(space_config_text_and_actions_round_trip_every_choice)
{
    taml_space *s = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_new_default(&s, MODS, 3, &err), 0);
    int32_t a[12], back[12];
    for (int rep = 0; rep < 9; rep++) {
        for (int d = 0; d < 12; d++) a[d] = (rep * 7 + d) % taml_space_choices(s, d);
        /* through text, as the child helper and the study store see it */
        char *text = taml_space_config_text(s, a);
        CHECK_EQ_INT(taml_space_actions_from_config(s, text, back, &err), 0);
        for (int d = 0; d < 12; d++) CHECK_EQ_INT(back[d], a[d]);
        free(text);
    }
    for (int d = 0; d < 12; d++) a[d] = taml_space_choices(s, d) - 1;
    char *text = taml_space_config_text(s, a);
    CHECK_STR(text, "{\"embedding\":\"es-c\",\"fine_tune\":true,\"layers\":7,\"hidden_size\":256,"
                    "\"activation\":\"swish\",\"normalization\":\"layer_norm\",\"dropout\":0.6,"
                    "\"deep_lr\":3,\"deep_l2\":\"disable\",\"wide_lr\":3,\"wide_l1\":\"disable\","
                    "\"samples\":1000000}");
    free(text);
    taml_space_free(s);
}

TEST(space_actions_from_config_refuses_values_outside_the_space)
{
    taml_space *s = NULL;
    taml_err err;
    CHECK_EQ_INT(taml_space_from_json(&s, "{\"lr\": [0.001, 0.01], \"act\": [\"relu\", \"swish\"]}",
                                      "s", &err), 0);
    int32_t a[2];
    static const struct {
        const char *cfg, *msg;
    } bad[] = {
        {"{\"lr\": 0.003, \"act\": \"relu\"}", "'lr' = 0.003 is not one of its choices [0.001,0.01]"},
        {"{\"lr\": 0.01}", "'act' is missing"},
        {"{\"lr\": 0.01, \"act\": \"relu\", \"extra\": 1}", "'extra' is not a decision"},
        {"{\"lr\": \"0.01\", \"act\": \"relu\"}", "is not one of its choices"},
        {"[0.01, \"relu\"]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(taml_space_actions_from_config(s, bad[i].cfg, a, &err), TAML_EINVAL);
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    /* text that is not JSON: the offset where the parser stopped */
    CHECK_EQ_INT(taml_space_actions_from_config(s, "{\"lr\": 0.01, \"act\": relu}", a, &err),
                 TAML_EFORMAT);
    CHECK_STR(err.msg, "config: byte 20: not valid JSON; expected an object {decision: value}");
    CHECK_EQ_INT(taml_space_actions_from_config(s, "{\"lr\": 0.01} x", a, &err), TAML_EFORMAT);
    CHECK_CONTAINS(err.msg, "config: byte 13: not valid JSON");
    CHECK_EQ_INT(taml_space_actions_from_config(s, "{\"act\": \"swish\", \"lr\": 1e-2}", a, &err), 0);
    CHECK_EQ_INT(a[0], 1);
    CHECK_EQ_INT(a[1], 1);
    taml_space_free(s);
}
