"""Inference helpers shared by the image2image tasks: translate files of any size."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from cgp.datasets.colorspace import join_lab, split_lab
from cgp.datasets.images import to_pil, to_tensor
from cgp.datasets.paths import IMAGE_SUFFIXES, expand_files, list_images
from cgp.datasets.transforms import load_channels

log = logging.getLogger(__name__)


def as_rgb(t: torch.Tensor) -> torch.Tensor:
    return t.expand(3, -1, -1) if t.shape[0] == 1 else t


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Image files named directly, and the images inside named folders, in order."""
    return expand_files(inputs, list_images, "images to translate")


def translate(
    generator: torch.nn.Module, image: torch.Tensor, condition: torch.nn.Module | None = None
) -> torch.Tensor:
    """Translate one (C, H, W) image of any size: reflect-pad to the generator's stride, crop back."""
    stride = getattr(generator, "stride", 1)
    _, h, w = image.shape
    pad_h, pad_w = (-h) % stride, (-w) % stride
    x = image[None].to(next(generator.parameters()).device)
    if pad_h or pad_w:
        log.info(
            "padded %dx%d to %dx%d (a multiple of %d) and cropped the output back", w, h, w + pad_w, h + pad_h, stride
        )
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    if condition is not None:
        x = condition(x)
    return generator(x).float()[0, :, :h, :w].cpu()


def translate_files(
    generator: torch.nn.Module,
    inputs: list[str],
    output: Path,
    channels: int,
    condition: torch.nn.Module | None = None,
    colorize: bool = False,
) -> list[Path]:
    """Translate every input image; one input and an image suffix on ``output`` writes that file,
    otherwise ``output`` is a folder and each result is named after its input. ``colorize``: the
    generator maps L to ab, and each output is rebuilt with its input's exact L, at full size."""
    files = expand_inputs(inputs)
    single = len(files) == 1 and output.suffix.lower() in IMAGE_SUFFIXES
    if not single:
        output.mkdir(parents=True, exist_ok=True)
    written = []
    for file in files:
        image = to_tensor(load_channels(file, channels))
        if colorize:
            light, _ = split_lab(image)
            result = join_lab(light, translate(generator, light, condition))
        else:
            result = translate(generator, image, condition)
        path = output if single else output / f"{file.stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        to_pil(result).save(path)
        written.append(path)
    return written
