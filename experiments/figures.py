#!/usr/bin/python3
"""experiments/figures.py - copies chosen plots out of a `taml report` HTML
file into separate SVG files, for docs/RESULTS.md (GitHub shows an SVG file
where it will not show an HTML report). The plots are taml's own: every
SVG is copied byte for byte; nothing is redrawn.

usage:
  figures.py REPORT.html OUTDIR --prefix P [--match TEXT]... [--section TEXT]
             [--study METHOD] [--kind choices|probabilities]
Writes OUTDIR/P-<task>[-<study>]-<plot>.svg for every plot whose label (its
aria-label) contains one of the --match texts (all plots when none is
given), with --section, whose h3 section heading contains TEXT, and with
--study, that belongs to that study's block (by its method: random, aml,
multitask, transfer), and with --kind, that is in its block of shares of
choices over trials or of the controller's probabilities over trials. Prints the
files written; exits 1 when nothing matched (a report without the plot is
an error in a documentation build).
"""
import argparse
import html
import os
import re
import sys

TAG = re.compile(r'<h2([^>]*)>(.*?)</h2>|<h3[^>]*>(.*?)</h3>|<summary>(.*?)</summary>|(<svg\b.*?</svg>)',
                 re.S)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def plots(doc):
    """(task or '', section heading, study or '', label, svg text) of every
    plot, in order; the study is the method named by the collapsible block a
    per-study plot sits in and the block's kind ("aml choices" for "aml:
    aml.db: choices over trials", "aml probabilities" for the controller's
    probabilities over trials)."""
    task = section = study = ""
    text = lambda g: html.unescape(re.sub(r"<[^>]+>", "", g))  # noqa: E731
    for m in TAG.finditer(doc):
        if m.group(2) is not None:  # a task's section is <h2 id="task-N">Task NAME</h2>
            h = text(m.group(2))
            task = h[5:] if 'id="task-' in m.group(1) and h.startswith("Task ") else ""
            section = study = ""
        elif m.group(3) is not None:
            section, study = text(m.group(3)), ""
        elif m.group(4) is not None:
            summ = text(m.group(4))
            kind = "probabilities" if "probabilities" in summ else "choices" if "choices" in summ else ""
            study = summ.split(":", 1)[0] + (" " + kind if kind else "")
        else:
            svg = m.group(5)
            lab = re.search(r'aria-label="([^"]*)"', svg[:600])
            yield task, section, study, html.unescape(lab.group(1)) if lab else "", svg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report")
    ap.add_argument("outdir")
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--match", action="append", default=[])
    ap.add_argument("--section")
    ap.add_argument("--study")
    ap.add_argument("--kind", choices=["choices", "probabilities"])
    a = ap.parse_args()
    with open(a.report, encoding="utf-8") as f:
        doc = f.read()
    os.makedirs(a.outdir, exist_ok=True)
    n = 0
    for task, section, study, label, svg in plots(doc):
        if a.match and not any(t in label for t in a.match):
            continue
        if a.section and a.section not in section:
            continue
        if a.study and a.study != study.split(" ")[0]:
            continue
        if a.kind and not study.endswith(" " + a.kind):
            continue
        name = label.split(": ", 1)[-1] if task and label.startswith(task + ": ") else label
        parts = [a.prefix] + [x for x in (task, study) if x] + [name]
        path = os.path.join(a.outdir, "-".join(slug(p) for p in parts) + ".svg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg + "\n")
        print(path)
        n += 1
    if n == 0:
        sys.exit("figures: %s: no plot matches %s%s" % (
            a.report, a.match or "(any)", " in section %r" % a.section if a.section else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
