/* cli/cli.c - taml_cli_main, the whole command line (cli.h): reads the
 * environment (the only place in taml that does) and dispatches to the
 * command functions declared in cli.h. Each command lives in
 * src/cli/<command>.c; main() is in src/cli/main.c, so that programs with
 * hooks (tests/fake_main.c) link every command without it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"
#include "core/version.h"
#include "exec/mpi.h"

static int cmd_version(const taml_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    printf("taml %s\n", TAML_VERSION);
    return 0;
}

static const struct command {
    const char *name;
    int (*run)(const taml_cli *cli, int argc, char **argv);
    const char *summary;
} commands[] = {
    {"version", cmd_version, "print taml's version"},
    {"data", taml_cmd_data, "task directories: info, fetch, list"},
    {"report", taml_cmd_report, "one self-contained HTML report (plots, tables) of studies"},
    {"status", taml_cmd_status, "per-task progress of a study; trials-to-target against random search"},
    {"embed", taml_cmd_embed, "embedding modules: import, list, info, neighbours, coverage, build-defaults"},
    {"train", taml_cmd_train, "train one child model on a task"},
    {"export", taml_cmd_export, "the best model of a study's task as a checked model file"},
    {"predict", taml_cmd_predict, "labels of new texts (or images) from an exported model"},
    {"search", taml_cmd_search, "run or continue a search study (random, aml, multitask, transfer)"},
    {"ask", taml_cmd_ask, "hand out a trial of a study to train elsewhere (prints its config)"},
    {"tell", taml_cmd_tell, "record an asked trial's accuracies (updates the controller)"},
    {"controller", taml_cmd_controller, "controller files: export a study's, info (provenance), default"},
    {"similar", taml_cmd_similar, "which known tasks a new task is like (a short transfer, then cosines)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: taml COMMAND [ARGS...]   (taml COMMAND --help: its options)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int taml_cli_fail(const taml_err *err)
{
    fprintf(stderr, "taml: %s\n", err->msg[0] ? err->msg : taml_err_name(err->code));
    return 1;
}

/* A variable's value, NULL when unset or empty (empty counts as unset). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Every environment variable taml reads: here, once, before any thread. */
static void read_env(taml_cli_env *e)
{
    /* TAML_HOME: the directory of taml's own files (scripts/fetch,
     * scripts/modules); default: found from the executable (build/taml's
     * parent directory), else ".". */
    e->home = env("TAML_HOME");
    /* TAML_MODULES: the embedding-module library where module names are
     * found (search, train, export, embed); --modules DIR of search and
     * export comes first; default <taml home>/data/modules. */
    e->modules = env("TAML_MODULES");
    /* TAML_DATA: where `taml data fetch` writes and `taml data list` reads
     * task directories; --dir comes first; default <taml home>/data/tasks. */
    e->data = env("TAML_DATA");
    /* TAML_BLAS_CORETYPE: the OpenBLAS core to load (e.g. Haswell) instead
     * of the one taml chooses (SkylakeX on an AVX-512 CPU); OPENBLAS_CORETYPE
     * is read only to say in `taml train`'s blas line that it was overridden
     * (OpenBLAS itself reads it when taml does not set it; nn/blas.c). */
    e->blas.coretype = env("TAML_BLAS_CORETYPE");
    e->blas.inherited_coretype = env("OPENBLAS_CORETYPE");
    /* OMPI_COMM_WORLD_SIZE (Open MPI's mpirun), PMI_SIZE (MPICH, Slurm):
     * the number of processes a launcher started; above 1, `taml search`
     * runs as an MPI rank (src/cli/search_mpi.c). */
    e->mpi_launch_size = taml_mpi_launch_size(env("OMPI_COMM_WORLD_SIZE"), env("PMI_SIZE"));
}

char *taml_cli_home(const taml_cli *cli)
{
    return taml_home(cli->env.home);
}

char *taml_cli_module_dir(const taml_cli *cli, const char *flag)
{
    if (flag && *flag) return taml_strdup(flag);
    if (cli->env.modules) return taml_strdup(cli->env.modules);
    char *home = taml_cli_home(cli);
    char *dir = taml_path_join(home, "data/modules");
    free(home);
    return dir;
}

void taml_cli_features_progress(void *user, const char *task, const char *module, int64_t done,
                                int64_t total, int cached)
{
    taml_cli_features_view *v = user;
    double now = taml_now();
    if (cached == 1) {
        fprintf(stderr, "features: %s x %s: %lld images from the disk cache\n", task, module,
                (long long)total);
        return;
    }
    if (cached == 2) {
        fprintf(stderr, "features: %s x %s: waiting for another process computing them\n", task,
                module);
        return;
    }
    if (done == 0) { /* a computation starts */
        v->t0 = v->last = now;
        v->next = total / 10 > 0 ? total / 10 : 1;
        fprintf(stderr, "features: %s x %s: computing the features of %lld images\n", task,
                module, (long long)total);
        return;
    }
    if (done < total) {
        if (done < v->next || now - v->last < 1.0) return;
        while (v->next <= done) v->next += total / 10 > 0 ? total / 10 : 1;
        v->last = now;
        fprintf(stderr, "features: %s x %s: %lld of %lld images (%d%%), %.1f s\n", task, module,
                (long long)done, (long long)total, (int)(100 * done / total), now - v->t0);
        return;
    }
    fprintf(stderr, "features: %s x %s: %lld images in %.1f s%s\n", task, module,
            (long long)total, now - v->t0,
            cached < 0 ? " (not cached: the task's directory cannot be written)" : "");
}

int taml_cli_main(int argc, char **argv, const taml_cli_hooks *hooks)
{
    static const taml_cli_hooks none = {0};
    taml_cli cli = {.hooks = hooks ? hooks : &none};
    read_env(&cli.env);
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(&cli, argc - 1, argv + 1);
    fprintf(stderr, "taml: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
