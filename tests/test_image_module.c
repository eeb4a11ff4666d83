/* tests/test_image_module.c - image modules: the module file's image kind
 * (embed/module.h, embed/image_graph.h), the cnn.json importer
 * (taml_module_import_cnn) and `taml embed import --format cnn`, `list`,
 * `info`: round trip, every refusal naming the file and the offset or the
 * op, the kinds kept apart. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/util.h"
#include "embed/image_graph.h"
#include "embed/import.h"
#include "embed/module.h"
#include "format_check.h"
#include "test.h"
#include "testutil.h"

/* A 4 x 4 input, conv 3x3 s2 'same' (extra pixel bottom/right) with relu6,
 * a depthwise 3x3, their sum and a concat of both: 2 x 2 x 8, grid 2. */
static const char base_json[] =
    "{\"format\": \"taml-cnn-1\", \"network\": \"tiny\", \"width\": 1.0,\n"
    " \"source\": \"tests\", \"license\": \"CC0\", \"trained_on\": \"nothing\",\n"
    " \"cut\": \"both\",\n"
    " \"input\": {\"size\": 4, \"min_input\": 2, \"scale\": [0.5, 0.5, 0.5], "
    "\"shift\": [0, 0, -1]},\n"
    " \"pooling\": {\"kind\": \"grid\", \"grid\": 2},\n"
    " \"ops\": [\n"
    "  {\"op\": \"conv\", \"name\": \"c\", \"in\": [0], \"k\": [3, 3], \"s\": [2, 2], "
    "\"pad\": [0, 1, 0, 1], \"cin\": 3, \"cout\": 4, \"act\": \"relu6\", \"w\": 0, \"b\": 108},\n"
    "  {\"op\": \"dwconv\", \"name\": \"d\", \"in\": [1], \"k\": [3, 3], \"s\": [1, 1], "
    "\"pad\": [1, 1, 1, 1], \"c\": 4, \"act\": \"none\", \"w\": 112, \"b\": 148},\n"
    "  {\"op\": \"add\", \"name\": \"sum\", \"in\": [1, 2], \"act\": \"relu\"},\n"
    "  {\"op\": \"concat\", \"name\": \"both\", \"in\": [3, 2]}\n"
    " ],\n"
    " \"output\": 4, \"weights_floats\": 152}\n";
#define N_WEIGHTS 152

