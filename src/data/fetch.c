/* data/fetch.c - the driver of the real task suite's fetchers (see fetch.h). */
#include "data/fetch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void taml_fetch_names_free(char **names, int32_t n)
{
    if (!names) return;
    for (int32_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int taml_fetch_scripts(const char *scripts_dir, char ***names, int32_t *n, taml_err *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(scripts_dir);
    if (!d)
        return taml_err_set(err, TAML_EIO, "%s: cannot list the fetch scripts: %s", scripts_dir,
                            strerror(errno));
    char **v = NULL;
    int32_t cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = taml_path_join(scripts_dir, e->d_name);
        struct stat st;
        int ok = stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
        free(path);
        if (!ok) continue;
        if (cnt == cap) v = taml_realloc(v, sizeof *v * (size_t)(cap = cap ? 2 * cap : 16));
        v[cnt++] = taml_strdup(e->d_name);
    }
    closedir(d);
    if (cnt > 1) qsort(v, (size_t)cnt, sizeof *v, cmp_str);
    *names = v;
    *n = cnt;
    return TAML_OK;
}

/* 1 if a is strictly later than b. */
static int later(struct timespec a, struct timespec b)
{
    return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

int taml_fetch_is_fresh(const char *script, const char *out_dir, const char *shared_dir)
{
    char *sources = taml_path_join(out_dir, "SOURCES");
    struct stat st_src, st;
    int have = stat(sources, &st_src) == 0 && S_ISREG(st_src.st_mode);
    free(sources);
    if (!have) return 0;
    /* A script that cannot be read cannot be judged: fetch again. */
    if (stat(script, &st) != 0 || later(st.st_mtim, st_src.st_mtim)) return 0;
    int fresh = 1;
    DIR *d = shared_dir ? opendir(shared_dir) : NULL;
    if (!d) return fresh;
    struct dirent *e;
    while (fresh && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".py") != 0) continue;
        char *path = taml_path_join(shared_dir, e->d_name);
        if (stat(path, &st) == 0 && later(st.st_mtim, st_src.st_mtim)) fresh = 0;
        free(path);
    }
    closedir(d);
    return fresh;
}

void taml_fetch_plan_free(taml_fetch_plan *p)
{
    if (!p) return;
    taml_fetch_names_free(p->names, p->n);
    taml_fetch_names_free(p->scripts, p->n);
    taml_fetch_names_free(p->out_dirs, p->n);
    free(p->fresh);
    free(p);
}

/* "a, b, c" of the known names, for an error message (heap). */
static char *join_names(char **names, int32_t n)
{
    size_t len = 1;
    for (int32_t i = 0; i < n; i++) len += strlen(names[i]) + 2;
    char *s = taml_malloc(len), *p = s;
    *p = '\0';
    for (int32_t i = 0; i < n; i++) p += sprintf(p, "%s%s", i ? ", " : "", names[i]);
    return s;
}

int taml_fetch_plan_new(taml_fetch_plan **out, const char *scripts_dir, const char *data_dir,
                        const char *const *wants, int32_t n_wants, taml_err *err)
{
    *out = NULL;
    char **known;
    int32_t n_known;
    int rc = taml_fetch_scripts(scripts_dir, &known, &n_known, err);
    if (rc) return rc;
    /* Mark the wanted scripts, then take them in the scripts' (sorted) order. */
    char *want = taml_calloc((size_t)n_known + 1, 1);
    for (int32_t w = 0; w < n_wants && rc == TAML_OK; w++) {
        if (!strcmp(wants[w], "all")) {
            memset(want, 1, (size_t)n_known);
            continue;
        }
        int32_t i = 0;
        while (i < n_known && strcmp(known[i], wants[w]) != 0) i++;
        if (i < n_known) {
            want[i] = 1;
        } else {
            char *list = join_names(known, n_known);
            rc = taml_err_set(err, TAML_ENOTFOUND, "unknown task '%s' (no script %s/%s); known: %s",
                              wants[w], scripts_dir, wants[w], n_known ? list : "none");
            free(list);
        }
    }
    if (rc == TAML_OK) {
        taml_fetch_plan *p = taml_calloc(1, sizeof *p);
        int32_t n = 0;
        for (int32_t i = 0; i < n_known; i++) n += want[i];
        p->names = taml_calloc((size_t)n + 1, sizeof *p->names);
        p->scripts = taml_calloc((size_t)n + 1, sizeof *p->scripts);
        p->out_dirs = taml_calloc((size_t)n + 1, sizeof *p->out_dirs);
        p->fresh = taml_calloc((size_t)n + 1, sizeof *p->fresh);
        char *shared = taml_path_join(scripts_dir, "..");
        for (int32_t i = 0; i < n_known; i++) {
            if (!want[i]) continue;
            p->names[p->n] = taml_strdup(known[i]);
            p->scripts[p->n] = taml_path_join(scripts_dir, known[i]);
            p->out_dirs[p->n] = taml_path_join(data_dir, known[i]);
            p->fresh[p->n] = taml_fetch_is_fresh(p->scripts[p->n], p->out_dirs[p->n], shared);
            p->n++;
        }
        free(shared);
        *out = p;
    }
    free(want);
    taml_fetch_names_free(known, n_known);
    return rc;
}

int taml_fetch_run(const char *script, const char *out_dir, int log_fd, int *exit_status,
                   taml_err *err)
{
    *exit_status = -1;
    int rc = taml_mkdirs(out_dir, err);
    if (rc) return rc;
    char *sources = taml_path_join(out_dir, "SOURCES");
    if (unlink(sources) != 0 && errno != ENOENT) {
        rc = taml_err_set(err, TAML_ESYS, "%s: cannot remove the old fetch mark: %s", sources,
                          strerror(errno));
        free(sources);
        return rc;
    }
    fflush(NULL); /* nothing buffered may be written twice by the child */
    pid_t pid = fork();
    if (pid < 0) {
        free(sources);
        return taml_err_set(err, TAML_ESYS, "%s: cannot start: fork: %s", script, strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0); /* a fetcher never asks questions */
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        execl(script, script, out_dir, (char *)NULL);
        dprintf(2, "%s: cannot run: %s\n", script, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            free(sources);
            return taml_err_set(err, TAML_ESYS, "%s: lost the fetch process: %s", script,
                                strerror(errno));
        }
    }
    *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (*exit_status == 127)
        rc = taml_err_set(err, TAML_ESYS, "%s: could not be run (exit status 127)", script);
    else if (*exit_status != 0)
        rc = taml_err_set(err, TAML_ESYS, "%s: failed with exit status %d", script, *exit_status);
    else if (!taml_is_file(sources))
        rc = taml_err_set(err, TAML_ESYS, "%s: exited with status 0 but wrote no %s", script,
                          sources);
    free(sources);
    return rc;
}
