"""The ``translation_quality`` metric: how close translations are to their targets.

On the evaluated split: L1, PSNR and SSIM of the generator's outputs against the targets, and
their sharpness (high-frequency energy relative to the target's; see :mod:`cgp.metrics.image`).
Where input and target share a space (same channel count), the same numbers for the *input*
itself (``*_input``) are the identity baseline a model has to beat.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from cgp.core.metrics import EvalContext
from cgp.metrics import image as measures

EVAL_BATCH = 16


def translation_quality(context: EvalContext) -> dict[str, float]:
    dataset = context.task.build_dataset(context.split)
    loader = DataLoader(dataset, batch_size=EVAL_BATCH, collate_fn=context.task.collate)
    generator, condition = context.models.generator, context.models.condition
    sums: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for batch in loader:
            inputs = batch["cond"].to(context.device)
            targets = batch["x"].to(context.device)
            outputs = generator(condition(inputs)).float()
            pairs = {"": outputs}
            if inputs.shape[1] == targets.shape[1]:
                pairs["_input"] = inputs
            for suffix, candidate in pairs.items():
                for name, fn in (
                    ("l1", measures.l1),
                    ("psnr", measures.psnr),
                    ("ssim", measures.ssim),
                    ("sharpness", measures.sharpness_ratio),
                ):
                    key = f"{name}{suffix}"
                    sums[key] = sums.get(key, 0.0) + float(fn(candidate, targets).sum())
            count += len(targets)
    return {key: value / count for key, value in sums.items()}
