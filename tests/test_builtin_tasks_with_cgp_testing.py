"""Every built-in task passes the check a third-party plugin's tests run: ``cgp.testing``'s
``assert_task_trains`` (train, end right after the half-way checkpoint, resume bit-identically,
evaluate, generate) and the ``plugin_host`` fixture."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from cgp.testing import assert_task_trains

CASES = [
    ("cgan", "conftest", ["eval.metrics=[]"], ["circle"]),
    ("pix2pix", "test_pix2pix", ["eval.metrics=[]"], []),
    ("cyclegan", "test_cyclegan", ["eval.metrics=[]"], []),
    ("speech_enhance", "test_speech_enhance", ["eval.metrics=[]"], []),
    (
        "text2image",
        "test_text2image",
        ["eval.metrics=[]", "model.text.training=joint", "objective.terms={kl: 0.015625}"],
        ["a red circle"],
    ),  # noqa: E501
    ("video_predict", "test_video_predict", ["eval.metrics=[]"], []),
]


@pytest.mark.parametrize(("task", "module", "extra", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_builtin_task_passes_assert_task_trains(
    tmp_path: Path, task: str, module: str, extra: list[str], inputs: list[str]
) -> None:
    tiny = importlib.import_module(module).TINY
    report = assert_task_trains(task, tmp_path, [*tiny, *extra], steps=4, generate=inputs)
    assert (report.run_dir / "checkpoints" / "step_00000004").is_dir()
    assert report.metrics == {}, "eval.metrics=[]: evaluation runs and computes nothing (metrics are tested apart)"
    if inputs:
        assert report.generated and all(path.stat().st_size > 0 for path in report.generated)


def test_plugin_host_fixture_registers_only_what_it_is_given(plugin_host) -> None:  # noqa: ANN001
    import cgp.plugins.cgan as cgan_plugin

    host = plugin_host(cgan=cgan_plugin)
    assert host.tasks.names() == ["cgan"] and host.failures == []
    assert "class_judge" in host.metrics
