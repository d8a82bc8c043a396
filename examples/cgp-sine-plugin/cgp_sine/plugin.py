"""Task ``sine``: 1-D waveforms whose condition is a frequency class.

Written only against cgp's public interfaces, as a third-party plugin would be: a Condition, a
Generator, a Discriminator, a Task with its config model, a metric, all registered through hooks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch import nn
from torch.utils.data import Dataset

from cgp import hookimpl
from cgp.core.config import DataConfig, EvalConfig, RunConfig, StrictModel, TrainerConfig
from cgp.core.interfaces import Condition, Discriminator, GanModels, Generator
from cgp.core.metrics import EvalContext
from cgp.core.rundir import sample_stem
from cgp.core.task import Task

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)

FREQUENCIES = (1.0, 2.0, 3.0, 4.0)


class SineData(Dataset):
    """A sine of class-dependent frequency with random phase and amplitude, 64 samples long."""

    def __init__(self, split: str, length: int = 64, size: int = 512) -> None:
        self.offset = 0 if split == "train" else 10_000
        self.length, self.size = length, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, Any]:
        g = torch.Generator().manual_seed(self.offset + index)
        label = index % len(FREQUENCIES)
        phase = torch.rand((), generator=g) * 2 * math.pi
        amp = 0.5 + 0.5 * torch.rand((), generator=g)
        t = torch.linspace(0, 2 * math.pi, self.length)
        return {"x": amp * torch.sin(FREQUENCIES[label] * t + phase), "cond": label}


class FrequencyClass(Condition):
    def mismatch(self, raw: torch.Tensor) -> torch.Tensor:
        return (raw + torch.randint(1, len(FREQUENCIES), raw.shape, device=raw.device)) % len(FREQUENCIES)


class MLPGenerator(Generator):
    def __init__(self, length: int, hidden: int) -> None:
        super().__init__()
        self.noise_dim = 8
        self.embed = nn.Embedding(len(FREQUENCIES), 8)
        self.net = nn.Sequential(nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, length), nn.Tanh())

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        z = z if z is not None else self.sample_noise(len(cond), cond.device)
        return self.net(torch.cat([z, self.embed(cond)], dim=1))


class MLPDiscriminator(Discriminator):
    def __init__(self, length: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(FREQUENCIES), 8)
        self.net = nn.Sequential(nn.Linear(length + 8, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, self.embed(cond)], dim=1)).squeeze(1)


class SineModel(StrictModel):
    length: int = Field(64, ge=8, description="samples per waveform")
    hidden: int = Field(64, ge=4, description="hidden units in G and D")


class SineConfig(RunConfig):
    trainer: TrainerConfig = Field(default_factory=lambda: TrainerConfig(steps=200, batch_size=32, sample_every=100))
    data: DataConfig = Field(default_factory=DataConfig)
    model: SineModel = Field(default_factory=SineModel)
    eval: EvalConfig = Field(default_factory=lambda: EvalConfig(metrics=["dominant_frequency"]))


class SineTask(Task):
    name = "sine"
    description = "sine waves conditioned on their frequency class (an example plugin)"
    config_model = SineConfig

    def build_models(self) -> GanModels:
        m = self.config.model
        return GanModels(MLPGenerator(m.length, m.hidden), MLPDiscriminator(m.length, m.hidden), FrequencyClass())

    def build_dataset(self, split: str) -> Dataset:
        return SineData(split, self.config.model.length)

    def _waves(self, models: GanModels, labels: torch.Tensor) -> torch.Tensor:
        return models.generator(models.condition(labels), models.generator.sample_noise(len(labels), "cpu"))

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        waves = self._waves(models, torch.arange(len(FREQUENCIES)))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{sample_stem(step)}.json"
        path.write_text(json.dumps(waves.tolist()))
        return [path]

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: StrictModel) -> list[Path]:
        waves = self._waves(models, torch.tensor([int(i) for i in inputs]))
        output.write_text(json.dumps(waves.tolist()))
        return [output]


def dominant_frequency(context: EvalContext) -> dict[str, float]:
    """How often the strongest FFT bin of a generated wave is its class's frequency."""
    labels = torch.arange(len(FREQUENCIES)).repeat(32)
    waves = context.task._waves(context.models, labels)
    peak = torch.fft.rfft(waves, dim=1).abs()[:, 1:].argmax(dim=1) + 1
    target = torch.tensor([int(FREQUENCIES[i]) for i in labels])
    return {"frequency_accuracy": float((peak == target).float().mean())}


@hookimpl
def cgp_register_tasks(register: Callable[[type], None]) -> None:
    register(SineTask)


@hookimpl
def cgp_register_metrics(register: Callable[..., None]) -> None:
    register("dominant_frequency", dominant_frequency)
