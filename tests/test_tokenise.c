/* tests/test_tokenise.c - the tokeniser: real text in several scripts, the
 * reference implementation's output (tests/ref/), and the documented
 * differences from it. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "core/utf8.h"
#include "data/tokenise.h"
#include "test.h"

typedef struct joined {
    char *s;
    size_t len, cap;
} joined;

static void join_token(const char *tok, size_t len, void *ctx)
{
    joined *j = ctx;
    if (j->len + len + 2 > j->cap) {
        while (j->len + len + 2 > j->cap) j->cap = j->cap ? 2 * j->cap : 256;
        j->s = taml_realloc(j->s, j->cap);
    }
    if (j->len) j->s[j->len++] = ' ';
    memcpy(j->s + j->len, tok, len);
    j->len += len;
    j->s[j->len] = '\0';
}

/* The tokens of text joined by single spaces (heap; "" when none). */
static char *toks(const char *text, size_t *n)
{
    joined j = {0};
    size_t k = taml_tokenise(text, strlen(text), join_token, &j);
    if (n) *n = k;
    return j.s ? j.s : taml_strdup("");
}

#define CHECK_TOKS(text, want)                                                 \
    do {                                                                       \
        char *got_ = toks(text, NULL);                                         \
        int ok_ = strcmp(got_, want) == 0;                                     \
        if (!ok_) {                                                            \
            fprintf(stderr, "  tokens of \"%s\":\n    got  \"%s\"\n    want \"%s\"\n", text, got_, want); \
        }                                                                      \
        free(got_);                                                            \
        CHECK(ok_);                                                            \
    } while (0)

TEST(tokenise_english_lowercases_and_splits_on_punctuation_and_apostrophes)
{
    size_t n;
    char *s = toks("Don't PANIC: it's 3.14, isn't it?", &n);
    CHECK_STR(s, "don t panic it s 3 14 isn t it");
    CHECK_EQ_INT(n, 10);
    free(s);
    CHECK_TOKS("e-mail john_doe@example.com #tag $100 50% 2nd", "e mail john doe example com tag 100 50 2nd");
    CHECK_TOKS("", "");
    CHECK_TOKS(" \t\r\n,.;!? -- ", "");
    CHECK_TOKS("a", "a");
    CHECK_TOKS("ABC123def", "abc123def");
}

TEST(tokenise_spanish_and_german_keep_accents_and_sharp_s_in_words)
{
    CHECK_TOKS("¿Qué tal? ¡ÑANDÚ, PINGÜINO! El niño comió piñas en Ávila.",
               "qué tal ñandú pingüino el niño comió piñas en ávila");
    CHECK_TOKS("Übermaß, GROSSE Straße, ÄRGER, Öl", "übermaß grosse straße ärger öl");
}

TEST(tokenise_cyrillic_greek_and_cjk_runs_become_tokens)
{
    CHECK_TOKS("Все счастливые семьи похожи, ЁЛКА по-своему.", "все счастливые семьи похожи ёлка по своему");
    /* Capital sigma at a word's end lower-cases to final sigma, as Python does. */
    CHECK_TOKS("ΟΔΟΣ ΑΘΗΝΑΣ, Σίσυφος", "οδος αθηνας σίσυφος");
    CHECK_TOKS("Σ ΑΣ1 1Σ", "σ ας1 1σ");
    /* ... but not when a cased letter follows across an apostrophe or colon. */
    CHECK_TOKS("ΌΣΟΣ'Α", "όσοσ α");
    CHECK_TOKS("ΑΣ:Α ΑΣ:1", "ασ α ας 1");
    /* Cased and case-ignorable characters around it, as Python decides them:
     * ordinal indicators and squared capitals are cased, modifier letters
     * are skipped. */
    CHECK_TOKS("ªΣ ʰΣ AʰΣ", "ªς ʰσ aʰς");
    CHECK_TOKS("ΑΣ\xf0\x9f\x84\xb0", "ασ"); /* U+1F130 SQUARED LATIN CAPITAL LETTER A follows */
    /* CJK: ideographs, kana and digits between punctuation form one token. */
    CHECK_TOKS("人人生而自由，在尊严和权利上一律平等。", "人人生而自由 在尊严和权利上一律平等");
    CHECK_TOKS("東京タワーは333メートルです。", "東京タワーは333メートルです");
    CHECK_TOKS("모든 인간은 태어날 때부터", "모든 인간은 태어날 때부터");
}

TEST(tokenise_strips_symbols_emoji_and_combining_marks_but_keeps_numbers)
{
    CHECK_TOKS("Emoji 😀 ★ ♥ © € — «x» ½ ² Ⅻ ①", "emoji x ½ ² ⅻ ①");
    /* A combining mark (category Mn) separates, as in the reference: use NFC text. */
    CHECK_TOKS("cafe\xcc\x81 caf\xc3\xa9", "cafe café");
    /* Soft hyphen and zero-width space are format characters: separators. */
    CHECK_TOKS("soft\xc2\xadhyphen zero\xe2\x80\x8bwidth", "soft hyphen zero width");
}

