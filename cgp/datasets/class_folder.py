"""Class-labelled image folders: ``ROOT/{train,test}/<class name>/<image>`` (torchvision's ImageFolder
convention, split by folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from cgp.core.errors import DataError
from cgp.datasets.images import load_image, to_tensor
from cgp.datasets.paths import inside_root, list_images, require_dir


def class_names(root: Path) -> list[str]:
    """The class names: sub-folders of ``ROOT/train``, sorted."""
    train = require_dir(Path(root) / "train", "training folder")
    names = sorted(p.name for p in train.iterdir() if p.is_dir())
    for name in names:  # one rule for files and folders: a link may not lead outside the data root
        inside_root(Path(root), Path("train") / name)
    if len(names) < 2:
        raise DataError(f"'{train}' needs one sub-folder per class (at least 2), found {len(names)}")
    return names


class ClassImageFolder(Dataset):
    """Items ``{"x": image in [-1, 1] (3, S, S), "cond": class index}``; images resized to ``image_size``."""

    def __init__(self, root: Path, split: str, image_size: int, classes: list[str] | None = None) -> None:
        self.root = Path(root)
        self.classes = classes or class_names(self.root)
        split_dir = require_dir(self.root / split, f"{split} folder")
        self.items: list[tuple[Path, int]] = []
        for index, name in enumerate(self.classes):
            folder = split_dir / name
            if not folder.is_dir():
                raise DataError(f"class folder '{folder}' is missing; every split needs the classes of train/")
            inside_root(self.root, Path(split) / name)
            self.items += [(path, index) for path in list_images(folder)]
        if not self.items:
            raise DataError(f"'{split_dir}' holds no images (png, jpg, bmp, gif, webp, tif)")
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path, label = self.items[index]
        img = load_image(path).resize((self.image_size, self.image_size))
        return {"x": to_tensor(img), "cond": label}
