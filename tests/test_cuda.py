"""Training on a GPU: every precision, every built-in task, resume, and CPU inference of a GPU run.

These need CUDA and are skipped on machines without it (CI has none); they are run by hand on a GPU
machine (docs/benchmarks.md says when they last ran and where).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import TINY, cgp_subprocess, fake_distribution, sets
from test_resume import KILLER, _assert_bit_identical, _final_tensors

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

GPU_TINY = [s for s in TINY if not s.startswith("trainer.device")] + ["trainer.device=cuda"]


def _losses(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "g_loss" in r and "d_loss" in r]


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cgan_trains_on_cuda_and_evaluates_on_cpu(tmp_path: Path, precision: str) -> None:
    run = tmp_path / "run"
    common = sets(*GPU_TINY, f"trainer.precision={precision}", "trainer.steps=60", "trainer.checkpoint_every=30")
    done = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(run), *common)
    assert done.returncode == 0, done.stderr
    rows = _losses(run)
    assert rows, "no losses were logged"
    for row in rows:
        for key, value in row.items():
            if key.endswith("_loss"):
                assert torch.isfinite(torch.tensor(float(value))), f"{key} = {value} at {row}"
    evaluated = cgp_subprocess("evaluate", str(run), "--json", "--device", "cpu")
    assert evaluated.returncode == 0, evaluated.stderr
    assert 0.0 <= json.loads(evaluated.stdout)["condition_accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("task", "extra"),
    [
        ("pix2pix", ["data.train_size=32", "trainer.batch_size=4", "model.generator=unet_32"]),
        ("cyclegan", ["data.train_size=16", "trainer.batch_size=2", "model.generator=resnet_6blocks"]),
    ],
)
def test_image2image_tasks_train_on_cuda_in_fp16(tmp_path: Path, task: str, extra: list[str]) -> None:
    run = tmp_path / "run"
    common = sets(*extra, "trainer.device=cuda", "trainer.precision=fp16", "trainer.steps=20", "trainer.progress=off")
    done = cgp_subprocess("train", "--plugin", task, "--run-dir", str(run), *common)
    assert done.returncode == 0, done.stderr
    evaluated = cgp_subprocess("evaluate", str(run), "--json", "--device", "cuda")
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert all(torch.isfinite(torch.tensor(float(v))) for v in metrics.values() if isinstance(v, int | float))


def test_killed_and_resumed_cuda_run_is_bit_identical(tmp_path: Path) -> None:
    n = 8
    common = sets(*GPU_TINY, f"trainer.steps={2 * n}", f"trainer.checkpoint_every={n}", "trainer.sample_every=0")
    straight = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "straight"), *common)
    assert straight.returncode == 0, straight.stderr
    site = fake_distribution(tmp_path / "site", "cgp-test-killer", "cgp_test_killer", KILLER, "killer")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = {"PYTHONPATH": path, "CGP_TEST_KILL_AT_STEP": str(n)}
    killed = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "resumed"), *common, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = cgp_subprocess("train", "--resume", "--run-dir", str(tmp_path / "resumed"))
    assert resumed.returncode == 0, resumed.stderr
    _assert_bit_identical(_final_tensors(tmp_path / "straight"), _final_tensors(tmp_path / "resumed"))


def test_seed_reaches_cuda_started_later() -> None:
    """The trainer seeds before CUDA starts; CUDA's generator must still follow trainer.seed."""
    code = "import torch; from cgp.core.seeding import seed_everything as s; s(5); print(torch.cuda.initial_seed())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
