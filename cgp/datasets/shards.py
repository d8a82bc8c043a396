"""WebDataset-style tar shards, so a large image dataset need not sit on disk as millions of loose files.

The convention of WebDataset (and of the tools that write it): a dataset split is a set of plain
``.tar`` files, ``ROOT/{split}/*.tar`` (or ``ROOT/{split}-*.tar``), and one sample is the group of
members sharing a *key*, the member name up to its first dot: ``000123.png`` and ``000123.cls`` are
the image and the class of sample ``000123``; ``000123.a.png`` and ``000123.b.png`` the two sides
of a pair. Shards are read in place: opening a split reads the tar headers once (an index of
member offsets, no data), and items are read by seeking, so the loader can shuffle and any number
of worker processes can read (each opens its own file handles).

Readers registered for the built-in tasks (``data.reader=...``):

- ``class_tar_shards`` (``cgan``): an image (``png``, ``jpg``, ``jpeg``, ``webp``, ``bmp``) and a
  ``cls`` member holding the class name (or its index into ``ROOT/classes.txt``). The class names
  are the lines of ``ROOT/classes.txt`` when present, else the sorted names found in the training
  shards.
- ``paired_tar_shards`` (``pix2pix``): members ``KEY.a.EXT`` and ``KEY.b.EXT``.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path
from typing import Any, BinaryIO

from torch.utils.data import Dataset

from cgp.core.errors import DataError
from cgp.datasets.images import load_image, to_tensor
from cgp.datasets.paths import require_dir
from cgp.datasets.transforms import PairTransform, check_channels

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp")
CLASSES_FILE = "classes.txt"


def shard_files(root: Path, split: str) -> list[Path]:
    """The split's shards: ``ROOT/{split}/*.tar``, else ``ROOT/{split}-*.tar``, sorted."""
    root = require_dir(Path(root), "data root")
    folder = root / split
    shards = sorted(folder.glob("*.tar")) if folder.is_dir() else sorted(root.glob(f"{split}-*.tar"))
    if not shards:
        raise DataError(f"no tar shards for split '{split}' in '{root}'; expected {split}/*.tar or {split}-*.tar")
    return shards


