"""Loss terms: named, weighted, registered by name so a config can pick them.

Two families:

* :class:`AdversarialLoss` scores discriminator outputs as real or fake, and gives the generator's
  loss. Built in: non-saturating BCE (Goodfellow et al. 2014), least squares (Mao et al. 2017),
  hinge (Lim & Ye 2017; Miyato et al. 2018), Wasserstein (Arjovsky et al. 2017).
* :class:`TermLoss` is any other term computed from a step's tensors (:class:`LossInputs`) on one
  side of the game: gradient penalty (Gulrajani et al. 2017), R1 (Mescheder et al. 2018), L1, L2,
  feature matching (Salimans et al. 2016; Wang et al. 2018), and the KL term of conditioning
  augmentation (Zhang et al. 2017, StackGAN).

Plugins register more through the ``cgp_register_losses`` hook.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from cgp.core.errors import ConfigError
from cgp.core.interfaces import Discriminator, Scores

Side = Literal["generator", "discriminator"]


def score_maps(scores: Scores) -> list[torch.Tensor]:
    """The score tensors of a discriminator output, for losses that do not care about heads."""
    if isinstance(scores, torch.Tensor):
        return [scores]
    if isinstance(scores, dict):
        return [t for v in scores.values() for t in score_maps(v)]
    return [t for v in scores for t in score_maps(v)]


class Loss(ABC):
    """A named loss; ``objective.adversarial`` and ``objective.terms`` refer to losses by name."""

    name: ClassVar[str]


class AdversarialLoss(Loss):
    """How a score is pushed towards "real" or "fake". Multi-scale lists are averaged over scales."""

    def real(self, scores: Scores) -> torch.Tensor:
        """Discriminator loss for scores that should say *real*."""
        return _mean_over_scales(scores, self._real)

    def fake(self, scores: Scores) -> torch.Tensor:
        """Discriminator loss for scores that should say *fake*."""
        return _mean_over_scales(scores, self._fake)

    def generator(self, scores: Scores) -> torch.Tensor:
        """Generator loss for scores of its samples."""
        return _mean_over_scales(scores, self._generator)

    @abstractmethod
    def _real(self, s: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def _fake(self, s: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def _generator(self, s: torch.Tensor) -> torch.Tensor: ...


def _mean_over_scales(scores: Scores, fn: Any) -> torch.Tensor:
    maps = score_maps(scores)
    return sum(fn(s.float()) for s in maps) / len(maps)


class NonSaturatingLoss(AdversarialLoss):
    """BCE on logits; the generator maximises log D(G(z)) (the "non-saturating" trick)."""

    name = "bce"

    def _real(self, s: torch.Tensor) -> torch.Tensor:
        return F.softplus(-s).mean()

    def _fake(self, s: torch.Tensor) -> torch.Tensor:
        return F.softplus(s).mean()

    def _generator(self, s: torch.Tensor) -> torch.Tensor:
        return F.softplus(-s).mean()


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN with targets 1 (real) and 0 (fake), as the pix2pix/CycleGAN reference uses."""

    name = "lsgan"

    def _real(self, s: torch.Tensor) -> torch.Tensor:
        return (s - 1).pow(2).mean()

    def _fake(self, s: torch.Tensor) -> torch.Tensor:
        return s.pow(2).mean()

    def _generator(self, s: torch.Tensor) -> torch.Tensor:
        return (s - 1).pow(2).mean()


class HingeLoss(AdversarialLoss):
    name = "hinge"

    def _real(self, s: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - s).mean()

    def _fake(self, s: torch.Tensor) -> torch.Tensor:
        return F.relu(1 + s).mean()

    def _generator(self, s: torch.Tensor) -> torch.Tensor:
        return -s.mean()


class WassersteinLoss(AdversarialLoss):
    """The critic's loss; pair it with ``gradient_penalty`` (WGAN-GP) and ``trainer.n_critic`` 5."""

    name = "wasserstein"

    def _real(self, s: torch.Tensor) -> torch.Tensor:
        return -s.mean()

    def _fake(self, s: torch.Tensor) -> torch.Tensor:
        return s.mean()

    def _generator(self, s: torch.Tensor) -> torch.Tensor:
        return -s.mean()


@dataclass
class LossInputs:
    """The tensors of one step that a :class:`TermLoss` may read.

    ``fake`` carries gradient to the generator on the generator side and is detached on the
    discriminator side. ``cond`` is what the discriminator sees of the condition. ``z`` is the noise
    the generator drew for the batch (None for a generator without noise, and on the discriminator side).
    """

    real: torch.Tensor | None
    fake: torch.Tensor | None
    cond: Any
    discriminator: Discriminator | None  # None for an output no discriminator judges
    aux: dict[str, torch.Tensor] = field(default_factory=dict)
    real_scores: Scores | None = None
    fake_scores: Scores | None = None
    z: torch.Tensor | None = None


