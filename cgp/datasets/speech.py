"""Speech-enhancement datasets: recorded noisy/clean pairs, or clean speech mixed with noise on the fly.

Items are ``{"x": clean waveform [T], "cond": noisy waveform [T], "name": str}``, mono float32 at the
dataset's sample rate, whatever the files' format, rate or channel count (see :mod:`cgp.datasets.audio`).

- :class:`NoisyCleanFolder` reads ``ROOT/{split}/clean/`` and ``ROOT/{split}/noisy/`` paired by file name
  without its suffix: the layout of VoiceBank+DEMAND (Valentini-Botinhao et al. 2016), the benchmark of
  SEGAN (Pascual et al. 2017) and its successors.
- :class:`MixedNoise` adds a random stretch of a random noise file to each clean file at an SNR drawn
  uniformly from a range, as the DNS Challenge's synthesiser does (Reddy et al. 2020).
- :class:`RemixedPairs` is dynamic mixing for recorded pairs: a share of the training items swap their
  noise for another pair's (``noisy - clean``), so a few hundred pairs give many more mixtures than they
  hold (the remixing of Zeghidour and Grangier 2021, "Wavesplit", and SpeechBrain's dynamic mixing).

Random crops, noise choices and SNRs draw from the global torch RNG inside ``__getitem__``; the core's
loader seeds it per item (:class:`cgp.core.data.SeededItems`), so a (seed, position) pair always gives the
same sample, in any worker and after a resume.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cgp.core.errors import ConfigError, DataError
from cgp.datasets.audio import list_audio, load_audio, resampler
from cgp.datasets.paths import inside_root, pair_by_stem, require_dir
from cgp.datasets.procedural_speech import NOISE_KINDS, make_noise

log = logging.getLogger("cgp.data")

LENGTH_TOLERANCE = 0.01
"""Clean and noisy files of a pair may differ in length by this share of the longer; both are then cut to the
shorter (encoders pad the end by a few milliseconds). A larger difference means the files do not match."""

QUIET_SEGMENT = 1e-3
"""A crop whose power is below this share of its whole file's (a pause, or padding) is mixed against the
file's power instead, so the noise level stays that of the utterance and never divides by zero."""


def random_crop(signals: list[torch.Tensor], segment: int) -> list[torch.Tensor]:
    """The same random stretch of ``segment`` samples from each equally long signal; shorter signals are
    zero-padded at the end. The offset comes from the global torch RNG."""
    length = signals[0].shape[-1]
    if length <= segment:
        return [torch.nn.functional.pad(s, (0, segment - length)) for s in signals]
    start = int(torch.randint(0, length - segment + 1, ()))
    return [s[..., start : start + segment] for s in signals]


