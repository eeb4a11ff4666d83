"""experiments/tasks.py - the experiments' view of a task directory and of
taml's command line, shared by the side-by-side baselines (baselines.py) and
the Optuna / Python random-search drivers (tpe.py).

The point of this file is that every baseline sees exactly the examples taml
sees: the same split rule as the task loader (docs/formats.md "Task directories":
train/valid/test.tsv, else all.tsv cut 80/10/10 in file order with floors)
and the same tokens (taml's own tokeniser through `taml embed tokenise`, so
Unicode lower-casing and letter/digit runs agree to the code point). Only
text tasks are handled: the baselines are text classifiers.

Debian's python3 and its standard library only.
"""
import os
import re
import subprocess

# The reference's tokeniser rule (anchors/torch_child.py): the fallback when
# no taml binary is given. taml's differs on U+0130 and Unicode-15 letters only.
TOKEN = re.compile(r"[^\W_]+")
# `taml embed tokenise` writes no line for a text without tokens (it is meant
# for corpora); a sentinel word in front of every text keeps one output line
# per input line, and is removed again.
SENTINEL = "tamlsentinel0"


def taml_bin():
    """The taml binary: $TAML_BIN, else build/taml of the repository."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("TAML_BIN", os.path.join(os.path.dirname(here), "build", "taml"))


def read_tsv(path):
    """LABEL<TAB>TEXT lines as (label, text) pairs, with the loader's rules:
    a UTF-8 BOM and CR LF accepted, blank lines at the end ignored; a line
    without a TAB or a blank line in the middle is an error."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    while lines and lines[-1].rstrip(b"\r") == b"":
        lines.pop()
    rows = []
    for i, raw in enumerate(lines, 1):
        line = raw.decode("utf-8")
        if line.endswith("\r"):
            line = line[:-1]
        label, tab, text = line.partition("\t")
        if not tab or not label:
            raise ValueError("%s:%d: expected LABEL<TAB>TEXT" % (path, i))
        rows.append((label, text))
    return rows


def load_splits(task_dir):
    """{'train': [(label, text)], 'valid': [...], 'test': [...]} as taml
    splits the task in task_dir. Raises ValueError for an image task."""
    names = [os.path.join(task_dir, s + ".tsv") for s in ("train", "valid", "test")]
    if all(os.path.isfile(p) for p in names):
        return dict(zip(("train", "valid", "test"), (read_tsv(p) for p in names)))
    path = os.path.join(task_dir, "all.tsv")
    if not os.path.isfile(path):
        raise ValueError("%s: not a text task (no all.tsv or train/valid/test.tsv)" % task_dir)
    rows = read_tsv(path)
    n_train, n_valid = len(rows) * 8 // 10, len(rows) // 10
    return {"train": rows[:n_train], "valid": rows[n_train:n_train + n_valid],
            "test": rows[n_train + n_valid:]}


def is_text_task(task_dir):
    return any(os.path.isfile(os.path.join(task_dir, f)) for f in ("all.tsv", "train.tsv"))


def tokenise(texts, taml=None):
    """One token list per text. With a taml binary (default: taml_bin() when
    it exists) the tokens are taml's own; else the reference's Python rule."""
    taml = taml or taml_bin()
    if not os.path.exists(taml):
        return [TOKEN.findall(t.lower()) for t in texts]
    # Texts hold no newline (one TSV line each); CR, form feeds and the like
    # are separators for the tokeniser and for str.split alike.
    data = "".join("%s %s\n" % (SENTINEL, t.replace("\n", " ")) for t in texts).encode("utf-8")
    out = subprocess.run([taml, "embed", "tokenise"], input=data, stdout=subprocess.PIPE,
                         check=True).stdout.decode("utf-8").split("\n")
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(texts):
        raise RuntimeError("taml embed tokenise gave %d lines for %d texts" % (len(out), len(texts)))
    toks = []
    for line in out:
        words = line.split(" ")
        if words[0] != SENTINEL:
            raise RuntimeError("taml embed tokenise: line without the sentinel: %r" % line[:80])
        toks.append(words[1:])
    return toks


def tokenised_splits(task_dir, taml=None):
    """load_splits with each text replaced by its token list."""
    splits = load_splits(task_dir)
    out = {}
    for name, rows in splits.items():
        toks = tokenise([t for _, t in rows], taml)
        out[name] = [(label, tk) for (label, _), tk in zip(rows, toks)]
    return out
