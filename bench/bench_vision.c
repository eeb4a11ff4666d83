/* bench/bench_vision.c - the speed of image-module feature extraction (nn/cnn.h)
 * on one thread, for bench/bench_vision.py (`make bench-vision`), which runs
 * it beside PyTorch and TF.js and prints the table.
 *
 *   bench_vision features MODULE.tamlm [--images N] [--batch B] [--size HxWxC]
 *                [--input IMAGES.u8] [--dump FEATURES.f32]
 *       features of N images (default 28x28x1, as fashion-mnist's: random
 *       bytes, or the first images of --input, used in turn) in batches of B;
 *       --per-op lists every op's time on stderr; --dump writes the features of the first batch (float32) for the
 *       driver to compare with PyTorch's; prints one JSON line: images/s by the wall clock and by
 *       the thread's CPU time, then (a second pass, every op timed by the
 *       thread's CPU clock) per op type (1x1 conv, other conv, depthwise,
 *       pooling, the rest, the input pipeline and cut pooling) the seconds
 *       and GFLOP/s (2 x multiply-adds of the convolutions).
 *   bench_vision sgemm
 *       single-thread SGEMM GFLOP/s of taml_blas_sgemm (the peak the 1x1
 *       convolutions are held against): a large square product and the
 *       shapes of MobileNetV2's 1x1 convolutions.
 * A benchmark: it prints figures and never fails on a timing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "core/util.h"
#include "embed/module.h"
#include "nn/blas.h"
#include "nn/cnn.h"
#include "nn/cnn_kernels.h"

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum { T_CONV1, T_CONVK, T_DW, T_POOL, T_OTHER, N_TYPES };
static const char *const type_names[N_TYPES] = {"conv1x1", "conv", "dwconv", "pool", "other"};

static int type_of(const taml_image_op *op)
{
    switch (op->kind) {
    case TAML_IMAGE_CONV:
        return op->kh == 1 && op->kw == 1 && op->sh == 1 && op->sw == 1 && !op->pad[0] &&
                       !op->pad[1] && !op->pad[2] && !op->pad[3]
                   ? T_CONV1
                   : T_CONVK;
    case TAML_IMAGE_DWCONV: return T_DW;
    case TAML_IMAGE_MAXPOOL:
    case TAML_IMAGE_AVGPOOL: return T_POOL;
    default: return T_OTHER;
    }
}

static int features(int argc, char **argv)
{
    const char *path = NULL, *input = NULL, *dump = NULL;
    int per_op = 0;
    int images = 64, batch = 16, h = 28, w = 28, c = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--images") && i + 1 < argc) images = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--input") && i + 1 < argc) input = argv[++i];
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else if (!strcmp(argv[i], "--per-op")) per_op = 1;
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%dx%d", &h, &w, &c) != 3) return 2;
        } else path = argv[i];
    }
    if (!path || images < 1 || batch < 1) {
        fprintf(stderr, "usage: bench_vision features MODULE.tamlm [--images N] [--batch B]\n");
        return 2;
    }
    taml_err err;
    taml_module *m;
    if (taml_module_open(&m, path, NULL, &err)) {
        fprintf(stderr, "bench_vision: %s\n", err.msg);
        return 1;
    }
    const taml_image_graph *g = taml_module_image(m);
    if (!g) {
        fprintf(stderr, "bench_vision: %s is not an image module\n", path);
        return 1;
    }
    taml_cnn *r;
    taml_cnn_opts o = {.batch = batch};
    if (taml_cnn_new(&r, g, &o, &err)) {
        fprintf(stderr, "bench_vision: %s\n", err.msg);
        return 1;
    }
    size_t img = (size_t)h * w * c;
    uint8_t *px = taml_malloc((size_t)batch * img);
    taml_rng rng;
    taml_rng_seed(&rng, 1);
    for (size_t i = 0; i < (size_t)batch * img; i++) px[i] = (uint8_t)taml_rng_below(&rng, 256);
    if (input) {
        char *data = NULL;
        size_t size = 0;
        if (taml_read_file(input, &data, &size, &err) || size < img) {
            fprintf(stderr, "bench_vision: %s: %s\n", input, size < img ? "too short" : err.msg);
            return 1;
        }
        for (size_t i = 0; i < (size_t)batch * img; i++) px[i] = (uint8_t)data[i % (size / img * img)];
        free(data);
    }
    float *out = taml_malloc((size_t)batch * g->dim * sizeof *out);
    /* warm-up: one batch (page faults, the BLAS's first call) */
    int first = batch < images ? batch : images;
    if (taml_cnn_features(r, px, first, h, w, c, out, &err)) {
        fprintf(stderr, "bench_vision: %s\n", err.msg);
        return 1;
    }
    if (dump && taml_write_file_atomic(dump, out, (size_t)first * g->dim * sizeof *out, &err)) {
        fprintf(stderr, "bench_vision: %s\n", err.msg);
        return 1;
    }
    double t0 = taml_now(), c0 = cpu_now();
    for (int done = 0; done < images;) {
        int n = images - done < batch ? images - done : batch;
        taml_cnn_features(r, px, n, h, w, c, out, &err);
        done += n;
    }
    double wall = taml_now() - t0, cpu = cpu_now() - c0;
    /* a second pass with every op timed (CPU time; the timer's own cost is
     * kept out of the throughput above) */
    double *sec = taml_calloc((size_t)g->n_ops, sizeof *sec);
    taml_cnn_profile(r, sec);
    double cp0 = cpu_now();
    for (int done = 0; done < images;) {
        int n = images - done < batch ? images - done : batch;
        taml_cnn_features(r, px, n, h, w, c, out, &err);
        done += n;
    }
    double cpu_profiled = cpu_now() - cp0;
    double ts[N_TYPES] = {0}, fl[N_TYPES] = {0}, ops_s = 0;
    for (int32_t k = 0; k < g->n_ops; k++) {
        if (!g->ops[k].needed) continue;
        int t = type_of(&g->ops[k]);
        ts[t] += sec[k];
        ops_s += sec[k];
        fl[t] += taml_image_op_mflops(&g->ops[k]) * 1e6 * images;
        if (per_op) {
            const taml_image_op *op = &g->ops[k];
            taml_image_shape x = taml_image_graph_shape(g, op->in[0]);
            fprintf(stderr, "%3d %-28.28s %-8s %2dx%-2d s%d %4dx%-4dx%-5d -> %4dx%-4dx%-5d %8.1f us %6.1f GFLOP/s\n",
                    (int)k, op->name, taml_image_op_name(op->kind), (int)op->kh, (int)op->kw,
                    (int)op->sh, (int)x.h, (int)x.w, (int)x.c, (int)op->out.h, (int)op->out.w,
                    (int)op->out.c, 1e6 * sec[k] / images,
                    sec[k] > 0 ? taml_image_op_mflops(op) * 1e6 * images / sec[k] / 1e9 : 0.0);
        }
    }
    printf("{\"module\": \"%s\", \"images\": %d, \"batch\": %d, \"wall_s\": %.6f, \"cpu_s\": %.6f, "
           "\"images_per_s\": %.3f, \"images_per_cpu_s\": %.3f, \"profiled_cpu_s\": %.6f, "
           "\"mflops\": %.3f, "
           "\"blas\": \"%s\", \"dw_isa\": \"%s\", \"scratch_mb\": %.1f, \"types\": {",
           taml_module_name(m), images, batch, wall, cpu, images / wall, images / cpu,
           cpu_profiled, g->mflops,
           taml_blas_describe(), taml_cnn_dwconv2d_isa(),
           (double)taml_cnn_scratch_floats(r) * 4 / 1e6);
    for (int t = 0; t < N_TYPES; t++)
        printf("\"%s\": {\"seconds\": %.6f, \"gflops\": %.3f}, ", type_names[t], ts[t],
               ts[t] > 0 ? fl[t] / ts[t] / 1e9 : 0.0);
    printf("\"input_and_cut\": {\"seconds\": %.6f}}}\n", cpu_profiled - ops_s);
    free(sec);
    free(px);
    free(out);
    taml_cnn_free(r);
    taml_module_close(m);
    return 0;
}

