"""The ``cgan`` task: class-conditional image generation, the platform's reference task.

The seeds' CGAN / ACGAN / DCGAN row: a DCGAN generator conditioned on a class label, judged by a
projection discriminator (joint score or split realism/match heads) or an ACGAN discriminator.
Trained on the built-in procedural shapes, or on ``ROOT/{train,test}/<class>/`` image folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from PIL import Image
from pydantic import Field, field_validator, model_validator
from torch.utils.data import Dataset
from torchvision.utils import make_grid

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
from cgp.core.errors import CheckpointError, ConfigError
from cgp.core.export import ConditionedGenerator, ExportSpec, pick_generator
from cgp.core.interfaces import GanModels
from cgp.core.objective import Objective
from cgp.core.rundir import RunDir, sample_stem
from cgp.core.task import Task
from cgp.datasets.class_folder import class_names
from cgp.datasets.grids import captioned_grid
from cgp.datasets.images import to_pil
from cgp.datasets.shapes import SHAPE_CLASSES, ShapesDataset
from cgp.nn.dcgan import check_attention_at
from cgp.plugins.cgan.models import (
    AuxiliaryClassifierLoss,
    AuxiliaryGeneratorLoss,
    ClassConditionalDiscriminator,
    ClassLabel,
    ConditionalDCGANGenerator,
    MultiScaleDiscriminator,
    check_scales,
)

CLASSES_FILE = "classes.json"


class CganModelConfig(StrictModel):
    image_size: int = Field(32, ge=8, description="side of the square images (a power of two >= 8)")
    noise_dim: int = Field(64, ge=1, description="size of z")
    embed_dim: int = Field(32, ge=1, description="size of the generator's class embedding")
    generator_width: int = Field(32, ge=8, description="channels of the generator's last hidden layer")
    discriminator_width: int = Field(32, ge=8, description="channels of the discriminator's first layer")
    discriminator: Literal["projection", "acgan"] = Field(
        "projection", description="projection (Miyato & Koyama 2018) or acgan (Odena et al. 2017)"
    )
    conditional_discriminator: bool = Field(True, description="false: D ignores the label (the ablation)")
    discriminator_norm: Literal["spectral", "batch", "none"] = Field(
        "spectral", description="spectral norm (SNGAN) or batch norm (DCGAN) in D"
    )
    discriminator_depth: Literal["dcgan", "sngan"] = Field(
        "dcgan",
        description="dcgan: one 4x4 stride-2 convolution per level; sngan: a 3x3 stride-1 convolution before "
        "each (SNGAN's standard CNN D: twice the depth, features at full resolution)",
    )
    discriminator_scales: int = Field(
        1,
        ge=1,
        description="number of discriminators, each reading the image at half the previous one's resolution "
        "(pix2pixHD's multi-scale discriminator); 1: one, at full resolution",
    )
    minibatch_std: Literal["none", "group", "class"] = Field(
        "none",
        description="D's realism head also reads the spread of its features over groups of 4 samples (group, "
        "ProGAN's minibatch standard deviation) or over the batch's samples of each class (class); none: off",
    )
    instance_noise: float = Field(
        0.0,
        ge=0,
        description="standard deviation of Gaussian noise added to every image D reads in training (images "
        "in [-1, 1]), falling linearly to zero over the run (instance noise, Sønderby et al. 2016); 0: off",
    )
    diff_augment: list[Literal["color", "translation", "cutout"]] = Field(
        default_factory=list,
        description="differentiable augmentations of every image D reads in training, real and generated alike "
        "(DiffAugment, Zhao et al. 2020; e.g. [translation, color]); []: off",
    )
    auxiliary_classifier: bool = Field(
        False,
        description="projection only: add ACGAN's classifier head and class terms to the projection "
        "discriminator (both conditioning signals at once)",
    )
    acgan_weight: float = Field(
        1.0, ge=0, description="weight of ACGAN's class terms (acgan, or projection with auxiliary_classifier)"
    )
    generator_conditioning: Literal["concat", "cbn", "both"] = Field(
        "both",
        description="how G reads the label: concat (embedding joins z), cbn (conditional batch norm in "
        "every block, BigGAN) or both (concat alone lets single classes collapse to one sample)",
    )
    generator_norm: Literal["none", "spectral"] = Field(
        "none", description="spectral: spectral norm on G's convolutions too (SAGAN, BigGAN)"
    )
    attention: int | None = Field(
        None, description="resolution of a self-attention block in G and D (SAGAN; e.g. 16); null: none"
    )
    init: Literal["normal", "orthogonal"] = Field(
        "normal", description="weight init: normal (DCGAN's N(0, 0.02)) or orthogonal (BigGAN)"
    )
    truncation: float | None = Field(
        None,
        gt=0,
        description="sampling only (samples, evaluation, generate): z from a normal truncated to "
        "[-t, t] (BigGAN's truncation trick); null: the full normal",
    )

    @field_validator("image_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("must be a power of two (8, 16, 32, 64, ...)")
        return value

    @model_validator(mode="after")
    def _attention_resolution(self) -> CganModelConfig:
        try:
            check_attention_at(self.attention, self.image_size)
        except ValueError as exc:
            raise ValueError(f"model.attention {exc} (model.image_size={self.image_size})") from None
        try:
            check_scales(self.discriminator_scales, self.image_size)
        except ValueError as exc:
            raise ValueError(f"model.discriminator_scales={self.discriminator_scales} {exc}") from None
        if self.auxiliary_classifier and self.discriminator == "acgan":
            raise ValueError(
                "model.auxiliary_classifier adds a classifier to the projection discriminator and acgan has one "
                "already: set model.auxiliary_classifier=false"
            )
        return self


class CganDataConfig(DataConfig):
    train_size: int | None = Field(None, ge=1, description="built-in data: training items (default 6144)")
    reader: str = Field(
        "class_image_folder", description="registered dataset reader for data.root (a plugin may add readers)"
    )


def _cgan_optim() -> OptimConfig:
    """Adam (0.5, 0.999) at 4e-4 on both sides, twice DCGAN's rate, decaying linearly to zero over the second
    half of the steps (measured in docs/benchmarks.md)."""
    return OptimConfig(
        generator=OptimizerConfig(lr=4e-4),
        discriminator=OptimizerConfig(lr=4e-4),
        schedule=ScheduleConfig(kind="linear", decay_start=0.5),
    )


class CganConfig(RunConfig):
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(
            steps=3000,
            batch_size=32,
            sample_every=500,
            checkpoint_every=500,
            ema=EmaConfig(enabled=True),
            precision="auto",
            channels_last=True,
        ),
        description="training loop (an EMA of G's weights for samples and evaluation; bf16 autocast where the "
        "device computes bf16 natively, fp32 elsewhere)",
    )
    optim: OptimConfig = Field(
        default_factory=_cgan_optim,
        description="optimizers (Adam 4e-4 on both sides, linear decay over the second half)",
    )
    data: CganDataConfig = Field(default_factory=CganDataConfig, description="data source")
    objective: ObjectiveConfig = Field(
        default_factory=lambda: ObjectiveConfig(terms={"mode_seeking": 0.1}),
        description="adversarial objective (with MSGAN's mode-seeking term at 0.1, against a class drawn one "
        "way for every z; objective.terms={} turns it off)",
    )
    model: CganModelConfig = Field(default_factory=CganModelConfig, description="networks")
    eval: EvalConfig = Field(
        default_factory=lambda: EvalConfig(metrics=["class_judge"], num_samples=8), description="evaluation"
    )


class GenerateOptions(StrictModel):
    count: int = Field(8, ge=1, le=1024, description="images per class given")
    truncation: float | None = Field(
        None, gt=0, description="truncate z to [-t, t] for these samples (default: the run's model.truncation)"
    )


class CganTask(Task):
    name = "cgan"
    description = "class-conditional image generation (DCGAN + projection or ACGAN discriminator)"
    config_model = CganConfig
    generate_options = GenerateOptions

    _class_names: list[str] | None = None

    def setup(self, run_root: Path, train: bool) -> None:
        """The class names into ``RUN_DIR/classes.json`` when training starts, read back otherwise, so
        evaluation and generation never need the training folder."""
        run = RunDir(run_root)
        stored = run.read_json(CLASSES_FILE)
        if stored is not None:
            if not isinstance(stored, list) or not all(isinstance(name, str) for name in stored) or len(stored) < 2:
                raise CheckpointError(f"run file '{run.root / CLASSES_FILE}' is damaged (not a list of class names)")
            self._class_names = stored
        elif train:
            run.write_json(CLASSES_FILE, self.class_names)

    @property
    def class_names(self) -> list[str]:
        if self._class_names is None:
            root = self.config.data.root
            if root is None:
                self._class_names = list(SHAPE_CLASSES)
            else:  # a reader may say where its class names come from (tar shards: their .cls members)
                names = getattr(self.host.datasets.get(self.config.data.reader), "class_names", class_names)
                self._class_names = names(root)
        return self._class_names

    def build_models(self) -> GanModels:
        m, k = self.config.model, len(self.class_names)
        generator = ConditionalDCGANGenerator(
            k,
            m.noise_dim,
            m.embed_dim,
            m.image_size,
            m.generator_width,
            m.generator_conditioning,
            m.attention,
            m.generator_norm == "spectral",
            m.init,
            m.truncation,
        )

        def one_scale(size: int) -> ClassConditionalDiscriminator:
            scale = m.image_size // size  # the attention block stays at the same place in the image
            attention = m.attention // scale if m.attention and m.attention // scale >= 8 else None
            return ClassConditionalDiscriminator(
                k,
                size,
                m.discriminator_width,
                m.discriminator,
                self.config.objective.heads,
                m.conditional_discriminator,
                m.discriminator_norm,
                attention,
                m.init,
                m.auxiliary_classifier,
                m.discriminator_depth == "sngan",
                m.minibatch_std,
                m.instance_noise,
                m.diff_augment,
            )

        discriminator: ClassConditionalDiscriminator | MultiScaleDiscriminator = one_scale(m.image_size)
        if m.discriminator_scales > 1:
            discriminator = MultiScaleDiscriminator(one_scale, m.image_size, m.discriminator_scales)
        return GanModels(generator, discriminator, ClassLabel(k))

    def build_objective(self, models: GanModels) -> Objective:
        if self.config.model.discriminator == "acgan":
            if self.config.objective.heads == "split":
                raise ConfigError("model.discriminator=acgan has no match head; use objective.heads=joint")
            if self.config.objective.mismatch_negative:
                raise ConfigError(
                    "model.discriminator=acgan does not read the label, so it cannot judge mismatched pairs; "
                    "set objective.mismatch_negative=false"
                )
        objective = super().build_objective(models)
        if self.config.model.discriminator == "acgan" or self.config.model.auxiliary_classifier:
            w = self.config.model.acgan_weight
            objective.d_losses.append(AuxiliaryClassifierLoss(w))  # type: ignore[attr-defined]
            objective.g_losses.append(AuxiliaryGeneratorLoss(w))  # type: ignore[attr-defined]
        return objective

    def build_dataset(self, split: str) -> Dataset:
        data, size = self.config.data, self.config.model.image_size
        if data.root is None:
            return ShapesDataset(split, size, data.train_size if split == "train" else None)
        reader = self.host.datasets.get(data.reader)
        return reader(data.root, split, image_size=size, classes=self.class_names)

    def _grid(self, models: GanModels, label: list[int], per_row: int) -> Image.Image:
        """``per_row`` samples of each class in ``label``, one row each, labelled with the class name."""
        device = next(models.parameters()).device
        labels = torch.tensor(label).repeat_interleave(per_row).to(device)
        z = models.generator.sample_noise(len(labels), device)
        images = models.generator(models.condition(labels), z).float().cpu()
        return captioned_grid(images, [self.class_names[i] for i in label], per_row)

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        """One row per class, ``eval.num_samples`` columns, the same noise at every step."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{sample_stem(step)}.png"
        self._grid(models, list(range(len(self.class_names))), self.config.eval.num_samples).save(path)
        return [path]

    def export_spec(self, models: GanModels, generator: str = "main") -> ExportSpec:
        """Class indices (B,) int64 and noise (B, noise_dim) -> images (B, 3, S, S) in [-1, 1]; needs
        no data (the run's classes.json names the indices)."""
        g = pick_generator(models, generator)
        labels = torch.arange(len(self.class_names))
        z = g.sample_noise(len(labels), labels.device)
        return ExportSpec(
            ConditionedGenerator(models.condition, g),
            (labels, z),
            ("cond", "z"),
            dynamic={"cond": {0: "batch"}, "z": {0: "batch"}},
            resize=lambda inputs: tuple(torch.cat([t, t[:1]]) for t in inputs),
            notes=f"inputs: class indices (B,) int64 in the order {', '.join(self.class_names)}; z (B, "
            f"{self.config.model.noise_dim}) standard normal; output: images (B, 3, S, S) in [-1, 1]",
        )

    def _label(self, text: str) -> int:
        if text in self.class_names:
            return self.class_names.index(text)
        if text.isdigit() and int(text) < len(self.class_names):
            return int(text)
        raise ConfigError(f"unknown class '{text}'; this run's classes are: {', '.join(self.class_names)}")

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: GenerateOptions) -> list[Path]:
        """Inputs are class names or indices; one PNG grid per input (a folder of them for several)."""
        labels = [self._label(text) for text in inputs]
        if options.truncation is not None:
            models.generator.truncation = options.truncation  # type: ignore[assignment]
        single_file = len(inputs) == 1 and output.suffix.lower() in (".png", ".jpg", ".jpeg")
        if not single_file:
            output.mkdir(parents=True, exist_ok=True)
        paths = []
        for label in labels:
            path = output if single_file else output / f"{self.class_names[label]}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            device = next(models.parameters()).device
            images = models.generator(models.condition(torch.full((options.count,), label, device=device))).float()
            to_pil(make_grid(images.cpu(), nrow=min(options.count, 8), padding=2, pad_value=1.0)).save(path)
            paths.append(path)
        return paths
