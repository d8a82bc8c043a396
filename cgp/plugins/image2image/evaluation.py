"""Metrics of the image2image tasks.

``translation_quality`` (pix2pix): how close translations are to their targets.

On the evaluated split: L1, PSNR and SSIM of the generator's outputs against the targets, and
their sharpness (high-frequency energy relative to the target's; see :mod:`cgp.metrics.image`).
Where input and target share a space (same channel count), the same numbers for the *input*
itself (``*_input``) are the identity baseline a model has to beat. In pix2pix's colourisation
mode the rebuilt RGB pictures are compared, and the baseline is the gray input (its L, no colour).
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
    to_image = getattr(context.task, "to_image", lambda cond, out: out)
    sums: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for batch in loader:
            inputs = batch["cond"].to(context.device)
            outputs = generator(condition(inputs)).float()
            if "target_rgb" in batch:  # colourisation: compare the rebuilt pictures, the gray input is the baseline
                targets = batch["target_rgb"].to(context.device)
                pairs = {"": to_image(inputs, outputs), "_input": to_image(inputs, torch.zeros_like(outputs))}
            else:
                targets = batch["x"].to(context.device)
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


def _quality(prefix: str, candidate: torch.Tensor, target: torch.Tensor, sums: dict[str, float]) -> None:
    for name, fn in (("l1", measures.l1), ("psnr", measures.psnr), ("ssim", measures.ssim)):
        sums[f"{prefix}_{name}"] = sums.get(f"{prefix}_{name}", 0.0) + float(fn(candidate, target).sum())


def cycle_quality(context: EvalContext) -> dict[str, float]:
    """CycleGAN: reconstruction after a round trip in each direction (``cycle_a_*``: A→B→A,
    ``cycle_b_*``: B→A→B). On the built-in domains, whose test items also hold each scene rendered
    in the other style, the translations against those counterparts (``a2b_*``, ``b2a_*``) and the
    untranslated input against them (``a2b_*_input``, ``b2a_*_input``: the identity baseline)."""
    task = context.task
    builtin = task.config.data.root is None
    dataset = task.build_dataset(context.split, counterparts=True) if builtin else task.build_dataset(context.split)
    loader = DataLoader(dataset, batch_size=EVAL_BATCH, collate_fn=task.collate)
    g = context.models.generators
    sums: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for batch in loader:
            real_a, real_b = batch["cond"].to(context.device), batch["x"].to(context.device)
            fake_b, fake_a = g["a2b"](real_a).float(), g["b2a"](real_b).float()
            _quality("cycle_a", g["b2a"](fake_b).float(), real_a, sums)
            _quality("cycle_b", g["a2b"](fake_a).float(), real_b, sums)
            if "b_of_cond" in batch:
                b_true, a_true = batch["b_of_cond"].to(context.device), batch["a_of_x"].to(context.device)
                _quality("a2b", fake_b, b_true, sums)
                _quality("b2a", fake_a, a_true, sums)
                _quality("a2b_input", real_a, b_true, sums)
                _quality("b2a_input", real_b, a_true, sums)
            count += len(real_a)
    return {key: value / count for key, value in sums.items()}
