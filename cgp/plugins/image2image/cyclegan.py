"""The ``cyclegan`` task: unpaired image-to-image translation (Zhu et al. 2017, "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks").

Two generators (A→B ``a2b``, B→A ``b2a``) and two discriminators (``a`` judges domain A, ``b``
domain B), least-squares adversarial losses, cycle consistency ``λ·|G_b2a(G_a2b(a)) − a|₁`` in
both directions (λ = 10), the identity term ``0.5·λ·|G_a2b(b) − b|₁`` (and its mirror), and a
pool of 50 earlier generated images per discriminator (Shrivastava et al. 2017), all as the
reference implementation does. The pools are objective state, saved in every checkpoint, so a
resumed run continues exactly.

Batches: ``cond`` is a domain-A image, ``x`` a domain-B image (unrelated to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn
from torch.utils.data import Dataset
from torchvision.utils import make_grid

from cgp.core.config import EvalConfig, OptimConfig, RunConfig, StrictModel, TrainerConfig
from cgp.core.errors import ConfigError
from cgp.core.export import ConditionedGenerator, ExportSpec, pick_generator
from cgp.core.interfaces import GanModels
from cgp.core.losses import AdversarialLoss
from cgp.core.objective import Objective, Terms
from cgp.core.rundir import sample_stem
from cgp.core.task import Task
from cgp.datasets.images import to_pil
from cgp.datasets.procedural_pairs import ProceduralDomains
from cgp.datasets.transforms import PairTransform
from cgp.plugins.image2image.inference import as_rgb, translate_files
from cgp.plugins.image2image.models import image_export_spec
from cgp.plugins.image2image.pix2pix import ImageModelConfig, PairedDataConfig, build_discriminator, build_generator


class ImagePool:
    """A buffer of earlier generated images (Shrivastava et al. 2017): once full, each query returns
    the new image or, with probability ½, a stored one that the new image replaces. Draws come from
    torch's global RNG, which checkpoints hold, so a resumed run makes the same choices."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand(())) < 0.5:
                index = int(torch.randint(0, self.size, ()))
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> torch.Tensor | None:
        return torch.stack(self.images) if self.images else None

    def load(self, stacked: torch.Tensor | None, device: torch.device) -> None:
        self.images = [] if stacked is None else [t.to(device) for t in stacked]


class CycleObjectiveConfig(StrictModel):
    adversarial: str = Field("lsgan", description="adversarial loss (CycleGAN: least squares)")
    lambda_a: float = Field(10.0, ge=0, description="weight of the A→B→A cycle term")
    lambda_b: float = Field(10.0, ge=0, description="weight of the B→A→B cycle term")
    lambda_identity: float = Field(
        0.5, ge=0, description="identity term weight, relative to lambda (G_a2b(b) should stay b)"
    )
    pool_size: int = Field(50, ge=0, description="generated images kept per discriminator (0: no pool)")
    discriminator_scale: float = Field(0.5, gt=0, description="D loss factor (the reference halves it)")


class UnpairedDataConfig(PairedDataConfig):
    serial: bool = Field(False, description="pair A[i] with B[i] instead of a random B")
    reader: str = Field(
        "unpaired_image_folder",
        description="registered dataset reader for data.root, called with transform, serial, channels_a, channels_b",
    )


class CycleGANConfig(RunConfig):
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(steps=3000, batch_size=4, sample_every=500, checkpoint_every=500),
        description="training loop",
    )
    data: UnpairedDataConfig = Field(default_factory=UnpairedDataConfig, description="unpaired images")
    optim: OptimConfig = Field(
        default_factory=OptimConfig.linear_decay,
        description="optimizers (CycleGAN: linear decay in the second half)",
    )
    objective: CycleObjectiveConfig = Field(default_factory=CycleObjectiveConfig, description="CycleGAN objective")
    model: ImageModelConfig = Field(
        default_factory=lambda: ImageModelConfig(
            generator="resnet_6blocks", norm="instance", dropout=False, residual=False
        ),
        description="networks (CycleGAN: ResNet generators, instance norm)",
    )
    eval: EvalConfig = Field(
        default_factory=lambda: EvalConfig(metrics=["cycle_quality"], num_samples=6), description="evaluation"
    )


@dataclass
class CycleOutputs:
    fake_b: torch.Tensor
    rec_a: torch.Tensor
    fake_a: torch.Tensor
    rec_b: torch.Tensor
    idt_a: torch.Tensor | None  # G_a2b(b): should equal b
    idt_b: torch.Tensor | None  # G_b2a(a): should equal a


