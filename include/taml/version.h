/* taml/version.h - taml's version, the one definition for the whole tree:
 * printed by `taml version`, recorded in every new study and in exported
 * models (src/core/version.h includes this file), and installed with the
 * public header (taml/taml.h) so that a program can check at compile time
 * which taml it builds against. The shared library's soname is
 * libtaml.so.TAML_VERSION_MAJOR (the Makefile reads the numbers here). */
#ifndef TAML_VERSION_H
#define TAML_VERSION_H

#define TAML_VERSION_MAJOR 0
#define TAML_VERSION_MINOR 1
#define TAML_VERSION_PATCH 0
/* "MAJOR.MINOR.PATCH" */
#define TAML_VERSION "0.1.0"

#endif
