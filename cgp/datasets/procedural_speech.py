"""Procedural speech-like audio in noise: speech enhancement trains and benchmarks with no download.

A **voice** is a source-filter signal (Fant 1960, *Acoustic Theory of Speech Production*): a band-limited
harmonic pulse train at a smoothly moving pitch (a per-speaker base between 80 and 300 Hz, a pitch accent per
syllable, declination over the utterance, vibrato), with some breath noise, shaped by a spectral tilt and four
formant resonances (second-order resonator magnitudes; F1 300-900 Hz, F2 800-2500 Hz, F3 2000-3500 Hz,
F4 3300-4500 Hz, scaled by a vocal-tract factor that rises with pitch) that glide from one syllable's targets
to the next. Syllables last 100-300 ms, with rise-and-fall envelopes, short gaps and, at random, pauses of
100-400 ms; a third of them open with a fricative (high-passed noise above 2.5-5 kHz). The filtering is done
frame by frame in the short-time Fourier domain, so one 2-s item costs a few milliseconds.

**Noises** (:data:`NOISE_KINDS`): white, pink (1/f), brown (1/f^2), mains hum (50 or 60 Hz and harmonics),
babble (3 to 6 other procedural voices), non-stationary bursts (decaying noise bursts and clicks), tones
(steady or pulsed whistles, whines and chirps: insects, alarms, machinery) and shaped noise (noise under a
random smooth spectral envelope with a slow swell: hiss, wind, fans, engines) and whistles (the pure
tones of ``tones`` from 1 kHz up, without its harmonic whines: insects, beeps, whistles; a steady tone or
harmonic stack at a voice's pitch is what a sustained vowel looks like). The built-in set's items use
one of :data:`SET_NOISE_KINDS`, or two mixed, at an SNR drawn uniformly from ``snr_range`` (computed on the
whole clean item); every kind is there for training on other data (``data.synthetic_noises``).

What this is **not**: speech. There are no phonemes, words, coarticulation rules or real prosody, and scores on
it say nothing about real recordings. It checks that a speech-enhancement pipeline runs and learns (SI-SDR
should rise well above the input's), and gives a fixed, download-free sanity benchmark.

Item ``i`` of a split is a pure function of ``(seed, split, i)``: it draws from its own NumPy generator, never
from the global RNGs, so the train and test sets are fixed and different.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

SET_NOISE_KINDS = ("white", "pink", "brown", "hum", "babble", "bursts")
"""The kinds the built-in set's items draw from (fixed, so its items and scores stay what they were)."""
NOISE_KINDS = (*SET_NOISE_KINDS, "tones", "shaped", "whistles")
WHISTLES_LOWEST_HZ = 1000.0
"""Whistles stay above voices' fundamentals and most of their first formant: a steady pure tone lower down
is what a high voice's sustained vowel looks like, and a model taught to remove it removes such vowels."""

_FORMANT_RANGES = ((300.0, 900.0), (800.0, 2500.0), (2000.0, 3500.0), (3300.0, 4500.0))
"""Hz; F1-F4 targets, roughly the span of the adult vowels measured by Peterson and Barney (1952)."""
_BANDWIDTH_RANGES = ((50.0, 110.0), (70.0, 180.0), (110.0, 250.0), (180.0, 350.0))
"""Hz; formant bandwidths widen with frequency."""
_OVERLAP = 2
"""Frames covering each sample in the frame-by-frame filtering; 2 halves the FFT work of the usual 4."""


