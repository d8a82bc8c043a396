"""Quick pix2pix models on real colour photographs, default settings, split by photograph.

    cd benchmarks && python colorize_photos.py --task colorize --out out/colorize
    cd benchmarks && python colorize_photos.py --task restore --out out/restore

Two tasks on the same crops: ``colorize`` (A: the grayscale crop) and ``restore`` (A: the crop with
Gaussian noise of standard deviation 0.08 and then JPEG compression at quality 30, a seeded draw
per crop; the input of a photo-restoration model). B is the colour crop in both.

Steps (each skipped when its output exists, so a rerun only redoes what is missing):

1. fetch: real photographs from packages this machine can install: the nature photographs of Debian's
   ``mate-backgrounds``, one photograph of ``lomiri-wallpapers-20.04``, the photographs among
   scikit-image's sample images (its wheel from PyPI) and matplotlib's ``grace_hopper.jpg``. Drawings,
   renders, micrographs and astronomy images of those packages are left out.
2. build: 64x64 crops at random positions and scales into the paired layout ``ROOT/{train,test}/{A,B}/``
   (A: the degraded crop, B: the colour crop). Training crops come from 15 photographs, test crops from
   4 *other* photographs, so the test measures colourising photographs the model never saw.
3. train + evaluate: ``cgp train --plugin pix2pix --set data.root=ROOT`` with every other setting at its
   default, under a wall-clock cap, then ``cgp evaluate``: PSNR/SSIM/L1 of the model's test outputs
   against the colour originals, and the same for the degraded input itself (the identity baseline).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

from runs import cgp, train_and_evaluate

MATE_NATURE = ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops"]
MATE_NATURE += ["Storm", "TwoWings", "Wood", "YellowFlower"]
SKIMAGE = ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg"]
TEST_PHOTOS = {"Storm", "YellowFlower", "coffee", "grace_hopper"}
"""Held out whole: no crop of these photographs is in the training set."""

CROP = 64
TRAIN_CROPS_PER_PHOTO = 34  # 15 photographs -> 510 training pairs
TEST_CROPS_PER_PHOTO = 25  # 4 photographs -> 100 test pairs


def fetch(dest: Path) -> list[Path]:
    """The photographs, one file each, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for package in ("mate-backgrounds", "lomiri-wallpapers-20.04"):
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
        for deb in tmp.glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(tmp / "root")], check=True)
        backgrounds = tmp / "root/usr/share/backgrounds"
        for name in MATE_NATURE:
            shutil.copy(backgrounds / f"mate/nature/{name}.jpg", dest)
        shutil.copy(backgrounds / "Kleiber_by_Lukas_Baubkus.jpg", dest / "Kleiber.jpg")
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "scikit-image==0.26.0", "-d", str(tmp)]
        subprocess.run(pip, check=True, capture_output=True)
        with zipfile.ZipFile(next(tmp.glob("scikit_image-*.whl"))) as wheel:
            for name in SKIMAGE:
                (dest / name).write_bytes(wheel.read(f"skimage/data/{name}"))
    sample_data = Path(matplotlib.get_data_path()) / "sample_data"
    shutil.copy(sample_data / "grace_hopper.jpg", dest)
    return sorted(dest.iterdir())


def random_crops(photo: Path, count: int, rng: random.Random) -> list[Image.Image]:
    """``count`` CROPxCROP colour crops, each at a random scale (short side 128..320 px) and position."""
    image = Image.open(photo).convert("RGB")
    crops = []
    for _ in range(count):
        short = rng.randint(128, 320)
        scale = short / min(image.size)
        size = (max(CROP, round(image.width * scale)), max(CROP, round(image.height * scale)))
        scaled = image.resize(size, Image.Resampling.LANCZOS)
        left, top = rng.randint(0, size[0] - CROP), rng.randint(0, size[1] - CROP)
        crops.append(scaled.crop((left, top, left + CROP, top + CROP)))
    return crops


def degrade(crop: Image.Image, task: str, rng: random.Random) -> Image.Image:
    """The model's input for ``crop``: grayscale (``colorize``), or noisy and JPEG-compressed (``restore``)."""
    if task == "colorize":
        return crop.convert("L")
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0.0, 0.08 * 255, (CROP, CROP, 3))
    noisy = Image.fromarray(np.clip(np.asarray(crop, np.float64) + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG", quality=30)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def build(photos: list[Path], root: Path, task: str, seed: int = 0) -> dict[str, list[str]]:
    rng = random.Random(seed)
    used: dict[str, list[str]] = {"train": [], "test": []}
    for photo in photos:
        split = "test" if photo.stem in TEST_PHOTOS else "train"
        used[split].append(photo.name)
        count = TEST_CROPS_PER_PHOTO if split == "test" else TRAIN_CROPS_PER_PHOTO
        for index, crop in enumerate(random_crops(photo, count, rng)):
            for side, image in (("A", degrade(crop, task, rng)), ("B", crop)):
                folder = root / split / side
                folder.mkdir(parents=True, exist_ok=True)
                image.save(folder / f"{photo.stem}_{index:02d}.png")
    return used


def sample_strip(run_dir: Path, root: Path, out_png: Path, count: int = 8) -> None:
    """Input, output and colour original of ``count`` test crops, in three rows."""
    inputs = sorted((root / "test/A").glob("*.png"))[:: len(list((root / "test/A").glob("*.png"))) // count][:count]
    with tempfile.TemporaryDirectory() as tmp:
        done = cgp(["generate", str(run_dir), *map(str, inputs), "--output", tmp])
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        rows = [
            [Image.open(p).convert("RGB") for p in inputs],
            [Image.open(Path(tmp) / p.name).convert("RGB") for p in inputs],
            [Image.open(root / "test/B" / p.name).convert("RGB") for p in inputs],
        ]
        sheet = Image.new("RGB", (CROP * count, CROP * 3), "white")
        for r, row in enumerate(rows):
            for c, image in enumerate(row):
                sheet.paste(image, (c * CROP, r * CROP))
        sheet.resize((sheet.width * 2, sheet.height * 2), Image.Resampling.NEAREST).save(out_png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["colorize", "restore"], default="colorize")
    parser.add_argument("--out", type=Path, help="default: out/TASK")
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-clock cap on training")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="a setting away from the default")
    parser.add_argument("--name", help="run name (default: run-seedN)")
    opts = parser.parse_args()
    opts.out = opts.out or Path("out") / opts.task
    photos_dir, root = opts.out / "photos", opts.out / "pairs"
    photos = sorted(photos_dir.iterdir()) if photos_dir.is_dir() else fetch(photos_dir)
    if not root.is_dir():
        used = build(photos, root, opts.task)
        (opts.out / "photos.json").write_text(json.dumps(used, indent=2))
    name = opts.name or f"run-seed{opts.seed}"
    run_dir = opts.out / name
    overrides = [f"data.root={root.resolve()}", f"trainer.max_minutes={opts.minutes}", f"trainer.seed={opts.seed}"]
    result = train_and_evaluate("pix2pix", run_dir, [*overrides, *opts.extra])
    (opts.out / f"results-{name}.json").write_text(json.dumps(result, indent=2))
    sample_strip(run_dir, root, opts.out / f"samples-{name}.png")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
