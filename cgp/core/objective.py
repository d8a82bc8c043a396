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

The three-pair algorithm for one discriminator is :class:`MatchingAwareTerms`. A task with several
discriminators (StackGAN's stages, a video task's frame and clip discriminators) lists
:class:`AdversarialPair` entries — which generator output, which discriminator, which real sample —
and :class:`ConditionalObjective` gives each pair the full algorithm, its terms logged under the
pair's prefix (``s1/d_real``, ``s2/d_mismatch``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from cgp.core.config import ObjectiveConfig
from cgp.core.errors import ConfigError
from cgp.core.interfaces import Discriminator, GanModels, Scores
from cgp.core.losses import AdversarialLoss, LossInputs, TermLoss

log = logging.getLogger("cgp.objective")

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
    """One generator pass: the sample (or named samples), the encoded condition and what D sees of it."""

    fake: torch.Tensor | dict[str, torch.Tensor]
    cond: Any
    d_cond: Any
    aux: dict[str, torch.Tensor] = field(default_factory=dict)
    z: torch.Tensor | None = None

    def output(self, name: str) -> torch.Tensor:
        """The generator output ``name``; a generator that returns one tensor has the one output ``main``."""
        if isinstance(self.fake, torch.Tensor):
            if name != "main":
                raise ConfigError(f"the generator returns one tensor, so it has no output '{name}' (only 'main')")
            return self.fake
        if name not in self.fake:
            raise ConfigError(f"the generator has no output '{name}'; it returns {sorted(self.fake)}")
        return self.fake[name]


def build_term_losses(terms: dict[str, float], registry: Any) -> list[TermLoss]:
    return [registry.get(name)(weight) for name, weight in terms.items()]


@dataclass(frozen=True)
class AdversarialPair:
    """One game of the conditional objective: generator output ``output`` against the real sample
    ``batch[real]``, judged by ``models.discriminators[discriminator]``. Its terms are logged as
    ``{name}/term``; the one pair of a single-discriminator task has no name and no prefix.

    ``discriminator=None`` is an output no discriminator judges (a regression-only model, the
    no-GAN row of an ablation): it gets its ``sample`` and ``step`` scope terms (L1, L2, GDL, KL)
    and nothing adversarial, and no discriminator runs for it."""

    name: str = ""
    output: str = "main"
    discriminator: str | None = "main"
    real: str = "x"

    @property
    def prefix(self) -> str:
        return f"{self.name}/" if self.name else ""


def select_head(scores: Scores, head: str, heads: str) -> Scores:
    """The ``head`` (joint, realism or match) of a discriminator's output under ``objective.heads``."""
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
                f"objective.heads={heads} needs a '{head}' head but the discriminator returns {sorted(scores)}"
            )
        return scores[head]
    if head == "match":
        raise ConfigError(
            "objective.heads=split needs a discriminator with realism and match heads; this one returns "
            "one joint score (set objective.heads=joint or switch the discriminator to split heads)"
        )
    return scores


@dataclass
class SideResult:
    """A side's weighted adversarial terms for one discriminator, and the scores they came from
    (term losses such as ACGAN's class terms read the scores again)."""

    terms: Terms
    real_scores: Scores | None = None
    fake_scores: Scores | None = None


