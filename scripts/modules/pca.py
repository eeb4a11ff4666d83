#!/usr/bin/python3
"""Reduces a GloVe text table to fewer dimensions by PCA, for the default
module en-glove-50 (scripts/modules/build-defaults).

Centres the vectors, takes the eigenvectors of their covariance with the
largest eigenvalues (numpy.linalg.eigh, in float64), fixes each component's
sign so that its largest-magnitude loading is positive (eigenvectors are only
defined up to sign), and projects. Writes OUT.vocab (the words, in the input
order) and OUT.f32 (float32 little-endian, rows x DIM) for
`taml embed import --format vocab-f32`. Deterministic: one BLAS thread.

usage: pca.py IN_GLOVE_TXT DIM OUT_PREFIX
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

src, dim, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
words, rows = [], []
with open(src, encoding="utf-8") as f:
    for line in f:
        w, _, vals = line.rstrip("\n").partition(" ")
        words.append(w)
        rows.append(np.array(vals.split(" "), dtype=np.float64))
x = np.vstack(rows)
del rows
if dim >= x.shape[1]:
    raise SystemExit(f"pca: {dim} dimensions is not fewer than the input's {x.shape[1]}")
x -= x.mean(axis=0)
cov = x.T @ x / x.shape[0]
val, vec = np.linalg.eigh(cov)
order = np.argsort(val)[::-1][:dim]
comp = vec[:, order]
signs = np.sign(comp[np.abs(comp).argmax(axis=0), np.arange(dim)])
comp *= signs
y = (x @ comp).astype("<f4")
kept = val[order].sum() / val.sum()
with open(out + ".vocab", "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(words) + "\n")
y.tofile(out + ".f32")
print(f"pca: {len(words)} words, {x.shape[1]} -> {dim} dimensions, "
      f"{100 * kept:.1f}% of the variance kept", file=sys.stderr)
