"""Test helpers for plugin authors (and cgp's own plugins), loaded by pytest through the ``pytest11``
entry point, so any test suite with cgp installed has them:

* the ``plugin_host`` fixture: a factory for a fresh plugin host holding the core and the plugin
  objects you give it (no entry points), with their registrations collected;
* :func:`assert_task_trains`: trains a task for a few steps through the ``cgp`` command line,
  checkpoints half-way, trains a second run to the half-way checkpoint and resumes it, checks the two
  end states are bit-identical, then evaluates and (when given inputs) generates.

    def test_my_task_trains(tmp_path):
        report = assert_task_trains("mytask", tmp_path, ["model.width=8"], generate=["a prompt"])
        assert report.metrics["my_metric"] >= 0
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner, Result
from safetensors.torch import load_file

from cgp.core.checkpoint import find_last
from cgp.core.config import dump_yaml, resolve_config
from cgp.core.hookspecs import hookimpl
from cgp.core.plugins import PluginHost, load_plugins, make_plugin_manager
from cgp.core.rundir import RunDir
from cgp.core.trainer import Trainer

__all__ = ["TrainReport", "assert_task_trains", "cgp_cli", "plugin_host"]


def cgp_cli(*args: str) -> Result:
    """Run ``cgp ARGS`` in this process (exceptions not caught, so a bug shows its traceback)."""
    from cgp.core.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def plugin_host() -> Callable[..., PluginHost]:
    """``plugin_host(plugin, ...)`` or ``plugin_host(name=plugin, ...)``: a host with the core's
    losses and these plugin objects (modules or instances with hook implementations) registered and
    collected; failures are in ``host.failures``."""

    def make(*plugins: object, **named: object) -> PluginHost:
        host = make_plugin_manager()
        for index, plugin in enumerate(plugins):
            host.register(plugin, getattr(plugin, "__name__", f"plugin{index}"))
        for name, plugin in named.items():
            host.register(plugin, name)
        host.collect()
        return host

    return make


@dataclass
class TrainReport:
    """What :func:`assert_task_trains` saw: the finished run, its evaluation and generated paths."""

    run_dir: Path
    metrics: dict[str, float]
    generated: list[Path]


def _sets(items: Sequence[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def _ok(result: Result, what: str) -> None:
    assert result.exit_code == 0, f"{what} failed (exit status {result.exit_code}):\n{result.output}"


def _tensors(run_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    last = find_last(run_dir / "checkpoints")
    assert last is not None, f"'{run_dir}' has no checkpoint"
    return {f.stem: load_file(str(f)) for f in sorted(last.glob("*.safetensors")) if f.stem != "rng"}


class _Stop(Exception):
    """Raised by :class:`_StopAfterCheckpoint` to end a run the way a kill would, after a checkpoint."""


class _StopAfterCheckpoint:
    def __init__(self, step: int) -> None:
        self.step = step

    @hookimpl
    def cgp_checkpoint_saved(self, step: int, path: Path) -> None:
        if step == self.step:
            raise _Stop


def _train_until_checkpoint(task: str, run_dir: Path, overrides: list[str], stop_at: int) -> None:
    """Train ``task`` with its full config but end the process's run right after the checkpoint of
    step ``stop_at`` is complete, as if it had been killed there."""
    host = load_plugins()
    host.register(_StopAfterCheckpoint(stop_at), "cgp.testing.stop")
    task_cls = host.task(task)
    config = resolve_config(task_cls.config_model, task_cls.name, overrides=overrides)
    run = RunDir(run_dir)
    run.create()
    run.write_config(dump_yaml(config))
    with pytest.raises(_Stop):
        Trainer(task_cls(config, host), run, host).fit()


def assert_task_trains(
    task: str,
    tmp_path: Path,
    overrides: Sequence[str] = (),
    steps: int = 4,
    generate: Sequence[str] = (),
    generate_options: Sequence[str] = (),
) -> TrainReport:
    """Train ``task`` for ``steps`` steps on the CPU (``overrides`` on top of its defaults; keep them
    small), with a checkpoint half-way; train the same config again, end it right after the half-way
    checkpoint (as a kill would) and resume it with ``cgp train --resume``; assert both runs end with
    bit-identical weights, optimizer and objective states;
    evaluate the run; and, when ``generate`` holds inputs, run ``cgp generate`` on them. Returns the
    run directory, the metrics and the generated paths."""
    assert steps >= 2 and steps % 2 == 0, "steps must be even: the resumed run stops half-way"
    half = steps // 2
    common = [
        *overrides,
        "trainer.device=cpu",
        "trainer.progress=off",
        f"trainer.checkpoint_every={half}",
        "trainer.sample_every=0",
    ]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    full = _sets([*common, f"trainer.steps={steps}"])
    _ok(cgp_cli("train", "--plugin", task, "--run-dir", str(straight), *full), "training")
    _train_until_checkpoint(task, resumed, [*common, f"trainer.steps={steps}"], half)
    _ok(cgp_cli("train", "--resume", "--run-dir", str(resumed)), "the resume")
    a, b = _tensors(straight), _tensors(resumed)
    assert a.keys() == b.keys(), f"checkpoint files differ: {sorted(a)} and {sorted(b)}"
    for group in a:
        assert a[group].keys() == b[group].keys(), f"{group}: the tensors' names differ"
        changed = [k for k in a[group] if not torch.equal(a[group][k], b[group][k])]
        assert not changed, f"the resumed run is not bit-identical: {group} {changed[:3]} differ"

    evaluated = cgp_cli("evaluate", str(straight), "--json")
    _ok(evaluated, "cgp evaluate")
    metrics: dict[str, Any] = json.loads(evaluated.output.strip().splitlines()[-1])
    generated: list[Path] = []
    if generate:
        output = tmp_path / "generated"
        result = cgp_cli("generate", str(straight), *generate, *generate_options, "--output", str(output))
        _ok(result, "cgp generate")
        generated = [Path(line) for line in result.output.splitlines() if line.strip() and Path(line).exists()]
        assert generated, f"cgp generate wrote nothing:\n{result.output}"
    return TrainReport(straight, metrics, generated)
