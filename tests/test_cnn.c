/* tests/test_cnn.c - image-module inference (nn/cnn_kernels.h, nn/cnn.h):
 * every fast kernel against its plain-loop reference on random inputs (odd
 * sizes, strides 1 and 2, every padding corner, the extra pixel bottom and
 * right), hand-computed values through whole tiny graphs imported from
 * cnn.json (conv 3x3 stride 2 'same', average pooling without the padding,
 * the bilinear resize), and a small whole graph run by the fast runner
 * against the reference runner. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "embed/image_graph.h"
#include "embed/import.h"
#include "embed/module.h"
#include "nn/cnn.h"
#include "nn/cnn_kernels.h"
#include "test.h"

static float *rnd(taml_rng *r, size_t n, float lo, float hi)
{
    float *v = taml_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * taml_rng_uniformf(r);
    return v;
}

/* max |a - b| / (1 + |b|) */
static double max_rel(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1 + fabs((double)b[i]));
        if (!(d <= m)) m = d; /* NaN too */
    }
    return m;
}

/* 'same' padding of TF for one side length: {before, after}. */
static void same(int n, int k, int s, int32_t *before, int32_t *after)
{
    int out = (n + s - 1) / s, total = (out - 1) * s + k - n;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - total / 2;
}

typedef struct wcase {
    int H, W, C, Co, kh, kw, sh, sw, same_pad;
} wcase;

static void geom_of(taml_cnn_geom *g, const wcase *c, int B)
{
    int32_t pad[4] = {0, 0, 0, 0};
    if (c->same_pad) {
        same(c->H, c->kh, c->sh, &pad[0], &pad[1]);
        same(c->W, c->kw, c->sw, &pad[2], &pad[3]);
    }
    taml_cnn_geom_set(g, B, c->H, c->W, c->C, c->Co, c->kh, c->kw, c->sh, c->sw, pad);
}

/* Odd and even sizes, strides 1 and 2 (so 'same' puts an extra pixel
 * bottom/right on some and none on others), every kernel shape the nsfwjs
 * models use. */
static const wcase conv_cases[] = {
    {7, 9, 3, 5, 3, 3, 2, 2, 1},   {8, 8, 3, 32, 3, 3, 2, 2, 1},  {9, 7, 4, 6, 3, 3, 1, 1, 1},
    {6, 5, 8, 16, 1, 1, 1, 1, 0},  {5, 5, 7, 9, 1, 1, 2, 2, 0},   {11, 10, 5, 4, 5, 5, 1, 1, 1},
    {9, 9, 6, 5, 1, 7, 1, 1, 1},   {9, 9, 6, 5, 7, 1, 1, 1, 1},   {8, 7, 3, 4, 1, 3, 1, 1, 1},
    {7, 8, 3, 4, 3, 1, 1, 1, 1},   {9, 11, 4, 7, 3, 3, 2, 2, 0},  {10, 10, 3, 8, 3, 3, 2, 1, 1},
    {35, 35, 16, 24, 3, 3, 1, 1, 1}, {17, 17, 40, 48, 7, 1, 1, 1, 1}, {4, 4, 2, 3, 4, 4, 2, 2, 1},
    /* the direct kernel's (K <= 27, cout a multiple of 16): 1 .. 5 vectors */
    {9, 11, 3, 48, 3, 3, 2, 2, 1}, {13, 7, 16, 64, 1, 1, 1, 1, 0}, {10, 10, 24, 80, 1, 1, 1, 1, 0},
    {7, 7, 3, 16, 3, 3, 1, 1, 1},  {5, 6, 3, 32, 3, 3, 2, 2, 0},   {3, 9, 1, 16, 3, 3, 1, 1, 1},
};

