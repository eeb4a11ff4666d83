/* cli/args.c - the argument layer of every command (see args.h): getopt_long
 * in "return in order" mode with its own messages, and the one number parser. */
#include "cli/args.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void taml_args_init(taml_args *a, const char *cmd, const char *usage, int argc, char **argv,
                    const char *shortopts, const struct option *longopts)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->usage = usage;
    a->argc = argc;
    a->argv = argv;
    a->longopts = longopts;
    a->rest = -1;
    /* "-": every argument in its place (positional ones as 1), whatever
     * POSIXLY_CORRECT says; ":": a missing value is ':', and getopt prints
     * nothing itself (opterr = 0 too). */
    snprintf(a->shortopts, sizeof a->shortopts, "-:%sh", shortopts);
    optind = 0; /* glibc: start a new scan (each command parses its own argv) */
    opterr = 0;
}

int taml_args_error(taml_args *a, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "taml %s: ", a->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", a->usage);
    return a->status = TAML_CLI_USAGE;
}

/* A value as shown in a message: as typed when it is plain, else quoted. */
static const char *shown(const char *v, char *buf, size_t cap)
{
    int plain = *v != '\0';
    for (const char *p = v; *p && plain; p++) plain = *p > ' ' && *p < 127 && *p != '\'';
    if (plain && strlen(v) < cap) return v;
    snprintf(buf, cap, "'%s'", v);
    return buf;
}

int taml_args_stray(taml_args *a)
{
    return taml_args_error(a, "unexpected argument '%s'", a->arg);
}

int taml_args_required(taml_args *a, const char *what)
{
    return taml_args_error(a, "%s is required", what);
}

/* The long options whose name starts with name[0..len): *n of them; returns
 * the exact match, else the last prefix match (NULL: none). */
static const struct option *match_long(const taml_args *a, const char *name, size_t len, int *n)
{
    const struct option *exact = NULL, *last = NULL;
    *n = 0;
    for (const struct option *o = a->longopts; o && o->name; o++) {
        if (strncmp(o->name, name, len)) continue;
        if (strlen(o->name) == len) exact = o;
        last = o;
        ++*n;
    }
    if (exact) *n = 1;
    return exact ? exact : last;
}

/* The message for getopt's '?' (bad option) or ':' (missing value). */
static int option_error(taml_args *a, int missing)
{
    int i = optind - 1;
    const char *el = i >= 1 && i < a->argc ? a->argv[i] : "";
    if (strncmp(el, "--", 2) != 0 || !el[2]) {
        /* a short option: getopt says which letter */
        if (missing) return taml_args_error(a, "-%c needs a value", optopt);
        return taml_args_error(a, "unknown option '-%c'", optopt ? optopt : '?');
    }
    const char *name = el + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int n;
    const struct option *o = match_long(a, name, len, &n);
    if (missing) return taml_args_error(a, "--%s needs a value", o ? o->name : name);
    if (n > 1) {
        char list[512];
        size_t at = 0;
        list[0] = '\0';
        for (const struct option *p = a->longopts; p->name && at < sizeof list; p++)
            if (!strncmp(p->name, name, len))
                at += (size_t)snprintf(list + at, sizeof list - at, "%s--%s", at ? ", " : "",
                                       p->name);
        return taml_args_error(a, "option '--%.*s' is ambiguous (%s)", (int)len, name, list);
    }
    if (o && eq && o->has_arg == no_argument)
        return taml_args_error(a, "--%s takes no value ('%s')", o->name, el);
    return taml_args_error(a, "unknown option '--%.*s'", (int)len, name);
}

int taml_args_next(taml_args *a)
{
    a->arg = NULL;
    a->flag[0] = '\0';
    if (a->rest >= 0) {
        if (a->rest >= a->argc) return TAML_ARGS_END;
        a->arg = a->argv[a->rest++];
        return TAML_ARGS_POSITIONAL;
    }
    int li = -1;
    int c = getopt_long(a->argc, a->argv, a->shortopts, a->longopts, &li);
    a->arg = optarg;
    if (li >= 0) snprintf(a->flag, sizeof a->flag, "--%s", a->longopts[li].name);
    else if (c > 1 && c < 128) snprintf(a->flag, sizeof a->flag, "-%c", c);
    switch (c) {
    case -1:
        /* after "--": the arguments left are positional */
        a->rest = optind;
        return taml_args_next(a);
    case 'h':
        fputs(a->usage, stdout);
        a->status = TAML_CLI_OK;
        return TAML_ARGS_EXIT;
    case '?':
        option_error(a, 0);
        return TAML_ARGS_EXIT;
    case ':':
        option_error(a, 1);
        return TAML_ARGS_EXIT;
    default:
        return c;
    }
}

static int not_whole(taml_args *a, const char *range)
{
    char buf[96];
    return taml_args_error(a, "%s: %s is not a whole number in %s", a->flag,
                           shown(a->arg, buf, sizeof buf), range);
}

/* Decimal digits with an optional sign, nothing else (strtoll alone would
 * take leading spaces, and strtoull a minus sign). */
static int decimal(const char *s, int sign_ok)
{
    if (sign_ok && (*s == '-' || *s == '+')) s++;
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int taml_args_int(taml_args *a, int64_t lo, int64_t hi, int64_t *out)
{
    char range[64];
    snprintf(range, sizeof range, "%" PRId64 "..%" PRId64, lo, hi);
    if (!decimal(a->arg, 1)) return not_whole(a, range);
    errno = 0;
    long long v = strtoll(a->arg, NULL, 10);
    if (errno || v < lo || v > hi) return not_whole(a, range);
    *out = v;
    return 0;
}

int taml_args_u64(taml_args *a, uint64_t *out)
{
    char range[64];
    snprintf(range, sizeof range, "0..%" PRIu64, UINT64_MAX);
    if (!decimal(a->arg, 0)) return not_whole(a, range);
    errno = 0;
    unsigned long long v = strtoull(a->arg, NULL, 10);
    if (errno) return not_whole(a, range);
    *out = v;
    return 0;
}

int taml_args_real(taml_args *a, double lo, int lo_open, double hi, int hi_open, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(a->arg, &end);
    int ok = *a->arg && *a->arg != ' ' && *a->arg != '\t' && *a->arg != '\n' && !*end &&
             !errno && isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) {
        *out = v;
        return 0;
    }
    char buf[96];
    return taml_args_error(a, "%s: %s is not a number in %c%g, %g%c", a->flag,
                           shown(a->arg, buf, sizeof buf), lo_open ? '(' : '[', lo, hi,
                           hi_open ? ')' : ']');
}
