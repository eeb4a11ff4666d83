/* tests/fixture_files.c - see fixture_files.h. */
#include "fixture_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/err.h"
#include "core/util.h"
#include "data/task.h"
#include "test.h"

char *taml_test_gunzip_fixture(const char *name)
{
    char *gz = taml_asprintf("tests/fixtures/%s.gz", name);
    const char *base = strrchr(name, '/');
    char *out = taml_path_join(taml_test_tmpdir(), base ? base + 1 : name);
    gzFile in = gzopen(gz, "rb");
    CHECK_MSG(in != NULL, "cannot open %s", gz);
    FILE *f = fopen(out, "wb");
    CHECK(f != NULL);
    char buf[1 << 16];
    int got;
    while ((got = gzread(in, buf, sizeof buf)) > 0)
        CHECK((size_t)fwrite(buf, 1, (size_t)got, f) == (size_t)got);
    CHECK(got == 0);
    gzclose(in);
    CHECK(fclose(f) == 0);
    free(gz);
    return out;
}

void taml_test_split_load(taml_test_split *s, const char *path, int which)
{
    TAML_ASSERT(which == TAML_VALID || which == TAML_TEST);
    char *data = NULL;
    size_t size = 0;
    taml_err err;
    CHECK_MSG(taml_read_file(path, &data, &size, &err) == 0, "%s", err.msg);
    int n = 0;
    for (char *p = data; *p; p++) n += *p == '\n';
    int lo = which == TAML_VALID ? n * 8 / 10 : n * 8 / 10 + n / 10;
    int hi = which == TAML_VALID ? lo + n / 10 : n;
    s->n = hi - lo;
    s->text = taml_calloc((size_t)s->n, sizeof *s->text);
    s->label = taml_calloc((size_t)s->n, sizeof *s->label);
    s->len = taml_calloc((size_t)s->n, sizeof *s->len);
    char *line = data;
    for (int i = 0; i < n; i++) {
        char *nl = strchr(line, '\n');
        *nl = 0;
        if (i >= lo && i < hi) {
            char *tab = strchr(line, '\t');
            *tab = 0;
            s->label[i - lo] = taml_strdup(line);
            s->text[i - lo] = taml_strdup(tab + 1);
            s->len[i - lo] = strlen(tab + 1);
        }
        line = nl + 1;
    }
    free(data);
}

void taml_test_split_free(taml_test_split *s)
{
    for (int i = 0; i < s->n; i++) free(s->text[i]), free(s->label[i]);
    free(s->text);
    free(s->label);
    free(s->len);
}