TEST(cnn_conv2d_im2col_and_sgemm_equal_the_plain_loops_for_every_shape_and_padding)
{
    taml_rng r;
    taml_rng_seed(&r, 11);
    for (size_t t = 0; t < sizeof conv_cases / sizeof *conv_cases; t++) {
        const wcase *c = &conv_cases[t];
        for (int act = 0; act < TAML_IMAGE_N_ACTS; act++) {
            taml_cnn_geom g;
            geom_of(&g, c, 2);
            size_t nin = (size_t)2 * c->H * c->W * c->C, nout = (size_t)2 * g.Ho * g.Wo * c->Co;
            float *in = rnd(&r, nin, -3, 3);
            float *w = rnd(&r, (size_t)c->kh * c->kw * c->C * c->Co, -1, 1);
            float *b = rnd(&r, (size_t)c->Co, -1, 1);
            float *y1 = rnd(&r, nout, 0, 1), *y2 = rnd(&r, nout, 0, 1);
            float *scratch = taml_malloc((taml_cnn_conv2d_scratch(&g) + 1) * sizeof *scratch);
            taml_cnn_conv2d(y1, in, w, b, &g, act, scratch);
            taml_cnn_conv2d_ref(y2, in, w, b, &g, act);
            /* float sums of K = kh kw C products in another order (the
             * BLAS kernel's, which depends on the machine: AVX2 and AVX-512
             * differ): the forward error bound is about K x FLT_EPSILON of
             * the sum of |terms|; an indexing error is O(1) */
            double tol = 4.0 * c->kh * c->kw * c->C * FLT_EPSILON;
            if (tol < 1e-5) tol = 1e-5;
            CHECK_MSG(max_rel(y1, y2, nout) < tol, "case %zu act %d: %g (tolerance %g)", t, act,
                      max_rel(y1, y2, nout), tol);
            if (c->same_pad) { /* 'same': ceil(n / s) outputs */
                CHECK_EQ_INT(g.Ho, (c->H + c->sh - 1) / c->sh);
                CHECK_EQ_INT(g.Wo, (c->W + c->sw - 1) / c->sw);
            }
            free(in);
            free(w);
            free(b);
            free(y1);
            free(y2);
            free(scratch);
        }
    }
}

static const wcase dw_cases[] = {
    {7, 9, 16, 16, 3, 3, 2, 2, 1},  {8, 8, 32, 32, 3, 3, 2, 2, 1}, {9, 7, 19, 19, 3, 3, 1, 1, 1},
    {6, 5, 5, 5, 3, 3, 1, 1, 1},    {12, 12, 48, 48, 3, 3, 2, 2, 0}, {11, 10, 40, 40, 5, 5, 1, 1, 1},
    {9, 11, 16, 16, 5, 5, 2, 2, 1}, {3, 3, 33, 33, 3, 3, 1, 1, 1}, {1, 1, 16, 16, 3, 3, 1, 1, 1},
    {2, 2, 17, 17, 3, 3, 2, 2, 1},  {10, 10, 16, 16, 3, 1, 1, 1, 1},
};

TEST(cnn_depthwise_vectorised_equals_the_plain_loops_with_odd_channels_and_corners)
{
    taml_rng r;
    taml_rng_seed(&r, 12);
    for (size_t t = 0; t < sizeof dw_cases / sizeof *dw_cases; t++) {
        const wcase *c = &dw_cases[t];
        for (int act = 0; act < TAML_IMAGE_N_ACTS; act++) {
            taml_cnn_geom g;
            geom_of(&g, c, 3);
            size_t nin = (size_t)3 * c->H * c->W * c->C, nout = (size_t)3 * g.Ho * g.Wo * c->C;
            float *in = rnd(&r, nin, -8, 8), *w = rnd(&r, (size_t)c->kh * c->kw * c->C, -1, 1);
            float *b = rnd(&r, (size_t)c->C, -1, 1);
            float *y1 = rnd(&r, nout, 0, 1), *y2 = rnd(&r, nout, 0, 1);
            taml_cnn_dwconv2d(y1, in, w, b, &g, act);
            taml_cnn_dwconv2d_ref(y2, in, w, b, &g, act);
            CHECK_MSG(max_rel(y1, y2, nout) < 1e-5, "case %zu act %d (%s): %g", t, act,
                      taml_cnn_dwconv2d_isa(), max_rel(y1, y2, nout));
            free(in);
            free(w);
            free(b);
            free(y1);
            free(y2);
        }
    }
}

