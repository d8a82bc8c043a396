"""What the built-in procedural datasets share: named splits, a default size per split, and items that
are pure functions of ``(split, index)``, so every machine, process and data-loader worker sees the same
data without a download.
"""

from __future__ import annotations

from typing import ClassVar

from torch.utils.data import Dataset


class ProceduralSplit(Dataset):
    """A split (``train`` or ``test``) of ``size`` generated items at ``image_size``.

    Subclasses set :attr:`split_sizes` (the default size of each split) and may set :attr:`split_seeds`
    (one number per split that keeps the splits' random streams apart); they draw item ``i`` from a
    generator seeded with :meth:`split_seed` and ``i``.
    """

    split_sizes: ClassVar[dict[str, int]]
    split_seeds: ClassVar[dict[str, int]] = {"train": 0, "test": 1_000_000}

    def __init__(self, split: str, image_size: int, size: int | None = None) -> None:
        if split not in self.split_seeds:
            raise ValueError(f"split must be one of {sorted(self.split_seeds)}, got {split!r}")
        self.split = split
        self.image_size = image_size
        self.size = size if size is not None else self.split_sizes[split]

    def __len__(self) -> int:
        return self.size

    def split_seed(self) -> int:
        return self.split_seeds[self.split]

    def check_index(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} is out of range for {self.size} items")
