"""Run configuration: pydantic models composed from per-component defaults.

A task's config model subclasses :class:`RunConfig` and replaces the ``model`` and ``data``
sections (and may change defaults elsewhere). A run's config is its task's defaults, then a YAML or
TOML file, then ``--set dotted.key=value`` overrides; unknown keys and bad values are
:class:`ConfigError` naming the key.
"""

from __future__ import annotations

import copy
import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cgp.core.errors import ConfigError


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, assignments are validated, and every path is made
    absolute (against the working directory), so a run's stored config means the same from anywhere."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="after")
    @classmethod
    def _absolute_paths(cls, value: Any) -> Any:
        if isinstance(value, Path):
            return Path(os.path.abspath(value.expanduser()))
        return value


class OptimizerConfig(StrictModel):
    name: Literal["adam", "adamw", "rmsprop", "sgd"] = Field("adam", description="optimizer algorithm")
    lr: float = Field(2e-4, gt=0, description="learning rate (DCGAN's 2e-4)")
    betas: tuple[float, float] = Field((0.5, 0.999), description="Adam betas; beta1 0.5 as DCGAN recommends")
    weight_decay: float = Field(0.0, ge=0, description="decoupled for adamw, L2 otherwise")
    fused: bool | None = Field(
        None,
        description="adam/adamw: one fused kernel for the whole update; unset: on for adam/adamw on CPU and CUDA",
    )


class ScheduleConfig(StrictModel):
    kind: Literal["constant", "linear", "cosine"] = Field(
        "constant", description="constant; linear decay to final_factor (pix2pix); cosine to final_factor"
    )
    decay_start: float = Field(
        0.5, ge=0, le=1, description="fraction of trainer.steps after which linear/cosine decay begins (pix2pix: half)"
    )
    final_factor: float = Field(0.0, ge=0, le=1, description="lr multiplier reached at the last step")
    warmup_steps: int = Field(0, ge=0, description="linear warm-up from 0 over this many steps")


class OptimConfig(StrictModel):
    generator: OptimizerConfig = Field(default_factory=OptimizerConfig, description="generator-side optimizer")
    discriminator: OptimizerConfig = Field(default_factory=OptimizerConfig, description="discriminator optimizer")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="lr schedule for both sides")

    @classmethod
    def linear_decay(cls, decay_start: float = 0.5) -> OptimConfig:
        """Default optimizers, learning rate constant and then linearly to zero from ``decay_start`` of the
        steps (the pix2pix/CycleGAN reference's ``n_epochs`` + ``n_epochs_decay``)."""
        return cls(schedule=ScheduleConfig(kind="linear", decay_start=decay_start))


class EmaConfig(StrictModel):
    enabled: bool = Field(False, description="keep an exponential moving average of generator weights")
    decay: float = Field(0.999, gt=0, lt=1, description="EMA decay per generator step")
    start_step: int = Field(0, ge=0, description="copy weights (no averaging) before this step")
    warmup: bool = Field(
        True, description="decay min(decay, (1+t)/(10+t)) at t steps after start_step, so short runs forget the init"
    )


class TrainerConfig(StrictModel):
    steps: int = Field(2000, ge=1, description="generator updates to train for")
    max_minutes: float | None = Field(
        None, gt=0, description="wall-clock budget; the run stops cleanly with a checkpoint when it is spent"
    )
    batch_size: int = Field(64, ge=1, description="global batch size (split evenly across processes)")
    seed: int = Field(0, description="seed for weights, noise, data order and augmentation")
    device: str = Field("auto", description="auto (cuda if available), cpu, cuda or cuda:N")
    precision: Literal["fp32", "bf16", "fp16", "auto"] = Field(
        "fp32",
        description="autocast dtype; fp16 uses a gradient scaler and needs CUDA; auto: bf16 where the device "
        "computes it natively (CPUs with AVX512-BF16 or AMX, CUDA GPUs that support it), fp32 elsewhere",
    )
    n_critic: int = Field(1, ge=1, description="discriminator updates per generator update (5 for WGAN-GP)")
    grad_clip: float | None = Field(None, gt=0, description="clip each side's gradient norm to this value")
    ema: EmaConfig = Field(default_factory=EmaConfig, description="generator weight averaging")
    log_every: int = Field(50, ge=1, description="steps between metrics.jsonl rows")
    sample_every: int = Field(500, ge=0, description="steps between sample writes (0: only at the end)")
    eval_every: int = Field(0, ge=0, description="steps between evaluations (0: only at the end)")
    checkpoint_every: int = Field(500, ge=0, description="steps between checkpoints (0: only at the end)")
    keep_checkpoints: int = Field(3, ge=1, description="newest checkpoints kept on disk")
    deterministic: bool = Field(True, description="use deterministic kernels (bit-identical resume on CPU)")
    channels_last: bool = Field(
        False, description="keep 4-D weights and activations in channels-last memory order (faster convolutions)"
    )
    compile: bool = Field(
        False, description="torch.compile each generator and discriminator (Inductor; the first steps compile)"
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for training (torch.set_num_threads); null: OMP_NUM_THREADS if set, else every "
        "core, dropping to the threads the run gets while other processes hold the cores and taking them back when "
        "cores go idle (checked each logging window)",
    )
    progress: Literal["auto", "bar", "lines", "off"] = Field(
        "auto", description="auto: a bar on a terminal, plain log lines otherwise"
    )


