"""Shared helpers of the task fetchers (scripts/fetch/tasks/*): download a
package from Debian or npm, and write a task directory deterministically.

Only Python's standard library; run with Debian's /usr/bin/python3.

write_task() applies the suite's rules (docs/tasks.md):
  - whitespace (tabs, newlines, runs of spaces) inside a text -> one space;
  - exact duplicate texts kept once (the first); texts seen with two different
    labels dropped entirely;
  - classes with fewer than min_class examples dropped (listed in meta.txt);
  - a fixed-seed shuffle, then all.tsv (or the given splits) written;
  - meta.txt (name, language, source, license, notes) and SOURCES (package and
    version of every input).
"""
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

WS = re.compile(r"\s+")
SEED = 20180701  # fixed shuffle seed of the whole suite


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, cwd=None):
    try:
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise SystemExit(f"fetch: {cmd[0]} not found; `scripts/setup fetch` installs what the fetchers need")
    if r.returncode != 0:
        raise SystemExit(f"fetch: {' '.join(cmd)} failed:\n{r.stderr.decode(errors='replace')}")
    return r.stdout.decode(errors="replace")


def cache_dir():
    d = os.environ.get("TAML_FETCH_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "taml", "packages")
    os.makedirs(d, exist_ok=True)
    return d


def debian_package(name):
    """Downloads Debian package `name` (apt-get download) and extracts it; returns
    (extracted root, version). Cached by name and version."""
    version = run(["apt-cache", "policy", name])
    m = re.search(r"Candidate:\s*(\S+)", version)
    if not m or m.group(1) == "(none)":
        run(["apt-get", "update", "-qq"])
        version = run(["apt-cache", "policy", name])
        m = re.search(r"Candidate:\s*(\S+)", version)
        if not m or m.group(1) == "(none)":
            raise SystemExit(f"fetch: Debian package {name} not found")
    ver = m.group(1)
    root = os.path.join(cache_dir(), f"deb-{name}-{ver.replace(':', '_')}")
    if not os.path.isdir(root):
        tmp = tempfile.mkdtemp(dir=cache_dir())
        run(["apt-get", "download", "-q", f"{name}={ver}"], cwd=tmp)
        debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
        if len(debs) != 1:
            raise SystemExit(f"fetch: apt-get download {name} gave {debs}")
        run(["dpkg-deb", "-x", os.path.join(tmp, debs[0]), os.path.join(tmp, "x")])
        os.rename(os.path.join(tmp, "x"), root)
        shutil.rmtree(tmp)
    return root, ver


def debian_license(root, name, fallback=None, path=None):
    """The licence of the data in extracted Debian package `name` (root from
    debian_package()), read from usr/share/doc/<name>/copyright. For a
    machine-readable (DEP-5) copyright file: the short licence name of the
    last Files stanza matching `path` (a path inside the package, e.g.
    "usr/share/wordnet/data.noun"; DEP-5 patterns are source paths, so a
    pattern also matches at the end of the path), else of the
    "Files: *" stanza. For a free-text copyright file: `fallback`, which the
    caller summarised by hand from that file (an error when missing)."""
    import fnmatch
    f = os.path.join(root, "usr", "share", "doc", name, "copyright")
    text = ""
    if os.path.exists(f):
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    if not text.startswith("Format:"):
        if fallback is None:
            raise SystemExit(f"fetch: {f}: not a machine-readable copyright file; give a fallback licence")
        return fallback
    best = None
    for para in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^(Files|License):[ \t]*(.*(?:\n[ \t].*)*)", para, re.M))
        if "Files" not in fields or "License" not in fields:
            continue
        pats = fields["Files"].split()
        lic = fields["License"].split("\n")[0].strip()
        if "*" in pats and best is None:
            best = lic
        if path and any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, "*/" + p)
                        for p in pats if p != "*"):
            best = lic
    if best is None:
        if fallback is None:
            raise SystemExit(f"fetch: {f}: no Files: * stanza; give a fallback licence")
        return fallback
    return best


