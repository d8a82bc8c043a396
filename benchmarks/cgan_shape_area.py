"""How large the reference task draws each shape: generated foreground area over real, per class.

    python benchmarks/cgan_shape_area.py RUN_DIR [RUN_DIR ...] [--per-class 256]
    python benchmarks/cgan_shape_area.py RUN_DIR --every-checkpoint     # how the areas change in training

The judge's condition accuracy accepts a small blob as a triangle when no other class looks more
like it; this measures what the sample grids show. For each run (a ``cgan`` run on the built-in
shapes), ``--per-class`` samples of every class from the run's last checkpoint (EMA weights where
kept, or with ``--live`` the trained weights themselves; seeded noise), and the same number of real
test images of each class. An image's foreground is the pixels whose colour differs from the median
colour of its border by more than 0.35 in some channel (images in [-1, 1]; a real shape differs from
its background by at least 0.7 in its brightest channel). The table gives the mean foreground share
of generated images over that of real ones, per class: 1.00 is the real size, below 1 a shrunken
shape, a little above 1 a soft edge or a noisy background. A second table gives each class's spread:
the per-pixel standard deviation over the class's images, averaged over pixels and channels, generated
over real: near 1 as varied as the real images, near 0 one image for every z (a collapsed class).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from cgp.core.checkpoint import load_checkpoint
from cgp.core.cli import _open_run
from cgp.core.trainer import load_models_for_inference, load_weights
from cgp.datasets.shapes import SHAPE_CLASSES, ShapesDataset, render_shape

THRESHOLD = 0.35


def foreground_share(images: torch.Tensor) -> torch.Tensor:
    """(N,) share of each (3, S, S) image's pixels that differ from its border's median colour."""
    border = torch.cat([images[:, :, 0], images[:, :, -1], images[:, :, :, 0], images[:, :, :, -1]], dim=2)
    background = border.median(dim=2).values[:, :, None, None]
    return ((images - background).abs().amax(dim=1) > THRESHOLD).float().mean(dim=(1, 2))


def spread(images: torch.Tensor) -> float:
    """Per-pixel standard deviation over the images, averaged over pixels and channels."""
    return images.std(0).mean().item()


def real_shares(image_size: int, per_class: int) -> tuple[list[float], list[float]]:
    test = ShapesDataset("test", image_size)
    classes = len(SHAPE_CLASSES)
    shares, spreads = [], []
    for label in range(classes):
        indices = list(range(label, len(test), classes))[:per_class]
        images = torch.stack([test[i]["x"] for i in indices])
        shares.append(foreground_share(images).mean().item())
        spreads.append(spread(images))
    return shares, spreads


def generated_shares(opened: tuple, per_class: int, live: bool) -> tuple[list[float], list[float], int]:
    run, task, loaded, _ = opened
    models = loaded.models
    if live and loaded.used_ema:  # the trained weights themselves, not their average
        checkpoint = run.last_checkpoint()
        load_weights(models, load_checkpoint(checkpoint, groups=("models",)).tensors["models"], checkpoint)
        models.eval()
    generator = torch.Generator().manual_seed(0)
    shares, spreads = [], []
    with torch.no_grad():
        for label in range(len(SHAPE_CLASSES)):
            z = torch.randn(per_class, task.config.model.noise_dim, generator=generator)
            labels = torch.full((per_class,), label, dtype=torch.long)
            images = models.generator(models.condition(labels), z).float()
            shares.append(foreground_share(images).mean().item())
            spreads.append(spread(images))
    return shares, spreads, task.config.model.image_size


def areas_through_training(run_dir: Path, per_class: int) -> None:
    """One row per kept ``step_*`` checkpoint of the run: the area ratios at that step (EMA weights where
    kept). Keep more of them with ``--set trainer.keep_checkpoints=N`` when training."""
    run, task, _, device = _open_run(run_dir, None)
    real = real_shares(task.config.model.image_size, per_class)[0]
    print("| step | " + " | ".join(SHAPE_CLASSES) + " |")
    print("| ---: |" + " ---: |" * len(SHAPE_CLASSES))
    for checkpoint in sorted(run.checkpoints.glob("step_*")):
        loaded = load_models_for_inference(task, checkpoint, device)
        fake = generated_shares((run, task, loaded, device), per_class, live=False)[0]
        ratios = " | ".join(f"{f / r:.2f}" for f, r in zip(fake, real))
        print(f"| {loaded.step} | {ratios} |", flush=True)


def mean_score(out: object) -> float:
    """The mean realism score of a discriminator's output: the joint score, or the realism head; a
    multi-scale discriminator's scales averaged."""
    out = out["realism"] if isinstance(out, dict) else out
    maps = out if isinstance(out, list) else [out]
    return sum(m.float().mean().item() for m in maps) / len(maps)


