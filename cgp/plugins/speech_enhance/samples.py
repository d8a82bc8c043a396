"""Samples of the speech task: WAV files of noisy | enhanced | clean test items and one spectrogram sheet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from cgp.core.interfaces import GanModels
from cgp.core.rundir import sample_stem
from cgp.datasets.audio import save_audio

if TYPE_CHECKING:
    from cgp.plugins.speech_enhance.task import SpeechEnhanceTask

DB_RANGE = 80.0


def spectrogram_image(spec: torch.Tensor) -> np.ndarray:
    """(bins, frames) complex -> (bins, frames, 3) uint8, low frequencies at the bottom, 80 dB shown."""
    db = 20 * torch.log10(spec.abs().clamp_min(1e-8))
    db = (db - db.max() + DB_RANGE).clamp(0, DB_RANGE) / DB_RANGE
    rgb = colormaps["magma"](db.flip(0).numpy())[..., :3]
    return (rgb * 255).astype(np.uint8)


def write_speech_samples(task: SpeechEnhanceTask, models: GanModels, directory: Path, step: int) -> list[Path]:
    """For the first ``eval.num_samples`` test items: ``step_N/K_{noisy,enhanced,clean}.wav`` and
    ``step_N.png`` with one row per item (noisy | enhanced | clean spectrograms, 80 dB range)."""
    dataset = task.build_dataset("test")
    rate = task.config.data.sample_rate
    device = next(models.parameters()).device
    frontend = models.condition.frontend
    folder = directory / sample_stem(step)
    written: list[Path] = []
    rows = []
    with torch.no_grad():
        for k in range(min(task.config.eval.num_samples, len(dataset))):
            item = dataset[k]
            noisy = item["cond"][None].to(device)
            enhanced = models.generator(models.condition(noisy)).float()[0].cpu()
            waves = {"noisy": item["cond"], "enhanced": enhanced, "clean": item["x"]}
            for name, wave in waves.items():
                path = folder / f"{k}_{name}.wav"
                save_audio(path, wave.clamp(-1, 1), rate)
                written.append(path)
            specs = [spectrogram_image(frontend.stft(w.to(device)).cpu()) for w in waves.values()]
            gap = np.full((specs[0].shape[0], 4, 3), 255, np.uint8)
            rows.append(np.concatenate([specs[0], gap, specs[1], gap, specs[2]], axis=1))
    if rows:
        width = max(r.shape[1] for r in rows)
        padded = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
        sheet = directory / f"{sample_stem(step)}.png"
        Image.fromarray(np.concatenate(padded, axis=0)).save(sheet)
        written.append(sheet)
    return written
