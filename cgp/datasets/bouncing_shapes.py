"""Procedural bouncing shapes: a video-prediction dataset that needs no download.

Each clip holds two or three shapes (circle, square, triangle, diamond) of different sizes, colours and
speeds that move in straight lines, spin slowly and bounce elastically off the four walls; shapes drawn
later occlude earlier ones, so a predictor must keep track of objects it cannot fully see. The idea is
Moving MNIST's (Srivastava et al. 2015, "Unsupervised Learning of Video Representations using LSTMs"),
with shapes instead of digits and colour, size and speed varying per object.

Clip ``i`` of a split is a pure function of ``(split, i)``: the simulation runs at sub-frame steps of the
continuous positions, frames are rendered with 2x supersampling, and every number comes from one
generator seeded by the split and the index, so every machine and worker sees the same clips.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cgp.datasets.procedural import ProceduralSplit
from cgp.datasets.shapes import shape_mask

KINDS = ("circle", "square", "triangle", "diamond")
SPLIT_SIZES = {"train": 4096, "test": 512}
_VIDEO = 3  # first seed word: keeps these clips apart from the other procedural datasets' streams

_OBJECTS = (2, 3)  # shapes per clip, inclusive
_RADIUS = (0.10, 0.20)  # as fractions of the frame side
_SPEED = (0.015, 0.06)  # frame sides per frame
_SPIN = 0.08  # largest rotation per frame, radians


def simulate(rng: np.random.Generator, frames: int, size: float) -> list[dict[str, Any]]:
    """Draw the objects of one clip and move them for ``frames`` frames in a ``size``-wide box.

    Returns one dict per object: ``kind``, ``colour`` (RGB in [0, 1]), ``radius`` and per-frame arrays
    ``x``, ``y`` and ``angle`` (``frames`` values each). Walls reflect the velocity component that
    points into them, with the position mirrored back inside, so energy is conserved exactly.
    """
    objects = []
    for _ in range(int(rng.integers(_OBJECTS[0], _OBJECTS[1] + 1))):
        radius = rng.uniform(*_RADIUS) * size
        lo, hi = radius, size - radius
        pos = rng.uniform(lo, hi, size=2)
        heading = rng.uniform(0, 2 * np.pi)
        vel = rng.uniform(*_SPEED) * size * np.array([np.cos(heading), np.sin(heading)])
        angle, spin = rng.uniform(0, 2 * np.pi), rng.uniform(-_SPIN, _SPIN)
        xs, ys, angles = np.empty(frames), np.empty(frames), np.empty(frames)
        for t in range(frames):
            xs[t], ys[t], angles[t] = pos[0], pos[1], angle
            pos = pos + vel
            for k in range(2):  # an elastic bounce: mirror the overshoot back inside, flip the velocity
                if pos[k] < lo:
                    pos[k], vel[k] = 2 * lo - pos[k], -vel[k]
                elif pos[k] > hi:
                    pos[k], vel[k] = 2 * hi - pos[k], -vel[k]
            angle += spin
        hue = rng.uniform(0, 1)
        colour = np.clip(np.abs(((hue * 6 + np.array([0.0, 4.0, 2.0])) % 6) - 3) - 1, 0, 1)  # HSV hue at S=V=1
        colour = 0.35 + 0.65 * colour  # bright, so every object stands out from the dark background
        kind = KINDS[int(rng.integers(len(KINDS)))]
        objects.append({"kind": kind, "colour": colour, "radius": radius, "x": xs, "y": ys, "angle": angles})
    return objects


def render(objects: list[dict[str, Any]], frames: int, image_size: int, background: np.ndarray) -> np.ndarray:
    """(T, 3, S, S) float32 in [-1, 1]: each frame drawn at 2x, later objects over earlier ones, averaged down."""
    ss = 2 * image_size
    video = np.empty((frames, 3, image_size, image_size), dtype=np.float32)
    for t in range(frames):
        canvas = np.broadcast_to(background[:, None, None], (3, ss, ss)).copy()
        for obj in objects:
            mask = shape_mask(obj["kind"], ss, 2 * obj["x"][t], 2 * obj["y"][t], 2 * obj["radius"], obj["angle"][t])
            canvas[:, mask] = obj["colour"][:, None]
        video[t] = canvas.reshape(3, image_size, 2, image_size, 2).mean(axis=(2, 4))
    return video * 2.0 - 1.0


class BouncingShapes(ProceduralSplit):
    """Items ``{"frames": (T, 3, S, S) in [-1, 1], "name": "<split>_<index>"}`` with T = ``frames``."""

    split_sizes = SPLIT_SIZES

    def __init__(self, split: str, frames: int, image_size: int = 32, size: int | None = None) -> None:
        super().__init__(split, image_size, size)
        if frames < 1:
            raise ValueError(f"a clip needs at least one frame, got {frames}")
        self.frames = frames

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.check_index(index)
        rng = np.random.default_rng([_VIDEO, self.split_seed() + index])
        objects = simulate(rng, self.frames, float(self.image_size))
        background = np.full(3, rng.uniform(0.02, 0.15), dtype=np.float32)
        video = render(objects, self.frames, self.image_size, background)
        return {"frames": torch.from_numpy(video), "name": f"{self.split}_{index:05d}"}
