"""Every built-in task reads ``data.root`` through the reader its ``data.reader`` names, with the
options the plugin guide lists, so a plugin can add a layout to any task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from torch.utils.data import Dataset

from cgp import hookimpl
from cgp.core.config import resolve_config
from cgp.core.plugins import load_plugins


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
        "noisy_clean_folder",
        "paired_image_folder",
        "unpaired_image_folder",
        "video_clip_folder",
    ]
