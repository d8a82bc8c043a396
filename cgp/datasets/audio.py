"""Audio decoding and encoding through PyAV, with errors that name the file.

Every reader returns mono float32 in [-1, 1] at the rate asked for: channels are averaged, and other rates
are resampled with torchaudio's windowed-sinc resampler (``torchaudio.functional.resample``, Hann window, 6
zero crossings). :func:`iter_audio_blocks` streams a file of any length in bounded memory and gives the same
samples as :func:`load_audio`: it applies torchaudio's own resampling kernel block by block, keeping the
kernel's overlap between blocks, so only the order of floating-point sums differs.

Integer samples are scaled as FFmpeg scales them (``s16 / 32768``), so a 16-bit WAV written by
:func:`save_audio` reads back exactly.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import av
import numpy as np
import torch
import torchaudio

from cgp.core.errors import DataError
from cgp.datasets.paths import inside_root

log = logging.getLogger("cgp.data")

AUDIO_SUFFIXES = {
    ".wav", ".flac", ".mp3", ".ogg", ".opus", ".oga", ".m4a", ".aac", ".aif", ".aiff", ".wma", ".webm", ".mka",
}  # fmt: skip

CLIP_LEVEL = 0.999
"""A sample at or above this magnitude counts as full scale when looking for clipping."""
CLIP_RUN = 3
"""Consecutive full-scale samples in one channel that count as a clipped plateau."""
CLIP_FRACTION = 1e-3
"""Share of full-scale samples above which a file is reported as clipped even without plateaus."""

_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2.0**31, "s64": 2.0**63, "flt": 1.0, "dbl": 1.0}
"""Full scale of each PyAV sample format (packed name); integer formats map to [-1, 1) as FFmpeg does."""

_ENCODERS = {
    ".flac": ("flac", ("flac",)),
    ".mp3": ("mp3", ("libmp3lame",)),
    ".ogg": ("ogg", ("libvorbis", "libopus")),
    ".oga": ("ogg", ("libvorbis", "libopus")),
    ".opus": ("opus", ("libopus",)),
    ".m4a": ("ipod", ("aac",)),
    ".aac": ("adts", ("aac",)),
    ".aif": ("aiff", ("pcm_s16be",)),
    ".aiff": ("aiff", ("pcm_s16be",)),
}
"""Suffix -> (FFmpeg muxer, encoders to try in order) for everything but ``.wav``, which the stdlib writes."""

_MIN_RESAMPLE_INPUT = 1 << 15
"""Input samples gathered before a streaming resampling step, so the convolution runs on long stretches."""


_RATES_NOTED: set[tuple[int, int]] = set()


def _note_resampling(path: Path, rate: int, sample_rate: int) -> None:
    """One note per (source rate, target rate) and process naming the first such file; debug after that."""
    if (rate, sample_rate) in _RATES_NOTED:
        log.debug("'%s' is at %d Hz; resampled to %d Hz", path, rate, sample_rate)
        return
    _RATES_NOTED.add((rate, sample_rate))
    log.info(
        "'%s' is at %d Hz; resampled to %d Hz (and so is every other file at %d Hz)", path, rate, sample_rate, rate
    )


def list_audio(folder: Path) -> list[Path]:
    """Audio files directly in ``folder``, sorted by name, each checked to stay inside it."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    return [inside_root(folder, p.name) for p in files]


def load_audio(path: Path, sample_rate: int) -> torch.Tensor:
    """The whole of ``path`` as a 1-D float32 tensor in [-1, 1], mono, at ``sample_rate``."""
    with _decoded(path) as (rate, chunks):
        wav = torch.from_numpy(np.concatenate(list(chunks)))
    if rate == sample_rate:
        return wav
    _note_resampling(path, rate, sample_rate)
    with torch.no_grad():
        return resampler(rate, sample_rate)(wav)


