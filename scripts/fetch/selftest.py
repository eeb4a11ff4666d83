#!/usr/bin/python3
"""Offline tests of the fetch helpers (common.py, fortunes.py, wordnet.py,
debian_archive.py) on small made-up fixtures in a temporary directory: no
network, no package download. Run by tests/test_fetch_scripts.c (so by
`make test`), or alone: python3 scripts/fetch/selftest.py
"""
import gzip
import hashlib
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import debian_archive  # noqa: E402
import fortunes  # noqa: E402
import wordnet  # noqa: E402


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()


class Fortunes(Tmp):
    def test_blocks_split_on_percent_lines_and_control_sequences_are_removed(self):
        p = os.path.join(self.dir, "f")
        write(p, "one\r\nline\r\n%\r\n_\bu_\bn_\bd_\be_\br B\bBold\n%\n\x1b[1mred\x1b[0m\tx\n%\n\n%\n")
        self.assertEqual(fortunes.read_fortunes(p), ["one\nline", "under Bold", "red\tx"])

    def test_a_file_that_is_not_utf8_is_read_as_latin1(self):
        p = os.path.join(self.dir, "f")
        write(p, b"caf\xe9\n%\nni\xf1o\n")
        self.assertEqual(fortunes.read_fortunes(p), ["café", "niño"])

    def test_only_regular_fortune_files_count_and_offensive_and_ascii_art_are_skipped(self):
        root = os.path.join(self.dir, "pkg")
        base = os.path.join(root, fortunes.FORTUNE_DIR, "es")
        write(os.path.join(base, "vida.fortunes"), "a\n%\nb\n")
        write(os.path.join(base, "vida.fortunes.dat"), b"\0\0")
        write(os.path.join(base, "empty"), "")
        write(os.path.join(base, "off", "rot13.fortunes"), "n\n")
        write(os.path.join(base, "ascii-art"), "/\\\n")
        write(os.path.join(base, "arte"), "c\n")
        os.symlink("vida.fortunes", os.path.join(base, "vida.fortunes.u8"))
        os.symlink("arte", os.path.join(base, "alias"))
        got = [(c, os.path.basename(p)) for c, p in fortunes.fortune_files(root, "es")]
        self.assertEqual(got, [("arte", "arte"), ("vida", "vida.fortunes")])


