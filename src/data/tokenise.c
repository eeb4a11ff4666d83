/* data/tokenise.c - the tokeniser (see tokenise.h and docs/formats.md "Tokeniser").
 *
 * Speed matters here: every text of every task passes through it once per
 * load. ASCII bytes go through a 256-entry table; only non-ASCII code points
 * ask utf8proc for their category and lower-case mapping. A token whose bytes
 * are already lower-case is emitted straight from the input (no copy); only a
 * token holding an upper-case or other changing character is rewritten.
 */
#include "data/tokenise.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/err.h"
#include "core/utf8.h"

/* ascii_word[c]: 0 for a separator, else the lower-cased byte. */
static const unsigned char ascii_word[128] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f',
    ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l',
    ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
    ['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
    ['y'] = 'y', ['z'] = 'z',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
    ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
    ['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
    ['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
    ['Y'] = 'y', ['Z'] = 'z',
};

int taml_tokenise_is_word_char(int32_t cp)
{
    if (cp < 0x80) return cp >= 0 && ascii_word[cp] != 0;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* Unicode's Case_Ignorable property (used by the final-sigma rule): marks,
 * format characters, modifier letters and symbols, and the apostrophes,
 * periods and colons that sit inside words (Word_Break MidLetter, MidNumLet,
 * Single_Quote). */
static int case_ignorable(int32_t cp)
{
    switch (cp) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
    case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return 1;
    default:
        break;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
        return 1;
    default:
        return 0;
    }
}

/* Unicode's Cased property: upper-, lower- and title-case letters, any
 * character with a case mapping (this covers the circled letters and Roman
 * numerals), and the few Other_Lowercase/Other_Uppercase characters with
 * neither: the ordinal indicators and the squared, parenthesised and
 * negative circled Latin capitals (U+1F130..U+1F189). Modifier letters
 * (Lm) are cased too, but they are also case-ignorable, which the
 * final-sigma rule tests first. tests/ref/check_unicode.py checks the rule
 * against Python over every code point. */
static int cased(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT)
        return 1;
    if (cp == 0xAA || cp == 0xBA || (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
        (cp >= 0x1F170 && cp <= 0x1F189))
        return 1;
    return utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp;
}

/* Decodes the code point that ends just before s[i] (i > 0); returns its start
 * or, for ill-formed bytes, i - 1 with *cp = -1. */
static size_t decode_back(const unsigned char *s, size_t i, int32_t *cp)
{
    size_t j = i - 1;
    int k = 0;
    while (j > 0 && k < 3 && (s[j] & 0xC0) == 0x80) j--, k++;
    if (taml_utf8_decode(s + j, i - j, cp) == (int)(i - j)) return j;
    *cp = -1;
    return i - 1;
}

/* Python's str.lower() rule for U+03A3 at s[at..at+2): it becomes final sigma
 * U+03C2 when a cased character precedes it (case-ignorable ones skipped)
 * and no cased character follows it (case-ignorable ones skipped). */
static int final_sigma(const unsigned char *s, size_t len, size_t at)
{
    int32_t cp = -1;
    size_t j = at;
    while (j > 0) {
        j = decode_back(s, j, &cp);
        if (cp < 0 || !case_ignorable(cp)) break;
    }
    if (j == at || cp < 0 || case_ignorable(cp) || !cased(cp)) return 0;
    size_t i = at + 2;
    while (i < len) {
        int n = taml_utf8_decode(s + i, len - i, &cp);
        if (n == 0) return 1; /* ill-formed bytes: neither cased nor ignorable */
        if (!case_ignorable(cp)) return !cased(cp);
        i += (size_t)n;
    }
    return 1;
}

/* Writes the lower-cased form of the token s[start..end) into out (at least
 * 4 * (end - start) bytes: no character grows beyond 4 bytes; in fact no
 * lower-case form is more than twice its source's length). Returns its length. */
static size_t lower_token(const unsigned char *s, size_t len, size_t start, size_t end,
                          unsigned char *out)
{
    size_t o = 0;
    for (size_t i = start; i < end;) {
        if (s[i] < 0x80) {
            out[o++] = ascii_word[s[i]];
            i++;
            continue;
        }
        int32_t cp;
        int n = taml_utf8_decode(s + i, end - i, &cp);
        TAML_ASSERT(n > 0); /* the token scan accepted these bytes */
        int32_t lc = cp == 0x3A3 && final_sigma(s, len, i) ? 0x3C2 : utf8proc_tolower(cp);
        o += (size_t)utf8proc_encode_char(lc, out + o);
        i += (size_t)n;
    }
    return o;
}

size_t taml_tokenise(const char *text, size_t len, taml_token_fn emit, void *ctx)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, count = 0;
    unsigned char small[256];
    while (i < len) {
        /* Skip separators up to the first character of a token. */
        int32_t cp = 0;
        int n = 1;
        while (i < len) {
            if (s[i] < 0x80) {
                if (ascii_word[s[i]]) break;
                i++;
                continue;
            }
            n = taml_utf8_decode(s + i, len - i, &cp);
            if (n > 0 && taml_tokenise_is_word_char(utf8proc_tolower(cp))) break;
            i += n > 0 ? (size_t)n : 1;
        }
        if (i >= len) break;
        /* Scan the token; note whether lower-casing changes any byte. */
        size_t start = i;
        int rewrite = 0;
        while (i < len) {
            unsigned c = s[i];
            if (c < 0x80) {
                if (!ascii_word[c]) break;
                rewrite |= c >= 'A' && c <= 'Z';
                i++;
                continue;
            }
            n = taml_utf8_decode(s + i, len - i, &cp);
            if (n == 0) break;
            int32_t lc = utf8proc_tolower(cp);
            if (!taml_tokenise_is_word_char(lc)) break;
            rewrite |= lc != cp;
            i += (size_t)n;
        }
        size_t tlen = i - start;
        if (!rewrite) {
            emit(text + start, tlen, ctx);
        } else {
            unsigned char *buf = 4 * tlen <= sizeof small ? small : taml_malloc(4 * tlen);
            size_t olen = lower_token(s, len, start, i, buf);
            emit((const char *)buf, olen, ctx);
            if (buf != small) free(buf);
        }
        count++;
    }
    return count;
}
