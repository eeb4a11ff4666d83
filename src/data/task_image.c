/* data/task_image.c - the image loaders of taml_task_load (task.c decides
 * which layout a directory holds, see task.h for the formats): IDX files
 * (the MNIST layout) or images.u8 + labels.u8 shaped by meta.txt. Every
 * file goes through zlib's gzread, which reads plain files unchanged, so any
 * of them may be gzipped. Label bytes become classes: the values present,
 * in numeric order, named by classes.txt when the directory has one.
 *
 * Errors name the file, the header field or line, and what was expected.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/text.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/task_internal.h"

/* Reads a whole file through zlib (plain files pass through unchanged). A
 * truncated or corrupt gzip stream is an error, not a short read. */
static int read_gz(const char *path, unsigned char **data, size_t *size, taml_err *err)
{
    *data = NULL;
    *size = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) return taml_err_set(err, TAML_EIO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(f, 1 << 17);
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = taml_malloc(cap);
    int rc = TAML_OK;
    for (;;) {
        if (n == cap) buf = taml_realloc(buf, cap *= 2);
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        int got = gzread(f, buf + n, (unsigned)want);
        if (got <= 0) break;
        n += (size_t)got;
    }
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);
    size_t plen = strlen(path); /* zlib puts the path in front of its message */
    if (!strncmp(msg, path, plen) && !strncmp(msg + plen, ": ", 2)) msg += plen + 2;
    if (zerr != Z_OK)
        rc = taml_err_set(err, TAML_EFORMAT, "%s: truncated or corrupt gzip data after %zu bytes (zlib: %s); "
                          "expected a complete gzip file", path, n, msg);
    gzclose_r(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *data = buf;
    *size = n;
    return TAML_OK;
}

/* The first of path and path.gz that exists (heap), or NULL. */
static char *find_maybe_gz(const char *dir, const char *name)
{
    char *p = taml_path_join(dir, name);
    if (taml_is_file(p)) return p;
    free(p);
    char *gz = taml_asprintf("%s.gz", name);
    p = taml_path_join(dir, gz);
    free(gz);
    if (taml_is_file(p)) return p;
    free(p);
    return NULL;
}

/* Checks an IDX header of unsigned bytes with nd dimensions and that the file
 * holds exactly the data it announces; dims (nd entries) gets the sizes. */
static int idx_check(const char *path, const unsigned char *d, size_t size, int nd, uint32_t *dims,
                     taml_err *err)
{
    if (size < 4)
        return taml_err_set(err, TAML_EFORMAT, "%s: %zu bytes; expected an IDX header (4-byte magic)",
                            path, size);
    if (d[0] != 0 || d[1] != 0 || d[2] != 0x08 || d[3] != nd)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: header magic %02x %02x %02x %02x; expected 00 00 08 %02x (IDX, unsigned "
                            "bytes, %d dimensions)",
                            path, d[0], d[1], d[2], d[3], nd, nd);
    if (size < 4 + 4 * (size_t)nd)
        return taml_err_set(err, TAML_EFORMAT, "%s: header cut short; expected %d dimension sizes", path,
                            nd);
    uint64_t total = 1;
    for (int k = 0; k < nd; k++) {
        const unsigned char *p = d + 4 + 4 * k;
        dims[k] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        total *= dims[k];
        if (total > (uint64_t)1 << 40)
            return taml_err_set(err, TAML_EFORMAT, "%s: header sizes multiply past 2^40 bytes", path);
    }
    size_t have = size - 4 - 4 * (size_t)nd;
    if (have != total)
        return taml_err_set(err, TAML_EFORMAT,
                            "%s: header announces %llu bytes of data (%s), the file holds %zu; expected "
                            "them to match",
                            path, (unsigned long long)total, have < total ? "truncated" : "trailing bytes",
                            have);
    return TAML_OK;
}

/* Turns the raw byte labels into class indices: the values present, in
 * numeric order, named by classes.txt when the directory has one. */
