#!/usr/bin/python3
"""Offline tests of the image fetchers made from package contents: glyphs.py
(tasks/glyph-letters, glyph-digits, glyph-scripts: cmap reading, rendering,
placement, the task written from fake font packages) and emoji_images.py
(tasks/emoji-google-category, emoji-twitter-category: alpha over white, the
cells of a fake sprite sheet -> categories), and the class names of
common.write_image_task. The package downloads (common.debian_package,
common.npm_package) are replaced by directories made here, with fonts built
here (tiny_font: rectangles as TrueType outlines). No network. The tests that
render or decode PNG need python3-pil (installed by scripts/setup) and are
skipped without it. Run by tests/test_fetch_image_scripts.c (so by
`make test`), or alone: python3 scripts/fetch/selftest_images.py
"""
import hashlib
import json
import os
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
import emoji_images  # noqa: E402
import glyphs  # noqa: E402
from selftest import read, write  # noqa: E402
from selftest_npm import FakePackage  # noqa: E402  (a fake npm package directory)

try:
    import PIL  # noqa: F401
    HAVE_PIL = True
except ImportError:
    HAVE_PIL = False
needs_pil = unittest.skipUnless(HAVE_PIL, "python3-pil is not installed")


def sfnt(tables):
    """An sfnt file (TrueType 1.0) holding `tables` {tag: bytes}."""
    tags = sorted(tables)
    n = len(tags)
    es = max(i for i in range(8) if 2 ** i <= n)
    out = struct.pack(">IHHHH", 0x00010000, n, 16 * 2 ** es, es, 16 * n - 16 * 2 ** es)
    offset = 12 + 16 * n
    body = b""
    for tag in tags:
        data = tables[tag]
        padded = data + b"\0" * (-len(data) % 4)
        checksum = sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF
        out += struct.pack(">4sIII", tag.encode(), checksum, offset + len(body), len(data))
        body += padded
    return out + body


def cmap4(mapping):
    """A cmap table with one (3, 1) format-4 subtable: {code: glyph}."""
    codes = sorted(mapping) + [0xFFFF]
    segs = len(codes)
    ends = b"".join(struct.pack(">H", c) for c in codes)
    starts = ends
    deltas = b"".join(struct.pack(">H", (mapping.get(c, 1) - c) & 0xFFFF if c != 0xFFFF else 1)
                      for c in codes)
    ranges = b"\0\0" * segs
    es = max(i for i in range(16) if 2 ** i <= segs)
    sub = struct.pack(">HHHHHHH", 4, 0, 0, 2 * segs, 2 * 2 ** es, es, 2 * segs - 2 * 2 ** es)
    sub += ends + b"\0\0" + starts + deltas + ranges
    sub = sub[:2] + struct.pack(">H", len(sub)) + sub[4:]
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + sub


def cmap12(groups):
    """A cmap table with one (3, 10) format-12 subtable: [(start, end, glyph)]."""
    sub = struct.pack(">HHIII", 12, 0, 16 + 12 * len(groups), 0, len(groups))
    sub += b"".join(struct.pack(">III", *g) for g in groups)
    return struct.pack(">HHHHI", 0, 1, 3, 10, 12) + sub