class MatchingAwareTerms:
    """The source notes' algorithm for one discriminator (Reed et al. 2016, "Generative Adversarial
    Text to Image Synthesis", Algorithm 1 with the matching-aware negative).

    Joint heads: D's terms are ``d_real`` (x, c), ``d_fake`` (G(c, z), c) and ``d_mismatch`` (x, ĉ);
    G's is ``g_adv``. Split heads: ``d_real_realism`` and ``d_real_match`` (both raised),
    ``d_fake_realism`` (only realism lowered), ``d_mismatch_match`` (only match lowered), and G's
    ``g_adv_realism`` and ``g_adv_match``. Every name carries ``prefix``.
    """

    def __init__(self, adversarial: AdversarialLoss, config: ObjectiveConfig, prefix: str = "") -> None:
        self.adversarial = adversarial
        self.config = config
        self.prefix = prefix

    def _head(self, scores: Scores, head: str) -> Scores:
        return select_head(scores, head, self.config.heads)

    def discriminator(
        self, d: Discriminator, real: torch.Tensor, fake: torch.Tensor, cond: Any, wrong_cond: Any | None
    ) -> SideResult:
        """D's terms; ``fake`` and the conditions must already be detached from the generator side.
        ``wrong_cond`` is None when the mismatched negative is off."""
        adv, cfg, p = self.adversarial, self.config, self.prefix
        terms: Terms = {}
        real_scores = d(real, cond)
        fake_scores = d(fake, cond) if cfg.fake_negative else None
        if cfg.heads == "joint":
            terms[f"{p}d_real"] = adv.real(self._head(real_scores, "joint"))
            if fake_scores is not None:
                terms[f"{p}d_fake"] = adv.fake(self._head(fake_scores, "joint"))
        else:
            terms[f"{p}d_real_realism"] = adv.real(self._head(real_scores, "realism"))
            terms[f"{p}d_real_match"] = adv.real(self._head(real_scores, "match"))
            if fake_scores is not None:
                terms[f"{p}d_fake_realism"] = adv.fake(self._head(fake_scores, "realism"))
        if wrong_cond is not None:
            wrong_scores = d(real, wrong_cond)
            if cfg.heads == "joint":
                terms[f"{p}d_mismatch"] = cfg.mismatch_weight * adv.fake(self._head(wrong_scores, "joint"))
            else:
                terms[f"{p}d_mismatch_match"] = cfg.mismatch_weight * adv.fake(self._head(wrong_scores, "match"))
        return SideResult(terms, real_scores, fake_scores)

    def generator(self, d: Discriminator, fake: torch.Tensor, cond: Any) -> SideResult:
        """G's adversarial terms (none when ``objective.gan_weight`` is 0, and then no D pass)."""
        cfg, p = self.config, self.prefix
        if cfg.gan_weight <= 0:
            return SideResult({})
        scores = d(fake, cond)
        gen = self.adversarial.generator
        if cfg.heads == "joint":
            terms = {f"{p}g_adv": cfg.gan_weight * gen(self._head(scores, "joint"))}
        else:
            terms = {
                f"{p}g_adv_realism": cfg.gan_weight * gen(self._head(scores, "realism")),
                f"{p}g_adv_match": cfg.gan_weight * gen(self._head(scores, "match")),
            }
        return SideResult(terms, fake_scores=scores)


