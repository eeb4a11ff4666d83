/* cli/args.h - the one argument layer of the taml command line: every
 * command walks its argv with getopt_long (glibc) through these functions,
 * so that every command refuses bad input the same way.
 *
 *   usage error: "taml CMD: MESSAGE" and CMD's usage on stderr, exit 2.
 *     The MESSAGE names what is wrong by itself: "unknown option '--wat'",
 *     "--task needs a value", "unexpected argument 'x'", "--study is
 *     required", "--workers: 100000 is not a whole number in 1..4096".
 *   --help, -h: CMD's usage on stdout, exit 0.
 *   any other failure (a file, a library call): exit 1 (taml_cli_fail).
 *
 * A command's loop:
 *
 *     static const struct option opts[] = {{"trials", required_argument, NULL, O_TRIALS},
 *                                          ..., TAML_ARGS_HELP, {0}};
 *     taml_args a;
 *     taml_args_init(&a, "search", usage, argc, argv, "", opts);
 *     for (int c; (c = taml_args_next(&a)) != TAML_ARGS_END;) {
 *         if (c == TAML_ARGS_EXIT) return a.status;     (help, or a usage error)
 *         if (c == O_TRIALS && taml_args_int(&a, 1, 1000000, &v)) return a.status;
 *         if (c == TAML_ARGS_POSITIONAL) ... a.arg ...
 *     }
 *
 * Options and positional arguments come in any order (a positional one is
 * returned where it stands); "--" ends the options; long options may be
 * abbreviated to an unambiguous prefix and given as --name=value
 * (getopt_long's rules).
 */
#ifndef TAML_CLI_ARGS_H
#define TAML_CLI_ARGS_H

#include <getopt.h>
#include <stdint.h>

/* Exit statuses of every command. */
enum { TAML_CLI_OK = 0, TAML_CLI_FAILED = 1, TAML_CLI_USAGE = 2 };

/* What taml_args_next returns besides an option's val. */
enum {
    TAML_ARGS_END = -1,       /* no more arguments */
    TAML_ARGS_EXIT = -2,      /* stop and return a.status: usage printed (help: 0, error: 2) */
    TAML_ARGS_POSITIONAL = 1, /* a.arg is an argument that is not an option */
};

/* Every command's table ends with this entry (then {0}). */
#define TAML_ARGS_HELP {"help", no_argument, NULL, 'h'}

typedef struct taml_args {
    const char *cmd;   /* "search", "data info": names the command in messages */
    const char *usage; /* the command's usage text (ends with a newline) */
    int argc;
    char **argv;       /* argv[0] is the command's name; getopt_long may permute it */
    const struct option *longopts;
    char shortopts[64];
    int rest;          /* after "--": the next argument to return as positional */
    /* Set by taml_args_next: */
    const char *arg;   /* the option's value, or the positional argument */
    char flag[64];     /* the option as named in messages: "--workers", "-o" */
    int status;        /* exit status after TAML_ARGS_EXIT or a failed check */
} taml_args;

/* Starts parsing argv[1..argc) of command cmd. shortopts are getopt's
 * letters without the leading mode characters (e.g. "o:k:"; "h" is added);
 * longopts ends with TAML_ARGS_HELP and {0}. */
void taml_args_init(taml_args *a, const char *cmd, const char *usage, int argc, char **argv,
                    const char *shortopts, const struct option *longopts);

/* The next option's val, TAML_ARGS_POSITIONAL (a->arg), TAML_ARGS_END, or
 * TAML_ARGS_EXIT after printing the usage for --help (a->status 0) or a
 * usage error (unknown or ambiguous option, missing value, value given to
 * an option that takes none; a->status 2). */
int taml_args_next(taml_args *a);

/* The current option's value a->arg as a whole number (decimal, optional
 * sign, nothing else) in lo..hi, into *out. Returns 0, or prints
 * "FLAG: VALUE is not a whole number in LO..HI" and returns 2 (a->status). */
int taml_args_int(taml_args *a, int64_t lo, int64_t hi, int64_t *out);
/* The same for 0..2^64-1 (seeds). */
int taml_args_u64(taml_args *a, uint64_t *out);
/* a->arg as a finite real number in the interval from lo to hi, each end
 * open or closed: "FLAG: VALUE is not a number in (0, 1)" otherwise. */
int taml_args_real(taml_args *a, double lo, int lo_open, double hi, int hi_open, double *out);

/* A usage error: prints "taml CMD: MESSAGE\nUSAGE" to stderr, returns 2 (and
 * sets a->status). */
int taml_args_error(taml_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "unexpected argument 'ARG'" for the positional argument a->arg. */
int taml_args_stray(taml_args *a);
/* "WHAT is required" (WHAT: "--study", "STUDY"). */
int taml_args_required(taml_args *a, const char *what);

#endif
