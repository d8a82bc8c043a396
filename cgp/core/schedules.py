"""Learning-rate schedules as pure functions of the step, so resume needs no scheduler state."""

from __future__ import annotations

import math

from cgp.core.config import ScheduleConfig


def lr_factor(config: ScheduleConfig, step: int, total_steps: int) -> float:
    """The multiplier of the base learning rate at ``step`` (0-based) of ``total_steps``.

    ``linear`` is pix2pix's rule: constant, then a straight line to ``final_factor`` at the end.
    """
    factor = 1.0
    if config.kind != "constant" and total_steps > 0:
        start = int(config.decay_start * total_steps)
        span = max(1, total_steps - 1 - start)  # the last update (step total-1) gets final_factor
        progress = min(1.0, max(0.0, (step - start) / span))
        if config.kind == "linear":
            factor = 1.0 - (1.0 - config.final_factor) * progress
        else:
            factor = config.final_factor + (1.0 - config.final_factor) * 0.5 * (1 + math.cos(math.pi * progress))
    if config.warmup_steps > 0 and step < config.warmup_steps:
        factor *= (step + 1) / config.warmup_steps
    return factor