def tiny_font(shapes, mapping):
    """A TrueType font whose glyph i+1 is shapes[i], a list of rectangles
    (x0, y0, x1, y1) in a 1000-unit em (an empty list: a glyph without ink);
    mapping: {code point: glyph number}."""
    glyf, loca = b"", [0]
    for rects in [[]] + list(shapes):
        if rects:
            g = struct.pack(">hhhhh", len(rects), min(r[0] for r in rects), min(r[1] for r in rects),
                            max(r[2] for r in rects), max(r[3] for r in rects))
            g += b"".join(struct.pack(">H", 4 * i + 3) for i in range(len(rects)))
            g += struct.pack(">H", 0) + b"\x01" * (4 * len(rects))
            xs, ys, px, py = [], [], 0, 0
            for x0, y0, x1, y1 in rects:  # clockwise: TrueType's outer contours
                for x, y in ((x0, y0), (x0, y1), (x1, y1), (x1, y0)):
                    xs.append(x - px)
                    ys.append(y - py)
                    px, py = x, y
            g += b"".join(struct.pack(">h", v) for v in xs + ys)
            g += b"\0" * (-len(g) % 4)
            glyf += g
        loca.append(len(glyf))
    n = len(shapes) + 1
    head = struct.pack(">IIIIHHqqhhhhHHhhh", 0x00010000, 0x00010000, 0, 0x5F0F3CF5, 0, 1000, 0, 0,
                       0, -200, 1000, 1000, 0, 8, 2, 1, 0)
    hhea = struct.pack(">IhhhHhhhhhh5hH", 0x00010000, 800, -200, 0, 1000, 0, 0, 1000, 1, 0, 0,
                       0, 0, 0, 0, 0, n)
    maxp = struct.pack(">I14H", 0x00010000, n, 64, 16, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0)
    return sfnt({"head": head, "hhea": hhea, "maxp": maxp, "cmap": cmap4(mapping),
                 "hmtx": b"".join(struct.pack(">Hh", 1000, 0) for _ in range(n)),
                 "loca": b"".join(struct.pack(">I", o) for o in loca), "glyf": glyf,
                 "name": struct.pack(">HHH", 0, 0, 6),
                 "post": struct.pack(">IIhhIIIII", 0x00030000, 0, 0, 0, 0, 0, 0, 0, 0)})


class Cmap(unittest.TestCase):
    def test_format_4_gives_the_mapped_codes_and_glyph_0_is_no_glyph(self):
        font = sfnt({"cmap": cmap4({0x41: 3, 0x42: 0, 0x5D0: 7})})
        self.assertEqual(glyphs.sfnt_cmap(font), {0x41, 0x5D0})

    def test_format_12_is_preferred_and_covers_ranges_beyond_the_bmp(self):
        font = sfnt({"cmap": cmap12([(0x61, 0x63, 5), (0x1F600, 0x1F601, 9)])})
        self.assertEqual(glyphs.sfnt_cmap(font), {0x61, 0x62, 0x63, 0x1F600, 0x1F601})

    def test_a_file_that_is_no_font_or_is_cut_is_refused_with_the_offset(self):
        with self.assertRaisesRegex(glyphs.FontError, r"^x\.ttf: offset 0: not a TrueType"):
            glyphs.sfnt_cmap(b"<html>", "x.ttf")
        font = sfnt({"cmap": cmap4({0x41: 3})})
        with self.assertRaisesRegex(glyphs.FontError, r"^x\.ttf: offset \d+: truncated"):
            glyphs.sfnt_cmap(font[:-20], "x.ttf")
        with self.assertRaisesRegex(glyphs.FontError, "no cmap table"):
            glyphs.sfnt_cmap(sfnt({"name": b"\0" * 6}), "x.ttf")

    def test_the_letters_of_ranges_are_categories_lu_ll_lo(self):
        self.assertEqual(glyphs.letters_in([(0x385, 0x391), (0x5D0, 0x5D1)]),
                         "\u0386\u0388\u0389\u038a\u038c\u038e\u038f\u0390\u0391\u05d0\u05d1")


class Placement(unittest.TestCase):
    def test_box_and_offsets_are_in_range_and_depend_only_on_font_and_ink(self):
        class Glyph:
            def __init__(self, ink):
                self.size, self.ink = (3, 2), ink

            def tobytes(self):
                return self.ink
        seen = set()
        for i in range(200):
            box, dx, dy = glyphs.placement(f"pkg/f{i}.ttf", Glyph(b"ink"))
            self.assertIn(box, glyphs.BOXES)
            self.assertTrue(-glyphs.SHIFT <= dx <= glyphs.SHIFT and -glyphs.SHIFT <= dy <= glyphs.SHIFT)
            seen.add((box, dx, dy))
        self.assertGreater(len(seen), 30)
        self.assertEqual(glyphs.placement("k", Glyph(b"a")), glyphs.placement("k", Glyph(b"a")))