class ConditionalObjective(Objective):
    """The conditional GAN objective with the three kinds of pairs, for each of ``pairs``; see the
    module docstring.

    Batches are dicts with the real samples under each pair's ``real`` key (``x`` by default) and
    ``cond`` (raw conditions). Term losses of scope ``pair`` (penalties, feature matching) run once per
    pair with that pair's tensors and prefix; those of scope ``sample`` (L1, L2, GDL) once per distinct
    (output, real) of the pairs, with the prefix of the pair when only one pair judges that output and
    none otherwise; those of scope ``step`` (the KL term) once per step.
    """

    def __init__(
        self,
        models: GanModels,
        config: ObjectiveConfig,
        adversarial: AdversarialLoss,
        terms: list[TermLoss],
        pairs: Sequence[AdversarialPair] = (AdversarialPair(),),
    ) -> None:
        super().__init__(models)
        self.config = config
        self.adversarial = adversarial
        self.d_losses = [t for t in terms if t.side == "discriminator"]
        self.g_losses = [t for t in terms if t.side == "generator"]
        if not pairs:
            raise ConfigError("the conditional objective needs at least one (output, discriminator) pair")
        prefixes = [pair.prefix for pair in pairs]
        if len(pairs) > 1 and ("" in prefixes or len(set(prefixes)) != len(prefixes)):
            raise ConfigError(f"several adversarial pairs need distinct non-empty names, got {prefixes}")
        self.pairs = tuple(pairs)
        # the pair whose tensors each sample-scope term reads: the first of those sharing (output, real)
        judged: dict[tuple[str, str], list[AdversarialPair]] = {}
        for pair in self.pairs:
            judged.setdefault((pair.output, pair.real), []).append(pair)
        self.sample_prefix = {
            group[0]: (group[0].prefix if len(group) == 1 else "") for group in judged.values()
        }  # pairs absent here share an output with an earlier pair
        self.games = {pair: MatchingAwareTerms(adversarial, config, pair.prefix) for pair in self.pairs}
        self._said_unjudged = False
        for pair in self.pairs:
            if pair.discriminator is None:
                needs_d = [t.name for t in terms if t.scope == "pair"]
                if needs_d:
                    raise ConfigError(
                        f"objective.terms {needs_d} need a discriminator but output '{pair.output}' has none; "
                        "remove them or add a discriminator"
                    )
                continue
            if pair.discriminator not in models.discriminators:
                raise ConfigError(
                    f"adversarial pair '{pair.name or 'main'}' names discriminator '{pair.discriminator}' but the "
                    f"models have {sorted(models.discriminators)}"
                )
            self._check_discriminator(models.discriminators[pair.discriminator])  # type: ignore[arg-type]

    def _check_discriminator(self, d: Discriminator) -> None:
        config = self.config
        if config.mismatch_negative and not d.uses_condition:
            raise ConfigError(
                "objective.mismatch_negative is on but the discriminator ignores the condition, so a "
                "mismatched pair is the same input as a real pair; set objective.mismatch_negative=false"
            )
        if config.heads == "split" and not d.uses_condition:
            raise ConfigError(
                "objective.heads=split needs a conditional discriminator (its match head reads the condition)"
            )

    @property
    def discriminators_judge(self) -> bool:
        """False when nothing the generator minimises reads a discriminator (``objective.gan_weight`` 0 and
        no discriminator-side or pair term): then none runs or trains, which would be wasted work. Read
        on every step, as a task may add terms after building the objective."""
        return self.config.gan_weight > 0 or bool(self.d_losses) or any(t.scope == "pair" for t in self.g_losses)

    def discriminator_of(self, pair: AdversarialPair) -> Discriminator | None:
        if pair.discriminator is None:
            return None
        if not self.discriminators_judge:
            if not self._said_unjudged:
                log.info("objective.gan_weight=0 and no term reads a discriminator: no discriminator runs or trains")
                self._said_unjudged = True
            return None
        return self.models.discriminators[pair.discriminator]  # type: ignore[return-value]

    # -- the step --------------------------------------------------------------------------------

    def generate(self, batch: dict[str, Any]) -> Generated:
        condition, generator = self.models.condition, self.models.generator
        cond = condition(batch["cond"])
        z = generator.sample_noise(batch["x"].shape[0], batch["x"].device)
        if generator.reads_target and generator.training:
            fake = generator(cond, z, target=batch["x"])  # teacher forcing / scheduled sampling
        else:
            fake = generator(cond, z)
        return Generated(fake, cond, condition.for_discriminator(cond), condition.aux(cond), z)

    def mismatched_condition(self, batch: dict[str, Any]) -> Any | None:
        """What D sees of a mismatched condition for the batch (one draw shared by every pair), or
        None when the mismatched negative is off."""
        cfg = self.config
        if not (cfg.mismatch_negative and cfg.mismatch_weight > 0):
            return None
        condition = self.models.condition
        return detach_tree(condition.for_discriminator(condition(condition.mismatch(batch["cond"]))))

    def discriminator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        cond = detach_tree(generated.d_cond)
        aux = detach_tree(generated.aux)
        wrong = self.mismatched_condition(batch)
        terms: Terms = {}
        step_inputs: LossInputs | None = None
        for pair in self.pairs:
            d = self.discriminator_of(pair)
            if d is None:
                continue  # nothing of D's to train for an output no discriminator judges
            real, fake = batch[pair.real], generated.output(pair.output).detach()
            result = self.games[pair].discriminator(d, real, fake, cond, wrong)
            terms.update(result.terms)
            inputs = LossInputs(real, fake, cond, d, aux, result.real_scores, result.fake_scores)
            self._add_term_losses(terms, self.d_losses, "pair", pair.prefix, inputs)
            if pair in self.sample_prefix:
                self._add_term_losses(terms, self.d_losses, "sample", self.sample_prefix[pair], inputs)
            step_inputs = step_inputs or inputs  # step-scope terms read the first pair's tensors
        self._add_term_losses(terms, self.d_losses, "step", "", step_inputs)
        return terms

    def generator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        # What D sees of the condition is detached here too (as StackGAN's code does): a condition
        # with trainable parts (a text encoder's mean) must not learn to please D's match head; it
        # learns through what the generator draws, and D sees it as a fixed input in both steps.
        cond = detach_tree(generated.d_cond)
        terms: Terms = {}
        step_inputs: LossInputs | None = None
        for pair in self.pairs:
            d = self.discriminator_of(pair)
            fake = generated.output(pair.output)
            result = self.games[pair].generator(d, fake, cond) if d is not None else SideResult({})
            terms.update(result.terms)
            inputs = LossInputs(batch[pair.real], fake, cond, d, generated.aux, None, result.fake_scores, generated.z)
            self._add_term_losses(terms, self.g_losses, "pair", pair.prefix, inputs)
            if pair in self.sample_prefix:
                self._add_term_losses(terms, self.g_losses, "sample", self.sample_prefix[pair], inputs)
            step_inputs = step_inputs or inputs  # step-scope terms read the first pair's tensors
        self._add_term_losses(terms, self.g_losses, "step", "", step_inputs)
        if not terms:
            raise ConfigError("the generator has no loss: objective.gan_weight is 0 and objective.terms adds none")
        return terms

    @staticmethod
    def _add_term_losses(
        terms: Terms, losses: list[TermLoss], scope: str, prefix: str, inputs: LossInputs | None
    ) -> None:
        for loss in losses:
            if loss.scope == scope and inputs is not None:
                terms[f"{prefix}{loss.name}"] = loss.weight * loss(inputs)
