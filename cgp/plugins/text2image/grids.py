"""text2image sample grids (captions above each row, from :mod:`cgp.datasets.grids`) and ``cgp generate``'s outputs."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from cgp.datasets.grids import captioned_grid
from cgp.datasets.images import to_pil


def write_sample_grid(images: torch.Tensor, captions: list[str], per_row: int, path: Path) -> None:
    captioned_grid(images, captions, per_row).save(path)


def slug(text: str, limit: int = 48) -> str:
    """A file-name-safe form of a prompt: lower case, words joined by '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-") or "prompt"


def write_prompt_outputs(images: torch.Tensor, prompts: list[str], count: int, output: Path) -> list[Path]:
    """A ``.png`` path gets one grid (a row per prompt); anything else is a folder of ``slug_index.png``."""
    if output.suffix.lower() == ".png":
        output.parent.mkdir(parents=True, exist_ok=True)
        captioned_grid(images, prompts, count).save(output)
        return [output]
    output.mkdir(parents=True, exist_ok=True)
    paths, seen = [], {}
    for p, prompt in enumerate(prompts):
        name = slug(prompt)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # two prompts with one slug keep apart
            name = f"{name}-{seen[name]}"
        for i in range(count):
            path = output / f"{name}_{i:02d}.png"
            to_pil(images[p * count + i]).save(path)
            paths.append(path)
    return paths
