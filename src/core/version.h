/* core/version.h - taml's version for the sources under src/: the definition
 * is the public one, include/taml/version.h (installed with the library's
 * header), so that the binary, the library and the header agree. */
#ifndef TAML_CORE_VERSION_H
#define TAML_CORE_VERSION_H

#include <taml/version.h>

#endif
