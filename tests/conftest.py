"""Shared helpers: run the CLI in-process or as a subprocess, and a tiny cgan configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cgp.testing import cgp_cli

TINY = [
    "model.image_size=16",
    "model.generator_width=16",
    "model.discriminator_width=16",
    "model.noise_dim=16",
    "model.embed_dim=8",
    "trainer.batch_size=16",
    "data.train_size=256",
    "trainer.log_every=5",
    "trainer.progress=off",
    "trainer.device=cpu",
]
"""A cgan small enough that a step takes milliseconds on one CPU core."""


def sets(*items: str) -> list[str]:
    out: list[str] = []
    for item in items:
        out += ["--set", item]
    return out


run_cli = cgp_cli
"""Run ``cgp ARGS`` in this process; returns click's Result (exit_code, output)."""


def cgp_subprocess(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, **kw
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cgp", *args], capture_output=True, text=True, env=full_env, timeout=timeout, **kw
    )


@pytest.fixture
def tiny_sets() -> list[str]:
    return sets(*TINY)


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def fake_distribution(site: Path, dist_name: str, module: str, source: str, entry_name: str) -> Path:
    """Write ``module.py`` plus a ``*.dist-info`` declaring it in the ``cgp`` entry-point group, as an
    installed distribution would; put ``site`` on PYTHONPATH to 'install' it."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist_name.replace('-', '_')}-0.0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(f"[cgp]\n{entry_name} = {module}\n")
    return site
