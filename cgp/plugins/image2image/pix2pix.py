"""The ``pix2pix`` task: paired image-to-image translation (Isola et al. 2017, "Image-to-Image
Translation with Conditional Adversarial Networks").

A U-Net (or ResNet) generator translates the input; a PatchGAN discriminator judges (input, output)
pairs patch by patch; the generator minimises the conditional adversarial loss plus λ·L1 to the
target (λ = 100). The paper's ablation is one flag each: ``objective.gan_weight=0`` (L1 only),
``objective.terms={}`` (cGAN only), ``model.conditional_discriminator=false`` (L1 + unconditional
GAN).

Colourisation (``data.colorspace=lab``, or ``auto`` on a folder whose inputs are all grayscale and
whose targets are colour): the reference implementation's colorization mode — the generator reads
the input's L* channel and predicts a*b* (1 → 2 channels) and outputs are rebuilt with the input's
exact lightness. Its objective is 100·L2 with no GAN term unless ``objective.colorization=as_set``
(then the discriminator judges (L, ab) pairs): the measured better colouriser on real photographs.

Restoration (``model.residual=true``, or ``auto`` on a folder whose inputs are close copies of their
targets: noisy, compressed or blurred photographs): the generator predicts a correction added to its
input, as residual denoisers do (Zhang et al. 2017, DnCNN).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, field_validator
from torch.utils.data import Dataset
from torchvision.utils import make_grid

from cgp.core.config import (
    DataConfig,
    EvalConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    StrictModel,
    TrainerConfig,
)
from cgp.core.errors import CheckpointError, ConfigError
from cgp.core.export import ExportSpec
from cgp.core.interfaces import GanModels
from cgp.core.rundir import RunDir, sample_stem
from cgp.core.task import Task
from cgp.datasets.colorspace import LabPairs, is_gray, join_lab
from cgp.datasets.images import to_pil
from cgp.datasets.procedural_pairs import ProceduralPairs
from cgp.datasets.transforms import PairTransform
from cgp.nn.init import init_weights
from cgp.nn.patchgan import patch_discriminator
from cgp.nn.resnet import ResnetGenerator
from cgp.nn.unet import UNetGenerator, unet_depth
from cgp.plugins.image2image.inference import as_rgb, translate_files
from cgp.plugins.image2image.models import ImageToImageGenerator, PairDiscriminator, image_export_spec

log = logging.getLogger(__name__)

COLORSPACE_FILE = "colorspace.json"
RESIDUAL_FILE = "residual.json"
AUTO_SCAN_PAIRS = 1000  # the auto checks look at this many training pairs at most
RESIDUAL_SHARE = 0.25
"""``model.residual=auto`` turns the residual output on when the inputs' squared error to their targets is
below this share of the targets' own variance (the input already explains 75% of the target)."""

GeneratorName = Literal["unet_32", "unet_64", "unet_128", "unet_256", "unet_512", "resnet_6blocks", "resnet_9blocks"]
NormName = Literal["batch", "instance", "none"]