# Glyphs of fake font i: "a" a tall bar, "A" a wide one, "b" an L, "c" two
# bars (only in fonts 0..11: too few for a class); "d" is drawn as "a" is
# (so both are dropped), "e" has no ink, "f" is not mapped.
def shapes(i):
    w = 80 + 10 * i
    return [[(100, 0, 100 + w, 700)],
            [(100, 0, 100 + w, 700), (100, 0, 600, w)],
            [(100, 0, 100 + w, 700), (500, 0, 500 + w, 700 - 10 * i)],
            [],
            [(0, 200, 900, 200 + w)]]


def mapping(i):
    m = {ord("a"): 1, ord("b"): 2, ord("c"): 3, ord("d"): 1, ord("e"): 4, ord("A"): 5}
    if i >= 12:
        del m[ord("c")]
    return m
COPYRIGHT = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
             "Files: *\nCopyright: someone\nLicense: OFL-1.1\n")


class GlyphTask(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.real = common.debian_package, common.log
        common.debian_package = lambda name: (os.path.join(self.dir, name), "1.0-1")
        common.log = lambda msg: None
        for i in range(22):
            pkg = "fonts-one" if i < 12 else "fonts-two"
            write(os.path.join(self.dir, pkg, "usr", "share", "fonts", "truetype", "x", f"f{i:02d}.ttf"),
                  tiny_font(shapes(i), mapping(i)))
        write(os.path.join(self.dir, "fonts-two", "usr", "share", "fonts", "truetype", "x", "copy.ttf"),
              tiny_font(shapes(0), mapping(0)))  # the bytes of fonts-one's f00.ttf
        write(os.path.join(self.dir, "fonts-two", "usr", "share", "fonts", "truetype", "x", "bad.ttf"),
              b"not a font")
        write(os.path.join(self.dir, "fonts-two", "usr", "share", "fonts", "truetype", "x", "skip.otf"),
              tiny_font(shapes(0), mapping(0)))
        for pkg in ("fonts-one", "fonts-two"):
            write(os.path.join(self.dir, pkg, "usr", "share", "doc", pkg, "copyright"), COPYRIGHT)
        self.packages = [("fonts-one", None, None), ("fonts-two", ["*.ttf"], None)]
        self.classes = [("a", "aA"), ("b", "b"), ("c", "c"), ("d", "d"), ("e", "e"), ("f", "f")]

    def tearDown(self):
        common.debian_package, common.log = self.real
        self.tmp.cleanup()

    def task(self, out, cap=None):
        glyphs.write(os.path.join(self.dir, out), "g", self.classes, self.packages, what="test glyphs", cap=cap)
        out = os.path.join(self.dir, out)
        with open(os.path.join(out, "images.u8"), "rb") as f:
            images = f.read()
        with open(os.path.join(out, "labels.u8"), "rb") as f:
            labels = f.read()
        return images, labels, read(os.path.join(out, "meta.txt"))

    @needs_pil
    def test_each_font_gives_one_image_per_mapped_inked_glyph_and_look_alikes_are_dropped(self):
        images, labels, meta = self.task("t")
        # 22 distinct fonts (copy.ttf is f00.ttf's bytes, bad.ttf no font, skip.otf
        # not matched): a 22 (its "a" dropped with the "d" drawn alike: only "A"
        # left), b 22, c 12 (dropped); e no ink, f none.
        self.assertEqual(sorted(labels), [0] * 22 + [1] * 22)
        self.assertEqual(len(images), 44 * 28 * 28)
        self.assertIn("n=44\nheight=28\nwidth=28\nchannels=1\n", meta)
        self.assertIn("note=22 font files of 2 Debian packages used (of 22 distinct readable ones)", meta)
        self.assertIn("note=1 font files without a readable Unicode cmap skipped: "
                      "fonts-two/usr/share/fonts/truetype/x/bad.ttf: offset 0: not a TrueType", meta)
        self.assertIn("note=22 glyphs without ink skipped", meta)
        self.assertIn("note=22 images seen with two different labels dropped", meta)
        self.assertIn("note=classes under 20 examples dropped: c\n", meta)
        self.assertIn("license=each font's own (OFL-1.1); fonts-one: OFL-1.1, fonts-two: OFL-1.1\n", meta)
        self.assertEqual(read(os.path.join(self.dir, "t", "classes.txt")), "a\nb\nc\nd\ne\nf\n")
        self.assertTrue(read(os.path.join(self.dir, "t", "SOURCES")).startswith(
            "fonts-one 1.0-1\nfonts-two 1.0-1\npython3-pil "))

    @needs_pil
    def test_a_glyph_is_white_on_black_scaled_to_its_box_and_the_bytes_repeat(self):
        images, labels, _ = self.task("t")
        for i in range(len(labels)):
            img = images[i * 784:(i + 1) * 784]
            rows = [r for r in range(28) if any(img[r * 28:(r + 1) * 28])]
            cols = [c for c in range(28) if any(img[r * 28 + c] for r in range(28))]
            self.assertEqual(max(img), 255)
            self.assertGreater(img.count(0), 28 * 28 - 24 * 24)
            self.assertIn(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1, glyphs.BOXES)
        again, _, _ = self.task("u")
        self.assertEqual(hashlib.sha256(images).hexdigest(), hashlib.sha256(again).hexdigest())

    @needs_pil
    def test_a_cap_samples_each_class_down_with_a_fixed_seed(self):
        images, labels, meta = self.task("t", cap=20)
        self.assertEqual(sorted(labels), [1] * 20)  # a and d: 20 sampled, fewer once "a"/"d" go
        self.assertIn("note=classes under 20 examples dropped: a, c, d\n", meta)
        self.assertIn("sampled down to 20 (fixed seed): a 44, b 22, d 22, e 22\n", meta)
        self.assertEqual(self.task("u", cap=20)[0], images)


def sheet_png(path, cells, size):
    """A sprite sheet of cells {(x, y): (r, g, b, a)} in size+2 px cells."""
    from PIL import Image
    cols = max(x for x, _ in cells) + 1
    rows = max(y for _, y in cells) + 1
    im = Image.new("RGBA", (cols * (size + 2), rows * (size + 2)), (0, 0, 0, 0))
    for (x, y), colour in cells.items():
        im.paste(colour, (x * (size + 2) + 1, y * (size + 2) + 1, x * (size + 2) + 1 + size,
                          y * (size + 2) + 1 + size))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    im.save(path)


class Emoji(FakePackage):
    def setUp(self):
        super().setUp()
        common.log = lambda msg: None
        write(os.path.join(self.pkg, "LICENSE"), "The MIT License (MIT)\n")
        write(os.path.join(self.pkg, "README.md"),
              "| Image Set | Source Version |\n| --------- | --- |\n"
              "| Google    | [Noto Emoji](https://x), v2.048 |\n\n"
              "* Android/Google/Noto images, are available under the [Apache License 2.0](https://x).\n")
        write(os.path.join(self.pkg, "categories.json"),
              json.dumps({"Smileys & Emotion": {}, "Component": {}, "Food & Drink": {}}))
        emojis, cells = [], {}
        for i in range(45):
            cat = ["Smileys & Emotion", "Food & Drink"][i % 2] if i < 42 else "Component"
            emojis.append({"unified": f"1F{i:03X}", "sheet_x": i % 7, "sheet_y": i // 7, "category": cat,
                           "has_img_google": i != 3, "skin_variations": {"1F3FB": {"sheet_x": 6, "sheet_y": 6}}})
            cells[(i % 7, i // 7)] = (i, 255 - i, 2 * i, 255 if i % 5 else 128)
        write(os.path.join(self.pkg, "emoji.json"), json.dumps(emojis))
        if HAVE_PIL:
            sheet_png(os.path.join(self.pkg, "img", "google", "sheets-clean", "32.png"), cells, 32)

    def test_alpha_over_white_rounds_to_the_nearest_byte(self):
        self.assertEqual(emoji_images.composite_on_white(bytes([10, 20, 30, 255, 10, 20, 30, 0, 0, 255, 100, 128])),
                         bytes([10, 20, 30, 255, 255, 255, 127, 255, 177]))
        self.assertEqual(emoji_images.slug("Smileys & Emotion"), "smileys-emotion")

    @needs_pil
    def test_each_emoji_with_an_image_is_its_cell_on_white_labelled_by_its_category(self):
        out = os.path.join(self.dir, "e")
        emoji_images.write(out, "e", "google", "emoji-datasource-google@16.0.0")
        with open(os.path.join(out, "images.u8"), "rb") as f:
            images = f.read()
        with open(os.path.join(out, "labels.u8"), "rb") as f:
            labels = f.read()
        self.assertEqual(len(labels), 41)  # 42 of two categories, one without an image
        expected = {}
        for i in range(42):
            if i != 3:
                a = 255 if i % 5 else 128
                px = emoji_images.composite_on_white(bytes([i, 255 - i, 2 * i, a]))
                expected[px * 1024] = [0, 2][i % 2]
        got = {images[k * 3072:(k + 1) * 3072]: labels[k] for k in range(41)}
        self.assertEqual(got, expected)
        meta = read(os.path.join(out, "meta.txt"))
        self.assertIn("n=41\nheight=32\nwidth=32\nchannels=3\n", meta)
        self.assertIn("source=npm emoji-datasource-google@16.0.0 (Noto Emoji, v2.048 emoji images", meta)
        self.assertIn("license=Apache-2.0 (Noto Emoji images, Google); MIT", meta)
        self.assertIn("note=1 emojis without a google image", meta)
        self.assertIn("note=classes under 20 examples dropped: component", meta)
        self.assertEqual(read(os.path.join(out, "classes.txt")), "smileys-emotion\ncomponent\nfood-drink\n")

    def test_a_readme_without_the_images_licence_is_refused(self):
        write(os.path.join(self.pkg, "README.md"), "Images: ask the vendor.\n")
        with self.assertRaisesRegex(SystemExit, "check the images' licence"):
            emoji_images.write(os.path.join(self.dir, "e"), "e", "google", "emoji-datasource-google@16.0.0")


class ClassNames(unittest.TestCase):
    def test_classes_txt_is_written_and_names_the_dropped_classes_and_a_stale_one_goes(self):
        with tempfile.TemporaryDirectory() as tmp:
            common.log = lambda msg: None
            imgs = [bytes([i]) for i in range(5)]
            common.write_image_task(tmp, "i", imgs, [0, 0, 0, 1, 2], height=1, width=1, channels=1,
                                    source="s", license="l", sources=[], min_class=2,
                                    classes=["zero", "one", "two"])
            self.assertEqual(read(os.path.join(tmp, "classes.txt")), "zero\none\ntwo\n")
            self.assertIn("note=classes under 2 examples dropped: one, two", read(os.path.join(tmp, "meta.txt")))
            common.write_image_task(tmp, "i", imgs, [0, 0, 0, 1, 1], height=1, width=1, channels=1,
                                    source="s", license="l", sources=[])
            self.assertFalse(os.path.exists(os.path.join(tmp, "classes.txt")))


if __name__ == "__main__":
    common.log = lambda msg: None
    unittest.main(verbosity=1)
