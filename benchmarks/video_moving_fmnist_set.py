"""The Moving-MNIST protocol on Fashion-MNIST items, as a video folder that ``video_predict`` reads.

    python benchmarks/video_moving_fmnist_set.py --out benchmarks/out/mfmnist

Srivastava et al. 2015 ("Unsupervised Learning of Video Representations using LSTMs") made Moving MNIST:
two 28x28 digits bouncing inside a 64x64 frame, 10 frames given and 10 predicted. OpenSTL's Moving
FMNIST benchmark is the same generator with Fashion-MNIST items (Xiao et al. 2017). This script reads the
real Fashion-MNIST images from Debian's ``dataset-fashion-mnist`` package (IDX files, gzip) and writes
20-frame sequences the way the original generator draws them: for each of two items a random start inside
the frame, a random direction and a speed of 0.1 frame-ranges per frame (3.6 px), reflected at the walls;
the items are combined by their pixel-wise maximum. Training sequences use training images, test
sequences test images, each from its own seeded generator.

Each sequence is one lossless FFV1 ``.mkv`` (grayscale, 64x64, 20 frames), so the task reads it through
PyAV like any user video: ``ROOT/train/seq_NNNNN.mkv`` and ``ROOT/test/seq_NNNNN.mkv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from cgp.datasets.idx import read_idx
from cgp.datasets.video import write_video

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
CANVAS, ITEM, FRAMES, STEP_LENGTH = 64, 28, 20, 0.1


def trajectory(rng: np.random.Generator) -> np.ndarray:
    """(FRAMES, 2) top-left pixel positions of one item, reflected at the walls (Srivastava's generator)."""
    limit = CANVAS - ITEM
    y, x = rng.uniform(0, 1, size=2)
    theta = rng.uniform(0, 2 * np.pi)
    vy, vx = np.sin(theta), np.cos(theta)
    out = np.empty((FRAMES, 2), dtype=np.int64)
    for t in range(FRAMES):
        y, x = y + vy * STEP_LENGTH, x + vx * STEP_LENGTH
        if y <= 0:
            y, vy = 0.0, -vy
        if y >= 1:
            y, vy = 1.0, -vy
        if x <= 0:
            x, vx = 0.0, -vx
        if x >= 1:
            x, vx = 1.0, -vx
        out[t] = int(y * limit), int(x * limit)  # truncated, as the original generator does
    return out


def sequence(images: np.ndarray, rng: np.random.Generator, items: int = 2) -> np.ndarray:
    """uint8 (FRAMES, CANVAS, CANVAS): ``items`` random images bouncing, combined by maximum."""
    video = np.zeros((FRAMES, CANVAS, CANVAS), dtype=np.uint8)
    for _ in range(items):
        image = images[rng.integers(len(images))]
        for t, (top, left) in enumerate(trajectory(rng)):
            window = video[t, top : top + ITEM, left : left + ITEM]
            np.maximum(window, image, out=window)
    return video


def write_split(images: np.ndarray, folder: Path, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        video = torch.from_numpy(sequence(images, rng))[:, None]  # (T, 1, H, W)
        write_video(folder / f"seq_{index:05d}.mkv", video)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/mfmnist"))
    parser.add_argument("--source", type=Path, default=FASHION_MNIST, help="folder of the four IDX files")
    parser.add_argument("--train", type=int, default=4000, help="training sequences")
    parser.add_argument("--test", type=int, default=2000, help="test sequences (OpenSTL: 10000)")
    opts = parser.parse_args()
    if not (opts.source / "train-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"no Fashion-MNIST under '{opts.source}': apt-get install dataset-fashion-mnist")
    write_split(read_idx(opts.source / "train-images-idx3-ubyte.gz"), opts.out / "train", opts.train, 0)
    write_split(read_idx(opts.source / "t10k-images-idx3-ubyte.gz"), opts.out / "test", opts.test, 1)
    print(f"{opts.train} training and {opts.test} test sequences of {FRAMES} frames in {opts.out}")


if __name__ == "__main__":
    main()
