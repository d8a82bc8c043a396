"""Real captioned images for text2image: letters and digits of the typefaces Debian packages.

    cd benchmarks && python text2image_fonts_set.py --out out/fonts

Writes ``OUT/{train,test}/NAME.png`` (64x64, 8-bit grayscale, a black glyph on white),
``OUT/{train,test}/metadata.jsonl`` (``file_name`` and ``text``: a list of three captions) and
``OUT/manifest.json`` (packages and versions, faces, counts, seed). Steps, each skipped when its
output exists:

1. fetch (into ``--sources``): ``apt-get download`` + ``dpkg -x`` of the font packages in
   :data:`PACKAGES`. Their licences are free (SIL OFL 1.1, Apache 2.0, GPL with the font exception,
   AGPL with the font exception for the URW base 35, the Bitstream Vera licence for DejaVu, the GUST
   font licence for TeX Gyre, the Go font licence): see each package's
   ``/usr/share/doc/PACKAGE/copyright``.
2. render: every face of a family in :data:`FAMILIES` whose style :func:`style_of` recognises
   (regular or bold, upright or italic/oblique) draws the 62 characters 0-9, A-Z, a-z. Each glyph
   is drawn at 48 pt, cropped to its ink, scaled so that its longer side is 52 px, and centred on a
   64x64 white canvas (so a glyph's size in the image says nothing about its font size; its shape,
   weight and slant remain).
3. caption and split: each image gets three captions in different wordings, generated from what
   is known about it (the character, its case, the face's weight and slant, the family and whether it
   is serif, sans-serif or monospaced), e.g. "capital letter G in bold italic Liberation Serif",
   "uppercase G, bold slanted serif type (Liberation Serif)", "Liberation Serif Bold Italic: the
   letter G in upper case". Images are split at random (``--test-fraction``, seeded): every
   character and every face is in the training split, but the test split asks for combinations of
   character and face that training never showed.

The images are real typefaces drawn by their designers; the captions are generated from the fonts'
metadata, so their wording varies only as much as the templates do.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PACKAGES = [
    "fonts-dejavu-core",
    "fonts-dejavu-extra",
    "fonts-liberation2",
    "fonts-freefont-ttf",
    "fonts-urw-base35",
    "fonts-croscore",
    "fonts-crosextra-carlito",
    "fonts-crosextra-caladea",
    "fonts-roboto-unhinted",
    "fonts-open-sans",
    "fonts-lato",
    "fonts-texgyre",
    "fonts-linuxlibertine",
    "fonts-cantarell",
    "fonts-go",
    "fonts-hack",
    "fonts-noto-core",
]

SERIF, SANS, MONO = "serif", "sans-serif", "monospaced"
FAMILIES: dict[str, str] = {
    **dict.fromkeys(
        [
            "C059",
            "Caladea",
            "DejaVu Serif",
            "FreeSerif",
            "Liberation Serif",
            "Linux Libertine O",
            "Nimbus Roman",
            "Noto Serif",
            "P052",
            "TeX Gyre Bonum",
            "TeX Gyre Pagella",
            "TeX Gyre Schola",
            "TeX Gyre Termes",
            "Tinos",
            "URW Bookman",
        ],
        SERIF,
    ),
    **dict.fromkeys(
        [
            "Arimo",
            "Cantarell",
            "Carlito",
            "DejaVu Sans",
            "FreeSans",
            "Go",
            "Lato",
            "Liberation Sans",
            "Linux Biolinum O",
            "Nimbus Sans",
            "Nimbus Sans Narrow",
            "Noto Sans",
            "Open Sans",
            "Roboto",
            "Roboto Condensed",
            "TeX Gyre Adventor",
            "TeX Gyre Heros",
            "TeX Gyre Heros Cn",
            "URW Gothic",
        ],
        SANS,
    ),
    **dict.fromkeys(
        [
            "Cousine",
            "DejaVu Sans Mono",
            "FreeMono",
            "Go Mono",
            "Hack",
            "Liberation Mono",
            "Nimbus Mono PS",
            "TeX Gyre Cursor",
        ],
        MONO,
    ),
}
# URW Bookman and URW Gothic name their two weights Light/Book and Demi.
REGULAR = {"Regular", "Roman", "Book"}
BOLD = {"Bold", "Demi"}
LIGHT_AS_REGULAR = {"URW Bookman"}

CHARACTERS = string.digits + string.ascii_uppercase + string.ascii_lowercase
CANVAS, INK = 64, 52


def style_of(family: str, style: str) -> tuple[str, str] | None:
    """(weight, slant) of a face's style name, or None for styles the set leaves out."""
    words = style.split()
    slant = "upright"
    if words and words[-1] in ("Italic", "Oblique"):
        slant = "italic"
        words = words[:-1]
    weight = " ".join(words) or "Regular"
    regular = REGULAR | ({"Light"} if family in LIGHT_AS_REGULAR else set())
    if weight in regular:
        return "regular", slant
    if weight in BOLD:
        return "bold", slant
    return None


