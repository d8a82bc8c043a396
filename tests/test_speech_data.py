"""Speech-enhancement datasets: paired folders, on-the-fly noise mixing, procedural speech (cgp.datasets)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cgp.core.data import SeededItems
from cgp.core.errors import ConfigError, DataError
from cgp.datasets.audio import load_audio, save_audio
from cgp.datasets.procedural_speech import NOISE_KINDS, ProceduralSpeech, make_noise, make_voice
from cgp.datasets.speech import MixedNoise, NoiseFree, NoisyCleanFolder, RecordingChain, RemixedPairs, SpeedChange

RATE = 16000


def snr_db(item: dict) -> float:
    clean, noisy = item["x"].double(), item["cond"].double()
    return 10 * math.log10(float(clean.pow(2).sum()) / float((noisy - clean).pow(2).sum()))


def ramp(n: int, start: int = 0) -> torch.Tensor:
    """Sample ``i`` holds ``(start + i) / 32768``: exact in 16 bits, so a crop reveals its offset."""
    return (torch.arange(n) + start).float() / 32768


def voicebank(tmp_path: Path, stems: tuple[str, ...] = ("p1", "p2"), n: int = 4000) -> Path:
    for side in ("clean", "noisy"):
        (tmp_path / "train" / side).mkdir(parents=True)
    for stem in stems:
        save_audio(tmp_path / "train" / "clean" / f"{stem}.wav", ramp(n), RATE)
        save_audio(tmp_path / "train" / "noisy" / f"{stem}.flac", ramp(n, 1000), RATE)
    return tmp_path


def test_voicebank_layout_pairs_by_stem(tmp_path: Path) -> None:
    root = voicebank(tmp_path, n=3000)
    ds = NoisyCleanFolder(root, "train", RATE, segment=None)
    assert len(ds) == 2
    item = ds[1]
    assert item["name"] == "p2"
    assert torch.equal(item["x"], load_audio(root / "train" / "clean" / "p2.wav", RATE))
    assert torch.equal(item["cond"], load_audio(root / "train" / "noisy" / "p2.flac", RATE))
    assert item["x"].dtype == torch.float32 and item["x"].shape == (3000,)


def test_missing_partner_names_file_and_folder(tmp_path: Path) -> None:
    root = voicebank(tmp_path)
    save_audio(root / "train" / "clean" / "lonely.wav", ramp(100), RATE)
    with pytest.raises(DataError) as info:
        NoisyCleanFolder(root, "train", RATE, segment=None)
    assert "lonely.wav' has no partner in '" + str(root / "train" / "noisy") + "'" in str(info.value)


def test_missing_folders_describe_the_layout(tmp_path: Path) -> None:
    (tmp_path / "train" / "clean").mkdir(parents=True)
    with pytest.raises(DataError, match=r"ROOT/train/clean/ and ROOT/train/noisy/"):
        NoisyCleanFolder(tmp_path, "train", RATE, segment=None)
    with pytest.raises(DataError, match="escapes the data root"):
        NoisyCleanFolder(tmp_path, "../elsewhere", RATE, segment=None)


def test_random_crop_is_shared_and_seeded(tmp_path: Path) -> None:
    ds = SeededItems(NoisyCleanFolder(voicebank(tmp_path, n=8000), "train", RATE, segment=1000))
    item = ds[(0, 123)]
    offset = int(round(float(item["x"][0]) * 32768))
    assert torch.equal(item["x"], ramp(1000, offset))
    assert torch.equal(item["cond"], ramp(1000, offset + 1000))  # same offset in the noisy file
    assert torch.equal(ds[(0, 123)]["x"], item["x"])  # same seed, same crop
    offsets = {int(round(float(ds[(0, seed)]["x"][0]) * 32768)) for seed in range(8)}
    assert len(offsets) > 4 and max(offsets) <= 7000


def test_short_files_are_padded_at_the_end(tmp_path: Path) -> None:
    ds = NoisyCleanFolder(voicebank(tmp_path, n=600), "train", RATE, segment=1000)
    item = ds[0]
    assert item["x"].shape == item["cond"].shape == (1000,)
    assert torch.equal(item["x"][:600], ramp(600)) and not item["x"][600:].any()


def test_pair_lengths_within_one_percent_are_cut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = voicebank(tmp_path, stems=("p1",), n=4000)
    save_audio(root / "train" / "noisy" / "p1.flac", ramp(3980, 1000), RATE)
    ds = NoisyCleanFolder(root, "train", RATE, segment=None)
    with caplog.at_level(logging.INFO, logger="cgp.data"):
        item = ds[0]
    assert item["x"].shape == item["cond"].shape == (3980,)
    assert "differ by 20 samples" in caplog.text
    save_audio(root / "train" / "noisy" / "p1.flac", ramp(3000, 1000), RATE)
    with pytest.raises(DataError, match=r"p1\.wav' \(4000 samples\) and '.*p1\.flac' \(3000 samples"):
        ds[0]


def mixed_roots(tmp_path: Path, noise_samples: int = 20000) -> tuple[Path, Path]:
    """Three steady clean 'speech' files (tones, so that every crop has signal) and two noise files."""
    rng = np.random.default_rng(0)
    for folder in ("clean", "noise"):
        (tmp_path / folder).mkdir()
    for i, hz in enumerate((150.0, 210.0, 330.0)):
        save_audio(
            tmp_path / "clean" / f"s{i}.wav", 0.3 * torch.sin(2 * math.pi * hz * torch.arange(RATE) / RATE), RATE
        )
    for kind in ("white", "hum"):
        noise = 0.2 * make_noise(kind, rng, noise_samples, RATE)
        save_audio(tmp_path / "noise" / f"{kind}.wav", torch.from_numpy(noise), RATE)
    return tmp_path / "clean", tmp_path / "noise"


@pytest.mark.parametrize("noise_samples", [20000, 3000])  # longer than the crop, and looped
def test_mixed_noise_reaches_the_snr(tmp_path: Path, noise_samples: int) -> None:
    clean_root, noise_root = mixed_roots(tmp_path, noise_samples)
    ds = SeededItems(MixedNoise(clean_root, noise_root, RATE, segment=8000, snr_range=(5, 5), size=6))
    for position in range(6):
        item = ds[(position, 1000 + position)]
        assert item["x"].shape == item["cond"].shape == (8000,)
        assert abs(snr_db(item) - 5.0) < 0.1


def test_mixed_noise_is_deterministic_per_seed(tmp_path: Path) -> None:
    clean_root, noise_root = mixed_roots(tmp_path)
    ds = SeededItems(MixedNoise(clean_root, noise_root, RATE, segment=4000, snr_range=(-5, 15)))
    assert len(ds) == 3
    a, b, c = ds[(1, 7)], ds[(1, 7)], ds[(1, 8)]
    assert torch.equal(a["cond"], b["cond"]) and torch.equal(a["x"], b["x"])
    assert not torch.equal(a["cond"], c["cond"])
    snrs = [snr_db(ds[(i % 3, i)]) for i in range(8)]
    assert min(snrs) > -5.01 and max(snrs) < 15.01 and max(snrs) - min(snrs) > 3


def test_silent_crop_gets_noise_at_the_file_level(tmp_path: Path) -> None:
    clean_root, noise_root = mixed_roots(tmp_path)
    speech = torch.zeros(RATE)
    speech[-2000:] = 0.3 * torch.sin(2 * math.pi * 200.0 * torch.arange(2000) / RATE)
    save_audio(clean_root / "s0.wav", speech, RATE)
    file_power = float(load_audio(clean_root / "s0.wav", RATE).double().pow(2).mean())
    ds = SeededItems(MixedNoise(clean_root, noise_root, RATE, segment=1000, snr_range=(10, 10), size=1))
    silent = [item for item in (ds[(0, seed)] for seed in range(6)) if not item["x"].any()]
    assert silent  # most crops of this file are silence
    for item in silent:
        noise_power = float(item["cond"].double().pow(2).mean())
        assert abs(10 * math.log10(file_power / noise_power) - 10.0) < 0.1


def additive_pairs(tmp_path: Path, snrs: tuple[float, ...] = (0.0, 12.0)) -> Path:
    """Pairs that are clean + noise: steady tones of different loudness, each in white noise at its own SNR."""
    rng = np.random.default_rng(1)
    for side in ("clean", "noisy"):
        (tmp_path / "train" / side).mkdir(parents=True)
    for i, snr in enumerate(snrs):
        clean = (0.05 + 0.1 * i) * torch.sin(2 * math.pi * (180.0 + 70 * i) * torch.arange(RATE) / RATE)
        noise = torch.from_numpy(rng.standard_normal(RATE)).float()
        noise *= (clean.pow(2).mean() / noise.pow(2).mean() / 10 ** (snr / 10)).sqrt()
        save_audio(tmp_path / "train" / "clean" / f"p{i}.wav", clean, RATE)
        save_audio(tmp_path / "train" / "noisy" / f"p{i}.wav", clean + noise, RATE)
    return tmp_path


def test_remix_off_gives_the_recorded_pairs_crops(tmp_path: Path) -> None:
    root = voicebank(tmp_path, n=8000)
    plain = SeededItems(NoisyCleanFolder(root, "train", RATE, segment=1000))
    remixed = SeededItems(RemixedPairs(NoisyCleanFolder(root, "train", RATE, segment=None), 1000, probability=0.0))
    for key in ((0, 5), (1, 6), (1, 99)):
        a, b = plain[key], remixed[key]
        assert torch.equal(a["x"], b["x"]) and torch.equal(a["cond"], b["cond"]) and a["name"] == b["name"]


def test_remix_takes_another_pairs_noise_at_its_snr(tmp_path: Path) -> None:
    root = additive_pairs(tmp_path)
    pairs = NoisyCleanFolder(root, "train", RATE, segment=None)
    ds = SeededItems(RemixedPairs(pairs, 4000, probability=1.0))
    swapped = 0
    for seed in range(12):
        item = ds[(0, seed)]
        assert item["x"].shape == item["cond"].shape == (4000,)
        other = int(item["name"].rsplit("-", 1)[1])
        assert item["name"].startswith("p0-remix-")
        assert abs(snr_db(item) - (0.0, 12.0)[other]) < 0.3  # the noise's own pair's SNR, on pair 0's speech
        clean = pairs[0]["x"]
        starts = [k for k in torch.nonzero(clean[:-3999] == item["x"][0]).flatten().tolist()]
        assert any(torch.equal(clean[k : k + 4000], item["x"]) for k in starts)  # pair 0's speech, a crop of it
        swapped += other == 1
    assert 0 < swapped < 12  # both pairs' noises are drawn
    assert torch.equal(ds[(0, 3)]["cond"], ds[(0, 3)]["cond"])  # a pure function of (index, seed)
    assert not torch.equal(ds[(0, 3)]["cond"], ds[(0, 4)]["cond"])


def test_remix_share_and_bounds(tmp_path: Path) -> None:
    pairs = NoisyCleanFolder(additive_pairs(tmp_path), "train", RATE, segment=None)
    ds = SeededItems(RemixedPairs(pairs, 2000, probability=0.5))
    remixed = sum("-remix-" in ds[(i % 2, i)]["name"] for i in range(200))
    assert 70 < remixed < 130
    with pytest.raises(ConfigError, match=r"remix probability must be in \[0, 1\], got 1.5"):
        RemixedPairs(pairs, 2000, probability=1.5)


def test_remix_synthetic_noises_reach_their_snr(tmp_path: Path) -> None:
    pairs = NoisyCleanFolder(additive_pairs(tmp_path), "train", RATE, segment=None)
    ds = SeededItems(RemixedPairs(pairs, 4000, probability=1.0, synthetic=1.0, snr_range=(3.0, 3.0)))
    kinds = set()
    for seed in range(16):
        item = ds[(1, seed)]
        kinds.add(item["name"].split("-", 1)[1])
        assert abs(snr_db(item) - 3.0) < 0.3  # a steady tone: the crop's power is the file's
    assert kinds <= set(NOISE_KINDS) and len(kinds) >= 3
    assert torch.equal(ds[(1, 5)]["cond"], ds[(1, 5)]["cond"])


def test_remix_synthetic_noises_only_of_the_chosen_kinds(tmp_path: Path) -> None:
    pairs = NoisyCleanFolder(additive_pairs(tmp_path), "train", RATE, segment=None)
    chosen = ("white", "bursts")
    ds = SeededItems(RemixedPairs(pairs, 4000, probability=1.0, synthetic=1.0, kinds=chosen))
    kinds = {ds[(seed % 2, seed)]["name"].split("-", 1)[1] for seed in range(24)}
    assert kinds == set(chosen)
    everything = SeededItems(RemixedPairs(pairs, 4000, probability=1.0, synthetic=1.0, kinds=NOISE_KINDS))
    default = SeededItems(RemixedPairs(pairs, 4000, probability=1.0, synthetic=1.0))
    assert torch.equal(everything[(0, 7)]["cond"], default[(0, 7)]["cond"])  # all kinds: the default's draws
    for bad, message in ((("white", "hiss"), r"unknown procedural noise kinds \['hiss'\]"), ((), "no procedural")):
        with pytest.raises(ConfigError, match=message):
            RemixedPairs(pairs, 4000, probability=1.0, synthetic=1.0, kinds=bad)


def _peak_hz(signal: torch.Tensor) -> int:
    """The strongest bin of a 16000-sample signal's windowed spectrum: 1-Hz bins at 16 kHz."""
    return int(torch.fft.rfft(signal.double() * torch.hann_window(len(signal), dtype=torch.float64)).abs().argmax())


