"""Differentiable augmentation of what a discriminator reads (Zhao et al. 2020, "Differentiable
Augmentation for Data-Efficient GAN Training", DiffAugment).

The same random transformations are applied to real and generated images before the discriminator,
in both players' steps, and they are differentiable, so the generator's gradient passes through them:
D cannot memorise the training images, and G is not asked to draw the augmentations (D sees them on
both sides). Images are (B, C, H, W) in [-1, 1]; each sample draws its own transformation.

* ``color``: brightness shift in [-0.5, 0.5], saturation scale in [0, 2], contrast scale in [0.5, 1.5]
  (the paper's ranges, there for images in [-1, 1] too);
* ``translation``: a shift of up to 1/8 of the side in each direction, the vacated border zero;
* ``cutout``: a square of half the side set to zero at a random place (partly outside the image).
"""

from __future__ import annotations

import torch


def _uniform(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """(B, 1, 1, 1) draws in [low, high) for the batch ``x``."""
    return low + (high - low) * torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    x = x + _uniform(x, -0.5, 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _uniform(x, 0.0, 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, 0.5, 1.5) + mean


def _shifted(size: int, shift: torch.Tensor) -> torch.Tensor:
    """(B, size) source indices of each output position after a shift, -1 where the source is outside."""
    index = torch.arange(size, device=shift.device)[None, :] - shift[:, None]
    return torch.where((index >= 0) & (index < size), index, torch.full_like(index, -1))


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    rows = _shifted(h, torch.randint(-sy, sy + 1, (b,), device=x.device))  # (B, H)
    cols = _shifted(w, torch.randint(-sx, sx + 1, (b,), device=x.device))  # (B, W)
    inside = (rows >= 0)[:, None, :, None] & (cols >= 0)[:, None, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None]
    moved = x.permute(0, 2, 3, 1)[batch, rows.clamp(min=0)[:, :, None], cols.clamp(min=0)[:, None, :]]
    return moved.permute(0, 3, 1, 2) * inside


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device) - ch // 2  # centres anywhere inside
    left = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device) - cw // 2
    y = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    hole = (y >= top) & (y < top + ch) & (xs >= left) & (xs < left + cw)  # (B, H, W)
    return x * ~hole[:, None]


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}
POLICIES = tuple(TRANSFORMS)


def diff_augment(x: torch.Tensor, policy: list[str] | tuple[str, ...]) -> torch.Tensor:
    """``x`` through each transformation of ``policy`` in the order given."""
    for name in policy:
        if name not in TRANSFORMS:
            raise ValueError(f"unknown augmentation {name!r}; choose from {', '.join(POLICIES)}")
        x = TRANSFORMS[name](x)
    return x
