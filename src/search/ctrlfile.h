/* search/ctrlfile.h - controller files (ctrl/ctrlfile.h) made from a study,
 * described for people, and found where taml ships them.
 *
 * Provenance (the JSON object a controller file carries; docs/formats.md
 * "Controller files"): "format" ("taml controller"), "taml_version" (of the
 * taml that wrote the file), "study" (the study
 * file it was exported from, as given), "study_taml_version", "method",
 * "seed", "deterministic", "lag", "trials_per_task" (asked), "updates" (the
 * controller updates in its checkpoint), "space" (the controller's space,
 * canonical JSON text), "space_fingerprint" (hex), "space_label",
 * "tasks": [{"name", "dir", "trials" (finished), "fingerprint", "examples":
 * [train, valid, test], "classes", "kind"}] (the data identity the study
 * recorded, docs/formats.md "The data a study ran on"; the fields after
 * "trials" are absent when the study recorded none), "modules": [{"name",
 * "size", "crc32"}], and "rebuild": the command that makes the
 * same file again bit for bit (given by whoever exported it, e.g.
 * scripts/controller/build; else the study's own `taml search` command
 * line, rebuilt from what it recorded). Nothing in it depends on when or
 * on which machine the file was written (no time stamp, no module path),
 * so exporting the same study again gives the same bytes.
 */
#ifndef TAML_SEARCH_CTRLFILE_H
#define TAML_SEARCH_CTRLFILE_H

#include "core/err.h"

/* Writes the controller file out_path (atomically) from the newest
 * checkpoint of the multitask or transfer study at study_path; rebuild
 * (may be NULL) is the provenance's "rebuild", taml_version this taml's.
 * EINVAL for another method or a study without a checkpoint; errors name
 * the path. */
int taml_search_ctrlfile_export(const char *study_path, const char *out_path, const char *rebuild,
                                const char *taml_version, taml_err *err);

/* The controller file at path, checked (ctrl/ctrlfile.h), described as
 * text for people (json 0: a few lines, "file", "format", "checksum", then
 * the provenance's fields) or as JSON (json 1: {"file", "version",
 * "crc32", "size", "provenance": {...}}). Heap string in *out. */
int taml_search_ctrlfile_describe(const char *path, int json, char **out, taml_err *err);

/* The controller file taml ships for tasks of one kind ("text" or
 * "image"): home/controllers/default-KIND.tamlctrl (home: core/util.h's
 * taml_home). Heap string in *out, 1 when the file exists, 0 when not
 * (then *out still names where it would be). */
int taml_search_ctrlfile_default(const char *home, const char *kind, char **out);

#endif
