"""text2image's additions to the core conditional objective.

* GAN-INT (Reed et al. 2016, §4.3): the generator also draws images for codes halfway between two
  captions and is pushed to make every discriminator score them as real matching pairs. There is no
  real image for such a code, so only the generator sees them (term ``{pair}/g_int``).
* MA-GP (Tao et al. 2022, "DF-GAN: A Simple and Effective Baseline for Text-to-Image Synthesis"):
  k·E[‖(∇ₓD(x, s), ∇ₛD(x, s))‖^p] on real matching pairs, with respect to the image and the
  sentence code together; DF-GAN uses k = 2 (the term's weight) and p = 6, with the hinge loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from cgp.core.config import ObjectiveConfig
from cgp.core.errors import ConfigError
from cgp.core.interfaces import GanModels
from cgp.core.losses import AdversarialLoss, LossInputs, TermLoss, score_maps
from cgp.core.objective import AdversarialPair, ConditionalObjective, Generated, Terms


class MatchingAwareGradientPenalty(TermLoss):
    name = "ma_gp"
    side = "discriminator"
    power: ClassVar[float] = 6.0

    def __call__(self, t: LossInputs) -> torch.Tensor:
        if t.real is None or not isinstance(t.cond, torch.Tensor) or not t.cond.is_floating_point():
            raise ConfigError("loss term 'ma_gp' needs real samples and a float condition code (text2image's μ)")
        image = t.real.detach().requires_grad_(True)
        code = t.cond.detach().requires_grad_(True)
        scores = t.discriminator(image, code)
        total = sum(s.float().sum() for s in score_maps(scores))
        grad_x, grad_s = torch.autograd.grad(total, (image, code), create_graph=True)
        norm = torch.cat([grad_x.flatten(1), grad_s.flatten(1)], dim=1).norm(2, dim=1)
        return norm.pow(self.power).mean()


class TextToImageObjective(ConditionalObjective):
    """The core objective for each stage's pair, plus GAN-INT when ``interpolation_weight`` > 0."""

    def __init__(
        self,
        models: GanModels,
        config: ObjectiveConfig,
        adversarial: AdversarialLoss,
        terms: list[TermLoss],
        pairs: Sequence[AdversarialPair],
        interpolation_weight: float = 0.0,
    ) -> None:
        super().__init__(models, config, adversarial, terms, pairs)
        self.interpolation_weight = interpolation_weight

    def generator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        terms = super().generator_terms(batch, generated)
        if self.interpolation_weight > 0 and self.config.gan_weight > 0:
            condition, generator = self.models.condition, self.models.generator
            mixed = condition.interpolate(generated.cond)  # type: ignore[operator]
            z = generator.sample_noise(batch["x"].shape[0], batch["x"].device)
            between = Generated(generator(mixed, z), mixed, mixed["mu"])
            seen = mixed["mu"].detach()  # as in the core's generator terms: D's view of the text is fixed
            for pair in self.pairs:
                result = self.games[pair].generator(self.discriminator_of(pair), between.output(pair.output), seen)
                terms[f"{pair.prefix}g_int"] = self.interpolation_weight * sum(result.terms.values())
        return terms