class DataConfig(StrictModel):
    root: Path | None = Field(None, description="dataset folder; unset: the task's built-in procedural data")
    num_workers: int = Field(0, ge=0, description="data-loader worker processes")


class ObjectiveConfig(StrictModel):
    adversarial: str = Field("bce", description="adversarial loss: bce, lsgan, hinge, wasserstein, or a plugin's")
    gan_weight: float = Field(
        1.0,
        ge=0,
        description="weight of the generator's adversarial term (0: no GAN term, and no discriminator runs "
        "unless a term reads one)",
    )
    heads: Literal["joint", "split"] = Field(
        "joint", description="joint: one score for realism and match; split: realism head + match head"
    )
    fake_negative: bool = Field(True, description="D sees (G(c, z), c) as a negative pair")
    mismatch_negative: bool = Field(True, description="D sees (real x, mismatched c) as a negative pair")
    mismatch_weight: float = Field(1.0, ge=0, description="weight of the mismatched-pair negative")
    terms: dict[str, float] = Field(
        default_factory=dict, description="extra loss terms by name with weights, e.g. {l1: 100, r1: 10}"
    )


class EvalConfig(StrictModel):
    metrics: list[str] = Field(default_factory=list, description="metric names computed by 'cgp evaluate'")
    split: str = Field("test", description="split evaluated during training")
    num_samples: int = Field(64, ge=1, description="samples in each written grid")


class LoggingConfig(StrictModel):
    backends: list[str] = Field(
        default_factory=list,
        description="logger plugins to switch on for this run, by name (e.g. [tensorboard]); see 'cgp plugins'",
    )


class RunConfig(StrictModel):
    """The whole run; a task's config model subclasses this and types ``model`` and ``data``."""

    task: str = Field(description="registered task name")
    trainer: TrainerConfig = Field(default_factory=TrainerConfig, description="training loop")
    data: DataConfig = Field(default_factory=DataConfig, description="data source")
    optim: OptimConfig = Field(default_factory=OptimConfig, description="optimizers and schedule")
    objective: ObjectiveConfig = Field(default_factory=ObjectiveConfig, description="adversarial objective")
    model: StrictModel = Field(default_factory=StrictModel, description="the task's networks")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="evaluation")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="logger plugins (TensorBoard, ...)")


# -- loading ---------------------------------------------------------------------------------------


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML (.yaml/.yml) or TOML (.toml) config file as a dict."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file '{path}' is a folder; pass a .yaml or .toml file")
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file '{path}' is not UTF-8 text; pass a .yaml or .toml file") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        kind = path.suffix.lstrip(".").upper() if path.suffix == ".toml" else "YAML"
        raise ConfigError(f"config file '{path}' is not valid {kind}: {' '.join(str(exc).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of keys, not {type(data).__name__}")
    return data


_YAML11_BOOL_WORDS = {"on", "off", "yes", "no", "y", "n"}


