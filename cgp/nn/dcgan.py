"""DCGAN building blocks (Radford et al. 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

The architecture rules of the paper: strided (transposed) convolutions instead of pooling, batch
norm in both networks except the generator output and the discriminator input, ReLU in the
generator with tanh at the output, LeakyReLU(0.2) in the discriminator, N(0, 0.02) weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) conv/linear weights; N(1, 0.02) batch-norm scales (the paper's initialisation)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _levels(image_size: int) -> int:
    levels = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (levels + 2) != image_size:
        raise ValueError(f"DCGAN image size must be a power of two >= 8, got {image_size}")
    return levels


class DCGANDecoder(nn.Module):
    """(B, in_dim) -> (B, channels, S, S) in [-1, 1]: project to 4x4, then upsample by 2 per level."""

    def __init__(self, in_dim: int, image_size: int = 32, channels: int = 3, base_width: int = 64) -> None:
        super().__init__()
        levels = _levels(image_size)
        width = base_width * 2 ** (levels - 1)
        self.project = nn.Sequential(
            nn.ConvTranspose2d(in_dim, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)
        )
        blocks: list[nn.Module] = []
        for _ in range(levels - 1):
            blocks += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        blocks += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*blocks)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(h[:, :, None, None]))


class DCGANEncoder(nn.Module):
    """(B, channels, S, S) -> list of feature maps, the last (B, width, 4, 4); halves the size per level.

    ``norm`` is ``batch`` (DCGAN), ``spectral`` (Miyato et al. 2018; no batch norm) or ``none``.
    """

    def __init__(self, image_size: int = 32, channels: int = 3, base_width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        levels = _levels(image_size)
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        layers: list[nn.Module] = []
        width_in, width = channels, base_width
        for level in range(levels):
            block: list[nn.Module] = [wrap(nn.Conv2d(width_in, width, 4, 2, 1, bias=norm != "batch" or level == 0))]
            if norm == "batch" and level > 0:
                block.append(nn.BatchNorm2d(width))
            block.append(nn.LeakyReLU(0.2, True))
            layers.append(nn.Sequential(*block))
            width_in, width = width, width * 2
        self.blocks = nn.ModuleList(layers)
        self.out_width = width_in

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats
