"""The :class:`Task`: what a plugin registers under a name.

A task ties a config model to factories for its models, objective, datasets, sample writer,
evaluation and inference. The trainer and the CLI know nothing else about a modality.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pydantic import ValidationError
from torch.utils.data import Dataset, default_collate

from cgp.core.config import ObjectiveConfig, RunConfig, StrictModel
from cgp.core.errors import ConfigError, PluginError
from cgp.core.export import ConditionedGenerator, ExportSpec, pick_generator
from cgp.core.interfaces import GanModels
from cgp.core.losses import TermLoss
from cgp.core.metrics import EvalContext
from cgp.core.objective import AdversarialPair, ConditionalObjective, Objective
from cgp.core.seeding import isolated_rng

METRIC_SEED = 4321

if TYPE_CHECKING:
    from cgp.core.registry import Registries


class NoOptions(StrictModel):
    """A task whose ``generate`` takes no options."""


class Task(ABC):
    """Subclass, set ``name``, ``description`` and ``config_model``, implement the factories.

    Dataset items are dicts with at least ``x`` (a real sample) and ``cond`` (its raw condition);
    the default collate stacks them.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    config_model: ClassVar[type[RunConfig]]
    generate_options: ClassVar[type[StrictModel]] = NoOptions
    """Extra ``--name value`` options that ``cgp generate`` accepts for this task."""

    def __init__(self, config: RunConfig, host: Registries) -> None:
        self.config = config
        self.host = host

    @classmethod
    def validate_definition(cls) -> None:
        """Checked at registration, so a broken task is reported with its plugin's name."""
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise PluginError(f"task class {cls.__name__} needs a 'name' that is a Python identifier, got {name!r}")
        model = getattr(cls, "config_model", None)
        if not (isinstance(model, type) and issubclass(model, RunConfig)):
            raise PluginError(f"task '{name}' needs a config_model subclassing cgp.core.config.RunConfig")
        try:
            model(task=name)
        except Exception as exc:
            raise PluginError(f"task '{name}': its default config does not validate: {exc}") from None

    @classmethod
    def default_config(cls) -> RunConfig:
        return cls.config_model(task=cls.name)

    def setup(self, run_root: Path, train: bool) -> None:
        """Called once with the run directory before any factory: by the trainer with ``train=True``
        (fresh or resumed run), by ``cgp evaluate``/``generate`` with ``train=False``. A task whose
        models depend on its data beyond the config (a vocabulary built from the training captions)
        writes that state into the run directory when training starts and reads it back otherwise, so
        the run stays self-describing. Every process of a multi-process run calls it: write atomically.
        """
        return None

    # -- factories -------------------------------------------------------------------------------

    @abstractmethod
    def build_models(self) -> GanModels:
        """Fresh, randomly initialised models (the trainer seeds the RNG first)."""

    def adversarial_pairs(self) -> list[AdversarialPair]:
        """The (generator output, discriminator, real sample) games of the default objective: one by
        default; StackGAN's stages or a video task's clip and frame discriminators list several."""
        return [AdversarialPair()]

    def objective_config(self) -> ObjectiveConfig:
        """The objective section the default objective is built from: ``config.objective`` as written. A
        task whose data decides part of its game (pix2pix's colourisation mode) returns an adjusted copy,
        and says so in the log."""
        return self.config.objective

    def build_objective(self, models: GanModels) -> Objective:
        """The default conditional objective from :meth:`objective_config`, an :class:`ObjectiveConfig`.

        A task whose game is not the conditional one (CycleGAN's two translators and cycle terms)
        types ``objective`` with a section of its own and overrides this method; the default
        refuses a section it cannot read, naming the task, instead of failing on a missing key."""
        cfg = self.objective_config()
        if not isinstance(cfg, ObjectiveConfig):
            raise PluginError(
                f"task '{self.name}' types its objective section as {type(cfg).__name__}, which the default "
                "ConditionalObjective cannot read; the task must override build_objective"
            )
        adversarial = self.host.adversarial_losses.get(cfg.adversarial)()
        terms = [self.build_term(name, weight, models) for name, weight in cfg.terms.items()]
        return ConditionalObjective(models, cfg, adversarial, terms, self.adversarial_pairs())

    def build_term(self, name: str, weight: float, models: GanModels) -> TermLoss:
        """One ``objective.terms`` entry from the loss registry; override to hand a term task state
        (the speech task gives its spectral terms the models' STFT front end)."""
        return self.host.term_losses.get(name)(weight)

    @abstractmethod
    def build_dataset(self, split: str) -> Dataset:
        """The dataset for ``split`` (``train`` or ``test``), built-in data when ``data.root`` is unset."""

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return default_collate(items)

    @abstractmethod
    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        """Write samples for ``step`` into ``directory`` (PNG grids, WAV, MP4/GIF); return the paths."""

    def evaluate(self, models: GanModels, split: str, work_dir: Path, device: torch.device) -> dict[str, float]:
        """Run ``config.eval.metrics``, each on the same fixed RNG seed, so that adding or removing one
        metric does not change another's numbers; each returns a dict of names to numbers."""
        context = EvalContext(task=self, models=models, split=split, work_dir=work_dir, device=device)
        results: dict[str, float] = {}
        owners: dict[str, str] = {}
        for name in self.config.eval.metrics:
            metric = self.host.metrics.get(name)
            with isolated_rng(METRIC_SEED):
                values = metric(context)
            for key, value in values.items():
                if key in owners:
                    raise PluginError(
                        f"metrics '{owners[key]}' and '{name}' both report '{key}'; drop one from eval.metrics"
                    )
                owners[key] = name
                results[key] = float(value)
        return results

    @abstractmethod
    def generate(self, models: GanModels, inputs: list[str], output: Path, options: StrictModel) -> list[Path]:
        """Run inference on user inputs (prompts, files, folders); return the written paths."""

    def export_spec(self, models: GanModels, generator: str = "main") -> ExportSpec:
        """What ``cgp export`` writes: by default the condition encoder and the named generator as one
        module, ``(cond, z) -> samples`` (``z`` only when the generator draws noise), on two test
        items' conditions, the batch size left free. Tasks whose inputs vary in other sizes (image
        sides, audio length) or whose raw conditions are not tensors override it."""
        g = pick_generator(models, generator)
        test = self.build_dataset(self.config.eval.split)
        cond = self.collate([test[0], test[min(1, len(test) - 1)]])["cond"]  # type: ignore[arg-type]
        if not isinstance(cond, torch.Tensor):
            raise ConfigError(f"task '{self.name}' has non-tensor conditions and no export of its own")
        z = g.sample_noise(cond.shape[0], cond.device)
        example = (cond,) if z is None else (cond, z)
        names = ("cond",) if z is None else ("cond", "z")
        return ExportSpec(
            ConditionedGenerator(models.condition, g),
            example,
            names,
            dynamic={name: {0: "batch"} for name in names},
            resize=lambda inputs: tuple(torch.cat([t, t[:1]]) for t in inputs),
        )

    def parse_generate_options(self, options: dict[str, Any]) -> StrictModel:
        try:
            return self.generate_options.model_validate(options)
        except ValidationError as exc:
            known = ", ".join(f"--{k.replace('_', '-')}" for k in self.generate_options.model_fields) or "none"
            err = exc.errors()[0]
            name = "--" + ".".join(str(part) for part in err["loc"]).replace("_", "-")
            problem = (
                "is not an option" if err["type"] == "extra_forbidden" else f"{err['msg']}, got {err.get('input')!r}"
            )
            raise ConfigError(
                f"'cgp generate' option {name} {problem} (options of task '{self.name}': {known})"
            ) from None