def fetch(sources: Path) -> dict[str, str]:
    """The packages' versions; each package is downloaded and unpacked once."""
    debs = sources / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for package in PACKAGES:
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
            found = sorted(debs.glob(f"{package}_*.deb"))
            subprocess.run(["dpkg", "-x", str(found[-1]), str(sources / "root")], check=True)
        versions[package] = found[-1].name.split("_")[1]
    return versions


def faces(root: Path) -> list[dict]:
    """Every usable face under ``root``: path, family, style, weight, slant, class."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in (".ttf", ".otf"):
            continue
        family, style = ImageFont.truetype(str(path), 12).getname()
        if family not in FAMILIES or (ws := style_of(family, style)) is None:
            continue
        found.append(
            {
                "path": str(path),
                "family": family,
                "style": style,
                "weight": ws[0],
                "slant": ws[1],
                "class": FAMILIES[family],
            }
        )
    unique = {(f["family"], f["style"]): f for f in found}  # a face shipped twice (ttf and otf) counts once
    return sorted(unique.values(), key=lambda f: (f["family"], f["style"]))


def render(path: str, char: str) -> Image.Image | None:
    """A 64x64 grayscale image of one glyph, scaled to the ink box; None when the face draws nothing."""
    font = ImageFont.truetype(path, 48)
    left, top, right, bottom = font.getbbox(char)
    width, height = right - left + 8, bottom - top + 8
    big = Image.new("L", (width, height), 0)
    ImageDraw.Draw(big).text((4 - left, 4 - top), char, font=font, fill=255)
    box = big.getbbox()
    if box is None:
        return None
    ink = big.crop(box)
    scale = INK / max(ink.size)
    ink = ink.resize((max(1, round(ink.width * scale)), max(1, round(ink.height * scale))), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    canvas.paste(ink, ((CANVAS - ink.width) // 2, (CANVAS - ink.height) // 2))
    return Image.eval(canvas, lambda v: 255 - v)


def captions(char: str, face: dict) -> list[str]:
    if char.isdigit():
        names = [f"digit {char}", f"the number {char}", f"numeral {char}"]
    elif char.isupper():
        names = [f"capital letter {char}", f"uppercase {char}", f"the letter {char} in upper case"]
    else:
        names = [f"small letter {char}", f"lowercase {char}", f"the letter {char} in lower case"]
    weight = "bold" if face["weight"] == "bold" else "regular"
    slanted = face["slant"] == "italic"
    style_words = " ".join(w for w in (weight if weight == "bold" else "", "italic" if slanted else "") if w)
    family, kind = face["family"], face["class"]
    return [
        f"{names[0]} in {style_words + ' ' if style_words else ''}{family}",
        f"{names[1]}, {weight} {'slanted' if slanted else 'upright'} {kind} type ({family})",
        f"{family} {face['style']}: {names[2]}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/fonts"))
    parser.add_argument("--sources", type=Path, default=Path("out/fonts_sources"))
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    if (opts.out / "manifest.json").exists():
        print(f"{opts.out} exists; remove it to build again")
        return
    versions = fetch(opts.sources)
    found = faces(opts.sources / "root")
    rng = random.Random(opts.seed)
    rows: dict[str, list[dict]] = {"train": [], "test": []}
    for split in rows:
        (opts.out / split).mkdir(parents=True, exist_ok=True)
    skipped = 0
    for f, face in enumerate(found):
        for char in CHARACTERS:
            image = render(face["path"], char)
            if image is None:
                skipped += 1
                continue
            split = "test" if rng.random() < opts.test_fraction else "train"
            name = f"f{f:03d}_{ord(char):03d}.png"
            image.save(opts.out / split / name)
            rows[split].append({"file_name": name, "text": captions(char, face)})
    for split, items in rows.items():
        with open(opts.out / split / "metadata.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(row) + "\n" for row in items)
    manifest = {
        "packages": versions,
        "seed": opts.seed,
        "test_fraction": opts.test_fraction,
        "faces": [{k: v for k, v in face.items() if k != "path"} | {"file": Path(face["path"]).name} for face in found],
        "families": len({face["family"] for face in found}),
        "images": {split: len(items) for split, items in rows.items()},
        "blank_glyphs_skipped": skipped,
    }
    (opts.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(found)} faces of {manifest['families']} families: {manifest['images']} images in {opts.out}")


if __name__ == "__main__":
    main()
