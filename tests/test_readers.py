"""Every built-in task reads ``data.root`` through the reader its ``data.reader`` names, with the
options the plugin guide lists, so a plugin can add a layout to any task."""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from torch.utils.data import Dataset

from cgp import hookimpl
from cgp.core.config import resolve_config
from cgp.core.errors import DataError
from cgp.core.plugins import load_plugins
from cgp.datasets.class_folder import ClassImageFolder
from cgp.datasets.idx import read_idx, write_class_folders


class Recorded(Exception):
    """Stops the task right after its reader was called, with what it was given."""

    def __init__(self, root: Path, split: str, options: dict[str, Any]) -> None:
        super().__init__(split)
        self.root, self.split, self.options = root, split, options


def recording_reader(root: Path, split: str, **options: Any) -> Dataset:
    raise Recorded(root, split, options)


class RecordingPlugin:
    @hookimpl
    def cgp_register_datasets(self, register: Any) -> None:
        register("recording", recording_reader)


OPTIONS = {
    "pix2pix": {"transform", "direction", "channels_a", "channels_b"},
    "cyclegan": {"transform", "serial", "channels_a", "channels_b"},
    "speech_enhance": {"sample_rate", "segment"},
    "video_predict": {"length", "image_size", "stride", "channels", "step", "cache_mb", "skip_bad"},
    "cgan": {"image_size", "classes"},
    "text2image": {"image_size"},
}


@pytest.mark.parametrize("task_name", sorted(OPTIONS))
def test_the_task_reads_its_root_through_the_registered_reader(task_name: str, tmp_path: Path) -> None:
    host = load_plugins()
    host.register(RecordingPlugin(), "recording")
    host.collect()
    task_cls = host.task(task_name)
    root = tmp_path / "data"
    (root / "train" / "a").mkdir(parents=True)
    (root / "train" / "b").mkdir(parents=True)
    config = resolve_config(
        task_cls.config_model, task_cls.name, overrides=[f"data.root={root}", "data.reader=recording"]
    )
    task = task_cls(config, host)
    with pytest.raises(Recorded) as recorded:
        task.build_dataset("train") if task_name != "text2image" else task.base_dataset("train")
    assert recorded.value.root == root and recorded.value.split == "train"
    assert set(recorded.value.options) == OPTIONS[task_name]


def test_readers_that_read_no_root_are_not_registered() -> None:
    assert load_plugins().datasets.names() == [
        "captioned_image_folder",
        "class_image_folder",
        "class_tar_shards",
        "noisy_clean_folder",
        "paired_image_folder",
        "paired_tar_shards",
        "unpaired_image_folder",
        "video_clip_folder",
    ]


def _idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_idx_files_read_back_and_become_class_folders(tmp_path: Path, compressed: bool) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 7, 6), dtype=np.uint8)
    labels = np.array([0, 2, 1, 2, 0], dtype=np.uint8)
    floats = rng.normal(size=(2, 3)).astype(np.float32)
    for name, array, code in (("img", images, 0x08), ("lab", labels, 0x08), ("f", floats, 0x0D)):
        data = _idx_bytes(array, code)
        path = tmp_path / (f"{name}.idx.gz" if compressed else f"{name}.idx")
        path.write_bytes(gzip.compress(data) if compressed else data)
    suffix = ".idx.gz" if compressed else ".idx"
    assert np.array_equal(read_idx(tmp_path / f"img{suffix}"), images)
    assert np.array_equal(read_idx(tmp_path / f"f{suffix}"), floats)
    written = write_class_folders(
        read_idx(tmp_path / f"img{suffix}"), read_idx(tmp_path / f"lab{suffix}"), ["a", "b", "c"], tmp_path / "train"
    )
    assert written == 5
    assert sorted(p.name for p in (tmp_path / "train" / "b").iterdir()) == ["00002.png"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "train" / "c" / "00003.png")), images[3])
    assert ClassImageFolder(tmp_path, "train", 8)[0]["x"].shape == (3, 8, 8)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"\x00\x00\x08\x03\x00\x00\x00\x05", "truncated inside its header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "holds 11 bytes but its header (5,) needs 13"),
        (b"PK\x03\x04not idx at all", "bad magic number"),
    ],
)
def test_a_damaged_idx_file_is_one_clear_error(tmp_path: Path, content: bytes, phrase: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=re.escape(phrase)):
        read_idx(path)
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "missing.idx")
