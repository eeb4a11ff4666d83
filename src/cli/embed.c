/* cli/embed.c - `taml embed ...`: import word vectors as modules, inspect the
 * module library, check a module against a task, tokenise corpora for
 * training, and build the default library (docs/modules.md). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/text.h"
#include "core/strmap.h"
#include "core/util.h"
#include "data/task.h"
#include "data/tokenise.h"
#include "embed/import.h"
#include "embed/module.h"
#include "nn/image_features.h"
#include "core/bytes.h"

static const char usage_text[] =
    "usage: taml embed import FILE --format word2vec-text|word2vec-bin|glove|fasttext-vec|vocab-f32\n"
    "                         --name NAME --language LANG [--corpus TEXT] [--tokens N]\n"
    "                         [--algorithm TEXT] [--source TEXT] [--license TEXT]\n"
    "                         [--matrix FILE.f32] [--dim D] [--max-words N] [--meta KEY=VALUE]...\n"
    "                         [-o PATH]   (default: <library>/NAME.tamlm)\n"
    "       taml embed import cnn.json --format cnn --name NAME [--matrix weights.f32]\n"
    "                         [--source TEXT] [--license TEXT] [--meta KEY=VALUE]... [-o PATH]\n"
    "                         (an image module: a CNN's graph and weights, docs/modules.md)\n"
    "       taml embed list [--dir DIR]\n"
    "       taml embed info MODULE\n"
    "       taml embed neighbours MODULE WORD [-k K]\n"
    "       taml embed coverage MODULE --task DIR\n"
    "       taml embed features MODULE|pixels --task DIR -o FEATURES.npy [--labels LABELS.npy]\n"
    "                         [--threads N] [--no-cache]   (an image task's features, docs/cli.md)\n"
    "       taml embed tokenise [FILE...]      (one line of tokens per input line, to stdout)\n"
    "       taml embed build-defaults [--dir DIR] [--only NAME[,NAME...]] [--force]\n"
    "MODULE is a name in the library ($TAML_MODULES, else <taml>/data/modules), a path to a\n"
    ".tamlm file, or random-D (the built-in baseline without pre-training).\n"
    "N (--tokens, --max-words: 0 = all) is in 0..9223372036854775807, D in 1..1048576,\n"
    "K in 1..2147483647 (more than the module's words: all of them).\n";

/* The rules of the numeric options: counts are int64; a module's dimension
 * is at most 2^20 (the module reader's limit, embed/module.c). */
#define DIM_MAX (1 << 20)

enum {
    O_FORMAT = 256, O_NAME, O_LANGUAGE, O_CORPUS, O_TOKENS, O_ALGORITHM, O_SOURCE, O_LICENSE,
    O_MATRIX, O_DIM, O_MAX_WORDS, O_META, O_DIR, O_TASK, O_LABELS, O_THREADS, O_NO_CACHE
};

static const struct option import_options[] = {
    {"format", required_argument, NULL, O_FORMAT},
    {"name", required_argument, NULL, O_NAME},
    {"language", required_argument, NULL, O_LANGUAGE},
    {"corpus", required_argument, NULL, O_CORPUS},
    {"tokens", required_argument, NULL, O_TOKENS},
    {"algorithm", required_argument, NULL, O_ALGORITHM},
    {"source", required_argument, NULL, O_SOURCE},
    {"license", required_argument, NULL, O_LICENSE},
    {"matrix", required_argument, NULL, O_MATRIX},
    {"dim", required_argument, NULL, O_DIM},
    {"max-words", required_argument, NULL, O_MAX_WORDS},
    {"meta", required_argument, NULL, O_META},
    TAML_ARGS_HELP,
    {0},
};

/* -o PATH, else <library>/NAME.tamlm (the library made if missing); NULL
 * with err when it cannot be made. */
static char *output_path(const taml_cli *cli, const char *out, const char *name, taml_err *err)
{
    if (out) return taml_strdup(out);
    char *dir = taml_cli_module_dir(cli, NULL);
    if (taml_mkdirs(dir, err) < 0) {
        free(dir);
        return NULL;
    }
    char *base = taml_asprintf("%s.tamlm", name);
    char *path = taml_path_join(dir, base);
    free(base);
    free(dir);
    return path;
}