def below_clipping(clean: torch.Tensor, noisy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both scaled down together when the noisy waveform would exceed 0.99 in magnitude; else as given."""
    peak = float(noisy.abs().max())
    if peak > 0.99:
        return clean * (0.99 / peak), noisy * (0.99 / peak)
    return clean, noisy


class NoisyCleanFolder(Dataset):
    """Recorded pairs from ``ROOT/{split}/clean/`` and ``ROOT/{split}/noisy/``, matched by file name.

    With ``segment`` (samples) each item is a random crop of that length, at the same offset in both files;
    shorter files are zero-padded at the end. With ``segment=None`` each item is a whole file.
    """

    def __init__(self, root: Path, split: str, sample_rate: int, segment: int | None = None) -> None:
        if segment is not None and segment <= 0:
            raise ConfigError(f"segment must be a positive number of samples or None, got {segment}")
        self.root = Path(root)
        self.sample_rate, self.segment = sample_rate, segment
        inside_root(self.root, split)  # a split that escapes the root is refused first
        clean_dir, noisy_dir = (inside_root(self.root, f"{split}/{side}") for side in ("clean", "noisy"))
        missing = [str(d) for d in (clean_dir, noisy_dir) if not d.is_dir()]
        if missing:
            raise DataError(
                f"'{missing[0]}' is not a folder; speech pairs are read from ROOT/{split}/clean/ and "
                f"ROOT/{split}/noisy/ holding files with matching names (the VoiceBank+DEMAND layout)"
            )
        self.pairs = pair_by_stem(clean_dir, noisy_dir, list_audio)
        if not self.pairs:
            raise DataError(f"'{clean_dir}' holds no audio files; put .wav (or .flac, .mp3, ...) files in it")
        self._noted: set[int] = set()

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        clean_path, noisy_path = self.pairs[index]
        clean = load_audio(clean_path, self.sample_rate)
        noisy = load_audio(noisy_path, self.sample_rate)
        if len(clean) != len(noisy):
            clean, noisy = self._match_lengths(index, clean, noisy)
        if self.segment is not None:
            clean, noisy = random_crop([clean, noisy], self.segment)
        return {"x": clean, "cond": noisy, "name": clean_path.stem}

    def _match_lengths(self, index: int, clean: torch.Tensor, noisy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        clean_path, noisy_path = self.pairs[index]
        short, long = sorted((len(clean), len(noisy)))
        if long - short > LENGTH_TOLERANCE * long:
            raise DataError(
                f"'{clean_path}' ({len(clean)} samples) and '{noisy_path}' ({len(noisy)} samples at "
                f"{self.sample_rate} Hz) differ in length by more than {LENGTH_TOLERANCE:.0%}, so they are not the "
                "same recording; fix or remove the pair"
            )
        if index not in self._noted:
            self._noted.add(index)
            log.info("'%s' and '%s' differ by %d samples; both cut to %d", clean_path, noisy_path, long - short, short)
        return clean[:short], noisy[:short]


class MixedNoise(Dataset):
    """Clean speech from ``clean_root`` plus noise from ``noise_root``, mixed on the fly.

    Item ``i`` uses clean file ``i % len(files)`` (``size`` items, default one per file), cropped to
    ``segment`` samples (or whole if ``None``); a random noise file from a random offset, looped if shorter;
    and an SNR uniform in ``snr_range`` dB, measured against the clean crop's power (see
    :data:`QUIET_SEGMENT`). If the mixture would exceed 0.99 in magnitude, clean and noisy are scaled down
    together, which leaves the SNR unchanged. With ``noise_speed`` above 0 the noise stretch plays at a
    random speed, uniform in ``1 +- noise_speed`` in 1 % steps, as in :class:`RemixedPairs`. Decoded noise
    files are kept in memory up to ``cache_mb`` (per worker process); the rest are decoded per item.
    """

    def __init__(
        self,
        clean_root: Path,
        noise_root: Path,
        sample_rate: int,
        segment: int | None,
        snr_range: tuple[float, float] = (-5.0, 15.0),
        size: int | None = None,
        cache_mb: float = 256.0,
        noise_speed: float = 0.0,
    ) -> None:
        if segment is not None and segment <= 0:
            raise ConfigError(f"segment must be a positive number of samples or None, got {segment}")
        low, high = float(snr_range[0]), float(snr_range[1])
        if low > high:
            raise ConfigError(f"snr_range must be (low, high) with low <= high, got {tuple(snr_range)}")
        self.sample_rate, self.segment, self.snr_range = sample_rate, segment, (low, high)
        self.noise_percents = speed_percents(noise_speed, "noise speed spread")
        self.clean = list_audio(require_dir(Path(clean_root), "clean speech folder"))
        self.noises = list_audio(require_dir(Path(noise_root), "noise folder"))
        for files, folder in ((self.clean, clean_root), (self.noises, noise_root)):
            if not files:
                raise DataError(f"'{folder}' holds no audio files; put .wav (or .flac, .mp3, ...) files in it")
        self.size = len(self.clean) if size is None else size
        self._cache: dict[Path, tuple[torch.Tensor, float]] = {}
        self._cache_left = int(cache_mb * 2**20)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.size:
            raise IndexError(f"item {index} is outside this {self.size}-item dataset")
        clean_path = self.clean[index % len(self.clean)]
        clean = load_audio(clean_path, self.sample_rate)
        clean_power = _power(clean)
        if clean_power == 0.0:
            raise DataError(f"clean speech file '{clean_path}' is silent (all zeros); remove it")
        if self.segment is not None:
            clean = random_crop([clean], self.segment)[0]
        noise_path = self.noises[int(torch.randint(0, len(self.noises), ()))]
        noise, noise_power = self._load_noise(noise_path)
        noise = _loop_crop_at_speed(noise, len(clean), self.noise_percents)
        snr = self.snr_range[0] + (self.snr_range[1] - self.snr_range[0]) * float(torch.rand(()))
        speech_level = _reference_power(clean, clean_power)
        noise_level = _reference_power(noise, noise_power)
        noisy = clean + (speech_level / (noise_level * 10 ** (snr / 10))) ** 0.5 * noise
        clean, noisy = below_clipping(clean, noisy)
        return {"x": clean, "cond": noisy, "name": f"{clean_path.stem}-{index}"}

    def _load_noise(self, path: Path) -> tuple[torch.Tensor, float]:
        """The decoded noise file and its power, from the cache when it is there."""
        if path in self._cache:
            return self._cache[path]
        noise = load_audio(path, self.sample_rate)
        power = _power(noise)
        if power == 0.0:
            raise DataError(f"noise file '{path}' is silent (all zeros); remove it")
        if noise.numel() * noise.element_size() <= self._cache_left:
            self._cache[path] = (noise, power)
            self._cache_left -= noise.numel() * noise.element_size()
        return noise, power


def _power(x: torch.Tensor) -> float:
    return float(x.double().pow(2).mean())


def _reference_power(segment: torch.Tensor, file_power: float) -> float:
    """The segment's power, or the whole file's where the segment is nearly silent."""
    power = _power(segment)
    return power if power >= QUIET_SEGMENT * file_power else file_power


def _loop_crop(noise: torch.Tensor, length: int) -> torch.Tensor:
    """``length`` samples of ``noise`` from a random offset, wrapping around to its start if it is shorter."""
    if len(noise) >= length:
        start = int(torch.randint(0, len(noise) - length + 1, ()))
        return noise[start : start + length]
    start = int(torch.randint(0, len(noise), ()))
    return noise[(start + torch.arange(length)) % len(noise)]


def speed_percents(spread: float, what: str = "speed spread") -> tuple[int, int]:
    """The whole percents a speed change of ``spread`` draws from: ``1 - spread`` to ``1 + spread``."""
    if not 0.0 <= spread < 0.5:
        raise ConfigError(f"the {what} must be in [0, 0.5), got {spread}")
    return round(100 * (1 - spread)), round(100 * (1 + spread))


def _loop_crop_at_speed(noise: torch.Tensor, length: int, percents: tuple[int, int]) -> torch.Tensor:
    """:func:`_loop_crop` played at a random speed of ``percents`` (whole percents, drawn only when they
    differ from 100), so the noise's pitch and spectrum move by that factor."""
    percent = 100 if percents == (100, 100) else int(torch.randint(percents[0], percents[1] + 1, ()))
    if percent == 100:
        return _loop_crop(noise, length)
    crop = _loop_crop(noise, math.ceil(length * percent / 100) + 1)
    return resampler(percent, 100)(crop)[:length]


