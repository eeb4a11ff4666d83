#!/usr/bin/python3
"""Writes tests/ref/tokenise_expected.txt: the reference tokeniser's output for
each line of tests/ref/tokenise_cases.txt (tokens joined by one space).

The rule is the reference implementation's (anchors/torch_child.py tokenize):
the text lower-cased by str.lower, then the maximal runs of str.isalnum()
characters (the regex [^\\W_]+). tests/test_tokenise.c checks that taml's C
tokeniser gives the same tokens. Run from the repository root:
    python3 tests/ref/make_tokenise_expected.py
"""
import re
import unicodedata

TOKEN = re.compile(r"[^\W_]+")

with open("tests/ref/tokenise_cases.txt", encoding="utf-8") as f:
    cases = f.read().split("\n")
if cases and cases[-1] == "":
    cases.pop()
with open("tests/ref/tokenise_expected.txt", "w", encoding="utf-8", newline="\n") as out:
    out.write("# python %s, unicode %s\n" % (__import__("sys").version.split()[0], unicodedata.unidata_version))
    for text in cases:
        out.write(" ".join(TOKEN.findall(text.lower())) + "\n")
