/* cli/data.c - `taml data SUBCOMMAND ...`: working with task directories.
 *
 * Subcommands live in one table below; a subcommand implemented in another
 * file (e.g. `fetch` and `list` in data_fetch.c, declared in cli.h) is added
 * with one line there.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/text.h"
#include "core/util.h"
#include "data/task.h"

static const char info_usage[] =
    "usage: taml data info DIR [--json] [--time] [--classes] [--wide-min-count N] [--wide-max N]\n"
    "  Loads the task in DIR and prints its summary: examples per split, classes,\n"
    "  majority-class share, vocabulary sizes, mean tokens per text, language.\n"
    "  --json            one JSON object instead of text\n"
    "  --time            also the load's phases and the tokenising throughput (MB/s)\n"
    "  --classes         also each class's examples in train, valid, test (--json: always)\n"
    "  --wide-min-count N  train-token count for the wide vocabulary, 1..2147483647\n"
    "                    (default 1)\n"
    "  --wide-max N      cap on the wide vocabulary, 0..2147483647 (default 1048576)\n";

/* CPU seconds used by this process (steadier than wall time when other
 * jobs share the cores). */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double mb_per_s(int64_t bytes, double seconds)
{
    return seconds > 0 ? (double)bytes / 1e6 / seconds : 0.0;
}

/* count[3 * c + s]: examples of class c in split s. Heap. */
static int64_t *class_counts(const taml_task *t)
{
    int64_t *count = calloc(3 * (size_t)t->n_classes, sizeof *count);
    if (!count) abort();
    int32_t r = 0;
    for (int s = 0; s < 3; s++)
        for (int32_t k = 0; k < t->n_split[s]; k++, r++) count[3 * t->label[r] + s]++;
    return count;
}

