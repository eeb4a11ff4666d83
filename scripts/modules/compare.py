#!/usr/bin/python3
"""Compares the words and matrices of taml module files pairwise (two
builds of the default library, say), ignoring the metadata (build keys and
times differ between builds). Reads both versions of the module format
(src/embed/module.c: version 2 in the envelope, version 1 before it); only
Python's standard library.

usage: compare.py DIR_A DIR_B      (every NAME.tamlm present in both)
       compare.py FILE_A FILE_B
Prints one line per module: identical, or what differs. Exit status 1 when
any differs.
"""
import os
import struct
import sys


def sections(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"TAMLMODL" or len(data) < 112:
        raise SystemExit(f"{path}: not a taml module")
    (version,) = struct.unpack_from("<I", data, 8)
    if version == 1:  # u32 dim, u64 rows, u64 file size, then the sections
        (dim, rows, _size, _mo, _ml, wo, wl, _io, _ho, _hc, mo, ml) = struct.unpack_from(
            "<IQQQQQQQQQQQ", data, 12)
    elif version == 2:  # the envelope's 24 bytes, then u32 dim, u32 0, u64 rows, ...
        (dim, _zero, rows, _mo, _ml, wo, wl, _io, _ho, _hc, mo, ml) = struct.unpack_from(
            "<IIQQQQQQQQQQ", data, 24)
    else:
        raise SystemExit(f"{path}: module format version {version} is not known here")
    return dim, rows, data[wo:wo + wl], data[mo:mo + ml]


def compare(a, b):
    da, ra, wa, ma = sections(a)
    db, rb, wb, mb = sections(b)
    if (da, ra) != (db, rb):
        return f"shape {ra}x{da} vs {rb}x{db}"
    if wa != wb:
        return "words differ"
    if ma != mb:
        fa = struct.unpack(f"<{len(ma) // 4}f", ma)
        fb = struct.unpack(f"<{len(mb) // 4}f", mb)
        diff = sum(1 for x, y in zip(fa, fb) if x != y)
        worst = max(abs(x - y) for x, y in zip(fa, fb))
        return f"{diff} of {len(fa)} values differ (largest difference {worst:g})"
    return None


def main():
    a, b = sys.argv[1], sys.argv[2]
    if os.path.isdir(a):
        names = sorted(set(f for f in os.listdir(a) if f.endswith(".tamlm")) &
                       set(f for f in os.listdir(b) if f.endswith(".tamlm")))
        pairs = [(n, os.path.join(a, n), os.path.join(b, n)) for n in names]
    else:
        pairs = [(os.path.basename(a), a, b)]
    bad = 0
    for name, x, y in pairs:
        d = compare(x, y)
        print(f"{name}: {'identical words and matrix' if d is None else d}")
        bad |= d is not None
    return bad


if __name__ == "__main__":
    sys.exit(main())
