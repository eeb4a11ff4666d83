/* search/method.h - the search strategies by name (search.h describes them).
 *
 * The enum is how the code tells the methods apart; the names are how they
 * are written where text is the format: the --method flag, the study store's
 * method column (src/store keeps text), the report. Convert at that
 * boundary, with taml_search_method_parse, and compare enums everywhere
 * else. Kept apart from search.h so that the read side (src/report) knows
 * the methods without the search loop's controller and executor headers.
 */
#ifndef TAML_SEARCH_METHOD_H
#define TAML_SEARCH_METHOD_H

typedef enum taml_search_method {
    TAML_SEARCH_RANDOM = 0,
    TAML_SEARCH_AML = 1,
    TAML_SEARCH_MULTITASK = 2,
    TAML_SEARCH_TRANSFER = 3,
} taml_search_method;

/* "random", "aml", "multitask", "transfer" ("?" for a value outside the
 * enum); a static string. */
const char *taml_search_method_name(taml_search_method m);
/* The method named s (exactly one of the names above), or -1 for any other
 * text and for NULL. */
int taml_search_method_parse(const char *s);

#endif
