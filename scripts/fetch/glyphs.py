"""Glyph images rendered from Debian font packages, for the image tasks
glyph-letters, glyph-digits and glyph-scripts (scripts/fetch/tasks/glyph-*).

Each task is a fixed list of font packages (the archive's current versions,
recorded in SOURCES with the rasteriser's: python3-pil and libfreetype6) and a
fixed list of classes, each a list of characters. Every TrueType / OpenType
file (.ttf, .otf) of the packages, in sorted path order, a file seen twice
(same bytes) read once, gives one image for every character of a class that
its Unicode cmap maps to a glyph (read from the file itself, sfnt_cmap; no
.notdef boxes, no fallback fonts):

  the glyph drawn white on black by FreeType (python3-pil, basic layout,
  64 px em, anti-aliased), cropped to its ink, scaled (area average) so its
  longer side is BOX px, and pasted into a SIDE x SIDE image at the centre
  moved by (dx, dy); BOX in 16..24 and dx, dy in -2..2 come from the
  SHA-256 of the font's "package/path-in-package" and the glyph's ink, so
  each (font, glyph) always gets the same size and place (no random state),
  and two characters a font draws alike give the same image.

A glyph with no ink (a space-like glyph) or with ink outside the box
FreeType gives it is skipped (counted in meta.txt). The suite's image rules follow in
common.write_image_task (an image seen twice kept once, seen with two labels
dropped, classes under 20 dropped, fixed-seed shuffle). Needs python3-pil
(`scripts/setup` installs it); the rest is the standard library.
"""
import fnmatch
import hashlib
import os
import random
import struct
import subprocess

import common

SIDE = 28          # image side in pixels (MNIST's)
EM = 64            # font size the glyph is drawn at before scaling
BOXES = (16, 18, 20, 22, 24)
SHIFT = 2          # offsets -SHIFT..SHIFT
FONT_EXT = (".ttf", ".otf")


class FontError(Exception):
    pass


def sfnt_cmap(data, where="font"):
    """The set of code points the Unicode cmap of an sfnt font (TrueType or
    CFF OpenType; the first font of a .ttc collection) maps to a glyph other
    than 0. Reads format 12 (full Unicode) when the font has it, else format
    4 (BMP). Raises FontError naming `where` and the offset for a file that
    is not such a font."""
    def u16(o):
        if o + 2 > len(data):
            raise FontError(f"{where}: offset {o}: truncated (file is {len(data)} bytes)")
        return struct.unpack_from(">H", data, o)[0]

    def u32(o):
        if o + 4 > len(data):
            raise FontError(f"{where}: offset {o}: truncated (file is {len(data)} bytes)")
        return struct.unpack_from(">I", data, o)[0]

    base = 0
    if data[:4] == b"ttcf":
        base = u32(12)
    if data[base:base + 4] not in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
        raise FontError(f"{where}: offset {base}: not a TrueType/OpenType font (tag {data[base:base + 4]!r})")
    cmap = None
    for i in range(u16(base + 4)):
        rec = base + 12 + 16 * i
        if data[rec:rec + 4] == b"cmap":
            cmap = u32(rec + 8)
    if cmap is None:
        raise FontError(f"{where}: no cmap table")
    subtables = {}
    for i in range(u16(cmap + 2)):
        rec = cmap + 4 + 8 * i
        subtables[(u16(rec), u16(rec + 2))] = cmap + u32(rec + 4)
    best = None
    for key in ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0)):
        if key in subtables and u16(subtables[key]) in (4, 12):
            if best is None or (u16(subtables[key]) == 12 and u16(best) != 12):
                best = subtables[key]
    if best is None:
        raise FontError(f"{where}: offset {cmap}: no Unicode cmap subtable of format 4 or 12")
    codes = set()
    if u16(best) == 12:
        for i in range(u32(best + 12)):
            g = best + 16 + 12 * i
            start, end, glyph = u32(g), u32(g + 4), u32(g + 8)
            if end < start or end > 0x10FFFF:
                raise FontError(f"{where}: offset {g}: cmap group {start:#x}..{end:#x} out of order")
            codes.update(c for c in range(start, end + 1) if glyph + c - start != 0)
        return codes
    segs = u16(best + 6) // 2
    ends, starts = best + 14, best + 16 + 2 * segs
    deltas, ranges = starts + 2 * segs, starts + 4 * segs
    for s in range(segs):
        end, start = u16(ends + 2 * s), u16(starts + 2 * s)
        delta, roff = u16(deltas + 2 * s), u16(ranges + 2 * s)
        for c in range(start, min(end, 0xFFFE) + 1):
            if roff == 0:
                glyph = (c + delta) & 0xFFFF
            else:
                glyph = u16(ranges + 2 * s + roff + 2 * (c - start))
                if glyph:
                    glyph = (glyph + delta) & 0xFFFF
            if glyph:
                codes.add(c)
    return codes


