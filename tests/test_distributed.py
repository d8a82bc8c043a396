"""Two CPU processes (gloo) through `cgp train --nproc 2`."""

from __future__ import annotations

import json
from pathlib import Path

from cgp.core.checkpoint import find_last, load_checkpoint
from cgp.core.config import resolve_config
from cgp.plugins.cgan.task import CganConfig, CganTask
from conftest import TINY, cgp_subprocess, sets


def test_two_process_run_completes_and_its_checkpoint_loads(tmp_path: Path) -> None:
    run_dir = tmp_path / "ddp"
    proc = cgp_subprocess(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(run_dir),
        "--nproc",
        "2",
        *sets(*TINY, "trainer.steps=6", "trainer.log_every=3", "eval.metrics=[]"),
        env={"OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = load_checkpoint(find_last(run_dir / "checkpoints"))
    assert ckpt.meta["step"] == 6 and ckpt.meta["world_size"] == 2
    task = CganTask(resolve_config(CganConfig, "cgan", overrides=TINY), host=None)  # type: ignore[arg-type]
    models = task.build_models()
    models.load_state_dict(ckpt.tensors["models"])
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 6], "only rank 0 writes metrics, once per logged step"
    assert len(list((run_dir / "samples").glob("*.png"))) == 1


def test_two_process_kill_and_resume_is_bit_identical(tmp_path: Path) -> None:
    """Each rank's RNG state is checkpointed, so a 2-process run resumes exactly."""
    from safetensors.torch import load_file

    from conftest import fake_distribution
    from test_resume import KILLER

    common = [
        "--nproc",
        "2",
        *sets(*TINY, "trainer.steps=8", "trainer.checkpoint_every=4", "trainer.sample_every=0", "eval.metrics=[]"),
    ]
    env = {"OMP_NUM_THREADS": "1"}
    straight = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "a"), *common, env=env)
    assert straight.returncode == 0, straight.stderr[-3000:]
    site = fake_distribution(tmp_path / "site", "cgp-test-killer", "cgp_test_killer", KILLER, "killer")
    killed = cgp_subprocess(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(tmp_path / "b"),
        *common,
        env={**env, "PYTHONPATH": str(site), "CGP_TEST_KILL_AT_STEP": "4"},
    )
    assert killed.returncode != 0
    assert find_last(tmp_path / "b" / "checkpoints").name == "step_00000004"
    resumed = cgp_subprocess("train", "--resume", "--run-dir", str(tmp_path / "b"), "--nproc", "2", env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = load_file(str(find_last(tmp_path / "a" / "checkpoints") / "models.safetensors"))
    b = load_file(str(find_last(tmp_path / "b" / "checkpoints") / "models.safetensors"))
    assert [k for k in a if not (a[k] == b[k]).all()] == []
