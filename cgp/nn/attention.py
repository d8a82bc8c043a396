"""Self-attention over the positions of a feature map (SAGAN: Zhang et al. 2019, "Self-Attention
Generative Adversarial Networks").

Each position attends to every position of the map: queries and keys are 1×1 projections to C/8
channels, values to C/2, and the attended values are projected back to C and added to the input
through a learnt scale γ that starts at zero, so a fresh block is the identity and the network
learns how much long-range context to use. As in BigGAN's implementation of the block, keys and
values are max-pooled 2×2, which divides the cost of the attention matrix by four.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class SelfAttention2d(nn.Module):
    """``x + γ · attention(x)`` for x of shape (B, C, H, W), C ≥ 8 and H, W even."""

    def __init__(self, channels: int, spectral: bool = False) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"self-attention needs at least 8 channels, got {channels}")
        wrap = spectral_norm if spectral else (lambda m: m)
        self.query = wrap(nn.Conv2d(channels, channels // 8, 1, bias=False))
        self.key = wrap(nn.Conv2d(channels, channels // 8, 1, bias=False))
        self.value = wrap(nn.Conv2d(channels, channels // 2, 1, bias=False))
        self.out = wrap(nn.Conv2d(channels // 2, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2)  # (B, C/8, HW)
        k = F.max_pool2d(self.key(x), 2).flatten(2)  # (B, C/8, HW/4)
        v = F.max_pool2d(self.value(x), 2).flatten(2)  # (B, C/2, HW/4)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, HW, HW/4)
        o = (v @ attn.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.out(o)