def tonal_noise_pairs(tmp_path: Path) -> Path:
    """Two pairs whose noise is a 1-kHz tone (16000 samples: a whole number of its periods, so it loops
    seamlessly) over a quieter 180-Hz 'speech' tone."""
    t = torch.arange(RATE) / RATE
    for side in ("clean", "noisy"):
        (tmp_path / "train" / side).mkdir(parents=True)
    for i in range(2):
        clean = 0.05 * torch.sin(2 * math.pi * 180.0 * t)
        save_audio(tmp_path / "train" / "clean" / f"p{i}.wav", clean, RATE)
        save_audio(tmp_path / "train" / "noisy" / f"p{i}.wav", clean + 0.2 * torch.sin(2 * math.pi * 1000.0 * t), RATE)
    return tmp_path


def test_remixed_noise_plays_at_its_own_speed_and_the_speech_keeps_its_own(tmp_path: Path) -> None:
    pairs = NoisyCleanFolder(tonal_noise_pairs(tmp_path), "train", RATE, segment=None)
    ds = SeededItems(RemixedPairs(pairs, RATE, probability=1.0, noise_speed=0.1))
    noise_peaks = set()
    for seed in range(30):
        item = ds[(0, seed)]
        assert item["x"].shape == item["cond"].shape == (RATE,)
        assert _peak_hz(item["x"]) == 180  # the speech is not resampled
        peak = _peak_hz(item["cond"] - item["x"])  # a 1-kHz noise played p % as fast peaks at 10 p Hz
        assert 900 <= peak <= 1100 and peak % 10 == 0
        noise_peaks.add(peak)
    assert len(noise_peaks) >= 8  # 21 factors, 30 draws
    assert torch.equal(ds[(1, 3)]["cond"], ds[(1, 3)]["cond"])  # a pure function of (index, seed)
    off = SeededItems(RemixedPairs(pairs, RATE, probability=1.0, noise_speed=0.0))
    default = SeededItems(RemixedPairs(pairs, RATE, probability=1.0))
    assert torch.equal(off[(0, 5)]["cond"], default[(0, 5)]["cond"])  # 0: no extra draw, the same items
    assert _peak_hz(off[(0, 5)]["cond"] - off[(0, 5)]["x"]) == 1000
    with pytest.raises(ConfigError, match=r"noise speed spread must be in \[0, 0.5\), got 0.6"):
        RemixedPairs(pairs, RATE, probability=1.0, noise_speed=0.6)


