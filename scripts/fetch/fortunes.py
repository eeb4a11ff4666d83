"""Reading Debian's fortune packages, shared by the fortunes-* task fetchers
(scripts/fetch/tasks/fortunes-*).

A fortune file is text with one fortune per block, blocks separated by a line
holding only "%". Besides the fortune files, a package ships strfile indexes
(*.dat), *.u8 symlinks or empty placeholders, and symlinked aliases of the
same files: only regular, non-empty files without those suffixes are read,
each once.

What is left out, and why:
  - offensive collections (fortunes-es's off/ directory): they are ROT13
    encoded upstream and were not asked for; they are skipped, not decoded;
  - ASCII-art collections (en ascii-art, de asciiart): their text is drawing
    characters that collapse into junk once whitespace is folded;
  - banner-like files without any "%" separator (it banner) end up a single
    text and fall under the suite's small-class rule.

Text clean-up: each file is decoded as UTF-8, and as latin-1 if that fails
(none in bookworm does, but older packages did); overstrike sequences
(char, backspace) keep only the struck character; ANSI escape sequences and
other control characters are removed. Whitespace folding is write_task's.
"""
import os
import re

import common

FORTUNE_DIR = os.path.join("usr", "share", "games", "fortunes")
SKIP_DIRS = {"off"}                 # ROT13 offensive collections
SKIP_FILES = {"ascii-art", "asciiart"}
SEP = re.compile(r"^%[ \t]*$", re.M)
OVERSTRIKE = re.compile(r".\x08")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Licences of the packages whose copyright file is not machine-readable,
# summarised by hand from that file (read it for the full text).
FREE_TEXT_LICENSES = {
    "fortunes": "BSD (fortune-mod, Regents of the University of California); fortunes collected from public postings",
    "fortunes-min": "BSD (fortune-mod, Regents of the University of California); fortunes collected from public postings",
    "fortunes-it": "public domain (fortune-it COPYING-POLICY: freeware, not copyrighted)",
    "fortunes-eo": "public domain (Zamenhof, died 1917); GPL for the computerised version",
    "fortunes-br": "GPL-2+",
}


def decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def clean_fortune(text):
    text = text.replace("\r\n", "\n")
    while OVERSTRIKE.search(text):
        text = OVERSTRIKE.sub("", text)
    text = ANSI.sub("", text)
    return CONTROL.sub(" ", text).strip()


def fortune_files(root, subdir=""):
    """Sorted (category, path) of the fortune files of an extracted package
    under usr/share/games/fortunes/<subdir>. The category is the file name
    less ".fortunes" (fortunes-es, fortunes-de name some files so)."""
    base = os.path.join(root, FORTUNE_DIR, subdir)
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS
                             and not os.path.islink(os.path.join(dirpath, d)))
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            if f.endswith((".dat", ".u8")) or os.path.islink(p) or not os.path.isfile(p):
                continue
            if os.path.getsize(p) == 0:
                continue
            cat = f.replace(".fortunes", "")
            if cat in SKIP_FILES:
                continue
            out.append((cat, p))
    return out


def read_fortunes(path):
    """The cleaned, non-empty fortunes of one file, in file order."""
    with open(path, "rb") as f:
        text = decode(f.read())
    out = []
    for block in SEP.split(text.replace("\r\n", "\n")):
        block = clean_fortune(block)
        if block:
            out.append(block)
    return out


def package_rows(pkg, subdir="", skip=()):
    """Downloads Debian package pkg and returns (rows, source line, license):
    rows are (category, fortune) of every fortune file under subdir, except
    the categories in skip."""
    root, ver = common.debian_package(pkg)
    rows = []
    for cat, path in fortune_files(root, subdir):
        if cat in skip:
            continue
        rows.extend((cat, t) for t in read_fortunes(path))
    lic = common.debian_license(root, pkg, FREE_TEXT_LICENSES.get(pkg))
    return rows, f"{pkg} {ver}", lic


NOTES = ("fortune files read: regular files under usr/share/games/fortunes; "
         "offensive (ROT13, off/) and ASCII-art collections skipped; "
         "overstrike and ANSI sequences removed")


def category_task(out_dir, name, language, packages):
    """Writes the task `name`: fortune -> its fortune file, from the
    (package, subdir) pairs given."""
    rows, sources, lics = [], [], []
    for pkg, subdir in packages:
        r, src, lic = package_rows(pkg, subdir)
        rows += r
        sources.append(src)
        if lic not in lics:
            lics.append(lic)
    desc = ", ".join(p for p, _ in packages)
    return common.write_task(out_dir, name, rows, language=language,
                             source=f"Debian {desc} (fortune -> its fortune file)",
                             license="; ".join(lics), sources=sources,
                             notes=[NOTES])


LANGID_CAP = 2500
# (language, [(package, subdir, categories left out)]): the fortune packages
# of each language. fortunes-cs's klasik-sk is Slovak, not Czech.
LANGID_PACKAGES = [
    ("cs", [("fortunes-cs", "cs", {"klasik-sk"})]),
    ("de", [("fortunes-de", "de", set())]),
    ("en", [("fortunes", "", set()), ("fortunes-min", "", set())]),
    ("eo", [("fortunes-eo", "eo", set())]),
    ("es", [("fortunes-es", "es", set())]),
    ("it", [("fortunes-it", "it", set())]),
    ("pl", [("fortunes-pl", "pl", set())]),
    ("pt", [("fortunes-br", "", set())]),
]


def langid_task(out_dir, name):
    """Writes the task `name`: fortune -> language, at most LANGID_CAP
    fortunes per language, drawn with the suite's fixed seed from that
    language's distinct fortunes."""
    import random
    rows, sources, lics, notes = [], [], [], [NOTES]
    for lang, pkgs in LANGID_PACKAGES:
        texts = set()
        for pkg, subdir, skip in pkgs:
            r, src, lic = package_rows(pkg, subdir, skip)
            texts.update(common.clean(t) for _, t in r)
            sources.append(src)
            lics.append(f"{pkg}: {lic}")
        texts = sorted(texts)
        if len(texts) > LANGID_CAP:
            notes.append(f"{lang}: {LANGID_CAP} of {len(texts)} distinct fortunes drawn")
            texts = sorted(random.Random(common.SEED).sample(texts, LANGID_CAP))
        rows += [(lang, t) for t in texts]
    notes.append("languages (mul): cs, de, en, eo, es, it, pl, pt; pt is Brazilian Portuguese "
                 "(fortunes-br); cs leaves out the Slovak klasik-sk file")
    return common.write_task(out_dir, name, rows, language="mul",
                             source="Debian fortune packages of 8 languages (fortune -> language)",
                             license="mixed (per package: " + "; ".join(lics) + ")",
                             sources=sources, notes=notes)