static int finish_image_classes(taml_task *t, const char *dir, const char *labels_path, taml_err *err)
{
    int32_t present[256] = {0}, map[256];
    for (int32_t r = 0; r < t->n; r++) present[t->label[r]] = 1;
    int32_t k = 0, max_value = 0;
    for (int v = 0; v < 256; v++) {
        map[v] = present[v] ? k++ : -1;
        if (present[v]) max_value = v;
    }
    char *path = taml_path_join(dir, "classes.txt"), *data = NULL;
    char **names = NULL;
    int32_t n_names = 0;
    int rc = TAML_OK;
    if (taml_is_file(path)) {
        size_t size;
        if ((rc = taml_read_file(path, &data, &size, err)) < 0) goto out;
        size_t bad = taml_utf8_check(data, size);
        if (bad < size) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s: invalid UTF-8 at byte offset %zu; expected UTF-8 text",
                              path, bad);
            goto out;
        }
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r')) size--;
        task_lines it;
        task_lines_init(&it, data, size);
        const char *line;
        size_t len;
        names = taml_calloc(256, sizeof *names);
        while (task_lines_next(&it, &line, &len)) {
            if (n_names == 256) {
                rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: more than 256 class names; expected one per "
                                  "label value 0..255", path, it.no);
                goto out;
            }
            if (len == 0 || memchr(line, '\0', len)) {
                rc = taml_err_set(err, TAML_EFORMAT, "%s:%ld: %s; expected the name of label value %d", path,
                                  it.no, len ? "NUL byte" : "empty line", n_names);
                goto out;
            }
            names[n_names++] = task_dup_range(line, len);
        }
        if (max_value >= n_names) {
            rc = taml_err_set(err, TAML_EFORMAT,
                              "%s: %d class %s, but %s holds label value %d; expected a name for each "
                              "value",
                              path, n_names, taml_text_plural(n_names, "name", "names"), labels_path,
                              max_value);
            goto out;
        }
    }
    t->n_classes = k;
    t->class_names = taml_malloc((size_t)k * sizeof *t->class_names);
    for (int v = 0; v < 256; v++)
        if (present[v])
            t->class_names[map[v]] = names ? taml_strdup(names[v]) : taml_asprintf("%d", v);
    for (int32_t r = 0; r < t->n; r++) t->label[r] = map[t->label[r]];
out:
    if (names)
        for (int i = 0; i < 256; i++) free(names[i]);
    free(names);
    free(data);
    free(path);
    return rc;
}

static const char *idx_name[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static int has_maybe_gz(const char *dir, const char *name)
{
    char *p = find_maybe_gz(dir, name);
    int found = p != NULL;
    free(p);
    return found;
}

int taml_task_has_idx(const char *dir) { return has_maybe_gz(dir, idx_name[0]); }
int taml_task_has_u8(const char *dir) { return has_maybe_gz(dir, "images.u8"); }

int taml_task_load_idx(taml_task *t, const char *dir, taml_err *err)
{
    char *path[4] = {0};
    unsigned char *data[4] = {0};
    size_t size[4] = {0};
    uint32_t dims[4][3] = {{0}};
    uint64_t n_all = 0; /* all before the first goto out */
    int32_t n_train_file = 0;
    size_t px = 0;
    int rc = TAML_OK;
    double t0 = taml_now();
    for (int f = 0; f < 4; f++) {
        path[f] = find_maybe_gz(dir, idx_name[f]);
        if (!path[f]) {
            rc = taml_err_set(err, TAML_ENOTFOUND,
                              "%s[.gz]: missing; an IDX task needs train-images, train-labels, "
                              "t10k-images and t10k-labels files",
                              path[f] = taml_path_join(dir, idx_name[f]));
            goto out;
        }
        if ((rc = read_gz(path[f], &data[f], &size[f], err)) < 0) goto out;
        if ((rc = idx_check(path[f], data[f], size[f], f % 2 ? 1 : 3, dims[f], err)) < 0) goto out;
    }
    t->seconds_read = taml_now() - t0;
    for (int f = 0; f < 4; f += 2)
        if (dims[f][0] != dims[f + 1][0]) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s: %u labels for the %u images of %s; expected one each",
                              path[f + 1], dims[f + 1][0], dims[f][0], path[f]);
            goto out;
        }
    if (dims[0][1] != dims[2][1] || dims[0][2] != dims[2][2]) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: images of %ux%u, but %s has %ux%u; expected the same size",
                          path[2], dims[2][1], dims[2][2], path[0], dims[0][1], dims[0][2]);
        goto out;
    }
    n_all = (uint64_t)dims[0][0] + dims[2][0];
    if (n_all > INT32_MAX) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: %llu images; at most %d supported", dir,
                          (unsigned long long)n_all, INT32_MAX);
        goto out;
    }
    n_train_file = (int32_t)dims[0][0];
    t->n = (int32_t)n_all;
    t->n_split[TAML_VALID] = n_train_file / 10;
    t->n_split[TAML_TRAIN] = n_train_file - t->n_split[TAML_VALID];
    t->n_split[TAML_TEST] = (int32_t)dims[2][0];
    if (t->n_split[TAML_VALID] == 0) {
        rc = taml_err_set(err, TAML_EINVAL,
                          "%s: %d %s an empty valid split (the last tenth of the train "
                          "file); expected at least 10",
                          path[0], n_train_file, taml_text_plural(n_train_file, "image gives", "images give"));
        goto out;
    }
    if (t->n_split[TAML_TEST] == 0) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: no images; expected a non-empty test split", path[2]);
        goto out;
    }
    t->height = (int32_t)dims[0][1];
    t->width = (int32_t)dims[0][2];
    t->channels = 1;
    px = (size_t)t->height * (size_t)t->width;
    t->pixels = taml_malloc(px * (size_t)t->n + 1);
    memcpy(t->pixels, data[0] + 16, px * (size_t)n_train_file);
    memcpy(t->pixels + px * (size_t)n_train_file, data[2] + 16, px * dims[2][0]);
    t->label = taml_malloc((size_t)t->n * sizeof *t->label);
    for (int32_t r = 0; r < n_train_file; r++) t->label[r] = data[1][8 + r];
    for (uint32_t r = 0; r < dims[2][0]; r++) t->label[n_train_file + (int32_t)r] = data[3][8 + r];
    rc = finish_image_classes(t, dir, path[1], err);