def make_voice(rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    """One procedural speaker talking for ``n_samples``: float32, unit RMS over the whole signal."""
    sr, nyquist = float(sample_rate), sample_rate / 2.0
    f0_base = math.exp(rng.uniform(math.log(90.0), math.log(240.0)))
    tract = (f0_base / 120.0) ** 0.2 * rng.uniform(0.95, 1.05)  # higher voices come from shorter tracts
    onsets, lengths = _syllables(rng, n_samples, sr)
    m = len(onsets)
    centres = onsets + lengths / 2

    # per syllable: formant targets and bandwidths, pitch accent, loudness, an optional fricative onset
    formants = np.stack([rng.uniform(lo, hi, m) for lo, hi in _FORMANT_RANGES], axis=1)
    for i in range(1, 4):  # keep the formants in order and at least 250 Hz apart
        formants[:, i] = np.maximum(formants[:, i], formants[:, i - 1] + 250.0)
    formants = np.minimum(formants * tract, 0.9 * nyquist)
    bandwidths = np.stack([rng.uniform(lo, hi, m) for lo, hi in _BANDWIDTH_RANGES], axis=1)
    accent = rng.uniform(0.88, 1.15, m)
    loudness = 10.0 ** (rng.uniform(-8.0, 0.0, m) / 20.0)
    fricative = np.where(rng.random(m) < 0.33, np.minimum(rng.uniform(0.04, 0.12, m) * sr, 0.5 * lengths), 0.0)
    fricative_cut = np.minimum(rng.uniform(2500.0, 5000.0, m), 0.7 * nyquist)
    fricative_gain = rng.uniform(0.08, 0.35, m)
    breath = rng.uniform(0.05, 0.25)

    # per STFT frame: the syllable it is in, and the envelopes of its voiced and fricative parts
    n_fft = 1 << round(math.log2(0.032 * sr))
    times = _frame_times(n_samples, n_fft)
    index = np.searchsorted(onsets, times, side="right") - 1
    inside = index >= 0
    index = np.maximum(index, 0)
    position = times - onsets[index]
    fric = fricative[index]
    voiced_u = (position - fric) / (lengths[index] - fric)
    voiced_on = inside & (voiced_u >= 0) & (voiced_u < 1)
    env_voiced = np.where(voiced_on, loudness[index] * np.sin(np.pi * np.clip(voiced_u, 0, 1) ** 0.7), 0.0)
    fric_u = position / np.maximum(fric, 1.0)
    fric_on = inside & (fric > 0) & (fric_u < 1)
    env_fric = np.where(fric_on, fricative_gain[index] * loudness[index] * np.sin(np.pi * np.clip(fric_u, 0, 1)), 0)

    # pitch, per frame and then per sample: accents at syllable centres, declination, vibrato
    declination = 1.12 - rng.uniform(0.1, 0.3) * centres / n_samples
    f0 = np.interp(times, centres, f0_base * accent * declination)
    f0 *= 1.0 + rng.uniform(0.003, 0.015) * np.sin(2 * np.pi * rng.uniform(4.0, 7.0) * times / sr + rng.uniform(0, 7))
    f0 = np.interp(np.arange(n_samples), times, np.clip(f0, 80.0, 300.0))

    # band-limited pulse train: sum_{k=1..K} cos(k phi) = sin((K + 1/2) phi) / (2 sin(phi / 2)) - 1/2,
    # with K the harmonics below 0.95 Nyquist at the current pitch, scaled to unit power
    phi = np.mod(np.cumsum(2 * np.pi * f0 / sr), 2 * np.pi).astype(np.float32)
    harmonics = np.floor(0.95 * nyquist / f0).astype(np.float32)
    half = np.sin(phi / 2)
    safe = np.abs(half) > 1e-4
    pulses = np.where(safe, np.sin((harmonics + 0.5) * phi) / (2 * np.where(safe, half, 1.0)) - 0.5, harmonics)
    pulses /= np.sqrt(harmonics / 2)
    noise = rng.standard_normal(n_samples, dtype=np.float32)

    # spectral shaping frame by frame: tilt and formants for the voiced part, a high-pass for fricatives
    f = np.fft.rfftfreq(n_fft, 1.0 / sr).astype(np.float32)[None, :]
    envelope = (1.0 + (f / rng.uniform(150.0, 400.0)) ** 2) ** np.float32(-rng.uniform(0.35, 0.65))
    for i in range(4):
        fi = np.interp(times, centres, formants[:, i]).astype(np.float32)[:, None] ** 2
        bi = np.interp(times, centres, bandwidths[:, i]).astype(np.float32)[:, None]
        envelope = envelope * (fi / np.sqrt((fi - f * f) ** 2 + (f * bi) ** 2))
    cut = np.interp(times, centres, fricative_cut).astype(np.float32)[:, None]
    highpass = 1.0 / (1.0 + (cut / np.maximum(f, 1.0)) ** 4)
    voiced = (env_voiced.astype(np.float32)[:, None] * envelope).astype(np.float32)
    hiss = breath * voiced + env_fric.astype(np.float32)[:, None] * highpass
    spectra = _spectra(np.stack([pulses, noise]), n_fft)
    out = _overlap_add(spectra[0] * voiced + spectra[1] * hiss, n_fft, n_samples)
    return (out / np.sqrt(np.mean(out**2) + 1e-20)).astype(np.float32)


def _frame_times(n_samples: int, n_fft: int) -> np.ndarray:
    """Centre (in samples) of each frame of :func:`_spectra`."""
    hop = n_fft // _OVERLAP
    pad = n_fft - hop
    count = -(-(n_samples + 2 * pad - n_fft) // hop) + 1
    return np.arange(count) * float(hop) + n_fft / 2 - pad


def _spectra(x: np.ndarray, n_fft: int) -> np.ndarray:
    """Short-time spectra (..., frames, bins): square-root periodic Hann window, hop ``n_fft / _OVERLAP``;
    the signal is padded by ``n_fft - hop`` on both sides (and at the back up to a whole hop), so that every
    sample lies under ``_OVERLAP`` frames."""
    hop = n_fft // _OVERLAP
    pad = n_fft - hop
    extra = -(x.shape[-1] + 2 * pad - n_fft) % hop
    padded = np.zeros((*x.shape[:-1], x.shape[-1] + 2 * pad + extra))  # np.pad costs more than the FFT here
    padded[..., pad : pad + x.shape[-1]] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :] * _window(n_fft)
    return np.fft.rfft(frames, axis=-1)  # float64: NumPy's float32 FFT is several times slower here


def _overlap_add(spectra: np.ndarray, n_fft: int, n_samples: int) -> np.ndarray:
    """Inverse of :func:`_spectra` for one signal: windowed overlap-add (weighted overlap-add, Crochiere
    1980); the squared windows, Hann windows at a hop of ``n_fft / _OVERLAP``, sum to ``_OVERLAP / 2``."""
    hop = n_fft // _OVERLAP
    frames = np.fft.irfft(spectra, n_fft, axis=-1) * _window(n_fft)
    count = frames.shape[0]
    pieces = frames.reshape(count, _OVERLAP, hop)
    out = np.zeros((count + _OVERLAP - 1, hop))
    for j in range(_OVERLAP):
        out[j : j + count] += pieces[:, j]
    pad = n_fft - hop
    return out.reshape(-1)[pad : pad + n_samples] / (_OVERLAP / 2)


def _window(n: int) -> np.ndarray:
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n))