/* GFLOP/s of (M, K) x (K, N), best of a few runs of at least 0.2 s. */
static double sgemm_gflops(int M, int N, int K)
{
    float *a = taml_aligned((size_t)M * K * 4), *b = taml_aligned((size_t)K * N * 4);
    float *c = taml_aligned((size_t)M * N * 4);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 5) * 0.1f;
    taml_blas_sgemm(0, 0, M, N, K, 1, a, K, b, N, 0, c, N);
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        int runs = 0;
        double t0 = cpu_now(), t;
        do {
            taml_blas_sgemm(0, 0, M, N, K, 1, a, K, b, N, 0, c, N);
            runs++;
        } while ((t = cpu_now() - t0) < 0.2);
        double gf = 2.0 * M * N * K * runs / t / 1e9;
        if (gf > best) best = gf;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static int sgemm(void)
{
    static const int shapes[][3] = {{1024, 1024, 1024}, {2304, 96, 16}, {2304, 144, 24},
                                    {576, 192, 32},     {144, 384, 64}, {144, 576, 96},
                                    {288, 576, 96},     {288, 96, 576}};
    printf("{\"blas\": \"%s\", \"shapes\": [", taml_blas_describe());
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        printf("%s{\"M\": %d, \"N\": %d, \"K\": %d, \"gflops\": %.2f}", i ? ", " : "",
               shapes[i][0], shapes[i][1], shapes[i][2],
               sgemm_gflops(shapes[i][0], shapes[i][1], shapes[i][2]));
    printf("]}\n");
    return 0;
}

int main(int argc, char **argv)
{
    taml_blas_init(NULL);
    if (argc >= 2 && !strcmp(argv[1], "features")) return features(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "sgemm")) return sgemm();
    fprintf(stderr, "usage: bench_vision features MODULE.tamlm [...] | bench_vision sgemm\n");
    return 2;
}
