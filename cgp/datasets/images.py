"""Image decoding with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from cgp.core.errors import DataError


def load_image(path: Path, mode: str = "RGB") -> Image.Image:
    """Decode ``path`` fully (so truncated files fail here) and convert to ``mode``.

    RGBA is composited on white before conversion to RGB; grayscale is expanded.
    """
    try:
        with Image.open(path) as img:
            img.load()
            if mode == "RGB" and img.mode in ("RGBA", "LA", "P"):
                img = img.convert("RGBA")
                background = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, img)
            return img.convert(mode)
    except FileNotFoundError:
        raise DataError(f"image '{path}' does not exist") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(f"image '{path}' is corrupt or not an image ({exc}); remove or replace it") from None


def to_tensor(img: Image.Image) -> torch.Tensor:
    """A PIL image as a float tensor (C, H, W) in [-1, 1]."""
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def to_pil(x: torch.Tensor) -> Image.Image:
    """A (C, H, W) tensor in [-1, 1] as an 8-bit PIL image."""
    arr = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().cpu().numpy().transpose(1, 2, 0)
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
