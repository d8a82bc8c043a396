"""Normalisation choices of the pix2pix / CycleGAN networks (Isola et al. 2017, Zhu et al. 2017).

The reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py``) offers
batch norm (pix2pix's default), instance norm (CycleGAN's default; Ulyanov et al. 2016) or none. A
convolution followed by batch norm carries no bias, since the norm's shift makes it redundant;
instance norm there has no affine parameters, so the convolution keeps its bias.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

NORM_KINDS = ("batch", "instance", "none")

NormFactory = Callable[[int], nn.Module]


def _check(kind: str) -> None:
    if kind not in NORM_KINDS:
        raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORM_KINDS)}")


def norm_layer(kind: str) -> NormFactory:
    """A callable ``channels -> nn.Module`` for the norm ``kind`` (``batch``, ``instance`` or ``none``)."""
    _check(kind)
    if kind == "batch":
        return lambda channels: nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "instance":
        return lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return lambda channels: nn.Identity()


def uses_bias(kind: str) -> bool:
    """Whether a convolution that feeds the norm ``kind`` has a bias: only when the norm has no shift."""
    _check(kind)
    return kind != "batch"
