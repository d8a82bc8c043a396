"""Procedural captioned shapes: a text-to-image dataset that needs no download.

Each item draws five attributes uniformly (:data:`ATTRIBUTES`), renders them, and describes them in one
caption built from several templates and synonyms ("two big blue squares in the centre", "top-left: one
little red disc"). Colour, shape and count are always named; size and position only most of the time, so
a model must learn that a caption leaves some attributes open. ``attrs`` says which attributes the caption
names (the ground truth for a caption-match metric) and ``labels`` what was drawn.

Item ``i`` of a split is a pure function of ``(split, i)``. The caption comes from its own random stream,
apart from the rendering stream, so every caption of a split (for a vocabulary) costs no rendering.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cgp.datasets.procedural import ProceduralSplit
from cgp.datasets.shapes import shape_mask

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "colour": ("red", "green", "blue", "yellow", "purple", "white"),
    "shape": ("circle", "square", "triangle", "cross"),
    "size": ("small", "large"),
    "position": ("top left", "top right", "bottom left", "bottom right", "centre"),
    "count": ("one", "two"),
}
PALETTE = np.array(
    [[0.92, 0.12, 0.10], [0.12, 0.78, 0.18], [0.15, 0.35, 1.0], [0.95, 0.88, 0.10], [0.62, 0.18, 0.85], [0.95] * 3],
    dtype=np.float32,
)  # one fixed RGB per colour name, far apart in hue so each stays recognisable at 32x32
SPLIT_SIZES = {"train": 8192, "test": 1024}
_CAPTION, _RENDER = 1, 2  # first seed word: the two independent random streams of an item

_COUNT_WORDS = (("a", "one", "a single"), ("two", "a pair of", "2"))
_SIZE_WORDS = (("small", "little", "tiny"), ("large", "big"))
_SHAPE_WORDS = (  # (singular, plural)
    (("circle", "circles"), ("disc", "discs"), ("round dot", "round dots")),
    (("square", "squares"), ("box", "boxes")),
    (("triangle", "triangles"),),
    (("cross", "crosses"), ("plus sign", "plus signs")),
)
_POSITION_WORDS = (
    ("top left", "upper left", "top-left"),
    ("top right", "upper right", "top-right"),
    ("bottom left", "lower left", "bottom-left"),
    ("bottom right", "lower right", "bottom-right"),
    ("centre", "middle", "center"),
)
_PLACED = (
    "{np} {at} the {pos}",
    "{pos}: {np}",
    "there {be} {np} in the {pos}{corner}",
    "{np} in the {pos} of the image",
)
_UNPLACED = ("{np}", "there {be} {np}", "an image of {np}")
_NAME_PROBABILITY = 0.8  # of naming the size, and the position: most captions are complete, some leave a gap

_RADIUS = (0.11, 0.19)  # small, large, as fractions of the image size
_QUADRANT = (0.28, 0.72)
_PAIR_SCALE = 0.75  # two copies are each smaller, so the pair still fits its position
_PAIR_OFFSET = 1.25  # half the centre distance, in radii: rotated shapes reach 1.05 radii, so a visible gap


def pick(u: float, options: tuple) -> Any:
    """``options[k]`` for a uniform ``u`` in [0, 1): one shared draw per choice keeps the stream cheap."""
    return options[int(u * len(options))]


def describe(rng: np.random.Generator) -> tuple[str, list[int], list[int]]:
    """A caption, the drawn attribute indices, and the named ones (-1 where the caption is silent)."""
    u = rng.random(12)
    labels = [int(u[k] * len(values)) for k, values in enumerate(ATTRIBUTES.values())]
    colour, shape, size, position, count = labels
    named_size, named_position = u[5] < _NAME_PROBABILITY, u[6] < _NAME_PROBABILITY
    noun = pick(u[7], _SHAPE_WORDS[shape])[count]
    words = [pick(u[8], _COUNT_WORDS[count])]
    if named_size:
        words.append(pick(u[9], _SIZE_WORDS[size]))
    words += [ATTRIBUTES["colour"][colour], noun]
    centre = position == len(_POSITION_WORDS) - 1
    fields = {
        "np": " ".join(words),
        "be": "are" if words[0] in ("two", "2") else "is",  # "there is a pair of ..."
        "pos": pick(u[10], _POSITION_WORDS[position]),
        "at": "in" if centre else "at",
        "corner": "" if centre else " corner",
    }
    template = pick(u[11], _PLACED if named_position else _UNPLACED)
    attrs = [colour, shape, size if named_size else -1, position if named_position else -1, count]
    return template.format(**fields), labels, attrs


def render(rng: np.random.Generator, labels: list[int], image_size: int) -> np.ndarray:
    """A float32 (3, S, S) image in [-1, 1] of the attributes ``labels``, drawn at 2x and averaged down."""
    colour, shape, size, position, count = labels
    s = image_size
    radius = _RADIUS[size] * s * rng.uniform(0.9, 1.1) * (_PAIR_SCALE if count else 1.0)
    if position == len(_POSITION_WORDS) - 1:
        cx, cy = 0.5 * s, 0.5 * s
    else:
        cx, cy = _QUADRANT[position % 2] * s, _QUADRANT[position // 2] * s
    cx, cy = np.array([cx, cy]) + rng.uniform(-0.04, 0.04, size=2) * s
    offset = _PAIR_OFFSET * radius if count else 0.0
    reach = 1.05 * radius  # a rotated cross's corner is the farthest point of any shape
    cx = float(np.clip(cx, offset + reach, s - offset - reach))
    cy = float(np.clip(cy, reach, s - reach))
    angle = rng.uniform(-0.3, 0.3)
    kind = ATTRIBUTES["shape"][shape]
    mask = np.zeros((2 * s, 2 * s), dtype=bool)
    for dx in (-offset, offset) if count else (0.0,):
        mask |= shape_mask(kind, 2 * s, 2 * (cx + dx), 2 * cy, 2 * radius, angle)
    fg = np.clip(PALETTE[colour] * rng.uniform(0.92, 1.08), 0.0, 1.0)
    bg = np.full(3, rng.uniform(0.05, 0.25), dtype=np.float32)
    img = np.where(mask[None], fg[:, None, None], bg[:, None, None])
    img = img.reshape(3, s, 2, s, 2).mean(axis=(2, 4))
    return (img * 2.0 - 1.0).astype(np.float32)


class CaptionedShapes(ProceduralSplit):
    """Items ``{"image": (3, S, S) in [-1, 1], "caption": str, "attrs": (5,) long, "labels": (5,) long}``.

    ``attrs`` holds the index of each attribute the caption names and -1 for the others; ``labels`` the
    index of every attribute as drawn. Both follow the order of :data:`ATTRIBUTES`.
    """

    attribute_names = list(ATTRIBUTES)
    attribute_values = ATTRIBUTES
    split_sizes = SPLIT_SIZES

    def __init__(self, split: str, image_size: int = 32, size: int | None = None) -> None:
        super().__init__(split, image_size, size)

    def _stream(self, kind: int, index: int) -> np.random.Generator:
        return np.random.default_rng([kind, self.split_seed() + index])

    def all_captions(self) -> list[str]:
        """Every caption of the split in index order, without rendering an image."""
        return [describe(self._stream(_CAPTION, i))[0] for i in range(self.size)]

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.check_index(index)
        caption, labels, attrs = describe(self._stream(_CAPTION, index))
        image = render(self._stream(_RENDER, index), labels, self.image_size)
        return {
            "image": torch.from_numpy(image),
            "caption": caption,
            "attrs": torch.tensor(attrs, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
        }
