"""Speech quality measures: SI-SDR, PESQ, STOI, log-spectral distance and spectral detail.

Every function compares an ``estimate`` (an enhanced or generated waveform) with its clean
``reference``; waveforms are float tensors with time on the last dimension.

* SI-SDR (Le Roux, Wisdom, Erdogan and Hershey 2019, "SDR – half-baked or well done?", ICASSP):
  both signals are made zero-mean, the reference is scaled by the projection coefficient
  ``alpha = <estimate, reference> / ||reference||^2``, and SI-SDR is
  ``10 log10(||alpha reference||^2 / ||estimate - alpha reference||^2)`` in dB. Batched over any
  leading dimensions; ``eps`` enters numerator and denominator as in torchmetrics'
  ``scale_invariant_signal_distortion_ratio``, so identical signals give a large finite value.
* PESQ wide band (ITU-T P.862.2) through the optional package ``pesq`` (github.com/ludlows/PESQ),
  and STOI (Taal, Hendriks, Heusdens and Jensen 2011, "An Algorithm for Intelligibility Prediction
  of Time-Frequency Weighted Noisy Speech") or extended STOI (Jensen and Taal 2016) through the
  optional package ``pystoi``; install both with ``pip install 'cgp[speech-metrics]'``. Both work
  on one utterance at a time. Where the package cannot score an utterance (PESQ finds no
  utterance in silence or gets less than a quarter second; STOI has fewer than 30 speech frames)
  the function returns NaN and logs a warning naming the reason, instead of raising: one silent
  clip must not end an evaluation over a whole test set, and a NaN is visible in any mean that
  does not skip it on purpose (``math.isnan`` / ``numpy.nanmean``).
* Log-spectral distance (Gray and Markel 1976, "Distance measures for speech processing"): the
  root-mean-square difference of the two log power spectra over frequency, in dB, averaged
  over frames.
* Spectral detail: how much fine time-frequency structure the estimate's spectrogram has,
  relative to the reference's. An estimator trained with L1/L2 only predicts the conditional
  mean of the clean spectrogram, which smears harmonics and the speckle of fricatives; this
  ratio is then below 1 (see :func:`spectral_detail` for the definition).
"""

from __future__ import annotations

import importlib
import logging
import math
import warnings
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

from cgp.core.errors import CgpError

log = logging.getLogger(__name__)

PESQ_SAMPLE_RATE = 16_000
"""P.862.2 (wide band) is defined at 16 kHz; other rates are resampled to it."""

_INSTALL_HINT = "pip install 'cgp[speech-metrics]'"


class MissingExtraError(CgpError):
    """An optional package that a feature needs is not installed."""

    def __init__(self, feature: str, package: str) -> None:
        super().__init__(f"{feature} needs the optional package '{package}': {_INSTALL_HINT}")
        self.feature = feature
        self.package = package


def _optional(package: str, feature: str) -> ModuleType:
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise MissingExtraError(feature, package) from exc


def available_speech_metrics() -> dict[str, bool]:
    """Which speech measures can run here: the built-in ones always, PESQ and STOI when their package imports."""
    found = {"si_sdr": True, "log_spectral_distance": True, "spectral_detail": True}
    for metric, package in (("pesq", "pesq"), ("stoi", "pystoi")):
        try:
            importlib.import_module(package)
        except ImportError:
            found[metric] = False
        else:
            found[metric] = True
    return found


def _check_pair(estimate: torch.Tensor, reference: torch.Tensor, name: str) -> None:
    if estimate.shape != reference.shape:
        raise ValueError(
            f"{name} needs estimate and reference of the same shape, got {tuple(estimate.shape)} "
            f"and {tuple(reference.shape)}"
        )
    if estimate.ndim == 0 or estimate.shape[-1] == 0:
        raise ValueError(f"{name} needs waveforms with time on the last dimension, got shape {tuple(estimate.shape)}")


def _result_dtype(x: torch.Tensor) -> torch.dtype:
    return x.dtype if x.is_floating_point() else torch.float32


