"""Procedural image-to-image data: pix2pix and CycleGAN train on these with no download.

A scene is 2 to 5 shapes (circle, square, triangle, ring) of random size, position and rotation, later
shapes covering earlier ones. It is drawn in three styles:

- a **label map**: each shape a flat colour fixed by its kind, on black (the semantic-label input of
  pix2pix's labels-to-photo tasks);
- a **painted** rendering: each kind a base hue, jittered per item, shaded from a per-item light direction
  and given a kind-specific texture (sphere highlight, stripes, grain, bands) of random frequency and phase,
  with drop shadows, over a noisy gradient background of random tint;
- a **cartoon**: flat colours with dark outlines on a pale background.

:class:`ProceduralPairs` pairs a label map (``cond``) with the painted scene (``x``): the layout is fully
determined by the input but the hue, light, texture and background are not, so a model trained with L1
alone blurs them while a conditional GAN can commit to one plausible rendering (Isola et al. 2017, sec. 4.2).
:class:`ProceduralDomains` gives a cartoon scene and an unrelated painted scene, for CycleGAN (Zhu et al. 2017).

Images are drawn at twice the size and averaged down (anti-aliased edges). Item ``i`` is a pure function of
``(split, i)``, so the data are the same on every machine and in every worker.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from cgp.datasets.procedural import ProceduralSplit
from cgp.datasets.shapes import shape_mask

SCENE_SHAPES = ("circle", "square", "triangle", "ring")
LABEL_COLOURS = np.array(
    [[0.95, 0.2, 0.2], [0.2, 0.85, 0.3], [0.25, 0.45, 1.0], [1.0, 0.85, 0.15]], dtype=np.float32
)  # one flat colour per kind in the label map, far apart so the kind is unambiguous
BASE_HUES = (0.02, 0.35, 0.62, 0.13)  # the painted colour of each kind before the per-item jitter
SPLIT_SIZES = {"train": 2000, "test": 200}
_PAIRS, _DOMAINS = 1, 2  # first seed word: keeps the two datasets' scenes apart


@dataclass(frozen=True)
class SceneShape:
    """One shape of a scene, in pixels of the supersampled canvas."""

    kind: int
    cx: float
    cy: float
    radius: float
    angle: float

    def mask(self, size: int, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
        """A boolean (size, size) mask of the shape moved by ``(dx, dy)``, clipped to the canvas.

        Only a window around the shape is rasterised (every kind lies within 1.2 radii of its centre).
        """
        cx, cy, reach = self.cx + dx, self.cy + dy, 1.2 * self.radius
        x0, y0 = max(0, int(cx - reach)), max(0, int(cy - reach))
        x1, y1 = min(size, int(np.ceil(cx + reach))), min(size, int(np.ceil(cy + reach)))
        out = np.zeros((size, size), dtype=bool)
        if x1 <= x0 or y1 <= y0:
            return out
        window = shape_mask(SCENE_SHAPES[self.kind], max(x1 - x0, y1 - y0), cx - x0, cy - y0, self.radius, self.angle)
        out[y0:y1, x0:x1] = window[: y1 - y0, : x1 - x0]
        return out


def draw_scene(rng: np.random.Generator, size: int) -> list[SceneShape]:
    """2 to 5 shapes that fit inside a ``size`` x ``size`` canvas."""
    shapes = []
    for _ in range(int(rng.integers(2, 6))):
        radius = rng.uniform(0.12, 0.24) * size
        cx, cy = rng.uniform(radius, size - radius, size=2)
        shapes.append(SceneShape(int(rng.integers(len(SCENE_SHAPES))), cx, cy, radius, rng.uniform(0, 2 * np.pi)))
    return shapes


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y), each (size, size), in pixels."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    return xx, yy


@lru_cache(maxsize=8)
def _upsampler(size: int, cells: int) -> np.ndarray:
    """A (size, cells + 1) matrix that interpolates cells + 1 values linearly across ``size`` pixels."""
    t = (np.arange(size, dtype=np.float32) + 0.5) / size * cells
    lo = np.minimum(t.astype(int), cells - 1)
    frac = t - lo
    up = np.zeros((size, cells + 1), dtype=np.float32)
    up[np.arange(size), lo] = 1 - frac
    up[np.arange(size), lo + 1] = frac
    return up


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise: a (cells + 1)^2 grid of standard normals, bilinearly interpolated to (size, size)."""
    up = _upsampler(size, cells)
    return up @ rng.standard_normal((cells + 1, cells + 1)).astype(np.float32) @ up.T


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32)