class RemixedPairs(Dataset):
    """Recorded pairs, a share of them remixed on the fly: training crops for pairs that are clean + noise.

    ``pairs`` yields whole items ``{"x": clean, "cond": noisy}`` (any registered pair reader called without
    a segment). With probability ``probability`` item ``i`` keeps its clean speech and takes the noise of a
    random pair ``j``, ``noisy_j - clean_j``, from a random offset (looped if shorter) and scaled by
    ``rms(clean_i) / rms(clean_j)``, so the new mixture has pair ``j``'s SNR and the set keeps its own SNR
    distribution; otherwise the pair is used as recorded. Then both are cropped to ``segment`` samples at
    the same offset. A share ``synthetic`` of the remixed crops take a procedural noise instead, one of ``kinds``
    (white, pink, brown, hum, babble, bursts: :func:`cgp.datasets.procedural_speech.make_noise`) at an SNR uniform in
    ``snr_range``, widening the kinds of noise a small set holds. If the mixture would exceed 0.99 in
    magnitude, clean and noisy are scaled down together. With ``noise_speed`` above 0 each borrowed noise
    plays at its own random speed, uniform in ``1 +- noise_speed`` in 1 % steps (a resampling: a drone's
    pitch, a cricket's chirp and a noise's spectrum all move), so a few recordings give many more noises.

    The residual ``noisy - clean`` is the noise only where the noisy file is the clean one plus noise, sample
    aligned (VoiceBank+DEMAND, the DNS sets, anything mixed by a script); for recordings that differ in
    other ways (reverberation, a second microphone, clipping) keep ``probability`` at 0. Decoded items are
    kept in memory up to ``cache_mb`` (per worker process); the rest are decoded per access.
    """

    def __init__(
        self,
        pairs: Dataset,
        segment: int,
        probability: float,
        synthetic: float = 0.0,
        snr_range: tuple[float, float] = (-5.0, 15.0),
        sample_rate: int = 16000,
        cache_mb: float = 256.0,
        kinds: Sequence[str] = NOISE_KINDS,
        noise_speed: float = 0.0,
    ) -> None:
        if segment <= 0:
            raise ConfigError(f"segment must be a positive number of samples, got {segment}")
        for what, share in (("remix probability", probability), ("synthetic share", synthetic)):
            if not 0.0 <= share <= 1.0:
                raise ConfigError(f"{what} must be in [0, 1], got {share}")
        unknown = sorted(set(kinds) - set(NOISE_KINDS))
        if unknown or not kinds:
            what = f"unknown procedural noise kinds {unknown}" if unknown else "no procedural noise kinds"
            raise ConfigError(f"{what}; choose one or more of {', '.join(NOISE_KINDS)}")
        self.kinds = tuple(kinds)
        self.noise_percents = speed_percents(noise_speed, "noise speed spread")
        self.pairs, self.segment, self.probability, self.synthetic = pairs, segment, probability, synthetic
        self.snr_range, self.sample_rate = (float(snr_range[0]), float(snr_range[1])), sample_rate
        self._cache: dict[int, tuple[torch.Tensor, torch.Tensor, str, float]] = {}
        self._cache_left = int(cache_mb * 2**20)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        clean, noisy, name, power = self._whole(index)
        if not (self.probability > 0 and float(torch.rand(())) < self.probability):
            clean, noisy = random_crop([clean, noisy], self.segment)
            return {"x": clean, "cond": noisy, "name": name}
        clean = random_crop([clean], self.segment)[0]
        if self.synthetic > 0 and float(torch.rand(())) < self.synthetic:
            noise, source = self._synthetic_noise(clean, power)
        else:
            noise, source = self._pair_noise(power)
        noisy = clean + noise
        clean, noisy = below_clipping(clean, noisy)
        return {"x": clean, "cond": noisy, "name": f"{name}-{source}"}

    def _pair_noise(self, power: float) -> tuple[torch.Tensor, str]:
        """A random pair's noise, scaled to that pair's SNR against speech of ``power``."""
        other = int(torch.randint(0, len(self.pairs), ()))
        clean_other, noisy_other, _, power_other = self._whole(other)
        noise = _loop_crop_at_speed(noisy_other - clean_other, self.segment, self.noise_percents)
        return (power / max(power_other, 1e-20)) ** 0.5 * noise, f"remix-{other}"

    def _synthetic_noise(self, clean: torch.Tensor, power: float) -> tuple[torch.Tensor, str]:
        """A procedural noise of a random family at an SNR uniform in ``snr_range``."""
        kind = self.kinds[int(torch.randint(0, len(self.kinds), ()))]
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ())))
        noise = torch.from_numpy(make_noise(kind, rng, self.segment, self.sample_rate)).float()  # unit power
        snr = self.snr_range[0] + (self.snr_range[1] - self.snr_range[0]) * float(torch.rand(()))
        return (_reference_power(clean, power) / 10 ** (snr / 10)) ** 0.5 * noise, kind

    def _whole(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str, float]:
        """Pair ``index`` whole: clean, noisy, name and the clean file's power."""
        if index in self._cache:
            return self._cache[index]
        item = self.pairs[index]
        whole = (item["x"], item["cond"], str(item.get("name", index)), _power(item["x"]))
        size = (whole[0].numel() + whole[1].numel()) * whole[0].element_size()
        if size <= self._cache_left:
            self._cache[index] = whole
            self._cache_left -= size
        return whole


