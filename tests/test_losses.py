"""Adversarial losses and loss terms (cgp.core.losses) on hand-computable inputs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cgp.core.errors import ConfigError
from cgp.core.interfaces import Discriminator
from cgp.core.losses import (
    FeatureMatchingLoss,
    GradientDifferenceLoss,
    GradientPenalty,
    HingeLoss,
    KLLoss,
    L1Loss,
    L2Loss,
    LeastSquaresLoss,
    LossInputs,
    MeanFeatureMatchingLoss,
    ModeSeekingLoss,
    NonSaturatingLoss,
    R1Penalty,
    WassersteinLoss,
    score_maps,
)

LOG2 = math.log(2.0)


def close(value: torch.Tensor, expected: float, tol: float = 1e-6) -> bool:
    return abs(float(value.detach()) - expected) <= tol


class LinearD(Discriminator):
    """D(x) = <w, x.flatten()>; its input gradient is w for every sample."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor, cond: object) -> torch.Tensor:
        return x.flatten(1) @ self.w


class NoFeaturesD(Discriminator):
    def forward(self, x: torch.Tensor, cond: object) -> torch.Tensor:
        return x.flatten(1).sum(1)


def inputs(**kw: object) -> LossInputs:
    base = dict(real=None, fake=None, cond=None, discriminator=NoFeaturesD())
    base.update(kw)
    return LossInputs(**base)  # type: ignore[arg-type]


# -- adversarial losses ---------------------------------------------------------------------------


def test_bce_zero_logits_is_log2() -> None:
    loss, s = NonSaturatingLoss(), torch.zeros(4)
    assert close(loss.real(s), LOG2)
    assert close(loss.fake(s), LOG2)
    assert close(loss.generator(s), LOG2)


def test_bce_directions() -> None:
    loss = NonSaturatingLoss()
    big = torch.full((3,), 20.0)
    assert float(loss.real(big)) < 1e-6  # confident real -> no real loss
    assert close(loss.fake(big), 20.0, 1e-5)  # softplus(20) ~ 20
    assert close(loss.real(-big), 20.0, 1e-5)
    assert float(loss.generator(big)) < 1e-6
    assert close(loss.real(torch.tensor([1.0])), math.log1p(math.exp(-1.0)))


def test_lsgan_values() -> None:
    loss = LeastSquaresLoss()
    ones = torch.ones(5)
    assert close(loss.real(ones), 0.0)
    assert close(loss.fake(ones), 1.0)
    assert close(loss.fake(torch.zeros(5)), 0.0)
    assert close(loss.real(torch.zeros(5)), 1.0)
    assert close(loss.generator(torch.tensor([3.0])), 4.0)


def test_hinge_values() -> None:
    loss = HingeLoss()
    assert close(loss.real(torch.full((2,), 2.0)), 0.0)
    assert close(loss.real(torch.zeros(2)), 1.0)
    assert close(loss.fake(torch.full((2,), -2.0)), 0.0)
    assert close(loss.fake(torch.zeros(2)), 1.0)
    assert close(loss.fake(torch.tensor([0.5])), 1.5)
    assert close(loss.generator(torch.tensor([1.0, 3.0])), -2.0)


def test_wasserstein_signs() -> None:
    loss = WassersteinLoss()
    s = torch.tensor([1.0, 3.0])
    assert close(loss.real(s), -2.0)
    assert close(loss.fake(s), 2.0)
    assert close(loss.generator(s), -2.0)


def test_multiscale_list_is_averaged_over_scales() -> None:
    loss = LeastSquaresLoss()
    # scale 1: mean (s-1)^2 = 0; scale 2 (a 2x2 map): mean (3-1)^2 = 4 -> average of scale means 2
    scores = [torch.ones(2), torch.full((2, 1, 2, 2), 3.0)]
    assert close(loss.real(scores), 2.0)
    w = WassersteinLoss()
    assert close(w.fake([torch.tensor([1.0]), torch.tensor([2.0, 4.0])]), (1.0 + 3.0) / 2)


def test_score_maps_flattens_dicts_and_lists() -> None:
    a, b, c = torch.zeros(1), torch.ones(2), torch.full((3,), 2.0)
    maps = score_maps({"realism": a, "extra": [b, {"deep": c}]})
    assert len(maps) == 3
    assert maps[0] is a and maps[1] is b and maps[2] is c
    assert score_maps(a) == [a]
    # a dict output is averaged over all of its maps by the adversarial loss
    assert close(LeastSquaresLoss().fake({"realism": a, "match": b}), 0.5)


# -- reconstruction terms ---------------------------------------------------------------------------


