"""cgp wrappers around the shared image-to-image networks of :mod:`cgp.nn`.

The generator sees only the input image (pix2pix has no ``z``: dropout is its noise source,
Isola et al. 2017, section 3.2); the PatchGAN discriminator sees the input and the candidate
output concatenated along channels, or only the output when it is made unconditional (the
paper's "L1+GAN" ablation).
"""

from __future__ import annotations

import torch
from torch import nn

from cgp.core.export import ExportSpec
from cgp.core.interfaces import Discriminator, Generator


class ImageToImageGenerator(Generator):
    """``forward(cond, z=None)`` translates the input image ``cond``; ``stride`` is the multiple the
    input's height and width must have. ``residual``: the network's tanh output is a correction
    added to the input (clamped to [-1, 1]), so an untrained generator starts near the identity —
    the usual choice for restoration, where the output differs from the input only by the damage."""

    noise_dim = 0

    def __init__(self, net: nn.Module, stride: int, residual: bool = False) -> None:
        super().__init__()
        self.net = net
        self.stride = stride
        self.residual = residual

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        out = self.net(cond)
        return (cond + out).clamp(-1, 1) if self.residual else out


class PairDiscriminator(Discriminator):
    """Scores ``x`` as a translation of ``cond`` (``conditional``) or on its own."""

    def __init__(self, net: nn.Module, conditional: bool = True) -> None:
        super().__init__()
        self.net = net
        self.uses_condition = conditional

    def _input(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return torch.cat([cond, x], dim=1) if self.uses_condition else x

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.net(self._input(x, cond))

    def features(self, x: torch.Tensor, cond: torch.Tensor) -> list[torch.Tensor]:
        if not hasattr(self.net, "features"):
            return super().features(x, cond)
        return self.net.features(self._input(x, cond))


def image_export_spec(spec: ExportSpec, stride: int) -> ExportSpec:
    """A default export spec of an image-to-image generator with the sides left free, as multiples of
    the generator's ``stride`` (``cgp generate`` pads any image to one)."""
    base = spec.example[0]  # (B, C, S, S) with S a multiple of the stride: tiled to 2x2 and to 3x2
    spec.example = (base.repeat(1, 1, 2, 2),)
    spec.dynamic = {"cond": {0: "batch", 2: ("height", stride), 3: ("width", stride)}}
    spec.resize = lambda inputs: (torch.cat([base, base[:1]]).repeat(1, 1, 3, 2),)
    spec.notes = f"input: (B, C, H, W) in [-1, 1], H and W multiples of {stride}; output in [-1, 1]"
    return spec
