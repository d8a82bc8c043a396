"""Class-conditional DCGAN: generator, projection or ACGAN discriminator.

* Generator: DCGAN (Radford et al. 2016) fed ``[z, embed(y)]`` (Mirza & Osindero 2014, "Conditional
  Generative Adversarial Nets").
* Projection discriminator (Miyato & Koyama 2018, "cGANs with Projection Discriminator"):
  ``D(x, y) = psi(phi(x)) + <embed(y), phi(x)>``. Its two addends are exactly the source notes'
  second design: a realism head ``psi(phi(x))`` and a condition-match head ``<embed(y), phi(x)>``;
  with ``heads: joint`` their sum is the one score.
* ACGAN discriminator (Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier
  GANs"): a realism head plus ``class_logits``; it does not read the condition.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from cgp.core.interfaces import Condition, Discriminator, Generator, Scores
from cgp.core.losses import LossInputs, TermLoss
from cgp.nn.dcgan import DCGANDecoder, DCGANEncoder, dcgan_init


class ClassLabel(Condition):
    """Class indices pass through; a mismatch is a uniformly drawn *different* class."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes

    def mismatch(self, raw: torch.Tensor) -> torch.Tensor:
        shift = torch.randint(1, self.num_classes, raw.shape, device=raw.device)
        return (raw + shift) % self.num_classes


class ConditionalDCGANGenerator(Generator):
    def __init__(self, num_classes: int, noise_dim: int, embed_dim: int, image_size: int, base_width: int) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.decoder = DCGANDecoder(noise_dim + embed_dim, image_size, 3, base_width)
        dcgan_init(self)

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if z is None:
            z = self.sample_noise(cond.shape[0], cond.device)
        return self.decoder(torch.cat([z, self.embed(cond)], dim=1))


class ClassConditionalDiscriminator(Discriminator):
    """DCGAN encoder with a projection head (``kind='projection'``) or an ACGAN head (``'acgan'``).

    ``heads='split'`` returns ``{'realism', 'match'}`` instead of their sum; ``conditional=False``
    drops the projection term (the unconditional ablation).
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int,
        base_width: int,
        kind: str = "projection",
        heads: str = "joint",
        conditional: bool = True,
        norm: str = "spectral",
    ) -> None:
        super().__init__()
        self.kind, self.heads = kind, heads
        self.uses_condition = conditional and kind == "projection"
        self.encoder = DCGANEncoder(image_size, 3, base_width, norm)
        width = self.encoder.out_width
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        self.realism = wrap(nn.Linear(width, 1))
        if kind == "projection":
            self.embed = wrap(nn.Embedding(num_classes, width))
        else:
            self.classifier = nn.Linear(width, num_classes)
        dcgan_init(self)

    def _pooled(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = self.encoder(x)
        return feats[-1].sum(dim=(2, 3)), feats

    def features(self, x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
        return self.encoder(x)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> Scores:
        h, _ = self._pooled(x)
        realism = self.realism(h).squeeze(1)
        if self.kind == "acgan":
            return {"realism": realism, "class_logits": self.classifier(h)}
        if not self.uses_condition:
            return realism
        match = (self.embed(cond) * h).sum(dim=1)
        if self.heads == "split":
            return {"realism": realism, "match": match}
        return realism + match


class AuxiliaryClassifierLoss(TermLoss):
    """ACGAN's class term for the discriminator: cross-entropy of ``class_logits`` on real samples.

    Odena et al. also train the classifier on generated samples; training it on real data only is
    the common, more stable choice (e.g. StudioGAN's ACGAN), and is what is done here.
    """

    name = "acgan_d"
    side = "discriminator"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        return F.cross_entropy(t.real_scores["class_logits"].float(), t.cond)


class AuxiliaryGeneratorLoss(TermLoss):
    """ACGAN's class term for the generator: its samples should be classified as their condition."""

    name = "acgan_g"
    side = "generator"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        scores = t.fake_scores if t.fake_scores is not None else t.discriminator(t.fake, t.cond)
        return F.cross_entropy(scores["class_logits"].float(), t.cond)
