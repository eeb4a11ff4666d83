"""Reading Debian's wordnet-base (WordNet 3.0), shared by the wordnet-* task
fetchers (scripts/fetch/tasks/wordnet-*).

Each synset line of usr/share/wordnet/data.{noun,verb,adj,adv} is
"offset lex_filenum ss_type w_cnt word lex_id ... | gloss"; license-header
lines start with two spaces. The text of an example is the gloss (definition
and example sentences, as WordNet gives them), not the synset's words. The
lexicographer file names (noun.animal, verb.motion, ...) are read from the
package's own lexnames(5WN) manual page, so the number -> name map is the
package's, not a copy.
"""
import gzip
import os
import re

import common

WN_DIR = os.path.join("usr", "share", "wordnet")
POS_FILES = [("adj", "data.adj"), ("adv", "data.adv"), ("noun", "data.noun"), ("verb", "data.verb")]


def lexnames(root):
    """{lex_filenum: name} from man5/lexnames.5WN.gz."""
    path = os.path.join(root, "usr", "share", "man", "man5", "lexnames.5WN.gz")
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        names = {int(n): name for n, name in re.findall(r"^(\d\d)\t([a-z]+\.[A-Za-z]+)", f.read(), re.M)}
    if len(names) != 45:
        raise SystemExit(f"fetch: {path}: expected the 45 lexicographer files, found {len(names)}")
    return names


def synsets(root, data_file):
    """(lex_filenum, gloss) of every synset of one data file, in file order."""
    out = []
    with open(os.path.join(root, WN_DIR, data_file), encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, sep, gloss = line.partition(" | ")
            if not sep:
                continue
            out.append((int(head.split()[1]), gloss.strip()))
    return out


def task(out_dir, name, parts, label_of, what):
    """Writes the task `name` from the data files `parts` (names in
    POS_FILES); label_of(pos, lexname) gives each synset's label."""
    root, ver = common.debian_package("wordnet-base")
    names = lexnames(root)
    rows = []
    for pos, data_file in POS_FILES:
        if pos in parts:
            rows += [(label_of(pos, names[n]), g) for n, g in synsets(root, data_file)]
    return common.write_task(
        out_dir, name, rows, language="en",
        source=f"Debian wordnet-base (WordNet 3.0 {', '.join('data.' + p for p in parts)}: gloss -> {what})",
        license=common.debian_license(root, "wordnet-base", path="usr/share/wordnet/data.noun"),
        sources=[f"wordnet-base {ver}"],
        notes=["text: the synset's gloss (definition and examples), without its words"])