class ImageModelConfig(StrictModel):
    generator: GeneratorName = Field("unet_64", description="U-Net depth by input size (reference naming) or ResNet")
    generator_width: int = Field(
        32,
        ge=4,
        description="filters in the generator's first layer (ngf; the reference uses 64, 32 trains 4x faster on CPU)",
    )
    discriminator_width: int = Field(
        32, ge=4, description="filters in the discriminator's first layer (ndf; reference 64)"
    )
    receptive_field: Literal["pixel", "16", "34", "70", "142", "image"] = Field(
        "70", description="PatchGAN receptive field: pixel (1x1), 16, 34, 70 (the paper's default), 142, image"
    )
    norm: NormName = Field("batch", description="normalisation in both networks (pix2pix: batch)")
    dropout: bool = Field(True, description="dropout in the generator: pix2pix's noise source")
    init: Literal["normal", "xavier", "kaiming", "orthogonal"] = Field("normal", description="weight init")
    init_gain: float = Field(0.02, gt=0, description="scale of the weight init")
    conditional_discriminator: bool = Field(True, description="false: D sees only the output (the L1+GAN ablation)")
    residual: bool | Literal["auto"] = Field(
        "auto",
        description="output = input + G's correction, clamped (restoration; needs as many input as output "
        "channels); auto: on for paired folders whose inputs are close copies of their targets",
    )

    @field_validator("receptive_field", mode="before")
    @classmethod
    def _number_as_name(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value  # --set model.receptive_field=16


class PairedDataConfig(DataConfig):
    reader: str = Field(
        "paired_image_folder",
        description="registered dataset reader for data.root, called with transform, direction, channels_a, channels_b",
    )
    direction: Literal["AtoB", "BtoA"] = Field("AtoB", description="translate A into B, or B into A")
    input_channels: int = Field(3, description="channels of the input images (1 or 3)")
    output_channels: int = Field(3, description="channels of the target images (1 or 3)")
    preprocess: Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"] = Field(
        "resize_and_crop", description="the reference's preprocessing: resize to load_size, random crop crop_size"
    )
    load_size: int = Field(72, ge=1, description="resize target before cropping (reference 286 for 256 crops)")
    crop_size: int = Field(64, ge=1, description="training crop side; test images are centre-cropped")
    no_flip: bool = Field(False, description="no random horizontal flips")
    train_size: int | None = Field(None, ge=1, description="built-in data: training pairs (default 2000)")
    image_size: int = Field(64, ge=16, description="built-in data: side of the procedural images")
    colorspace: Literal["auto", "rgb", "lab"] = Field(
        "auto",
        description="lab: colourisation (L in, ab out, rebuilt with the input's L); rgb: images as they are; "
        "auto: lab when every input is grayscale and the targets are colour",
    )


COLORIZATION_TERMS = {"l2": 100.0}
"""The colourisation mode's default objective: 100·L2 to the target's ab, no GAN term (docs/benchmarks.md,
"More crops of the same photographs": the only objective measured above the gray input and the global
tint on unseen photographs)."""


class Pix2PixObjectiveConfig(ObjectiveConfig):
    colorization: Literal["regression", "as_set"] = Field(
        "regression",
        description="the colourisation mode's objective: regression = 100 x L2 to the colour, no GAN term (best "
        "PSNR on real photographs, muted colour); as_set: this section as written (the paper's cGAN + L1)",
    )


def _pix2pix_objective() -> Pix2PixObjectiveConfig:
    return Pix2PixObjectiveConfig(adversarial="lsgan", mismatch_negative=False, terms={"l1": 100.0})


class Pix2PixConfig(RunConfig):
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(steps=3000, batch_size=16, sample_every=500, checkpoint_every=500),
        description="training loop",
    )
    data: PairedDataConfig = Field(default_factory=PairedDataConfig, description="paired images")
    optim: OptimConfig = Field(
        default_factory=OptimConfig.linear_decay, description="optimizers (pix2pix: linear decay)"
    )
    objective: Pix2PixObjectiveConfig = Field(
        default_factory=_pix2pix_objective, description="cGAN + 100·L1 (colourisation: 100·L2)"
    )
    model: ImageModelConfig = Field(default_factory=ImageModelConfig, description="networks")
    eval: EvalConfig = Field(
        default_factory=lambda: EvalConfig(metrics=["translation_quality"], num_samples=8), description="evaluation"
    )


def build_generator(
    model: ImageModelConfig, in_channels: int, out_channels: int, residual: bool = False
) -> ImageToImageGenerator:
    """``residual``: what ``model.residual`` resolved to (``auto`` is the task's to decide)."""
    if model.generator.startswith("unet"):
        depth = unet_depth(model.generator)
        net = UNetGenerator(in_channels, out_channels, depth, model.generator_width, model.norm, model.dropout)
        stride = 2**depth
    else:
        blocks = int(model.generator.split("_")[1].removesuffix("blocks"))
        net = ResnetGenerator(
            in_channels, out_channels, model.generator_width, model.norm, model.dropout, n_blocks=blocks
        )
        stride = 4
    init_weights(net, model.init, model.init_gain)
    if residual and in_channels != out_channels:
        raise ConfigError(
            f"model.residual adds the output to the input, which needs as many input as output channels "
            f"(here {in_channels} and {out_channels}); set model.residual=false"
        )
    return ImageToImageGenerator(net, stride, residual)


