"""The TensorBoard logger plugin: a run with ``logging.backends=[tensorboard]`` writes event files
whose scalars, read back with TensorBoard's own reader, hold every logged term and metric."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest

from conftest import TINY, run_cli, sets

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="the tensorboard extra is not installed"
)


def test_event_files_hold_every_logged_term_and_metric(tmp_path: Path) -> None:
    run = tmp_path / "run"
    steps = ["trainer.steps=4", "trainer.log_every=2", "trainer.sample_every=2", "logging.backends=[tensorboard]"]
    result = run_cli("train", "--plugin", "cgan", "--run-dir", str(run), *sets(*TINY, *steps))
    assert result.exit_code == 0, result.output
    events = event_accumulator.EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logged = {k for r in rows if "sides" in r for k in r if k not in ("step", "time", "sides")}
    metrics = {k.removeprefix("eval/") for r in rows for k in r if k.startswith("eval/")}
    assert {"d_real", "d_fake", "d_mismatch", "g_adv", "d_loss", "g_loss"} <= logged
    assert {f"train/{k}" for k in logged} <= scalars
    assert metrics and {f"eval/{k}" for k in metrics} <= scalars
    assert [e.step for e in events.Scalars("train/g_adv")] == [2, 4]
    assert events.Scalars("train/d_real")[-1].value == pytest.approx(rows[1]["d_real"], rel=1e-6)
    assert [e.step for e in events.Images("samples/png")] == [2, 4]


def test_a_run_without_the_extra_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_tensorboard(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    result = run_cli(
        "train", "--plugin", "cgan", "--run-dir", str(tmp_path / "run"), *sets(*TINY, "logging.backends=[tensorboard]")
    )
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("cgp: error:")]
    assert len(errors) == 1 and "pip install 'cgp[tensorboard]'" in errors[0], result.output


def test_an_unknown_logger_is_refused_before_training(tmp_path: Path) -> None:
    result = run_cli(
        "train", "--plugin", "cgan", "--run-dir", str(tmp_path / "run"), *sets(*TINY, "logging.backends=[wandb]")
    )
    assert result.exit_code == 2 and "unknown logger 'wandb'" in result.output
    assert not (tmp_path / "run").exists()
