"""Preprocessing for image-to-image pairs, as the pix2pix / CycleGAN reference code does it.

Follows ``data/base_dataset.py`` of junyanz/pytorch-CycleGAN-and-pix2pix (Isola et al. 2017, "Image-to-Image
Translation with Conditional Adversarial Networks"; Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks"): resize (bicubic), then a random crop, then a random horizontal flip, the
same crop and flip for both images of a pair so they stay aligned. The default 286 -> 256 is the paper's "random
jitter". At evaluation the crop is centred and nothing is flipped, so every run sees the same images.

Random draws use Python's ``random`` module only; the trainer seeds it per item, so a crop is a pure
function of (item, seed) and a resumed run sees the same crops.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from PIL import Image

from cgp.core.errors import ConfigError, DataError
from cgp.datasets.images import load_image, to_tensor

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")


def load_channels(path: Path, channels: int) -> Image.Image:
    """Decode ``path`` as RGB (RGBA composited on white) or, for ``channels == 1``, as grayscale."""
    img = load_image(path, "RGB")
    return img.convert("L") if channels == 1 else img


def check_channels(channels: int, what: str) -> int:
    if channels not in (1, 3):
        raise ConfigError(f"{what} must be 1 (grayscale) or 3 (RGB), got {channels}")
    return channels


@dataclass(frozen=True)
class PairTransform:
    """Config-driven preprocessing applied identically to every image of a pair.

    ``preprocess`` is one of :data:`PREPROCESS_MODES`, with the reference's meanings:
    ``resize_and_crop`` resizes to ``load_size`` square then crops ``crop_size``; ``crop`` only crops;
    ``scale_width`` scales the width to ``load_size`` keeping the aspect ratio (height at least
    ``crop_size``); ``scale_width_and_crop`` does that and then crops; ``none`` only resizes each side to the
    nearest multiple of ``multiple`` (the generators halve the size several times).
    """

    preprocess: str = "resize_and_crop"  # the reference default: 286 -> random 256 crop ("random jitter")
    load_size: int = 286  # size images are resized to before cropping
    crop_size: int = 256  # size of the crop the model sees
    no_flip: bool = False  # the reference flips horizontally with p=0.5 unless told not to
    train: bool = True  # False: centre crop and no flip, so evaluation is deterministic
    multiple: int = 4  # preprocess='none': sides rounded to a multiple of this (the reference's base 4)

    def __post_init__(self) -> None:
        if self.preprocess not in PREPROCESS_MODES:
            raise ConfigError(f"preprocess must be one of {', '.join(PREPROCESS_MODES)}; got {self.preprocess!r}")
        if self.crop_size < 1 or self.load_size < 1 or self.multiple < 1:
            raise ConfigError("crop_size, load_size and multiple must be positive")
        if self.preprocess in ("resize_and_crop", "scale_width_and_crop") and self.load_size < self.crop_size:
            raise ConfigError(
                f"load_size ({self.load_size}) is smaller than crop_size ({self.crop_size}) with "
                f"preprocess={self.preprocess}; raise load_size or lower crop_size"
            )

    def for_evaluation(self) -> PairTransform:
        """The same preprocessing with a centre crop and no flip."""
        return replace(self, train=False)

    def __call__(self, images: Sequence[Image.Image], what: str) -> list[torch.Tensor]:
        """Apply one draw of crop and flip to all ``images`` (of one size); tensors (C, H, W) in [-1, 1].

        ``what`` names the source in errors, e.g. ``"image 'train/1.png'"``.
        """
        sizes = {img.size for img in images}
        if len(sizes) != 1:
            shown = " and ".join(f"{w}x{h}" for w, h in (img.size for img in images))
            raise DataError(f"{what}: the paired images differ in size ({shown}); give both sides the same size")
        images = [self._resize(img) for img in images]
        if "crop" in self.preprocess:
            images = self._crop(images, what)
        if self.preprocess == "none":
            images = [self._round_to_multiple(img) for img in images]
        if self.train and not self.no_flip and random.random() < 0.5:
            images = [img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for img in images]
        return [to_tensor(img) for img in images]

    def _resize(self, img: Image.Image) -> Image.Image:
        if self.preprocess == "resize_and_crop":
            return img.resize((self.load_size, self.load_size), Image.Resampling.BICUBIC)
        if self.preprocess.startswith("scale_width"):
            w, h = img.size
            if w == self.load_size and h >= self.crop_size:
                return img
            new_h = max(round(self.load_size * h / w), self.crop_size)
            return img.resize((self.load_size, new_h), Image.Resampling.BICUBIC)
        return img

    def _crop(self, images: list[Image.Image], what: str) -> list[Image.Image]:
        w, h = images[0].size
        c = self.crop_size
        if w < c or h < c:
            raise DataError(
                f"{what} is {w}x{h}, smaller than crop_size {c}; lower crop_size or use preprocess=resize_and_crop"
            )
        if self.train:
            x, y = random.randint(0, w - c), random.randint(0, h - c)
        else:
            x, y = (w - c) // 2, (h - c) // 2
        return [img.crop((x, y, x + c, y + c)) for img in images]

    def _round_to_multiple(self, img: Image.Image) -> Image.Image:
        w, h = img.size
        m = self.multiple
        new_w, new_h = max(m, round(w / m) * m), max(m, round(h / m) * m)
        if (new_w, new_h) == (w, h):
            return img
        return img.resize((new_w, new_h), Image.Resampling.BICUBIC)
