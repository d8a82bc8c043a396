"""speech_enhance's metric discriminator (MetricGAN+): the measured targets, what each side trains,
that the discriminator can learn a metric, the missing-extra error, and a bit-identical resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from test_speech_enhance import TINY

from cgp.core.config import resolve_config
from cgp.core.plugins import load_plugins
from cgp.datasets.procedural_speech import ProceduralSpeech
from cgp.metrics import audio as measures
from cgp.metrics.audio import MissingExtraError
from cgp.plugins.speech_enhance.frontend import STFTFrontEnd
from cgp.plugins.speech_enhance.metric_game import MetricDiscriminator, MetricGame, metric_scorer
from cgp.plugins.speech_enhance.task import SpeechEnhanceConfig, SpeechEnhanceTask
from test_resume import assert_resume_is_bit_identical


def _task(*overrides: str) -> SpeechEnhanceTask:
    config = resolve_config(SpeechEnhanceConfig, "speech_enhance", None, ["model.generator_width=8", *overrides])
    return SpeechEnhanceTask(config, load_plugins())


def _batch(task: SpeechEnhanceTask, n: int, seconds: float = 0.8) -> dict:
    data = ProceduralSpeech("train", n, seconds=seconds, snr_range=(0.0, 5.0))
    return task.collate([data[i] for i in range(n)])


def test_pesq_scorer_maps_clean_to_one_noise_lower_and_silence_to_nan() -> None:
    item = ProceduralSpeech("test", 1, seconds=1.0, snr_range=(0.0, 0.0))[0]
    score = metric_scorer("pesq", 16000)
    assert score(item["x"], item["x"]) == pytest.approx(1.0, abs=0.01)
    noisy = score(item["cond"], item["x"])
    assert 0.0 <= noisy < 0.6
    assert math.isnan(score(torch.zeros_like(item["x"]), item["x"]))


def test_the_metric_option_adds_a_discriminator_and_its_terms_to_both_sides() -> None:
    task = _task("objective.metric=stoi", "objective.metric_items=2", "objective.metric_weight=3")
    models = task.build_models()
    assert set(models.discriminators) == {"main", "metric"}
    objective = task.build_objective(models)
    assert isinstance(objective, MetricGame)
    calls: list[tuple[int, ...]] = []

    def fake_score(estimate: torch.Tensor, reference: torch.Tensor) -> float:
        calls.append(tuple(estimate.shape))
        return 0.5

    objective.score = fake_score
    batch = _batch(task, 3)
    generated = objective.generate(batch)
    d_terms = objective.discriminator_terms(batch, generated)
    assert set(d_terms) == {"d_real", "d_fake", "metric/d_clean", "metric/d_enhanced", "metric/d_noisy"}
    assert len(calls) == 4  # metric_items enhanced and metric_items noisy, one utterance each
    assert all(len(shape) == 1 for shape in calls)
    sum(d_terms.values()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in models.discriminators["metric"].parameters())

    models.zero_grad()
    models.discriminators["metric"].eval()  # spectral norm's power iteration holds still
    g_terms = objective.generator_terms(batch, generated)
    assert set(g_terms) == {"g_adv", "spectral_l1", "si_sdr", "metric/g"}
    predicted = models.discriminators["metric"](generated.fake.detach(), batch["x"])
    assert g_terms["metric/g"].item() == pytest.approx(3 * (predicted - 1).square().mean().item(), rel=1e-4)
    g_terms["metric/g"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in models.generator.parameters())


def test_metric_discriminator_learns_a_metric_of_the_pair() -> None:
    """Regressing a known function of (candidate, clean) — here the share of the clean signal kept —
    its error falls well below that of predicting the mean."""
    torch.manual_seed(0)
    frontend = STFTFrontEnd()
    critic = MetricDiscriminator(frontend)
    clean = torch.stack([ProceduralSpeech("train", 8, seconds=0.5)[i]["x"] for i in range(8)])
    share = torch.linspace(0.0, 1.0, 8)
    noise = torch.randn_like(clean) * clean.std(dim=1, keepdim=True)
    candidates = share[:, None] * clean + (1 - share[:, None]) * noise
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    baseline = (share - share.mean()).square().mean().item()
    for _ in range(150):
        opt.zero_grad()
        loss = (critic(candidates, clean) - share).square().mean()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * baseline


def test_a_missing_metric_package_is_one_line_naming_the_setting(monkeypatch) -> None:
    monkeypatch.setattr(measures, "available_speech_metrics", lambda: {"pesq": False, "stoi": True})
    task = _task("objective.metric=pesq")
    with pytest.raises(MissingExtraError, match=r"objective\.metric=pesq.*'pesq'"):
        task.build_objective(task.build_models())


def test_trains_with_the_metric_discriminator_and_resumes_bit_identically(tmp_path: Path) -> None:
    common = []
    for item in [*TINY, "trainer.steps=4", "objective.metric=pesq", "objective.metric_items=2"]:
        common += ["--set", item]
    straight = assert_resume_is_bit_identical("speech_enhance", common, tmp_path, steps=4, stop=2)
    assert "metric/d_enhanced" in (straight / "metrics.jsonl").read_text()
