"""cgp wrappers around the shared image-to-image networks of :mod:`cgp.nn`.

The generator sees only the input image (pix2pix has no ``z``: dropout is its noise source,
Isola et al. 2017, section 3.2); the PatchGAN discriminator sees the input and the candidate
output concatenated along channels, or only the output when it is made unconditional (the
paper's "L1+GAN" ablation).
"""

from __future__ import annotations

import torch
from torch import nn

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