class TermLoss(Loss):
    """A weighted term added to one side's loss. ``weight`` comes from ``objective.terms``."""

    side: ClassVar[Side]
    scope: ClassVar[Literal["pair", "sample", "step"]] = "pair"
    """``pair``: computed for each (output, discriminator) pair of the objective, with its tensors and
    its log prefix (terms that read the discriminator); ``sample``: once per generator output and real
    sample, however many discriminators judge that output (reconstruction terms: a video's clip and
    frame discriminators must not count its L1 twice); ``step``: once per step (terms that read only
    the condition, like KL)."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = float(weight)

    @abstractmethod
    def __call__(self, t: LossInputs) -> torch.Tensor:
        """The unweighted term."""


def require_inputs(t: LossInputs, name: str, *fields: str) -> None:
    """Stop with a config error naming the term when the objective gives it no ``fields`` (a term that
    needs a target, say, used by a task whose objective has none)."""
    for f in fields:
        if getattr(t, f) is None:
            raise ConfigError(f"loss term '{name}' needs '{f}' but this task's objective provides none")


class L1Loss(TermLoss):
    """Mean absolute error of the sample to its target (pix2pix's λ·L1)."""

    name = "l1"
    side = "generator"
    scope = "sample"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        return F.l1_loss(t.fake.float(), t.real.float())


class L2Loss(TermLoss):
    name = "l2"
    side = "generator"
    scope = "sample"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        return F.mse_loss(t.fake.float(), t.real.float())


class GradientDifferenceLoss(TermLoss):
    """Mathieu et al. 2016 ("Deep multi-scale video prediction beyond mean square error", eq. 5):
    ``| |∇y| - |∇ŷ| |^α`` summed over the two directions, with ∇ the difference of neighbouring
    values along each of the last two dimensions (height and width of an image, a frame, a
    spectrogram), averaged over positions. It penalises edges the target has and the sample lacks
    (and the reverse), which an ℓp loss blurs away. ``alpha`` is the paper's α (1 or 2)."""

    name = "gdl"
    side = "generator"
    scope = "sample"

    def __init__(self, weight: float = 1.0, alpha: float = 1.0) -> None:
        super().__init__(weight)
        if alpha <= 0:
            raise ConfigError(f"the gradient difference loss needs alpha > 0, got {alpha}")
        self.alpha = float(alpha)

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        fake, real = t.fake.float(), t.real.float()
        if fake.dim() < 2:
            raise ConfigError(
                f"loss term 'gdl' needs samples with two spatial dimensions, got shape {tuple(fake.shape)}"
            )
        total = fake.new_zeros(())
        for dim in (-2, -1):
            edge_real, edge_fake = real.diff(dim=dim).abs(), fake.diff(dim=dim).abs()
            total = total + (edge_real - edge_fake).abs().pow(self.alpha).mean()
        return total


class FeatureMatchingLoss(TermLoss):
    """L1 between discriminator features of real and generated samples (pix2pixHD's variant)."""

    name = "feature_matching"
    side = "generator"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        with torch.no_grad():
            real_feats = t.discriminator.features(t.real, t.cond)
        fake_feats = t.discriminator.features(t.fake, t.cond)
        return sum(F.l1_loss(f.float(), r.float()) for f, r in zip(fake_feats, real_feats)) / len(fake_feats)


def condition_groups(cond: Any, term: str) -> torch.Tensor:
    """(B,) index of each sample's condition among the batch's distinct conditions (equal tensors, one group)."""
    if not isinstance(cond, torch.Tensor):
        raise ConfigError(f"loss term '{term}' needs a tensor condition to find samples of the same one")
    return torch.unique(cond.reshape(len(cond), -1), dim=0, return_inverse=True)[1]


class MeanFeatureMatchingLoss(TermLoss):
    """Feature matching as Salimans et al. 2016 ("Improved Techniques for Training GANs", section 3.1) define
    it: the generator matches the *mean* of the discriminator's features over real samples, not each real
    sample's features. Taken per condition: for each condition of the batch, the squared difference between
    the mean features of its generated samples and of its real samples, averaged over the features, over the
    conditions and over the discriminator's feature maps. Real and generated samples share the batch's
    conditions. Statistics a class has as a whole (a shape's size, its colours) are pulled towards the real
    ones even where the adversarial score is indifferent to them. With a distinct condition per sample (a
    paired task) each group is one sample, and the term is the paired squared distance of the features."""

    name = "mean_feature_matching"
    side = "generator"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        group = condition_groups(t.cond, self.name)
        groups = int(group.max()) + 1
        counts = torch.bincount(group, minlength=groups).to(torch.float32)[:, None]
        with torch.no_grad():
            real_feats = t.discriminator.features(t.real, t.cond)
        fake_feats = t.discriminator.features(t.fake, t.cond)
        total = t.fake.new_zeros((), dtype=torch.float32)
        with torch.autocast(t.fake.device.type, enabled=False):  # the means in float32, also under autocast
            for f, r in zip(fake_feats, real_feats, strict=True):
                difference = (f.float() - r.float()).flatten(1)
                per_group = torch.zeros(groups, difference.shape[1], device=difference.device)
                per_group = per_group.index_add_(0, group, difference) / counts
                total = total + per_group.pow(2).mean()
        return total / len(fake_feats)


class ModeSeekingLoss(TermLoss):
    """Mode seeking (Mao et al. 2019, "Mode Seeking Generative Adversarial Networks for Diverse Image
    Synthesis", MSGAN): two samples drawn for the same condition from different noise should differ in
    proportion to their noise. For each condition the batch holds more than once, the ratio of the
    mean L1 distance between its samples to the mean L1 distance between their noise vectors; the term
    is ``1 / (ratio + eps)`` averaged over those conditions, so one collapsed class (every z drawing
    the same image) weighs as much as it would alone, however many others are varied. MSGAN compares
    two batches of the same conditions; pairs inside one batch cost no extra generator pass. Zero
    when no condition repeats in the batch."""

    name = "mode_seeking"
    side = "generator"
    scope = "sample"
    eps = 1e-5

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "fake")
        if t.z is None:
            raise ConfigError(
                "loss term 'mode_seeking' needs the generator's noise z and this task's generator draws none: "
                "remove it from objective.terms"
            )
        fake, z = t.fake.float().flatten(1), t.z.float().flatten(1)
        group = condition_groups(t.cond, self.name)
        i, j = torch.triu_indices(len(group), len(group), 1, device=fake.device)
        same = group[i] == group[j]
        if not bool(same.any()):
            return fake.new_zeros(())
        i, j, pair_group = i[same], j[same], group[i[same]]
        # each pair's difference as a product with a (pairs, batch) matrix of +1 at i and -1 at j: its
        # backward is one matrix product, where indexing's backward scatters row by row
        pick = torch.zeros(len(i), len(group), device=fake.device)
        rows = torch.arange(len(i), device=fake.device)
        pick[rows, i], pick[rows, j] = 1.0, -1.0
        with torch.autocast(fake.device.type, enabled=False):  # distances in float32, also under autocast
            image_distance = (pick @ fake).abs().mean(1)
            noise_distance = (pick @ z).abs().mean(1)
        groups = int(group.max()) + 1
        per_image = torch.zeros(groups, device=fake.device).index_add_(0, pair_group, image_distance)
        per_noise = torch.zeros(groups, device=fake.device).index_add_(0, pair_group, noise_distance)
        present = torch.bincount(pair_group, minlength=groups) > 0
        ratio = per_image[present] / per_noise[present]  # the counts cancel
        return (1.0 / (ratio + self.eps)).mean()