/* `--format cnn`: an image module from cnn.json + weights.f32. */
static int import_cnn(const taml_cli *cli, const char *file, const char *out,
                      const taml_module_info *info, const taml_import_opts *vo)
{
    taml_cnn_import_opts o = {.name = info->name, .matrix_path = vo->matrix_path,
                              .source = info->source, .license = info->license,
                              .meta = vo->meta, .n_meta = vo->n_meta};
    taml_err err;
    char *path = output_path(cli, out, info->name, &err);
    if (!path) return taml_cli_fail(&err);
    taml_cnn_import_stats st;
    int rc = taml_module_import_cnn(file, &o, path, &st, &err);
    if (rc < 0) {
        free(path);
        return taml_cli_fail(&err);
    }
    printf("%s: image module, %d ops at %d x %d, %d features, %.1f MFLOPs per image, %" PRId64
           " weights, from %s (cnn) in %.2fs\n",
           path, (int)st.ops, (int)st.input_size, (int)st.input_size, (int)st.dim, st.mflops,
           st.weights, file, st.seconds);
    free(path);
    return 0;
}

/* meta: room for argc "key=value" strings (freed by the caller). */
static int import_args(const taml_cli *cli, int argc, char **argv, const char **meta)
{
    const char *file = NULL, *format = NULL, *out = NULL;
    taml_module_info info = {0};
    taml_import_opts o = {0};
    o.meta = meta;
    int64_t n;
    const char *text_only = NULL; /* an option --format cnn does not take */
    taml_args a;
    taml_args_init(&a, "embed import", usage_text, argc, argv, "o:", import_options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        switch (c) {
        case TAML_ARGS_EXIT:
            return a.status;
        case TAML_ARGS_POSITIONAL:
            if (file) return taml_args_stray(&a);
            file = a.arg;
            break;
        case O_FORMAT:
            format = a.arg;
            break;
        case O_NAME:
            info.name = a.arg;
            break;
        case O_LANGUAGE:
            info.language = a.arg;
            text_only = "--language";
            break;
        case O_CORPUS:
            info.corpus = a.arg;
            text_only = "--corpus";
            break;
        case O_ALGORITHM:
            info.algorithm = a.arg;
            text_only = "--algorithm";
            break;
        case O_SOURCE:
            info.source = a.arg;
            break;
        case O_LICENSE:
            info.license = a.arg;
            break;
        case O_MATRIX:
            o.matrix_path = a.arg;
            break;
        case 'o':
            out = a.arg;
            break;
        case O_META:
            meta[o.n_meta++] = a.arg;
            break;
        case O_TOKENS:
            if (taml_args_int(&a, 0, INT64_MAX, &n)) return a.status;
            info.corpus_tokens = n;
            text_only = "--tokens";
            break;
        case O_MAX_WORDS:
            if (taml_args_int(&a, 0, INT64_MAX, &n)) return a.status;
            o.max_words = n;
            text_only = "--max-words";
            break;
        case O_DIM:
            if (taml_args_int(&a, 1, DIM_MAX, &n)) return a.status;
            o.dim = (int32_t)n;
            text_only = "--dim";
            break;
        }
    }
    if (!file) return taml_args_required(&a, "FILE");
    if (!format) return taml_args_required(&a, "--format");
    if (!info.name || !*info.name) return taml_args_required(&a, "--name");
    if (!strcmp(format, "cnn")) {
        if (text_only)
            return taml_args_error(&a, "%s is for word vectors, not for --format cnn", text_only);
        if (taml_module_parse_random(info.name, NULL) || strchr(info.name, '/'))
            return taml_args_error(&a, "--name: '%s' cannot be a module name", info.name);
        return import_cnn(cli, file, out, &info, &o);
    }
    if (!info.language) return taml_args_required(&a, "--language");
    if (taml_module_parse_random(info.name, NULL) || strchr(info.name, '/'))
        return taml_args_error(&a, "--name: '%s' cannot be a module name", info.name);
    taml_err err;
    if (taml_vec_format_parse(format, &o.format, &err) < 0)
        return taml_args_error(&a, "--format: %s", err.msg);
    char *path = output_path(cli, out, info.name, &err);
    if (!path) return taml_cli_fail(&err);
    taml_import_stats st;
    int rc = taml_module_import(file, &o, &info, path, &st, &err);
    if (rc < 0) {
        free(path);
        return taml_cli_fail(&err);
    }
    int64_t words = st.exact + st.mapped;
    printf("%s: %" PRId64 " %s x %d from %s (%s) in %.2fs\n", path, words,
           taml_text_plural(words, "word", "words"), (int)st.dim, file, format, st.seconds);
    printf("  read %" PRId64 "; kept %" PRId64 " as is, %" PRId64
           " after dropping separators; dropped %" PRId64 " not one token, %" PRId64
           " %s after lower-casing\n",
           st.read, st.exact, st.mapped, st.not_one_token, st.duplicate,
           taml_text_plural(st.duplicate, "duplicate", "duplicates"));
    free(path);
    return 0;
}