def iter_audio_blocks(path: Path, sample_rate: int, block_samples: int) -> Iterator[torch.Tensor]:
    """``path`` as consecutive mono float32 blocks of ``block_samples`` (the last may be shorter).

    Decodes and resamples as it goes, holding a block and a few tens of thousands of samples whatever the file's
    length; the blocks put end to end equal :func:`load_audio` (exactly without resampling, to float rounding
    with it).
    """
    if block_samples <= 0:
        raise ValueError(f"block_samples must be positive, got {block_samples}")
    with _decoded(path) as (rate, chunks):
        if rate != sample_rate:
            _note_resampling(path, rate, sample_rate)
        resample = _BlockResampler(rate, sample_rate) if rate != sample_rate else None
        pending: list[torch.Tensor] = []
        held = 0
        for chunk in chunks:
            out = torch.from_numpy(chunk) if resample is None else resample.push(torch.from_numpy(chunk))
            pending.append(out)
            held += len(out)
            if held >= block_samples:
                joined = torch.cat(pending)
                whole = held - held % block_samples
                yield from joined[:whole].split(block_samples)
                pending, held = [joined[whole:]], held - whole
        if resample is not None:
            pending.append(resample.flush())
        tail = torch.cat(pending)
        if len(tail):
            yield from tail.split(block_samples)


def save_audio(path: Path, wav: torch.Tensor, sample_rate: int) -> None:
    """Write ``wav`` ([T] mono or [C, T], floats in [-1, 1]) to ``path``; the suffix picks the format.

    ``.wav`` is 16-bit PCM; ``.flac`` and ``.aiff`` are 16-bit too; ``.mp3``, ``.ogg``, ``.opus``, ``.m4a`` and
    ``.aac`` go through the FFmpeg encoders PyAV was built with. Written to a temporary file, then renamed.
    """
    channels = 1 if wav.dim() == 1 else wav.shape[0]
    with AudioWriter(path, sample_rate, channels) as writer:
        writer.write(wav)


class AudioWriter:
    """Append float blocks to an audio file incrementally; the file appears complete, or not at all.

    A context manager: blocks ([T] mono or [C, T]) go through :meth:`write`; on a clean exit the temporary
    file is renamed to ``path``, on an exception it is removed. ``.wav`` is written by the stdlib ``wave``
    module as 16-bit PCM; every other suffix of :func:`save_audio` is streamed through PyAV's encoder.
    """

    def __init__(self, path: Path, sample_rate: int, channels: int = 1) -> None:
        self.path = Path(path)
        self.sample_rate, self.channels = sample_rate, channels
        suffix = self.path.suffix.lower()
        if suffix != ".wav" and suffix not in _ENCODERS:
            known = ", ".join([".wav", *_ENCODERS])
            raise DataError(f"cannot write '{self.path}': unknown audio suffix '{suffix}'; use one of {known}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        os.close(fd)
        self._tmp = Path(name)
        self._samples = 0
        self._wave: wave.Wave_write | None = None
        self._container: av.container.OutputContainer | None = None
        try:
            if suffix == ".wav":
                self._wave = wave.open(str(self._tmp), "wb")  # closed in close() or _abort()
                self._wave.setnchannels(channels)
                self._wave.setsampwidth(2)
                self._wave.setframerate(sample_rate)
            else:
                self._open_encoder(suffix)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise

    def _open_encoder(self, suffix: str) -> None:
        muxer, candidates = _ENCODERS[suffix]
        available = [name for name in candidates if name in av.codecs_available]
        if not available:
            raise DataError(
                f"cannot write '{self.path}': this FFmpeg build has no encoder for '{suffix}' "
                f"(tried {', '.join(candidates)}); write .wav or .flac instead"
            )
        rates = av.codec.Codec(available[0], "w").audio_rates
        if rates and self.sample_rate not in rates:
            raise DataError(
                f"cannot write '{self.path}' at {self.sample_rate} Hz: the {available[0]} encoder takes only "
                f"{', '.join(map(str, sorted(rates)))} Hz; resample first, or write .wav or .flac"
            )
        self._container = av.open(str(self._tmp), "w", format=muxer)
        try:
            self._stream = self._container.add_stream(available[0], rate=self.sample_rate)
            self._stream.layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}c")
        except (av.FFmpegError, ValueError) as exc:
            self._container.close()
            raise DataError(
                f"cannot write '{self.path}' at {self.sample_rate} Hz ({exc}); write .wav instead"
            ) from None
        formats = {f.name for f in self._stream.codec_context.codec.audio_formats or ()}
        # 16-bit input keeps lossless formats sample-identical to the WAV writer
        self._frame_format = "s16" if "s16" in formats else "fltp"

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._abort()

    def write(self, block: torch.Tensor) -> None:
        """Append ``block`` ([T] or [C, T]); values outside [-1, 1] are clipped."""
        data = block.detach().float().cpu()
        data = (data[None] if data.dim() == 1 else data).clamp(-1.0, 1.0).numpy()
        if data.shape[0] != self.channels:
            raise ValueError(f"block has {data.shape[0]} channels; this writer was opened for {self.channels}")
        if self._wave is not None:
            self._wave.writeframes(_to_int16(data).T.astype("<i2").tobytes())
        else:
            self._encode(data)
        self._samples += data.shape[1]

    def _encode(self, data: np.ndarray) -> None:
        assert self._container is not None
        layout = self._stream.layout.name
        if self._frame_format == "s16":
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(_to_int16(data).T).reshape(1, -1), "s16", layout)
        else:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), "fltp", layout)
        frame.sample_rate = self.sample_rate
        frame.pts = self._samples
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except av.FFmpegError as exc:
            raise DataError(f"encoding '{self.path}' failed ({exc}); write .wav instead") from None

    def close(self) -> None:
        """Finish the file and move it into place."""
        try:
            if self._wave is not None:
                self._wave.close()
            elif self._container is not None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
                self._container.close()
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        os.replace(self._tmp, self.path)

    def _abort(self) -> None:
        with contextlib.suppress(Exception):
            if self._wave is not None:
                self._wave.close()
            elif self._container is not None:
                self._container.close()
        self._tmp.unlink(missing_ok=True)