def package_fonts(packages):
    """packages: list of (Debian package, [file name patterns] or None for
    every font file, licence when the package's copyright file is not
    machine-readable, else None). Downloads each (common.debian_package) and returns
    (fonts, sources, licenses): fonts a list of (key "package/path", absolute
    path), sorted by key, a file whose bytes were already seen left out;
    sources "package version" lines; licenses {package: its licence}."""
    fonts, sources, licenses, seen = [], [], {}, set()
    for name, patterns, fallback in packages:
        root, ver = common.debian_package(name)
        sources.append(f"{name} {ver}")
        found = []
        for d, _, files in os.walk(os.path.join(root, "usr", "share", "fonts")):
            for f in files:
                p = os.path.join(d, f)
                if not f.lower().endswith(FONT_EXT) or os.path.islink(p):
                    continue
                if patterns and not any(fnmatch.fnmatch(f, pat) for pat in patterns):
                    continue
                found.append((f"{name}/{os.path.relpath(p, root)}", p))
        if not found:
            raise SystemExit(f"fetch: Debian {name} {ver}: no font file matching {patterns or '*'}")
        found.sort()
        licenses[name] = common.debian_license(root, name, fallback=fallback,
                                               path=os.path.relpath(found[0][1], root))
        for key, p in found:
            with open(p, "rb") as fh:
                digest = hashlib.sha256(fh.read()).digest()
            if digest not in seen:
                seen.add(digest)
                fonts.append((key, p))
    return sorted(fonts), sources, licenses


def placement(key, glyph):
    """(box, dx, dy) of a drawn glyph (its cropped ink as a PIL image) in the
    font `key`, from the SHA-256 of the key, the glyph's size and its ink:
    the same on every run, and the same for two characters a font draws
    alike (Latin A and Greek Alpha), so their images are equal and the
    suite's rule drops both (an image seen with two labels)."""
    h = hashlib.sha256(f"{key} {glyph.size}".encode("utf-8") + glyph.tobytes()).digest()
    return BOXES[h[0] % len(BOXES)], h[1] % (2 * SHIFT + 1) - SHIFT, h[2] % (2 * SHIFT + 1) - SHIFT


