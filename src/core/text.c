/* core/text.c - the text rules of messages (see text.h). */
#include "core/text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

const char *taml_text_plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

char *taml_text_quote(char *out, size_t cap, const char *s, size_t len)
{
    /* room for the closing quote, "..." and the NUL */
    size_t o = 0, end = cap - 5, i = 0;
    out[o++] = '"';
    while (i < len) {
        char piece[8];
        size_t n = 0, used = 1;
        unsigned char c = (unsigned char)s[i];
        int32_t cp;
        int k = c >= 0x80 ? taml_utf8_decode((const unsigned char *)s + i, len - i, &cp) : 1;
        if (c == '"' || c == '\\') {
            piece[n++] = '\\';
            piece[n++] = (char)c;
        } else if (c == '\t' || c == '\n' || c == '\r') {
            piece[n++] = '\\';
            piece[n++] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
        } else if (c < 0x20 || c == 0x7f || k == 0) {
            n = (size_t)snprintf(piece, sizeof piece, "\\x%02x", c);
        } else {
            memcpy(piece, s + i, (size_t)k);
            n = (size_t)k;
            used = (size_t)k;
        }
        if (o + n > end) break;
        memcpy(out + o, piece, n);
        o += n;
        i += used;
    }
    out[o++] = '"';
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

const char *taml_text_errno(int e)
{
    if (e == ENOSPC) return "the disk is full (no space left on the device)";
    if (e == EDQUOT) return "the disk quota is exceeded (no space left for this user)";
    return strerror(e);
}

int taml_text_looks_binary(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return 1;
    }
    return taml_utf8_check(s, len) != len;
}

size_t taml_text_json_depth(const char *s, size_t len, size_t limit, size_t *at)
{
    size_t depth = 0, max = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                max = depth;
                if (max == limit + 1 && at) *at = i;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}
