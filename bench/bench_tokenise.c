/* bench/bench_tokenise.c - tokeniser throughput on real files.
 *
 *   make bench && build/bench/bench_tokenise data/tasks/debian-section-en/all.tsv
 *
 * For each file: the text after the first TAB of every line (the whole line
 * when it has none) goes through taml_tokenise with a callback that only
 * counts, best of 5 runs; then taml_utf8_check over the whole file. Prints
 * MB/s of text, by wall-clock and by CPU time (on a shared machine the
 * second is the steadier figure). A benchmark, not a test: it never fails on a timing. The
 * dictionary's share of a task load is in `taml data info DIR --time`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "core/utf8.h"
#include "data/tokenise.h"

/* CPU seconds of this thread: on a shared machine, wall time mostly measures
 * waiting for a core. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void count_token(const char *tok, size_t len, void *ctx)
{
    (void)tok;
    *(size_t *)ctx += len;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    for (int f = 1; f < argc; f++) {
        char *data;
        size_t size;
        taml_err err;
        if (taml_read_file(argv[f], &data, &size, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double best = 1e30, best_cpu = 1e30;
        size_t tokens = 0, text = 0, chars = 0;
        for (int run = 0; run < 5; run++) {
            tokens = text = chars = 0;
            double t0 = taml_now(), c0 = cpu_now();
            for (char *p = data, *end = data + size; p < end;) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                char *le = nl ? nl : end;
                char *tab = memchr(p, '\t', (size_t)(le - p));
                char *s = tab ? tab + 1 : p;
                tokens += taml_tokenise(s, (size_t)(le - s), count_token, &chars);
                text += (size_t)(le - s);
                p = le + 1;
            }
            double dt = taml_now() - t0, dc = cpu_now() - c0;
            if (dt < best) best = dt;
            if (dc < best_cpu) best_cpu = dc;
        }
        double t0 = taml_now();
        size_t ok = taml_utf8_check(data, size);
        double dcheck = taml_now() - t0;
        printf("%s: %.1f MB of text, %zu tokens; tokenise %.1f MB/s wall, %.1f MB/s CPU (best of 5, "
               "%.3f s); UTF-8 check %.0f MB/s%s\n",
               argv[f], (double)text / 1e6, tokens, (double)text / 1e6 / best, (double)text / 1e6 / best_cpu, best,
               (double)size / 1e6 / dcheck, ok == size ? "" : " (invalid UTF-8 found)");
        free(data);
    }
    return 0;
}
