"""Unpaired image folders for CycleGAN (Zhu et al. 2017): ``ROOT/{split}A/`` and ``ROOT/{split}B/``.

The layout of the CycleGAN datasets (horse2zebra, monet2photo: ``trainA``, ``trainB``, ``testA``,
``testB``), read as the reference's ``UnalignedDataset`` does: the length is that of the larger domain,
item ``i`` takes A image ``i mod |A|`` and a random B image (the ``i mod |B|``-th with ``serial=True``),
and each image gets its own crop and flip.

Items are ``{"x": B image, "cond": A image, "name_a": A's file stem, "name_b": B's file stem}``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from cgp.core.errors import DataError
from cgp.datasets.paths import inside_root, list_images, require_dir
from cgp.datasets.transforms import PairTransform, check_channels, load_channels


class UnpairedImageFolder(Dataset):
    """Two unrelated image folders, A and B; the B image of an item is drawn from the item's RNG."""

    def __init__(
        self,
        root: Path,
        split: str,
        transform: PairTransform,
        serial: bool = False,
        channels_a: int = 3,
        channels_b: int = 3,
    ) -> None:
        self.root = Path(root)
        self.transform = transform
        self.serial = serial
        self.channels_a = check_channels(channels_a, "channels_a")
        self.channels_b = check_channels(channels_b, "channels_b")
        self.files_a = self._domain(split + "A")
        self.files_b = self._domain(split + "B")

    def _domain(self, name: str) -> list[Path]:
        folder = self.root / name
        if not folder.is_dir():
            raise DataError(
                f"domain folder '{folder}' is missing; unpaired data need {name[:-1]}A/ and {name[:-1]}B/ "
                f"under '{self.root}'"
            )
        files = list_images(require_dir(inside_root(self.root, name), "domain folder"))
        if not files:
            raise DataError(f"domain folder '{folder}' holds no images (png, jpg, bmp, gif, webp, tif)")
        return files

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def __getitem__(self, index: int) -> dict[str, Any]:
        path_a = self.files_a[index % len(self.files_a)]
        if self.serial:
            path_b = self.files_b[index % len(self.files_b)]
        else:
            path_b = self.files_b[random.randrange(len(self.files_b))]
        (cond,) = self.transform([load_channels(path_a, self.channels_a)], f"image '{path_a}'")
        (x,) = self.transform([load_channels(path_b, self.channels_b)], f"image '{path_b}'")
        return {"x": x, "cond": cond, "name_a": path_a.stem, "name_b": path_b.stem}
