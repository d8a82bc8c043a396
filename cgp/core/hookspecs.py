"""Hook specifications: the whole surface a plugin can implement.

Registration hooks receive a ``register`` callable; core owns the registries, rejects duplicate
names (naming both plugins) and lists what is there. Event hooks are called by the trainer on rank 0
only, in the main process; their return values are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pluggy

if TYPE_CHECKING:
    from cgp.core.config import RunConfig
    from cgp.core.data import DatasetReader
    from cgp.core.losses import AdversarialLoss, TermLoss
    from cgp.core.registry import LoggerFactory, MetricFn
    from cgp.core.task import Task

TrainStatus = Literal["completed", "time_budget", "interrupted", "failed"]

hookspec = pluggy.HookspecMarker("cgp")
hookimpl = pluggy.HookimplMarker("cgp")


@hookspec
def cgp_register_tasks(register: Callable[[type[Task]], None]) -> None:
    """Called once when the plugin host loads. Call ``register(TaskClass)`` for each
    :class:`cgp.core.task.Task` subclass; its ``name`` is what ``cgp train --plugin`` takes."""


@hookspec
def cgp_register_losses(register: Callable[[type[AdversarialLoss] | type[TermLoss]], None]) -> None:
    """Called once when the plugin host loads. Call ``register(LossClass)`` for each
    :class:`cgp.core.losses.AdversarialLoss` or :class:`cgp.core.losses.TermLoss` subclass; its
    ``name`` is what ``objective.adversarial`` / ``objective.terms`` refer to."""


@hookspec
def cgp_register_metrics(register: Callable[[str, MetricFn], None]) -> None:
    """Called once when the plugin host loads. Call ``register(name, fn)`` where
    ``fn(context: cgp.core.metrics.EvalContext) -> dict[str, float]``; tasks list metric names in
    ``eval.metrics``."""


@hookspec
def cgp_register_datasets(register: Callable[[str, DatasetReader], None]) -> None:
    """Called once when the plugin host loads. Call ``register(name, factory)`` where
    ``factory(root: Path, split: str, **options) -> torch.utils.data.Dataset`` reads a data layout."""


@hookspec
def cgp_register_loggers(register: Callable[[str, LoggerFactory], None]) -> None:
    """Called once when the plugin host loads. Call ``register(name, factory)`` where
    ``factory(run_dir: Path, config) -> object`` builds a logger whose ``@hookimpl`` methods receive
    the event hooks below for one run; runs switch it on with ``logging.backends: [name]``. The
    trainer registers the logger when training starts (on rank 0) and unregisters it when it ends."""


@hookspec
def cgp_train_start(run_dir: Path, config: RunConfig, start_step: int) -> None:
    """Called before the first step (also on resume, with the step training resumes from)."""


@hookspec
def cgp_step_end(step: int, metrics: dict[str, float]) -> None:
    """Called after each logged step with the logged values (loss terms by name, lr, rates)."""


@hookspec
def cgp_evaluation_done(step: int, metrics: dict[str, float]) -> None:
    """Called after each scheduled evaluation with the metric values."""


@hookspec
def cgp_samples_written(step: int, paths: list[Path]) -> None:
    """Called after the task's sample writer wrote ``paths``."""


@hookspec
def cgp_checkpoint_saved(step: int, path: Path) -> None:
    """Called after a checkpoint directory is complete and ``last`` points at it."""


@hookspec
def cgp_train_end(step: int, status: TrainStatus) -> None:
    """Called when training stops. ``status`` is ``completed``, ``time_budget``, ``interrupted`` or
    ``failed``."""
