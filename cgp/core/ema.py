"""Exponential moving average of generator weights (Karras et al. 2018; Yazıcı et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """Holds a copy of a module whose parameters track ``decay * avg + (1 - decay) * current``.

    With ``warmup`` the decay at update ``t`` (counted from ``start_step``) is
    ``min(decay, (1 + t) / (10 + t))``: the average spans about a ninth of the steps so far until that
    reaches ``1 / (1 - decay)``, so a short run does not keep a share of its initial weights (with a
    fixed 0.999, 5% of step 0's weights are still in the average after 3000 steps).
    Buffers (batch-norm statistics) are copied, not averaged.
    """

    def __init__(self, module: nn.Module, decay: float, start_step: int = 0, warmup: bool = True) -> None:
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.decay = decay
        self.start_step = start_step
        self.warmup = warmup
        self._listed: tuple | None = None

    def decay_at(self, step: int) -> float:
        if step < self.start_step:
            return 0.0
        if not self.warmup:
            return self.decay
        t = step - self.start_step
        return min(self.decay, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self, source: nn.Module, step: int) -> None:
        averaged, current, avg_buffers, cur_buffers = self._tensors(source)
        if averaged:  # one fused kernel per dtype and device instead of one per parameter
            torch._foreach_lerp_(averaged, current, 1.0 - self.decay_at(step))
        if avg_buffers:
            torch._foreach_copy_(avg_buffers, cur_buffers)

    def _tensors(self, source: nn.Module) -> tuple[list[torch.Tensor], ...]:
        """The averaged and the live parameters and buffers, listed once per source module (walking
        the module tree every step costs more than the update itself on a small generator)."""
        if self._listed is None or self._listed[0] is not source:
            self._listed = (
                source,
                list(self.module.parameters()),
                [p.detach() for p in source.parameters()],
                list(self.module.buffers()),
                list(source.buffers()),
            )
        return self._listed[1:]
