"""What the text2image task feeds the trainer and its metrics.

:class:`TokenizedCaptions` wraps a captioned dataset (a user folder or the procedural shapes): it
encodes the caption with the run's tokenizer and resizes the image to every stage's size (``x`` for
stage I, ``x_s2`` for stage II). :class:`CaptionEvalSet` is a whole split held in memory for the
metrics: images at the final stage's size, captions, ids and, for the procedural data, attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from cgp.plugins.text2image.tokenizer import WordTokenizer


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Area-style downsampling (antialiased bilinear) of (N, C, S, S) or (C, S, S) images."""
    if images.shape[-1] == size:
        return images
    batched = images if images.dim() == 4 else images[None]
    out = F.interpolate(batched, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out if images.dim() == 4 else out[0]


class TokenizedCaptions(Dataset):
    """Items ``{"x": stage-I image, ["x_s2": stage-II image,] "cond": (L,) ids[, "attrs": (A,)]}``."""

    def __init__(self, base: Dataset, tokenizer: WordTokenizer, sizes: tuple[int, ...]) -> None:
        self.base, self.tokenizer, self.sizes = base, tokenizer, sizes

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.base[index]
        out: dict[str, Any] = {"cond": self.tokenizer.encode([item["caption"]], "training captions")[0]}
        for i, size in enumerate(self.sizes):
            out["x" if i == 0 else f"x_s{i + 1}"] = resize(item["image"], size)
        if "attrs" in item:
            out["attrs"] = item["attrs"]
        return out


@dataclass
class CaptionEvalSet:
    """One split in memory. ``named`` holds, per item and attribute, the value its caption names
    (-1: not named); ``labels`` the true values. Both are None for data without attributes."""

    images: torch.Tensor
    captions: list[str]
    tokens: torch.Tensor
    named: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    attribute_values: dict[str, tuple[str, ...]] | None = None

    def __len__(self) -> int:
        return len(self.captions)


def collect_eval_set(
    base: Dataset, tokenizer: WordTokenizer, size: int, limit: int | None, what: str
) -> CaptionEvalSet:
    """The first ``limit`` items of ``base`` (all if None) with the first caption drawn for each."""
    n = len(base) if limit is None else min(limit, len(base))  # type: ignore[arg-type]
    loader = DataLoader(torch.utils.data.Subset(base, range(n)), batch_size=256, collate_fn=list)
    images, captions, named, labels = [], [], [], []
    for items in loader:
        images.append(resize(torch.stack([it["image"] for it in items]), size))
        captions += [it["caption"] for it in items]
        if "attrs" in items[0]:
            named.append(torch.stack([it["attrs"] for it in items]))
            labels.append(torch.stack([it["labels"] for it in items]))
    values = getattr(base, "attribute_values", None)
    return CaptionEvalSet(
        torch.cat(images),
        captions,
        tokenizer.encode(captions, what),
        torch.cat(named) if named else None,
        torch.cat(labels) if labels else None,
        dict(values) if values is not None and named else None,
    )
