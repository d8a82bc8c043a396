"""Metrics plumbing: what a registered metric function receives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from cgp.core.interfaces import GanModels
    from cgp.core.task import Task


@dataclass
class EvalContext:
    """Handed to every metric: the task (for its datasets and config), the models in eval mode, the
    split to evaluate, a folder for cached artefacts (e.g. a judge classifier) and the device.

    Metrics must be deterministic: :meth:`Task.evaluate` runs each one on a freshly seeded RNG.
    """

    task: Task
    models: GanModels
    split: str
    work_dir: Path
    device: torch.device

    @property
    def config(self) -> Any:
        return self.task.config
