"""Image grids with their captions written above each row, and ``cgp generate``'s outputs."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

from cgp.datasets.images import to_pil

LABEL_HEIGHT = 14
PAD = 2


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=11)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def captioned_grid(images: torch.Tensor, captions: list[str], per_row: int, scale: int = 2) -> Image.Image:
    """Rows of ``per_row`` images, row r labelled ``captions[r]``; images enlarged ``scale`` times."""
    rows = []
    font = _font()
    for r, caption in enumerate(captions):
        strip = to_pil(make_grid(images[r * per_row : (r + 1) * per_row], nrow=per_row, padding=PAD, pad_value=1.0))
        strip = strip.resize((strip.width * scale, strip.height * scale), Image.NEAREST)
        canvas = Image.new("RGB", (strip.width, strip.height + LABEL_HEIGHT), "white")
        ImageDraw.Draw(canvas).text((PAD * scale, 1), caption, fill="black", font=font)
        canvas.paste(strip.convert("RGB"), (0, LABEL_HEIGHT))
        rows.append(canvas)
    out = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        out.paste(row, (0, y))
        y += row.height
    return out


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