out:
    for (int f = 0; f < 4; f++) {
        free(path[f]);
        free(data[f]);
    }
    return rc;
}

int taml_task_load_u8(taml_task *t, const char *dir, taml_err *err)
{
    char *img_path = find_maybe_gz(dir, "images.u8"), *lab_path = find_maybe_gz(dir, "labels.u8");
    unsigned char *img = NULL, *lab = NULL;
    size_t img_size = 0, lab_size = 0;
    char *meta = taml_path_join(dir, "meta.txt");
    int rc = TAML_OK;
    long long n = 0, h = 0, w = 0, c = 0, split[3] = {0, 0, 0};
    long long *needv[4] = {&n, &h, &w, &c}; /* all before the first goto out */
    int given = 0;
    double t0 = 0;
    uint64_t want = 0;
    if (!taml_is_file(meta)) {
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s: missing; expected key=value lines with n, height, width, "
                          "channels next to images.u8", meta);
        goto out;
    }
    static const char *need[4] = {"n", "height", "width", "channels"};
    for (int k = 0; k < 4; k++) {
        rc = taml_task_meta_int(t, dir, need[k], 1, INT32_MAX, needv[k], err);
        if (rc < 0) goto out;
        if (rc == 0) {
            rc = taml_err_set(err, TAML_EFORMAT, "%s: no %s=; expected n, height, width and channels", meta,
                              need[k]);
            goto out;
        }
    }
    static const char *split_key[3] = {"train", "valid", "test"};
    for (int s = 0; s < 3; s++) {
        rc = taml_task_meta_int(t, dir, split_key[s], 0, INT32_MAX, &split[s], err);
        if (rc < 0) goto out;
        given += rc;
    }
    if (given == 0) {
        split[TAML_TRAIN] = n * 8 / 10;
        split[TAML_VALID] = n / 10;
        split[TAML_TEST] = n - split[0] - split[1];
    } else if (given != 3 || split[0] + split[1] + split[2] != n) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: train=%lld valid=%lld test=%lld; expected all three, summing "
                          "to n=%lld", meta, split[0], split[1], split[2], n);
        goto out;
    }
    for (int s = 0; s < 3; s++)
        if (split[s] == 0) {
            rc = taml_err_set(err, TAML_EINVAL, "%s: n=%lld gives an empty %s split; expected %s", meta, n,
                              split_key[s], given ? "train, valid and test counts above 0"
                                                  : "n of at least 10 (80/10/10 in file order)");
            goto out;
        }
    if ((uint64_t)h * (uint64_t)w * (uint64_t)c > (uint64_t)1 << 30) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: height*width*channels = %lld; expected at most 2^30", meta,
                          h * w * c);
        goto out;
    }
    if (!img_path || !lab_path) {
        char *p = taml_path_join(dir, img_path ? "labels.u8" : "images.u8");
        rc = taml_err_set(err, TAML_ENOTFOUND, "%s[.gz]: missing; expected images.u8 and labels.u8", p);
        free(p);
        goto out;
    }
    t0 = taml_now();
    if ((rc = read_gz(img_path, &img, &img_size, err)) < 0) goto out;
    if ((rc = read_gz(lab_path, &lab, &lab_size, err)) < 0) goto out;
    t->seconds_read = taml_now() - t0;
    want = (uint64_t)n * (uint64_t)h * (uint64_t)w * (uint64_t)c;
    if (img_size != want) {
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: %zu bytes; expected n*height*width*channels = %lld*%lld*%lld*%lld = %llu "
                          "(from %s)",
                          img_path, img_size, n, h, w, c, (unsigned long long)want, meta);
        goto out;
    }
    if (lab_size != (uint64_t)n) {
        rc = taml_err_set(err, TAML_EFORMAT, "%s: %zu bytes; expected one label byte per image, n = %lld (from %s)",
                          lab_path, lab_size, n, meta);
        goto out;
    }
    t->n = (int32_t)n;
    for (int s = 0; s < 3; s++) t->n_split[s] = (int32_t)split[s];
    t->height = (int32_t)h;
    t->width = (int32_t)w;
    t->channels = (int32_t)c;
    t->pixels = img;
    img = NULL;
    t->label = taml_malloc((size_t)n * sizeof *t->label);
    for (int32_t r = 0; r < t->n; r++) t->label[r] = lab[r];
    rc = finish_image_classes(t, dir, lab_path, err);