def test_mixed_noise_at_its_own_speed_keeps_the_snr(tmp_path: Path) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "noise").mkdir()
    t = torch.arange(2 * RATE) / RATE
    save_audio(tmp_path / "clean" / "s.wav", 0.2 * torch.sin(2 * math.pi * 180.0 * t), RATE)
    save_audio(tmp_path / "noise" / "tone.wav", 0.1 * torch.sin(2 * math.pi * 1000.0 * t), RATE)
    ds = SeededItems(
        MixedNoise(tmp_path / "clean", tmp_path / "noise", RATE, segment=RATE, snr_range=(5, 5), noise_speed=0.2)
    )
    peaks = set()
    for seed in range(20):
        item = ds[(0, seed)]
        peak = _peak_hz(item["cond"] - item["x"])
        assert 800 <= peak <= 1200 and peak % 10 == 0
        peaks.add(peak)
        assert abs(snr_db(item) - 5.0) < 0.1
    assert len(peaks) >= 8


class _Pairs(torch.utils.data.Dataset):
    """Two items whose noisy side is the clean side plus a fixed noise: white speech stand-ins."""

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(3)
        self.clean = [0.05 * torch.randn(8000, generator=gen) for _ in range(2)]
        self.noise = [0.02 * torch.randn(8000, generator=gen) for _ in range(2)]

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> dict:
        return {"x": self.clean[i], "cond": self.clean[i] + self.noise[i], "name": f"p{i}"}