def _to_int16(data: np.ndarray) -> np.ndarray:
    """Floats to 16-bit samples as FFmpeg converts them (round(x * 32768), clipped)."""
    return np.clip(np.rint(data * 32768.0), -32768, 32767).astype(np.int16)


@functools.lru_cache(maxsize=128)
def resampler(orig: int, new: int) -> torchaudio.transforms.Resample:
    """torchaudio's resampler from ``orig`` to ``new`` Hz, built once per pair (its kernel is the cost)."""
    return torchaudio.transforms.Resample(orig, new)


class _BlockResampler:
    """torchaudio's resampling, one stretch of input at a time.

    ``torchaudio.functional.resample`` pads the signal with ``width`` zeros in front and ``width + stride`` at
    the back, and convolves with a polyphase kernel at a stride of ``orig / gcd``; output frame ``j`` reads
    padded input ``[j * stride, j * stride + kernel_size)``. Here the padded input arrives in pieces and every
    frame whose window is complete is computed, so the concatenated output is the same convolution.
    """

    def __init__(self, orig: int, new: int) -> None:
        resample = resampler(orig, new)
        self.kernel: torch.Tensor = resample.kernel
        self.stride = orig // resample.gcd
        self.phases = new // resample.gcd
        self.pending: list[torch.Tensor] = [torch.zeros(resample.width)]
        self.held = resample.width
        self.tail = resample.width + self.stride
        self.n_in = 0
        self.n_out = 0

    def push(self, x: torch.Tensor) -> torch.Tensor:
        self.pending.append(x)
        self.held += len(x)
        self.n_in += len(x)
        return self._convolve() if self.held >= _MIN_RESAMPLE_INPUT + self.kernel.shape[-1] else x[:0]

    def flush(self) -> torch.Tensor:
        self.pending.append(torch.zeros(self.tail))
        out = self._convolve()
        # torchaudio's own length rule (ceil computed in float32), so that both paths give the same length
        total = int(torch.ceil(torch.as_tensor(self.phases * self.n_in / self.stride)))
        return out[: max(total - (self.n_out - len(out)), 0)]

    def _convolve(self) -> torch.Tensor:
        buffer = torch.cat(self.pending)
        size = self.kernel.shape[-1]
        frames = (len(buffer) - size) // self.stride + 1 if len(buffer) >= size else 0
        if frames <= 0:
            self.pending = [buffer]
            return buffer[:0]
        window = buffer[: (frames - 1) * self.stride + size]
        with torch.no_grad():
            out = torch.nn.functional.conv1d(window[None, None], self.kernel, stride=self.stride)
        rest = buffer[frames * self.stride :]
        self.pending, self.held = [rest], len(rest)
        self.n_out += frames * self.phases
        return out[0].T.reshape(-1)