static int cmd_import(const taml_cli *cli, int argc, char **argv)
{
    const char **meta = taml_calloc((size_t)argc, sizeof *meta);
    int rc = import_args(cli, argc, argv, meta);
    free(meta);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct option list_options[] = {
    {"dir", required_argument, NULL, O_DIR},
    TAML_ARGS_HELP,
    {0},
};

static int cmd_list(const taml_cli *cli, int argc, char **argv)
{
    const char *given = NULL;
    taml_args a;
    taml_args_init(&a, "embed list", usage_text, argc, argv, "", list_options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_DIR) given = a.arg;
        else if (c == TAML_ARGS_POSITIONAL) return taml_args_stray(&a);
    }
    char *dir = taml_cli_module_dir(cli, given);
    char **names = NULL;
    size_t n = 0;
    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) { /* none at all is an empty library */
        fprintf(stderr, "taml: %s: not a directory; expected the module library (NAME.tamlm files)\n",
                dir);
        free(dir);
        return 1;
    }
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!ends_with(e->d_name, ".tamlm")) continue;
            names = taml_realloc(names, (n + 1) * sizeof *names);
            names[n++] = taml_strdup(e->d_name);
        }
        closedir(d);
    }
    if (n) qsort(names, n, sizeof *names, cmp_str);
    printf("%-16s %-4s %5s %9s %14s  %-22s %s\n", "name", "lang", "dim", "words", "corpus tokens",
           "algorithm", "corpus");
    int bad = 0;
    char **images = NULL; /* the image modules' rows, printed in a table of their own */
    size_t n_images = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = taml_path_join(dir, names[i]);
        taml_module *m;
        taml_err err;
        if (taml_module_open(&m, path, NULL, &err) < 0) {
            printf("%-16.*s DAMAGED: %s\n", (int)(strlen(names[i]) - 6), names[i], err.msg);
            bad = 1;
        } else if (taml_module_kind(m) == TAML_MODULE_IMAGE) {
            const taml_image_graph *g = taml_module_image(m);
            char pool[32];
            images = taml_realloc(images, (n_images + 1) * sizeof *images);
            images[n_images++] = taml_asprintf(
                "%-16s %5d %-8s %6d %9.1f  %s (%s)", taml_module_name(m), (int)g->input_size,
                taml_image_pooling_describe(g, pool, sizeof pool), (int)taml_module_dim(m),
                g->mflops, taml_module_meta(m, "network"), taml_module_meta(m, "cut"));
            taml_module_close(m);
        } else {
            printf("%-16s %-4s %5d %9" PRId64 " %14" PRId64 "  %-22s %s\n", taml_module_name(m),
                   taml_module_language(m), (int)taml_module_dim(m), taml_module_rows(m),
                   taml_module_corpus_tokens(m), taml_module_meta(m, "algorithm"),
                   taml_module_meta(m, "corpus"));
            taml_module_close(m);
        }
        free(path);
        free(names[i]);
    }
    printf("%-16s %-4s %5s %9s %14s  %-22s %s\n", "random-D", "any", "D", "all", "0",
           "none (built in)", "N(0, 1/D) vector seeded from the word's bytes");
    if (n_images) {
        printf("\nimage modules (CNN feature extractors):\n");
        printf("%-16s %5s %-8s %6s %9s  %s\n", "name", "input", "pooling", "dim",
               "MFLOPs", "network (cut layer)");
        for (size_t i = 0; i < n_images; i++) {
            printf("%s\n", images[i]);
            free(images[i]);
        }
    }
    free(images);
    if (!n) fprintf(stderr, "(no modules in %s: `taml embed build-defaults` builds them)\n", dir);
    free(names);
    free(dir);
    return bad;
}

