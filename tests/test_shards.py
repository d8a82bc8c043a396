"""WebDataset-style tar shards: read in place, in worker processes too, for cgan and pix2pix; damaged
shards and incomplete samples are one clear line."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cgp.core.errors import DataError
from cgp.datasets.images import to_tensor
from cgp.datasets.shards import ClassTarShards, PairedTarShards, TarShards
from cgp.datasets.transforms import PairTransform
from conftest import TINY, cgp_subprocess, sets


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _shard(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _class_shards(root: Path, per_shard: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    images = {}
    for split, shards in (("train", 2), ("test", 1)):
        for s in range(shards):
            members = {}
            for i in range(per_shard):
                key = f"{split}{s}_{i:04d}"
                images[key] = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
                members[f"{key}.png"] = _png(images[key])
                members[f"{key}.cls"] = ["cat", "dog", "fox"][i % 3].encode()
            _shard(root / split / f"shard-{s:03d}.tar", members)
    return images


def test_samples_are_read_in_place_and_match_their_files(tmp_path: Path) -> None:
    images = _class_shards(tmp_path / "data")
    data = ClassTarShards(tmp_path / "data", "train", 20)
    assert data.classes == ["cat", "dog", "fox"] and len(data) == 24
    item = data[13]  # second shard, key train1_0001: a dog
    assert item["cond"] == 1
    assert torch.equal(item["x"], to_tensor(Image.fromarray(images["train1_0001"])))
    assert len(TarShards(tmp_path / "data", "test")) == 12


def test_class_members_are_read_once_when_the_names_come_from_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _class_shards(tmp_path / "data")
    reads: list[tuple[str, str]] = []
    original = TarShards.read

    def counting(self: TarShards, key: str, ext: str) -> bytes:
        reads.append((key, ext))
        return original(self, key, ext)

    monkeypatch.setattr(TarShards, "read", counting)
    train = ClassTarShards(tmp_path / "data", "train", 20)  # no classes.txt: names from the members
    assert train.classes == ["cat", "dog", "fox"] and [item[2] for item in train.items[:4]] == [0, 1, 2, 0]
    assert len(reads) == 24 == len(set(reads))
    reads.clear()
    test = ClassTarShards(tmp_path / "data", "test", 20)  # the names still come from the training split
    assert test.classes == train.classes and len(reads) == 24 + 12


def test_cgan_trains_from_shards_with_loader_workers(tmp_path: Path) -> None:
    _class_shards(tmp_path / "data")
    run = tmp_path / "run"
    result = cgp_subprocess(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(run),
        *sets(
            *TINY,
            f"data.root={tmp_path / 'data'}",
            "data.reader=class_tar_shards",
            "data.num_workers=2",
            "trainer.steps=2",
            "trainer.batch_size=8",
            "eval.metrics=[]",
        ),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "classes.json").read_text()) == ["cat", "dog", "fox"]


def test_pix2pix_reads_paired_shards(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        members = {}
        for i in range(4):
            a = rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)
            members[f"p{i}.a.png"], members[f"p{i}.b.jpg"] = _png(a), _png(255 - a)
        _shard(tmp_path / "data" / f"{split}-000.tar", members)
    pairs = PairedTarShards(tmp_path / "data", "test", PairTransform("resize_and_crop", 36, 32, True, train=False))
    item = pairs[0]
    assert item["x"].shape == item["cond"].shape == (3, 32, 32) and item["name"] == "p0"
    result = cgp_subprocess(
        "train",
        "--plugin",
        "pix2pix",
        "--run-dir",
        str(tmp_path / "run"),
        *sets(
            "model.generator=unet_32",
            "model.generator_width=8",
            "model.discriminator_width=8",
            "trainer.batch_size=2",
            "trainer.steps=1",
            "trainer.progress=off",
            f"data.root={tmp_path / 'data'}",
            "data.reader=paired_tar_shards",
            "data.load_size=36",
            "data.crop_size=32",
        ),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("damage", "phrase"),
    [
        ("truncate", "is truncated"),
        ("not_tar", "is damaged or not a plain tar file"),
        ("no_cls", "has no .cls member"),
        ("bad_class", "names class 'wolf', which is not one of: cat, dog, fox"),
        ("no_shards", "no tar shards for split 'train'"),
    ],
)
def test_damaged_shards_are_one_clear_error(tmp_path: Path, damage: str, phrase: str) -> None:
    root = tmp_path / "data"
    _class_shards(root)
    shard = root / "train" / "shard-001.tar"
    if damage == "truncate":
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    elif damage == "not_tar":
        shard.write_bytes(b"\x89PNG not a tar at all" * 40)
    elif damage == "no_cls":
        _shard(shard, {"lonely.png": _png(np.zeros((4, 4, 3), np.uint8))})
    elif damage == "bad_class":
        (root / "classes.txt").write_text("cat\ndog\nfox\n")
        _shard(shard, {"x.png": _png(np.zeros((4, 4, 3), np.uint8)), "x.cls": b"wolf"})
    else:
        for path in (root / "train").iterdir():
            path.unlink()
    with pytest.raises(DataError, match=phrase):
        data = ClassTarShards(root, "train", 8)
        for i in range(len(data)):
            data[i]