def _syllables(rng: np.random.Generator, n_samples: int, sr: float) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and lengths (in samples) of the syllables that start inside the signal; at least one."""
    count = int(n_samples / (0.1 * sr)) + 2
    lengths = rng.uniform(0.10, 0.30, count) * sr
    gaps = np.where(rng.random(count) < 0.25, rng.uniform(0.10, 0.40, count), rng.uniform(0.0, 0.03, count)) * sr
    lead = rng.uniform(0.0, min(0.25 * sr, n_samples / 4))
    onsets = lead + np.concatenate([[0.0], np.cumsum(lengths + gaps)[:-1]])
    keep = max(int(np.sum(onsets < n_samples - 0.05 * sr)), 1)
    return onsets[:keep], lengths[:keep]


def make_noise(kind: str, rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    """``n_samples`` of one of :data:`NOISE_KINDS` as float32 with unit RMS."""
    if kind == "white":
        noise = rng.standard_normal(n_samples)
    elif kind in ("pink", "brown"):
        noise = _coloured(rng, n_samples, sample_rate, 1.0 if kind == "pink" else 2.0)
    elif kind == "hum":
        noise = _hum(rng, n_samples, sample_rate)
    elif kind == "babble":
        talkers = int(rng.integers(3, 7))
        noise = sum(10 ** (rng.uniform(-6, 0) / 20) * make_voice(rng, n_samples, sample_rate) for _ in range(talkers))
    elif kind == "bursts":
        noise = _bursts(rng, n_samples, sample_rate)
    elif kind == "tones":
        noise = _tones(rng, n_samples, sample_rate)
    elif kind == "whistles":
        noise = _tones(rng, n_samples, sample_rate, harmonic_share=0.0, lowest_pure=WHISTLES_LOWEST_HZ)
    elif kind == "shaped":
        noise = _shaped(rng, n_samples, sample_rate)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; choose from {', '.join(NOISE_KINDS)}")
    noise = np.asarray(noise, dtype=np.float64)
    return (noise / np.sqrt(np.mean(noise**2) + 1e-20)).astype(np.float32)


def _coloured(rng: np.random.Generator, n_samples: int, sample_rate: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum 1/f^exponent above 20 Hz (flat below, no DC)."""
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    f = np.maximum(np.fft.rfftfreq(n_samples, 1.0 / sample_rate), 20.0)
    spectrum *= f ** (-exponent / 2)
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n_samples)


