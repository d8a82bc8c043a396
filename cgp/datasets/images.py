"""Image decoding with errors that name the file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from cgp.core.errors import DataError


def load_image(path: Path | bytes, mode: str = "RGB", name: str | None = None) -> Image.Image:
    """Decode ``path`` fully (so truncated files fail here) and convert to ``mode`` (RGB or L).

    Transparency (RGBA, LA, palette images with a transparent colour) is composited on white;
    grayscale is expanded. High-bit-depth images (16-bit ``I;16``, 32-bit integer ``I``, float
    ``F``) are scaled to 8 bits by their type's range (16-bit: 0..65535; float: 0..1) rather than
    clipped; a 32-bit integer image whose values exceed 16 bits, or a mode with no sensible
    conversion (CMYK is converted by Pillow; others are refused), is an error naming the file.
    ``path`` may be the file's bytes (a tar member, say), named in errors by ``name``.
    """
    if isinstance(path, bytes):
        path = _NamedBytes(path, name or "<bytes>")  # type: ignore[assignment]
    try:
        with Image.open(path) as img:
            img.load()
            return _convert(img, mode, path)
    except FileNotFoundError:
        raise DataError(f"image '{path}' does not exist") from None
    except IsADirectoryError:
        raise DataError(f"image '{path}' is a folder, not an image file") from None
    except Image.DecompressionBombError:
        raise DataError(
            f"image '{path}' is larger than Pillow's decompression-bomb limit "
            f"({Image.MAX_IMAGE_PIXELS} pixels); downscale it before training"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"image '{path}' is corrupt or not an image ({exc}); remove or replace it") from None


class _NamedBytes(io.BytesIO):
    """In-memory image bytes that print as their source's name in error messages."""

    def __init__(self, data: bytes, label: str) -> None:
        super().__init__(data)
        self.label = label

    def __str__(self) -> str:
        return self.label


_EIGHT_BIT = {"1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr", "LAB", "HSV", "La", "RGBa", "RGBX"}


def _convert(img: Image.Image, mode: str, path: Path) -> Image.Image:
    if img.mode not in _EIGHT_BIT:
        img = _to_eight_bit(img, path)
    if (img.mode == "P" and "transparency" in img.info) or img.mode in ("PA", "LA", "La", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert(mode)


def _to_eight_bit(img: Image.Image, path: Path) -> Image.Image:
    """A single-channel high-bit-depth image as 8-bit ``L``, scaled by its type's range."""
    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.asarray(img.convert("I") if img.mode != "I" else img, dtype=np.float64)
        if values.min() < 0 or values.max() > 65535:
            raise DataError(
                f"image '{path}' is a 32-bit integer image with values outside 0..65535; convert it to 8 or 16 bits"
            )
        scaled = values / 65535.0
    elif img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError(f"image '{path}' is a float image with NaN or infinite values; fix or remove it")
        if values.min() < 0 or values.max() > 1:
            raise DataError(
                f"image '{path}' is a float image with values outside 0..1 ({values.min():.3g}..{values.max():.3g}); "
                "scale it to 0..1 or save it as 8 or 16 bits"
            )
        scaled = values
    else:
        raise DataError(f"image '{path}' has pixel mode '{img.mode}', which cgp cannot read; save it as 8-bit RGB")
    return Image.fromarray((scaled * 255.0).round().astype(np.uint8), mode="L")


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
