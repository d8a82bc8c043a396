"""Checkpoints survive kills, and a killed-and-resumed run ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from cgp.core.checkpoint import find_last, load_checkpoint
from cgp.core.config import resolve_config
from cgp.plugins.cgan.task import CganConfig, CganTask
from conftest import TINY, cgp_subprocess, fake_distribution, sets

KILLER = textwrap.dedent(
    """
    import os, signal
    from cgp import hookimpl

    @hookimpl
    def cgp_checkpoint_saved(step, path):
        if step == int(os.environ["CGP_TEST_KILL_AT_STEP"]):
            os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _final_tensors(run_dir: Path) -> dict[str, torch.Tensor]:
    ckpt = find_last(run_dir / "checkpoints")
    assert ckpt is not None
    return {
        **load_file(str(ckpt / "models.safetensors")),
        **{f"opt.{k}": v for k, v in load_file(str(ckpt / "optimizers.safetensors")).items()},
    }


def _assert_bit_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"tensors differ after resume: {different[:5]}"


def assert_resume_is_bit_identical(task: str, common: list[str], root: Path, steps: int, stop: int) -> Path:
    """Train ``task`` straight to ``steps`` in ROOT/a, and to ``stop`` then resumed to ``steps`` in ROOT/b;
    the final weights and optimizer states must be equal bit for bit. Returns the straight run."""
    straight = cgp_subprocess("train", "--plugin", task, "--run-dir", str(root / "a"), *common)
    assert straight.returncode == 0, straight.stderr
    first = cgp_subprocess(
        "train", "--plugin", task, "--run-dir", str(root / "b"), *common, "--set", f"trainer.steps={stop}"
    )
    assert first.returncode == 0, first.stderr
    resumed = cgp_subprocess("train", "--resume", "--run-dir", str(root / "b"), "--set", f"trainer.steps={steps}")
    assert resumed.returncode == 0, resumed.stderr
    _assert_bit_identical(_final_tensors(root / "a"), _final_tensors(root / "b"))
    return root / "a"