TEST(cnn_max_and_average_pooling_equal_the_plain_loops_and_skip_the_padding)
{
    static const wcase cases[] = {
        {7, 9, 5, 5, 3, 3, 2, 2, 0}, {7, 9, 5, 5, 3, 3, 2, 2, 1}, {8, 8, 16, 16, 3, 3, 1, 1, 1},
        {35, 35, 3, 3, 3, 3, 1, 1, 1}, {9, 10, 7, 7, 2, 2, 2, 2, 1}, {6, 6, 4, 4, 3, 3, 2, 2, 1},
        {5, 5, 1, 1, 5, 5, 1, 1, 1},
    };
    taml_rng r;
    taml_rng_seed(&r, 13);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const wcase *c = &cases[t];
        taml_cnn_geom g;
        geom_of(&g, c, 2);
        size_t nin = (size_t)2 * c->H * c->W * c->C, nout = (size_t)2 * g.Ho * g.Wo * c->C;
        /* all negative: a padded zero winning a max would show */
        float *in = rnd(&r, nin, -9, -1);
        float *y1 = rnd(&r, nout, 0, 1), *y2 = rnd(&r, nout, 0, 1);
        taml_cnn_maxpool2d(y1, in, &g);
        taml_cnn_maxpool2d_ref(y2, in, &g);
        CHECK_MSG(max_rel(y1, y2, nout) == 0, "max case %zu", t);
        for (size_t i = 0; i < nout; i++) CHECK(y1[i] < 0);
        taml_cnn_avgpool2d(y1, in, &g);
        taml_cnn_avgpool2d_ref(y2, in, &g);
        CHECK_MSG(max_rel(y1, y2, nout) < 1e-6, "avg case %zu: %g", t, max_rel(y1, y2, nout));
        for (size_t i = 0; i < nout; i++) CHECK(y1[i] <= -1 + 1e-5 && y1[i] >= -9 - 1e-5);
        free(in);
        free(y1);
        free(y2);
    }
}

TEST(cnn_pad_concat_add_and_cut_pooling_equal_their_references)
{
    taml_rng r;
    taml_rng_seed(&r, 14);
    /* pad: ZeroPadding2D's asymmetric ((0, 1), (0, 1)) and a wide one */
    static const int32_t pads[][4] = {{0, 1, 0, 1}, {1, 1, 1, 1}, {3, 0, 2, 5}, {0, 0, 0, 0}};
    for (size_t t = 0; t < 4; t++) {
        taml_cnn_geom g;
        taml_cnn_geom_set(&g, 2, 5, 7, 3, 3, 1, 1, 1, 1, pads[t]);
        size_t nin = 2 * 5 * 7 * 3;
        size_t nout = (size_t)2 * (5 + pads[t][0] + pads[t][1]) * (7 + pads[t][2] + pads[t][3]) * 3;
        float *in = rnd(&r, nin, -1, 1), *y1 = rnd(&r, nout, 5, 6), *y2 = rnd(&r, nout, 5, 6);
        taml_cnn_pad2d(y1, in, &g);
        taml_cnn_pad2d_ref(y2, in, &g);
        CHECK(memcmp(y1, y2, nout * sizeof *y1) == 0);
        free(in);
        free(y1);
        free(y2);
    }
    /* concat of three tensors of 7 positions */
    const int32_t c[3] = {3, 1, 5};
    float *a = rnd(&r, 21, -1, 1), *b = rnd(&r, 7, -1, 1), *d = rnd(&r, 35, -1, 1);
    const float *ins[3] = {a, b, d};
    float y1[63], y2[63];
    taml_cnn_concat(y1, ins, c, 3, 7);
    taml_cnn_concat_ref(y2, ins, c, 3, 7);
    CHECK(memcmp(y1, y2, sizeof y1) == 0);
    CHECK(y1[9] == a[3] && y1[12] == b[1] && y1[13] == d[5]); /* position 1: a, b, d */
    /* add with relu6 */
    float s[4], x1[4] = {1, -3, 5, 2}, x2[4] = {0.5f, 1, 4, -1};
    taml_cnn_add(s, x1, x2, 4, TAML_IMAGE_ACT_RELU6);
    CHECK(s[0] == 1.5f && s[1] == 0 && s[2] == 6 && s[3] == 1);
    free(a);
    free(b);
    free(d);
    /* cut pooling: grids that do not divide the size, global */
    static const int shapes[][4] = {{7, 5, 3, 2}, {6, 6, 4, 2}, {5, 9, 2, 3}, {3, 3, 5, 1}};
    for (size_t t = 0; t < 4; t++) {
        int H = shapes[t][0], W = shapes[t][1], C = shapes[t][2], G = shapes[t][3];
        size_t n = (size_t)2 * H * W * C, m = (size_t)2 * G * G * C;
        float *in = rnd(&r, n, -2, 2), *p1 = rnd(&r, m, 0, 1), *p2 = rnd(&r, m, 0, 1);
        taml_cnn_pool_cut(p1, in, 2, H, W, C, G);
        taml_cnn_pool_cut_ref(p2, in, 2, H, W, C, G);
        CHECK_MSG(max_rel(p1, p2, m) < 1e-6, "pool case %zu", t);
        free(in);
        free(p1);
        free(p2);
    }
    /* 7 rows in 2 cells: rows 0..2 and 3..6 (floor(i H / G)) */
    float col[7] = {1, 1, 1, 5, 5, 5, 5}, cell[4];
    taml_cnn_pool_cut(cell, col, 1, 7, 1, 1, 1);
    CHECK_NEAR(cell[0], 23.0 / 7, 1e-6);
    float grid[2 * 2];
    float img[7 * 2];
    for (int i = 0; i < 7; i++) img[2 * i] = img[2 * i + 1] = col[i];
    taml_cnn_pool_cut(grid, img, 1, 7, 2, 1, 2);
    CHECK(grid[0] == 1 && grid[1] == 1 && grid[2] == 5 && grid[3] == 5);
}