static const struct option help_only[] = {TAML_ARGS_HELP, {0}};

/* The subcommands that take only positional arguments: fills args[0..n) and
 * returns 0 when there are at least min and at most n of them, else the
 * exit status (help: 0 with *done). */
static int positional_args(const char *cmd, int argc, char **argv, const char **args, int min,
                           int n, const char *const *names, int *done)
{
    taml_args a;
    taml_args_init(&a, cmd, usage_text, argc, argv, "", help_only);
    int got = 0;
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) {
            *done = 1;
            return a.status;
        }
        if (got == n) return taml_args_stray(&a);
        args[got++] = a.arg;
    }
    return got < min ? taml_args_required(&a, names[got]) : 0;
}

/* Opens the module given as a name in the library, a path or random-D. */
static int open_module(const taml_cli *cli, taml_module **m, const char *name, taml_err *err)
{
    char *library = taml_cli_module_dir(cli, NULL);
    int rc = taml_module_open(m, name, library, err);
    free(library);
    return rc;
}

/* `embed info` of an image module: the graph's summary, cost by op type,
 * then the metadata. */
static void info_image(const taml_module *m, double open_seconds)
{
    const taml_image_graph *g = taml_module_image(m);
    char pool[32];
    taml_image_shape cut = taml_image_graph_shape(g, g->output);
    printf("name            %s\n", taml_module_name(m));
    printf("path            %s\n", taml_module_path(m));
    printf("kind            image (CNN feature extractor)\n");
    printf("input           %d x %d x 3 (task images resized to it, grey copied to RGB; the "
           "graph runs from %d x %d)\n",
           (int)g->input_size, (int)g->input_size, (int)g->min_input, (int)g->min_input);
    printf("input scaling   x * (%g, %g, %g) + (%g, %g, %g)\n", (double)g->scale[0],
           (double)g->scale[1], (double)g->scale[2], (double)g->shift[0], (double)g->shift[1],
           (double)g->shift[2]);
    printf("cut             tensor %d (%s), %d x %d x %d\n", (int)g->output,
           g->ops[g->output - 1].name, (int)cut.h, (int)cut.w, (int)cut.c);
    printf("pooling         %s\n", taml_image_pooling_describe(g, pool, sizeof pool));
    printf("dimension       %d\n", (int)taml_module_dim(m));
    printf("cost            %.1f MFLOPs per image (2 x multiply-adds)\n", g->mflops);
    int count[TAML_IMAGE_N_OPS] = {0}, run = 0;
    double mflops[TAML_IMAGE_N_OPS] = {0};
    for (int32_t k = 0; k < g->n_ops; k++) {
        const taml_image_op *op = &g->ops[k];
        if (!op->needed) continue;
        run++;
        count[op->kind]++;
        mflops[op->kind] += taml_image_op_mflops(op);
    }
    printf("ops             %d run of %d in the graph:", run, (int)g->n_ops);
    for (int i = 0; i < TAML_IMAGE_N_OPS; i++) {
        if (!count[i]) continue;
        printf(" %d %s", count[i], taml_image_op_name((taml_image_op_kind)i));
        if (mflops[i] > 0) printf(" (%.1f MFLOPs)", mflops[i]);
    }
    printf("\nweights         %lld floats\n", (long long)g->n_weights);
    for (size_t i = 0; i < taml_module_meta_count(m); i++) {
        const char *k, *v;
        taml_module_meta_at(m, i, &k, &v);
        if (strcmp(k, "name") && strcmp(k, "kind")) printf("%-15s %s\n", k, v);
    }
    struct stat st;
    if (stat(taml_module_path(m), &st) == 0) printf("file bytes      %lld\n", (long long)st.st_size);
    printf("open seconds    %.3f (map + checksum + graph check)\n", open_seconds);
}

