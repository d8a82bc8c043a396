"""text2image's additions to the core conditional objective.

* GAN-INT (Reed et al. 2016, §4.3): the generator also draws images for codes halfway between two
  captions and is pushed to make every discriminator score them as real matching pairs. There is no
  real image for such a code, so only the generator sees them (term ``{pair}/g_int``).
* MA-GP (Tao et al. 2022, "DF-GAN: A Simple and Effective Baseline for Text-to-Image Synthesis"):
  k·E[‖(∇ₓD(x, s), ∇ₛD(x, s))‖^p] on real matching pairs, with respect to the image and the
  sentence code together; DF-GAN uses k = 2 (the term's weight) and p = 6, with the hinge loss.
* DAMSM at sentence level (Xu et al. 2018, "AttnGAN", §3.4): the generator also minimises the
  contrastive image–caption loss of the matcher that pretrained the text encoder, with that matcher
  frozen, so every generated image must pick its own caption out of the batch (term ``{pair}/damsm``).
  AttnGAN adds it with weight λ = 5 to its GAN losses; it is the generator's direct signal that its
  image says what the caption says, where the adversarial terms say so only through D's match score.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from cgp.core.errors import ConfigError
from cgp.core.losses import LossInputs, TermLoss, score_maps
from cgp.core.objective import ConditionalObjective, Generated, Terms
from cgp.plugins.text2image.matching import contrastive_loss
from cgp.plugins.text2image.models import CaptionScorer


class MatchingAwareGradientPenalty(TermLoss):
    name = "ma_gp"
    side = "discriminator"
    power: ClassVar[float] = 6.0

    def __call__(self, t: LossInputs) -> torch.Tensor:
        if t.real is None or not isinstance(t.cond, torch.Tensor) or not t.cond.is_floating_point():
            raise ConfigError(
                "loss term 'ma_gp' needs real samples and a float condition code (what text2image's D reads)"
            )
        image = t.real.detach().requires_grad_(True)
        code = t.cond.detach().requires_grad_(True)
        scores = t.discriminator(image, code)
        total = sum(s.float().sum() for s in score_maps(scores))
        grad_x, grad_s = torch.autograd.grad(total, (image, code), create_graph=True)
        norm = torch.cat([grad_x.flatten(1), grad_s.flatten(1)], dim=1).norm(2, dim=1)
        return norm.pow(self.power).mean()


class SentenceMatchLoss(TermLoss):
    name = "damsm"
    side = "generator"

    def __init__(self, weight: float = 1.0, scorer: CaptionScorer | None = None) -> None:
        super().__init__(weight)
        self.scorer = scorer

    def __call__(self, t: LossInputs) -> torch.Tensor:
        if self.scorer is None or "sentence" not in t.aux or t.fake is None:
            raise ConfigError(
                "loss term 'damsm' needs the pretrained image-text matcher: set model.text.training=pretrain "
                "or remove 'damsm' from objective.terms"
            )
        logits = self.scorer.logits(t.fake.float(), t.aux["sentence"].float())
        return contrastive_loss(logits, t.aux["ids"])


class TextToImageObjective(ConditionalObjective):
    """The core objective for each stage's pair, plus GAN-INT when ``objective.interpolation_weight`` > 0."""

    def generator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        terms = super().generator_terms(batch, generated)
        weight = getattr(self.config, "interpolation_weight", 0.0)
        if weight > 0 and self.config.gan_weight > 0:
            condition, generator = self.models.condition, self.models.generator
            mixed = condition.interpolate(generated.cond)  # type: ignore[operator]
            z = generator.sample_noise(batch["x"].shape[0], batch["x"].device)
            seen = condition.for_discriminator(mixed).detach()  # as in the core's terms: D's view is fixed
            between = Generated(generator(mixed, z), mixed, seen)
            for pair in self.pairs:
                result = self.games[pair].generator(self.discriminator_of(pair), between.output(pair.output), seen)
                terms[f"{pair.prefix}g_int"] = weight * sum(result.terms.values())
        return terms