def _band_db(signal: torch.Tensor, low: float, high: float) -> float:
    spectrum = torch.fft.rfft(signal.double()).abs().pow(2)
    freqs = torch.fft.rfftfreq(signal.shape[-1], 1 / RATE)
    return 10 * math.log10(float(spectrum[(freqs >= low) & (freqs < high)].mean()))


def test_recording_chain_colours_clean_and_noisy_alike() -> None:
    pairs = _Pairs()
    ds = SeededItems(RecordingChain(pairs, RATE, gain_db=6.0, eq_db=10.0))
    tilts = []
    for seed in range(8):
        item = ds[(0, seed)]
        assert item["name"] == "p0" and item["x"].shape == item["cond"].shape == (8000,)
        # one linear filter and gain for both sides: the noisy side is still the clean side plus a noise
        # that went through the same chain, so its SNR is the recorded one (white noise, white speech)
        assert abs(snr_db(item) - snr_db(pairs[0])) < 0.5
        tilts.append(_band_db(item["x"], 4000, 7000) - _band_db(item["x"], 150, 400))
    assert max(tilts) - min(tilts) > 6  # a different colouring per draw, tens of dB of spread at most
    assert max(abs(t) for t in tilts) < 40
    assert torch.equal(ds[(1, 2)]["x"], ds[(1, 2)]["x"]) and not torch.equal(ds[(1, 2)]["x"], ds[(1, 3)]["x"])