class KLLoss(TermLoss):
    """KL(N(mu, sigma) || N(0, I)) of conditioning augmentation; reads ``aux['mu']``, ``aux['logvar']``."""

    name = "kl"
    side = "generator"
    scope = "step"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        if "mu" not in t.aux or "logvar" not in t.aux:
            raise ConfigError(
                "loss term 'kl' needs a condition with conditioning augmentation (aux 'mu' and 'logvar'); "
                "remove 'kl' from objective.terms"
            )
        mu, logvar = t.aux["mu"].float(), t.aux["logvar"].float()
        return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean()


ADVERSARIAL_HEADS = ("joint", "realism", "match")


def _score_sum(scores: Scores) -> torch.Tensor:
    """The summed adversarial scores; auxiliary heads such as ACGAN's class logits are left out."""
    if isinstance(scores, dict):
        scores = [scores[k] for k in ADVERSARIAL_HEADS if k in scores]
    return sum(s.float().sum() for s in score_maps(scores))


class GradientPenalty(TermLoss):
    """WGAN-GP: (||∇D(x̂)|| - 1)² at random interpolates x̂ of real and generated samples."""

    name = "gradient_penalty"
    side = "discriminator"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        real, fake = t.real.detach(), t.fake.detach()
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(_score_sum(t.discriminator(mixed, t.cond)), mixed, create_graph=True)
        return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


class R1Penalty(TermLoss):
    """R1: ½·E||∇D(x)||² on real data; the weight plays the role of γ."""

    name = "r1"
    side = "discriminator"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real")
        real = t.real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(_score_sum(t.discriminator(real, t.cond)), real, create_graph=True)
        return 0.5 * grad.flatten(1).pow(2).sum(dim=1).mean()


BUILTIN_ADVERSARIAL_LOSSES: tuple[type[AdversarialLoss], ...] = (
    NonSaturatingLoss,
    LeastSquaresLoss,
    HingeLoss,
    WassersteinLoss,
)
BUILTIN_TERM_LOSSES: tuple[type[TermLoss], ...] = (
    L1Loss,
    L2Loss,
    GradientDifferenceLoss,
    FeatureMatchingLoss,
    MeanFeatureMatchingLoss,
    ModeSeekingLoss,
    KLLoss,
    GradientPenalty,
    R1Penalty,
)