def npm_package(spec):
    """Downloads npm package `spec` (name or name@version) with `npm pack` and
    unpacks it; returns (package root, name@version). Cached."""
    tmp = tempfile.mkdtemp(dir=cache_dir())
    try:
        out = run(["npm", "pack", "--silent", spec], cwd=tmp).strip().splitlines()
        tgz = os.path.join(tmp, out[-1])
        digest = hashlib.sha256(open(tgz, "rb").read()).hexdigest()[:16]
        root = os.path.join(cache_dir(), f"npm-{out[-1][:-4]}-{digest}")
        if not os.path.isdir(root):
            with tarfile.open(tgz) as tf:
                tf.extractall(os.path.join(tmp, "x"))
            os.rename(os.path.join(tmp, "x"), root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    pkg = os.path.join(root, "package")
    import json
    meta = json.load(open(os.path.join(pkg, "package.json")))
    return pkg, f"{meta['name']}@{meta['version']}"


def clean(text):
    return WS.sub(" ", text).strip()


def write_task(out_dir, name, rows, *, language, source, license, sources,
               min_class=20, splits=None, notes=()):
    """rows: iterable of (label, text). splits: None (shuffle and write all.tsv)
    or a dict {"train": rows, "valid": rows, "test": rows} written as is (each
    deduplicated within itself, in order). sources: list of "package version"
    strings. Returns the number of examples written."""
    notes = list(notes)

    def dedupe(rs):
        first, labels = {}, {}
        for label, text in rs:
            label, text = clean(label), clean(text)
            if not label or not text:
                continue
            labels.setdefault(text, set()).add(label)
            first.setdefault(text, label)
        conflicting = [t for t, ls in labels.items() if len(ls) > 1]
        for t in conflicting:
            del first[t]
        return [(l, t) for t, l in first.items()], len(conflicting)

    os.makedirs(out_dir, exist_ok=True)
    # SOURCES goes first and comes back last: `taml data fetch` takes it as the
    # mark of a finished fetch.
    for f in ("SOURCES", "all.tsv", "train.tsv", "valid.tsv", "test.tsv"):
        if os.path.exists(os.path.join(out_dir, f)):
            os.remove(os.path.join(out_dir, f))
    parts = {}
    if splits is None:
        kept, dropped = dedupe(rows)
        parts["all"] = kept
    else:
        dropped = 0
        for k in ("train", "valid", "test"):
            parts[k], d = dedupe(splits[k])
            dropped += d
    if dropped:
        notes.append(f"{dropped} texts seen with two different labels dropped")
    counts = {}
    for rs in parts.values():
        for l, _ in rs:
            counts[l] = counts.get(l, 0) + 1
    small = sorted(l for l, c in counts.items() if c < min_class)
    if small:
        notes.append(f"classes under {min_class} examples dropped: {', '.join(small)}")
        parts = {k: [r for r in rs if r[0] not in small] for k, rs in parts.items()}
    total = 0
    for k, rs in parts.items():
        if k == "all":
            rs = sorted(rs, key=lambda r: (r[1], r[0]))
            random.Random(SEED).shuffle(rs)
        with open(os.path.join(out_dir, k + ".tsv"), "w", encoding="utf-8", newline="\n") as f:
            for l, t in rs:
                f.write(f"{l}\t{t}\n")
        total += len(rs)
    with open(os.path.join(out_dir, "meta.txt"), "w", encoding="utf-8") as f:
        f.write(f"name={name}\nlanguage={language}\nsource={source}\nlicense={license}\n")
        for n in notes:
            f.write(f"note={n}\n")
    with open(os.path.join(out_dir, "SOURCES"), "w", encoding="utf-8") as f:
        for s in sources:
            f.write(s + "\n")
    log(f"{name}: {total} examples, {len(counts) - len(small)} classes")
    return total


def write_image_task(out_dir, name, images, labels, *, height, width, channels,
                     source, license, sources, min_class=20, notes=(), classes=None):
    """Writes an image task as images.u8 (n * height * width * channels bytes,
    one byte per pixel and channel, row-major, images one after another),
    labels.u8 (n bytes, the class of each image as a number 0..255) and
    meta.txt (name, n, height, width, channels, source, license, notes); the
    loader splits it 80/10/10 in file order. The text rules hold for images
    too: an image seen twice kept once, an image seen with two labels
    dropped, classes under min_class dropped, a fixed-seed shuffle. images:
    sequence of bytes objects of height * width * channels each; labels:
    ints. classes: None, or the names of label values 0, 1, ..., written as
    classes.txt (one a line) and naming the dropped classes in meta.txt.
    Returns the number of images written."""
    notes = list(notes)
    size = height * width * channels
    first, seen = {}, {}
    for img, label in zip(images, labels):
        img = bytes(img)
        if len(img) != size or not 0 <= label <= 255:
            raise SystemExit(f"fetch: {name}: image of {len(img)} bytes (expected {size}) or label {label} out of 0..255")
        seen.setdefault(img, set()).add(label)
        first.setdefault(img, label)
    conflicting = [i for i, ls in seen.items() if len(ls) > 1]
    for i in conflicting:
        del first[i]
    if conflicting:
        notes.append(f"{len(conflicting)} images seen with two different labels dropped")
    if len(seen) < len(labels):
        notes.append(f"{len(labels) - len(seen)} repeated images kept once")
    counts = {}
    for label in first.values():
        counts[label] = counts.get(label, 0) + 1
    small = sorted(l for l, c in counts.items() if c < min_class)
    if small:
        named = [classes[l] if classes and l < len(classes) else str(l) for l in small]
        notes.append(f"classes under {min_class} examples dropped: {', '.join(named)}")
    rows = sorted((i, l) for i, l in first.items() if l not in small)
    random.Random(SEED).shuffle(rows)
    os.makedirs(out_dir, exist_ok=True)
    for f in ("SOURCES", "images.u8", "labels.u8", "classes.txt"):
        if os.path.exists(os.path.join(out_dir, f)):
            os.remove(os.path.join(out_dir, f))
    if classes is not None:
        with open(os.path.join(out_dir, "classes.txt"), "w", encoding="utf-8") as f:
            f.write("".join(c + "\n" for c in classes))
    with open(os.path.join(out_dir, "images.u8"), "wb") as f:
        for img, _ in rows:
            f.write(img)
    with open(os.path.join(out_dir, "labels.u8"), "wb") as f:
        f.write(bytes(l for _, l in rows))
    with open(os.path.join(out_dir, "meta.txt"), "w", encoding="utf-8") as f:
        f.write(f"name={name}\nn={len(rows)}\nheight={height}\nwidth={width}\n"
                f"channels={channels}\nsource={source}\nlicense={license}\n")
        for n in notes:
            f.write(f"note={n}\n")
    with open(os.path.join(out_dir, "SOURCES"), "w", encoding="utf-8") as f:
        for s in sources:
            f.write(s + "\n")
    log(f"{name}: {len(rows)} images, {len(counts) - len(small)} classes")
    return len(rows)
