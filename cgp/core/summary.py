"""One-line readings of a run, shared by ``cgp evaluate``, ``cgp report`` and the trainer's log:
where a metric stands between its baselines, and whether training stopped far short of its plan."""

from __future__ import annotations

import math
from typing import Any

SHORT_RUN_FRACTION = 0.5
"""A run stopped before this share of ``trainer.steps`` is called short (in the log and the report)."""


def baseline_verdicts(metrics: dict[str, Any]) -> list[str]:
    """One readable line per metric that comes with its own baselines: a metric ``X`` reported with
    ``X_real`` (what real data scores: the ceiling) and ``X_chance`` (what ignoring the condition
    scores: the floor), e.g. ``condition_accuracy``. The verdict places the value between the two."""
    lines = []
    for name in sorted(metrics):
        ceiling, floor = metrics.get(f"{name}_real"), metrics.get(f"{name}_chance")
        value = metrics[name]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (value, ceiling, floor)):
            continue
        if ceiling <= floor:
            continue
        share = (value - floor) / (ceiling - floor)
        if share >= 0.9:
            verdict = "at the level of real data: the samples follow their condition"
        elif share >= 0.5:
            verdict = "well above chance, below real data: the condition is partly learnt"
        elif share >= 0.1:
            verdict = "a little above chance: the condition is barely learnt yet (train longer)"
        else:
            verdict = "at chance: the samples ignore their condition"
        lines.append(
            f"{name} {value:.3f} (real data {ceiling:.3f}, chance {floor:.3f}; "
            f"{100 * share:.0f}% of the way from chance to real): {verdict}"
        )
    return lines
