"""The public API for plugin authors: everything a plugin may import, from one module.

    from cgp.api import Task, GanModels, Generator, hookimpl, ...

``VERSION`` is the plugin API's version, ``(major, minor)``: a minor step adds names, a major step
changes or removes one. A plugin states what it was written for with a module (or plugin object)
attribute ``CGP_API = "1.0"``; a plugin that needs a newer API than this cgp provides is not loaded,
with one line naming both versions, and the other plugins load as usual. Names not listed here
(modules and functions of ``cgp.core`` or ``cgp.datasets`` that are not re-exported) may change in
any release.
"""

from __future__ import annotations

from cgp.core.checkpoint import split_prefix
from cgp.core.config import (
    DataConfig,
    EmaConfig,
    EvalConfig,
    ObjectiveConfig,
    OptimConfig,
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    StrictModel,
    TrainerConfig,
)
from cgp.core.data import DatasetReader
from cgp.core.errors import CgpError, CheckpointError, ConfigError, DataError, PluginError
from cgp.core.export import ConditionedGenerator, ExportSpec
from cgp.core.hookspecs import hookimpl
from cgp.core.interfaces import Condition, Discriminator, GanModels, Generator, Scores
from cgp.core.losses import AdversarialLoss, Loss, LossInputs, TermLoss, require_inputs, score_maps
from cgp.core.metrics import EvalContext, load_cached_model, save_cached_model
from cgp.core.objective import (
    AdversarialPair,
    ConditionalObjective,
    Generated,
    MatchingAwareTerms,
    Objective,
    Terms,
)
from cgp.core.rundir import RunDir, sample_stem
from cgp.core.seeding import isolated_rng
from cgp.core.task import Task

VERSION: tuple[int, int] = (1, 1)
"""The plugin API's version (major, minor)."""

__all__ = [
    "VERSION",
    "AdversarialLoss",
    "AdversarialPair",
    "CgpError",
    "CheckpointError",
    "Condition",
    "ConditionalObjective",
    "ConditionedGenerator",
    "ConfigError",
    "DataConfig",
    "DataError",
    "DatasetReader",
    "Discriminator",
    "EmaConfig",
    "EvalConfig",
    "EvalContext",
    "ExportSpec",
    "GanModels",
    "Generated",
    "Generator",
    "Loss",
    "LossInputs",
    "MatchingAwareTerms",
    "Objective",
    "ObjectiveConfig",
    "OptimConfig",
    "OptimizerConfig",
    "PluginError",
    "RunConfig",
    "RunDir",
    "ScheduleConfig",
    "Scores",
    "StrictModel",
    "Task",
    "TermLoss",
    "Terms",
    "TrainerConfig",
    "hookimpl",
    "isolated_rng",
    "load_cached_model",
    "require_inputs",
    "sample_stem",
    "save_cached_model",
    "score_maps",
    "split_prefix",
]
