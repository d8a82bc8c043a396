"""Class-conditional DCGAN: generator, projection or ACGAN discriminator.

* Generator: DCGAN (Radford et al. 2016) fed ``[z, embed(y)]`` (Mirza & Osindero 2014, "Conditional
  Generative Adversarial Nets"), or with the class embedding predicting the scale and shift of every
  batch norm (conditional batch norm, as BigGAN's generator blocks: Brock et al. 2019), or both.
  The architecture switches of SAGAN / BigGAN are options: spectral norm in G, a self-attention
  block, orthogonal initialisation, and the truncation trick at sampling time.
* Projection discriminator (Miyato & Koyama 2018, "cGANs with Projection Discriminator"):
  ``D(x, y) = psi(phi(x)) + <embed(y), phi(x)>``. Its two addends are exactly the source notes'
  second design: a realism head ``psi(phi(x))`` and a condition-match head ``<embed(y), phi(x)>``;
  with ``heads: joint`` their sum is the one score.
* ACGAN discriminator (Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier
  GANs"): a realism head plus ``class_logits``; it does not read the condition.
* Both at once (``auxiliary=True`` on the projection discriminator): the projection score plus ACGAN's
  classifier head on the same features, so the generator is also pushed towards samples a classifier
  assigns to their label (the combination of e.g. Kang et al. 2021, "Rebooting ACGAN", which adds a
  classifier to a projection-style discriminator).
* Minibatch standard deviation (``minibatch_std``, Karras et al. 2018): the realism head also reads the
  spread of the pooled features over a group of 4 samples (``group``) or over the batch's samples of the
  same class (``class``), so that a class drawn the same for every z is told apart by that alone.
* Several scales (:class:`MultiScaleDiscriminator`): copies of the discriminator, each reading the image
  at half the previous one's resolution (pix2pixHD's multi-scale discriminator: Wang et al. 2018).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from cgp.core.interfaces import Condition, Discriminator, Generator, Scores
from cgp.core.losses import LossInputs, TermLoss
from cgp.nn.dcgan import DCGANDecoder, DCGANEncoder, dcgan_init
from cgp.nn.diff_augment import diff_augment
from cgp.nn.minibatch_std import minibatch_std, minibatch_std_by_label


class ClassLabel(Condition):
    """Class indices pass through; a mismatch is a uniformly drawn *different* class."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes

    def mismatch(self, raw: torch.Tensor) -> torch.Tensor:
        shift = torch.randint(1, self.num_classes, raw.shape, device=raw.device)
        return (raw + shift) % self.num_classes


class ConditionalDCGANGenerator(Generator):
    """``conditioning`` is ``concat`` (the label embedding joins z at the input), ``cbn`` (it drives
    every batch norm instead) or ``both``. ``truncation`` > 0 draws z from a normal truncated to
    [-t, t] when the generator is in eval mode (BigGAN's truncation trick: fidelity for variety);
    training always draws the full normal."""

    def __init__(
        self,
        num_classes: int,
        noise_dim: int,
        embed_dim: int,
        image_size: int,
        base_width: int,
        conditioning: str = "concat",
        attention_at: int | None = None,
        spectral: bool = False,
        init: str = "normal",
        truncation: float | None = None,
    ) -> None:
        super().__init__()
        if conditioning not in ("concat", "cbn", "both"):
            raise ValueError(f"unknown conditioning {conditioning!r}; choose concat, cbn or both")
        self.noise_dim, self.conditioning, self.truncation = noise_dim, conditioning, truncation
        self.embed = nn.Embedding(num_classes, embed_dim)
        in_dim = noise_dim + (embed_dim if conditioning != "cbn" else 0)
        cond_dim = embed_dim if conditioning != "concat" else 0
        self.decoder = DCGANDecoder(in_dim, image_size, 3, base_width, cond_dim, attention_at, spectral)
        dcgan_init(self, init)

    def sample_noise(self, batch_size: int, device: torch.device | str) -> torch.Tensor:
        z = torch.randn(batch_size, self.noise_dim, device=device)
        if self.truncation and not self.training:
            outside = z.abs() > self.truncation
            while outside.any():  # resample the values beyond the threshold (BigGAN's procedure)
                z[outside] = torch.randn(int(outside.sum()), device=device)
                outside = z.abs() > self.truncation
        return z

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if z is None:
            z = self.sample_noise(cond.shape[0], cond.device)
        e = self.embed(cond)
        h = z if self.conditioning == "cbn" else torch.cat([z, e], dim=1)
        return self.decoder(h, e if self.conditioning != "concat" else None)


