"""Sample writing for video_predict: what the model continues, beside what really happened.

For the first ``eval.num_samples`` test clips, every written frame is a grid with one row per clip: the
truth on the left, the model's rollout on the right (both show the context frames first, then the
``eval.rollout_frames`` predicted or true frames). ``step_N.mp4`` (H.264, plays in browsers and in
``cgp report``) holds the frames in time; ``step_N.png`` lays the same frames out side by side, one
row of truth and one of prediction per clip, for a quick look without a player.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torchvision.utils import make_grid

from cgp.core.interfaces import GanModels
from cgp.core.rundir import sample_stem
from cgp.datasets.images import to_pil
from cgp.datasets.video import write_video


def _rgb(frames: torch.Tensor) -> torch.Tensor:
    return frames.expand(*frames.shape[:-3], 3, *frames.shape[-2:]) if frames.shape[-3] == 1 else frames


def rollouts(task: Any, models: GanModels, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(truth, prediction) of the first ``count`` test clips, each (N, K + T, C, S, S) with the context first."""
    dataset = task.build_dataset("test")
    items = [dataset[i] for i in range(min(count, len(dataset)))]
    frames = task.config.eval.rollout_frames
    context = torch.stack([it["cond"] for it in items])
    truth = torch.cat([context, torch.stack([it["x"][:frames] for it in items])], dim=1)
    device = next(models.parameters()).device
    with torch.no_grad():
        predicted = models.generator(models.condition(context.to(device)), frames=frames).float().cpu()
    return truth, torch.cat([context, predicted], dim=1)


def write_video_samples(task: Any, models: GanModels, directory: Path, step: int) -> list[Path]:
    truth, predicted = rollouts(task, models, task.config.eval.num_samples)
    n, t = truth.shape[:2]
    directory.mkdir(parents=True, exist_ok=True)
    pairs = torch.stack([_rgb(truth), _rgb(predicted)], dim=1)  # (N, 2, T, 3, S, S)
    grids = [make_grid(pairs[:, :, k].flatten(0, 1), nrow=2, padding=2, pad_value=1.0) for k in range(t)]
    video = write_video(directory / f"{sample_stem(step)}.mp4", torch.stack(grids), fps=4)
    strip = make_grid(pairs.flatten(0, 2), nrow=t, padding=2, pad_value=1.0)  # white lines on the [-1, 1] scale
    image = directory / f"{sample_stem(step)}.png"
    to_pil(strip).save(image)
    return [video, image]
