"""The modality-free core: interfaces, plugin host, config, trainer, checkpoints, CLI.

The names a plugin author implements or calls are re-exported here.
"""

from cgp.core.config import DataConfig, EvalConfig, ObjectiveConfig, RunConfig, StrictModel, TrainerConfig
from cgp.core.errors import CgpError, ConfigError, DataError, PluginError
from cgp.core.interfaces import Condition, Discriminator, GanModels, Generator, Scores
from cgp.core.losses import AdversarialLoss, Loss, LossInputs, TermLoss
from cgp.core.metrics import EvalContext
from cgp.core.objective import (
    AdversarialPair,
    ConditionalObjective,
    Generated,
    MatchingAwareTerms,
    Objective,
    Terms,
)
from cgp.core.rundir import RunDir, sample_stem
from cgp.core.task import Task

__all__ = [
    "AdversarialLoss",
    "AdversarialPair",
    "CgpError",
    "Condition",
    "ConditionalObjective",
    "ConfigError",
    "DataConfig",
    "DataError",
    "Discriminator",
    "EvalConfig",
    "EvalContext",
    "GanModels",
    "Generated",
    "Generator",
    "Loss",
    "LossInputs",
    "MatchingAwareTerms",
    "Objective",
    "ObjectiveConfig",
    "RunDir",
    "PluginError",
    "RunConfig",
    "Scores",
    "StrictModel",
    "Task",
    "Terms",
    "TermLoss",
    "TrainerConfig",
    "sample_stem",
]
