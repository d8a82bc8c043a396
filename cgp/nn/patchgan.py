"""PatchGAN discriminators of pix2pix (Isola et al. 2017, "Image-to-Image Translation with
Conditional Adversarial Networks", section 3.2.2 and table 5; Li & Wand 2016 for Markovian
discriminators).

A PatchGAN classifies every N x N patch of its input as real or fake and returns the map of patch
scores; the pixel-wise L1 term of pix2pix takes care of the low frequencies, so the discriminator
only has to model local texture. The paper compares patch sizes 1 (pixelGAN), 16, 70 (the default)
and 286 (the whole image); :func:`patch_discriminator` names them by receptive field.
:class:`NLayerDiscriminator` and :class:`PixelDiscriminator` match the reference implementation
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py``): the 70x70 PatchGAN on 6 channels
(input and output concatenated) with batch norm has 2,768,705 parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from cgp.nn.norm import norm_layer, uses_bias

PATCH_LAYERS = {"16": 1, "34": 2, "70": 3, "142": 4}
"""PatchGAN receptive field -> number of stride-2 convolutions (``n_layers``)."""

RECEPTIVE_FIELDS = ("pixel", *PATCH_LAYERS, "image")


def _conv_block(c_in: int, c_out: int, stride: int, norm: str | None) -> nn.Sequential:
    """4x4 conv (padding 1), then ``norm`` (None: no norm, conv with bias), then LeakyReLU(0.2)."""
    if norm is None:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 4, stride, 1), nn.LeakyReLU(0.2, True))
    conv = nn.Conv2d(c_in, c_out, 4, stride, 1, bias=uses_bias(norm))
    return nn.Sequential(conv, norm_layer(norm)(c_out), nn.LeakyReLU(0.2, True))


def _run(blocks: nn.ModuleList, x: torch.Tensor) -> list[torch.Tensor]:
    feats = []
    for block in blocks:
        x = block(x)
        feats.append(x)
    return feats


class NLayerDiscriminator(nn.Module):
    """The PatchGAN: (B, in_channels, H, W) -> (B, 1, H', W') patch scores (logits).

    ``n_layers`` stride-2 4x4 convolutions (widths doubling from ``base_width``, capped at 8x), one
    stride-1 4x4 convolution, then a stride-1 4x4 convolution to one channel. The first layer has no
    norm. Receptive field: 16, 34, 70, 142 pixels for ``n_layers`` 1, 2, 3, 4.
    """

    def __init__(self, in_channels: int, base_width: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"a PatchGAN needs n_layers >= 1, got {n_layers}")
        w = base_width
        blocks = [_conv_block(in_channels, w, 2, None)]
        width = w
        for n in range(1, n_layers):
            blocks.append(_conv_block(width, w * min(2**n, 8), 2, norm))
            width = w * min(2**n, 8)
        blocks.append(_conv_block(width, w * min(2**n_layers, 8), 1, norm))
        width = w * min(2**n_layers, 8)
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(width, 1, 4, 1, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activations after each LeakyReLU, shallow to deep (pix2pixHD's feature matching)."""
        return _run(self.blocks, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1])


class PixelDiscriminator(nn.Module):
    """The 1x1 PatchGAN ("pixelGAN"): every pixel scored on its own colour; (B, C, H, W) -> (B, 1, H, W)."""

    def __init__(self, in_channels: int, base_width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        w, bias = base_width, uses_bias(norm)
        self.model = nn.Sequential(
            nn.Conv2d(in_channels, w, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 1, bias=bias),
            norm_layer(norm)(2 * w),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * w, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _sides(image_size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    if h < 1 or w < 1:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    return h, w


class ImageDiscriminator(nn.Module):
    """A whole-image discriminator (the paper's 286x286 "ImageGAN"): one score per image, (B, 1, 1, 1).

    4x4 stride-2 convolutions (as in the PatchGAN, widths capped at 8x) halve the image until its
    shorter side is at most 4, then one convolution whose kernel is the whole remaining map scores
    it, so the score sees every input pixel. Built for one input size, ``image_size`` (side or
    ``(height, width)``).
    """

    def __init__(
        self, in_channels: int, image_size: int | tuple[int, int], base_width: int = 64, norm: str = "batch"
    ) -> None:
        super().__init__()
        self.image_size = _sides(image_size)
        h, w = self.image_size
        blocks: list[nn.Module] = []
        width = in_channels
        while min(h, w) > 4:
            out = base_width * min(2 ** len(blocks), 8)
            blocks.append(_conv_block(width, out, 2, norm if blocks else None))
            width, h, w = out, h // 2, w // 2
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(width, 1, (h, w))

    def _check(self, x: torch.Tensor) -> None:
        if tuple(x.shape[-2:]) != self.image_size:
            h, w = self.image_size
            raise ValueError(f"ImageDiscriminator was built for {h}x{w} inputs, got {x.shape[-2]}x{x.shape[-1]}")

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activations after each LeakyReLU, shallow to deep."""
        self._check(x)
        return _run(self.blocks, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        feats = _run(self.blocks, x)
        return self.head(feats[-1] if feats else x)


def _check_name(name: str) -> str:
    name = str(name)
    if name not in RECEPTIVE_FIELDS:
        raise ValueError(f"unknown discriminator receptive field {name!r}; choose one of {', '.join(RECEPTIVE_FIELDS)}")
    return name


def receptive_field_size(name: str, image_size: int) -> int:
    """Side, in input pixels, of the patch one output score sees (``image``: the image side)."""
    name = _check_name(name)
    if name == "pixel":
        return 1
    if name == "image":
        return image_size
    size = 1 + 3 + 3  # the two stride-1 4x4 convolutions at the top
    for _ in range(PATCH_LAYERS[name]):
        size = (size - 1) * 2 + 4
    return size


def patch_discriminator(
    receptive_field: str, in_channels: int, image_size: int, base_width: int = 64, norm: str = "batch"
) -> nn.Module:
    """The discriminator named by its receptive field: ``pixel``, ``16``, ``34``, ``70``, ``142`` or ``image``."""
    name = _check_name(receptive_field)
    if name == "pixel":
        return PixelDiscriminator(in_channels, base_width, norm)
    if name == "image":
        return ImageDiscriminator(in_channels, image_size, base_width, norm)
    return NLayerDiscriminator(in_channels, base_width, PATCH_LAYERS[name], norm)
