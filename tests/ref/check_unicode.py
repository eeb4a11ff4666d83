#!/usr/bin/python3
"""Compares taml's tokeniser with the reference's rule (Python: text.lower(),
then the runs of str.isalnum(), regex [^\\W_]+) over every Unicode code
point. Not part of `make test` (needs gcc and python3); run from the
repository root:
    python3 tests/ref/check_unicode.py
Part 1 compares the per-character rules (utf8proc_tolower then category L*/N*,
against str.lower then str.isalnum), through ctypes on the same utf8proc.
Part 2 builds src/data/tokenise.c as a shared library and tokenises, for
every code point c assigned in Python's Unicode, the probes below (which also
exercise the final-sigma rule around c), comparing the tokens with Python's.
It prints the disagreements by kind with a few examples."""
import ctypes
import ctypes.util
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

TOKEN = re.compile(r"[^\W_]+")

# Part 1: the character rules.
u8 = ctypes.CDLL(ctypes.util.find_library("utf8proc") or "libutf8proc.so.2")
u8.utf8proc_category.restype = ctypes.c_int
u8.utf8proc_tolower.restype = ctypes.c_int32
u8.utf8proc_version.restype = ctypes.c_char_p
u8.utf8proc_unicode_version.restype = ctypes.c_char_p
WORD = {1, 2, 3, 4, 5, 9, 10, 11}  # UTF8PROC_CATEGORY_LU LL LT LM LO ND NL NO
kinds = {}
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    ch = chr(cp)
    lo_c = u8.utf8proc_tolower(cp)
    c_word = u8.utf8proc_category(lo_c) in WORD
    lo_py = ch.lower()
    if len(lo_py) != 1:
        kind = "python lower-cases to %d characters" % len(lo_py)
    elif ord(lo_py) != lo_c:
        kind = "lower-case differs"
    elif c_word != lo_py.isalnum():
        kind = "word character in %s only%s" % (
            "utf8proc" if c_word else "python",
            " (unassigned in python's Unicode)" if unicodedata.category(ch) == "Cn" else "")
    else:
        continue
    kinds.setdefault(kind, []).append(cp)
print("utf8proc %s (Unicode %s), python %s (Unicode %s)" % (
    u8.utf8proc_version().decode(), u8.utf8proc_unicode_version().decode(),
    sys.version.split()[0], unicodedata.unidata_version))
print("part 1, character rules:")
for kind, cps in sorted(kinds.items()):
    ex = ", ".join("U+%04X %s" % (c, unicodedata.name(chr(c), "")) for c in cps[:3])
    print("  %6d code points: %s; e.g. %s" % (len(cps), kind, ex))

# Part 2: the tokeniser itself on probes around every assigned code point.
tmp = tempfile.mkdtemp()
so = os.path.join(tmp, "libtaml_tokenise.so")
subprocess.check_call(["gcc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-shared", "-fPIC", "-Isrc", "-o", so,
                       "src/data/tokenise.c", "src/core/err.c", "-lutf8proc"])
lib = ctypes.CDLL(so)
EMIT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
lib.taml_tokenise.argtypes = [ctypes.c_char_p, ctypes.c_size_t, EMIT, ctypes.c_void_p]
got = []


@EMIT
def emit(p, n, ctx):
    got.append(ctypes.string_at(p, n).decode("utf-8"))


def taml(s):
    got.clear()
    b = s.encode("utf-8")
    lib.taml_tokenise(b, len(b), emit, None)
    return list(got)


PROBES = ["x{}y", "{}", "A{}\u03a3", "{}\u03a3", "A\u03a3{}A", "A\u03a3{}"]
diff, n = {}, 0
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF or unicodedata.category(chr(cp)) == "Cn":
        continue
    for p in PROBES:
        s = p.format(chr(cp))
        n += 1
        if taml(s) != TOKEN.findall(s.lower()):
            diff.setdefault(p, []).append(cp)
os.remove(so)
os.rmdir(tmp)
print("part 2, %d probe texts:" % n)
for p, cps in diff.items():
    ex = ", ".join("U+%04X %s" % (c, unicodedata.name(chr(c), "")) for c in cps[:3])
    print("  %6d code points differ in %r; e.g. %s" % (len(cps), p, ex))
if not diff:
    print("  no difference")
