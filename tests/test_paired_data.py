"""Paired and unpaired image folders, their preprocessing, and the procedural pairs (cgp.datasets)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cgp.core.errors import ConfigError, DataError
from cgp.datasets.paired import PairedImageFolder
from cgp.datasets.procedural_pairs import ProceduralDomains, ProceduralPairs
from cgp.datasets.transforms import PairTransform
from cgp.datasets.unpaired import UnpairedImageFolder

SMALL = PairTransform(preprocess="resize_and_crop", load_size=20, crop_size=16)


def noise_image(seed: int, size: tuple[int, int] = (24, 24), mode: str = "RGB") -> Image.Image:
    """A random image; ``size`` is (width, height)."""
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode)


def side_by_side(a: Image.Image, b: Image.Image) -> Image.Image:
    ab = Image.new("RGB", (a.width + b.width, a.height))
    ab.paste(a, (0, 0))
    ab.paste(b, (a.width, 0))
    return ab


def as_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0)


def aligned_root(tmp_path: Path, n: int = 3, split: str = "train") -> Path:
    folder = tmp_path / split
    folder.mkdir(parents=True)
    for i in range(n):
        side_by_side(noise_image(i), noise_image(100 + i)).save(folder / f"{i}.png")
    return tmp_path


def split_root(tmp_path: Path, stems: tuple[str, ...] = ("x", "y")) -> Path:
    """``train/A/`` as PNG and ``train/B/`` as JPEG (quality 100), paired by stem."""
    for side in "AB":
        (tmp_path / "train" / side).mkdir(parents=True)
    for i, stem in enumerate(stems):
        noise_image(i).save(tmp_path / "train" / "A" / f"{stem}.png")
        noise_image(100 + i).save(tmp_path / "train" / "B" / f"{stem}.jpg", quality=100)
    return tmp_path


def test_aligned_layout_splits_halves(tmp_path: Path) -> None:
    root = aligned_root(tmp_path)
    ds = PairedImageFolder(root, "train", PairTransform(preprocess="none", train=False))
    assert len(ds) == 3
    item = ds[1]
    assert set(item) == {"x", "cond", "name"} and item["name"] == "1"
    assert item["cond"].shape == item["x"].shape == (3, 24, 24)
    assert torch.allclose(item["cond"], as_tensor(noise_image(1)))
    assert torch.allclose(item["x"], as_tensor(noise_image(101)))
    swapped = PairedImageFolder(root, "train", PairTransform(preprocess="none", train=False), direction="BtoA")[1]
    assert torch.equal(swapped["x"], item["cond"]) and torch.equal(swapped["cond"], item["x"])


def test_split_layout_matches_by_stem(tmp_path: Path) -> None:
    root = split_root(tmp_path, ("b", "a"))
    ds = PairedImageFolder(root, "train", SMALL.for_evaluation())
    assert [ds[i]["name"] for i in range(len(ds))] == ["a", "b"]
    item = ds[0]
    assert item["cond"].shape == item["x"].shape == (3, 16, 16)
    assert item["cond"].min() >= -1 and item["cond"].max() <= 1


def test_file_only_in_a_is_named(tmp_path: Path) -> None:
    root = split_root(tmp_path)
    noise_image(7).save(root / "train" / "A" / "lonely.png")
    with pytest.raises(DataError, match=r"lonely\.png.*no partner in .*B"):
        PairedImageFolder(root, "train", SMALL)


def test_missing_b_folder_and_empty_split(tmp_path: Path) -> None:
    (tmp_path / "train" / "A").mkdir(parents=True)
    with pytest.raises(DataError, match="no B/"):
        PairedImageFolder(tmp_path, "train", SMALL)
    (tmp_path / "test").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        PairedImageFolder(tmp_path, "test", SMALL)
    with pytest.raises(DataError, match="does not exist"):
        PairedImageFolder(tmp_path, "val", SMALL)


def test_odd_width_aligned_image(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    noise_image(0, (25, 12)).save(tmp_path / "train" / "odd.png")
    with pytest.raises(DataError, match=r"odd\.png.*odd width"):
        PairedImageFolder(tmp_path, "train", SMALL)[0]


def test_corrupt_file_is_named(tmp_path: Path) -> None:
    root = aligned_root(tmp_path, 1)
    (root / "train" / "bad.png").write_bytes(os.urandom(200))
    ds = PairedImageFolder(root, "train", SMALL)
    with pytest.raises(DataError, match=r"bad\.png.*corrupt"):
        ds[1]


def test_image_smaller_than_crop(tmp_path: Path) -> None:
    root = aligned_root(tmp_path, 1)
    ds = PairedImageFolder(root, "train", PairTransform(preprocess="crop", crop_size=32))
    with pytest.raises(DataError, match=r"0\.png.* is 24x24, smaller than crop_size 32.*resize_and_crop"):
        ds[0]


def test_grayscale_and_rgba_load_as_rgb(tmp_path: Path) -> None:
    for side in "AB":
        (tmp_path / "train" / side).mkdir(parents=True)
    noise_image(0, mode="L").save(tmp_path / "train" / "A" / "g.png")
    noise_image(1, mode="RGBA").save(tmp_path / "train" / "B" / "g.png")
    item = PairedImageFolder(tmp_path, "train", SMALL)[0]
    assert item["cond"].shape == item["x"].shape == (3, 16, 16)
    gray = PairedImageFolder(tmp_path, "train", SMALL, channels_a=1)[0]
    assert gray["cond"].shape == (1, 16, 16)


def test_eval_is_deterministic_and_train_transforms_a_and_b_alike(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    a = noise_image(3, (20, 28))
    side_by_side(a, a).save(tmp_path / "train" / "same.png")
    crop = PairTransform(preprocess="crop", crop_size=16)
    evaluation = PairedImageFolder(tmp_path, "train", crop.for_evaluation())
    first = evaluation[0]
    random.seed(1)
    assert torch.equal(evaluation[0]["x"], first["x"])
    assert torch.equal(first["x"], first["cond"])
    train = PairedImageFolder(tmp_path, "train", crop)
    seen = set()
    for seed in range(12):
        random.seed(seed)
        item = train[0]
        assert torch.equal(item["x"], item["cond"])  # the same crop and flip for A and B
        seen.add(item["x"].numpy().tobytes())
    assert len(seen) > 3  # crops and flips do vary


def test_preprocess_modes_give_expected_sizes() -> None:
    img = noise_image(0, (40, 30))
    assert PairTransform(preprocess="none", multiple=4)([img], "x")[0].shape == (3, 32, 40)
    assert PairTransform(preprocess="scale_width", load_size=20, crop_size=8)([img], "x")[0].shape == (3, 15, 20)
    out = PairTransform(preprocess="scale_width_and_crop", load_size=20, crop_size=12)([img], "x")[0]
    assert out.shape == (3, 12, 12)
    with pytest.raises(ConfigError, match="load_size"):
        PairTransform(load_size=8, crop_size=16)
    with pytest.raises(ConfigError, match="preprocess"):
        PairTransform(preprocess="zoom")


def test_link_escaping_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    noise_image(0, (48, 24)).save(outside)
    root = aligned_root(tmp_path / "data", 1)
    (root / "train" / "link.png").symlink_to(outside)
    with pytest.raises(DataError, match="escapes"):
        PairedImageFolder(root, "train", SMALL)


def test_unpaired_folders(tmp_path: Path) -> None:
    for name, n in (("trainA", 3), ("trainB", 5)):
        (tmp_path / name).mkdir()
        for i in range(n):
            noise_image(i).save(tmp_path / name / f"{name}{i}.{'png' if i % 2 else 'jpg'}")
    ds = UnpairedImageFolder(tmp_path, "train", SMALL)
    assert len(ds) == 5
    item = ds[4]
    assert set(item) == {"x", "cond", "name_a", "name_b"}
    assert item["name_a"] == "trainA1" and item["name_b"].startswith("trainB")
    assert item["x"].shape == item["cond"].shape == (3, 16, 16)
    serial = UnpairedImageFolder(tmp_path, "train", SMALL, serial=True)
    assert [serial[i]["name_b"] for i in range(5)] == [f"trainB{i}" for i in range(5)]
    with pytest.raises(DataError, match="testA"):
        UnpairedImageFolder(tmp_path, "test", SMALL)


def test_procedural_pairs_are_deterministic_per_index() -> None:
    ds = ProceduralPairs("train", image_size=32, size=10)
    assert len(ds) == 10 and len(ProceduralPairs("train")) == 2000 and len(ProceduralPairs("test")) == 200
    a, b = ds[3], ds[3]
    assert torch.equal(a["x"], b["x"]) and torch.equal(a["cond"], b["cond"])
    assert not torch.equal(ds[4]["x"], a["x"])
    assert not torch.equal(ProceduralPairs("test", image_size=32)[3]["x"], a["x"])
    for key in ("x", "cond"):
        assert a[key].shape == (3, 32, 32) and a[key].dtype == torch.float32
        assert a[key].min() >= -1 and a[key].max() <= 1
    assert a["name"] == "train_00003"
    with pytest.raises(IndexError):
        ds[10]


def test_procedural_domains_are_unpaired() -> None:
    ds = ProceduralDomains("train", image_size=32, size=4)
    item = ds[1]
    assert set(item) == {"x", "cond", "name_a", "name_b"}
    assert item["x"].shape == item["cond"].shape == (3, 32, 32)
    assert torch.equal(ds[1]["cond"], item["cond"]) and not torch.equal(ds[2]["cond"], item["cond"])
    assert item["x"].min() >= -1 and item["x"].max() <= 1