static int cmd_info(const taml_cli *cli, int argc, char **argv)
{
    const char *name = NULL;
    static const char *const what[] = {"MODULE"};
    int done = 0, rc = positional_args("embed info", argc, argv, &name, 1, 1, what, &done);
    if (rc || done) return rc;
    taml_module *m;
    taml_err err;
    double t0 = taml_now();
    if (open_module(cli, &m, name, &err) < 0) return taml_cli_fail(&err);
    double t = taml_now() - t0;
    if (taml_module_kind(m) == TAML_MODULE_IMAGE) {
        info_image(m, t);
        taml_module_close(m);
        return 0;
    }
    printf("name            %s\n", taml_module_name(m));
    printf("path            %s\n", taml_module_is_random(m) ? "(built in)" : taml_module_path(m));
    printf("dimension       %d\n", (int)taml_module_dim(m));
    printf("words           %" PRId64 "%s\n", taml_module_rows(m),
           taml_module_is_random(m) ? " (knows every word)" : "");
    for (size_t i = 0; i < taml_module_meta_count(m); i++) {
        const char *k, *v;
        taml_module_meta_at(m, i, &k, &v);
        if (strcmp(k, "name")) printf("%-15s %s\n", k, v);
    }
    if (!taml_module_is_random(m)) {
        struct stat st;
        if (stat(taml_module_path(m), &st) == 0)
            printf("file bytes      %lld\n", (long long)st.st_size);
        printf("open seconds    %.3f (map + checksum)\n", t);
        int64_t show = taml_module_rows(m) < 10 ? taml_module_rows(m) : 10;
        printf("first words    ");
        for (int64_t r = 0; r < show; r++) printf(" %s", taml_module_word(m, r));
        printf("\n");
    }
    taml_module_close(m);
    return 0;
}

/* The word as a task token: the tokeniser's single token of it. */
typedef struct one_token {
    char buf[1024];
    size_t len;
    int n;
} one_token;

static void keep_first(const char *tok, size_t len, void *ctx)
{
    one_token *o = ctx;
    if (o->n++ == 0 && len < sizeof o->buf) {
        memcpy(o->buf, tok, len);
        o->len = len;
    }
}

static int cmd_neighbours(const taml_cli *cli, int argc, char **argv)
{
    const char *name = NULL, *word = NULL;
    int64_t k = 10;
    taml_args a;
    taml_args_init(&a, "embed neighbours", usage_text, argc, argv, "k:", help_only);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        /* a module has at most 2^31 - 1 rows (module.c); more is all of them */
        if (c == 'k' && taml_args_int(&a, 1, INT32_MAX, &k)) return a.status;
        else if (c == TAML_ARGS_POSITIONAL && !name) name = a.arg;
        else if (c == TAML_ARGS_POSITIONAL && !word) word = a.arg;
        else if (c == TAML_ARGS_POSITIONAL) return taml_args_stray(&a);
    }
    if (!name) return taml_args_required(&a, "MODULE");
    if (!word) return taml_args_required(&a, "WORD");
    one_token t = {.n = 0};
    taml_tokenise(word, strlen(word), keep_first, &t);
    if (t.n != 1) /* a bad argument: a usage error */
        return taml_args_error(&a, "WORD: '%s' is %d %s for the tokeniser, not one", word, t.n,
                               taml_text_plural(t.n, "token", "tokens"));
    taml_module *m;
    taml_err err;
    if (open_module(cli, &m, name, &err) < 0) return taml_cli_fail(&err);
    int rc = 1;
    int64_t rows = taml_module_rows(m), q = taml_module_find(m, t.buf, t.len);
    int32_t dim = taml_module_dim(m);
    const float *qv = NULL; /* all before the first goto out */
    double qn = 0;
    int64_t *best = NULL, have = 0;
    double *sim = NULL;
    if (taml_module_is_random(m)) {
        fprintf(stderr, "taml: %s has no vocabulary to search\n", taml_module_name(m));
        goto out;
    }
    if (q < 0) {
        fprintf(stderr, "taml: %s does not know '%.*s'\n", taml_module_name(m), (int)t.len, t.buf);
        goto out;
    }
    if (k > rows - 1) k = rows - 1;
    qv = taml_module_vector(m, q);
    for (int32_t j = 0; j < dim; j++) qn += (double)qv[j] * qv[j];
    qn = sqrt(qn);
    /* Keep the k best in a small sorted array: k is small, rows large. */
    best = taml_malloc((size_t)(k + 1) * sizeof *best);
    sim = taml_malloc((size_t)(k + 1) * sizeof *sim);
    for (int64_t r = 0; r < rows; r++) {
        if (r == q) continue;
        const float *v = taml_module_vector(m, r);
        double dot = 0, vn = 0;
        for (int32_t j = 0; j < dim; j++) {
            dot += (double)qv[j] * v[j];
            vn += (double)v[j] * v[j];
        }
        double c = vn > 0 && qn > 0 ? dot / (sqrt(vn) * qn) : 0;
        if (have == k && c <= sim[k - 1]) continue;
        int64_t at = have < k ? have++ : k - 1;
        while (at > 0 && sim[at - 1] < c) {
            sim[at] = sim[at - 1];
            best[at] = best[at - 1];
            at--;
        }
        sim[at] = c;
        best[at] = r;
    }
    printf("nearest to '%.*s' in %s (cosine):\n", (int)t.len, t.buf, taml_module_name(m));
    for (int64_t i = 0; i < have; i++)
        printf("  %.4f  %s\n", sim[i], taml_module_word(m, best[i]));
    free(best);
    free(sim);
    rc = 0;
