"""Metrics plumbing: what a registered metric function receives, and the cache for models a metric trains."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from cgp.core.rundir import write_atomic

if TYPE_CHECKING:
    from cgp.core.interfaces import GanModels
    from cgp.core.task import Task

log = logging.getLogger("cgp.metrics")


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


def load_cached_model(model: nn.Module, work_dir: Path, name: str, key: dict[str, Any]) -> bool:
    """Load ``work_dir/name.safetensors`` into ``model`` when ``work_dir/name.json`` holds ``key`` (the
    settings the weights were trained with); False when there is no such cache. A damaged cache
    (unreadable key or weights, tensors that do not fit) is removed with a warning, so the metric
    trains its model again instead of failing."""
    weights, meta = work_dir / f"{name}.safetensors", work_dir / f"{name}.json"
    if not (weights.is_file() and meta.is_file()):
        return False
    try:
        if json.loads(meta.read_text(encoding="utf-8")) != key:
            return False
        model.load_state_dict(load_file(str(weights)))
    except (ValueError, UnicodeDecodeError, OSError, RuntimeError, SafetensorError) as exc:
        log.warning(
            "evaluation cache '%s' is damaged (%s); training it again", weights, " ".join(str(exc).split())[:80]
        )
        meta.unlink(missing_ok=True)
        weights.unlink(missing_ok=True)
        return False
    return True


def save_cached_model(model: nn.Module, work_dir: Path, name: str, key: dict[str, Any]) -> None:
    """The counterpart of :func:`load_cached_model`: weights first (atomically), then the key, so a
    key never describes half-written weights."""
    work_dir.mkdir(parents=True, exist_ok=True)
    weights = work_dir / f"{name}.safetensors"
    tmp = weights.with_name(f".{weights.name}.{os.getpid()}.tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, weights)
    write_atomic(work_dir / f"{name}.json", json.dumps(key))
