"""Paired image folders for image-to-image translation (pix2pix, Isola et al. 2017).

Two layouts, detected per split:

- ``ROOT/{split}/*.png``: each file holds an aligned pair side by side, A on the left half and B on the
  right (the layout of the pix2pix datasets: facades, maps, edges2shoes; the reference's ``AlignedDataset``);
- ``ROOT/{split}/A/`` and ``ROOT/{split}/B/``: one file per side, paired by file name without its suffix, so
  ``A/1.png`` pairs with ``B/1.jpg``.

Items are ``{"x": target image, "cond": input image, "name": file stem}``: the generator reads ``cond`` and
is scored against ``x``. With ``direction="AtoB"`` the input is A; ``"BtoA"`` swaps them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from cgp.core.errors import ConfigError, DataError
from cgp.datasets.images import load_image
from cgp.datasets.paths import inside_root, list_images, pair_by_stem, require_dir
from cgp.datasets.transforms import PairTransform, check_channels, load_channels

DIRECTIONS = ("AtoB", "BtoA")


class PairedImageFolder(Dataset):
    """Aligned image pairs from ``ROOT/{split}/`` (A|B side by side) or ``ROOT/{split}/{A,B}/``.

    ``channels_a`` and ``channels_b`` (1 or 3) are the channels of the A and B images, whatever the
    direction. The same ``transform`` draw (crop, flip) is applied to both images of a pair.
    """

    def __init__(
        self,
        root: Path,
        split: str,
        transform: PairTransform,
        direction: str = "AtoB",
        channels_a: int = 3,
        channels_b: int = 3,
    ) -> None:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        self.root = Path(root)
        self.transform = transform
        self.direction = direction
        self.channels_a = check_channels(channels_a, "channels_a")
        self.channels_b = check_channels(channels_b, "channels_b")
        split_dir = require_dir(inside_root(self.root, split), f"{split} folder")
        has_a, has_b = (split_dir / "A").is_dir(), (split_dir / "B").is_dir()
        if has_a != has_b:
            present, missing = ("A", "B") if has_a else ("B", "A")
            raise DataError(
                f"'{split_dir}' has a {present}/ folder but no {missing}/; paired folders need both A/ and B/ "
                "with matching file names"
            )
        self.aligned: list[Path] = []
        self.pairs: list[tuple[Path, Path]] = []
        if has_a:
            folder_a = inside_root(self.root, Path(split) / "A")
            folder_b = inside_root(self.root, Path(split) / "B")
            self.pairs = pair_by_stem(folder_a, folder_b, list_images)
        else:
            self.aligned = list_images(split_dir)
        if not self.pairs and not self.aligned:
            raise DataError(
                f"'{split_dir}' holds no images; put side-by-side A|B images (png, jpg, ...) in it, or "
                "sub-folders A/ and B/ with matching file names"
            )

    def __len__(self) -> int:
        return len(self.aligned) or len(self.pairs)

    def _load(self, index: int) -> tuple[Image.Image, Image.Image, str, str]:
        """Images A and B, the item's name, and how to name its source in errors."""
        if self.aligned:
            path = self.aligned[index]
            ab = load_image(path, "RGB")
            w, h = ab.size
            if w % 2:
                raise DataError(
                    f"image '{path}' is {w} pixels wide, an odd width, so it cannot hold A and B side by side "
                    "as two equal halves; crop or pad it to an even width"
                )
            a, b = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))
            if self.channels_a == 1:
                a = a.convert("L")
            if self.channels_b == 1:
                b = b.convert("L")
            return a, b, path.stem, f"each half of image '{path}'"
        path_a, path_b = self.pairs[index]
        a, b = load_channels(path_a, self.channels_a), load_channels(path_b, self.channels_b)
        return a, b, path_a.stem, f"image pair '{path_a}', '{path_b}'"

    def __getitem__(self, index: int) -> dict[str, Any]:
        a, b, name, what = self._load(index)
        source, target = (a, b) if self.direction == "AtoB" else (b, a)
        cond, x = self.transform([source, target], what)
        return {"x": x, "cond": cond, "name": name}
