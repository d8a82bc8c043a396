"""``cgp generate`` for the speech task: enhance files of any length in overlapping chunks.

A file is decoded, enhanced and written block by block, so memory stays bounded by one chunk plus
its context whatever the file's length. Each chunk is enhanced together with ``context`` samples of
audio on each side, and only its middle is kept. Chunk and context are whole multiples of the hop
times the U-Net's stride, so every chunk's STFT frames and U-Net grid line up with those of the
whole file; with a context at least the network's reach (its receptive field in frames times the
hop) the kept samples equal whole-file enhancement up to float rounding.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from cgp.core.config import StrictModel
from cgp.core.errors import DataError
from cgp.core.interfaces import GanModels
from cgp.datasets.audio import AUDIO_SUFFIXES, AudioWriter, iter_audio_blocks, list_audio
from cgp.datasets.paths import expand_files

if TYPE_CHECKING:
    from cgp.plugins.speech_enhance.task import SpeechEnhanceTask

log = logging.getLogger(__name__)


def enhance_blocks(
    blocks: Iterable[torch.Tensor], enhance: Callable[[torch.Tensor], torch.Tensor], context: int
) -> Iterator[torch.Tensor]:
    """Enhance a stream of equal blocks (the last may be shorter), each with up to ``context`` samples of
    the stream on either side; yields one enhanced block per input block. Blocks must be at least
    ``context`` long, so the right context comes from the next block alone."""
    stream = iter(blocks)
    current = next(stream, None)
    history = torch.zeros(0)
    while current is not None:
        following = next(stream, None)
        right = following[:context] if following is not None else torch.zeros(0)
        if following is not None and len(current) < context:
            raise ValueError(f"blocks of {len(current)} samples are shorter than the context of {context}")
        segment = torch.cat([history, current, right])
        out = enhance(segment)
        yield out[len(history) : len(history) + len(current)]
        history = torch.cat([history, current])[-context:] if context else torch.zeros(0)
        current = following


def chunk_sizes(
    task: SpeechEnhanceTask, models: GanModels, chunk_seconds: float, context_seconds: float
) -> tuple[int, int]:
    """(chunk, context) in samples, rounded up to whole multiples of hop x U-Net stride; chunk >= context."""
    rate = task.config.data.sample_rate
    unit = task.config.model.hop * models.generator.stride
    context = -(-round(context_seconds * rate) // unit) * unit
    chunk = max(-(-round(chunk_seconds * rate) // unit) * unit, context, unit)
    return chunk, context


def enhancer(models: GanModels) -> Callable[[torch.Tensor], torch.Tensor]:
    device = next(models.parameters()).device

    def run(segment: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return models.generator(models.condition(segment[None].to(device))).float()[0].cpu()

    return run


def enhance_file(
    source: Path, target: Path, rate: int, enhance: Callable[[torch.Tensor], torch.Tensor], chunk: int, context: int
) -> float:
    """Enhance ``source`` into ``target`` chunk by chunk; returns the seconds of audio written."""
    samples = 0
    with AudioWriter(target, rate) as writer:
        for block in enhance_blocks(iter_audio_blocks(source, rate, chunk), enhance, context):
            writer.write(block.clamp(-1.0, 1.0))
            samples += len(block)
    if samples == 0:
        raise DataError(f"'{source}' holds no audio samples; nothing to enhance")
    return samples / rate


def enhance_files(
    task: SpeechEnhanceTask, models: GanModels, inputs: list[str], output: Path, options: StrictModel
) -> list[Path]:
    """Enhance every input file (or every audio file in given folders). One input and an audio suffix on
    ``output`` writes that file (in the format the suffix names); otherwise ``output`` is a folder of
    ``NAME.wav`` files."""
    files = expand_files(inputs, list_audio, "audio files")
    single = len(files) == 1 and output.suffix.lower() in AUDIO_SUFFIXES
    rate = task.config.data.sample_rate
    chunk, context = chunk_sizes(task, models, options.chunk_seconds, options.context_seconds)
    run = enhancer(models)
    written = []
    for file in files:
        target = output if single else output / f"{file.stem}.wav"
        t0 = time.perf_counter()
        seconds = enhance_file(file, target, rate, run, chunk, context)
        elapsed = time.perf_counter() - t0
        log.info(
            "%s -> %s: %.1f s of audio in %.1f s (real-time factor %.3f)",
            file,
            target,
            seconds,
            elapsed,
            elapsed / seconds,
        )
        written.append(target)
    return written