def _erode(mask: np.ndarray, width: int) -> np.ndarray:
    inner = mask.copy()
    inner[width:] &= mask[:-width]
    inner[:-width] &= mask[width:]
    inner[:, width:] &= mask[:, :-width]
    inner[:, :-width] &= mask[:, width:]
    return inner


def render_labels(scene: list[SceneShape], masks: list[np.ndarray]) -> np.ndarray:
    """(3, S, S) in [0, 1]: each shape in its kind's flat colour on black."""
    size = masks[0].shape[0]
    img = np.zeros((3, size, size), dtype=np.float32)
    for shape, mask in zip(scene, masks):
        img[:, mask] = LABEL_COLOURS[shape.kind][:, None]
    return img


def _shade(shape: SceneShape, rng: np.random.Generator, u: np.ndarray, v: np.ndarray, light: np.ndarray) -> tuple:
    """Brightness factor and additive highlight of one shape's pixels; ``u, v`` are offsets in radii."""
    lit = u * light[0] + v * light[1]  # > 0 on the side facing the light
    kind = SCENE_SHAPES[shape.kind]
    if kind == "circle":  # a lit sphere with a specular highlight
        nz = np.sqrt(np.clip(1.0 - u * u - v * v, 0.0, 1.0))
        lambert = np.clip(0.75 * lit + 0.66 * nz, 0.0, 1.0)
        return 0.3 + 0.75 * lambert, 0.45 * lambert**24
    if kind == "square":  # stripes of random frequency, direction and phase
        phi = rng.uniform(0, np.pi)
        stripes = np.sin(rng.uniform(5, 12) * (u * np.cos(phi) + v * np.sin(phi)) + rng.uniform(0, 2 * np.pi))
        return 0.8 + 0.2 * lit + 0.13 * stripes, 0.0
    if kind == "triangle":  # grain
        grain = rng.standard_normal(u.shape).astype(np.float32)
        return 0.8 + 0.2 * lit + 0.1 * grain, 0.0
    bands = np.sin(rng.uniform(12, 24) * np.sqrt(u * u + v * v) + rng.uniform(0, 2 * np.pi))  # ring
    return 0.8 + 0.2 * lit + 0.15 * bands, 0.0


