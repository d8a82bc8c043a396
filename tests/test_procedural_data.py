"""The built-in procedural splits keep their drawn items when they fit, and serve the same items."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cgp.datasets.shapes import ShapesDataset, render_shape


def test_a_cached_procedural_split_serves_the_items_it_would_draw() -> None:
    kept, fresh = ShapesDataset("train", 16, size=24), ShapesDataset("train", 16, size=24)
    for _ in range(2):  # the second pass comes from the cache
        for i in range(24):
            item = kept[i]
            item["x"] = None  # a caller's change to the returned item leaves the cache alone
    assert kept._caching and len(kept._memo) == 24
    for i in range(24):
        assert torch.equal(kept[i]["x"], fresh._draw(i)["x"]) and kept[i]["cond"] == fresh._draw(i)["cond"]


def test_a_procedural_split_over_the_cache_budget_is_drawn_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ShapesDataset, "cache_bytes", 3 * 16 * 16 * 4 * 10)  # room for 10 of 24 items
    data = ShapesDataset("train", 16, size=24)
    first, again = data[3], data[3]
    assert not data._caching and data._memo == {}
    assert torch.equal(first["x"], again["x"]) and first["x"] is not again["x"]


def test_render_shape_scale_shrinks_the_shape_and_leaves_the_dataset_unchanged() -> None:
    def draw(scale: float | None) -> np.ndarray:
        rng = np.random.default_rng(7)
        return render_shape(rng, 2, 32) if scale is None else render_shape(rng, 2, 32, scale)

    own, same, half = draw(None), draw(1.0), draw(0.5)
    assert np.array_equal(own, same)
    background = own[:, 0, 0][:, None, None]

    def area(image: np.ndarray) -> int:
        return int((np.abs(image - background).max(axis=0) > 0.35).sum())

    assert 0 < area(half) < 0.4 * area(own)  # half the radius: about a quarter of the area
