"""Task ``sine``: 1-D waveforms whose condition is a frequency class.

Written only against ``cgp.api``, as a third-party plugin is: a Condition, a Generator, a
Discriminator, a Task with its config model and generate options, and a metric.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch import nn
from torch.utils.data import Dataset

from cgp.api import (
    Condition,
    ConfigError,
    DataConfig,
    Discriminator,
    EvalConfig,
    EvalContext,
    GanModels,
    Generator,
    RunConfig,
    StrictModel,
    Task,
    TrainerConfig,
    sample_stem,
)

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
    """Frequency-class indices pass through; a mismatched condition is another class, drawn uniformly."""

    def mismatch(self, raw: torch.Tensor) -> torch.Tensor:
        return (raw + torch.randint(1, len(FREQUENCIES), raw.shape, device=raw.device)) % len(FREQUENCIES)


class MLPGenerator(Generator):
    """z and a class embedding through a two-layer MLP to a waveform in [-1, 1]."""

    def __init__(self, length: int, hidden: int) -> None:
        super().__init__()
        self.noise_dim = 8
        self.embed = nn.Embedding(len(FREQUENCIES), 8)
        self.net = nn.Sequential(nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, length), nn.Tanh())

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        z = z if z is not None else self.sample_noise(len(cond), cond.device)
        return self.net(torch.cat([z, self.embed(cond)], dim=1))


class MLPDiscriminator(Discriminator):
    """One joint score for a (waveform, class) pair: realism and match together."""

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
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(steps=200, batch_size=32, sample_every=100),
        description="training loop",
    )
    data: DataConfig = Field(default_factory=DataConfig, description="data source (generated; root unused)")
    model: SineModel = Field(default_factory=SineModel, description="networks")
    eval: EvalConfig = Field(
        default_factory=lambda: EvalConfig(metrics=["dominant_frequency"]), description="evaluation"
    )


class SineGenerateOptions(StrictModel):
    count: int = Field(4, ge=1, le=1024, description="waveforms per class given")


class SineTask(Task):
    name = "sine"
    description = "sine waves conditioned on their frequency class (an example plugin)"
    config_model = SineConfig
    generate_options = SineGenerateOptions

    def build_models(self) -> GanModels:
        m = self.config.model
        return GanModels(MLPGenerator(m.length, m.hidden), MLPDiscriminator(m.length, m.hidden), FrequencyClass())

    def build_dataset(self, split: str) -> Dataset:
        return SineData(split, self.config.model.length)

    def waves(self, models: GanModels, labels: torch.Tensor) -> torch.Tensor:
        device = next(models.parameters()).device  # the models may be on a GPU
        labels = labels.to(device)
        z = models.generator.sample_noise(len(labels), device)
        return models.generator(models.condition(labels), z).float().cpu()

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        waves = self.waves(models, torch.arange(len(FREQUENCIES)))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{sample_stem(step)}.json"
        path.write_text(json.dumps(waves.tolist()))
        return [path]

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: SineGenerateOptions) -> list[Path]:
        """Inputs are frequency-class indices; writes ``OUTPUT/<index>.json`` (``count`` waves) for each."""
        output.mkdir(parents=True, exist_ok=True)
        paths = []
        for text in inputs:
            if not text.isdigit() or int(text) >= len(FREQUENCIES):
                raise ConfigError(f"input '{text}' is not a frequency class below {len(FREQUENCIES)}")
            path = output / f"{text}.json"
            path.write_text(json.dumps(self.waves(models, torch.full((options.count,), int(text))).tolist()))
            paths.append(path)
        return paths


def dominant_frequency(context: EvalContext) -> dict[str, float]:
    """How often the strongest FFT bin of a generated wave is its class's frequency."""
    labels = torch.arange(len(FREQUENCIES)).repeat(32)
    waves = context.task.waves(context.models, labels)
    peak = torch.fft.rfft(waves, dim=1).abs()[:, 1:].argmax(dim=1) + 1
    target = torch.tensor([int(FREQUENCIES[i]) for i in labels])
    return {"frequency_accuracy": float((peak == target).float().mean())}
