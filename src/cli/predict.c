/* cli/predict.c - `taml predict`: labels (and probabilities) of new texts or
 * images from a model file written by `taml export` (nn/model.h). Lines are
 * read and scored in batches of the child's batch size, so the predictions
 * are bit for bit those of the child's own evaluation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/tokenise.h"
#include "nn/blas.h"
#include "nn/child.h"
#include "nn/model.h"

static const char usage[] =
    "usage: taml predict MODEL.taml [--proba] [--top K] [--images FILE] [--info] < texts.txt\n"
    "  Reads one text per line (UTF-8; a CR before the LF and a leading byte-order\n"
    "  mark are dropped; the text is tokenised exactly as in training) and prints one\n"
    "  line per input line: its label. A line that is not UTF-8 stops the command\n"
    "  with its line number (exit 1) after the labels of the lines before it.\n"
    "  --top K       the K most probable labels, best first, TAB-separated (K in\n"
    "                1..1000000; more than the classes: all of them)\n"
    "  --proba       each label followed by TAB and its probability; with no --top,\n"
    "                all classes, best first\n"
    "  --images FILE an image model reads FILE instead of stdin: raw bytes, one image\n"
    "                after another (height x width x channels bytes each, row-major,\n"
    "                as images.u8 of a task directory)\n"
    "  --info        print what the model is (task, classes, config, provenance)\n";

typedef struct out_opts {
    int proba, top;
} out_opts;

static void print_rows(const taml_model_info *mi, const float *logits, int32_t n,
                       const out_opts *o, double *proba, int32_t *order)
{
    int32_t C = mi->n_classes;
    for (int32_t i = 0; i < n; i++) {
        int32_t best = taml_model_argmax(logits + (size_t)i * C, C, proba);
        if (!o->proba && o->top <= 1) {
            puts(mi->class_names[best]);
            continue;
        }
        /* classes by logit, best first (ties: lower index), so the first is the label */
        const float *z = logits + (size_t)i * C;
        int32_t k = o->top > 0 ? (o->top < C ? o->top : C) : C;
        for (int32_t j = 0; j < C; j++) order[j] = j;
        for (int32_t a = 0; a < k; a++) {
            int32_t m = a;
            for (int32_t b = a + 1; b < C; b++)
                if (z[order[b]] > z[order[m]] || (z[order[b]] == z[order[m]] && order[b] < order[m]))
                    m = b;
            int32_t t = order[a];
            order[a] = order[m];
            order[m] = t;
        }
        TAML_ASSERT(order[0] == best);
        for (int32_t a = 0; a < k; a++) {
            if (a) putchar('\t');
            fputs(mi->class_names[order[a]], stdout);
            if (o->proba) printf("\t%.6g", proba[order[a]]);
        }
        putchar('\n');
    }
}

static int predict_images(taml_model *m, const char *path, const out_opts *o, double *proba,
                          int32_t *order)
{
    const taml_model_info *mi = taml_model_info_get(m);
    taml_err err;
    taml_err_clear(&err);
    char *data = NULL;
    size_t size = 0;
    if (taml_read_file(path, &data, &size, &err)) return taml_cli_fail(&err);
    size_t P = (size_t)mi->height * mi->width * mi->channels;
    if (size == 0) {
        fprintf(stderr, "taml predict: %s: empty; expected %dx%dx%d images (%zu bytes each)\n", path,
                mi->height, mi->width, mi->channels, P);
        free(data);
        return 1;
    }
    if (size % P) {
        fprintf(stderr,
                "taml predict: %s: %zu bytes is not a whole number of %dx%dx%d images (%zu bytes "
                "each)\n",
                path, size, mi->height, mi->width, mi->channels, P);
        free(data);
        return 1;
    }
    int32_t n = (int32_t)(size / P), C = mi->n_classes;
    float *logits = taml_malloc(sizeof *logits * (size_t)TAML_CHILD_BATCH * C);
    int rc = 0;
    for (int32_t s = 0; s < n && !rc; s += TAML_CHILD_BATCH) {
        int32_t nb = n - s < TAML_CHILD_BATCH ? n - s : TAML_CHILD_BATCH;
        rc = taml_model_predict_images(m, nb, (const uint8_t *)data + (size_t)s * P, logits, &err);
        if (!rc) print_rows(mi, logits, nb, o, proba, order);
    }
    free(logits);
    free(data);
    return rc ? taml_cli_fail(&err) : 0;
}

