"""Objectives: which loss terms each side of the game minimises in one step.

:class:`Objective` is the interface the trainer drives; :class:`ConditionalObjective` is the
default, the conditional GAN algorithm of the source notes (Reed et al. 2016's matching-aware
discriminator). Per step, with a batch of real pairs (x, c):

* the discriminator is pushed to score (x, c) as real, (G(c, z), c) as fake, and (x, ĉ) — a real
  sample with a *mismatched* condition — as fake;
* the generator is pushed to make the discriminator score (G(c, z), c) as real, plus any
  generator-side terms (L1 to the target, feature matching, KL).

With ``heads: split`` the discriminator returns a ``realism`` head and a ``match`` head: real pairs
raise both; a generated pair lowers only ``realism``; a mismatched real pair lowers only ``match``;
the generator raises both for its samples.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch

from cgp.core.config import ObjectiveConfig
from cgp.core.errors import ConfigError
from cgp.core.interfaces import GanModels, Scores
from cgp.core.losses import AdversarialLoss, LossInputs, TermLoss

Terms = dict[str, torch.Tensor]
"""Weighted loss terms by name; a side's loss is their sum and each is logged under its name."""


def detach_tree(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, dict):
        return {k: detach_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(detach_tree(v) for v in value)
    return value


class Objective(ABC):
    """What the trainer asks of a task's game in each step.

    The trainer calls :meth:`generate` once per discriminator update (without gradient for all
    but the last of ``n_critic``), :meth:`discriminator_terms` with that output, then
    :meth:`generator_terms` with the last output. Objectives that keep state across steps (an image
    pool) expose it through :meth:`state_tensors` so that checkpoints hold it.
    """

    def __init__(self, models: GanModels) -> None:
        self.models = models

    @abstractmethod
    def generate(self, batch: dict[str, Any]) -> Any:
        """Run the generator side on the batch; the result carries gradient when grad is enabled."""

    @abstractmethod
    def discriminator_terms(self, batch: dict[str, Any], generated: Any) -> Terms:
        """Weighted terms of the discriminator's loss."""

    @abstractmethod
    def generator_terms(self, batch: dict[str, Any], generated: Any) -> Terms:
        """Weighted terms of the generator's loss (the discriminator's parameters are frozen)."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if tensors:
            raise ConfigError(f"{type(self).__name__} keeps no state but the checkpoint holds some")


@dataclass
class Generated:
    """One generator pass: the sample, the encoded condition and what D sees of it."""

    fake: torch.Tensor
    cond: Any
    d_cond: Any
    aux: dict[str, torch.Tensor] = field(default_factory=dict)


def build_term_losses(terms: dict[str, float], registry: Any) -> list[TermLoss]:
    return [registry.get(name)(weight) for name, weight in terms.items()]


class ConditionalObjective(Objective):
    """The conditional GAN objective with the three kinds of pairs; see the module docstring.

    Batches are dicts with ``x`` (real samples) and ``cond`` (raw conditions).
    """

    def __init__(
        self,
        models: GanModels,
        config: ObjectiveConfig,
        adversarial: AdversarialLoss,
        terms: list[TermLoss],
    ) -> None:
        super().__init__(models)
        self.config = config
        self.adversarial = adversarial
        self.d_losses = [t for t in terms if t.side == "discriminator"]
        self.g_losses = [t for t in terms if t.side == "generator"]
        uses_condition = models.discriminator.uses_condition
        if config.mismatch_negative and not uses_condition:
            raise ConfigError(
                "objective.mismatch_negative is on but the discriminator ignores the condition, so a "
                "mismatched pair is the same input as a real pair; set objective.mismatch_negative=false"
            )
        if config.heads == "split" and not uses_condition:
            raise ConfigError(
                "objective.heads=split needs a conditional discriminator (its match head reads the condition)"
            )

    # -- heads -----------------------------------------------------------------------------------

    def _head(self, scores: Scores, head: str) -> Scores:
        if isinstance(scores, dict):
            if head == "joint":
                if "match" in scores:
                    raise ConfigError(
                        "the discriminator returns separate realism and match heads but objective.heads is joint; "
                        "set objective.heads=split"
                    )
                head = "realism"
            if head not in scores:
                raise ConfigError(
                    f"objective.heads={self.config.heads} needs a '{head}' head but the discriminator returns "
                    f"{sorted(scores)}"
                )
            return scores[head]
        if head == "match":
            raise ConfigError(
                "objective.heads=split needs a discriminator with realism and match heads; this one returns "
                "one joint score (set objective.heads=joint or switch the discriminator to split heads)"
            )
        return scores

    # -- the step --------------------------------------------------------------------------------

    def generate(self, batch: dict[str, Any]) -> Generated:
        condition, generator = self.models.condition, self.models.generator
        cond = condition(batch["cond"])
        z = generator.sample_noise(batch["x"].shape[0], batch["x"].device)
        fake = generator(cond, z)
        return Generated(fake, cond, condition.for_discriminator(cond), condition.aux(cond))

    def discriminator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        d, adv, cfg = self.models.discriminator, self.adversarial, self.config
        real = batch["x"]
        fake = generated.fake.detach()
        cond = detach_tree(generated.d_cond)
        terms: Terms = {}
        real_scores = d(real, cond)
        fake_scores = d(fake, cond) if cfg.fake_negative else None
        if cfg.heads == "joint":
            terms["d_real"] = adv.real(self._head(real_scores, "joint"))
            if cfg.fake_negative:
                terms["d_fake"] = adv.fake(self._head(fake_scores, "joint"))
        else:
            terms["d_real_realism"] = adv.real(self._head(real_scores, "realism"))
            terms["d_real_match"] = adv.real(self._head(real_scores, "match"))
            if cfg.fake_negative:
                terms["d_fake_realism"] = adv.fake(self._head(fake_scores, "realism"))
        if cfg.mismatch_negative and cfg.mismatch_weight > 0:
            condition = self.models.condition
            wrong = detach_tree(condition.for_discriminator(condition(condition.mismatch(batch["cond"]))))
            wrong_scores = d(real, wrong)
            if cfg.heads == "joint":
                terms["d_mismatch"] = cfg.mismatch_weight * adv.fake(self._head(wrong_scores, "joint"))
            else:
                terms["d_mismatch_match"] = cfg.mismatch_weight * adv.fake(self._head(wrong_scores, "match"))
        inputs = LossInputs(real, fake, cond, d, detach_tree(generated.aux), real_scores, fake_scores)
        for loss in self.d_losses:
            terms[loss.name] = loss.weight * loss(inputs)
        return terms

    def generator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        d, cfg = self.models.discriminator, self.config
        terms: Terms = {}
        fake_scores = None
        if cfg.gan_weight > 0:
            fake_scores = d(generated.fake, generated.d_cond)
            if cfg.heads == "joint":
                terms["g_adv"] = cfg.gan_weight * self.adversarial.generator(self._head(fake_scores, "joint"))
            else:
                terms["g_adv_realism"] = cfg.gan_weight * self.adversarial.generator(self._head(fake_scores, "realism"))
                terms["g_adv_match"] = cfg.gan_weight * self.adversarial.generator(self._head(fake_scores, "match"))
        inputs = LossInputs(batch["x"], generated.fake, generated.d_cond, d, generated.aux, None, fake_scores)
        for loss in self.g_losses:
            terms[loss.name] = loss.weight * loss(inputs)
        if not terms:
            raise ConfigError("the generator has no loss: objective.gan_weight is 0 and objective.terms adds none")
        return terms