class WriteTask(Tmp):
    ROWS = [("a", "hello  world"), ("a", "hello\tworld"), ("b", "x y"), ("a", "x\ny"),
            ("a", "only a"), ("c", "rare")] + [("b", f"b text {i}") for i in range(3)]

    def test_rules_collapse_dedupe_drop_conflicts_and_small_classes(self):
        out = os.path.join(self.dir, "t")
        n = common.write_task(out, "t", self.ROWS, language="en", source="s", license="l",
                              sources=["pkg 1"], min_class=2)
        lines = sorted(read(os.path.join(out, "all.tsv")).splitlines())
        self.assertEqual(n, 5)
        self.assertEqual(lines, ["a\thello world", "a\tonly a", "b\tb text 0", "b\tb text 1",
                                 "b\tb text 2"])
        meta = read(os.path.join(out, "meta.txt"))
        self.assertIn("name=t\nlanguage=en\nsource=s\nlicense=l\n", meta)
        self.assertIn("note=1 texts seen with two different labels dropped", meta)
        self.assertIn("note=classes under 2 examples dropped: c", meta)
        self.assertEqual(read(os.path.join(out, "SOURCES")), "pkg 1\n")

    def test_output_bytes_do_not_depend_on_input_order(self):
        digests = []
        for rows in (self.ROWS, list(reversed(self.ROWS))):
            out = os.path.join(self.dir, f"t{len(digests)}")
            common.write_task(out, "t", rows, language="en", source="s", license="l",
                              sources=[], min_class=2)
            with open(os.path.join(out, "all.tsv"), "rb") as f:
                digests.append(hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(digests[0], digests[1])


class License(Tmp):
    def copyright(self, text):
        write(os.path.join(self.dir, "usr", "share", "doc", "p", "copyright"), text)

    def test_dep5_gives_the_files_star_licence_or_the_one_matching_the_path(self):
        self.copyright("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
                       "Files: *\nCopyright: x\nLicense: BSD-3-Clause\n\n"
                       "Files: data/*.csv.gz\nCopyright: y\nLicense: CC-BY-4.0\n text\n\n"
                       "Files: debian/*\nLicense: GPL-2+\n")
        self.assertEqual(common.debian_license(self.dir, "p"), "BSD-3-Clause")
        self.assertEqual(common.debian_license(self.dir, "p", path="usr/lib/data/d.csv.gz"), "CC-BY-4.0")
        self.assertEqual(common.debian_license(self.dir, "p", path="usr/share/other"), "BSD-3-Clause")

    def test_free_text_copyright_needs_the_callers_summary(self):
        self.copyright("This package was debianized by someone.\n")
        self.assertEqual(common.debian_license(self.dir, "p", "public domain"), "public domain")
        with self.assertRaises(SystemExit):
            common.debian_license(self.dir, "p")


class WordNet(Tmp):
    def test_synsets_give_lexfile_and_gloss_and_lexnames_come_from_the_man_page(self):
        wn = os.path.join(self.dir, wordnet.WN_DIR)
        write(os.path.join(wn, "data.noun"),
              "  1 This software and database is being provided\n"
              "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived  \n"
              "00015388 05 n 01 animal 0 000 | a living organism; \"animals move\"  \n")
        self.assertEqual(wordnet.synsets(self.dir, "data.noun"),
                         [(3, "that which is perceived"), (5, 'a living organism; "animals move"')])
        man = os.path.join(self.dir, "usr", "share", "man", "man5", "lexnames.5WN.gz")
        os.makedirs(os.path.dirname(man))
        with gzip.open(man, "wt") as f:
            f.write(".SH DESCRIPTION\n" + "".join(f"{i:02d}\tnoun.{'abcdefghijklmnopqrstuvw'[i % 23] * (1 + i // 23)}"
                                                  "\tnouns\n" for i in range(45)))
        names = wordnet.lexnames(self.dir)
        self.assertEqual((len(names), names[5]), (45, "noun.f"))
        with gzip.open(man, "wt") as f:
            f.write("00\tadj.all\tall\n")
        with self.assertRaises(SystemExit):
            wordnet.lexnames(self.dir)


class Archive(Tmp):
    def test_lists_come_from_debians_own_release_not_a_third_party_suite_of_that_name(self):
        saved = debian_archive.codename
        debian_archive.codename = lambda: "trixie"
        try:
            for host, origin in (("deb.example.org_debian", "Debian"), ("repo.example.com_apt", "Example")):
                write(os.path.join(self.dir, f"{host}_dists_trixie_InRelease"), f"Origin: {origin}\nSuite: x\n")
                write(os.path.join(self.dir, f"{host}_dists_trixie_main_binary-amd64_Packages.lz4"), b"")
            write(os.path.join(self.dir, "deb.example.org_debian_dists_trixie-updates_main_binary-amd64_Packages"),
                  "")
            self.assertEqual(os.path.basename(debian_archive.find_list(self.dir, "binary-amd64_Packages")),
                             "deb.example.org_debian_dists_trixie_main_binary-amd64_Packages.lz4")
            with self.assertRaises(SystemExit):
                debian_archive.find_list(self.dir, "i18n_Translation-es")
        finally:
            debian_archive.codename = saved

    def test_stanzas_keep_continuation_lines_and_descriptions_drop_paragraph_dots(self):
        text = ("Package: a\nSection: contrib/games\nDescription-md5: 1\n\n"
                "Package: b\nDescription-en: short\n long one\n .\n second\n")
        st = list(debian_archive.stanzas(text))
        self.assertEqual(st[0], {"Package": "a", "Section": "contrib/games", "Description-md5": "1"})
        self.assertEqual(debian_archive.description_text(st[1]["Description-en"]),
                         "short\nlong one\nsecond")


if __name__ == "__main__":
    common.log = lambda msg: None
    unittest.main(verbosity=1)