def si_sdr(
    estimate: torch.Tensor, reference: torch.Tensor, eps: float = 1e-8, max_db: float | None = None
) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio in dB over the last dimension (zero-mean version).

    Shapes ``(..., T)``; returns shape ``(...)`` in the estimate's floating dtype (float32 for integer
    input). Computed in float64: the projection and the residual are differences of nearly equal sums.

    ``max_db`` caps the ratio softly, as the thresholded SNR loss of Wisdom et al. 2020 ("Unsupervised
    sound separation using mixture invariant training") does: the residual's energy gets
    ``10^(-max_db/10)`` of the target's added, so an exact estimate scores ``max_db`` and one far below
    it is nearly unchanged (0.4 dB less at ``max_db - 10``). As a loss it stops rewarding an estimate
    that is already good, which an unbounded ratio rewards without limit.
    """
    _check_pair(estimate, reference, "si_sdr")
    out_dtype = _result_dtype(estimate)
    est = estimate.double()
    ref = reference.double()
    est = est - est.mean(dim=-1, keepdim=True)
    ref = ref - ref.mean(dim=-1, keepdim=True)
    alpha = ((est * ref).sum(-1, keepdim=True) + eps) / (ref.pow(2).sum(-1, keepdim=True) + eps)
    target = alpha * ref
    residual = est - target
    target_energy = target.pow(2).sum(-1)
    residual_energy = residual.pow(2).sum(-1)
    if max_db is not None:
        residual_energy = residual_energy + 10 ** (-max_db / 10) * target_energy
    ratio = (target_energy + eps) / (residual_energy + eps)
    return (10 * torch.log10(ratio)).to(out_dtype)


def _mono_numpy(x: torch.Tensor, name: str, metric: str) -> np.ndarray:
    if x.ndim != 1:
        raise ValueError(f"{metric} scores one utterance: {name} must be 1-D (samples), got shape {tuple(x.shape)}")
    return x.detach().double().cpu().numpy()


def pesq_wb(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2, MOS-LQO from about 1.04 to 4.64) of one utterance.

    Inputs are 1-D waveforms at ``sample_rate``; they are resampled to 16 kHz when needed. Needs the
    optional package ``pesq``. Returns NaN, with a logged warning, for input PESQ cannot score
    (silence, or shorter than the quarter second it needs).
    """
    pesq = _optional("pesq", "PESQ")
    _check_pair(estimate, reference, "pesq_wb")
    est, ref = estimate.detach().double().cpu(), reference.detach().double().cpu()
    if sample_rate != PESQ_SAMPLE_RATE:
        est = AF.resample(est, sample_rate, PESQ_SAMPLE_RATE)
        ref = AF.resample(ref, sample_rate, PESQ_SAMPLE_RATE)
    ref_np, est_np = _mono_numpy(ref, "reference", "PESQ"), _mono_numpy(est, "estimate", "PESQ")
    if not (abs(ref_np).max() > 0 and abs(est_np).max() > 0):
        log.warning("PESQ is NaN: the reference or the estimate is all zeros")
        return math.nan
    try:
        return float(pesq.pesq(PESQ_SAMPLE_RATE, ref_np, est_np, "wb"))
    except (pesq.NoUtterancesError, pesq.BufferTooShortError) as exc:
        log.warning("PESQ is NaN: %s (%d samples at 16 kHz)", type(exc).__name__, ref_np.shape[0])
        return math.nan


def stoi(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, extended: bool = False) -> float:
    """STOI (0 to 1; ``extended=True``: ESTOI) of one utterance, through the optional package ``pystoi``.

    pystoi resamples to its own 10 kHz internally. It answers 1e-5 with a warning when fewer than 30
    frames are left after removing silent ones; that case is returned as NaN with a logged warning.
    """
    pystoi = _optional("pystoi", "STOI")
    _check_pair(estimate, reference, "stoi")
    ref_np, est_np = _mono_numpy(reference, "reference", "STOI"), _mono_numpy(estimate, "estimate", "STOI")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(pystoi.stoi(ref_np, est_np, sample_rate, extended=extended))
    if value <= 1e-5 and caught:
        log.warning("STOI is NaN: %s", caught[-1].message)
        return math.nan
    return value


def _power_spectrogram(x: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    flat = x.reshape(-1, x.shape[-1])
    if flat.shape[-1] < n_fft:
        flat = F.pad(flat, (0, n_fft - flat.shape[-1]))
    window = torch.hann_window(n_fft, dtype=flat.dtype, device=flat.device)
    spec = torch.stft(flat, n_fft, hop_length, window=window, center=True, return_complex=True)
    return spec.abs().pow(2)  # (B, F, N)


def _log_power(power: torch.Tensor, peak: torch.Tensor, dynamic_range_db: float) -> torch.Tensor:
    """dB values of (B, F, N) power maps, floored ``dynamic_range_db`` below ``peak`` (shape (B,)).

    The floor keeps digital silence at a finite level instead of -inf.
    """
    floor = peak.clamp_min(1e-20)[:, None, None] * 10 ** (-dynamic_range_db / 10)
    return 10 * torch.log10(torch.maximum(power, floor))


def log_spectral_distance(
    estimate: torch.Tensor,
    reference: torch.Tensor,
    n_fft: int = 512,
    hop_length: int = 128,
    dynamic_range_db: float = 80.0,
) -> torch.Tensor:
    """Log-spectral distance in dB, shape ``(...)`` for input ``(..., T)``.

    ``LSD = mean over frames of sqrt(mean over frequency of (P_est[dB] - P_ref[dB])^2)`` with Hann-window
    STFT power spectra (defaults: 32 ms / 8 ms at 16 kHz), both floored ``dynamic_range_db`` below the
    reference's peak. 0 for identical signals; a 6 dB gain error everywhere gives 6.
    """
    _check_pair(estimate, reference, "log_spectral_distance")
    est = _power_spectrogram(estimate.double(), n_fft, hop_length)
    ref = _power_spectrogram(reference.double(), n_fft, hop_length)
    # one floor, from the reference, for both: the distance is meant to see level errors
    peak = ref.flatten(1).amax(1)
    est_db, ref_db = _log_power(est, peak, dynamic_range_db), _log_power(ref, peak, dynamic_range_db)
    lsd = (est_db - ref_db).pow(2).mean(1).sqrt().mean(-1)
    return lsd.reshape(estimate.shape[:-1]).to(_result_dtype(estimate))


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    coords = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _smooth(x: torch.Tensor, sigma_freq: float, sigma_time: float) -> torch.Tensor:
    """Separable 2-D Gaussian blur of (B, F, N) maps with replicated edges."""
    kf = _gaussian_kernel(sigma_freq).to(x)
    kt = _gaussian_kernel(sigma_time).to(x)
    y = x[:, None]
    y = F.conv2d(F.pad(y, (0, 0, kf.numel() // 2, kf.numel() // 2), mode="replicate"), kf[None, None, :, None])
    y = F.conv2d(F.pad(y, (kt.numel() // 2, kt.numel() // 2, 0, 0), mode="replicate"), kt[None, None, None, :])
    return y[:, 0]


def _detail_energy(log_power: torch.Tensor, sigma_freq: float, sigma_time: float) -> torch.Tensor:
    residual = log_power - _smooth(log_power, sigma_freq, sigma_time)
    return residual.pow(2).flatten(1).mean(1)


def spectral_detail(
    estimate: torch.Tensor,
    reference: torch.Tensor,
    sample_rate: int,
    sigma_freq_hz: float = 62.5,
    sigma_time_s: float = 0.016,
    dynamic_range_db: float = 60.0,
) -> torch.Tensor:
    """Fine time-frequency structure of the estimate relative to the reference's; shape ``(...)``.

    Definition: take the dB power spectrogram (Hann window of 32 ms, hop 8 ms; each signal floored
    ``dynamic_range_db`` below its own peak), subtract a Gaussian-blurred copy of itself (standard
    deviations ``sigma_freq_hz`` across frequency and ``sigma_time_s`` across time: two bins and two
    frames at the defaults, so harmonics 100-300 Hz apart and onsets sharper than about 16 ms stand
    out in the residual), and take the mean squared residual: the energy of the spectrogram's fine
    structure. The result is ``detail(estimate) / detail(reference)``: 1 for an estimate as detailed
    as the clean speech, below 1 for an over-smoothed (conditional-mean, blurry) spectrogram, above 1
    for one with extra structure (residual noise speckle, musical noise, artefacts).
    Being computed on dB values, the measure does not change with the overall level of either signal.
    """
    _check_pair(estimate, reference, "spectral_detail")
    n_fft = 2 ** round(math.log2(0.032 * sample_rate))
    hop_length = n_fft // 4
    sigma_freq = sigma_freq_hz / (sample_rate / n_fft)
    sigma_time = sigma_time_s / (hop_length / sample_rate)
    est = _power_spectrogram(estimate.double(), n_fft, hop_length)
    ref = _power_spectrogram(reference.double(), n_fft, hop_length)
    # each signal floored below its own peak: the measure is about shape, not level
    est_db = _log_power(est, est.flatten(1).amax(1), dynamic_range_db)
    ref_db = _log_power(ref, ref.flatten(1).amax(1), dynamic_range_db)
    detail_est = _detail_energy(est_db, sigma_freq, sigma_time)
    detail_ref = _detail_energy(ref_db, sigma_freq, sigma_time).clamp_min(1e-12)
    return (detail_est / detail_ref).reshape(estimate.shape[:-1]).to(_result_dtype(estimate))
