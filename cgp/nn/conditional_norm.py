"""Conditional batch norm: batch statistics, with the scale and shift predicted from a condition.

De Vries et al. 2017 ("Modulating early visual processing by language") and Dumoulin et al. 2017
introduced it; BigGAN (Brock et al. 2019) conditions every generator block this way, and DF-GAN's
fusion blocks (Tao et al. 2022) apply the same text-predicted affine transform after each
upsampling. The linear maps start at zero, so a fresh layer is plain batch norm with scale 1 and
shift 0, and the condition's influence grows as it is learnt.
"""

from __future__ import annotations

import torch
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    """``BN(x) * (1 + gamma(c)) + beta(c)`` for x of shape (B, C, H, W) and c of shape (B, cond_dim)."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(cond_dim, channels)
        self.bias = nn.Linear(cond_dim, channels)
        self.reset_condition()

    def reset_condition(self) -> None:
        for layer in (self.gain, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(cond)[:, :, None, None]
        return self.norm(x) * gain + self.bias(cond)[:, :, None, None]