def _hum(rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    """Mains hum: 50 or 60 Hz (off by up to 0.2%) and its harmonics up to the 12th, with a slow swell."""
    mains = (50.0 if rng.random() < 0.5 else 60.0) * (1 + rng.uniform(-0.002, 0.002))
    count = min(12, int((sample_rate / 2) / mains) - 1)
    t = np.arange(n_samples) / sample_rate
    base = np.exp(1j * 2 * np.pi * mains * t).astype(np.complex64)
    power = base.copy()
    hum = np.zeros(n_samples, dtype=np.float32)
    for k in range(1, count + 1):
        odd = 1.0 if k % 2 else rng.uniform(0.2, 0.7)  # transformer hum is rich in odd harmonics
        amplitude = odd * k ** -rng.uniform(0.5, 1.5) * rng.uniform(0.3, 1.0)
        hum += np.float32(amplitude) * np.imag(power * np.complex64(np.exp(1j * rng.uniform(0, 2 * np.pi))))
        power *= base
    return hum * (1 + 0.2 * _swell(rng, t, 0.1, 1.0))


def _bursts(rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    """Non-stationary noise: 2-8 noise bursts (20-300 ms, fast attack, exponential decay) and clicks."""
    envelope = np.zeros(n_samples)
    for _ in range(int(rng.integers(2, 9))):
        onset = int(rng.integers(0, n_samples))
        duration = max(int(rng.uniform(0.02, 0.3) * sample_rate), 1)
        age = np.arange(min(duration, n_samples - onset))
        gain = 10 ** (rng.uniform(-12, 0) / 20)
        attack = np.minimum(age / (0.0025 * sample_rate), 1)
        envelope[onset : onset + len(age)] += gain * np.exp(-3 * age / duration) * attack
    noise = envelope * _coloured(rng, n_samples, sample_rate, rng.uniform(0.0, 1.5))
    clicks = np.zeros(n_samples)
    places = rng.integers(0, n_samples, int(rng.integers(1, 12)))
    clicks[places] = rng.choice([-1.0, 1.0], len(places)) * rng.uniform(2.0, 8.0, len(places))
    ring = np.exp(-np.arange(int(0.002 * sample_rate) + 1) / (0.0004 * sample_rate))
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12) + np.convolve(clicks, ring)[:n_samples]


def _tones(
    rng: np.random.Generator,
    n_samples: int,
    sample_rate: int,
    harmonic_share: float = 0.5,
    lowest_pure: float = 100.0,
) -> np.ndarray:
    """1-4 tonal sources: a pure tone (``lowest_pure`` Hz-7 kHz) or, with probability ``harmonic_share``, a
    harmonic whine (2-6 harmonics of 50-1000 Hz), with a slow wobble of pitch (at most 3 %, so unlike a
    voice's intonation) and, for half of them, a pulsed envelope (2-40 pulses per second, optionally
    grouped at 0.3-2 Hz) as crickets, alarms and indicators make."""
    t = np.arange(n_samples) / sample_rate
    total = np.zeros(n_samples)
    for _ in range(int(rng.integers(1, 5))):
        harmonic = rng.random() < harmonic_share
        low, high = (50.0, 1000.0) if harmonic else (lowest_pure, 7000.0)
        f0 = np.exp(rng.uniform(np.log(low), np.log(high)))
        wobble = 1 + rng.uniform(0.0, 0.03) * _swell(rng, t, 0.1, 6.0)
        phase = 2 * np.pi * np.cumsum(f0 * wobble) / sample_rate
        count = int(rng.integers(2, 7)) if harmonic else 1
        tone = np.zeros(n_samples)
        for k in range(1, count + 1):
            if k * f0 * 1.03 < 0.45 * sample_rate:
                tone += k ** -rng.uniform(0.5, 1.5) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
        if rng.random() < 0.5:
            tone *= _pulses(rng, t, sample_rate)
        total += 10 ** (rng.uniform(-12, 0) / 20) * tone / (np.sqrt(np.mean(tone**2)) + 1e-12)
    return total


def _pulses(rng: np.random.Generator, t: np.ndarray, sample_rate: int) -> np.ndarray:
    """An on/off envelope: pulses at 2-40 Hz with a 20-80 % duty cycle, edges smoothed over 3 ms, in half
    of the cases gated again by slower groups (0.3-2 Hz)."""
    gate = ((t * rng.uniform(2.0, 40.0) + rng.random()) % 1.0 < rng.uniform(0.2, 0.8)).astype(np.float64)
    if rng.random() < 0.5:
        gate *= (t * rng.uniform(0.3, 2.0) + rng.random()) % 1.0 < rng.uniform(0.3, 0.8)
    edge = np.hanning(max(int(0.003 * sample_rate), 3))
    return np.convolve(gate, edge / edge.sum(), mode="same")


def _shaped(rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    """Gaussian noise under a random smooth spectral envelope (a tilt of +-12 dB per decade of frequency
    plus 2-5 bells of +-20 dB, 0.5-2 octaves wide, centred at 100 Hz-7 kHz) and a slow swell (0.1-4 Hz,
    depth up to 80 %): hiss, steam, wind, fans and engines that white, pink and brown noise do not cover."""
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    octaves = np.log2(np.maximum(np.fft.rfftfreq(n_samples, 1.0 / sample_rate), 20.0) / 1000.0)
    db = rng.uniform(-12.0, 12.0) * octaves / np.log2(10.0)
    for _ in range(int(rng.integers(2, 6))):
        centre, width = rng.uniform(np.log2(0.1), np.log2(7.0)), rng.uniform(0.25, 1.0)
        db += rng.uniform(-20.0, 20.0) * np.exp(-0.5 * ((octaves - centre) / width) ** 2)
    spectrum *= 10 ** (db / 20)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n_samples)
    t = np.arange(n_samples) / sample_rate
    return noise * (1 + rng.uniform(0.0, 0.8) * _swell(rng, t, 0.1, 4.0))


def _swell(rng: np.random.Generator, t: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """A sinusoid of unit amplitude at a rate uniform in ``[low_hz, high_hz]`` and a random phase."""
    return np.sin(2 * np.pi * rng.uniform(low_hz, high_hz) * t + rng.uniform(0, 2 * np.pi))


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean + g * noise`` with ``g`` such that 10 log10(P_clean / P_scaled_noise) = ``snr_db``."""
    gain = math.sqrt(float(np.mean(clean**2)) / (float(np.mean(noise**2)) * 10 ** (snr_db / 10) + 1e-20))
    return clean + gain * noise


class ProceduralSpeech(Dataset):
    """``size`` procedural speech-in-noise items: ``{"x": clean [T], "cond": noisy [T], "name": str}``.

    Each item: one voice at an RMS level between -32 and -18 dBFS; one noise kind (two, mixed, in 30% of
    items); an SNR uniform in ``snr_range`` dB. If the mixture would exceed 0.99 in magnitude, clean and
    noisy are scaled down together, which leaves the SNR unchanged.
    """

    def __init__(
        self,
        split: str,
        size: int,
        sample_rate: int = 16000,
        seconds: float = 2.0,
        snr_range: tuple[float, float] = (-5.0, 15.0),
        seed: int = 0,
    ) -> None:
        self.split, self.size, self.sample_rate = split, size, sample_rate
        self.n_samples = int(round(seconds * sample_rate))
        self.snr_range = (float(snr_range[0]), float(snr_range[1]))
        self._entropy = [seed % 2**64, zlib.crc32(split.encode())]

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.size:
            raise IndexError(f"item {index} is outside this {self.size}-item dataset")
        rng = np.random.default_rng([*self._entropy, index])
        clean = make_voice(rng, self.n_samples, self.sample_rate) * 10 ** (rng.uniform(-32, -18) / 20)
        kinds = rng.choice(SET_NOISE_KINDS, 2 if rng.random() < 0.3 else 1, replace=False)
        noise = sum(
            10 ** (rng.uniform(-10, 0) / 20 if i else 0.0)
            * make_noise(str(kind), rng, self.n_samples, self.sample_rate)
            for i, kind in enumerate(kinds)
        )
        noisy = mix_at_snr(clean, np.asarray(noise), rng.uniform(*self.snr_range))
        peak = float(np.abs(noisy).max())
        scale = 0.99 / peak if peak > 0.99 else 1.0
        return {
            "x": torch.from_numpy((clean * scale).astype(np.float32)),
            "cond": torch.from_numpy((noisy * scale).astype(np.float32)),
            "name": f"{self.split}-{index:06d}",
        }
