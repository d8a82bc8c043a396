"""Image grids with a label written above each row (a class name, a caption, a prompt), enlarged
so that small samples are visible in a report or an image viewer."""

from __future__ import annotations

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