class TarShards:
    """Index of the samples in a split's shards: key -> {extension: (shard, data offset, size, name)},
    in shard order. Members are read by offset from the shard file, never extracted to disk."""

    def __init__(self, root: Path, split: str) -> None:
        self.shards = shard_files(root, split)
        self.samples: dict[str, dict[str, tuple[int, int, int, str]]] = {}
        for index, shard in enumerate(self.shards):
            try:
                with tarfile.open(shard, "r:") as tar:
                    members = tar.getmembers()
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise DataError(f"tar shard '{shard}' is damaged or not a plain tar file ({exc})") from None
            length = shard.stat().st_size
            end = max((m.offset_data + -(-m.size // 512) * 512 for m in members), default=0)
            with shard.open("rb") as raw:
                raw.seek(end)
                marker = raw.read(1024)
            if len(marker) < 1024 or marker.count(0) != 1024:  # tar ends with two zero blocks
                raise DataError(
                    f"tar shard '{shard}' is truncated (it stops without the end-of-archive blocks); write it again"
                )
            for member in members:
                if member.offset_data + member.size > length:
                    raise DataError(f"'{shard}:{member.name}' is truncated: its shard ends inside it")
                name = member.name.rsplit("/", 1)[-1]
                if not member.isfile() or "." not in name or name.startswith("."):
                    continue
                key, ext = name.split(".", 1)
                entry = (index, member.offset_data, member.size, member.name)
                self.samples.setdefault(member.name[: -len(name)] + key, {})[ext.lower()] = entry
        self.keys = list(self.samples)
        self._files: dict[int, BinaryIO] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.keys)

    def where(self, key: str, ext: str) -> str:
        shard, _, _, name = self.samples[key][ext]
        return f"{self.shards[shard]}:{name}"

    def read(self, key: str, ext: str) -> bytes:
        """The bytes of one member (each process keeps its own open shard files)."""
        if os.getpid() != self._pid:  # a loader worker: the parent's handles are not ours
            self._files, self._pid = {}, os.getpid()
        shard, offset, size, _ = self.samples[key][ext]
        file = self._files.get(shard)
        if file is None:
            file = self._files[shard] = self.shards[shard].open("rb")
        file.seek(offset)
        data = file.read(size)
        if len(data) != size:
            raise DataError(f"'{self.where(key, ext)}' is truncated: its shard ends inside it")
        return data

    def __getstate__(self) -> dict[str, Any]:  # open files do not travel to worker processes
        return {**self.__dict__, "_files": {}}

    def image_extension(self, key: str, prefix: str = "") -> str:
        for ext in IMAGE_EXTENSIONS:
            if prefix + ext in self.samples[key]:
                return prefix + ext
        raise DataError(
            f"sample '{key}' in {self.shards[next(iter(self.samples[key].values()))[0]]} has no "
            f"{prefix}{{{','.join(IMAGE_EXTENSIONS)}}} image member"
        )


class ClassTarShards(Dataset):
    """Items ``{"x": image in [-1, 1] (3, S, S), "cond": class index}`` from image + ``cls`` members."""

    def __init__(self, root: Path, split: str, image_size: int, classes: list[str] | None = None) -> None:
        self.root = Path(root)
        self.shards = TarShards(self.root, split)
        labels = self._label_texts(self.shards)
        if classes is None and split == "train" and not (self.root / CLASSES_FILE).is_file():
            classes = self._names_found(self.root, set(labels.values()))  # the members just read, not again
        self.classes = classes or self.class_names(self.root)
        self.items: list[tuple[str, str, int]] = []
        for key in self.shards.keys:
            if key not in labels:
                raise DataError(
                    f"sample '{self.shards.where(key, next(iter(self.shards.samples[key])))}' has no .cls member"
                )
            self.items.append((key, self.shards.image_extension(key), self._label(key, labels[key])))
        self.image_size = image_size

    @staticmethod
    def _label_texts(shards: TarShards) -> dict[str, str]:
        """Each sample's ``cls`` member, as text (samples without one are left out)."""
        return {
            key: shards.read(key, "cls").decode("utf-8", errors="replace").strip()
            for key in shards.keys
            if "cls" in shards.samples[key]
        }

    def _label(self, key: str, text: str) -> int:
        if text in self.classes:
            return self.classes.index(text)
        if text.isdigit() and int(text) < len(self.classes):
            return int(text)
        raise DataError(
            f"'{self.shards.where(key, 'cls')}' names class '{text}', which is not one of: {', '.join(self.classes)}"
        )

    @classmethod
    def class_names(cls, root: Path) -> list[str]:
        """``ROOT/classes.txt`` (one name a line), else the names in the training shards' ``.cls`` members."""
        listed = Path(root) / CLASSES_FILE
        if listed.is_file():
            names = [line.strip() for line in listed.read_text(encoding="utf-8").splitlines() if line.strip()]
            return cls._enough(root, names)
        return cls._names_found(root, set(cls._label_texts(TarShards(Path(root), "train")).values()))

    @classmethod
    def _names_found(cls, root: Path, found: set[str]) -> list[str]:
        if any(name.isdigit() for name in found):
            raise DataError(
                f"the shards name classes by number; list their names in '{Path(root) / CLASSES_FILE}', one a line"
            )
        return cls._enough(root, sorted(found))

    @staticmethod
    def _enough(root: Path, names: list[str]) -> list[str]:
        if len(names) < 2:
            raise DataError(
                f"the shards in '{root}' name {len(names)} class(es); a class-conditional task needs 2 or more"
            )
        return names

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key, ext, label = self.items[index]
        image = load_image(self.shards.read(key, ext), name=self.shards.where(key, ext))
        return {"x": to_tensor(image.resize((self.image_size, self.image_size))), "cond": label}


class PairedTarShards(Dataset):
    """Aligned pairs from ``KEY.a.EXT`` and ``KEY.b.EXT`` members (what ``PairedImageFolder`` gives)."""

    def __init__(
        self,
        root: Path,
        split: str,
        transform: PairTransform,
        direction: str = "AtoB",
        channels_a: int = 3,
        channels_b: int = 3,
    ) -> None:
        self.shards = TarShards(Path(root), split)
        self.transform, self.direction = transform, direction
        self.channels = (check_channels(channels_a, "channels_a"), check_channels(channels_b, "channels_b"))
        self.items = [
            (key, self.shards.image_extension(key, "a."), self.shards.image_extension(key, "b."))
            for key in self.shards.keys
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key, ext_a, ext_b = self.items[index]
        images = []
        for ext, channels in ((ext_a, self.channels[0]), (ext_b, self.channels[1])):
            image = load_image(self.shards.read(key, ext), name=self.shards.where(key, ext))
            images.append(image.convert("L") if channels == 1 else image)
        source, target = images if self.direction == "AtoB" else images[::-1]
        cond, x = self.transform([source, target], f"pair '{self.shards.where(key, ext_a)}'")
        return {"x": x, "cond": cond, "name": key.rsplit("/", 1)[-1]}
