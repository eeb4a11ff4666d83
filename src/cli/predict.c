/* cli/predict.c - `taml predict`: labels (and probabilities) of new texts or
 * images from a model file written by `taml export` (nn/model.h). Lines are
 * read and scored in batches of the child's batch size, so the predictions
 * are bit for bit those of the child's own evaluation. A single model ranks
 * the classes by its logits; an ensemble by its mean probabilities. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/task.h"
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
    "                as images.u8 of a task directory), or an IDX file of them (as\n"
    "                MNIST's t10k-images-idx3-ubyte); either may be gzipped\n"
    "  --info        print what the model is (task, classes, config, provenance)\n";

typedef struct out_opts {
    int proba, top;
} out_opts;

/* One batch of a model's output: logits (a single model) or probabilities
 * (an ensemble), n rows of C. */
typedef struct scores {
    const float *logits;
    const double *proba;
} scores;

/* Row i's score of class j: what the classes are ranked by. */
static double score(const scores *sc, int32_t C, int32_t i, int32_t j)
{
    return sc->logits ? (double)sc->logits[(size_t)i * C + j] : sc->proba[(size_t)i * C + j];
}

static void print_rows(const taml_model_info *mi, const scores *sc, int32_t n, const out_opts *o,
                       double *proba, int32_t *order)
{
    int32_t C = mi->n_classes;
    for (int32_t i = 0; i < n; i++) {
        int32_t best;
        if (sc->logits) {
            best = taml_model_argmax(sc->logits + (size_t)i * C, C, proba);
        } else {
            memcpy(proba, sc->proba + (size_t)i * C, sizeof *proba * (size_t)C);
            best = taml_model_best_class(proba, C);
        }
        if (!o->proba && o->top <= 1) {
            puts(mi->class_names[best]);
            continue;
        }
        /* classes by score, best first (ties: lower index), so the first is the label */
        int32_t k = o->top > 0 ? (o->top < C ? o->top : C) : C;
        for (int32_t j = 0; j < C; j++) order[j] = j;
        for (int32_t a = 0; a < k; a++) {
            int32_t m = a;
            for (int32_t b = a + 1; b < C; b++) {
                double zb = score(sc, C, i, order[b]), zm = score(sc, C, i, order[m]);
                if (zb > zm || (zb == zm && order[b] < order[m])) m = b;
            }
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
    uint8_t *data = NULL;
    int32_t n;
    if (taml_task_read_images(path, mi->height, mi->width, mi->channels, &data, &n, &err))
        return taml_cli_fail(&err);
    size_t P = (size_t)mi->height * mi->width * mi->channels;
    int32_t C = mi->n_classes;
    float *logits = taml_malloc(sizeof *logits * (size_t)TAML_CHILD_BATCH * C);
    double *mean = taml_malloc(sizeof *mean * (size_t)TAML_CHILD_BATCH * C);
    int rc = 0;
    for (int32_t s = 0; s < n && !rc; s += TAML_CHILD_BATCH) {
        int32_t nb = n - s < TAML_CHILD_BATCH ? n - s : TAML_CHILD_BATCH;
        const uint8_t *px = data + (size_t)s * P;
        scores sc = {mi->ensemble ? NULL : logits, mi->ensemble ? mean : NULL};
        rc = mi->ensemble ? taml_model_proba_images(m, nb, px, mean, &err)
                          : taml_model_predict_images(m, nb, px, logits, &err);
        if (!rc) print_rows(mi, &sc, nb, o, proba, order);
    }
    free(logits);
    free(mean);
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
    double *mean = taml_malloc(sizeof *mean * (size_t)B * C);
    scores sc = {mi->ensemble ? NULL : logits, mi->ensemble ? mean : NULL};
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
        const char *const *texts = (const char *const *)lines;
        if (mi->ensemble ? taml_model_proba_texts(m, nb, texts, lens, mean, &err)
                         : taml_model_predict_texts(m, nb, texts, lens, logits, &err)) {
            status = taml_cli_fail(&err);
            break;
        }
        print_rows(mi, &sc, nb, o, proba, order);
    }
    for (int i = 0; i < B; i++) free(lines[i]);
    free(logits);
    free(mean);
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
        if (mi->ensemble)
            printf("ensemble    %d members, probabilities averaged with their weights\n"
                   "provenance  %s\n",
                   mi->n_members, mi->provenance_json);
        for (int32_t k = 0; k < mi->n_members; k++) {
            uint32_t w;
            const taml_model_info *ki = taml_model_info_get(taml_model_member(m, k, &w));
            if (mi->ensemble) printf("member %d of %d, weight %u:\n", (int)k + 1, (int)mi->n_members, w);
            if (!ki->image)
                printf("words       %d wide, %d embedding rows (%s)\n", ki->n_wide_words,
                       ki->n_emb_rows, ki->fine_tuned ? "fine-tuned" : "frozen");
            if (ki->n_gram_rows || ki->n_subword_rows)
                printf("n-grams     %lld hashed word and character n-gram rows, %d subword rows\n",
                       (long long)ki->n_gram_rows, ki->n_subword_rows);
            if (ki->image_module)
                printf("module      %s (its CNN is in the file: model file version %u)\n",
                       ki->image_module, ki->version);
            printf("config      %s\nprovenance  %s\n", ki->config_json, ki->provenance_json);
        }
        printf("tokeniser   rules version %u\n", mi->tokeniser_version);
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
