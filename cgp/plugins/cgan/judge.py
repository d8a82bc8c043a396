"""The judge: a small CNN classifier trained on real data, used to score generated samples.

``condition_accuracy`` asks the judge whether each generated sample shows the class it was
conditioned on (the conditional analogue of the Inception Score's "is it recognisable"); its
baselines are the judge's accuracy on real test images (the ceiling) and chance (1 / classes).
``judge_frechet_distance`` is the Fréchet distance (Heusel et al. 2017, as FID) between the judge's
penultimate features of real test images and of generated samples with the same labels.

The judge is trained deterministically from a fixed seed and cached in the run's ``eval/`` folder,
so repeated evaluations give identical numbers.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from cgp.core.metrics import EvalContext, load_cached_model, save_cached_model
from cgp.core.seeding import isolated_rng
from cgp.metrics.frechet import frechet_distance

log = logging.getLogger(__name__)

JUDGE_SEED = 2024
JUDGE_STEPS = 400
JUDGE_BATCH = 64
JUDGE_LR = 3e-3


class JudgeClassifier(nn.Module):
    """Three conv-BN-ReLU stages and a 64-unit penultimate layer (the Fréchet features)."""

    def __init__(self, num_classes: int, width: int = 16) -> None:
        super().__init__()

        def stage(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(
            *stage(3, width),
            nn.MaxPool2d(2),
            *stage(width, 2 * width),
            nn.MaxPool2d(2),
            *stage(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * width, 64),
            nn.ReLU(),
        )
        self.head = nn.Linear(64, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _stack(dataset: Dataset, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(dataset) if limit is None else min(limit, len(dataset))  # type: ignore[arg-type]
    loader = DataLoader(torch.utils.data.Subset(dataset, range(n)), batch_size=256)
    xs, ys = [], []
    for batch in loader:
        xs.append(batch["x"])
        ys.append(torch.as_tensor(batch["cond"]))
    return torch.cat(xs), torch.cat(ys)


def train_judge(train_set: Dataset, num_classes: int) -> JudgeClassifier:
    """Adam with a one-cycle schedule on the real training images, from a fixed seed."""
    with isolated_rng(JUDGE_SEED), torch.enable_grad():
        judge = JudgeClassifier(num_classes)
        x, y = _stack(train_set)
        opt = torch.optim.Adam(judge.parameters(), lr=JUDGE_LR)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=JUDGE_LR, total_steps=JUDGE_STEPS)
        g = torch.Generator().manual_seed(JUDGE_SEED)
        judge.train()
        for _ in range(JUDGE_STEPS):
            idx = torch.randint(0, len(x), (JUDGE_BATCH,), generator=g)
            loss = F.cross_entropy(judge(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    return judge.eval()


def load_or_train_judge(context: EvalContext) -> JudgeClassifier:
    task = context.task
    num_classes, image_size = len(task.class_names), task.config.model.image_size
    key = {
        "data_root": str(task.config.data.root),
        "classes": task.class_names,
        "image_size": image_size,
        "steps": JUDGE_STEPS,
        "seed": JUDGE_SEED,
        "version": 2,
    }
    judge = JudgeClassifier(num_classes)
    if load_cached_model(judge, context.work_dir, "judge", key):
        return judge.eval()
    train_set = task.build_dataset("train")
    log.info(
        "evaluation: training the class judge on the %d real training images (%d steps, once per run; cached in %s)",
        len(train_set),  # type: ignore[arg-type]
        JUDGE_STEPS,
        context.work_dir,
    )
    judge = train_judge(train_set, num_classes)
    save_cached_model(judge, context.work_dir, "judge", key)
    return judge


@torch.no_grad()
def _generate_like(context: EvalContext, labels: torch.Tensor) -> torch.Tensor:
    models = context.models
    out = []
    for chunk in labels.split(256):
        chunk = chunk.to(context.device)
        cond = models.condition(chunk)
        z = models.generator.sample_noise(len(chunk), context.device)
        out.append(models.generator(cond, z).float().cpu())
    return torch.cat(out)


def judge_metrics(context: EvalContext) -> dict[str, float]:
    """Condition accuracy with its baselines, and the judge-feature Fréchet distance."""
    judge = load_or_train_judge(context)
    real_x, labels = _stack(context.task.build_dataset(context.split))
    fake_x = _generate_like(context, labels)
    with torch.no_grad():
        real_feats = torch.cat([judge.features(c) for c in real_x.split(256)])
        fake_feats = torch.cat([judge.features(c) for c in fake_x.split(256)])
        real_pred = judge.head(real_feats).argmax(1)
        fake_pred = judge.head(fake_feats).argmax(1)
    return {
        "condition_accuracy": float((fake_pred == labels).float().mean()),
        "condition_accuracy_real": float((real_pred == labels).float().mean()),
        "condition_accuracy_chance": 1.0 / len(context.task.class_names),
        "judge_frechet_distance": frechet_distance(real_feats, fake_feats),
    }