class _ClipCheck:
    """Counts full-scale samples and plateaus of them, across frame boundaries, per channel."""

    def __init__(self) -> None:
        self.full = 0
        self.total = 0
        self.plateau = False
        self.run: np.ndarray | None = None

    def update(self, channels: np.ndarray) -> None:
        hot = np.abs(channels) >= CLIP_LEVEL
        self.full += int(hot.sum())
        self.total += hot.size
        if self.plateau:
            return
        carry = np.zeros(len(hot), dtype=int) if self.run is None else self.run
        lead = np.arange(CLIP_RUN - 1)[None, :] >= (CLIP_RUN - 1 - carry[:, None])
        extended = np.concatenate([lead, hot], axis=1)
        windows = np.lib.stride_tricks.sliding_window_view(extended, CLIP_RUN, axis=1)
        self.plateau = bool(windows.all(axis=2).any())
        cold = ~extended[:, ::-1]
        trailing = np.where(cold.any(axis=1), cold.argmax(axis=1), extended.shape[1])
        self.run = np.minimum(trailing, CLIP_RUN - 1)

    def report(self, path: Path) -> None:
        if self.total and (self.plateau or self.full > CLIP_FRACTION * self.total):
            log.warning(
                "'%s' looks clipped: %d samples (%.2f%%) at full scale; lower the level and re-export it",
                path,
                self.full,
                100.0 * self.full / self.total,
            )


def _as_float(frame: av.AudioFrame, path: Path) -> np.ndarray:
    """A decoded frame as float32 (channels, samples) in [-1, 1]."""
    kind = frame.format.packed.name
    if kind not in _SCALE:
        raise DataError(
            f"'{path}' decodes to samples of format {frame.format.name}, which cgp cannot read; "
            "re-export it as WAV or FLAC"
        )
    data = frame.to_ndarray()
    if not frame.format.is_planar:
        data = data.reshape(-1, frame.layout.nb_channels).T
    offset = 128.0 if kind == "u8" else 0.0
    return ((data.astype(np.float64) - offset) / _SCALE[kind]).astype(np.float32)


@contextlib.contextmanager
def _decoded(path: Path) -> Iterator[tuple[int, Iterator[np.ndarray]]]:
    """Open ``path``; yield its sample rate (that of its first frame) and an iterator of mono float32 chunks."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"audio file '{path}' does not exist; check the path")
    if path.stat().st_size == 0:
        raise DataError(f"audio file '{path}' is empty (0 bytes); remove it or export it again")
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise _undecodable(path, exc) from None
    try:
        if not container.streams.audio:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
            raise DataError(f"'{path}' has no audio stream (it holds {kinds}); give an audio file instead")
        frames = (frame for frame in container.decode(container.streams.audio[0]) if frame.samples)
        try:
            first = next(frames, None)
        except av.FFmpegError as exc:
            raise _undecodable(path, exc) from None
        if first is None:
            raise DataError(f"audio file '{path}' has no audio samples; remove it or export it again")
        if first.layout.nb_channels > 1:
            log.info("'%s' has %d channels; downmixed to mono", path, first.layout.nb_channels)
        yield first.sample_rate, _mono_chunks(itertools.chain([first], frames), first.sample_rate, path)
    finally:
        container.close()


def _mono_chunks(frames: Iterator[av.AudioFrame], rate: int, path: Path) -> Iterator[np.ndarray]:
    clip = _ClipCheck()
    try:
        for frame in frames:
            if frame.sample_rate != rate:
                raise DataError(
                    f"'{path}' changes sample rate mid-stream ({rate} -> {frame.sample_rate} Hz); re-export it"
                )
            channels = _as_float(frame, path)
            clip.update(channels)
            yield channels.mean(axis=0) if len(channels) > 1 else channels[0]
    except av.FFmpegError as exc:
        raise _undecodable(path, exc) from None
    clip.report(path)


def _undecodable(path: Path, exc: av.FFmpegError) -> DataError:
    reason = getattr(exc, "strerror", None) or str(exc)
    return DataError(f"'{path}' could not be decoded as audio ({reason}); re-export it as WAV or FLAC")
