/* tests/xml_check.c - see xml_check.h. Not a test file itself: it holds no
 * TEST, only the checker the report tests share. */
#include "xml_check.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 256

static int fail(char *msg, size_t size, const char *doc, const char *p, const char *what)
{
    snprintf(msg, size, "offset %ld: %s near \"%.40s\"", (long)(p - doc), what, p);
    return -1;
}

/* Length of a valid entity at p ("&amp;", "&#39;", "&#x2026;"), or 0. */
static size_t entity_len(const char *p)
{
    const char *q = p + 1;
    if (*q == '#') {
        q++;
        int hex = *q == 'x';
        if (hex) q++;
        const char *d = q;
        while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)) q++;
        if (q == d) return 0;
    } else {
        const char *d = q;
        while (isalnum((unsigned char)*q)) q++;
        if (q == d) return 0;
    }
    return *q == ';' ? (size_t)(q - p + 1) : 0;
}

static int is_void(const char *name, size_t n)
{
    static const char *const v[] = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (strlen(v[i]) == n && !strncmp(v[i], name, n)) return 1;
    return 0;
}

int xml_check(const char *doc, int html, char *msg, size_t size)
{
    const char *stack[MAX_DEPTH];
    size_t len[MAX_DEPTH];
    int depth = 0;
    const char *p = doc;
    while (*p) {
        if (*p == '&') {
            size_t n = entity_len(p);
            if (!n) return fail(msg, size, doc, p, "'&' that starts no entity");
            p += n;
            continue;
        }
        if (*p != '<') {
            p++;
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            const char *e = strstr(p, "-->");
            if (!e) return fail(msg, size, doc, p, "unclosed comment");
            p = e + 3;
            continue;
        }
        if (p[1] == '?' || p[1] == '!') {
            const char *e = strchr(p, '>');
            if (!e) return fail(msg, size, doc, p, "unclosed declaration");
            p = e + 1;
            continue;
        }
        int closing = p[1] == '/';
        const char *name = p + 1 + closing;
        const char *q = name;
        if (!isalpha((unsigned char)*q)) return fail(msg, size, doc, p, "'<' that starts no tag");
        while (isalnum((unsigned char)*q) || *q == ':' || *q == '-') q++;
        size_t nlen = (size_t)(q - name);
        if (closing) {
            while (isspace((unsigned char)*q)) q++;
            if (*q != '>') return fail(msg, size, doc, p, "junk in a closing tag");
            if (depth == 0 || len[depth - 1] != nlen || strncmp(stack[depth - 1], name, nlen))
                return fail(msg, size, doc, p, "closing tag that matches no open tag");
            depth--;
            p = q + 1;
            continue;
        }
        /* Attributes: name="value" or name='value'. */
        for (;;) {
            while (isspace((unsigned char)*q)) q++;
            if (*q == '>' || (*q == '/' && q[1] == '>')) break;
            const char *a = q;
            while (isalnum((unsigned char)*q) || *q == '-' || *q == ':' || *q == '_') q++;
            if (q == a) return fail(msg, size, doc, q, "bad attribute name");
            if (*q != '=') return fail(msg, size, doc, q, "attribute without a value");
            q++;
            char quote = *q;
            if (quote != '"' && quote != '\'') return fail(msg, size, doc, q, "unquoted value");
            q++;
            while (*q && *q != quote) {
                if (*q == '<') return fail(msg, size, doc, q, "'<' in an attribute value");
                if (*q == '&') {
                    size_t n = entity_len(q);
                    if (!n) return fail(msg, size, doc, q, "'&' in a value starts no entity");
                    q += n;
                    continue;
                }
                q++;
            }
            if (!*q) return fail(msg, size, doc, a, "unterminated attribute value");
            q++;
        }
        int self_close = *q == '/';
        p = q + (self_close ? 2 : 1);
        if (self_close || (html && is_void(name, nlen))) continue;
        if (html && ((nlen == 5 && !strncmp(name, "style", 5)) ||
                     (nlen == 6 && !strncmp(name, "script", 6)))) {
            char end[16];
            snprintf(end, sizeof end, "</%.*s>", (int)nlen, name);
            const char *e = strstr(p, end);
            if (!e) return fail(msg, size, doc, p, "unclosed raw-text element");
            p = e + strlen(end);
            continue;
        }
        if (depth == MAX_DEPTH) return fail(msg, size, doc, p, "nesting too deep");
        stack[depth] = name;
        len[depth] = nlen;
        depth++;
    }
    if (depth) {
        snprintf(msg, size, "end of document with <%.*s> still open", (int)len[depth - 1],
                 stack[depth - 1]);
        return -1;
    }
    return 0;
}

size_t count_of(const char *s, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = s; (p = strstr(p, needle)); p += k) n++;
    return n;
}
