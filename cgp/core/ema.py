"""Exponential moving average of generator weights (Karras et al. 2018; Yazıcı et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """Holds a copy of a module whose parameters track ``decay * avg + (1 - decay) * current``.

    Buffers (batch-norm statistics) are copied, not averaged.
    """

    def __init__(self, module: nn.Module, decay: float, start_step: int = 0) -> None:
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.decay = decay
        self.start_step = start_step

    @torch.no_grad()
    def update(self, source: nn.Module, step: int) -> None:
        decay = 0.0 if step < self.start_step else self.decay
        for avg, cur in zip(self.module.parameters(), source.parameters()):
            avg.lerp_(cur.detach(), 1.0 - decay)
        for avg, cur in zip(self.module.buffers(), source.buffers()):
            avg.copy_(cur)
