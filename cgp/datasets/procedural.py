"""What the built-in procedural datasets share: named splits, a default size per split, and items that
are pure functions of ``(split, index)``, so every machine, process and data-loader worker sees the same
data without a download.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch.utils.data import Dataset


class ProceduralSplit(Dataset):
    """A split (``train`` or ``test``) of ``size`` generated items at ``image_size``.

    Subclasses set :attr:`split_sizes` (the default size of each split) and may set :attr:`split_seeds`
    (one number per split that keeps the splits' random streams apart); they draw item ``i`` from a
    generator seeded with :meth:`split_seed` and ``i``.

    A subclass whose items are costly to draw may serve them through :meth:`cached`: each item is then
    drawn once per process and kept, when the whole split fits in :attr:`cache_bytes`; a larger split is
    drawn on every access. The items are the same either way.
    """

    cache_bytes: ClassVar[int] = 256 * 2**20

    split_sizes: ClassVar[dict[str, int]]
    split_seeds: ClassVar[dict[str, int]] = {"train": 0, "test": 1_000_000}

    def __init__(self, split: str, image_size: int, size: int | None = None) -> None:
        if split not in self.split_seeds:
            raise ValueError(f"split must be one of {sorted(self.split_seeds)}, got {split!r}")
        self.split = split
        self.image_size = image_size
        self.size = size if size is not None else self.split_sizes[split]
        self._memo: dict[int, dict[str, Any]] | None = None  # None: not decided yet; see cached()

    def __len__(self) -> int:
        return self.size

    def split_seed(self) -> int:
        return self.split_seeds[self.split]

    def check_index(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} is out of range for {self.size} items")

    @property
    def _caching(self) -> bool:
        """Whether drawn items are kept (decided by the first one; a kept split's memo is never empty)."""
        return bool(self._memo)

    def cached(self, index: int, draw: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        """``draw(index)``, kept after the first draw when the split's items fit in :attr:`cache_bytes`."""
        if self._memo is None:  # the first item decides, by its size, whether the split is kept
            item = draw(index)
            tensors = [v for v in item.values() if isinstance(v, torch.Tensor)]
            fits = sum(t.numel() * t.element_size() for t in tensors) * self.size <= self.cache_bytes
            self._memo = {index: item} if fits else {}
            return dict(item)
        if not self._caching:
            return draw(index)
        if index not in self._memo:
            self._memo[index] = draw(index)
        return dict(self._memo[index])
