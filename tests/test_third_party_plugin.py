"""A third-party plugin package, installed with pip beside cgp, trains with no file of cgp changed;
a broken plugin installed beside the built-ins is reported and the rest still work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cgp_subprocess, fake_distribution, repo_root, sets


@pytest.fixture(scope="module")
def sine_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-installs examples/cgp-sine-plugin into a private folder (offline, no build isolation)."""
    work = tmp_path_factory.mktemp("sine")
    source = work / "src"
    shutil.copytree(repo_root() / "examples" / "cgp-sine-plugin", source)
    site = work / "site"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return site


def test_installed_plugin_is_listed_with_its_distribution(sine_site: Path) -> None:
    proc = cgp_subprocess("plugins", "--json", env={"PYTHONPATH": str(sine_site)})
    assert proc.returncode == 0, proc.stderr
    plugins = {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}
    assert plugins["sine"]["distribution"] == "cgp-sine-plugin"
    assert plugins["sine"]["version"] == "0.2.0"
    assert plugins["sine"]["tasks"] == ["sine"] and plugins["sine"]["metrics"] == ["dominant_frequency"]
    assert "cgan" in plugins


def test_installed_plugin_trains_and_evaluates(sine_site: Path, tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(sine_site)}
    run_dir = tmp_path / "sine"
    proc = cgp_subprocess(
        "train",
        "--plugin",
        "sine",
        "--run-dir",
        str(run_dir),
        *sets("trainer.steps=30", "trainer.progress=off"),
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "checkpoints" / "last").read_text().strip() == "step_00000030"
    assert (run_dir / "samples" / "step_00000030.json").is_file()
    evaluated = cgp_subprocess("evaluate", str(run_dir), "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert 0.0 <= json.loads(evaluated.stdout)["frequency_accuracy"] <= 1.0
    out = tmp_path / "waves"
    generated = cgp_subprocess("generate", str(run_dir), "0", "3", "--count", "2", "--output", str(out), env=env)
    assert generated.returncode == 0, generated.stderr
    assert sorted(p.name for p in out.iterdir()) == ["0.json", "3.json"]
    assert len(json.loads((out / "3.json").read_text())) == 2


def test_the_example_follows_the_guide(sine_site: Path) -> None:
    """Its hook module does not import the task (that happens inside the hooks), it imports only
    cgp.api (and cgp's hookimpl), and every config field it adds has a description."""
    import subprocess
    import sys

    probe = "import sys, cgp_sine.plugin; print(sorted(m for m in ('cgp_sine.task',) if m in sys.modules))"
    cheap = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(sine_site)}
    )
    assert cheap.returncode == 0 and cheap.stdout.strip() == "[]", cheap.stdout + cheap.stderr
    sources = list((repo_root() / "examples" / "cgp-sine-plugin" / "cgp_sine").glob("*.py"))
    imports = {
        line.split(" import")[0] for p in sources for line in p.read_text().splitlines() if line.startswith("from cgp")
    }
    assert imports <= {"from cgp", "from cgp.api", "from cgp_sine.task"}, imports
    sys.path.insert(0, str(sine_site))
    try:
        from cgp_sine.task import SineConfig, SineGenerateOptions
    finally:
        sys.path.remove(str(sine_site))
    models = [SineConfig, SineConfig.model_fields["model"].annotation, SineGenerateOptions]
    undocumented = [f"{m.__name__}.{n}" for m in models for n, f in m.model_fields.items() if not f.description]
    assert undocumented == [], undocumented


def test_broken_plugin_is_reported_and_the_rest_work(tmp_path: Path) -> None:
    site = fake_distribution(
        tmp_path / "site", "cgp-broken", "cgp_broken_plugin", "raise RuntimeError('boom at import')\n", "broken"
    )
    env = {"PYTHONPATH": str(site)}
    listed = cgp_subprocess("plugins", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    failed = {f["name"]: f for f in data["failed"]}
    assert failed["broken"]["distribution"] == "cgp-broken"
    assert "boom at import" in failed["broken"]["error"]
    assert "cgan" in {p["name"] for p in data["plugins"]}
    human = cgp_subprocess("plugins", env=env)
    assert (
        "FAILED plugin 'broken' (distribution cgp-broken 0.0.1) failed: import error: RuntimeError: boom at import"
        in human.stderr
    )
    config = cgp_subprocess("config", "cgan", env=env)
    assert config.returncode == 0 and "task: cgan" in config.stdout
    blocked = cgp_subprocess("plugins", "--json", env={**env, "CGP_DISABLE_PLUGINS": "broken"})
    assert json.loads(blocked.stdout)["failed"] == []


def test_using_a_broken_plugin_names_it(tmp_path: Path) -> None:
    site = fake_distribution(
        tmp_path / "site", "cgp-broken", "cgp_broken_plugin", "import no_such_dependency\n", "broken"
    )
    proc = cgp_subprocess(
        "train", "--plugin", "broken", "--run-dir", str(tmp_path / "r"), env={"PYTHONPATH": str(site)}
    )
    assert proc.returncode == 2
    assert "plugin 'broken'" in proc.stderr and "no_such_dependency" in proc.stderr
