"""The video_predict metric ``prediction_quality``: how close a rollout is to what really happened.

On each test clip the model sees the first K frames and rolls out ``eval.rollout_frames`` (T) frames,
feeding its own predictions back. Per predicted step t+1 ... t+T and on average: PSNR and SSIM (see
:mod:`cgp.metrics.image`), the mean squared error summed over the pixels of a frame on the [0, 1] scale
(OpenSTL's ``mse`` convention, so numbers read against its Moving-MNIST tables), and the sharpness (the
prediction's high-frequency energy over the truth's: a blurry average scores well below 1). The same
numbers for two baselines on the same clips: ``copy_last`` repeats the last context frame (perfect on a
still scene), ``linear`` extrapolates the last two context frames pixel by pixel,
``x_{K+s} = x_K + s (x_K - x_{K-1})`` clamped to the valid range (exact under constant per-pixel change).

Key names: ``psnr_t1`` (the model at t+1), ``psnr_t1_copy_last``, ``psnr_t1_linear``, ``psnr`` (the model's
mean over the steps), ``psnr_copy_last``, ...; likewise ``ssim``, ``mse``, ``sharpness``.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from cgp.core.metrics import EvalContext
from cgp.metrics import image as measures

EVAL_BATCH = 16


def copy_last(context: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, K, C, H, W) -> (B, T, C, H, W): the last context frame, T times."""
    return context[:, -1:].expand(-1, frames, -1, -1, -1)


def linear_extrapolation(context: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, K, C, H, W) -> (B, T, C, H, W): each pixel continues its last change, clamped to [-1, 1]."""
    last, change = context[:, -1:], context[:, -1:] - context[:, -2:-1]
    steps = torch.arange(1, frames + 1, dtype=context.dtype, device=context.device).view(1, -1, 1, 1, 1)
    return (last + steps * change).clamp(-1, 1)


def mse_sum(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B,): squared error summed over a frame's pixels and channels on the [0, 1] scale."""
    return ((output.float() - target.float()) / 2).pow(2).flatten(1).sum(1)


MEASURES = {
    "psnr": measures.psnr,
    "ssim": measures.ssim,
    "mse": mse_sum,
    "sharpness": measures.sharpness_ratio,
}


def score_rollouts(candidates: dict[str, torch.Tensor], truth: torch.Tensor, sums: dict[str, float]) -> None:
    """Add each candidate's per-step measures (summed over the batch) into ``sums``; candidates are
    named by key suffix (``""`` for the model, ``"_copy_last"``, ...)."""
    for suffix, predicted in candidates.items():
        for step in range(truth.shape[1]):
            for name, fn in MEASURES.items():
                key = f"{name}_t{step + 1}{suffix}"
                sums[key] = sums.get(key, 0.0) + float(fn(predicted[:, step], truth[:, step]).sum())


def summarise(sums: dict[str, float], count: int, frames: int, suffixes: list[str]) -> dict[str, float]:
    """Per-step means over ``count`` clips, and each measure's mean over the ``frames`` steps."""
    results = {key: value / count for key, value in sums.items()}
    for suffix in suffixes:
        for name in MEASURES:
            steps = [results[f"{name}_t{s + 1}{suffix}"] for s in range(frames)]
            results[f"{name}{suffix}"] = sum(steps) / frames
    return results


def prediction_quality(context: EvalContext) -> dict[str, float]:
    task = context.task
    frames = task.config.eval.rollout_frames
    dataset = task.build_dataset(context.split)
    loader = DataLoader(dataset, batch_size=EVAL_BATCH, collate_fn=task.collate)
    generator, condition = context.models.generator, context.models.condition
    sums: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for batch in loader:
            clip_context = batch["cond"].to(context.device)
            truth = batch["x"].to(context.device)[:, :frames]
            predicted = generator(condition(clip_context), frames=frames).float()
            candidates = {
                "": predicted,
                "_copy_last": copy_last(clip_context, frames),
                "_linear": linear_extrapolation(clip_context, frames),
            }
            score_rollouts(candidates, truth, sums)
            count += len(truth)
    return summarise(sums, count, frames, ["", "_copy_last", "_linear"])
