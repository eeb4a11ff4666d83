/* search/method.c - the search strategies' names (see method.h). */
#include "search/method.h"

#include <string.h>

static const char *const method_names[] = {"random", "aml", "multitask", "transfer"};

const char *taml_search_method_name(taml_search_method m)
{
    return (unsigned)m < 4 ? method_names[m] : "?";
}

int taml_search_method_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, method_names[i])) return i;
    return -1;
}
