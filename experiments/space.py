#!/usr/bin/python3
"""experiments/space.py - writes the search space the experiments use, as the
JSON file `taml search --space` and tpe.py read: the paper's 12 decisions
(DESIGN.md "The search space") over the modules of the library, with one
deliberate change for this machine's budget (docs/RESULTS.md "Budgets"):

  samples: {1e3, 3e3, 1e4, 3e4, 1e5} instead of {1e3, ..., 1e6}.
  Under uniform sampling the two dropped choices, 3e5 and 1e6, are 1.3e6 of
  the 1.444e6 samples summed over the choices: about 90% of the expected
  training cost of a random trial. Keeping them would cut the trials the
  protocol can afford on 2 cores by about ten times.

`--paper-samples` keeps the paper's list; `--samples 1000,3000` gives another
(the toy budgets of the smoke targets). Every other decision is the paper's.
`--taml` appends the decisions of the taml space (`taml search --space taml`,
src/space/space.c) with the same choices: the text features beyond the
paper (docs/child-model.md "Text features beyond the paper").

`--kind image` writes the image experiment's space (issue 13): the
embedding choices are "pixels" and the library's image modules, and
fine_tune is [false] alone (taml's default image space does the same:
fine-tuning a CNN per trial is not affordable here and is refused by the
child, docs/modules.md).

usage: space.py [--modules DIR] [--kind text|image] [--paper-samples | --samples LIST] [--taml] [--module NAME ...] -o FILE
The embedding choices are the NAME.tamlm files of DIR (default $TAML_MODULES,
else data/modules of the repository) of the kind asked (default text; told
by the file's header, as `taml search` does), sorted, or the --module names
given.
"""
import argparse
import json
import os
import sys

SAMPLES_PAPER = [1000, 3000, 10000, 30000, 100000, 300000, 1000000]
SAMPLES_HERE = [1000, 3000, 10000, 30000, 100000]
# The taml space's decisions after the paper's 12 (src/space/space.c).
TAML_EXTRA = {
    "word_ngrams": [1, 2, 3],
    "char_ngrams": ["none", "2-4", "3-5"],
    "weighting": ["count", "log", "tfidf"],
    "subwords": [False, True],
}


def paper_space(modules, samples):
    lr = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
    reg = [0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, "disable"]
    return {
        "embedding": list(modules),
        "fine_tune": [False, True],
        "layers": [1, 2, 3, 5, 7],
        "hidden_size": [8, 16, 32, 64, 128, 256],
        "activation": ["relu", "swish"],
        "normalization": ["none", "batch_norm", "layer_norm"],
        "dropout": [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        "deep_lr": lr,
        "deep_l2": reg,
        "wide_lr": lr,
        "wide_l1": reg,
        "samples": list(samples),
    }


def module_kind(path):
    """"text" or "image", from the module file's header: version 2's
    section table holds the kind at offset 28 (docs/formats.md); version 1
    files are text."""
    with open(path, "rb") as f:
        head = f.read(32)
    if len(head) < 32 or head[:8] != b"TAMLMODL":
        return None
    version = int.from_bytes(head[8:12], "little")
    return "image" if version >= 2 and int.from_bytes(head[28:32], "little") == 1 else "text"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--modules", default=os.environ.get("TAML_MODULES", os.path.join(os.path.dirname(here), "data", "modules")))
    ap.add_argument("--module", action="append", help="an embedding choice (instead of the library's)")
    ap.add_argument("--paper-samples", action="store_true")
    ap.add_argument("--samples", help="another samples list, comma-separated (smoke runs)")
    ap.add_argument("--taml", action="store_true", help="append the taml space's text-feature decisions")
    ap.add_argument("--kind", choices=["text", "image"], default="text")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    if a.module:
        modules = a.module
    else:
        try:
            modules = sorted(f[:-6] for f in os.listdir(a.modules) if f.endswith(".tamlm")
                             and module_kind(os.path.join(a.modules, f)) == a.kind)
        except FileNotFoundError:
            modules = []
        if a.kind == "image":
            modules = ["pixels"] + modules
        elif not modules:
            sys.exit("space: no modules (*.tamlm) in %s: build the library with `taml embed "
                     "build-defaults`, or name modules with --module" % a.modules)
    samples = SAMPLES_PAPER if a.paper_samples else SAMPLES_HERE
    if a.samples:
        samples = [int(x) for x in a.samples.split(",")]
    space = paper_space(modules, samples)
    if a.taml:
        space.update(TAML_EXTRA)
    if a.kind == "image":
        space["fine_tune"] = [False]
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(space, f)
        f.write("\n")
    os.replace(tmp, a.out)
    print("%s: %d decisions, embedding modules: %s" % (a.out, len(space), " ".join(modules)))


if __name__ == "__main__":
    main()
