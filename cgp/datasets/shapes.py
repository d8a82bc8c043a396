"""Procedural coloured shapes: a class-conditional image dataset that needs no download.

Each item is one shape (the class) of a random colour, size, position and rotation on a random
darker background, rendered with 2x supersampling. Item ``i`` of a split is a pure function of
``(split, i)``, so the data are the same on every machine and in every worker.
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np
import torch

from cgp.datasets.procedural import ProceduralSplit

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "diamond")
SPLIT_SIZES = {"train": 6144, "test": 768}


def _rotate(x: np.ndarray, y: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(angle), np.sin(angle)
    return c * x + s * y, -s * x + c * y


def shape_mask(kind: str, size: int, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    """A boolean (size, size) mask of one shape; coordinates are in pixels."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    x, y = _rotate(xx - cx, yy - cy, angle)
    r = radius
    if kind == "circle":
        return x**2 + y**2 <= r**2
    if kind == "ring":
        d = np.sqrt(x**2 + y**2)
        return (d <= r) & (d >= 0.55 * r)
    if kind == "square":
        return (np.abs(x) <= 0.8 * r) & (np.abs(y) <= 0.8 * r)
    if kind == "diamond":
        return np.abs(x) + np.abs(y) <= r
    if kind == "cross":
        arm = 0.3 * r
        return ((np.abs(x) <= arm) & (np.abs(y) <= r)) | ((np.abs(y) <= arm) & (np.abs(x) <= r))
    if kind == "triangle":
        # equilateral, pointing up before rotation: inside three half-planes
        h = 1.5 * r
        return (y <= 0.5 * r) & (np.sqrt(3) * x - y <= r) & (-np.sqrt(3) * x - y <= r) & (y >= 0.5 * r - h)
    raise ValueError(f"unknown shape {kind!r}")


def render_shape(rng: np.random.Generator, label: int, image_size: int, scale: float = 1.0) -> np.ndarray:
    """A float32 (3, S, S) image in [-1, 1] of class ``label``; ``scale`` shrinks or grows the shape
    about its centre after its size and place are drawn (1: the dataset's own; for probing models)."""
    ss = 2 * image_size
    radius = rng.uniform(0.22, 0.38) * ss
    cx, cy = rng.uniform(radius, ss - radius, size=2)
    kind = SHAPE_CLASSES[label]
    # a square turned by 45 degrees is a diamond: those two only jitter around their own orientation
    angle = rng.uniform(-0.25, 0.25) if kind in ("square", "diamond") else rng.uniform(0, 2 * np.pi)
    mask = shape_mask(kind, ss, cx, cy, radius * scale, angle)
    hue = rng.uniform()
    fg = np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.75, 1.0)), dtype=np.float32)
    bg = np.array(
        colorsys.hsv_to_rgb((hue + rng.uniform(0.25, 0.75)) % 1.0, rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.4)),
        dtype=np.float32,
    )
    img = np.where(mask[None], fg[:, None, None], bg[:, None, None])
    img = img.reshape(3, image_size, 2, image_size, 2).mean(axis=(2, 4))
    return (img * 2.0 - 1.0).astype(np.float32)


class ShapesDataset(ProceduralSplit):
    """Items ``{"x": (3, S, S) in [-1, 1], "cond": class index}``, classes balanced by index."""

    classes = SHAPE_CLASSES
    split_sizes = SPLIT_SIZES

    def __init__(self, split: str, image_size: int = 32, size: int | None = None) -> None:
        super().__init__(split, image_size, size)

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.check_index(index)
        return self.cached(index, self._draw)

    def _draw(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng(self.split_seed() + index)
        label = index % len(SHAPE_CLASSES)
        return {"x": torch.from_numpy(render_shape(rng, label, self.image_size)), "cond": label}