out:
    taml_module_close(m);
    return rc;
}

static const struct option coverage_options[] = {
    {"task", required_argument, NULL, O_TASK},
    TAML_ARGS_HELP,
    {0},
};

static int cmd_coverage(const taml_cli *cli, int argc, char **argv)
{
    const char *name = NULL, *dir = NULL;
    taml_args a;
    taml_args_init(&a, "embed coverage", usage_text, argc, argv, "", coverage_options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_TASK) dir = a.arg;
        else if (c == TAML_ARGS_POSITIONAL && name) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) name = a.arg;
    }
    if (!name) return taml_args_required(&a, "MODULE");
    if (!dir) return taml_args_required(&a, "--task");
    taml_module *m;
    taml_err err;
    if (open_module(cli, &m, name, &err) < 0) return taml_cli_fail(&err);
    taml_task *t;
    if (taml_task_load(&t, dir, NULL, &err) < 0) {
        taml_module_close(m);
        return taml_cli_fail(&err);
    }
    if (t->kind != TAML_TASK_TEXT) {
        fprintf(stderr, "taml: %s: an image task; coverage counts a text task's words\n", dir);
        taml_task_free(t);
        taml_module_close(m);
        return 1;
    }
    /* Per split: tokens (with repeats) known, and distinct words known. */
    char *known = taml_malloc((size_t)t->n_words);
    for (int32_t w = 0; w < t->n_words; w++)
        known[w] = taml_module_is_random(m) ||
                   taml_module_find(m, t->words[w], strlen(t->words[w])) >= 0;
    printf("%s on %s (%s):\n", taml_module_name(m), t->name, *t->language ? t->language : "?");
    printf("  %-6s %12s %8s %10s %8s\n", "split", "tokens", "known", "words", "known");
    static const char *split_names[] = {"train", "valid", "test", "all"};
    char *seen = taml_malloc((size_t)t->n_words);
    for (int s = 0; s < 4; s++) {
        int32_t r0 = 0, r1 = t->n;
        if (s < 3) {
            for (int j = 0; j < s; j++) r0 += t->n_split[j];
            r1 = r0 + t->n_split[s];
        }
        memset(seen, 0, (size_t)t->n_words);
        int64_t toks = 0, ktoks = 0, words = 0, kwords = 0;
        for (int64_t i = t->tok_off[r0]; i < t->tok_off[r1]; i++) {
            int32_t w = t->tok[i];
            toks++;
            ktoks += known[w];
            if (!seen[w]) {
                seen[w] = 1;
                words++;
                kwords += known[w];
            }
        }
        printf("  %-6s %12" PRId64 " %7.1f%% %10" PRId64 " %7.1f%%\n", split_names[s], toks,
               toks ? 100.0 * (double)ktoks / (double)toks : 0.0, words,
               words ? 100.0 * (double)kwords / (double)words : 0.0);
    }
    free(seen);
    free(known);
    taml_task_free(t);
    taml_module_close(m);
    return 0;
}

static const struct option features_options[] = {
    {"task", required_argument, NULL, O_TASK},
    {"labels", required_argument, NULL, O_LABELS},
    {"threads", required_argument, NULL, O_THREADS},
    {"no-cache", no_argument, NULL, O_NO_CACHE},
    TAML_ARGS_HELP,
    {0},
};

/* Writes an (n, cols) array of 4-byte items as a NumPy .npy file (format
 * 1.0: magic, u16 header length, the header dict padded with spaces to a
 * multiple of 64 bytes with its newline, then the data, C order),
 * atomically. descr: "<f4" or "<i4"; cols 0: a vector of n. */
