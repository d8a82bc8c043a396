"""Deterministic, resumable batches (cgp.core.data)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from cgp.core.data import ResumableBatchSampler, SeededItems
from cgp.core.errors import DataError


def take(sampler: ResumableBatchSampler, n: int) -> list[list[tuple[int, int]]]:
    return list(itertools.islice(iter(sampler), n))


def test_deterministic_given_seed() -> None:
    a = take(ResumableBatchSampler(20, 4, seed=3), 12)
    b = take(ResumableBatchSampler(20, 4, seed=3), 12)
    c = take(ResumableBatchSampler(20, 4, seed=4), 12)
    assert a == b
    assert a != c
    assert all(len(batch) == 4 for batch in a)


def test_iterating_twice_gives_the_same_stream() -> None:
    sampler = ResumableBatchSampler(10, 5, seed=0)
    assert take(sampler, 5) == take(sampler, 5)


@pytest.mark.parametrize("k", [0, 1, 3, 5, 7, 11])
def test_start_batch_continues_the_stream(k: int) -> None:
    fresh = take(ResumableBatchSampler(15, 3, seed=9), k + 8)
    resumed = take(ResumableBatchSampler(15, 3, seed=9, start_batch=k), 8)
    assert resumed == fresh[k:]


def test_ranks_partition_the_global_batch() -> None:
    single = take(ResumableBatchSampler(24, 6, seed=1), 10)
    rank0 = take(ResumableBatchSampler(24, 6, seed=1, rank=0, world_size=2), 10)
    rank1 = take(ResumableBatchSampler(24, 6, seed=1, rank=1, world_size=2), 10)
    for g, r0, r1 in zip(single, rank0, rank1):
        assert len(r0) == len(r1) == 3
        assert r0 + r1 == g
        assert not set(r0) & set(r1)


def test_ranks_partition_when_resumed() -> None:
    single = take(ResumableBatchSampler(24, 6, seed=1, start_batch=5), 4)
    r0 = take(ResumableBatchSampler(24, 6, seed=1, rank=0, world_size=2, start_batch=5), 4)
    r1 = take(ResumableBatchSampler(24, 6, seed=1, rank=1, world_size=2, start_batch=5), 4)
    assert [a + b for a, b in zip(r0, r1)] == single


def test_every_index_once_per_epoch() -> None:
    n, batch = 24, 4
    sampler = ResumableBatchSampler(n, batch, seed=2)
    per_epoch = n // batch
    stream = take(sampler, 3 * per_epoch)
    orders = []
    for e in range(3):
        epoch = [i for b in stream[e * per_epoch : (e + 1) * per_epoch] for i, _ in b]
        assert sorted(epoch) == list(range(n))
        orders.append(epoch)
    assert orders[0] != orders[1] or orders[1] != orders[2]  # reshuffled each epoch
    seeds = [s for b in stream for _, s in b]
    assert len(set(seeds)) == len(seeds)  # each item draw has its own seed


def test_incomplete_batches_are_dropped() -> None:
    sampler = ResumableBatchSampler(10, 4, seed=0)  # 2 full batches per epoch, 2 items dropped
    assert sampler.batches_per_epoch == 2
    stream = take(sampler, 2)
    epoch = [i for b in stream for i, _ in b]
    assert len(set(epoch)) == 8


def test_dataset_smaller_than_batch() -> None:
    with pytest.raises(DataError, match="batch_size"):
        ResumableBatchSampler(3, 4, seed=0)


def test_batch_not_divisible_by_world() -> None:
    with pytest.raises(DataError):
        ResumableBatchSampler(30, 5, seed=0, world_size=2)


class RandomItems(Dataset):
    def __len__(self) -> int:
        return 5

    def __getitem__(self, index: int) -> dict[str, object]:
        return {
            "index": index,
            "torch": torch.rand(3),
            "numpy": np.random.rand(2),
            "python": random.random(),
        }


def test_seeded_items_reproducible() -> None:
    items = SeededItems(RandomItems())
    assert len(items) == 5
    a, b = items[(2, 123)], items[(2, 123)]
    assert a["index"] == 2
    assert torch.equal(a["torch"], b["torch"])
    assert np.array_equal(a["numpy"], b["numpy"])
    assert a["python"] == b["python"]
    c = items[(2, 124)]
    assert not torch.equal(a["torch"], c["torch"])
    assert not np.array_equal(a["numpy"], c["numpy"])
    assert a["python"] != c["python"]


def test_seeded_items_leave_global_rng_alone() -> None:
    items = SeededItems(RandomItems())
    torch.manual_seed(77)
    np.random.seed(77)
    random.seed(77)
    expected = (torch.rand(4), np.random.rand(3), random.random())

    torch.manual_seed(77)
    np.random.seed(77)
    random.seed(77)
    state = torch.get_rng_state()
    items[(0, 5)]
    items[(3, 2**62)]
    assert torch.equal(torch.get_rng_state(), state)
    got = (torch.rand(4), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1])
    assert got[2] == expected[2]


def test_seeded_items_with_sampler_seeds() -> None:
    items = SeededItems(RandomItems())
    batch = take(ResumableBatchSampler(5, 5, seed=0), 1)[0]
    first = [items[key]["torch"] for key in batch]
    again = [items[key]["torch"] for key in batch]
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    assert len({tuple(x.tolist()) for x in first}) == 5