out:
    free(img_path);
    free(lab_path);
    free(img);
    free(lab);
    free(meta);
    return rc;
}


/* The images of a file for prediction (task.h). An IDX file is recognised by
 * a header that is both well-formed and announces exactly the bytes the file
 * holds; anything else is raw bytes. */
int taml_task_read_images(const char *path, int32_t height, int32_t width, int32_t channels,
                     uint8_t **pixels, int32_t *n, taml_err *err)
{
    *pixels = NULL;
    *n = 0;
    unsigned char *d;
    size_t size;
    int rc = read_gz(path, &d, &size, err);
    if (rc) return rc;
    size_t P = (size_t)height * width * channels, off = 0;
    int nd = size >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0x08 ? d[3] : 0;
    uint32_t dims[4] = {0};
    taml_err ignore;
    if ((nd == 3 || nd == 4) && idx_check(path, d, size, nd, dims, &ignore) == TAML_OK) {
        uint32_t c = nd == 4 ? dims[3] : 1;
        if (dims[1] != (uint32_t)height || dims[2] != (uint32_t)width || c != (uint32_t)channels) {
            rc = taml_err_set(err, TAML_EINVAL,
                              "%s: IDX images of %ux%ux%u; expected %dx%dx%d (height x width x "
                              "channels), the model's input",
                              path, dims[1], dims[2], c, height, width, channels);
            goto out;
        }
        off = 4 + 4 * (size_t)nd;
    } else if (size == 0 || size % P) {
        rc = taml_err_set(err, TAML_EFORMAT,
                          "%s: %zu bytes%s is not a whole number of %dx%dx%d images; expected raw "
                          "bytes (%zu per image, as a task's images.u8) or an IDX file of them, "
                          "either maybe gzipped",
                          path, size, size ? "" : " (empty)", height, width, channels, P);
        goto out;
    }
    if ((size - off) / P > INT32_MAX) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: more than %d images", path, INT32_MAX);
        goto out;
    }
    *n = (int32_t)((size - off) / P);
    if (*n == 0) {
        rc = taml_err_set(err, TAML_EINVAL, "%s: an IDX file of no images", path);
        goto out;
    }
    memmove(d, d + off, size - off);
    *pixels = d;
    d = NULL;
out:
    free(d);
    return rc;
}