TEST(cnn_input_resize_plan_equals_the_direct_formula_up_and_down_grey_and_rgb)
{
    taml_rng r;
    taml_rng_seed(&r, 15);
    static const int sizes[][3] = {{28, 28, 96}, {8, 8, 8}, {28, 28, 13}, {7, 5, 32}, {1, 1, 4},
                                   {32, 32, 299}, {300, 200, 96}};
    const float scale[3] = {1.0f / 255, 2.0f / 255, 0.5f}, shift[3] = {0, -1, 3};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++)
        for (int ch = 1; ch <= 3; ch += 2) {
            int h = sizes[t][0], w = sizes[t][1], S = sizes[t][2];
            size_t n = (size_t)h * w * ch;
            uint8_t *img = taml_malloc(n);
            for (size_t i = 0; i < n; i++) img[i] = (uint8_t)taml_rng_below(&r, 256);
            int32_t *ti = taml_malloc(4 * (size_t)S * sizeof *ti);
            double *tf = taml_malloc(8 * (size_t)S * sizeof *tf);
            taml_cnn_resize p = {.y0 = ti, .y1 = ti + S, .x0 = ti + 2 * S, .x1 = ti + 3 * S,
                                 .ly = tf, .lx = tf + S, .rows = tf + 2 * S};
            taml_cnn_resize_plan(&p, h, w, S);
            size_t m = (size_t)S * S * 3;
            float *y1 = taml_malloc(m * sizeof *y1), *y2 = taml_malloc(m * sizeof *y2);
            taml_cnn_input(y1, img, ch, &p, scale, shift);
            taml_cnn_input_ref(y2, img, h, w, ch, S, scale, shift);
            CHECK_MSG(memcmp(y1, y2, m * sizeof *y1) == 0, "%dx%dx%d -> %d", h, w, ch, S);
            if (S == h && S == w) /* same size: the pixels themselves */
                for (size_t i = 0; i < m; i++) {
                    int k = (int)(i % 3);
                    CHECK(y1[i] == (float)img[(i / 3) * ch + (ch == 1 ? 0 : k)] * scale[k] + shift[k]);
                }
            free(img);
            free(ti);
            free(tf);
            free(y1);
            free(y2);
        }
}

/* ---- whole graphs, imported from cnn.json as a user's would be ---- */