def render(font, key, ch, side=SIDE):
    """The glyph of `ch` in the PIL font `font` (file `key`) as side*side grey
    bytes (ink 255), or None (no ink) or "cut" (ink outside the box FreeType
    gives the glyph)."""
    from PIL import Image, ImageDraw
    left, top, right, bottom = font.getbbox(ch)
    if right <= left or bottom <= top:
        return None
    canvas = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), ch, fill=255, font=font)
    bb = canvas.getbbox()
    if bb is None:
        return None
    if bb[0] == 0 or bb[1] == 0 or bb[2] == canvas.size[0] or bb[3] == canvas.size[1]:
        return "cut"
    glyph = canvas.crop(bb)
    box, dx, dy = placement(key, glyph)
    w, h = glyph.size
    scale = box / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    glyph = glyph.resize((nw, nh), Image.Resampling.BOX)
    x = min(max((side - nw) // 2 + dx, 0), side - nw)
    y = min(max((side - nh) // 2 + dy, 0), side - nh)
    out = Image.new("L", (side, side), 0)
    out.paste(glyph, (x, y))
    data = out.tobytes()
    return data if any(data) else None


def rasteriser_versions():
    """"package version" of the rasteriser (python3-pil, libfreetype6): the
    renders depend on them, so SOURCES names them."""
    out = []
    for p in ("python3-pil", "libfreetype6"):
        try:
            r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            ver = r.stdout.decode().strip() if r.returncode == 0 else ""
        except FileNotFoundError:
            ver = ""
        out.append(f"{p} {ver or 'unknown'}")
    return out


def license_summary(licenses):
    """meta.txt's licence: "each font's own (A, B, ...); package: licence, ..."."""
    kinds = sorted(set(licenses.values()))
    return (f"each font's own ({', '.join(kinds)}); "
            + ", ".join(f"{p}: {l}" for p, l in licenses.items()))


def write(out_dir, name, classes, packages, *, what, cap=None, notes=()):
    """Renders and writes the task. classes: list of (class name, string of
    characters). packages: see package_fonts. cap: at most this many
    (font, character) pairs per class, a fixed-seed sample of the sorted
    pairs (the rest of a class with more are left out; noted). what: the
    source's description for meta.txt."""
    try:
        from PIL import ImageFont
    except ImportError:
        raise SystemExit(f"fetch: {name}: python3-pil is missing; `scripts/setup` installs it")
    fonts, sources, licenses = package_fonts(packages)
    pairs = [[] for _ in classes]  # per class: (key, path, code)
    unreadable = []
    for key, path in fonts:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            codes = sfnt_cmap(data, key)
        except FontError as e:
            unreadable.append(str(e))
            continue
        for label, (_, chars) in enumerate(classes):
            pairs[label].extend((key, path, ord(c)) for c in chars if ord(c) in codes)
    notes = list(notes)
    if unreadable:
        notes.append(f"{len(unreadable)} font files without a readable Unicode cmap skipped: "
                     + "; ".join(unreadable))
    capped = []
    if cap is not None:
        for label, ps in enumerate(pairs):
            if len(ps) > cap:
                capped.append(f"{classes[label][0]} {len(ps)}")
                pairs[label] = sorted(random.Random(common.SEED).sample(sorted(ps), cap))
    if capped:
        notes.append(f"classes with more than {cap} (font, character) pairs sampled down to {cap} "
                     f"(fixed seed): {', '.join(capped)}")
    jobs = sorted((key, path, code, label) for label, ps in enumerate(pairs) for key, path, code in ps)
    images, labels, used, blank, cut = [], [], set(), 0, 0
    font, font_path = None, None
    for key, path, code, label in jobs:
        if path != font_path:
            font = ImageFont.truetype(path, EM, layout_engine=ImageFont.Layout.BASIC)
            font_path = path
        img = render(font, key, chr(code))
        if img is None:
            blank += 1
        elif img == "cut":
            cut += 1
        else:
            images.append(img)
            labels.append(label)
            used.add(key)
    if blank:
        notes.append(f"{blank} glyphs without ink skipped")
    if cut:
        notes.append(f"{cut} glyphs with ink outside their FreeType box skipped")
    notes = [f"{len(used)} font files of {len(packages)} Debian packages used "
             f"(of {len(fonts) - len(unreadable)} distinct readable ones)",
             f"pixels: glyph 255 on 0 background, longer side scaled to {BOXES[0]}..{BOXES[-1]} px, "
             f"centred in {SIDE}x{SIDE} and moved by -{SHIFT}..{SHIFT} px "
             "(size and offset fixed per font and glyph)"] + notes + [
             "split 80/10/10 in file order after a fixed-seed shuffle"]
    common.write_image_task(
        out_dir, name, images, labels, height=SIDE, width=SIDE, channels=1,
        source=f"Debian font packages: {what}, rendered with FreeType "
               f"({', '.join(p for p, _, _ in packages)})",
        license=license_summary(licenses), sources=sources + rasteriser_versions(), notes=notes,
        classes=[c for c, _ in classes])


def letters_in(ranges):
    """The letters (Unicode categories Lu, Ll, Lo) of the code point ranges."""
    import unicodedata
    return "".join(chr(c) for a, b in ranges for c in range(a, b + 1)
                   if unicodedata.category(chr(c)) in ("Lu", "Ll", "Lo"))


# Latin fonts of Debian main: the 465 display fonts of fonts-aenigma (many
# decorated: outlined, shadowed, stencilled, as notMNIST's), the common text
# families (fonts-urw-base35 without its Standard Symbols and Dingbats; not
# fonts-texgyre, whose families are URW's again), and handwriting fonts.
# (package, file name patterns or None for all, licence when the package's
# copyright file is not machine-readable)
LATIN_FONTS = [
    ("fonts-aenigma", None, None),
    ("fonts-dejavu-core", None, None),
    ("fonts-dejavu-extra", None, None),
    ("fonts-liberation", None, "GPL-2 with font exception"),
    ("fonts-freefont-ttf", None, None),
    ("fonts-urw-base35", ["C059-*.otf", "Nimbus*.otf", "P052-*.otf", "URW*.otf", "Z003-*.otf"], None),
    ("fonts-noto-core", ["NotoSans-*", "NotoSerif-*", "NotoSansDisplay-*", "NotoSerifDisplay-*"], None),
    ("fonts-comic-neue", None, None),
    ("fonts-dkg-handwriting", None, None),
    ("fonts-humor-sans", None, None),
    ("fonts-breip", None, None),
    ("fonts-bwht", None, None),
    ("fonts-sjfonts", None, "GPL-2 with font exception"),
    ("fonts-femkeklaver", None, None),
    ("fonts-kristi", None, None),
    ("fonts-dancingscript", None, None),
]

