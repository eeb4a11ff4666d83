/* fuzz/replay.h - the corpus replayer shared by the plain fuzz programs.
 *
 * `make fuzz` links fuzz/replay.c (which holds main()) into every
 * fuzz/fuzz_NAME.c; the target file only defines `taml_fuzz_target` below.
 * The libFuzzer builds described in each target's header compile the target
 * alone with -DTAML_LIBFUZZER: libFuzzer brings its own main(), so replay.c
 * must not be linked there.
 */
#ifndef TAML_FUZZ_REPLAY_H
#define TAML_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct taml_fuzz_def {
    /* What the program replays inputs through, for its usage line, e.g.
     * "replays fuzz inputs through the task loader". */
    const char *purpose;
    /* How the tally names inputs run_one accepted, e.g. "loaded". */
    const char *accepted;
    /* Runs one input; returns 1 when it was accepted, 0 when refused with
     * a clean error. Anything else must abort(). */
    int (*run_one)(const uint8_t *data, size_t size);
    /* Optional (NULL if none): frees what run_one set up, after the tally. */
    void (*cleanup)(void);
    /* Optional (NULL if none): another mode of the program; returns its exit
     * status, or -1 when argv is not for it (then the corpus is replayed). */
    int (*command)(int argc, char **argv);
    /* Optional: that mode's usage line, after the program's name. */
    const char *command_usage;
} taml_fuzz_def;

/* Defined by each target file (outside its TAML_LIBFUZZER build). */
extern const taml_fuzz_def taml_fuzz_target;

/* Removes the directory tree at root (a target's scratch directory) and frees
 * the string; NULL does nothing. For a target's cleanup. */
void taml_fuzz_remove_tree(char *root);

/* The libFuzzer entry point over a target's run_one: expands to it in the
 * TAML_LIBFUZZER build and to nothing in the replay build. */
#ifdef TAML_LIBFUZZER
#define TAML_FUZZ_LIBFUZZER_ENTRY(run_one)                            \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)      \
    {                                                                 \
        run_one(data, size);                                          \
        return 0;                                                     \
    }
#else
#define TAML_FUZZ_LIBFUZZER_ENTRY(run_one)
#endif

#endif
