"""The ``pix2pix`` task: paired image-to-image translation (Isola et al. 2017, "Image-to-Image
Translation with Conditional Adversarial Networks").

A U-Net (or ResNet) generator translates the input; a PatchGAN discriminator judges (input, output)
pairs patch by patch; the generator minimises the conditional adversarial loss plus λ·L1 to the
target (λ = 100). The paper's ablation is one flag each: ``objective.gan_weight=0`` (L1 only),
``objective.terms={}`` (cGAN only), ``model.conditional_discriminator=false`` (L1 + unconditional
GAN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
from cgp.core.errors import ConfigError
from cgp.core.interfaces import GanModels
from cgp.core.rundir import sample_stem
from cgp.core.task import Task
from cgp.datasets.images import to_pil
from cgp.datasets.procedural_pairs import ProceduralPairs
from cgp.datasets.transforms import PairTransform
from cgp.nn.init import init_weights
from cgp.nn.patchgan import patch_discriminator
from cgp.nn.resnet import ResnetGenerator
from cgp.nn.unet import UNetGenerator, unet_depth
from cgp.plugins.image2image.inference import as_rgb, translate_files
from cgp.plugins.image2image.models import ImageToImageGenerator, PairDiscriminator

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


def _pix2pix_objective() -> ObjectiveConfig:
    return ObjectiveConfig(adversarial="lsgan", mismatch_negative=False, terms={"l1": 100.0})


class Pix2PixConfig(RunConfig):
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(steps=3000, batch_size=16, sample_every=500, checkpoint_every=500),
        description="training loop",
    )
    data: PairedDataConfig = Field(default_factory=PairedDataConfig, description="paired images")
    optim: OptimConfig = Field(
        default_factory=OptimConfig.linear_decay, description="optimizers (pix2pix: linear decay)"
    )
    objective: ObjectiveConfig = Field(default_factory=_pix2pix_objective, description="cGAN + 100·L1")
    model: ImageModelConfig = Field(default_factory=ImageModelConfig, description="networks")
    eval: EvalConfig = Field(
        default_factory=lambda: EvalConfig(metrics=["translation_quality"], num_samples=8), description="evaluation"
    )


def build_generator(model: ImageModelConfig, in_channels: int, out_channels: int) -> ImageToImageGenerator:
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
    return ImageToImageGenerator(net, stride)


def build_discriminator(
    model: ImageModelConfig, in_channels: int, out_channels: int, image_size: int
) -> PairDiscriminator:
    channels = in_channels + out_channels if model.conditional_discriminator else out_channels
    net = patch_discriminator(model.receptive_field, channels, image_size, model.discriminator_width, model.norm)
    init_weights(net, model.init, model.init_gain)
    return PairDiscriminator(net, model.conditional_discriminator)


class Pix2PixTask(Task):
    name = "pix2pix"
    description = "paired image-to-image translation: U-Net + PatchGAN + L1 (Isola et al. 2017)"
    config_model = Pix2PixConfig

    def _channels(self) -> tuple[int, int]:
        return self.config.data.input_channels, self.config.data.output_channels

    def build_models(self) -> GanModels:
        cin, cout = self._channels()
        size = self.config.data.crop_size if self.config.data.root is not None else self.config.data.image_size
        generator = build_generator(self.config.model, cin, cout)
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
        cin, cout = self._channels()
        a, b = (cin, cout) if d.direction == "AtoB" else (cout, cin)
        reader = self.host.datasets.get(d.reader)
        return reader(
            d.root, split, transform=self.transform(split == "train"), direction=d.direction, channels_a=a, channels_b=b
        )

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        """Rows of input | output | target for the first ``eval.num_samples`` test pairs."""
        dataset = self.build_dataset("test")
        n = min(self.config.eval.num_samples, len(dataset))
        items = [dataset[i] for i in range(n)]
        inputs = torch.stack([it["cond"] for it in items])
        targets = torch.stack([it["x"] for it in items])
        device = next(models.parameters()).device
        outputs = models.generator(models.condition(inputs.to(device))).float().cpu()
        tiles = [as_rgb(t) for triple in zip(inputs, outputs, targets) for t in triple]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{sample_stem(step)}.png"
        to_pil(make_grid(torch.stack(tiles), nrow=3, padding=2, pad_value=1.0)).save(path)
        return [path]

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: StrictModel) -> list[Path]:
        """Translate image files (or every image in given folders); any size, padded to the stride."""
        return translate_files(models.generator, inputs, output, self.config.data.input_channels, models.condition)