def _sign() -> float:
    """+1 or -1 from the global torch RNG."""
    return 1.0 if float(torch.rand(())) < 0.5 else -1.0


class RecordingChain(Dataset):
    """Training items heard through a random recording chain: one level and one equaliser per item,
    applied to the clean and the noisy waveform alike (so the noisy one stays the clean one plus noise).

    A small set holds a few microphones, rooms and codecs, and a model trained on it learns their
    colouring as part of what speech is. Each item is scaled by a gain uniform in ``±gain_db`` and filtered
    by a smooth zero-phase equaliser: a spectral tilt of up to ``±eq_db`` between 125 Hz and 8 kHz plus
    ``bumps`` bell curves (centres log-uniform in 100 Hz-7 kHz, 0.5-2 octaves wide) of up to ``±eq_db``
    each, applied to the item's spectrum (its impulse response is a few milliseconds long, so the circular
    FFT filtering does not wrap audibly). A share ``rumble`` of the items also gets a low-frequency rumble,
    added to both sides as part of the recording (handling noise, air conditioning, a DC offset: what a
    real microphone's "clean" reference holds below 100 Hz): Gaussian noise low-passed at a corner
    uniform in 40-100 Hz (fourth-order roll-off) plus a DC offset taking a uniform share of its power,
    at a level uniform in ``RUMBLE_DB`` relative to the clean item. If the result would exceed 0.99 in
    magnitude, both are scaled down together. The draws come from the global torch RNG, which the core's
    loader seeds per item.
    """

    RUMBLE_DB = (-35.0, -10.0)

    def __init__(
        self,
        dataset: Dataset,
        sample_rate: int,
        gain_db: float = 0.0,
        eq_db: float = 0.0,
        bumps: int = 2,
        rumble: float = 0.0,
    ) -> None:
        if gain_db < 0 or eq_db < 0:
            raise ConfigError(f"gain_db and eq_db are ranges in dB and cannot be negative, got {gain_db}, {eq_db}")
        if not 0.0 <= rumble <= 1.0:
            raise ConfigError(f"the rumble share must be in [0, 1], got {rumble}")
        self.dataset, self.sample_rate = dataset, sample_rate
        self.gain_db, self.eq_db, self.bumps, self.rumble = float(gain_db), float(eq_db), bumps, float(rumble)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        clean, noisy = item["x"], item["cond"]
        gain = 10 ** (self.gain_db * (2 * float(torch.rand(())) - 1) / 20)
        if self.eq_db > 0:
            response = self.response(clean.shape[-1])
            clean, noisy = (torch.fft.irfft(torch.fft.rfft(s) * response, n=s.shape[-1]) for s in (clean, noisy))
        if self.rumble and float(torch.rand(())) < self.rumble:
            low = self.low_rumble(clean)
            clean, noisy = clean + low, noisy + low
        clean, noisy = clean * gain, noisy * gain
        clean, noisy = below_clipping(clean, noisy)
        return {**item, "x": clean, "cond": noisy}

    def low_rumble(self, clean: torch.Tensor) -> torch.Tensor:
        """One random rumble for ``clean``: low-passed noise plus a DC offset at a level of ``RUMBLE_DB``."""
        n = clean.shape[-1]
        corner = 40.0 + 60.0 * float(torch.rand(()))
        freqs = torch.fft.rfftfreq(n, 1.0 / self.sample_rate)
        noise = torch.fft.irfft(torch.fft.rfft(torch.randn(n)) / (1 + (freqs / corner) ** 4), n=n)
        noise = noise - noise.mean()
        dc_share = float(torch.rand(()))
        low = noise * ((1 - dc_share) / noise.pow(2).mean().clamp(min=1e-20)) ** 0.5 + dc_share**0.5 * _sign()
        level_db = self.RUMBLE_DB[0] + (self.RUMBLE_DB[1] - self.RUMBLE_DB[0]) * float(torch.rand(()))
        return low.to(clean.dtype) * (clean.pow(2).mean() * 10 ** (level_db / 10)) ** 0.5

    def response(self, samples: int) -> torch.Tensor:
        """One random equaliser's linear gain at the rfft bins of ``samples`` samples."""
        octaves = torch.log2(torch.fft.rfftfreq(samples, 1.0 / self.sample_rate).clamp(min=50.0) / 1000.0)
        tilt = self.eq_db * (2 * float(torch.rand(())) - 1)
        db = tilt * (octaves + 3.0) / 6.0 - tilt / 2  # -tilt/2 at 125 Hz, +tilt/2 at 8 kHz
        for _ in range(self.bumps):
            centre = float(torch.empty(()).uniform_(np.log2(0.1), np.log2(7.0)))
            width = 0.25 + 0.75 * float(torch.rand(()))  # the bell's standard deviation: 0.5-2 octaves wide
            height = self.eq_db * (2 * float(torch.rand(())) - 1)
            db = db + height * torch.exp(-0.5 * ((octaves - centre) / width) ** 2)
        return 10 ** (db / 20)