@pytest.mark.parametrize(
    "extra",
    [
        [],
        [
            "trainer.n_critic=2",
            "trainer.ema.enabled=true",
            "data.num_workers=2",
            "objective.heads=split",
            "optim.schedule.kind=linear",
            "objective.terms={r1: 1.0}",
            "model.instance_noise=0.1",
        ],
    ],
    ids=["defaults", "ncritic-ema-workers-split-linear-r1-noise"],
)
def test_killed_and_resumed_run_is_bit_identical(tmp_path: Path, extra: list[str]) -> None:
    n = 8
    common = sets(*TINY, *extra, f"trainer.steps={2 * n}", f"trainer.checkpoint_every={n}", "trainer.sample_every=0")
    straight = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "straight"), *common)
    assert straight.returncode == 0, straight.stderr

    site = fake_distribution(tmp_path / "site", "cgp-test-killer", "cgp_test_killer", KILLER, "killer")
    env = {"PYTHONPATH": str(site), "CGP_TEST_KILL_AT_STEP": str(n)}
    killed = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "resumed"), *common, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert find_last(tmp_path / "resumed" / "checkpoints").name == f"step_{n:08d}"

    resumed = cgp_subprocess("train", "--resume", "--run-dir", str(tmp_path / "resumed"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stderr
    _assert_bit_identical(_final_tensors(tmp_path / "straight"), _final_tensors(tmp_path / "resumed"))
    if "trainer.ema.enabled=true" in extra:
        _assert_bit_identical(
            load_file(str(find_last(tmp_path / "straight" / "checkpoints") / "ema.safetensors")),
            load_file(str(find_last(tmp_path / "resumed" / "checkpoints") / "ema.safetensors")),
        )
    if not extra:  # bit-identical weights give identical evaluations
        a = cgp_subprocess("evaluate", str(tmp_path / "straight"), "--json")
        b = cgp_subprocess("evaluate", str(tmp_path / "resumed"), "--json")
        assert a.returncode == 0 and a.stdout == b.stdout and "condition_accuracy" in a.stdout
    # the resumed run's metrics continue the series without duplicated steps
    rows = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "d_loss" in r] == [5, 10, 15, 16]


SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    import cgp.core.checkpoint as checkpoint

    _save = checkpoint.save_file

    def slow_save(tensors, path, *args, **kwargs):
        time.sleep(0.03)
        _save(tensors, path, *args, **kwargs)
        time.sleep(0.03)

    checkpoint.save_file = slow_save
    from cgp.core.cli import main
    main(sys.argv[1:])
    """
)


def test_sigkill_during_checkpoint_writes_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    """Checkpoint every step with slowed writes, so most kills land inside a checkpoint write."""
    run_dir = tmp_path / "run"
    driver = tmp_path / "driver.py"
    driver.write_text(SLOW_WRITER)
    args = [
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(run_dir),
        *sets(*TINY, "trainer.steps=100000", "trainer.checkpoint_every=1", "trainer.sample_every=0"),
    ]
    rng = random.Random(0)
    task = CganTask(resolve_config(CganConfig, "cgan", overrides=TINY), host=None)  # type: ignore[arg-type]
    steps_seen = []
    for attempt in range(4):
        cmd = [
            sys.executable,
            str(driver),
            *(args if attempt == 0 else ["train", "--resume", "--run-dir", str(run_dir)]),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while find_last(run_dir / "checkpoints") is None or (
            steps_seen and int(find_last(run_dir / "checkpoints").name[5:]) <= steps_seen[-1]
        ):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        last = find_last(run_dir / "checkpoints")
        ckpt = load_checkpoint(last)  # complete and readable
        models = task.build_models()
        models.load_state_dict(ckpt.tensors["models"])
        steps_seen.append(int(ckpt.meta["step"]))
    assert steps_seen == sorted(steps_seen) and steps_seen[-1] > steps_seen[0]


def _training_process(run_dir: Path, *overrides: str) -> subprocess.Popen:
    """A long cgan training in a subprocess, returned once it has logged its first row."""
    cmd = [sys.executable, "-m", "cgp", "train", "--plugin", "cgan", "--run-dir", str(run_dir)]
    cmd += sets(*TINY, *overrides, "trainer.steps=100000", "trainer.checkpoint_every=0", "trainer.sample_every=0")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / "metrics.jsonl").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def test_sigterm_saves_and_says_how_to_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = _training_process(run_dir)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert f"cgp train --resume --run-dir {run_dir}" in err
    last = find_last(run_dir / "checkpoints")
    assert last is not None and load_checkpoint(last).meta["step"] >= 5


def test_a_second_signal_stops_at_once_in_one_line(tmp_path: Path) -> None:
    """Two Ctrl-C within one (slow) step: no checkpoint is written, the exit status is SIGINT's, and
    the message is one line, not a traceback or click's 'Aborted!'."""
    run_dir = tmp_path / "run"
    slow = ["model.image_size=64", "model.generator_width=128", "trainer.batch_size=64", "trainer.log_every=1"]
    proc = _training_process(run_dir, *slow)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    errors = [line for line in err.splitlines() if line.startswith("cgp: error:")]
    assert len(errors) == 1 and "SIGINT received twice" in errors[0], err
    assert "Traceback" not in err and "Aborted" not in err
    assert find_last(run_dir / "checkpoints") is None


def test_time_budget_stops_cleanly_with_a_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = cgp_subprocess(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(run_dir),
        *sets(*TINY, "trainer.steps=100000", "trainer.max_minutes=0.001", "eval.metrics=[]"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "max_minutes" in proc.stderr
    step = load_checkpoint(find_last(run_dir / "checkpoints")).meta["step"]
    assert 1 <= step < 100000
    assert (run_dir / "samples" / f"step_{step:08d}.png").is_file()
    # far short of trainer.steps: said in the log; the last step is logged whatever log_every is
    assert f"training stopped at step {step} of trainer.steps=100000" in proc.stderr
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "g_loss" in r][-1] == step