/* s with the first occurrence of from replaced by to (heap). */
static char *replaced(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    CHECK_MSG(at != NULL, "'%s' is not in the JSON", from);
    return taml_asprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

static void write_weights(const char *path, size_t n, float nan_at)
{
    float *w = taml_malloc((n ? n : 1) * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = (float)((int)(i % 7) - 3) * 0.25f;
    if (nan_at >= 0 && (size_t)nan_at < n) w[(size_t)nan_at] = NAN;
    CHECK(taml_write_file_atomic(path, w, n * sizeof *w, NULL) == 0);
    free(w);
}

/* Imports json (with weights of n floats) as name; returns the status and
 * the module's path in *out (heap) and the message in err. */
static int import_json(const char *name, const char *json, size_t n, char **out, taml_err *err)
{
    const char *dir = taml_test_tmpdir();
    char *jp = taml_asprintf("%s/%s.json", dir, name), *wp = taml_asprintf("%s/%s.f32", dir, name);
    CHECK(taml_write_file_atomic(jp, json, strlen(json), NULL) == 0);
    write_weights(wp, n, -1);
    char *mp = taml_asprintf("%s/%s.tamlm", dir, name);
    const char *meta[] = {"build_key=k7"};
    taml_cnn_import_opts o = {.name = name, .meta = meta, .n_meta = 1};
    int rc = taml_module_import_cnn(jp, &o, mp, NULL, err);
    free(jp);
    free(wp);
    if (out) *out = mp;
    else free(mp);
    return rc;
}

static char *import_base(const char *name)
{
    char *path;
    taml_err err;
    CHECK_MSG(import_json(name, base_json, N_WEIGHTS, &path, &err) == 0, "%s", err.msg);
    return path;
}

TEST(image_module_round_trip_keeps_the_graph_weights_and_metadata)
{
    char *path = import_base("tiny");
    taml_module *m;
    taml_err err;
    CHECK_MSG(taml_module_open(&m, path, NULL, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(taml_module_kind(m), TAML_MODULE_IMAGE);
    CHECK_STR(taml_module_kind_name(taml_module_kind(m)), "image");
    CHECK_STR(taml_module_name(m), "tiny");
    CHECK_EQ_INT(taml_module_dim(m), 2 * 2 * 8);
    CHECK_EQ_INT(taml_module_rows(m), 0);
    float v[32];
    CHECK_EQ_INT(taml_module_lookup(m, "the", 3, v), 0); /* no words */
    const taml_image_graph *g = taml_module_image(m);
    CHECK(g != NULL);
    CHECK_EQ_INT(g->input_size, 4);
    CHECK_EQ_INT(g->min_input, 2);
    CHECK(g->scale[1] == 0.5f && g->shift[2] == -1);
    CHECK_EQ_INT(g->pooling, TAML_IMAGE_POOL_GRID);
    CHECK_EQ_INT(g->grid, 2);
    CHECK_EQ_INT(g->n_ops, 4);
    CHECK_EQ_INT(g->output, 4);
    CHECK_EQ_INT(g->n_weights, N_WEIGHTS);
    const taml_image_op *c = &g->ops[0], *d = &g->ops[1];
    CHECK_STR(c->name, "c");
    CHECK(c->kind == TAML_IMAGE_CONV && c->act == TAML_IMAGE_ACT_RELU6);
    CHECK(c->pad[0] == 0 && c->pad[1] == 1 && c->pad[2] == 0 && c->pad[3] == 1);
    CHECK(c->out.h == 2 && c->out.w == 2 && c->out.c == 4);
    CHECK(d->kind == TAML_IMAGE_DWCONV && d->cin == 4 && d->cout == 4 && d->b_off == 148);
    CHECK(g->ops[3].kind == TAML_IMAGE_CONCAT && g->ops[3].out.c == 8);
    CHECK(g->ops[3].in[0] == 3 && g->ops[3].in[1] == 2);
    /* the weights are the file's, in place, 64-aligned */
    CHECK(((uintptr_t)g->weights & 63) == 0);
    CHECK(g->weights[5] == (float)((5 % 7) - 3) * 0.25f && c->w == g->weights && d->b == g->weights + 148);
    CHECK_NEAR(g->mflops, 2.0 * (4 * 27 * 4 + 4 * 9 * 4) / 1e6, 1e-12);
    CHECK_STR(taml_module_meta(m, "kind"), "image");
    CHECK_STR(taml_module_meta(m, "network"), "tiny");
    CHECK_STR(taml_module_meta(m, "cut"), "both");
    CHECK_STR(taml_module_meta(m, "trained_on"), "nothing");
    CHECK_STR(taml_module_meta(m, "input_size"), "4");
    CHECK_STR(taml_module_meta(m, "input_scale"), "0.5,0.5,0.5");
    CHECK_STR(taml_module_meta(m, "input_shift"), "0,0,-1");
    CHECK_STR(taml_module_meta(m, "pooling"), "grid 2");
    CHECK_STR(taml_module_meta(m, "dim"), "32");
    CHECK_STR(taml_module_meta(m, "mflops"), "0.00");
    CHECK_STR(taml_module_meta(m, "import_format"), "cnn");
    CHECK_STR(taml_module_meta(m, "build_key"), "k7");
    CHECK_STR(taml_module_language(m), "");
    /* the kinds are kept apart, naming both */
    CHECK_EQ_INT(taml_module_expect_kind(m, TAML_MODULE_IMAGE, "mnist", &err), 0);
    CHECK_EQ_INT(taml_module_expect_kind(m, TAML_MODULE_TEXT, "sst2", &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "module 'tiny' is an image module");
    CHECK_CONTAINS(err.msg, "task 'sst2' is a text task: it needs a text module");
    taml_module_close(m);
    taml_module *r;
    CHECK(taml_module_open(&r, "random-8", NULL, &err) == 0);
    CHECK_EQ_INT(taml_module_kind(r), TAML_MODULE_TEXT);
    CHECK(taml_module_image(r) == NULL);
    CHECK_EQ_INT(taml_module_expect_kind(r, TAML_MODULE_IMAGE, "mnist", &err), TAML_EMISMATCH);
    CHECK_CONTAINS(err.msg, "module 'random-8' is a text module (word vectors); task 'mnist' is "
                            "an image task: it needs an image module");
    taml_module_close(r);
    free(path);
}

TEST(image_module_file_layout_has_the_kind_graph_and_aligned_weights)
{
    char *path = import_base("layout");
    char *b;
    size_t n;
    CHECK(taml_read_file(path, &b, &n, NULL) == 0);
    CHECK(memcmp(b, "TAMLMODL", 8) == 0);
    CHECK_EQ_INT(taml_bytes_load_u32(b + 8), 2);
    CHECK_EQ_INT(taml_bytes_load_u64(b + 16), n - 28);
    CHECK_EQ_INT(taml_bytes_load_u32(b + 24), 32);  /* dim */
    CHECK_EQ_INT(taml_bytes_load_u32(b + 28), 1);   /* kind: image */
    CHECK_EQ_INT(taml_bytes_load_u64(b + 32), 0);   /* rows */
    CHECK_EQ_INT(taml_bytes_load_u64(b + 40), 128); /* the metadata after the longer table */
    for (int f = 56; f <= 88; f += 8) CHECK_EQ_INT(taml_bytes_load_u64(b + f), 0);
    uint64_t matrix = taml_bytes_load_u64(b + 96), graph = taml_bytes_load_u64(b + 112);
    CHECK_EQ_INT(matrix % 64, 0);
    CHECK_EQ_INT(taml_bytes_load_u64(b + 104), N_WEIGHTS * 4);
    CHECK_EQ_INT(graph % 8, 0);
    CHECK_EQ_INT(matrix + N_WEIGHTS * 4 + 4, n); /* the weights end the payload */
    CHECK_EQ_INT(taml_bytes_load_u32(b + graph), 1); /* graph layout version */
    CHECK_EQ_INT(taml_bytes_load_u32(b + graph + 4), 4); /* input size */
    free(b);
    free(path);
}

TEST(image_module_cut_resealed_or_flipped_is_refused_naming_file_and_offset)
{
    char *path = import_base("damage");
    char *b;
    size_t n;
    CHECK(taml_read_file(path, &b, &n, NULL) == 0);
    /* in memory when the machine has a tmpfs: each trial writes (and syncs)
     * a file */
    char *copy = taml_is_dir("/dev/shm") ? taml_asprintf("/dev/shm/taml-damaged-%d.tamlm", (int)getpid())
                                         : taml_path_join(taml_test_tmpdir(), "damaged.tamlm");
    /* every byte near the ends, a sample between (the resealed cuts, which
     * the decoder's own reads must catch, all of them) */
    fc_truncations(b, n, copy, 7, fc_module_open_bytes, NULL);
    fc_flips(b, n, copy, 0, 5, fc_module_open_bytes, NULL);
    fc_resealed_truncations(b, n, copy, 1, fc_module_open_bytes, NULL);
    unlink(copy);
    free(copy);
    free(b);
    free(path);
}

/* Opens the module made by changing bytes of a good one (resealed, so the
 * checksum holds): the graph checks at open must refuse it. */
static void refused_after(const char *name, size_t (*where)(const char *b), uint32_t value,
                          const char *says)
{
    char *path = import_base(name);
    char *b;
    size_t n;
    CHECK(taml_read_file(path, &b, &n, NULL) == 0);
    taml_bytes_store_u32(b + where(b), value);
    fc_reseal((unsigned char *)b, n);
    CHECK(taml_write_file_atomic(path, b, n, NULL) == 0);
    taml_module *m;
    taml_err err;
    CHECK_EQ_INT(taml_module_open(&m, path, NULL, &err) < 0, 1);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, says);
    free(b);
    free(path);
}

/* Offsets in the graph section (layout version 1: 14 u32 / f32 and a u64 of
 * header, the output the 14th u32; then op records of kind, act, kh, kw, sh,
 * sw, pad[4], cin, cout (u32), w, b (u64), n_in, inputs, name). */
#define GRAPH(b) ((size_t)taml_bytes_load_u64((b) + 112))
static size_t at_output(const char *b) { return GRAPH(b) + 4 * 13; }
static size_t at_op0_kind(const char *b) { return GRAPH(b) + 4 * 14 + 8; }
static size_t at_op0_cin(const char *b) { return at_op0_kind(b) + 10 * 4; }
static size_t at_dim(const char *b) { (void)b; return 24; }
static size_t at_rows(const char *b) { (void)b; return 32; }
static size_t at_kind(const char *b) { (void)b; return 28; }
static size_t at_graph_version(const char *b) { return GRAPH(b); }

TEST(image_module_with_a_graph_that_does_not_fit_is_refused_naming_the_op)
{
    refused_after("bad-cin", at_op0_cin, 5,
                  "op 0 (c): conv: its input (tensor 0) has 3 channels, cin is 5");
    refused_after("bad-output", at_output, 9, "output is tensor 9; expected an op's output, 1 .. 4");
    refused_after("bad-kind", at_op0_kind, 42, "op 0: unknown op type 42");
    refused_after("bad-dim", at_dim, 31, "offset 24: dim: 31, the graph gives 32 features");
    refused_after("bad-rows", at_rows, 3, "offset 32: rows: 3 in an image module");
    refused_after("bad-module-kind", at_kind, 2, "offset 28: kind: 2 (0 text or 1 image expected)");
    refused_after("bad-layout", at_graph_version, 2, "graph layout 2, this taml reads version 1");
}

typedef struct bad_case {
    const char *from, *to, *says;
} bad_case;

TEST(cnn_import_refuses_every_bad_field_naming_the_file_the_op_and_the_field)
{
    static const bad_case cases[] = {
        {"{\"format\"", "{{\"format\"", ".json:1: not valid JSON here"},
        {"\"taml-cnn-1\"", "\"taml-cnn-2\"", "format: 'taml-cnn-2', this taml reads \"taml-cnn-1\""},
        {"\"width\": 1.0", "\"widht\": 1.0", "widht: unknown member of the model"},
        {"\"network\": \"tiny\",", "", "network: missing (a string)"},
        {"\"network\": \"tiny\"", "\"network\": \"ti\xffny\"", "network: not UTF-8 (byte 3)"},
        {"\"name\": \"c\"", "\"name\": \"c\xc3\"", "op 0 (?): name: not UTF-8 (byte 2)"},
        {"\"width\": 1.0", "\"width\": -1", "width: expected a positive number"},
        {"\"size\": 4", "\"size\": 0", "size: expected an integer 1 .. 4096"},
        {"\"min_input\": 2", "\"min_input\": 5", "min_input: expected an integer 1 .. 4"},
        {"\"scale\": [0.5, 0.5, 0.5]", "\"scale\": [0.5, 0.5]", "scale: not a list of the right length"},
        {"\"shift\": [0, 0, -1]", "\"shift\": [0, \"a\", -1]", "shift: element 1: expected a finite number"},
        {"\"kind\": \"grid\", \"grid\": 2", "\"kind\": \"cells\"", "kind: unknown pooling 'cells'"},
        {"\"grid\": 2}", "\"grid\": 3}", "pooling grid 3: the output (tensor 4) is 2 x 2"},
        {"\"op\": \"conv\"", "\"op\": \"convv\"", "op 0 (c): op: unknown op 'convv'"},
        {"\"k\": [3, 3], \"s\": [2, 2]", "\"k\": [3], \"s\": [2, 2]", "op 0 (c): k: expected [kh, kw]: 2 integers 1 .. 64"},
        {"\"s\": [2, 2]", "\"s\": [2, 2], \"stride\": 2", "op 0 (c): stride: unknown member of this op"},
        {"\"pad\": [0, 1, 0, 1]", "\"pad\": [0, 3, 0, 1]", "op 0 (c): conv: padding [0, 3, 0, 1]: each side must be 0 .. kernel - 1"},
        {"\"cin\": 3", "\"cin\": 4", "op 0 (c): conv: its input (tensor 0) has 3 channels, cin is 4"},
        {"\"act\": \"relu6\"", "\"act\": \"gelu\"", "op 0 (c): act: unknown 'gelu' (none, relu, relu6)"},
        {"\"b\": 108}", "\"b\": 150}", "op 0 (c): conv: bias b at 150 + 4 floats is outside the 152 floats"},
        {"\"w\": 0,", "\"w\": 200,", "op 0 (c): w: expected an integer 0 .. 152"},
        {"\"in\": [1], \"k\": [3, 3], \"s\": [1, 1]", "\"in\": [2], \"k\": [3, 3], \"s\": [1, 1]",
         "op 1 (d): in: element 0: expected the tensors this op reads"},
        {"\"c\": 4, \"act\": \"none\"", "\"c\": 3, \"act\": \"none\"", "op 1 (d): dwconv: its input (tensor 1) has 4 channels, c is 3"},
        {"\"in\": [1, 2], \"act\": \"relu\"", "\"in\": [0, 2], \"act\": \"relu\"",
         "op 2 (sum): add: its inputs differ in shape: tensor 0 is 4 x 4 x 3, tensor 2 is 2 x 2 x 4"},
        {"\"in\": [3, 2]}", "\"in\": [3]}", "op 3 (both): concat: 1 inputs, expected 2 .. 1024"},
        {"\"in\": [3, 2]}", "\"in\": [3, 0]}", "op 3 (both): concat: input 1 (tensor 0) is 4 x 4, input 0 (tensor 3) 2 x 2"},
        {"\"name\": \"both\", \"in\": [3, 2]}", "\"name\": \"both\", \"in\": [3, 2], \"act\": \"relu\"}",
         "op 3 (both): act: unknown member of this op"},
        {"\"output\": 4", "\"output\": 5", "output: expected an integer 1 .. 4"},
        {"\"weights_floats\": 152", "\"weights_floats\": 151", "wrong weights file or truncated"},
        {"\"k\": [3, 3], \"s\": [2, 2], \"pad\": [0, 1, 0, 1]",
         "\"k\": [5, 5], \"s\": [2, 2], \"pad\": [0, 0, 0, 0]",
         "op 0 (c): conv: a 5 x 5 kernel does not fit the padded input 4 x 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *json = replaced(base_json, cases[i].from, cases[i].to);
        taml_err err;
        char *name = taml_asprintf("bad%zu", i);
        CHECK_MSG(import_json(name, json, N_WEIGHTS, NULL, &err) < 0, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, cases[i].says) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  err.msg, cases[i].says);
        char *file = taml_asprintf("%s.json", name);
        if (!strstr(cases[i].says, "weights file")) CHECK_CONTAINS(err.msg, file);
        free(file);
        free(name);
        free(json);
    }
}

TEST(cnn_import_refuses_a_short_or_non_finite_weights_file_naming_it)
{
    const char *dir = taml_test_tmpdir();
    char *jp = taml_asprintf("%s/w.json", dir), *wp = taml_asprintf("%s/w.f32", dir);
    char *mp = taml_asprintf("%s/w.tamlm", dir);
    CHECK(taml_write_file_atomic(jp, base_json, strlen(base_json), NULL) == 0);
    taml_cnn_import_opts o = {.name = "w"};
    taml_err err;
    write_weights(wp, 2, -1);
    CHECK(taml_module_import_cnn(jp, &o, mp, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, "w.f32: 8 bytes; the graph's weights_floats is 152 (608 bytes)");
    write_weights(wp, N_WEIGHTS, 2);
    CHECK(taml_module_import_cnn(jp, &o, mp, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, "w.f32: offset 8: float 2 is NaN");
    o.matrix_path = "/no/such.f32";
    CHECK(taml_module_import_cnn(jp, &o, mp, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, "/no/such.f32");
    CHECK_CONTAINS(err.msg, "give the weights with --matrix");
    CHECK(!taml_is_file(mp)); /* nothing written */
    o.matrix_path = NULL; /* default: the JSON's name with .f32 */
    write_weights(wp, N_WEIGHTS, -1);
    CHECK_MSG(taml_module_import_cnn(jp, &o, mp, NULL, &err) == 0, "%s", err.msg);
    free(jp);
    free(wp);
    free(mp);
}


TEST(embed_cli_imports_lists_and_describes_an_image_module)
{
    const char *root = taml_test_tmpdir();
    char *lib = taml_path_join(root, "lib");
    char *jp = taml_path_join(root, "cnn.json"), *wp = taml_path_join(root, "weights.f32");
    CHECK(taml_write_file_atomic(jp, base_json, strlen(base_json), NULL) == 0);
    write_weights(wp, N_WEIGHTS, -1);
    char *out;
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import cnn.json --format cnn --matrix weights.f32 --name tiny-cnn "
                           "--license MIT --meta note=x", &out), 0);
    CHECK_CONTAINS(out, "tiny-cnn.tamlm: image module, 4 ops at 4 x 4, 32 features");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed list", &out), 0);
    CHECK_CONTAINS(out, "image modules (CNN feature extractors):");
    CHECK_CONTAINS(out, "tiny-cnn             4 grid 2       32       0.0  tiny (both)");
    CHECK_CONTAINS(out, "random-D"); /* the text table is there too */
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed info tiny-cnn", &out), 0);
    CHECK_CONTAINS(out, "kind            image (CNN feature extractor)");
    CHECK_CONTAINS(out, "input           4 x 4 x 3 (task images resized to it, grey copied to "
                        "RGB; the graph runs from 2 x 2)");
    CHECK_CONTAINS(out, "cut             tensor 4 (both), 2 x 2 x 8");
    CHECK_CONTAINS(out, "pooling         grid 2");
    CHECK_CONTAINS(out, "dimension       32");
    CHECK_CONTAINS(out, "ops             4 run of 4 in the graph: 1 conv (0.0 MFLOPs) 1 dwconv "
                        "(0.0 MFLOPs) 1 add 1 concat");
    CHECK_CONTAINS(out, "license         MIT"); /* the command line's, over the JSON's */
    CHECK_CONTAINS(out, "note            x");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import cnn.json --format cnn --name x --language en", &out), 2);
    CHECK_CONTAINS(out, "--language is for word vectors, not for --format cnn");
    free(out);
    CHECK_EQ_INT(taml_test_taml_in(lib, "embed import cnn.json --format cnn --name x --matrix nope.f32", &out), 1);
    CHECK_CONTAINS(out, "nope.f32");
    free(out);
    free(jp);
    free(wp);
    free(lib);
}