def test_recording_chain_gain_stays_in_range_and_off_is_identity() -> None:
    pairs = _Pairs()
    level = SeededItems(RecordingChain(pairs, RATE, gain_db=6.0))
    gains = [20 * math.log10(float(level[(1, s)]["x"].norm() / pairs[1]["x"].norm())) for s in range(30)]
    assert -6.01 <= min(gains) < -2 and 2 < max(gains) <= 6.01
    off = SeededItems(RecordingChain(pairs, RATE))[(1, 0)]
    assert torch.equal(off["x"], pairs[1]["x"]) and torch.equal(off["cond"], pairs[1]["cond"])
    with pytest.raises(ConfigError, match="cannot be negative"):
        RecordingChain(pairs, RATE, eq_db=-1.0)


def test_rumble_is_part_of_the_recording_low_in_frequency_and_at_its_level() -> None:
    pairs = _Pairs()
    ds = SeededItems(RecordingChain(pairs, RATE, rumble=0.5))
    with_rumble = 0
    for seed in range(40):
        item, plain = ds[(0, seed)], pairs[0]
        low = item["x"] - plain["x"]
        # the same rumble on both sides: the noise the model must remove is unchanged
        assert torch.allclose(item["cond"] - item["x"], plain["cond"] - plain["x"], atol=1e-6)
        if not low.abs().max() > 0:
            continue
        with_rumble += 1
        level = 10 * math.log10(float(low.pow(2).mean() / plain["x"].pow(2).mean()))
        assert -35.01 <= level <= -9.99
        spectrum = torch.fft.rfft(low.double()).abs().pow(2)
        freqs = torch.fft.rfftfreq(low.shape[-1], 1 / RATE)
        assert float(spectrum[freqs < 300].sum() / spectrum.sum()) > 0.99  # below 300 Hz, DC included
    assert 10 <= with_rumble <= 30  # half of 40 draws
    assert torch.equal(ds[(0, 5)]["cond"], ds[(0, 5)]["cond"])  # a pure function of (seed, index): resumable
    with pytest.raises(ConfigError, match="rumble share"):
        RecordingChain(pairs, RATE, rumble=2.0)