def render_painted(scene: list[SceneShape], masks: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """(3, S, S) in [0, 1]: shaded, textured shapes with drop shadows on a noisy gradient background."""
    size = masks[0].shape[0]
    xx, yy = _grid(size)
    theta = rng.uniform(0, 2 * np.pi)
    light = np.array([np.cos(theta), np.sin(theta)], dtype=np.float32)  # image-plane direction to the light
    jitter = rng.uniform(-0.07, 0.07)
    bg = _hsv(rng.uniform(0.5, 0.85), rng.uniform(0.15, 0.4), rng.uniform(0.3, 0.45))
    ramp = ((xx / size - 0.5) * light[0] + (yy / size - 0.5) * light[1]) * 0.5
    img = bg[:, None, None] * (1.0 + 0.2 * smooth_noise(rng, size, 4) + ramp)[None]
    offset = -light * 0.05 * size  # shadows fall away from the light
    for shape, mask in zip(scene, masks):
        img[:, shape.mask(size, offset[0], offset[1])] *= 0.55
        colour = _hsv(BASE_HUES[shape.kind] + jitter + rng.uniform(-0.02, 0.02), rng.uniform(0.55, 0.9), 0.9)
        u, v = (xx[mask] - shape.cx) / shape.radius, (yy[mask] - shape.cy) / shape.radius
        factor, highlight = _shade(shape, rng, u, v, light)
        img[:, mask] = colour[:, None] * factor + highlight
    return np.clip(img, 0.0, 1.0)


def render_cartoon(scene: list[SceneShape], masks: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """(3, S, S) in [0, 1]: flat-coloured shapes with dark outlines on a pale background."""
    size = masks[0].shape[0]
    bg = _hsv(rng.uniform(), rng.uniform(0.05, 0.2), rng.uniform(0.88, 0.97))
    img = np.broadcast_to(bg[:, None, None], (3, size, size)).copy()
    outline = max(1, size // 48)
    for shape, mask in zip(scene, masks):
        colour = _hsv(BASE_HUES[shape.kind] + rng.uniform(-0.03, 0.03), rng.uniform(0.7, 0.9), 0.95)
        img[:, mask] = 0.08
        img[:, _erode(mask, outline)] = colour[:, None]
    return img


def _finish(img: np.ndarray, image_size: int) -> torch.Tensor:
    """Average the 2x canvas down to ``image_size`` and map [0, 1] to [-1, 1]."""
    small = (img[:, 0::2, 0::2] + img[:, 1::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 1::2]) * 0.25
    return torch.from_numpy((small * 2.0 - 1.0).astype(np.float32))


class _Scenes(ProceduralSplit):
    split_sizes = SPLIT_SIZES
    split_seeds = {"train": 0, "test": 1}

    def __init__(self, split: str, image_size: int = 64, size: int | None = None) -> None:
        super().__init__(split, image_size, size)

    def _scene(self, *seed: int) -> tuple[np.random.Generator, list[SceneShape], list[np.ndarray]]:
        rng = np.random.default_rng([*seed[:1], self.split_seed(), *seed[1:]])
        canvas = 2 * self.image_size
        scene = draw_scene(rng, canvas)
        return rng, scene, [shape.mask(canvas) for shape in scene]


class ProceduralPairs(_Scenes):
    """Items ``{"x": painted scene, "cond": its label map, "name": "<split>_<index>"}``, (3, S, S) in [-1, 1]."""

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.check_index(index)
        rng, scene, masks = self._scene(_PAIRS, index)
        cond = _finish(render_labels(scene, masks), self.image_size)
        x = _finish(render_painted(scene, masks, rng), self.image_size)
        return {"x": x, "cond": cond, "name": f"{self.split}_{index:05d}"}


class ProceduralDomains(_Scenes):
    """Unpaired items ``{"x": a painted scene, "cond": an unrelated cartoon scene, "name_a", "name_b"}``.

    The two scenes come from independent seeds, so no item pairs a cartoon with its own painting.
    With ``counterparts=True`` (for evaluation) items also hold the ground truth a translator should
    produce: ``"b_of_cond"`` (the cartoon's scene painted) and ``"a_of_x"`` (the painting's scene as a
    cartoon); the painted style has random detail, so these are one plausible answer, not the only one.
    """

    def __init__(self, split: str, image_size: int = 64, size: int | None = None, counterparts: bool = False) -> None:
        super().__init__(split, image_size, size)
        self.counterparts = counterparts

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.check_index(index)
        rng_a, scene_a, masks_a = self._scene(_DOMAINS, index, 0)
        rng_b, scene_b, masks_b = self._scene(_DOMAINS, index, 1)
        cond = _finish(render_cartoon(scene_a, masks_a, rng_a), self.image_size)
        x = _finish(render_painted(scene_b, masks_b, rng_b), self.image_size)
        name = f"{self.split}_{index:05d}"
        item = {"x": x, "cond": cond, "name_a": f"{name}_a", "name_b": f"{name}_b"}
        if self.counterparts:
            style = np.random.default_rng([_DOMAINS, self.split_seed(), index, 2])
            item["b_of_cond"] = _finish(render_painted(scene_a, masks_a, style), self.image_size)
            item["a_of_x"] = _finish(render_cartoon(scene_b, masks_b, style), self.image_size)
        return item
