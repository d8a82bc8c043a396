"""TensorBoard events for one run: every logged loss term and rate, every metric, and the samples
the task writes (images and audio; videos are listed by path, since TensorBoard's video summary
needs moviepy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cgp.api import ConfigError, hookimpl
from cgp.datasets.audio import load_audio

EVENTS_FOLDER = "tensorboard"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
AUDIO_SUFFIXES = {".wav", ".flac"}
AUDIO_RATE = 16_000  # the rate audio samples are shown at (the built-in speech task's rate)


class TensorBoardLogger:
    """Writes ``RUN_DIR/tensorboard/events.out.tfevents.*``: scalars ``train/<name>`` (every loss
    term, ``d_loss``, ``g_loss``, learning rates, steps per second) and ``eval/<metric>``, images and
    audio under ``samples/``."""

    def __init__(self, run_dir: Path, config: Any) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "logging.backends names 'tensorboard', which needs the tensorboard package; "
                "install it with: pip install 'cgp[tensorboard]'"
            ) from None
        self._writer_type = SummaryWriter
        self.log_dir = Path(run_dir) / EVENTS_FOLDER
        self.writer: Any = None

    @hookimpl
    def cgp_train_start(self, run_dir: Path, config: Any, start_step: int) -> None:
        # a resumed run drops the points logged after its checkpoint, as metrics.jsonl does
        self.writer = self._writer_type(log_dir=str(self.log_dir), purge_step=start_step or None)

    @hookimpl
    def cgp_step_end(self, step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self.writer.add_scalar(f"train/{name}", float(value), step)

    @hookimpl
    def cgp_evaluation_done(self, step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self.writer.add_scalar(f"eval/{name}", float(value), step)

    @hookimpl
    def cgp_samples_written(self, step: int, paths: list[Path]) -> None:
        for path in paths:
            path = Path(path)
            files = sorted(path.rglob("*")) if path.is_dir() else [path]
            for file in files:
                self._sample(file, step)

    def _sample(self, file: Path, step: int) -> None:
        suffix = file.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            with Image.open(file) as img:
                array = np.asarray(img.convert("RGB"))
            self.writer.add_image(_tag(file), array, step, dataformats="HWC")
        elif suffix in AUDIO_SUFFIXES:
            self.writer.add_audio(_tag(file), load_audio(file, AUDIO_RATE), step, sample_rate=AUDIO_RATE)

    @hookimpl
    def cgp_train_end(self, step: int, status: str) -> None:
        self.writer.flush()
        self.writer.close()


def _tag(file: Path) -> str:
    """The same tag for a sample at every step: ``step_00000250.png`` -> ``samples/png``,
    ``step_00000250/clip0.wav`` -> ``samples/clip0``."""
    if file.stem.startswith("step_"):
        return f"samples/{file.suffix.lstrip('.').lower()}"
    return f"samples/{file.stem}"
