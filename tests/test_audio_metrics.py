"""Speech quality measures: hand-computed SI-SDR cases, reference numbers, spectral detail, optional extras."""

from __future__ import annotations

import math
import sys

import pytest
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from cgp.core.errors import CgpError
from cgp.metrics.audio import (
    MissingExtraError,
    available_speech_metrics,
    log_spectral_distance,
    pesq_wb,
    si_sdr,
    spectral_detail,
    stoi,
)

SR = 16_000


def _tones(n: int = SR) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic two-tone reference and the sample index, float64 (no random generator involved)."""
    k = torch.arange(n, dtype=torch.float64)
    t = k / SR
    return torch.sin(2 * math.pi * 440 * t) + 0.5 * torch.sin(2 * math.pi * 1234 * t + 0.3), k


def _speechlike(seconds: float = 1.5, seed: int = 0) -> torch.Tensor:
    """Harmonic 'vowels' at a gliding pitch, with syllable-rate amplitude and noise bursts: spectral fine structure."""
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * SR)
    t = torch.arange(n, dtype=torch.float64) / SR
    f0 = 120 + 40 * torch.sin(2 * math.pi * 1.3 * t)
    phase = 2 * math.pi * torch.cumsum(f0, 0) / SR
    voiced = sum(torch.sin(h * phase) / h for h in range(1, 30))
    envelope = 0.5 * (1 - torch.cos(2 * math.pi * 4 * t)).clamp_min(0)
    bursts = torch.randn(n, generator=g, dtype=torch.float64) * (torch.sin(2 * math.pi * 2 * t) > 0.8)
    return (0.3 * voiced * envelope + 0.05 * bursts).float()


def test_si_sdr_of_identical_signals_is_very_large() -> None:
    ref, _ = _tones()
    assert si_sdr(ref, ref).item() > 100


def test_si_sdr_soft_cap() -> None:
    ref = torch.randn(4000, generator=torch.Generator().manual_seed(3))
    assert si_sdr(ref, ref, max_db=30.0).item() == pytest.approx(30.0, abs=1e-4)
    est = ref + 0.3 * torch.randn(4000, generator=torch.Generator().manual_seed(4))
    free, capped = si_sdr(est, ref).item(), si_sdr(est, ref, max_db=30.0).item()
    # ratio R capped at C: 10 log10(1 / (1/R + 1/C)) in dB
    expected = -10 * math.log10(10 ** (-free / 10) + 10 ** (-30.0 / 10))
    assert capped == pytest.approx(expected, abs=1e-4)
    assert capped < free


def test_si_sdr_with_orthogonal_noise_of_known_power() -> None:
    # reference: a 440 Hz tone over whole periods; noise: a 1000 Hz tone, orthogonal to it and zero-mean
    t = torch.arange(SR, dtype=torch.float64) / SR
    ref = torch.sin(2 * math.pi * 440 * t)
    noise = 0.3 * torch.cos(2 * math.pi * 1000 * t)
    expected = 10 * math.log10(ref.pow(2).sum().item() / noise.pow(2).sum().item())  # = 10 log10(0.5 / 0.045)
    assert expected == pytest.approx(10 * math.log10(0.5 / 0.045), abs=1e-9)
    assert si_sdr(ref + noise, ref).item() == pytest.approx(expected, abs=1e-6)


def test_si_sdr_ignores_scale_and_dc_offset() -> None:
    ref, k = _tones()
    est = ref + 0.2 * torch.cos(0.0007 * k**2)
    base = si_sdr(est, ref).item()
    assert si_sdr(3.7 * est, ref).item() == pytest.approx(base, abs=1e-6)
    assert si_sdr(est, 0.01 * ref).item() == pytest.approx(base, abs=1e-6)
    assert si_sdr(est + 5.0, ref).item() == pytest.approx(base, abs=1e-6)  # zero-mean version
    assert si_sdr(est, ref - 2.0).item() == pytest.approx(base, abs=1e-6)


def test_si_sdr_matches_torchmetrics_reference_numbers() -> None:
    # Reference numbers from torchmetrics 1.9.0 (torch 2.14.1, float64 input):
    # torchmetrics.functional.audio.scale_invariant_signal_distortion_ratio(est, ref, zero_mean=True)
    # on exactly these signals, computed once in a scratch environment and copied here.
    ref, k = _tones()
    t = k / SR
    estimates = [
        0.8 * ref + 0.3 * torch.sin(2 * math.pi * 97 * t) + 0.1 * torch.cos(0.001 * k**2) + 0.2,
        -2.0 * ref + torch.cos(0.0003 * k**2),
        0.1 * ref + torch.sin(2 * math.pi * 3000 * t + 1.0),
    ]
    torchmetrics_values = [9.02372536916553, 6.984657892537266, -19.03089986991944]
    ours = si_sdr(torch.stack(estimates), ref.expand(3, -1))
    assert ours.shape == (3,)
    assert ours.tolist() == pytest.approx(torchmetrics_values, abs=1e-6)


def test_si_sdr_is_batched_and_keeps_float32() -> None:
    ref, k = _tones()
    est = torch.stack([ref + 0.1 * torch.cos(0.001 * k**2), ref + 0.5 * torch.cos(0.001 * k**2)]).float()
    out = si_sdr(est.reshape(2, 1, -1), ref.float().expand(2, 1, -1))
    assert out.shape == (2, 1) and out.dtype == torch.float32
    assert out[0, 0] > out[1, 0]
    with pytest.raises(ValueError, match="same shape"):
        si_sdr(est, ref[:100])


def test_spectral_detail_is_one_for_the_reference_and_level_free() -> None:
    clean = _speechlike()
    assert spectral_detail(clean, clean, SR).item() == pytest.approx(1.0)
    assert spectral_detail(0.1 * clean, clean, SR).item() == pytest.approx(1.0, abs=1e-6)


def test_spectral_detail_drops_for_a_blurred_spectrogram_and_a_low_passed_signal() -> None:
    clean = _speechlike()
    window = torch.hann_window(512)
    spec = torch.stft(clean, 512, 128, window=window, return_complex=True)
    blurred_mag = F.avg_pool2d(spec.abs()[None, None], 5, 1, 2, count_include_pad=False)[0, 0]
    blurred = torch.istft(blurred_mag * torch.sgn(spec), 512, 128, window=window, length=clean.numel())
    assert spectral_detail(blurred, clean, SR).item() < 0.8
    low_passed = F.avg_pool1d(clean[None, None], 9, 1, 4, count_include_pad=False)[0, 0]
    assert spectral_detail(low_passed, clean, SR).item() < 0.9
    # extra structure (white noise speckle) pushes it above 1
    noisy = clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    assert spectral_detail(noisy, clean, SR).item() > 1.0
    batch = spectral_detail(torch.stack([clean, blurred]), torch.stack([clean, clean]), SR)
    assert batch.shape == (2,) and batch[0] > batch[1]


def test_log_spectral_distance_of_known_gain() -> None:
    clean = _speechlike()
    assert log_spectral_distance(clean, clean).item() == pytest.approx(0.0, abs=1e-9)
    # a gain of 2 adds 20 log10(2) = 6.02 dB to every bin above the floor
    assert log_spectral_distance(2 * clean, clean, dynamic_range_db=300).item() == pytest.approx(
        20 * math.log10(2), abs=1e-3
    )


def test_missing_extras_give_one_line_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pesq", None)  # makes `import pesq` fail
    monkeypatch.setitem(sys.modules, "pystoi", None)
    x = _speechlike(0.5)
    with pytest.raises(MissingExtraError) as info:
        pesq_wb(x, x, SR)
    assert str(info.value) == "PESQ needs the optional package 'pesq': pip install 'cgp[speech-metrics]'"
    assert isinstance(info.value, CgpError)
    with pytest.raises(MissingExtraError, match="STOI needs the optional package 'pystoi'"):
        stoi(x, x, SR)
    found = available_speech_metrics()
    assert found["si_sdr"] and not found["pesq"] and not found["stoi"]


def test_pesq_wb_known_cases() -> None:
    pytest.importorskip("pesq")
    clean = _speechlike(2.0)
    # P.862.2's mapping tops out at 4.644 for a perfect copy
    assert pesq_wb(clean, clean, SR) == pytest.approx(4.644, abs=1e-3)
    noisy = clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    assert pesq_wb(noisy, clean, SR) < 3.0
    # given at 48 kHz, the pair is resampled to 16 kHz first: about the same score
    at_48k = pesq_wb(AF.resample(noisy, SR, 48_000), AF.resample(clean, SR, 48_000), 48_000)
    assert at_48k == pytest.approx(pesq_wb(noisy, clean, SR), abs=0.05)
    assert math.isnan(pesq_wb(torch.zeros(SR), torch.zeros(SR), SR))
    assert math.isnan(pesq_wb(clean[:2000], clean[:2000], SR))  # shorter than PESQ's quarter second


def test_stoi_known_cases() -> None:
    pytest.importorskip("pystoi")
    clean = _speechlike(2.0)
    assert stoi(clean, clean, SR) == pytest.approx(1.0, abs=1e-6)
    noisy = clean + 0.2 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(3))
    assert 0.0 < stoi(noisy, clean, SR) < 0.99
    assert math.isnan(stoi(clean[:2000], clean[:2000], SR))
