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
        "train", "--plugin", "cgan", "--run-dir", str(run_dir), "--nproc", "2",
        *sets(*TINY, "trainer.steps=6", "trainer.log_every=3", "eval.metrics=[]"),
        env={"OMP_NUM_THREADS": "1"}, timeout=300,
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