def build_discriminator(
    model: ImageModelConfig, in_channels: int, out_channels: int, image_size: int
) -> PairDiscriminator:
    channels = in_channels + out_channels if model.conditional_discriminator else out_channels
    net = patch_discriminator(model.receptive_field, channels, image_size, model.discriminator_width, model.norm)
    init_weights(net, model.init, model.init_gain)
    return PairDiscriminator(net, model.conditional_discriminator)


def _kept_answer(
    run: RunDir, name: str, valid: Callable[[Any], bool], expected: str, resolve: Callable[[], Any] | None
) -> Any:
    """An auto setting's answer kept in ``RUN_DIR/name``: the stored one, or ``resolve()``'s, stored now
    (when training starts); None when the run has none and there is no ``resolve``."""
    stored = run.read_json(name)
    if stored is not None:
        if not valid(stored):
            raise CheckpointError(f"run file '{run.root / name}' is damaged (not {expected})")
        return stored
    if resolve is None:
        return None
    answer = resolve()
    run.write_json(name, answer)
    return answer


class Pix2PixTask(Task):
    name = "pix2pix"
    description = "paired image-to-image translation: U-Net + PatchGAN + L1 (Isola et al. 2017)"
    config_model = Pix2PixConfig

    _colorspace: str | None = None
    _residual: bool | None = None

    def setup(self, run_root: Path, train: bool) -> None:
        """Resolve ``data.colorspace=auto`` and ``model.residual=auto`` once, when training starts, and keep
        the answers in ``RUN_DIR/colorspace.json`` and ``RUN_DIR/residual.json`` so evaluation and
        generation build the same models without the data."""
        run = RunDir(run_root)
        self._colorspace = _kept_answer(
            run,
            COLORSPACE_FILE,
            lambda v: v in ("rgb", "lab"),
            '"rgb" or "lab"',
            (lambda: self.colorspace) if train else None,
        )
        self._residual = _kept_answer(
            run,
            RESIDUAL_FILE,
            lambda v: isinstance(v, bool),
            "true or false",
            (lambda: self.residual) if train else None,
        )

    @property
    def colorspace(self) -> str:
        if self._colorspace is None:
            chosen = self.config.data.colorspace
            self._colorspace = self._detect_colorspace() if chosen == "auto" else chosen
        return self._colorspace

    @property
    def residual(self) -> bool:
        if self._residual is None:
            chosen = self.config.model.residual
            self._residual = self._detect_residual() if chosen == "auto" else chosen
        return self._residual

    def _scanned(self, a: int, b: int) -> Iterator[dict]:
        """Up to ``AUTO_SCAN_PAIRS`` training pairs spread over the set, centre-cropped, one at a time, for
        the auto checks (a check that has its answer stops reading)."""
        pairs = self._read(self.config.data.root, "train", a, b, augment=False)
        n = len(pairs)
        picks = range(n) if n <= AUTO_SCAN_PAIRS else [i * n // AUTO_SCAN_PAIRS for i in range(AUTO_SCAN_PAIRS)]
        return (pairs[i] for i in picks)

    def _detect_residual(self) -> bool:
        cin, cout = self._channels()
        if self.config.data.root is None or self.colorspace == "lab" or cin != cout:
            return False
        error = variance = 0.0
        for item in self._scanned(*self._sides(cin, cout)):
            error += float((item["cond"] - item["x"]).pow(2).mean())
            variance += float(item["x"].var())
        if error >= RESIDUAL_SHARE * variance:
            return False
        log.warning(
            "data: the inputs are close copies of their targets (squared error %.0f%% of the targets' variance), "
            "so the generator predicts a correction to its input; set model.residual=false to turn it off",
            100 * error / max(variance, 1e-12),
        )
        return True

    def _detect_colorspace(self) -> str:
        d = self.config.data
        if d.root is None or d.output_channels != 3:
            return "rgb"
        colour_targets = scanned = 0
        for item in self._scanned(3, 3):
            if not is_gray(item["cond"]):
                return "rgb"
            colour_targets += not is_gray(item["x"])
            scanned += 1
        if colour_targets * 2 < scanned:
            return "rgb"
        log.warning(
            "data: every input checked is grayscale and the targets are colour, so pix2pix trains in the "
            "colourisation mode (L in, ab out, the input's L kept); set data.colorspace=rgb to turn it off"
        )
        return "lab"

    def objective_config(self) -> ObjectiveConfig:
        """The objective section; in the colourisation mode with ``objective.colorization=regression``,
        100·L2 and no GAN term in place of its adversarial and regression settings."""
        cfg = self.config.objective
        if self.colorspace != "lab" or cfg.colorization != "regression":
            return cfg
        log.warning(
            "colourisation mode: the objective is 100 x L2 to the colour, no GAN term (objective.gan_weight and "
            "objective.terms are not used); set objective.colorization=as_set to train with them as written"
        )
        return cfg.model_copy(update={"gan_weight": 0.0, "terms": dict(COLORIZATION_TERMS)})

    def _channels(self) -> tuple[int, int]:
        if self.colorspace == "lab":
            return 1, 2
        return self.config.data.input_channels, self.config.data.output_channels

    def to_image(self, cond: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The picture an output stands for: itself, or in the colourisation mode the RGB image rebuilt
        from the input's L and the predicted ab."""
        return join_lab(cond, output) if self.colorspace == "lab" else output

    def _read(self, root: Path, split: str, a: int, b: int, augment: bool | None = None) -> Dataset:
        """The paired reader on ``split``; ``augment`` (default: for the training split) picks random crops
        and flips over the evaluation's centre crop."""
        d = self.config.data
        transform = self.transform(split == "train" if augment is None else augment)
        reader = self.host.datasets.get(d.reader)
        return reader(root, split, transform=transform, direction=d.direction, channels_a=a, channels_b=b)

    def build_models(self) -> GanModels:
        cin, cout = self._channels()
        size = self.config.data.crop_size if self.config.data.root is not None else self.config.data.image_size
        generator = build_generator(self.config.model, cin, cout, self.residual)
        if size % generator.stride:
            raise ConfigError(
                f"image side {size} is not a multiple of {generator.stride}, which {self.config.model.generator} "
                "needs; change data.crop_size (or data.image_size) or pick a shallower model.generator"
            )
        return GanModels(generator, build_discriminator(self.config.model, cin, cout, size))

    def transform(self, train: bool) -> PairTransform:
        d = self.config.data
        t = PairTransform(d.preprocess, d.load_size, d.crop_size, d.no_flip, train=True)
        return t if train else t.for_evaluation()

    def build_dataset(self, split: str) -> Dataset:
        d = self.config.data
        if d.root is None:
            if self._channels() != (3, 3):
                raise ConfigError("the built-in pairs are RGB: set data.input_channels=3 and data.output_channels=3")
            return ProceduralPairs(split, d.image_size, d.train_size if split == "train" else None)
        if self.colorspace == "lab":
            return LabPairs(self._read(d.root, split, 3, 3))
        return self._read(d.root, split, *self._sides(*self._channels()))

    def _sides(self, cin: int, cout: int) -> tuple[int, int]:
        """The channels of the A and B images for an input of ``cin`` and an output of ``cout`` channels."""
        return (cin, cout) if self.config.data.direction == "AtoB" else (cout, cin)

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        """Rows of input | output | target for the first ``eval.num_samples`` test pairs."""
        dataset = self.build_dataset("test")
        n = min(self.config.eval.num_samples, len(dataset))
        items = [dataset[i] for i in range(n)]
        inputs = torch.stack([it["cond"] for it in items])
        targets = torch.stack([it.get("target_rgb", it["x"]) for it in items])
        device = next(models.parameters()).device
        outputs = self.to_image(inputs, models.generator(models.condition(inputs.to(device))).float().cpu())
        tiles = [as_rgb(t) for triple in zip(inputs, outputs, targets) for t in triple]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{sample_stem(step)}.png"
        to_pil(make_grid(torch.stack(tiles), nrow=3, padding=2, pad_value=1.0)).save(path)
        return [path]

    def export_spec(self, models: GanModels, generator: str = "main") -> ExportSpec:
        spec = image_export_spec(super().export_spec(models, generator), models.generator.stride)
        if self.colorspace == "lab":
            spec.notes = "input: the L channel as L/50 - 1 (B, 1, H, W); output: a*/110, b*/110 (B, 2, H, W)"
        return spec

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: StrictModel) -> list[Path]:
        """Translate image files (or every image in given folders); any size, padded to the stride."""
        if self.colorspace == "lab":
            return translate_files(models.generator, inputs, output, 3, models.condition, colorize=True)
        return translate_files(models.generator, inputs, output, self.config.data.input_channels, models.condition)
