"""The text2image networks.

* :class:`TextCondition` — the text encoder (``text_encoder.py``) and StackGAN's conditioning
  augmentation (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis with Stacked
  Generative Adversarial Networks", §3.1): the sentence vector gives (μ, σ), the generator reads
  c = μ + σ·ε and pays KL(N(μ, σ²) || N(0, I)); the discriminator reads μ.
* :class:`StackGenerator` — stage I is a DCGAN generator (Radford et al. 2016) fed [z, c]; the
  optional stage II (StackGAN §3.3) encodes the stage-I image, joins the text code, refines it with
  residual blocks and upsamples to twice the size.
* :class:`TextImageDiscriminator` — a DCGAN image encoder and the two designs of the source notes:
  ``joint`` (image features ⊕ text code -> one score, Reed et al. 2016) and ``split`` (a realism
  head on the image features alone, a match head on image features ⊕ text code).
* :class:`CaptionScorer` — the frozen image half of the pretrained image–text matcher, which scores
  generated images against their captions for the ``damsm`` generator term (AttnGAN's DAMSM loss at
  sentence level).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from cgp.core.interfaces import Condition, Discriminator, Generator, Scores, batch_roll
from cgp.nn.dcgan import DCGANDecoder, DCGANEncoder, dcgan_init
from cgp.plugins.text2image.matching import ImageEncoder
from cgp.plugins.text2image.text_encoder import TextEncoder

TextCode = dict[str, torch.Tensor]
"""``code`` (what G reads), ``mu`` and ``logvar`` (with augmentation), ``seen`` (what D reads); with a
scorer also ``sentence`` (the unit-length sentence vector) and ``ids`` (the caption ids)."""


class CaptionScorer(nn.Module):
    """The image encoder and temperature of a pretrained :class:`ImageTextMatcher`, frozen and always in
    eval mode (its batch norms keep the statistics of real images). ``logits(images, sentences)`` are
    the matcher's (N, M) image-by-caption logits; images of another side are resized to ``image_size``,
    the side the matcher learnt at."""

    def __init__(self, dim: int, image_size: int) -> None:
        super().__init__()
        self.image_encoder = ImageEncoder(dim)
        self.register_buffer("logit_scale", torch.tensor(0.0))
        self.image_size = image_size
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> CaptionScorer:
        return super().train(False)

    def logits(self, images: torch.Tensor, sentences: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=self.image_size, mode="bilinear", align_corners=False, antialias=True)
        features = F.normalize(self.image_encoder(images), dim=1)
        return self.logit_scale.clamp(max=math.log(100)).exp() * features @ sentences.T


class TextCondition(Condition):
    """Caption ids -> text code. ``augment=False`` gives the deterministic code μ to the generator.

    ``discriminator_reads`` is what D sees of the caption: ``code`` is μ (StackGAN's D), ``sentence``
    the encoder's sentence vector, standardised per caption without learnt parameters (DF-GAN's D
    reads its frozen encoder's sentence vector). With a pretrained, frozen encoder the sentence is a
    fixed input to D, whereas μ belongs to the generator side, which the KL term pulls towards 0.
    ``scorer`` (for the ``damsm`` term) adds the unit sentence vector and the ids to the code.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        code_dim: int,
        augment: bool = True,
        scorer: CaptionScorer | None = None,
        discriminator_reads: str = "code",
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.augment = augment
        self.code_dim = code_dim
        self.scorer = scorer
        self.discriminator_reads = discriminator_reads
        self.seen_dim = encoder.out_dim if discriminator_reads == "sentence" else code_dim
        # the sentence vector is normalised and σ starts small (e^-3): with σ ≈ 1 from the start the
        # code is mostly noise (measured: |μ| ≈ 0.6 against |σ·ε| ≈ 8 at 64 dimensions) and G ignores the text
        self.norm = nn.LayerNorm(encoder.out_dim)
        self.to_code = nn.Linear(encoder.out_dim, 2 * code_dim if augment else code_dim)
        if augment:
            with torch.no_grad():
                self.to_code.bias[code_dim:].fill_(-6.0)

    def encode(self, ids: torch.Tensor) -> TextCode:
        sentence = self.encoder(ids)
        h = self.to_code(self.norm(sentence))
        if not self.augment:
            out = {"code": h, "mu": h}
        else:
            mu, logvar = h.chunk(2, dim=1)
            out = {"code": mu + torch.randn_like(mu) * (0.5 * logvar).exp(), "mu": mu, "logvar": logvar}
        reads_sentence = self.discriminator_reads == "sentence"
        out["seen"] = F.layer_norm(sentence, sentence.shape[1:]) if reads_sentence else out["mu"]
        if self.scorer is not None:
            out.update(sentence=F.normalize(sentence, dim=1), ids=ids)
        return out

    def forward(self, raw: torch.Tensor) -> TextCode:
        return self.encode(raw)

    def aux(self, encoded: TextCode) -> dict[str, torch.Tensor]:
        keys = ("mu", "logvar") if self.augment else ()
        keys += ("sentence", "ids") if self.scorer is not None else ()
        return {k: encoded[k] for k in keys}

    def for_discriminator(self, encoded: TextCode) -> torch.Tensor:
        return encoded["seen"]

    def interpolate(self, encoded: TextCode, beta: float = 0.5) -> TextCode:
        """GAN-INT (Reed et al. 2016, §4.3): codes between each caption and its batch neighbour's."""
        other = batch_roll(encoded, 1)
        return {k: beta * v + (1 - beta) * other[k] for k, v in encoded.items() if k in ("code", "mu", "seen")}


class ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.act = nn.ReLU(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """Nearest-neighbour upsampling + 3x3 conv (StackGAN's upBlock), which avoids checkerboards."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(True),
    )


class StageTwo(nn.Module):
    """Stage-I image (S) + text code -> image (2S): encode to S/4, join c, residual blocks, upsample x3."""

    def __init__(self, code_dim: int, width: int, blocks: int = 2) -> None:
        super().__init__()
        w = 4 * width
        self.encode = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1),
            nn.ReLU(True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(True),
            nn.Conv2d(2 * width, w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(True),
        )
        self.join = nn.Sequential(nn.Conv2d(w + code_dim, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True))
        self.residual = nn.Sequential(*[ResidualBlock(w) for _ in range(blocks)])
        self.decode = nn.Sequential(
            _up(w, 2 * width), _up(2 * width, width), _up(width, width // 2), nn.Conv2d(width // 2, 3, 3, 1, 1)
        )

    def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = self.encode(image)
        c = code[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return torch.tanh(self.decode(self.residual(self.join(torch.cat([h, c], dim=1)))))


class StackGenerator(Generator):
    """Returns the stage-I image, or ``{"s1": S, "s2": 2S}`` with stage II.

    ``fusion`` says where stage I reads the text code: ``input`` (StackGAN: joined to z only) or
    ``affine`` (also in every batch norm's scale and shift, as BigGAN's conditional batch norm and
    DF-GAN's fusion blocks do)."""

    def __init__(
        self, code_dim: int, noise_dim: int, image_size: int, width: int, stage_two: bool, fusion: str = "input"
    ) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.fusion = fusion
        self.stage1 = DCGANDecoder(noise_dim + code_dim, image_size, 3, width, code_dim if fusion == "affine" else 0)
        self.stage2 = StageTwo(code_dim, width) if stage_two else None
        self.stage_one_frozen = False
        dcgan_init(self)

    def freeze_stage_one(self) -> None:
        """Stage after stage (StackGAN's schedule): stage I keeps its weights and batch-norm statistics."""
        self.stage_one_frozen = True
        self.stage1.requires_grad_(False)
        self.stage1.eval()

    def train(self, mode: bool = True) -> StackGenerator:
        super().train(mode)
        if self.stage_one_frozen:
            self.stage1.eval()
        return self

    def forward(self, cond: TextCode, z: torch.Tensor | None = None) -> torch.Tensor | dict[str, torch.Tensor]:
        code = cond["code"]
        if z is None:
            z = self.sample_noise(code.shape[0], code.device)
        s1 = self.stage1(torch.cat([z, code], dim=1), code if self.fusion == "affine" else None)
        if self.stage2 is None:
            return s1
        return {"s1": s1, "s2": self.stage2(s1, code)}


def final_image(output: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
    """The last stage's image of a :class:`StackGenerator` output."""
    return output if isinstance(output, torch.Tensor) else output[sorted(output)[-1]]


class TextImageDiscriminator(Discriminator):
    """DCGAN encoder to 4x4 features; heads as in the module docstring.

    The text code is compressed to ``proj_dim``, replicated over the 4x4 grid and joined to the image
    features (Reed et al. 2016; StackGAN's D). ``conditional=False`` keeps only the realism head: the
    ablation whose D ignores the text.
    """

    def __init__(
        self,
        image_size: int,
        width: int,
        code_dim: int,
        design: str = "joint",
        norm: str = "spectral",
        conditional: bool = True,
        proj_dim: int = 64,
    ) -> None:
        super().__init__()
        self.design = design
        self.uses_condition = conditional
        self.encoder = DCGANEncoder(image_size, 3, width, norm)
        w = self.encoder.out_width
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        if not conditional or design == "split":
            self.realism = wrap(nn.Conv2d(w, 1, 4, 1, 0))
        if conditional:
            self.project = nn.Sequential(wrap(nn.Linear(code_dim, proj_dim)), nn.LeakyReLU(0.2, True))
            self.joint = nn.Sequential(
                wrap(nn.Conv2d(w + proj_dim, w, 3, 1, 1)), nn.LeakyReLU(0.2, True), wrap(nn.Conv2d(w, 1, 4, 1, 0))
            )
        dcgan_init(self)

    def features(self, x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
        return self.encoder(x)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> Scores:
        h = self.encoder(x)[-1]
        if not self.uses_condition:
            return self.realism(h).flatten()
        c = self.project(cond)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        match = self.joint(torch.cat([h, c], dim=1)).flatten()
        if self.design == "split":
            return {"realism": self.realism(h).flatten(), "match": match}
        return match


class CaptionToImage(nn.Module):
    """The exportable text-to-image pipeline: caption ids (B, T) and noise (B, noise_dim) -> the last
    stage's image. It feeds the generator the conditioning-augmentation mean μ, not a sample around
    it, so the same ids and noise always give the same image (the noise input is the only randomness)."""

    def __init__(self, condition: TextCondition, generator: StackGenerator) -> None:
        super().__init__()
        self.condition, self.generator = condition, generator

    def forward(self, ids: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        mu = self.condition.encode(ids)["mu"]
        return final_image(self.generator({"code": mu}, z))