TEST(tokenise_dotted_capital_i_is_simple_lowercase_unlike_python)
{
    /* The documented difference: Python's full lower-casing writes U+0130 as
     * "i" + U+0307 and so splits "İstanbul" into "i", "stanbul"; utf8proc's
     * simple mapping gives one word. */
    CHECK_TOKS("İSTANBUL İstanbul", "istanbul istanbul");
}

TEST(tokenise_invalid_utf8_bytes_act_as_separators)
{
    CHECK_TOKS("ab\xff" "cd\xc3(ef\xed\xa0\x80gh\xc0\xafij", "ab cd ef gh ij");
    CHECK_TOKS("x\xe4\xb8", "x"); /* a sequence cut at the end */
}

typedef struct where {
    const char *ptr[4];
    int n;
} where;

static void note_ptr(const char *tok, size_t len, void *ctx)
{
    (void)len;
    where *w = ctx;
    if (w->n < 4) w->ptr[w->n] = tok;
    w->n++;
}

TEST(tokenise_unchanged_tokens_point_into_the_input)
{
    /* Tokens that lower-casing leaves alone are passed without a copy. */
    const char *text = "abc DEF ghi";
    where w = {0};
    CHECK_EQ_INT(taml_tokenise(text, strlen(text), note_ptr, &w), 3);
    CHECK_EQ_INT(w.n, 3);
    CHECK(w.ptr[0] == text);
    CHECK(w.ptr[1] < text || w.ptr[1] >= text + strlen(text));
    CHECK(w.ptr[2] == text + 8);
}

TEST(tokenise_long_tokens_are_lowercased_whole)
{
    size_t len = 100000;
    char *text = taml_malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++) memcpy(text + 2 * i, "\xc3\x84", 2); /* Ä */
    text[2 * len] = '\0';
    char *s = toks(text, NULL);
    CHECK_EQ_INT(strlen(s), 2 * len);
    for (size_t i = 0; i < len; i++) CHECK(memcmp(s + 2 * i, "\xc3\xa4", 2) == 0); /* ä */
    free(s);
    free(text);
}

TEST(tokenise_matches_reference_python_on_real_text_in_many_scripts)
{
    taml_err err;
    char *cases = NULL, *want = NULL;
    size_t nc = 0, nw = 0;
    CHECK(taml_read_file("tests/ref/tokenise_cases.txt", &cases, &nc, &err) == 0);
    CHECK(taml_read_file("tests/ref/tokenise_expected.txt", &want, &nw, &err) == 0);
    char *c = cases, *w = want;
    if (*w == '#') w = strchr(w, '\n') + 1; /* the header line names the Python version */
    int lines = 0, same = 0;
    while (*c && *w) {
        char *ce = strchr(c, '\n'), *we = strchr(w, '\n');
        CHECK(ce && we);
        *ce = *we = '\0';
        char *got = toks(c, NULL);
        if (!strcmp(got, w))
            same++;
        else
            fprintf(stderr, "  line %d: got \"%s\"\n          want \"%s\"\n", lines + 1, got, w);
        free(got);
        lines++;
        c = ce + 1;
        w = we + 1;
    }
    CHECK(*c == '\0' && *w == '\0');
    CHECK(lines >= 20);
    CHECK_EQ_INT(same, lines);
    free(cases);
    free(want);
}

TEST(utf8_check_finds_the_first_bad_byte)
{
    CHECK_EQ_INT(taml_utf8_check("hello", 5), 5);
    const char *mixed = "h\xc3\xa9llo w\xc3\xb6rld \xe6\x9d\xb1 \xf0\x9f\x98\x80"; /* 22 bytes */
    CHECK_EQ_INT(taml_utf8_check(mixed, 22), 22);
    CHECK_EQ_INT(taml_utf8_check(mixed, 20), 18); /* the emoji cut in half */
    CHECK_EQ_INT(taml_utf8_check("abcdefghij\xff", 11), 10);
    CHECK_EQ_INT(taml_utf8_check("ab\xc0\xaf", 4), 2);         /* overlong '/' */
    CHECK_EQ_INT(taml_utf8_check("ab\xed\xa0\x80", 5), 2);     /* surrogate */
    CHECK_EQ_INT(taml_utf8_check("\xf4\x90\x80\x80", 4), 0);   /* above U+10FFFF */
    CHECK_EQ_INT(taml_utf8_check("abc\xe6\x9d", 5), 3);        /* cut short */
    CHECK_EQ_INT(taml_utf8_check("abc\x80", 4), 3);            /* lone continuation */
}
