/* core/version.h - taml's version: printed by `taml --version`, recorded in
 * every new study and in exported models. One definition for the whole tree. */
#ifndef TAML_CORE_VERSION_H
#define TAML_CORE_VERSION_H

#define TAML_VERSION "0.1.0"

#endif
