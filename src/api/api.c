/* api/api.c - the public library surface (include/taml/taml.h) over the
 * layers below: it translates plain data and opaque handles to the internal
 * calls, so that nothing of src/ is in a program's include path. */
#include <taml/taml.h>

const char *taml_api_version(void)
{
    return TAML_VERSION;
}