static int write_npy(const char *path, const char *descr, int64_t n, int64_t cols,
                     const void *data, taml_err *err)
{
    char dict[160];
    int len = cols ? snprintf(dict, sizeof dict,
                              "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                              descr, (long long)n, (long long)cols)
                   : snprintf(dict, sizeof dict,
                              "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }", descr,
                              (long long)n);
    size_t head = 10 + (size_t)len + 1, padded = (head + 63) / 64 * 64;
    taml_bytes_writer w;
    taml_bytes_writer_init(&w);
    taml_bytes_put(&w, "\x93NUMPY\x01\x00", 8);
    taml_bytes_put_u16(&w, (uint16_t)(padded - 10));
    taml_bytes_put(&w, dict, (size_t)len);
    for (size_t i = head; i < padded; i++) taml_bytes_put_u8(&w, ' ');
    taml_bytes_put_u8(&w, '\n');
    size_t hsize;
    void *h = taml_bytes_writer_take(&w, &hsize);
    char *tmp;
    FILE *f = taml_file_atomic_open(path, &tmp, err);
    int rc = TAML_EIO;
    if (f) {
        size_t bytes = (size_t)n * (size_t)(cols ? cols : 1) * 4;
        int failed = fwrite(h, 1, hsize, f) != hsize || (bytes && fwrite(data, 1, bytes, f) != bytes);
        rc = taml_file_atomic_commit(f, tmp, path, failed, err);
    }
    free(h);
    taml_bytes_writer_deinit(&w);
    return rc;
}

/* `embed features`: an image task's features under an image module (its
 * disk cache used and filled, nn/image_features.h) or "pixels" (the raw
 * pixels / 255, what the wide tower reads), as .npy, rows in the task's
 * order (train, valid, test); --labels: (n, 2) int32, each row's split (0
 * train, 1 valid, 2 test) and class index. For probes of a module outside
 * taml (scripts/modules/probe_images.py). */
static int cmd_features(const taml_cli *cli, int argc, char **argv)
{
    const char *name = NULL, *dir = NULL, *out = NULL, *labels = NULL;
    int64_t threads = 0;
    int no_cache = 0;
    taml_args a;
    taml_args_init(&a, "embed features", usage_text, argc, argv, "o:", features_options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_TASK) dir = a.arg;
        else if (c == 'o') out = a.arg;
        else if (c == O_LABELS) labels = a.arg;
        else if (c == O_NO_CACHE) no_cache = 1;
        else if (c == O_THREADS && taml_args_int(&a, 1, 256, &threads)) return a.status;
        else if (c == TAML_ARGS_POSITIONAL && name) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) name = a.arg;
    }
    if (!name) return taml_args_required(&a, "MODULE");
    if (!dir) return taml_args_required(&a, "--task");
    if (!out) return taml_args_required(&a, "-o");
    taml_err err;
    taml_task *t;
    if (taml_task_load(&t, dir, NULL, &err) < 0) return taml_cli_fail(&err);
    taml_module *m = NULL;
    float *x = NULL;
    int32_t D = 0;
    int rc = 1;
    double t0 = taml_now();
    if (t->kind != TAML_TASK_IMAGE) {
        taml_err_set(&err, TAML_EINVAL,
                     "%s: task '%s' is a text task; embed features gives an image task's "
                     "features (a text task's are its words' vectors: embed coverage)",
                     dir, t->name);
        goto fail;
    }
    if (!strcmp(name, "pixels")) {
        D = t->height * t->width * t->channels;
        x = taml_malloc((size_t)t->n * (size_t)D * sizeof *x);
        for (size_t i = 0; i < (size_t)t->n * (size_t)D; i++) x[i] = t->pixels[i] / 255.0f;
    } else {
        if (open_module(cli, &m, name, &err) < 0) goto fail;
        taml_cli_features_view view = {0};
        taml_image_features_opts o = {.threads = (int)threads,
                                      .no_cache = no_cache,
                                      .progress = taml_cli_features_progress,
                                      .user = &view};
        if (taml_image_features_compute(&x, &D, t, m, &o, &err)) goto fail;
    }
    if (write_npy(out, "<f4", t->n, D, x, &err)) goto fail;
    if (labels) {
        int32_t *l = taml_malloc((size_t)t->n * 2 * sizeof *l);
        for (int32_t e = 0, sp = 0, end = t->n_split[0]; e < t->n; e++) {
            while (e >= end && sp < 2) end += t->n_split[++sp];
            l[2 * e] = sp;
            l[2 * e + 1] = t->label[e];
        }
        int wrc = write_npy(labels, "<i4", t->n, 2, l, &err);
        free(l);
        if (wrc) goto fail;
    }
    printf("%s: %d x %d float32 (%s under %s: train %d, valid %d, test %d) in %.1f s\n", out,
           (int)t->n, (int)D, t->name, m ? taml_module_name(m) : "pixels", (int)t->n_split[0],
           (int)t->n_split[1], (int)t->n_split[2], taml_now() - t0);
    rc = 0;
    goto done;
