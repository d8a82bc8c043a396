"""Audio decoding, encoding and streaming through PyAV (cgp.datasets.audio)."""

from __future__ import annotations

import logging
import math
import wave
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import torchaudio
from PIL import Image

from cgp.core.errors import DataError
from cgp.datasets import audio
from cgp.datasets.audio import AudioWriter, iter_audio_blocks, list_audio, load_audio, save_audio


def tone(n: int, rate: int, hz: float = 440.0, amplitude: float = 0.5) -> torch.Tensor:
    return amplitude * torch.sin(2 * math.pi * hz * torch.arange(n, dtype=torch.float64) / rate).float()


def noise(n: int, seed: int = 0, amplitude: float = 0.3) -> torch.Tensor:
    return amplitude * (2 * torch.rand(n, generator=torch.Generator().manual_seed(seed)) - 1)


def write_wave(path: Path, samples: np.ndarray, rate: int) -> None:
    """A 16-bit WAV through the stdlib, independent of the code under test; ``samples`` is (T, C) int16."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def test_wav_round_trip_is_exact_to_16_bits(tmp_path: Path) -> None:
    x = noise(4001, amplitude=0.9)
    save_audio(tmp_path / "a.wav", x, 16000)
    y = load_audio(tmp_path / "a.wav", 16000)
    assert y.dtype == torch.float32 and y.shape == (4001,)
    assert float((y - x).abs().max()) <= 0.5 / 32768 + 1e-7
    assert torch.equal(y * 32768, (y * 32768).round())
    save_audio(tmp_path / "b.wav", y, 16000)  # already on the 16-bit grid: written back unchanged
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_flac_round_trip_matches_wav(tmp_path: Path) -> None:
    x = noise(5000, seed=1)
    save_audio(tmp_path / "a.wav", x, 22050)
    save_audio(tmp_path / "a.flac", x, 22050)
    assert (tmp_path / "a.flac").read_bytes()[:4] == b"fLaC"
    assert torch.equal(load_audio(tmp_path / "a.flac", 22050), load_audio(tmp_path / "a.wav", 22050))


def test_stereo_44k_is_downmixed_and_resampled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    n = 44100 // 2
    left = np.rint(tone(n, 44100, 1000.0, 0.6).numpy() * 32767).astype(np.int16)
    right = np.rint(noise(n, seed=2).numpy() * 32767).astype(np.int16)
    write_wave(tmp_path / "st.wav", np.stack([left, right], axis=1), 44100)
    with caplog.at_level(logging.INFO, logger="cgp.data"):
        y = load_audio(tmp_path / "st.wav", 16000)
    assert "'" + str(tmp_path / "st.wav") + "' has 2 channels; downmixed to mono" in caplog.text
    assert y.shape == (math.ceil(n * 16000 / 44100),)
    mono = torch.from_numpy((left.astype(np.float32) + right.astype(np.float32)) / 2 / 32768)
    expected = torchaudio.functional.resample(mono, 44100, 16000)
    assert float((y - expected).abs().max()) < 1e-5
    spectrum = torch.fft.rfft(y).abs()
    assert abs(float(spectrum[50:].argmax() + 50) * 16000 / len(y) - 1000.0) < 5.0  # the tone survives


def test_a_different_rate_is_noted_once_per_rate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio, "_RATES_NOTED", set())
    for name in ("first.wav", "second.wav"):
        save_audio(tmp_path / name, tone(11025, 22050, 440.0, 0.5), 22050)
    with caplog.at_level(logging.INFO, logger="cgp.data"):
        load_audio(tmp_path / "first.wav", 16000)
        load_audio(tmp_path / "second.wav", 16000)
    notes = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert notes == [
        f"'{tmp_path / 'first.wav'}' is at 22050 Hz; resampled to 16000 Hz (and so is every other file at 22050 Hz)"
    ]


def make_empty(path: Path) -> None:
    path.write_bytes(b"")


def make_corrupt(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())


def make_zero_length(path: Path) -> None:
    write_wave(path, np.zeros((0, 1), dtype=np.int16), 16000)


def make_image(path: Path) -> None:
    Image.new("RGB", (8, 8)).save(path, format="PNG")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (make_empty, "is empty (0 bytes)"),
        (make_corrupt, "could not be decoded as audio"),
        (make_zero_length, "has no audio samples"),
        (make_image, "has no audio stream"),
        (None, "does not exist"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, make: Callable[[Path], None] | None, message: str) -> None:
    path = tmp_path / "bad.wav"
    if make is not None:
        make(path)
    for read in (lambda: load_audio(path, 16000), lambda: list(iter_audio_blocks(path, 16000, 100))):
        with pytest.raises(DataError) as info:
            read()
        text = str(info.value)
        assert f"'{path}'" in text and message in text and "\n" not in text


@pytest.mark.parametrize(
    ("full_scale", "warned"),
    [
        ([1023, 1024, 1025], True),  # a plateau of three, across the decoder's 1024-sample frames
        (list(range(0, 16000, 50)), True),  # scattered, but 2% of the samples
        ([5000, 5001], False),  # two in a row: a loud peak, not clipping
        ([], False),
    ],
)
def test_clipped_input_warns_with_the_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, full_scale: list[int], warned: bool
) -> None:
    x = tone(16000, 16000, 200.0, 0.9)
    x[full_scale] = -1.0
    save_audio(tmp_path / "clip.wav", x, 16000)
    with caplog.at_level(logging.WARNING, logger="cgp.data"):
        load_audio(tmp_path / "clip.wav", 16000)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert messages == (
        [
            f"'{tmp_path / 'clip.wav'}' looks clipped: {len(full_scale)} samples "
            f"({100 * len(full_scale) / 16000:.2f}%) at full scale; lower the level and re-export it"
        ]
        if warned
        else []
    )


@pytest.mark.parametrize("block", [7, 1000, 12_345, 100_000])
def test_stream_equals_whole_file_without_resampling(tmp_path: Path, block: int) -> None:
    save_audio(tmp_path / "a.flac", noise(12_345, seed=3), 16000)
    blocks = list(iter_audio_blocks(tmp_path / "a.flac", 16000, block))
    assert all(len(b) == block for b in blocks[:-1]) and 0 < len(blocks[-1]) <= block
    assert torch.equal(torch.cat(blocks), load_audio(tmp_path / "a.flac", 16000))


@pytest.mark.parametrize(("rate", "block"), [(44100, 4000), (8000, 999), (48000, 16000)])
def test_stream_equals_whole_file_with_resampling(tmp_path: Path, rate: int, block: int) -> None:
    n = int(rate * 2.1) + 17  # long enough for several resampling steps
    save_audio(tmp_path / "a.wav", noise(n, seed=4) + tone(n, rate, 300.0, 0.3), rate)
    blocks = list(iter_audio_blocks(tmp_path / "a.wav", 16000, block))
    whole = load_audio(tmp_path / "a.wav", 16000)
    assert all(len(b) == block for b in blocks[:-1])
    streamed = torch.cat(blocks)
    assert streamed.shape == whole.shape
    assert float((streamed - whole).abs().max()) < 1e-5


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_writer_in_blocks_equals_save_audio(tmp_path: Path, suffix: str) -> None:
    x = noise(10_000, seed=5)
    save_audio(tmp_path / f"whole{suffix}", x, 16000)
    with AudioWriter(tmp_path / "out" / f"blocks{suffix}", 16000) as writer:
        for piece in torch.split(x, 777):
            writer.write(piece)
    written = load_audio(tmp_path / "out" / f"blocks{suffix}", 16000)
    assert torch.equal(written, load_audio(tmp_path / f"whole{suffix}", 16000))
    if suffix == ".wav":
        assert (tmp_path / "out" / "blocks.wav").read_bytes() == (tmp_path / "whole.wav").read_bytes()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"blocks{suffix}"]  # no temporary left


def test_writer_leaves_nothing_when_interrupted(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), AudioWriter(tmp_path / "a.wav", 16000) as writer:
        writer.write(noise(100))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not {"libvorbis", "libopus"} & av.codecs_available, reason="no Ogg encoder in FFmpeg")
def test_lossy_formats_decode_back(tmp_path: Path) -> None:
    x = tone(16000, 16000, 440.0, 0.5)
    save_audio(tmp_path / "a.ogg", x, 16000)
    y = load_audio(tmp_path / "a.ogg", 16000)
    assert abs(len(y) - len(x)) < 0.05 * len(x)
    assert abs(float(y.pow(2).mean().sqrt()) - float(x.pow(2).mean().sqrt())) < 0.05


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown audio suffix '\.xyz'"):
        save_audio(tmp_path / "a.xyz", noise(10), 16000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif("libopus" not in av.codecs_available, reason="FFmpeg built without libopus")
def test_rate_the_encoder_cannot_take_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"at 44100 Hz: the libopus encoder takes only .*48000 Hz"):
        save_audio(tmp_path / "a.opus", noise(10), 44100)
    assert list(tmp_path.iterdir()) == []


def test_list_audio_is_sorted_and_stays_inside(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("b.flac", "a.WAV", "notes.txt", "c.mp3"):
        (folder / name).write_bytes(b"x")
    assert [p.name for p in list_audio(folder)] == ["a.WAV", "b.flac", "c.mp3"]
    (tmp_path / "outside.wav").write_bytes(b"x")
    (folder / "link.wav").symlink_to(tmp_path / "outside.wav")
    with pytest.raises(DataError, match="escapes the data root"):
        list_audio(folder)