static void print_json(const taml_task *t, double load_s, double cpu_s, int timing)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dir", t->dir);
    cJSON_AddStringToObject(o, "kind", taml_task_kind_name(t->kind));
    cJSON_AddNumberToObject(o, "examples", t->n);
    cJSON_AddNumberToObject(o, "train", t->n_split[TAML_TRAIN]);
    cJSON_AddNumberToObject(o, "valid", t->n_split[TAML_VALID]);
    cJSON_AddNumberToObject(o, "test", t->n_split[TAML_TEST]);
    cJSON_AddNumberToObject(o, "classes", t->n_classes);
    cJSON *names = cJSON_AddArrayToObject(o, "class_names");
    for (int32_t c = 0; c < t->n_classes; c++) cJSON_AddItemToArray(names, cJSON_CreateString(t->class_names[c]));
    cJSON_AddNumberToObject(o, "majority_share", taml_task_majority_share(t));
    cJSON_AddStringToObject(o, "majority_class", t->class_names[taml_task_majority_class(t)]);
    int64_t *count = class_counts(t);
    cJSON *per = cJSON_AddArrayToObject(o, "class_counts"); /* [train, valid, test] per class */
    for (int32_t c = 0; c < t->n_classes; c++) {
        double v[3] = {(double)count[3 * c], (double)count[3 * c + 1], (double)count[3 * c + 2]};
        cJSON_AddItemToArray(per, cJSON_CreateDoubleArray(v, 3));
    }
    free(count);
    if (t->kind == TAML_TASK_TEXT) {
        cJSON_AddNumberToObject(o, "dictionary", t->n_words);
        cJSON_AddNumberToObject(o, "wide_vocabulary", t->n_wide);
        cJSON_AddNumberToObject(o, "wide_min_count", t->wide_min_count);
        cJSON_AddNumberToObject(o, "wide_max", t->wide_max);
        cJSON_AddNumberToObject(o, "mean_tokens", taml_task_mean_tokens(t));
        cJSON_AddNumberToObject(o, "tokens", (double)t->tok_off[t->n]);
        cJSON_AddNumberToObject(o, "text_bytes", (double)t->text_bytes);
    } else {
        cJSON_AddNumberToObject(o, "height", t->height);
        cJSON_AddNumberToObject(o, "width", t->width);
        cJSON_AddNumberToObject(o, "channels", t->channels);
    }
    cJSON_AddStringToObject(o, "language", t->language);
    cJSON_AddStringToObject(o, "source", t->source);
    cJSON_AddStringToObject(o, "license", t->license);
    cJSON_AddNumberToObject(o, "load_seconds", load_s);
    if (timing) {
        cJSON_AddNumberToObject(o, "read_seconds", t->seconds_read);
        cJSON_AddNumberToObject(o, "check_seconds", t->seconds_check);
        cJSON_AddNumberToObject(o, "tokenise_seconds", t->seconds_tokenise);
        cJSON_AddNumberToObject(o, "tokenise_mb_per_s", mb_per_s(t->text_bytes, t->seconds_tokenise));
        cJSON_AddNumberToObject(o, "load_mb_per_s", mb_per_s(t->text_bytes, load_s));
        cJSON_AddNumberToObject(o, "load_cpu_seconds", cpu_s);
        cJSON_AddNumberToObject(o, "load_cpu_mb_per_s", mb_per_s(t->text_bytes, cpu_s));
    }
    char *s = cJSON_Print(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

static void print_text(const taml_task *t, double load_s, double cpu_s, int timing, int classes)
{
    int32_t maj = taml_task_majority_class(t);
    printf("name          %s\n", t->name);
    printf("dir           %s\n", t->dir);
    if (t->kind == TAML_TASK_TEXT)
        printf("kind          text\n");
    else
        printf("kind          image (%dx%d, %d channel%s)\n", t->height, t->width, t->channels,
               t->channels == 1 ? "" : "s");
    printf("examples      %d (train %d, valid %d, test %d)\n", t->n, t->n_split[TAML_TRAIN],
           t->n_split[TAML_VALID], t->n_split[TAML_TEST]);
    printf("classes       %d\n", t->n_classes);
    if (classes) {
        int64_t *count = class_counts(t);
        printf("  %8s %8s %8s  class\n", "train", "valid", "test");
        /* quoted and escaped: "sport" and "sport " are two classes */
        char q[256];
        for (int32_t c = 0; c < t->n_classes; c++)
            printf("  %8lld %8lld %8lld  %s\n", (long long)count[3 * c], (long long)count[3 * c + 1],
                   (long long)count[3 * c + 2],
                   taml_text_quote(q, sizeof q, t->class_names[c], strlen(t->class_names[c])));
        free(count);
    }
    printf("majority      %.4f of train (class '%s')\n", taml_task_majority_share(t), t->class_names[maj]);
    if (t->kind == TAML_TASK_TEXT) {
        printf("dictionary    %d %s (all splits)\n", t->n_words, taml_text_plural(t->n_words, "word", "words"));
        printf("wide vocab    %d %s (train words, min count %d, cap %d)\n", t->n_wide,
               taml_text_plural(t->n_wide, "feature", "features"), t->wide_min_count, t->wide_max);
        printf("tokens/text   %.1f (mean, all splits)\n", taml_task_mean_tokens(t));
    }
    printf("language      %s\n", t->language[0] ? t->language : "-");
    printf("source        %s\n", t->source[0] ? t->source : "-");
    printf("license       %s\n", t->license[0] ? t->license : "-");
    printf("load time     %.3f s\n", load_s);
    if (timing) {
        printf("  read        %.3f s\n", t->seconds_read);
        if (t->kind == TAML_TASK_TEXT) {
            printf("  check       %.3f s (lines, labels, UTF-8)\n", t->seconds_check);
            printf("  tokenise    %.3f s: %.1f MB/s over %.1f MB of text (into the dictionary)\n",
                   t->seconds_tokenise, mb_per_s(t->text_bytes, t->seconds_tokenise),
                   (double)t->text_bytes / 1e6);
            printf("  whole load  %.1f MB/s of text; %.3f s of CPU: %.1f MB/s\n", mb_per_s(t->text_bytes, load_s),
                   cpu_s, mb_per_s(t->text_bytes, cpu_s));
        }
    }
}

enum { O_JSON = 256, O_TIME, O_CLASSES, O_WIDE_MIN_COUNT, O_WIDE_MAX };

static const struct option info_options[] = {
    {"json", no_argument, NULL, O_JSON},
    {"time", no_argument, NULL, O_TIME},
    {"classes", no_argument, NULL, O_CLASSES},
    {"wide-min-count", required_argument, NULL, O_WIDE_MIN_COUNT},
    {"wide-max", required_argument, NULL, O_WIDE_MAX},
    TAML_ARGS_HELP,
    {0},
};

static int data_info(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *dir = NULL;
    int json = 0, timing = 0, classes = 0;
    taml_task_opts opts = taml_task_default_opts();
    int64_t v;
    taml_args a;
    taml_args_init(&a, "data info", info_usage, argc, argv, "", info_options);
    for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
        if (c == TAML_ARGS_EXIT) return a.status;
        if (c == O_JSON) json = 1;
        else if (c == O_TIME) timing = 1;
        else if (c == O_CLASSES) classes = 1;
        /* the task loader's rules (data/task.h): a count >= 1, a cap >= 0, both int32 */
        else if (c == O_WIDE_MIN_COUNT && taml_args_int(&a, 1, INT32_MAX, &v)) return a.status;
        else if (c == O_WIDE_MIN_COUNT) opts.wide_min_count = (int32_t)v;
        else if (c == O_WIDE_MAX && taml_args_int(&a, 0, INT32_MAX, &v)) return a.status;
        else if (c == O_WIDE_MAX) opts.wide_max = (int32_t)v;
        else if (c == TAML_ARGS_POSITIONAL && dir) return taml_args_stray(&a);
        else if (c == TAML_ARGS_POSITIONAL) dir = a.arg;
    }
    if (!dir) return taml_args_required(&a, "DIR");
    taml_err err;
    taml_err_clear(&err);
    taml_task *t = NULL;
    double t0 = taml_now(), c0 = cpu_seconds();
    if (taml_task_load(&t, dir, &opts, &err) < 0) return taml_cli_fail(&err);
    double load_s = taml_now() - t0, cpu_s = cpu_seconds() - c0;
    if (json)
        print_json(t, load_s, cpu_s, timing);
    else
        print_text(t, load_s, cpu_s, timing, classes);
    taml_task_free(t);
    return 0;
}

/* The subcommands of `taml data`. Add a row per subcommand. */
static const struct subcommand {
    const char *name;
    int (*run)(const taml_cli *cli, int argc, char **argv); /* argv[0] is the subcommand's name */
    const char *summary;
} subcommands[] = {
    {"info", data_info, "DIR [--json] [--time] [--classes]  load a task and print its summary"},
    {"fetch", taml_cli_data_fetch, "NAME...|all [--dir DIR] [--force]  fetch tasks of the real suite"},
    {"list", taml_cli_data_list, "[--dir DIR] [--json|--markdown]  table of the fetched tasks"},
};

static void data_usage(FILE *out)
{
    fprintf(out, "usage: taml data SUBCOMMAND [ARGS...]\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-6s %s\n", subcommands[i].name, subcommands[i].summary);
}

int taml_cmd_data(const taml_cli *cli, int argc, char **argv)
{
    if (argc < 2) {
        data_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        data_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].run(cli, argc - 1, argv + 1);
    fprintf(stderr, "taml data: unknown subcommand '%s'\n", argv[1]);
    data_usage(stderr);
    return 2;
}