fail:
    taml_cli_fail(&err);
done:
    free(x);
    taml_module_close(m);
    taml_task_free(t);
    return rc;
}

typedef struct tok_out {
    FILE *out;
    int first;
} tok_out;

static void print_token(const char *tok, size_t len, void *ctx)
{
    tok_out *o = ctx;
    if (!o->first) putc(' ', o->out);
    fwrite(tok, 1, len, o->out);
    o->first = 0;
}

static int tokenise_stream(FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        tok_out o = {out, 1};
        if (taml_tokenise(line, (size_t)n, print_token, &o) > 0) putc('\n', out);
    }
    free(line);
    return ferror(in) ? -1 : 0;
}

static int cmd_tokenise(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char **files = taml_calloc((size_t)argc, sizeof *files);
    int n = 0, rc = 0;
    taml_args a;
    taml_args_init(&a, "embed tokenise", usage_text, argc, argv, "", help_only);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) {
            free(files);
            return a.status;
        }
        files[n++] = a.arg; /* TAML_ARGS_POSITIONAL: the only other kind */
    }
    if (n == 0) rc = tokenise_stream(stdin, stdout);
    for (int i = 0; i < n && rc == 0; i++) {
        FILE *f = fopen(files[i], "rb");
        if (!f) {
            fprintf(stderr, "taml: %s: cannot open: %s\n", files[i], strerror(errno));
            free(files);
            return 1;
        }
        rc = tokenise_stream(f, stdout);
        int e = errno;
        fclose(f);
        if (rc) fprintf(stderr, "taml: %s: cannot read: %s\n", files[i], strerror(e));
    }
    free(files);
    if (fflush(stdout) != 0) rc = -1;
    return rc ? 1 : 0;
}

/* The default library is built by scripts/modules/build-defaults (downloads
 * and fastText training), which calls back into `taml embed import`. */
static int cmd_build_defaults(const taml_cli *cli, int argc, char **argv)
{
    char *home = taml_cli_home(cli);
    char *script = taml_path_join(home, "scripts/modules/build-defaults");
    if (!taml_is_file(script)) {
        fprintf(stderr, "taml: %s is missing (set $TAML_HOME to the taml source tree)\n", script);
        free(script);
        free(home);
        return 1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        setenv("TAML_BIN", exe, 1);
    }
    setenv("TAML_HOME", home, 1);
    char **args = taml_calloc((size_t)argc + 1, sizeof *args);
    args[0] = script;
    for (int i = 1; i < argc; i++) args[i] = argv[i];
    fflush(stdout);
    execv(script, args);
    fprintf(stderr, "taml: cannot run %s: %s\n", script, strerror(errno));
    free(args);
    free(script);
    free(home);
    return 1;
}

int taml_cmd_embed(const taml_cli *cli, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    static const struct {
        const char *name;
        int (*run)(const taml_cli *, int, char **);
    } subs[] = {
        {"import", cmd_import},         {"list", cmd_list},
        {"info", cmd_info},             {"neighbours", cmd_neighbours},
        {"neighbors", cmd_neighbours},  {"coverage", cmd_coverage},
        {"tokenise", cmd_tokenise},     {"tokenize", cmd_tokenise},
        {"features", cmd_features},     {"build-defaults", cmd_build_defaults},
    };
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        if (!strcmp(argv[1], subs[i].name)) return subs[i].run(cli, argc - 1, argv + 1);
    fprintf(stderr, "taml embed: unknown subcommand '%s'\n%s", argv[1], usage_text);
    return TAML_CLI_USAGE;
}