/* Writes json and the weights, imports them as module NAME, opens it. */
static taml_module *import(const char *name, const char *json, const float *w, size_t nw)
{
    const char *dir = taml_test_tmpdir();
    char *jp = taml_asprintf("%s/%s.json", dir, name), *wp = taml_asprintf("%s/%s.f32", dir, name);
    char *mp = taml_asprintf("%s/%s.tamlm", dir, name);
    taml_err err;
    CHECK(taml_write_file_atomic(jp, json, strlen(json), &err) == 0);
    CHECK(taml_write_file_atomic(wp, w, nw * sizeof *w, &err) == 0);
    taml_cnn_import_opts o = {.name = name};
    int rc = taml_module_import_cnn(jp, &o, mp, NULL, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    taml_module *m;
    rc = taml_module_open(&m, mp, NULL, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    free(jp);
    free(wp);
    free(mp);
    return m;
}

/* The features of one image through a module, by both runners (equal). */
static void features_of(const taml_module *m, const uint8_t *img, int h, int w, int c, float *out)
{
    const taml_image_graph *g = taml_module_image(m);
    CHECK(g != NULL);
    taml_err err;
    float *ref = taml_malloc((size_t)g->dim * sizeof *ref);
    for (int reference = 0; reference < 2; reference++) {
        taml_cnn *r;
        taml_cnn_opts o = {.batch = 2, .reference = reference};
        CHECK(taml_cnn_new(&r, g, &o, &err) == 0);
        CHECK_MSG(taml_cnn_features(r, img, 1, h, w, c, reference ? ref : out, &err) == 0, "%s",
                  err.msg);
        taml_cnn_free(r);
    }
    CHECK(max_rel(out, ref, (size_t)g->dim) < 1e-6);
    free(ref);
}

#define HEAD(S, pooling)                                                                       \
    "{\"format\": \"taml-cnn-1\", \"network\": \"test\", \"source\": \"tests\", "              \
    "\"license\": \"CC0\", \"trained_on\": \"nothing\", \"cut\": \"last\", "                   \
    "\"input\": {\"size\": " #S ", \"min_input\": 2, \"scale\": [1, 1, 1], "                   \
    "\"shift\": [0, 0, 0]}, \"pooling\": " pooling ", "

TEST(cnn_conv_3x3_stride_2_same_puts_the_extra_pixel_bottom_right_by_hand)
{
    /* 4 x 4 grey image 1 .. 16; 'same' for 4, k 3, s 2: 2 outputs, total
     * padding 1, all of it bottom / right. Weights: 1 on channel 0. */
    const char *json = HEAD(4, "{\"kind\": \"grid\", \"grid\": 2}")
        "\"ops\": [{\"op\": \"conv\", \"name\": \"c\", \"in\": [0], \"k\": [3, 3], "
        "\"s\": [2, 2], \"pad\": [0, 1, 0, 1], \"cin\": 3, \"cout\": 1, \"act\": \"none\", "
        "\"w\": 0, \"b\": 27}], \"output\": 1, \"weights_floats\": 28}";
    float w[28] = {0};
    for (int i = 0; i < 9; i++) w[i * 3] = 1; /* (kh, kw, cin, cout): channel 0 */
    w[27] = 0.5f;                             /* bias */
    taml_module *m = import("conv", json, w, 28);
    uint8_t img[16];
    for (int i = 0; i < 16; i++) img[i] = (uint8_t)(i + 1);
    float f[4];
    features_of(m, img, 4, 4, 1, f);
    /* rows 0-2 x cols 0-2: 54; cols 2-3: 45; rows 2-3: 72; both: 54; + 0.5 */
    CHECK_NEAR(f[0], 54.5, 1e-4);
    CHECK_NEAR(f[1], 45.5, 1e-4);
    CHECK_NEAR(f[2], 72.5, 1e-4);
    CHECK_NEAR(f[3], 54.5, 1e-4);
    CHECK_EQ_INT(taml_module_dim(m), 4);
    CHECK_NEAR(taml_module_image(m)->mflops, 2.0 * 4 * 27 / 1e6, 1e-12);
    taml_module_close(m);
}

TEST(cnn_avgpool_same_divides_by_the_positions_inside_the_image_by_hand)
{
    const char *json = HEAD(3, "{\"kind\": \"grid\", \"grid\": 3}")
        "\"ops\": [{\"op\": \"avgpool\", \"name\": \"p\", \"in\": [0], \"k\": [3, 3], "
        "\"s\": [1, 1], \"pad\": [1, 1, 1, 1]}], \"output\": 1, \"weights_floats\": 0}";
    taml_module *m = import("avg", json, NULL, 0);
    uint8_t img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float f[27];
    features_of(m, img, 3, 3, 1, f);
    static const double want[9] = {3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7};
    for (int i = 0; i < 9; i++)
        for (int k = 0; k < 3; k++) CHECK_NEAR(f[i * 3 + k], want[i], 1e-5);
    taml_module_close(m);
}

TEST(cnn_resize_is_bilinear_with_half_pixel_centres_then_scaled_by_hand)
{
    /* 2 x 2 -> 4 x 4: output o reads source (o + 0.5) / 2 - 0.5, clamped:
     * weights 1, 3/4 + 1/4, 1/4 + 3/4, 1 (as tf.image.resize and PyTorch's
     * align_corners=False). A zero pad is the identity op. */
    const char *json =
        "{\"format\": \"taml-cnn-1\", \"network\": \"test\", \"source\": \"tests\", "
        "\"license\": \"CC0\", \"trained_on\": \"nothing\", \"cut\": \"in\", "
        "\"input\": {\"size\": 4, \"min_input\": 2, \"scale\": [1, 0.5, 2], "
        "\"shift\": [0, 1, -1]}, \"pooling\": {\"kind\": \"grid\", \"grid\": 4}, "
        "\"ops\": [{\"op\": \"pad\", \"name\": \"id\", \"in\": [0], \"pad\": [0, 0, 0, 0]}], "
        "\"output\": 1, \"weights_floats\": 0}";
    taml_module *m = import("resize", json, NULL, 0);
    static const double want[16] = {0,   25,     75,     100, 50,  71.25, 113.75, 135,
                                    150, 163.75, 191.25, 205, 200, 210,   230,    240};
    uint8_t grey[4] = {0, 100, 200, 240}, rgb[12];
    for (int i = 0; i < 4; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
    rgb[1] = 40; /* the green channel of pixel (0, 0) alone */
    float f[48], g[48];
    features_of(m, grey, 2, 2, 1, f);
    features_of(m, rgb, 2, 2, 3, g);
    for (int i = 0; i < 16; i++) {
        CHECK_NEAR(f[3 * i], want[i], 1e-4);
        CHECK_NEAR(f[3 * i + 1], want[i] * 0.5 + 1, 1e-4);
        CHECK_NEAR(f[3 * i + 2], want[i] * 2 - 1, 1e-4);
        CHECK_NEAR(g[3 * i], f[3 * i], 1e-4);
        CHECK_NEAR(g[3 * i + 2], f[3 * i + 2], 1e-4);
    }
    CHECK_NEAR(g[1], 40 * 0.5 + 1, 1e-4);           /* (0, 0): pixel (0, 0) alone */
    CHECK_NEAR(g[3 + 1], (0.75 * 40 + 25) * 0.5 + 1, 1e-4); /* (0, 1): 3/4 of it */
    taml_module_close(m);
}

/* A small graph with every op: the stem of a MobileNetV2 and of an
 * Inception, odd sizes (13 x 13 input), both kinds of 'same' padding. */
static char *small_graph(int64_t *n_weights)
{
    /* weights laid out by the ops in order; each op's (w, b) below */
    static const struct {
        const char *op;
        int cin, cout, k0, k1;
    } wops[] = {{"conv", 3, 16, 3, 3}, {"dwconv", 16, 16, 3, 3}, {"conv", 16, 24, 1, 1},
                {"dwconv", 24, 24, 3, 3}, {"conv", 24, 24, 1, 1}, {"conv", 24, 8, 1, 7},
                {"conv", 8, 12, 7, 1}, {"conv", 24, 20, 1, 1}};
    int64_t off[8][2], n = 0;
    for (int i = 0; i < 8; i++) {
        int dw = !strcmp(wops[i].op, "dwconv");
        off[i][0] = n;
        n += (int64_t)wops[i].k0 * wops[i].k1 * wops[i].cin * (dw ? 1 : wops[i].cout);
        off[i][1] = n;
        n += wops[i].cout;
    }
    *n_weights = n;
    return taml_asprintf(
        HEAD(13, "{\"kind\": \"grid\", \"grid\": 2}")
        "\"ops\": ["
        /* 1: 13 -> 7, 'same' s2 (odd: no extra pixel) */
        "{\"op\": \"conv\", \"name\": \"Conv1\", \"in\": [0], \"k\": [3, 3], \"s\": [2, 2], "
        "\"pad\": [1, 1, 1, 1], \"cin\": 3, \"cout\": 16, \"act\": \"relu6\", \"w\": %lld, \"b\": %lld},"
        /* 2 */
        "{\"op\": \"dwconv\", \"name\": \"dw1\", \"in\": [1], \"k\": [3, 3], \"s\": [1, 1], "
        "\"pad\": [1, 1, 1, 1], \"c\": 16, \"act\": \"relu6\", \"w\": %lld, \"b\": %lld},"
        /* 3: 7 x 7 x 24 */
        "{\"op\": \"conv\", \"name\": \"proj1\", \"in\": [2], \"k\": [1, 1], \"s\": [1, 1], "
        "\"pad\": [0, 0, 0, 0], \"cin\": 16, \"cout\": 24, \"act\": \"none\", \"w\": %lld, \"b\": %lld},"
        /* 4: 8 x 8 (ZeroPadding2D before a valid stride-2 depthwise) */
        "{\"op\": \"pad\", \"name\": \"pad2\", \"in\": [3], \"pad\": [0, 1, 0, 1]},"
        /* 5: 3 x 3 */
        "{\"op\": \"dwconv\", \"name\": \"dw2\", \"in\": [4], \"k\": [3, 3], \"s\": [2, 2], "
        "\"pad\": [0, 0, 0, 0], \"c\": 24, \"act\": \"relu\", \"w\": %lld, \"b\": %lld},"
        /* 6: back to 7 x 7 is not possible; a 1x1 on 3 x 3 */
        "{\"op\": \"conv\", \"name\": \"proj2\", \"in\": [5], \"k\": [1, 1], \"s\": [1, 1], "
        "\"pad\": [0, 0, 0, 0], \"cin\": 24, \"cout\": 24, \"act\": \"none\", \"w\": %lld, \"b\": %lld},"
        /* 7: residual on tensor 6 with itself through a maxpool 3x3 s1 same */
        "{\"op\": \"maxpool\", \"name\": \"mp\", \"in\": [6], \"k\": [3, 3], \"s\": [1, 1], "
        "\"pad\": [1, 1, 1, 1]},"
        "{\"op\": \"add\", \"name\": \"add\", \"in\": [6, 7], \"act\": \"relu\"},"
        /* 9, 10: the 1x7 / 7x1 pair on 3 x 3 ('same': 3 a side) */
        "{\"op\": \"conv\", \"name\": \"c17\", \"in\": [8], \"k\": [1, 7], \"s\": [1, 1], "
        "\"pad\": [0, 0, 3, 3], \"cin\": 24, \"cout\": 8, \"act\": \"relu\", \"w\": %lld, \"b\": %lld},"
        "{\"op\": \"conv\", \"name\": \"c71\", \"in\": [9], \"k\": [7, 1], \"s\": [1, 1], "
        "\"pad\": [3, 3, 0, 0], \"cin\": 8, \"cout\": 12, \"act\": \"relu\", \"w\": %lld, \"b\": %lld},"
        /* 11: average pool branch, 12: its 1x1 */
        "{\"op\": \"avgpool\", \"name\": \"ap\", \"in\": [8], \"k\": [3, 3], \"s\": [1, 1], "
        "\"pad\": [1, 1, 1, 1]},"
        "{\"op\": \"conv\", \"name\": \"apc\", \"in\": [11], \"k\": [1, 1], \"s\": [1, 1], "
        "\"pad\": [0, 0, 0, 0], \"cin\": 24, \"cout\": 20, \"act\": \"relu\", \"w\": %lld, \"b\": %lld},"
        /* 13: concat 24 + 12 + 20 */
        "{\"op\": \"concat\", \"name\": \"mixed\", \"in\": [8, 10, 12]},"
        /* 14: an op past the cut (never run) */
        "{\"op\": \"maxpool\", \"name\": \"after\", \"in\": [13], \"k\": [2, 2], \"s\": [2, 2], "
        "\"pad\": [0, 0, 0, 0]}"
        "], \"output\": 13, \"weights_floats\": %lld}",
        (long long)off[0][0], (long long)off[0][1], (long long)off[1][0], (long long)off[1][1],
        (long long)off[2][0], (long long)off[2][1], (long long)off[3][0], (long long)off[3][1],
        (long long)off[4][0], (long long)off[4][1], (long long)off[5][0], (long long)off[5][1],
        (long long)off[6][0], (long long)off[6][1], (long long)off[7][0], (long long)off[7][1],
        (long long)n);
}

TEST(cnn_small_whole_graph_fast_runner_equals_reference_runner_in_batches)
{
    int64_t nw;
    char *json = small_graph(&nw);
    taml_rng r;
    taml_rng_seed(&r, 16);
    float *w = rnd(&r, (size_t)nw, -0.5f, 0.5f);
    taml_module *m = import("small", json, w, (size_t)nw);
    const taml_image_graph *g = taml_module_image(m);
    CHECK_EQ_INT(g->dim, 2 * 2 * 56);
    CHECK_EQ_INT(g->ops[13].needed, 0);
    taml_image_shape cut = taml_image_graph_shape(g, g->output);
    CHECK(cut.h == 3 && cut.w == 3 && cut.c == 56);
    /* 3 images of 10 x 11 RGB (resized up to 13) */
    enum { N = 3, H = 10, W = 11 };
    uint8_t img[N * H * W * 3];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)taml_rng_below(&r, 256);
    taml_err err;
    taml_cnn *fast, *ref;
    taml_cnn_opts fo = {.batch = N}, ro = {.batch = N, .reference = 1};
    CHECK(taml_cnn_new(&fast, g, &fo, &err) == 0);
    CHECK(taml_cnn_new(&ref, g, &ro, &err) == 0);
    size_t D = (size_t)g->dim;
    float *f1 = taml_malloc(N * D * sizeof *f1), *f2 = taml_malloc(N * D * sizeof *f2);
    float *one = taml_malloc(D * sizeof *one);
    CHECK(taml_cnn_features(fast, img, N, H, W, 3, f1, &err) == 0);
    CHECK(taml_cnn_features(ref, img, N, H, W, 3, f2, &err) == 0);
    CHECK_MSG(max_rel(f1, f2, N * D) < 1e-5, "%g", max_rel(f1, f2, N * D));
    double norm = 0;
    for (size_t i = 0; i < N * D; i++) norm += fabs(f1[i]);
    CHECK(norm > 1); /* not all zero */
    for (int i = 0; i < N; i++) { /* an image alone gives its row of the batch */
        CHECK(taml_cnn_features(fast, img + (size_t)i * H * W * 3, 1, H, W, 3, one, &err) == 0);
        CHECK(max_rel(one, f1 + i * D, D) < 1e-6);
    }
    /* buffers are shared: fewer floats than all tensors together */
    size_t all = 0;
    for (int32_t t = 0; t <= g->n_ops; t++) {
        taml_image_shape s = taml_image_graph_shape(g, t);
        all += (size_t)N * s.h * s.w * s.c;
    }
    CHECK(taml_cnn_scratch_floats(fast) > 0 && taml_cnn_scratch_floats(fast) < all);
    /* profiling adds time to the ops that ran, not to the one past the cut */
    double *sec = taml_calloc((size_t)g->n_ops, sizeof *sec);
    taml_cnn_profile(fast, sec);
    taml_cnn_run(fast, 2);
    CHECK(sec[0] > 0 && sec[13] == 0);
    taml_cnn_profile(fast, NULL);
    free(sec);
    /* bad images */
    CHECK_EQ_INT(taml_cnn_features(fast, img, 1, H, W, 2, one, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "2 channels");
    CHECK_EQ_INT(taml_cnn_features(fast, img, 1, 0, 5, 3, one, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "0 x 5 images");
    CHECK_EQ_INT(taml_cnn_features(fast, img, 1, 1, 1, 3, one, &err), 0); /* smaller than
                                                                           * min_input: resized */
    CHECK_EQ_INT(taml_cnn_features(fast, img, N + 1, H, W, 3, f1, &err), TAML_EINVAL);
    taml_cnn_free(fast);
    taml_cnn_free(ref);
    CHECK_EQ_INT(taml_cnn_new(&fast, g, &(taml_cnn_opts){.batch = 5000}, &err), TAML_EINVAL);
    free(f1);
    free(f2);
    free(one);
    free(w);
    free(json);
    taml_module_close(m);
}