class SpeedChange(Dataset):
    """Training items played faster or slower: voices the set does not hold (speed perturbation, as in
    Kaldi's recipes and SpeechBrain's ``SpeedPerturb``; Ko et al. 2015, "Audio augmentation for speech
    recognition").

    Each item is resampled by a factor drawn uniformly from ``1 - spread`` to ``1 + spread`` in steps of
    1 % (``torchaudio.functional.resample`` from ``100 * factor`` to 100 Hz, read at the set's rate), so
    the pitch, the formants and the tempo all move by that factor, as between a shorter and a longer
    vocal tract. The clean and the noisy waveform are resampled alike (resampling is linear, so the noisy
    one stays the clean one plus the equally changed noise), then cropped at one random offset to
    ``segment`` samples. ``dataset`` must yield items of at least :meth:`source_length` samples. The
    draws come from the global torch RNG, which the core's loader seeds per item.
    """

    def __init__(self, dataset: Dataset, segment: int, spread: float) -> None:
        self.dataset, self.segment = dataset, segment
        self.percents = speed_percents(spread)

    @staticmethod
    def source_length(segment: int, spread: float) -> int:
        """Samples an item needs so that the fastest change still leaves ``segment`` of them."""
        return math.ceil(segment * (round(100 * (1 + spread)) / 100)) + 1

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        percent = int(torch.randint(self.percents[0], self.percents[1] + 1, ()))
        clean, noisy = item["x"], item["cond"]
        if percent != 100:
            change = resampler(percent, 100)  # percent / 100 times faster, read at the same rate
            clean, noisy = change(clean), change(noisy)
        clean, noisy = random_crop([clean, noisy], self.segment)
        return {**item, "x": clean, "cond": noisy}


class NoiseFree(Dataset):
    """A share of training items whose noisy input is their clean speech itself, so that passing speech
    through unchanged is learnt from examples and not only inferred from noisy ones. Item ``i`` is drawn
    noise-free with probability ``share`` from the global torch RNG, which the core's loader seeds per
    item."""

    def __init__(self, dataset: Dataset, share: float) -> None:
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"the noise-free share must be in [0, 1], got {share}")
        self.dataset, self.share = dataset, share

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        if float(torch.rand(())) < self.share:
            return {**item, "cond": item["x"].clone(), "name": f"{item.get('name', index)}-noise-free"}
        return item