class CycleGANObjective(Objective):
    """Both directions of the game; term names say which network and which direction."""

    def __init__(self, models: GanModels, config: CycleObjectiveConfig, adversarial: AdversarialLoss) -> None:
        super().__init__(models)
        self.config = config
        self.adversarial = adversarial
        self.pools = {"a": ImagePool(config.pool_size), "b": ImagePool(config.pool_size)}

    def generate(self, batch: dict) -> CycleOutputs:
        g = self.models.generators
        real_a, real_b = batch["cond"], batch["x"]
        fake_b = g["a2b"](real_a)
        fake_a = g["b2a"](real_b)
        use_identity = self.config.lambda_identity > 0
        return CycleOutputs(
            fake_b=fake_b,
            rec_a=g["b2a"](fake_b),
            fake_a=fake_a,
            rec_b=g["a2b"](fake_a),
            idt_a=g["a2b"](real_b) if use_identity else None,
            idt_b=g["b2a"](real_a) if use_identity else None,
        )

    def discriminator_terms(self, batch: dict, generated: CycleOutputs) -> Terms:
        d, adv, scale = self.models.discriminators, self.adversarial, self.config.discriminator_scale
        fake_b = self.pools["b"].query(generated.fake_b)
        fake_a = self.pools["a"].query(generated.fake_a)
        return {
            "d_b_real": scale * adv.real(d["b"](batch["x"], None)),
            "d_b_fake": scale * adv.fake(d["b"](fake_b, None)),
            "d_a_real": scale * adv.real(d["a"](batch["cond"], None)),
            "d_a_fake": scale * adv.fake(d["a"](fake_a, None)),
        }

    def generator_terms(self, batch: dict, generated: CycleOutputs) -> Terms:
        d, adv, cfg = self.models.discriminators, self.adversarial, self.config
        real_a, real_b = batch["cond"], batch["x"]
        terms = {
            "g_a2b_adv": adv.generator(d["b"](generated.fake_b, None)),
            "g_b2a_adv": adv.generator(d["a"](generated.fake_a, None)),
            "cycle_a": cfg.lambda_a * F.l1_loss(generated.rec_a, real_a),
            "cycle_b": cfg.lambda_b * F.l1_loss(generated.rec_b, real_b),
        }
        if generated.idt_a is not None:
            terms["identity_a2b"] = cfg.lambda_b * cfg.lambda_identity * F.l1_loss(generated.idt_a, real_b)
            terms["identity_b2a"] = cfg.lambda_a * cfg.lambda_identity * F.l1_loss(generated.idt_b, real_a)
        return terms

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, pool in self.pools.items():
            stacked = pool.state()
            if stacked is not None:
                out[f"pool_{name}"] = stacked
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        device = next(self.models.parameters()).device
        for name, pool in self.pools.items():
            pool.load(tensors.get(f"pool_{name}"), device)


class CycleGenerateOptions(StrictModel):
    direction: Literal["AtoB", "BtoA"] = Field("AtoB", description="which generator translates the inputs")


class CycleGANTask(Task):
    name = "cyclegan"
    description = "unpaired image-to-image translation with cycle consistency (Zhu et al. 2017)"
    config_model = CycleGANConfig
    generate_options = CycleGenerateOptions

    def build_models(self) -> GanModels:
        d, m = self.config.data, self.config.model
        cin, cout = d.input_channels, d.output_channels
        size = d.crop_size if d.root is not None else d.image_size
        if self.config.objective.lambda_identity > 0 and cin != cout:
            raise ConfigError(
                "the identity term needs equal input and output channels; set objective.lambda_identity=0"
            )
        unconditional = m.model_copy(update={"conditional_discriminator": False})
        residual = m.residual is True  # auto: off (unpaired domains; nothing says one is a copy of the other)
        generators = {"a2b": build_generator(m, cin, cout, residual), "b2a": build_generator(m, cout, cin, residual)}
        if size % generators["a2b"].stride:
            raise ConfigError(
                f"image side {size} is not a multiple of {generators['a2b'].stride}, which {m.generator} needs"
            )
        discriminators = {
            "a": build_discriminator(unconditional, 0, cin, size),
            "b": build_discriminator(unconditional, 0, cout, size),
        }
        return GanModels(generators, discriminators)

    def build_objective(self, models: GanModels) -> Objective:
        adversarial = self.host.adversarial_losses.get(self.config.objective.adversarial)()
        return CycleGANObjective(models, self.config.objective, adversarial)

    def build_dataset(self, split: str, counterparts: bool = False) -> Dataset:
        d = self.config.data
        if d.root is None:
            size = d.train_size if split == "train" else None
            return ProceduralDomains(split, d.image_size, size, counterparts=counterparts)
        t = PairTransform(d.preprocess, d.load_size, d.crop_size, d.no_flip, train=True)
        t = t if split == "train" else t.for_evaluation()
        return self.host.datasets.get(d.reader)(
            d.root,
            split,
            transform=t,
            serial=d.serial or split != "train",
            channels_a=d.input_channels,
            channels_b=d.output_channels,
        )

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        """Rows of A | A→B | A→B→A | B | B→A | B→A→B for test images."""
        dataset = self.build_dataset("test")
        n = min(self.config.eval.num_samples, len(dataset))
        items = [dataset[i] for i in range(n)]
        device = next(models.parameters()).device
        real_a = torch.stack([it["cond"] for it in items]).to(device)
        real_b = torch.stack([it["x"] for it in items]).to(device)
        g = models.generators
        fake_b, fake_a = g["a2b"](real_a), g["b2a"](real_b)
        columns = [real_a, fake_b, g["b2a"](fake_b), real_b, fake_a, g["a2b"](fake_a)]
        tiles = [as_rgb(col[i].float().cpu()) for i in range(n) for col in columns]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{sample_stem(step)}.png"
        to_pil(make_grid(torch.stack(tiles), nrow=6, padding=2, pad_value=1.0)).save(path)
        return [path]

    def export_spec(self, models: GanModels, generator: str = "a2b") -> ExportSpec:
        """``a2b`` (default; ``main`` means it too) or ``b2a``: one direction's generator, image in, image out."""
        generator = "a2b" if generator == "main" else generator
        g = pick_generator(models, generator)
        test = self.build_dataset(self.config.eval.split)
        key = "cond" if generator == "a2b" else "x"
        example = torch.stack([test[0][key], test[min(1, len(test) - 1)][key]])
        spec = ExportSpec(ConditionedGenerator(nn.Identity(), g), (example,), ("cond",))
        return image_export_spec(spec, g.stride)

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: CycleGenerateOptions) -> list[Path]:
        forward = options.direction == "AtoB"
        generator = models.generators["a2b" if forward else "b2a"]
        channels = self.config.data.input_channels if forward else self.config.data.output_channels
        return translate_files(generator, inputs, output, channels)
