"""Emoji pictures of one artwork -> the emoji's category, from npm's
emoji-datasource-<set> packages (Cal Henderson's emoji-data), for the image
tasks emoji-google-category and emoji-twitter-category.

The package's 32 px sprite sheet `img/<set>/sheets-clean/32.png` (the
"clean" sheet: only this set's own images, no fallbacks from another set)
holds every emoji in a 34 px cell (1 px transparent border); emoji.json
gives each emoji's cell (sheet_x, sheet_y), whether the set has an image of
it (has_img_<set>) and its category. Each emoji with an image of the set
gives one 32x32 RGB image, its transparent pixels composited on white by
integer arithmetic (c * a + 255 * (255 - a), rounded, / 255: exact, the same
bytes whatever the PNG decoder's version) -> the category, as the slug of
its name ("Smileys & Emotion" -> smileys-emotion, emojibase's group keys)
in categories.json's order. Skin-tone variants are left out (each would be
a near copy of its base emoji in another split). The PNG is decoded by
python3-pil (`scripts/setup` installs it).
"""
import json
import os
import re

import common

SIZE = 32
# The licence line of each set's images in the package README, and the
# licence recorded for them.
IMAGE_LICENSES = {
    "google": ("Android/Google/Noto images, are available under the [Apache License 2.0]",
               "Apache-2.0 (Noto Emoji images, Google)"),
    "twitter": ("Twitter images are available under the [Creative Commons Attribution 4.0 license]",
                "CC-BY-4.0 (Twemoji images, Twitter and the jdecked/twemoji contributors)"),
}


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# OVER[a][c]: colour value c of alpha a over white, rounded to the nearest byte.
OVER = [bytes((c * a + 255 * (255 - a) + 127) // 255 for c in range(256)) for a in range(256)]


def composite_on_white(rgba):
    """RGBA bytes -> RGB bytes, each pixel over a white background."""
    over = OVER
    out = bytearray(len(rgba) // 4 * 3)
    out[0::3] = bytes(over[a][c] for c, a in zip(rgba[0::4], rgba[3::4]))
    out[1::3] = bytes(over[a][c] for c, a in zip(rgba[1::4], rgba[3::4]))
    out[2::3] = bytes(over[a][c] for c, a in zip(rgba[2::4], rgba[3::4]))
    return bytes(out)


def source_version(readme, image_set):
    """The set's image source and version from the README's table of image
    sources (e.g. "Noto Emoji, v2.048"), or "" when the table has no row."""
    m = re.search(rf"^\| {image_set}\s*\|\s*(.+?)\s*\|", readme, re.M | re.I)
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)) if m else ""


def write(out_dir, name, image_set, spec):
    """Writes the task `name` of image set `image_set` ("google", "twitter")
    from npm package `spec` (name@exact version) into out_dir."""
    pkg, version = common.npm_package(spec)
    with open(os.path.join(pkg, "LICENSE"), encoding="utf-8") as f:
        if not f.read().startswith("The MIT License"):
            raise SystemExit(f"fetch: {version}: LICENSE is no longer the MIT license")
    with open(os.path.join(pkg, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    line, image_license = IMAGE_LICENSES[image_set]
    if line not in readme:
        raise SystemExit(f"fetch: {version}: README.md no longer says \"{line}\"; check the images' licence")
    with open(os.path.join(pkg, "categories.json"), encoding="utf-8") as f:
        categories = list(json.load(f))
    with open(os.path.join(pkg, "emoji.json"), encoding="utf-8") as f:
        emojis = json.load(f)
    sheet_path = os.path.join(pkg, "img", image_set, "sheets-clean", f"{SIZE}.png")
    try:
        from PIL import Image
    except ImportError:
        raise SystemExit(f"fetch: {name}: python3-pil is missing; `scripts/setup` installs it")
    sheet = Image.open(sheet_path)
    if sheet.mode != "RGBA":
        sheet = sheet.convert("RGBA")
    cell = SIZE + 2
    images, labels, skipped = [], [], 0
    for e in sorted(emojis, key=lambda e: e["unified"]):
        if not e.get(f"has_img_{image_set}"):
            skipped += 1
            continue
        if e["category"] not in categories:
            raise SystemExit(f"fetch: {version}: emoji {e['unified']}: category {e['category']!r} "
                             "is not in categories.json")
        x, y = e["sheet_x"] * cell + 1, e["sheet_y"] * cell + 1
        if x + SIZE > sheet.size[0] or y + SIZE > sheet.size[1]:
            raise SystemExit(f"fetch: {sheet_path}: emoji {e['unified']}: cell ({e['sheet_x']}, "
                             f"{e['sheet_y']}) is outside the {sheet.size[0]}x{sheet.size[1]} sheet")
        images.append(composite_on_white(sheet.crop((x, y, x + SIZE, y + SIZE)).tobytes()))
        labels.append(categories.index(e["category"]))
    art = source_version(readme, image_set)
    notes = [f"pixels: RGB, the {SIZE}x{SIZE} cell of img/{image_set}/sheets-clean/{SIZE}.png composited on white",
             "labels: emoji.json's category, slugged as emojibase's group keys (classes.txt)",
             "skin-tone variants left out (near copies of their base emoji)",
             "split 80/10/10 in file order after a fixed-seed shuffle"]
    if skipped:
        notes.insert(2, f"{skipped} emojis without a {image_set} image")
    common.write_image_task(
        out_dir, name, images, labels, height=SIZE, width=SIZE, channels=3,
        source=f"npm {version} ({art + ' ' if art else ''}emoji images, {SIZE}x{SIZE} -> category)",
        license=f"{image_license}; MIT (emoji-datasource data and sheets, Cal Henderson)",
        sources=[f"npm {version}"], notes=notes, classes=[slug(c) for c in categories])
