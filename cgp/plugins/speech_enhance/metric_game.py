"""The metric discriminator of MetricGAN+ (Fu et al. 2021, after MetricGAN, Fu et al. 2019): a second
discriminator that learns to predict a speech-quality metric, and a generator pushed to the metric's
maximum through it.

PESQ and STOI are not differentiable; the discriminator learns them from examples. On each step it
sees the enhanced speech, the noisy input and the clean speech itself, each stacked with the clean
reference, and regresses the metric actually measured on that pair, scaled to [0, 1] (the clean
pair scores 1). The generator's term is ``(D_metric(enhanced, clean) - 1)^2``: enhance until the
learnt metric says perfect. Only ``objective.metric_items`` items of each batch are scored, as the
metric runs on the CPU one utterance at a time; the generator's term reads the whole batch.

:class:`MetricGame` wraps the task's conditional objective and adds these terms to both sides under
``metric/``; everything else (the patch discriminator, the regression terms) is that objective's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from cgp.core.interfaces import Discriminator, GanModels
from cgp.core.objective import Generated, Objective, Terms
from cgp.metrics import audio as measures
from cgp.plugins.speech_enhance.frontend import STFTFrontEnd

PESQ_FLOOR, PESQ_CEILING = 1.04, 4.64
"""Wide-band PESQ's MOS-LQO range; the discriminator's target is PESQ mapped linearly onto [0, 1]."""


def metric_scorer(metric: str, sample_rate: int) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """``score(estimate, reference)`` of one utterance on [0, 1] (NaN where the metric cannot score it).
    Stops with the install hint when the metric's optional package is missing."""
    if metric in ("pesq", "stoi") and not measures.available_speech_metrics()[metric]:
        raise measures.MissingExtraError(f"objective.metric={metric}", "pesq" if metric == "pesq" else "pystoi")
    if metric == "pesq":

        def score(estimate: torch.Tensor, reference: torch.Tensor) -> float:
            value = measures.pesq_wb(estimate, reference, sample_rate)
            if math.isnan(value):
                return value
            return min(max((value - PESQ_FLOOR) / (PESQ_CEILING - PESQ_FLOOR), 0.0), 1.0)

        return score
    if metric == "stoi":
        return lambda estimate, reference: measures.stoi(estimate, reference, sample_rate)
    raise ValueError(f"unknown metric {metric!r}: use 'pesq' or 'stoi'")


class MetricDiscriminator(Discriminator):
    """``forward(candidate, clean) -> (B,)`` predicted metric of the candidate against the clean speech.

    MetricGAN+'s network on the two compressed magnitudes stacked as channels: four 5x5 convolutions
    with spectral norm and LeakyReLU(0.3), a mean over frequency and time, and three spectrally
    normalised linear layers (``width`` -> 50 -> 10 -> 1). Unlike MetricGAN+'s, the convolutions stride
    by 2 (a 16x smaller map after four), which keeps the network's cost a small share of a CPU step.
    """

    def __init__(self, frontend: STFTFrontEnd, width: int = 15) -> None:
        super().__init__()
        self.frontend = frontend
        layers: list[nn.Module] = []
        channels = 2
        for _ in range(4):
            layers += [spectral_norm(nn.Conv2d(channels, width, 5, 2, padding=2)), nn.LeakyReLU(0.3)]
            channels = width
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(
            spectral_norm(nn.Linear(width, 50)),
            nn.LeakyReLU(0.3),
            spectral_norm(nn.Linear(50, 10)),
            nn.LeakyReLU(0.3),
            spectral_norm(nn.Linear(10, 1)),
        )

    def forward(self, x: torch.Tensor, cond: Any) -> torch.Tensor:
        pair = torch.cat([self.frontend.features(x), self.frontend.features(cond)], dim=1)
        return self.head(self.convs(pair).mean(dim=(2, 3))).squeeze(1)


class MetricGame(Objective):
    """The task's objective plus the metric discriminator's terms (``models.discriminators['metric']``)."""

    def __init__(
        self,
        inner: Objective,
        models: GanModels,
        score: Callable[[torch.Tensor, torch.Tensor], float],
        weight: float,
        items: int,
    ) -> None:
        super().__init__(models)
        self.inner, self.score, self.weight, self.items = inner, score, weight, items

    @property
    def critic(self) -> Discriminator:
        return self.models.discriminators["metric"]  # type: ignore[return-value]

    def generate(self, batch: dict[str, Any]) -> Generated:
        return self.inner.generate(batch)

    def _measured(self, candidates: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        quiet = logging.getLogger(measures.__name__)
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # silent crops are expected here, and skipped
        try:
            values = [self.score(c, r) for c, r in zip(candidates.float().cpu(), clean.float().cpu(), strict=True)]
        finally:
            quiet.setLevel(level)
        return torch.tensor(values, dtype=torch.float32, device=candidates.device)

    def _regression(self, candidates: torch.Tensor, clean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        keep = ~torch.isnan(target)
        if not bool(keep.any()):
            return candidates.new_zeros((), dtype=torch.float32)
        predicted = self.critic(candidates[keep], clean[keep]).float()
        return (predicted - target[keep]).square().mean()

    def discriminator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        terms = self.inner.discriminator_terms(batch, generated)
        n = self.items
        clean, noisy = batch["x"][:n], batch["cond"][:n]
        enhanced = generated.output("main").detach()[:n]
        ones = torch.ones(clean.shape[0], device=clean.device)
        terms["metric/d_clean"] = self._regression(clean, clean, ones)
        terms["metric/d_enhanced"] = self._regression(enhanced, clean, self._measured(enhanced, clean))
        terms["metric/d_noisy"] = self._regression(noisy, clean, self._measured(noisy, clean))
        return terms

    def generator_terms(self, batch: dict[str, Any], generated: Generated) -> Terms:
        terms = self.inner.generator_terms(batch, generated)
        predicted = self.critic(generated.output("main"), batch["x"]).float()
        terms["metric/g"] = self.weight * (predicted - 1.0).square().mean()
        return terms

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return self.inner.state_tensors()

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.inner.load_state_tensors(tensors)
