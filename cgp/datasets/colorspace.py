"""CIE L*a*b* for colourisation: sRGB ↔ Lab in torch, the networks' scaling, and paired datasets
seen as (L → ab) pairs.

Colourisation models predict only the colour (a*, b*) of an image whose lightness (L*) they are
given, and the output is rebuilt with the input's exact lightness (Zhang et al. 2016, "Colorful
Image Colorization"; the colorization mode of the pix2pix/CycleGAN reference implementation). The
conversion is the standard one: sRGB gamma decoding, linear RGB → XYZ under the D65 white point,
XYZ → L*a*b* (CIE 1976). Images are (..., 3, H, W) in [0, 1]; computed in float64 and returned in
the input's dtype, so a round trip is exact to about 1e-6.

The networks see L* ∈ [0, 100] as ``L / 50 - 1`` and a*, b* as ``ab / 110``, both roughly in
[-1, 1] like the tanh output (the reference's normalisation).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

_RGB_TO_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754], dtype=torch.float64)  # the matrix's own D65 white
_EPS = (6 / 29) ** 3
_KAPPA = 1 / (3 * (6 / 29) ** 2)
L_SCALE, AB_SCALE = 50.0, 110.0


def _mix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", matrix.to(image.device), image)


def _white(image: torch.Tensor) -> torch.Tensor:
    return _WHITE.to(image.device)[:, None, None]


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) sRGB in [0, 1] → L* in [0, 100], a*, b* roughly in [-110, 110]."""
    x = rgb.double().clamp(0, 1)
    linear = torch.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    xyz = _mix(_RGB_TO_XYZ, linear) / _white(x)
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1 / 3), xyz * _KAPPA + 4 / 29)
    fx, fy, fz = f.unbind(-3)
    lab = torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)
    return lab.to(rgb.dtype)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_lab`; colours outside the sRGB gamut are clipped to [0, 1]."""
    x = lab.double()
    light, a, b = x.unbind(-3)
    fy = (light + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=-3)
    xyz = torch.where(f > 6 / 29, f**3, (f - 4 / 29) / _KAPPA) * _white(x)
    linear = _mix(_XYZ_TO_RGB, xyz).clamp(0, 1)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055, linear * 12.92)
    return rgb.clamp(0, 1).to(lab.dtype)


def split_lab(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An image in the networks' [-1, 1] range (1 or 3 channels) → (L, ab) in the networks' scaling."""
    rgb = (image.expand(*image.shape[:-3], 3, *image.shape[-2:]) + 1) / 2
    lab = rgb_to_lab(rgb)
    return lab[..., :1, :, :] / L_SCALE - 1, lab[..., 1:, :, :] / AB_SCALE


def join_lab(light: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(L, ab) in the networks' scaling → an RGB image in [-1, 1]."""
    lab = torch.cat([(light + 1) * L_SCALE, ab * AB_SCALE], dim=-3)
    return lab_to_rgb(lab) * 2 - 1


def is_gray(image: torch.Tensor, tolerance: float = 2 / 255) -> bool:
    """An image in [-1, 1] with one channel, or three channels equal everywhere within ``tolerance``
    (a fraction of the [0, 1] range)."""
    if image.shape[-3] == 1:
        return True
    spread = (image.amax(dim=-3) - image.amin(dim=-3)).abs().max()
    return bool(spread <= 2 * tolerance)


class LabPairs(Dataset):
    """A paired dataset (items with ``cond`` and ``x`` images in [-1, 1]) seen as colourisation
    pairs: ``cond`` becomes the input's L channel, ``x`` the target's (a, b), and ``target_rgb``
    keeps the target image for evaluation and samples."""

    def __init__(self, pairs: Dataset) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.pairs[index])
        light, _ = split_lab(item["cond"])
        _, ab = split_lab(item["x"])
        item.update(cond=light, x=ab, target_rgb=item["x"])
        return item
