"""Emoji annotations (npm emojibase-data), shared by the fetchers
tasks/emoji-group-en and tasks/emoji-group-es: each emoji's name and keywords
in one language -> its Unicode emoji group."""
import json
import os
import pathlib

import common

PACKAGE = "emojibase-data@17.0.0"


def write(out_dir, name, lang, language):
    """Writes task `name` from emojibase's `lang` data (e.g. "en", "es")."""
    pkg, version = common.npm_package(PACKAGE)
    lic = pathlib.Path(pkg, "LICENSE").read_text(encoding="utf-8")
    if not lic.startswith("MIT License"):
        raise SystemExit(f"fetch: {version}: LICENSE is no longer the MIT license")
    # Group numbers -> emojibase's English keys ("smileys-emotion", ...), the
    # same labels in every language.
    groups = json.loads(pathlib.Path(pkg, "meta", "groups.json").read_text(encoding="utf-8"))["groups"]
    data = json.loads(pathlib.Path(pkg, lang, "data.json").read_text(encoding="utf-8"))
    rows, ungrouped = [], 0
    for e in data:
        if e.get("group") is None:  # regional indicator letters
            ungrouped += 1
            continue
        text = e["label"] + (": " + ", ".join(e["tags"]) if e.get("tags") else "")
        rows.append((groups[str(e["group"])], text))
    common.write_task(
        out_dir, name, rows, language=language,
        source=f"npm {version} ({lang}/data.json: Unicode CLDR annotations)",
        license="MIT + Unicode-3.0 (emojibase-data; its annotations come from Unicode CLDR)",
        sources=[f"npm {version}"],
        notes=["text: the emoji's name, then its keywords; the emoji itself and its skin-tone variants left out",
               f"{ungrouped} emojis without a group (regional indicators) left out",
               "labels: emojibase's group keys (meta/groups.json)"])