def test_l1_l2_values() -> None:
    real = torch.zeros(2, 3)
    fake = torch.tensor([[1.0, -1.0, 2.0], [0.0, 0.0, -2.0]])
    t = inputs(real=real, fake=fake)
    assert close(L1Loss()(t), 6.0 / 6)
    assert close(L2Loss()(t), 10.0 / 6)
    assert L1Loss(100).weight == 100.0


def test_gradient_difference_loss_sees_edges_not_offsets() -> None:
    step = torch.zeros(1, 1, 4, 4)
    step[..., 2:] = 1.0  # a vertical edge: gradient 1 between columns 1 and 2
    t = inputs(real=step, fake=step + 0.5)  # the same edges, shifted in value: no gradient difference
    assert close(GradientDifferenceLoss()(t), 0.0)
    flat = torch.full_like(step, 0.5)  # the blurry average: the edge is gone
    assert close(GradientDifferenceLoss()(inputs(real=step, fake=flat)), 4 / 12)  # 4 of 12 column pairs
    assert close(GradientDifferenceLoss(alpha=2.0)(inputs(real=2 * step, fake=flat)), 4 * 4 / 12)
    assert close(GradientDifferenceLoss()(inputs(real=flat, fake=step)), 4 / 12)  # an invented edge costs too
    video = step.expand(2, 3, 3, 4, 4)  # (B, T, C, H, W): only the last two dimensions are spatial
    assert close(GradientDifferenceLoss()(inputs(real=video, fake=video.roll(1, dims=1))), 0.0)
    with pytest.raises(ConfigError, match="alpha"):
        GradientDifferenceLoss(alpha=0)


def test_l1_needs_real_and_fake() -> None:
    with pytest.raises(ConfigError, match="real"):
        L1Loss()(inputs(fake=torch.zeros(1)))


# -- mode seeking -----------------------------------------------------------------------------------


def test_mode_seeking_is_noise_distance_over_sample_distance_per_condition() -> None:
    z = torch.tensor([[0.0, 0.0], [2.0, 2.0], [0.0, 0.0], [1.0, 1.0]])
    fake = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [5.0, 5.0, 5.0], [5.0, 5.0, 5.0]])
    cond = torch.tensor([3, 3, 1, 1])
    # class 3: samples 1 apart for noise 2 apart (ratio 0.5); class 1: one image for two noises (ratio 0)
    value = ModeSeekingLoss()(inputs(fake=fake, z=z, cond=cond))
    assert close(value, (1 / (0.5 + 1e-5) + 1 / 1e-5) / 2, tol=1e-2)
    assert close(ModeSeekingLoss()(inputs(fake=fake[:2], z=z[:2], cond=cond[:2])), 1 / (0.5 + 1e-5), tol=1e-4)
    # a condition seen once has no pair: no term
    assert close(ModeSeekingLoss()(inputs(fake=fake[1:3], z=z[1:3], cond=cond[1:3])), 0.0)
    # rows of a vector condition are compared whole
    vectors = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert close(ModeSeekingLoss()(inputs(fake=fake, z=z, cond=vectors)), 1 / (0.5 + 1e-5), tol=1e-4)


def test_mode_seeking_pushes_a_collapsed_pair_apart() -> None:
    fake = torch.tensor([[0.5, 0.5], [0.5, 0.6]], requires_grad=True)
    z = torch.tensor([[1.0], [-1.0]])
    loss = ModeSeekingLoss()(inputs(fake=fake, z=z, cond=torch.tensor([0, 0])))
    loss.backward()
    assert fake.grad[0, 1] > 0 and fake.grad[1, 1] < 0  # descending moves them further apart


def test_mode_seeking_needs_noise() -> None:
    with pytest.raises(ConfigError, match="mode_seeking.*noise z.*remove it from objective.terms"):
        ModeSeekingLoss()(inputs(fake=torch.zeros(2, 3), cond=torch.tensor([0, 0])))


# -- KL ---------------------------------------------------------------------------------------------


def test_kl_zero_for_standard_normal() -> None:
    t = inputs(aux={"mu": torch.zeros(3, 4), "logvar": torch.zeros(3, 4)})
    assert close(KLLoss()(t), 0.0)