def discriminator_scores(opened: tuple, per_class: int, scales: tuple[float, ...]) -> dict[str, list[float]]:
    """The run's discriminator's mean score for real-looking shapes of each class, with their own label,
    drawn at the dataset's size and shrunk about their centre by each of ``scales`` (how strongly D
    prefers a shape's real size to a smaller copy of it), and last its score for the run's own samples."""
    _, task, loaded, _ = opened
    models = loaded.models
    size = task.config.model.image_size
    scores: dict[str, list[float]] = {}
    for label, kind in enumerate(SHAPE_CLASSES):
        row = []
        for scale in scales:
            rng = np.random.default_rng(1)  # the same shapes, colours and places at every scale
            images = torch.stack([torch.from_numpy(render_shape(rng, label, size, scale)) for _ in range(per_class)])
            with torch.no_grad():
                out = models.discriminator(images, models.condition(torch.full((per_class,), label, dtype=torch.long)))
            row.append(mean_score(out))
        labels = models.condition(torch.full((per_class,), label, dtype=torch.long))
        with torch.no_grad():
            z = torch.randn(per_class, task.config.model.noise_dim, generator=torch.Generator().manual_seed(label))
            out = models.discriminator(models.generator(labels, z), labels)
        row.append(mean_score(out))
        scores[kind] = row
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--per-class", type=int, default=256)
    parser.add_argument("--live", action="store_true", help="the live generator's weights, not their EMA")
    parser.add_argument(
        "--probe-discriminator",
        action="store_true",
        help="also print D's mean score for real shapes of each class at 1, 0.75 and 0.5 times their size",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the ratios here")
    parser.add_argument(
        "--every-checkpoint", action="store_true", help="the area ratios at each kept checkpoint of each run, only"
    )
    opts = parser.parse_args()
    if opts.every_checkpoint:
        for run_dir in opts.runs:
            areas_through_training(run_dir, opts.per_class)
        return
    print("| run | " + " | ".join(SHAPE_CLASSES) + " |")
    print("| --- |" + " ---: |" * len(SHAPE_CLASSES))
    rows, real, spread_rows = {}, {}, {}
    opened = {run_dir: _open_run(run_dir, None) for run_dir in opts.runs}  # each run's models, loaded once
    for run_dir in opts.runs:
        fake, fake_spread, size = generated_shares(opened[run_dir], opts.per_class, opts.live)
        if size not in real:
            real[size] = real_shares(size, opts.per_class)
        ratios = [f / r for f, r in zip(fake, real[size][0])]
        rows[str(run_dir)] = dict(zip(SHAPE_CLASSES, ratios))
        spread_rows[run_dir.name] = [f / r for f, r in zip(fake_spread, real[size][1])]
        print(f"| {run_dir.name} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |", flush=True)
    print("\n| run: spread, generated / real | " + " | ".join(SHAPE_CLASSES) + " |")
    print("| --- |" + " ---: |" * len(SHAPE_CLASSES))
    for name, values in spread_rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    if opts.probe_discriminator:
        scales = (1.0, 0.75, 0.5)
        print("\n| run | class | " + " | ".join(f"D, real shapes x{s}" for s in scales) + " | D, G's samples |")
        print("| --- | --- |" + " ---: |" * (len(scales) + 1))
        for run_dir in opts.runs:
            for kind, row in discriminator_scores(opened[run_dir], opts.per_class, scales).items():
                print(f"| {run_dir.name} | {kind} | " + " | ".join(f"{v:.2f}" for v in row) + " |", flush=True)
    if opts.json:
        opts.json.write_text(json.dumps({"area": rows, "spread": spread_rows}, indent=1))


if __name__ == "__main__":
    main()