def test_noise_free_items_come_at_their_share_with_the_clean_speech_as_input() -> None:
    pairs = _Pairs()
    ds = SeededItems(NoiseFree(pairs, 0.3))
    free = 0
    for seed in range(200):
        item = ds[(1, seed)]
        assert torch.equal(item["x"], pairs[1]["x"])  # the target is never touched
        if item["name"].endswith("noise-free"):
            assert torch.equal(item["cond"], item["x"]) and item["cond"] is not item["x"]
            free += 1
        else:
            assert torch.equal(item["cond"], pairs[1]["cond"]) and item["name"] == "p1"
    assert 40 <= free <= 80  # 0.3 of 200 draws
    assert all(not SeededItems(NoiseFree(pairs, 0.0))[(0, s)]["name"].endswith("noise-free") for s in range(20))
    with pytest.raises(ConfigError, match="noise-free share"):
        NoiseFree(pairs, 1.5)


class _Tone(torch.utils.data.Dataset):
    """One item: a 1-kHz sine as the clean side, twice it as the noisy side."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> dict:
        clean = 0.1 * torch.sin(2 * torch.pi * 1000 * torch.arange(18000) / RATE)
        return {"x": clean, "cond": 2 * clean, "name": "tone"}


def test_speed_change_moves_the_pitch_by_whole_percents_and_keeps_the_pair_aligned() -> None:
    assert SpeedChange.source_length(16000, 0.1) == 17601
    ds = SeededItems(SpeedChange(_Tone(), 16000, 0.1))
    peaks = set()
    for seed in range(30):
        item = ds[(0, seed)]
        assert item["x"].shape == (16000,) and item["cond"].shape == (16000,) and item["name"] == "tone"
        # one factor and one offset for both sides: the noisy side is still twice the clean side
        assert torch.allclose(item["cond"], 2 * item["x"], atol=1e-6)
        spectrum = torch.fft.rfft(item["x"].double() * torch.hann_window(16000, dtype=torch.float64)).abs()
        peak = int(spectrum.argmax())  # 1-Hz bins: a 1-kHz tone played p % as fast peaks at 10 p Hz
        assert 900 <= peak <= 1100 and peak % 10 == 0
        peaks.add(peak)
    assert len(peaks) >= 8  # 21 factors, 30 draws
    assert torch.equal(ds[(0, 4)]["x"], ds[(0, 4)]["x"])  # a pure function of (seed, index): resumable
    still = SeededItems(SpeedChange(_Tone(), 16000, 0.0))[(0, 1)]
    assert int(torch.fft.rfft(still["x"].double()).abs().argmax()) == 1000
    with pytest.raises(ConfigError, match="speed spread"):
        SpeedChange(_Tone(), 16000, 0.7)


def test_tones_are_tonal_and_shaped_noise_is_not() -> None:
    def peakiness(kind: str, seed: int) -> float:  # strongest 1-Hz bin over the median of the 101 around it
        power = np.abs(np.fft.rfft(make_noise(kind, np.random.default_rng(seed), RATE, RATE))) ** 2
        local = np.median(np.lib.stride_tricks.sliding_window_view(power, 101), axis=1)
        return float((power[50:-50] / local).max())

    # noise of any spectral envelope: about ln(8000) / ln(2) = 13 for a smooth one (white: the same)
    assert max(peakiness("white", seed) for seed in range(10)) < 40
    assert max(peakiness("shaped", seed) for seed in range(10)) < 40
    assert min(peakiness("tones", seed) for seed in range(10)) > 80
    assert min(peakiness("whistles", seed) for seed in range(10)) > 80


def test_whistles_are_high_pure_tones_without_harmonic_stacks() -> None:
    def groups(kind: str, seed: int) -> int:  # runs of 1-Hz bins within 20 dB of the strongest, 250 Hz apart
        power = np.abs(np.fft.rfft(make_noise(kind, np.random.default_rng(seed), RATE, RATE))) ** 2
        strong = np.flatnonzero(power > power.max() / 100)
        return 1 + int((np.diff(strong) > 250).sum())

    # 1-4 pure tones (wobble and pulses smear each by well under 250 Hz): at most 4 groups; a whine's
    # harmonics of a 250-1000 Hz pitch are groups of their own
    assert max(groups("whistles", seed) for seed in range(40)) <= 4
    assert max(groups("tones", seed) for seed in range(40)) > 4

    def low_share(kind: str, seed: int) -> float:  # share of the power below 700 Hz
        power = np.abs(np.fft.rfft(make_noise(kind, np.random.default_rng(seed), RATE, RATE))) ** 2
        return float(power[:700].sum() / power.sum())

    # whistles start at 1 kHz, above voices' fundamentals: nothing of them where a vowel's f0 lies
    assert max(low_share("whistles", seed) for seed in range(40)) < 1e-3
    assert max(low_share("tones", seed) for seed in range(40)) > 0.5


def test_procedural_speech_is_a_pure_function_of_seed_split_index() -> None:
    train = ProceduralSpeech("train", size=8)
    torch.manual_seed(1)
    first = train[3]
    torch.manual_seed(2)  # the global RNG plays no part
    again = ProceduralSpeech("train", size=8)[3]
    assert torch.equal(first["x"], again["x"]) and torch.equal(first["cond"], again["cond"])
    state = torch.get_rng_state()
    train[4]
    assert torch.equal(torch.get_rng_state(), state)  # and is left untouched
    assert not torch.equal(ProceduralSpeech("test", size=8)[3]["x"], first["x"])
    assert not torch.equal(ProceduralSpeech("train", size=8, seed=1)[3]["x"], first["x"])
    assert first["name"] == "train-000003"
    with pytest.raises(IndexError):
        train[8]


def test_procedural_items_have_the_right_shape_and_snr() -> None:
    ds = ProceduralSpeech("train", size=20, seconds=1.5, snr_range=(0.0, 10.0))
    snrs = []
    for i in range(len(ds)):
        item = ds[i]
        for key in ("x", "cond"):
            assert item[key].dtype == torch.float32 and item[key].shape == (24000,)
            assert torch.isfinite(item[key]).all() and float(item[key].abs().max()) <= 0.99 + 1e-6
        snrs.append(snr_db(item))
    assert min(snrs) > -0.01 and max(snrs) < 10.01
    assert max(snrs) - min(snrs) > 3  # drawn, not fixed


def test_voice_is_speech_like() -> None:
    voice = make_voice(np.random.default_rng(5), 2 * RATE, RATE)
    assert voice.dtype == np.float32 and voice.shape == (2 * RATE,)
    voice = voice.astype(np.float64)
    assert abs(np.sqrt(np.mean(voice**2)) - 1) < 1e-3
    spectrum = np.abs(np.fft.rfft(voice)) ** 2
    freqs = np.fft.rfftfreq(len(voice), 1 / RATE)
    assert spectrum[freqs < 4000].sum() > 0.8 * spectrum.sum()  # energy mostly below 4 kHz
    frames = voice[: len(voice) // 320 * 320].reshape(-1, 320)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    assert energy.max() - energy.min() > 30  # syllables and gaps, not a steady tone


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_kinds_have_unit_power(kind: str) -> None:
    noise = make_noise(kind, np.random.default_rng(0), RATE, RATE)
    assert noise.dtype == np.float32 and noise.shape == (RATE,) and np.isfinite(noise).all()
    assert abs(float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))) - 1) < 1e-3
    if kind == "hum":  # 1-Hz bins: the power sits within 2 Hz of the harmonics of 50 or 60 Hz
        power = np.abs(np.fft.rfft(noise.astype(np.float64))) ** 2
        bins = np.arange(len(power))
        near = [np.abs((bins + mains / 2) % mains - mains / 2) <= 2 for mains in (50, 60)]
        assert max(power[mask].sum() for mask in near) > 0.95 * power.sum()
    with pytest.raises(ValueError, match="unknown noise kind"):
        make_noise("rain", np.random.default_rng(0), 10, RATE)


def test_procedural_speech_is_fast() -> None:
    ds = ProceduralSpeech("train", size=40)
    ds[0]
    start = time.process_time()  # CPU time: other processes on the machine do not count
    for i in range(1, 40):
        ds[i]
    per_item = (time.process_time() - start) / 39
    assert per_item < 0.020, f"{per_item * 1000:.1f} ms per 2-s item"