def test_kl_matches_hand_computation() -> None:
    mu = torch.tensor([[1.0, 0.0], [0.5, -2.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [-1.0, 0.3]])
    expected_rows = []
    for i in range(2):
        total = 0.0
        for j in range(2):
            m, lv = float(mu[i, j]), float(logvar[i, j])
            total += 0.5 * (math.exp(lv) + m * m - 1.0 - lv)
        expected_rows.append(total)
    expected = sum(expected_rows) / 2
    assert close(KLLoss()(inputs(aux={"mu": mu, "logvar": logvar})), expected, 1e-5)
    assert expected > 0


def test_kl_without_aux_raises() -> None:
    with pytest.raises(ConfigError, match="kl"):
        KLLoss()(inputs())
    with pytest.raises(ConfigError):
        KLLoss()(inputs(aux={"mu": torch.zeros(1, 1)}))


# -- gradient penalties ------------------------------------------------------------------------------


def test_r1_on_linear_discriminator() -> None:
    w = torch.tensor([1.0, 2.0, -2.0, 0.5])
    d = LinearD(w)
    real = torch.randn(5, 2, 2)  # flattens to 4 features
    value = R1Penalty()(inputs(real=real, discriminator=d))
    assert close(value, 0.5 * float(w.pow(2).sum()), 1e-5)


def test_r1_is_differentiable_wrt_discriminator() -> None:
    d = LinearD(torch.tensor([3.0, 4.0]))
    value = R1Penalty()(inputs(real=torch.randn(2, 2), discriminator=d))
    (grad,) = torch.autograd.grad(value, d.w)
    assert torch.allclose(grad, d.w.detach())  # d/dw 0.5 ||w||^2 = w


def test_gradient_penalty_zero_for_unit_norm_linear_d() -> None:
    w = torch.tensor([0.6, 0.8, 0.0])
    d = LinearD(w)
    value = GradientPenalty()(inputs(real=torch.randn(4, 3), fake=torch.randn(4, 3), discriminator=d))
    assert close(value, 0.0, 1e-6)


def test_gradient_penalty_for_other_norms() -> None:
    w = torch.tensor([3.0, 4.0, 0.0])  # norm 5
    d = LinearD(w)
    value = GradientPenalty()(inputs(real=torch.randn(4, 3), fake=torch.randn(4, 3), discriminator=d))
    assert close(value, (5.0 - 1.0) ** 2, 1e-4)


# -- feature matching ---------------------------------------------------------------------------------


def test_feature_matching_without_features_raises() -> None:
    t = inputs(real=torch.zeros(2, 3), fake=torch.ones(2, 3), discriminator=NoFeaturesD())
    with pytest.raises(ConfigError, match="feature_matching"):
        FeatureMatchingLoss()(t)


def test_feature_matching_with_features() -> None:
    class FeatD(NoFeaturesD):
        def features(self, x: torch.Tensor, cond: object) -> list[torch.Tensor]:
            return [x, 2 * x]

    real, fake = torch.zeros(2, 3), torch.ones(2, 3, requires_grad=True)
    value = FeatureMatchingLoss()(inputs(real=real, fake=fake, discriminator=FeatD()))
    assert close(value, (1.0 + 2.0) / 2)
    (grad,) = torch.autograd.grad(value, fake)
    assert float(grad.abs().sum()) > 0


class _TwoMapsD(NoFeaturesD):
    def features(self, x: torch.Tensor, cond: object) -> list[torch.Tensor]:
        return [x, 2 * x[:, :1]]


def test_mean_feature_matching_compares_class_means_not_samples() -> None:
    cond = torch.tensor([0, 0, 1])
    real = torch.tensor([[0.0, 2.0], [2.0, 0.0], [1.0, 1.0]])
    # class 0's generated samples differ from each real one but have their mean: only class 1 counts
    fake = torch.tensor([[1.0, 1.0], [1.0, 1.0], [3.0, 1.0]], requires_grad=True)
    value = MeanFeatureMatchingLoss()(inputs(real=real, fake=fake, cond=cond, discriminator=_TwoMapsD()))
    # map 1: class 1's mean differs by (2, 0) -> (4 + 0) / 2 features / 2 classes = 1; map 2: (2*2)^2 / 2 = 8
    assert close(value, (1.0 + 8.0) / 2)
    (grad,) = torch.autograd.grad(value, fake)
    assert torch.equal(grad[:2], torch.zeros(2, 2)) and grad[2, 0] > 0  # descending moves class 1 to its mean
    # the paired feature matching would see class 0's samples as wrong
    assert float(FeatureMatchingLoss()(inputs(real=real[:2], fake=fake[:2], discriminator=_TwoMapsD()))) > 0


def test_mean_feature_matching_needs_tensor_conditions_and_features() -> None:
    t = inputs(real=torch.zeros(2, 3), fake=torch.ones(2, 3), cond=["a", "b"], discriminator=_TwoMapsD())
    with pytest.raises(ConfigError, match="mean_feature_matching.*tensor condition"):
        MeanFeatureMatchingLoss()(t)
    with pytest.raises(ConfigError, match="real"):
        MeanFeatureMatchingLoss()(inputs(fake=torch.ones(2, 3), cond=torch.tensor([0, 1])))
