#!/usr/bin/python3
"""Compares, over every Unicode code point, the two character rules of taml's
tokeniser (src/data/tokenise.c: utf8proc_tolower, then "is the category L* or
N*") with the reference's (Python: str.lower, then str.isalnum). It calls the
same utf8proc library through ctypes. Not part of `make test`; run:
    python3 tests/ref/check_unicode.py
It prints the counts of code points on which the rules disagree, by kind, and
a few examples of each."""
import ctypes
import ctypes.util
import sys
import unicodedata

lib = ctypes.CDLL(ctypes.util.find_library("utf8proc") or "libutf8proc.so.2")
lib.utf8proc_category.restype = ctypes.c_int
lib.utf8proc_tolower.restype = ctypes.c_int32
lib.utf8proc_version.restype = ctypes.c_char_p
lib.utf8proc_unicode_version.restype = ctypes.c_char_p
WORD = {1, 2, 3, 4, 5, 9, 10, 11}  # UTF8PROC_CATEGORY_LU LL LT LM LO ND NL NO

kinds = {}
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    ch = chr(cp)
    lo_c = lib.utf8proc_tolower(cp)
    c_word = lib.utf8proc_category(lo_c) in WORD
    lo_py = ch.lower()
    py_word = lo_py.isalnum()  # all of lower(ch) is one token
    if len(lo_py) != 1:
        kind = "python lower-cases to %d characters" % len(lo_py)
    elif ord(lo_py) != lo_c:
        kind = "lower-case differs"
    elif c_word != py_word:
        kind = "word character in %s only" % ("utf8proc" if c_word else "python")
    else:
        continue
    kinds.setdefault(kind, []).append(cp)

print("utf8proc %s (Unicode %s), python %s (Unicode %s)" % (
    lib.utf8proc_version().decode(), lib.utf8proc_unicode_version().decode(),
    sys.version.split()[0], unicodedata.unidata_version))
for kind, cps in sorted(kinds.items()):
    ex = ", ".join("U+%04X %s" % (c, unicodedata.name(chr(c), "(unassigned in python)")) for c in cps[:4])
    print("%6d code points: %s; e.g. %s" % (len(cps), kind, ex))
