/* tests/fixture_files.h - the repository's fixture files as the tests read
 * them (not a test file: no TEST here): a gzipped fixture unpacked into the
 * test's directory, and one split of a task directory's all.tsv. */
#ifndef TAML_TEST_FIXTURE_FILES_H
#define TAML_TEST_FIXTURE_FILES_H

#include <stddef.h>

/* Unpacks tests/fixtures/NAME.gz (NAME: DIR/FILE, e.g. "v1/mt-full.db")
 * into the test's directory as FILE; the path (heap). Fails the calling
 * test when it cannot. */
char *taml_test_gunzip_fixture(const char *name);

/* One split of a task's all.tsv, split in file order as the loader does
 * (80% / 10% / 10%): texts and labels, heap arrays of heap strings. */
typedef struct taml_test_split {
    int n;
    char **text, **label;
    size_t *len; /* (n) the texts' lengths */
} taml_test_split;

/* Loads split `which` (TAML_VALID or TAML_TEST) of the all.tsv at path. */
void taml_test_split_load(taml_test_split *s, const char *path, int which);
void taml_test_split_free(taml_test_split *s);

#endif
