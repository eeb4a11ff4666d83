#!/usr/bin/python3
"""Offline self-test of the default-library scripts (scripts/modules): the
troff and HTML text extraction of corpus.py, wink2glove.py, pca.py and
compare.py, on made-up inputs. No network. Run by `make test`
(tests/test_module_scripts.c); $TAML_BIN (the taml binary) enables the
compare.py check, numpy the pca.py one.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402

PY = sys.executable


class CorpusText(unittest.TestCase):
    def test_troff_keeps_text_and_drops_requests_escapes_comments(self):
        src = ('.TH LS 1 2023 "GNU" "User Commands"\n'
               '.\\" a comment line\n'
               '.SH NAME\n'
               'ls \\- list directory contents\n'
               '.B \\-a "all entries"\n'
               '\\fBbold\\fR and \\fIitalic\\fP\\(em then \\[lq]quoted\\[rq] \\*(lqx\n'
               '.sp 2\n'
               'plain text \\" trailing comment\n'
               '.IP\n')
        self.assertEqual(corpus.troff_text(src),
                         ["NAME", "ls - list directory contents", "-a  all entries",
                          "bold and italic— then  quoted  x", "plain text"])

    def test_html_drops_script_style_and_head_and_splits_blocks(self):
        with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False,
                                         encoding="utf-8") as f:
            f.write("<html><head><title>T</title><style>p{}</style></head><body>"
                    "<h1>Título</h1><p>Un <b>párrafo</b> &amp; más</p>"
                    "<script>var x = 1;</script><ul><li>uno</li><li>dos</li></ul>"
                    "</body></html>")
        try:
            self.assertEqual(corpus.html_text(f.name),
                             ["Título", "Un párrafo & más", "uno", "dos"])
        finally:
            os.remove(f.name)


class Wink(unittest.TestCase):
    def test_wink_json_becomes_glove_text_in_word_order(self):
        doc = {"precision": 8, "l2NormIndex": 2, "wordIndex": 3, "size": 3, "dimensions": 2,
               "words": ["the", "new york", "caf\u00e9"],
               "vectors": {"caf\u00e9": [0.5, -1, 1.1, 2], "the": [1, 2, 2.2, 0],
                           "new york": [3, 4, 5, 1]},
               "unkVector": [0, 0]}
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "w.json"), os.path.join(d, "w.txt")
            json.dump(doc, open(src, "w", encoding="utf-8"), ensure_ascii=False,
                      separators=(",", ":"))
            subprocess.run([PY, os.path.join(HERE, "wink2glove.py"), src, dst], check=True,
                           stderr=subprocess.DEVNULL)
            # The word with a space cannot be a GloVe word: left out.
            self.assertEqual(open(dst, encoding="utf-8").read(), "the 1 2\ncafé 0.5 -1\n")


class PCA(unittest.TestCase):
    def test_pca_keeps_the_direction_of_largest_variance_with_a_fixed_sign(self):
        try:
            import numpy  # noqa: F401
        except ImportError:
            self.skipTest("numpy is not installed (scripts/setup modules)")
        rows = ["a 2 0.1 0", "b -2 -0.1 0", "c 4 0 0.2", "d -4 0 -0.2"]
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "g.txt")
            open(src, "w").write("\n".join(rows) + "\n")
            subprocess.run([PY, os.path.join(HERE, "pca.py"), src, "1", os.path.join(d, "p")],
                           check=True, stderr=subprocess.DEVNULL)
            self.assertEqual(open(os.path.join(d, "p.vocab")).read(), "a\nb\nc\nd\n")
            vals = struct.unpack("<4f", open(os.path.join(d, "p.f32"), "rb").read())
            # The first axis carries almost all variance: projections ~ +-2, +-4.
            for got, want in zip(vals, (2, -2, 4, -4)):
                self.assertAlmostEqual(got, want, delta=0.02)


class Compare(unittest.TestCase):
    def test_compare_ignores_metadata_and_sees_a_changed_value(self):
        taml = os.environ.get("TAML_BIN")
        if not taml:
            self.skipTest("TAML_BIN is not set")
        taml = os.path.abspath(taml)
        with tempfile.TemporaryDirectory() as d:
            def make(name, text, meta):
                src = os.path.join(d, name + ".txt")
                open(src, "w").write(text)
                subprocess.run([taml, "embed", "import", src, "--format", "glove", "--name",
                                name, "--language", "en", "--meta", "build_key=" + meta,
                                "-o", os.path.join(d, name + ".tamlm")], check=True,
                               stdout=subprocess.DEVNULL)
            make("a", "x 1 2\ny 3 4\n", "one")
            make("b", "x 1 2\ny 3 4\n", "two")
            make("c", "x 1 2\ny 3 5\n", "one")
            cmp = os.path.join(HERE, "compare.py")
            r = subprocess.run([PY, cmp, os.path.join(d, "a.tamlm"), os.path.join(d, "b.tamlm")],
                               stdout=subprocess.PIPE, text=True)
            self.assertEqual(r.returncode, 0)
            self.assertIn("identical words and matrix", r.stdout)
            r = subprocess.run([PY, cmp, os.path.join(d, "a.tamlm"), os.path.join(d, "c.tamlm")],
                               stdout=subprocess.PIPE, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("1 of 4 values differ (largest difference 1)", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=1)
