"""The plugin author's path, end to end: ``cgp new-plugin`` writes a package that installs, is
listed, trains, evaluates, reports, and passes its own generated tests (which resume bit-identically
through ``cgp.testing``) — with no edit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import cgp_subprocess, run_cli


def test_a_generated_plugin_installs_trains_and_passes_its_own_tests(tmp_path: Path) -> None:
    made = run_cli("new-plugin", "sketches", "--output", str(tmp_path / "cgp-sketches"))
    assert made.exit_code == 0, made.output
    package = tmp_path / "cgp-sketches"
    assert (package / "cgp_sketches" / "task.py").is_file() and (package / "tests" / "test_sketches.py").is_file()

    site = tmp_path / "site"  # installed as pip installs it, into a folder of its own
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
    installed = subprocess.run([*pip, str(package)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    env = {"PYTHONPATH": str(site)}

    listed = cgp_subprocess("plugins", "--json", env=env)
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["sketches"]["distribution"] == "cgp-sketches" and plugins["sketches"]["api"] == "1.1"

    run = tmp_path / "run"
    small = ["--set", "trainer.steps=30", "--set", "data.size=256", "--set", "trainer.batch_size=32"]
    trained = cgp_subprocess("train", "--plugin", "sketches", "--run-dir", str(run), *small, env=env)
    assert trained.returncode == 0, trained.stderr
    evaluated = cgp_subprocess("evaluate", str(run), "--json", env=env)
    assert evaluated.returncode == 0 and "sketches_accuracy" in json.loads(evaluated.stdout)
    reported = cgp_subprocess("report", str(run), env=env)
    assert reported.returncode == 0 and (run / "report.html").is_file()

    own_tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr
    assert "2 passed" in own_tests.stdout