class ClassConditionalDiscriminator(Discriminator):
    """DCGAN encoder with a projection head (``kind='projection'``) or an ACGAN head (``'acgan'``).

    ``heads='split'`` returns ``{'realism', 'match'}`` instead of their sum; ``conditional=False``
    drops the projection term (the unconditional ablation). ``auxiliary=True`` adds ACGAN's
    ``class_logits`` to the projection discriminator's output (the joint score then under ``realism``).
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
        attention_at: int | None = None,
        init: str = "normal",
        auxiliary: bool = False,
        stride1: bool = False,
        minibatch_std: str = "none",
        instance_noise: float = 0.0,
        augment: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.kind, self.heads, self.minibatch_std, self.num_classes = kind, heads, minibatch_std, num_classes
        self.instance_noise = instance_noise
        self.noise_std = instance_noise  # the current step's, annealed by set_progress
        self.augment = tuple(augment)
        self.auxiliary = auxiliary and kind == "projection"
        self.uses_condition = conditional and kind == "projection"
        self.encoder = DCGANEncoder(image_size, 3, base_width, norm, attention_at, stride1)
        width = self.encoder.out_width
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        self.realism = wrap(nn.Linear(width + (minibatch_std != "none"), 1))
        if kind == "projection":
            self.embed = wrap(nn.Embedding(num_classes, width))
        if kind == "acgan" or self.auxiliary:
            self.classifier = nn.Linear(width, num_classes)
        dcgan_init(self, init)

    def set_progress(self, step: int, steps: int) -> None:
        """Instance noise falls linearly from ``instance_noise`` at the first step to zero at the last."""
        self.noise_std = self.instance_noise * max(0.0, 1.0 - step / max(1, steps))

    def _as_read(self, x: torch.Tensor) -> torch.Tensor:
        """What D reads of ``x`` in training: ``x`` through the differentiable augmentations (DiffAugment,
        :mod:`cgp.nn.diff_augment`), plus Gaussian noise of the current standard deviation (instance
        noise: Sønderby et al. 2016, Arjovsky & Bottou 2017), so that real and generated images overlap
        and D cannot separate them by detail alone. Outside training, ``x`` itself."""
        if not self.training:
            return x
        if self.augment:
            x = diff_augment(x, self.augment)
        if self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        return x

    def _pooled(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = self.encoder(self._as_read(x))
        return feats[-1].sum(dim=(2, 3)), feats

    def _with_spread(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The pooled features, with the batch's spread appended when ``minibatch_std`` is on."""
        if self.minibatch_std == "group":
            return torch.cat([h, minibatch_std(h)], 1)
        if self.minibatch_std == "class":
            return torch.cat([h, minibatch_std_by_label(h, cond, self.num_classes)], 1)
        return h

    def features(self, x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
        return self.encoder(self._as_read(x))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> Scores:
        h, _ = self._pooled(x)
        realism = self.realism(self._with_spread(h, cond)).squeeze(1)
        if self.kind == "acgan":
            return {"realism": realism, "class_logits": self.classifier(h)}
        scores: dict[str, torch.Tensor] = {"realism": realism}
        if self.uses_condition:
            match = (self.embed(cond) * h).sum(dim=1)
            if self.heads == "split":
                scores["match"] = match
            else:
                scores["realism"] = realism + match
        if self.auxiliary:
            scores["class_logits"] = self.classifier(h)
        return scores if len(scores) > 1 else scores["realism"]


def check_scales(scales: int, image_size: int) -> None:
    """Each scale halves the image; the coarsest must keep the 8 pixels a discriminator reads."""
    if scales < 1 or image_size >> (scales - 1) < 8:
        raise ValueError(
            f"halves {image_size}-px images below 8 px; use at most {max(1, (image_size // 8).bit_length())}"
        )


class MultiScaleDiscriminator(Discriminator):
    """``scales`` discriminators, the k-th reading the image average-pooled k times by 2 (Wang et al. 2018,
    pix2pixHD): the full-resolution one judges edges and corners, the coarser ones the whole shape with
    the same depth of layers. ``build(image_size)`` makes one scale's discriminator.

    Scores are one list per head, finest scale first (the core's adversarial losses average over the
    list); ACGAN's class logits, where present, are averaged over the scales into one prediction.
    """

    def __init__(self, build: Callable[[int], ClassConditionalDiscriminator], image_size: int, scales: int) -> None:
        super().__init__()
        check_scales(scales, image_size)
        self.scales = nn.ModuleList(build(image_size >> k) for k in range(scales))
        self.uses_condition = self.scales[0].uses_condition

    def set_progress(self, step: int, steps: int) -> None:
        for d in self.scales:
            d.set_progress(step, steps)

    def _pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        images = [x]
        for _ in range(len(self.scales) - 1):
            images.append(F.avg_pool2d(images[-1], 2))
        return images

    def features(self, x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
        return [f for d, xs in zip(self.scales, self._pyramid(x), strict=True) for f in d.features(xs, cond)]

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> Scores:
        outs = [d(xs, cond) for d, xs in zip(self.scales, self._pyramid(x), strict=True)]
        if not isinstance(outs[0], dict):
            return outs
        merged: dict[str, Any] = {head: [o[head] for o in outs] for head in outs[0] if head != "class_logits"}
        if "class_logits" in outs[0]:
            merged["class_logits"] = torch.stack([o["class_logits"] for o in outs]).mean(0)
        return merged


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
