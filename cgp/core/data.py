"""Deterministic, resumable data loading.

The order of samples and the randomness of each sample's augmentation depend only on the seed and
the sample's position in the stream, never on the number of workers, on the number of processes,
or on whether the run was resumed: :class:`ResumableBatchSampler` yields ``(index, item_seed)``
pairs and :class:`SeededItems` runs each item's ``__getitem__`` on an RNG seeded with ``item_seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from cgp.core.errors import DataError
from cgp.core.seeding import isolated_rng

_MIX = 0x9E3779B97F4A7C15


def _item_seed(seed: int, epoch: int, position: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919 + position * 104_729 + _MIX) % (2**63 - 1)


class ResumableBatchSampler(Sampler[list[tuple[int, int]]]):
    """An endless stream of global batches, reshuffled each epoch, sliced for one rank.

    ``start_batch`` skips that many global batches, which is how a resumed run continues the
    stream. Incomplete final batches are dropped so every step sees a full batch.
    """

    def __init__(
        self,
        dataset_size: int,
        global_batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        start_batch: int = 0,
    ) -> None:
        if global_batch_size % world_size:
            raise DataError(
                f"trainer.batch_size={global_batch_size} does not divide evenly across {world_size} processes"
            )
        self.batches_per_epoch = dataset_size // global_batch_size
        if self.batches_per_epoch == 0:
            raise DataError(
                f"the training set has {dataset_size} items, fewer than trainer.batch_size={global_batch_size}; "
                "lower trainer.batch_size or add data"
            )
        self.n = dataset_size
        self.batch = global_batch_size
        self.local = global_batch_size // world_size
        self.seed, self.rank, self.start_batch = seed, rank, start_batch

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        b = self.start_batch
        epoch, perm = -1, None
        while True:
            e, pos = divmod(b, self.batches_per_epoch)
            if e != epoch:
                epoch = e
                g = torch.Generator().manual_seed(self.seed * 7_777 + epoch)
                perm = torch.randperm(self.n, generator=g).tolist()
            start = pos * self.batch + self.rank * self.local
            yield [(perm[start + i], _item_seed(self.seed, epoch, start + i)) for i in range(self.local)]
            b += 1

    def __len__(self) -> int:  # endless; DataLoader only needs this for len(loader)
        return 2**62


class SeededItems(Dataset):
    """Indexes the wrapped dataset with ``(index, seed)`` pairs; each item draws from its own RNG."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        with isolated_rng(seed):
            return self.dataset[index]


def training_loader(
    dataset: Dataset,
    collate: Callable[[list[Any]], Any],
    global_batch_size: int,
    seed: int,
    num_workers: int,
    rank: int = 0,
    world_size: int = 1,
    start_batch: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    sampler = ResumableBatchSampler(len(dataset), global_batch_size, seed, rank, world_size, start_batch)  # type: ignore[arg-type]
    return DataLoader(
        SeededItems(dataset),
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        # the loader draws a base seed when an iterator starts; a private generator keeps that draw
        # out of the global stream, which a resumed run restores at a different moment
        generator=torch.Generator().manual_seed(seed),
    )


class DatasetReader(Protocol):
    """What ``cgp_register_datasets`` registers: ``reader(root, split, **options) -> Dataset`` reads
    one data layout under ``root`` (``split`` is ``train`` or ``test``). Each task names the
    keyword options it passes (its docs list them) and resolves its ``data.reader`` through the
    registry, so a plugin adds a layout to an existing task by registering a reader that accepts
    the same options."""

    def __call__(self, root: Path, split: str, **options: Any) -> Dataset: ...


def to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value