def parse_override(item: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value parsed as a YAML scalar or flow collection)."""
    if "=" not in item:
        raise ConfigError(f"--set '{item}' must look like dotted.key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set '{item}' has an empty key part")
    if raw.strip().lower() in _YAML11_BOOL_WORDS:
        return key.split("."), raw.strip()  # YAML 1.1 would read 'off' as false; keep the word
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(
                f"config key '{'.'.join(path[: i + 1])}' is a value, not a section; cannot set '{'.'.join(path)}'"
            )
        node = child
    node[path[-1]] = value


def _section(model: type[BaseModel] | None, key: str) -> type[BaseModel] | None:
    """The config model of ``model``'s section ``key``, or None when ``key`` is a value (a mapping-valued
    field such as ``objective.terms`` included) or unknown."""
    field = model.model_fields.get(key) if model is not None else None
    if field is None:
        return None
    for kind in (field.annotation, *typing.get_args(field.annotation)):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None


def deep_merge(base: dict[str, Any], update: dict[str, Any], model: type[BaseModel] | None = None) -> dict[str, Any]:
    """``update`` over ``base``: a section (a nested config model of ``model``) is merged key by key; any
    other value replaces the base's whole, a mapping-valued field such as ``objective.terms`` too, so a
    file that lists the terms it wants gets those and not the defaults' as well. Without ``model``
    every mapping is merged."""
    out = dict(base)
    for k, v in update.items():
        section = _section(model, k)
        if isinstance(v, dict) and isinstance(out.get(k), dict) and (model is None or section is not None):
            out[k] = deep_merge(out[k], v, section)
        else:
            out[k] = v
    return out


def _format_validation_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "(root)"
    if err["type"] == "extra_forbidden":
        return f"config key '{key}' is unknown (run 'cgp config TASK' to see the valid keys)"
    if err["type"] == "missing":
        return f"config key '{key}' is required"
    given = err.get("input")
    more = f" (and {len(exc.errors()) - 1} more errors)" if len(exc.errors()) > 1 else ""
    if isinstance(given, dict):  # a section's own validator, whose message names the keys it compares
        message = err["msg"].removeprefix("Value error, ")
        return f"config: {message}{more}" if key == "(root)" else f"config section '{key}': {message}{more}"
    return f"config key '{key}': {err['msg']}, got {given!r}{more}"


def validate_config(model: type[RunConfig], data: dict[str, Any]) -> RunConfig:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from None


def resolve_config(
    model: type[RunConfig],
    task_name: str,
    file: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> RunConfig:
    """Defaults, then ``file``, then ``overrides``; validated."""
    data = model(task=task_name).model_dump(mode="json")
    if file is not None:
        from_file = read_config_file(file)
        if from_file.get("task", task_name) != task_name:
            other = from_file["task"]
            raise ConfigError(f"config file '{file}' is for task '{other}', not '{task_name}'; use --plugin {other}")
        data = deep_merge(data, from_file, model)
    return apply_overrides(model, data, overrides)


def apply_overrides(model: type[RunConfig], data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> RunConfig:
    """Set each ``dotted.key=value`` in ``data`` (a config as plain data), then validate."""
    data = copy.deepcopy(data)
    for item in overrides:
        path, value = parse_override(item)
        if path == ["task"]:
            raise ConfigError("the task is chosen with --plugin, not --set task=...")
        _set_path(data, path, value)
    return validate_config(model, data)


def changed_keys(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two configs given as plain data."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = list(before) + [k for k in after if k not in before]
        return [key for name in keys for key in changed_keys(before.get(name), after.get(name), f"{prefix}{name}.")]
    return [] if before == after else [prefix.rstrip(".")]


def dump_yaml(config: BaseModel) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def commented_yaml(config: BaseModel) -> str:
    """The config as YAML with each field's description as a comment above it."""
    lines: list[str] = []
    _emit(config, lines, 0)
    return "\n".join(lines) + "\n"


def _emit(model: BaseModel, lines: list[str], indent: int) -> None:
    pad = "  " * indent
    fields = type(model).model_fields
    for name, info in fields.items():
        value = getattr(model, name)
        if info.description:
            lines.append(f"{pad}# {info.description}")
        if isinstance(value, BaseModel):
            if type(value).model_fields:
                lines.append(f"{pad}{name}:")
                _emit(value, lines, indent + 1)
            else:
                lines.append(f"{pad}{name}: {{}}")
        else:
            dumped = yaml.safe_dump(
                {name: _plain(value)}, default_flow_style=True, sort_keys=False, width=10_000
            ).strip()
            lines.append(f"{pad}{dumped[1:-1]}")


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