static int predict_texts(taml_model *m, const out_opts *o, double *proba, int32_t *order)
{
    const taml_model_info *mi = taml_model_info_get(m);
    int32_t C = mi->n_classes;
    enum { B = TAML_CHILD_BATCH };
    char *lines[B] = {0};
    size_t caps[B] = {0}, lens[B];
    float *logits = taml_malloc(sizeof *logits * (size_t)B * C);
    taml_err err;
    taml_err_clear(&err);
    long line_no = 0;
    int status = 0, done = 0;
    while (!done && !status) {
        int nb = 0;
        while (nb < B) {
            ssize_t got = getline(&lines[nb], &caps[nb], stdin);
            if (got < 0) {
                if (ferror(stdin)) {
                    fprintf(stderr, "taml predict: reading stdin: %s\n", strerror(errno));
                    status = 1;
                }
                done = 1;
                break;
            }
            line_no++;
            char *s = lines[nb];
            size_t len = (size_t)got;
            if (len && s[len - 1] == '\n') len--;
            if (len && s[len - 1] == '\r') len--;
            if (line_no == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
                memmove(s, s + 3, len - 3);
                len -= 3;
            }
            size_t bad = taml_utf8_check(s, len);
            if (bad < len) {
                fprintf(stderr,
                        "taml predict: stdin line %ld: invalid UTF-8 at byte %zu; expected one "
                        "UTF-8 text per line\n",
                        line_no, bad + 1);
                status = 1;
                break;
            }
            lens[nb++] = len;
        }
        if (nb == 0) break;
        if (taml_model_predict_texts(m, nb, (const char *const *)lines, lens, logits, &err)) {
            status = taml_cli_fail(&err);
            break;
        }
        print_rows(mi, logits, nb, o, proba, order);
    }
    for (int i = 0; i < B; i++) free(lines[i]);
    free(logits);
    if (fflush(stdout) != 0 && !status) {
        fprintf(stderr, "taml predict: writing the output: %s\n", strerror(errno));
        status = 1;
    }
    return status;
}

/* --top: more than the model's classes means all of them. */
#define TOP_MAX 1000000

enum { O_PROBA = 256, O_TOP, O_IMAGES, O_INFO };

static const struct option options[] = {
    {"proba", no_argument, NULL, O_PROBA},
    {"top", required_argument, NULL, O_TOP},
    {"images", required_argument, NULL, O_IMAGES},
    {"info", no_argument, NULL, O_INFO},
    TAML_ARGS_HELP,
    {0},
};

int taml_cmd_predict(const taml_cli *cli, int argc, char **argv)
{
    const char *model_path = NULL, *images = NULL;
    out_opts o = {0, 0};
    int info = 0;
    int64_t top;
    taml_args a;
    taml_args_init(&a, "predict", usage, argc, argv, "", options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_PROBA) o.proba = 1;
        else if (c == O_INFO) info = 1;
        else if (c == O_IMAGES) images = a.arg;
        else if (c == O_TOP && taml_args_int(&a, 1, TOP_MAX, &top)) return a.status;
        else if (c == O_TOP) o.top = (int)top;
        else if (c == TAML_ARGS_POSITIONAL && model_path) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) model_path = a.arg;
    }
    if (!model_path) return taml_args_required(&a, "MODEL.taml");
    taml_blas_init(&cli->env.blas);
    taml_err err;
    taml_err_clear(&err);
    taml_model *m = NULL;
    if (taml_model_load(&m, model_path, &err)) return taml_cli_fail(&err);
    const taml_model_info *mi = taml_model_info_get(m);
    int status;
    if (info) {
        printf("task        %s (%s, %d classes:", mi->task_name, mi->image ? "image" : "text",
               mi->n_classes);
        for (int32_t k = 0; k < mi->n_classes && k < 20; k++) printf(" %s", mi->class_names[k]);
        printf("%s)\n", mi->n_classes > 20 ? " ..." : "");
        if (mi->image) printf("image       %dx%dx%d\n", mi->height, mi->width, mi->channels);
        if (mi->image_module)
            printf("module      %s (its CNN is in the file: model file version %u)\n",
                   mi->image_module, mi->version);
        else
            printf("words       %d wide, %d embedding rows (%s)\n", mi->n_wide_words, mi->n_emb_rows,
                   mi->fine_tuned ? "fine-tuned" : "frozen");
        printf("config      %s\nprovenance  %s\ntokeniser   rules version %u\n", mi->config_json,
               mi->provenance_json, mi->tokeniser_version);
        status = 0;
    } else {
        double *proba = taml_malloc(sizeof *proba * (size_t)mi->n_classes);
        int32_t *order = taml_malloc(sizeof *order * (size_t)mi->n_classes);
        /* the model decides which input it reads: a usage error, as the
         * argument layer's (message, usage, exit 2) */
        if (mi->image && !images)
            status = taml_args_error(&a, "%s is an image model (%dx%dx%d): give --images FILE",
                                     model_path, mi->height, mi->width, mi->channels);
        else if (!mi->image && images)
            status = taml_args_error(&a, "%s is a text model: it reads texts on stdin, not --images",
                                     model_path);
        else status = images ? predict_images(m, images, &o, proba, order)
                               : predict_texts(m, &o, proba, order);
        free(proba);
        free(order);
    }
    taml_model_free(m);
    return status;
}
