"""End-to-end: train the reference task, evaluate it, report it; user mistakes give one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from cgp.core.errors import ConfigError
from conftest import TINY, cgp_subprocess, run_cli, sets


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "cgan"
    result = run_cli(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(run_dir),
        *sets(
            "trainer.steps=200",
            "trainer.progress=off",
            "trainer.device=cpu",
            "trainer.batch_size=32",
            "trainer.sample_every=100",
            "trainer.checkpoint_every=100",
        ),
    )
    assert result.exit_code == 0, result.output
    return run_dir


def test_train_writes_the_run_directory(trained_run: Path) -> None:
    config = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert config["task"] == "cgan" and config["trainer"]["steps"] == 200
    rows = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if "d_real" in r]
    assert [r["step"] for r in train_rows] == list(range(50, 201, 50))
    assert {"d_real", "d_fake", "d_mismatch", "g_adv", "lr_g", "lr_d"} <= set(train_rows[-1])
    last = (trained_run / "checkpoints" / "last").read_text().strip()
    assert last == "step_00000200"
    weights = load_file(str(trained_run / "checkpoints" / last / "models.safetensors"))
    assert any(k.startswith("generators.main.") for k in weights)
    assert any(k.startswith("discriminators.main.") for k in weights)
    assert sorted(p.name for p in (trained_run / "samples").glob("*.png")) == ["step_00000100.png", "step_00000200.png"]


def test_evaluate_reports_condition_accuracy_with_baselines_deterministically(trained_run: Path) -> None:
    first = run_cli("evaluate", str(trained_run), "--json")
    assert first.exit_code == 0, first.output
    metrics = json.loads(first.output.strip().splitlines()[-1])
    assert {
        "condition_accuracy",
        "condition_accuracy_real",
        "condition_accuracy_chance",
        "judge_frechet_distance",
    } <= set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    assert metrics["condition_accuracy_chance"] == pytest.approx(1 / 6)
    assert metrics["condition_accuracy_real"] > 0.8, "the judge must recognise real shapes to be a fair judge"
    second = run_cli("evaluate", str(trained_run), "--json")
    assert json.loads(second.output.strip().splitlines()[-1]) == metrics
    stored = json.loads((trained_run / "eval" / "test.json").read_text())
    assert stored["metrics"] == metrics and stored["step"] == 200
    readable = run_cli("evaluate", str(trained_run))  # the table, then one line of verdict
    verdict = readable.output.strip().splitlines()[-1]
    assert verdict.startswith(f"condition_accuracy {metrics['condition_accuracy']:.3f} (real data ")
    assert "of the way from chance to real" in verdict


def test_report_writes_html(trained_run: Path) -> None:
    result = run_cli("report", str(trained_run))
    assert result.exit_code == 0, result.output
    html = (trained_run / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2


def test_generate_writes_one_grid_per_class(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    result = run_cli("generate", str(trained_run), "circle", "3", "--output", str(out), "--count", "4")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["circle.png", "cross.png"]
    bad = cgp_subprocess("generate", str(trained_run), "hexagon", "--output", str(out))
    assert bad.returncode == 2 and "unknown class 'hexagon'" in bad.stderr
    empty = cgp_subprocess("generate", str(trained_run), "--output", str(out))
    assert empty.returncode == 2 and "INPUTS" in empty.stderr


def test_task_options_split_from_inputs_and_switches_stand_alone() -> None:
    from cgp.core.cli import _split_task_options

    items = ("clip.mp4", "--frames", "4", "--compare", "other.mp4", "--fps=8", "--dry-run=false")
    positional, options = _split_task_options(items, {"compare", "dry_run"})
    assert positional == ["clip.mp4", "other.mp4"]
    assert options == {"frames": "4", "compare": "true", "fps": "8", "dry_run": "false"}
    with pytest.raises(ConfigError, match="--frames needs a value"):
        _split_task_options(("clip.mp4", "--frames"), {"compare"})


def _one_error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_unknown_config_key_is_one_line(tmp_path: Path) -> None:
    proc = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "r"), "--set", "trainer.stepz=3")
    assert "trainer.stepz" in _one_error_line(proc)
    assert not (tmp_path / "r").exists(), "a rejected config must not create a run directory"


def test_wrong_type_is_one_line(tmp_path: Path) -> None:
    proc = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "r"), "--set", "trainer.steps=many")
    line = _one_error_line(proc)
    assert "trainer.steps" in line and "integer" in line


def test_unknown_plugin_is_one_line(tmp_path: Path) -> None:
    proc = cgp_subprocess("train", "--plugin", "no_such_task", "--run-dir", str(tmp_path / "r"))
    line = _one_error_line(proc)
    assert "no_such_task" in line and "cgp plugins" in line


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_missing_run_dir_is_one_line(tmp_path: Path, command: str) -> None:
    proc = cgp_subprocess(command, str(tmp_path / "nowhere"))
    assert "nowhere" in _one_error_line(proc)


def test_existing_run_dir_is_not_overwritten(trained_run: Path) -> None:
    before = (trained_run / "checkpoints" / "last").read_text()
    proc = cgp_subprocess("train", "--plugin", "cgan", "--run-dir", str(trained_run), *sets(*TINY))
    assert "--resume" in _one_error_line(proc)
    assert (trained_run / "checkpoints" / "last").read_text() == before


def test_config_prints_commented_defaults_and_schema() -> None:
    result = run_cli("config", "cgan")
    assert result.exit_code == 0
    assert "# generator updates to train for" in result.output
    assert yaml.safe_load(result.output)["task"] == "cgan"
    schema = json.loads(run_cli("config", "cgan", "--schema").output)
    assert "trainer" in schema["properties"]


def test_python_dash_m_cgp_works() -> None:
    proc = cgp_subprocess("plugins", "--json")
    assert proc.returncode == 0
    names = {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}
    assert names["cgan"]["version"] and names["cgan"]["tasks"] == ["cgan"]


def test_image_size_must_be_a_power_of_two() -> None:
    from cgp.core.config import resolve_config
    from cgp.core.errors import ConfigError
    from cgp.plugins.cgan.task import CganConfig

    with pytest.raises(ConfigError, match=r"model\.image_size.*power of two"):
        resolve_config(CganConfig, "cgan", overrides=["model.image_size=30"])


def test_a_run_dir_without_checkpoint_can_be_reused(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("task: cgan\n")
    (run_dir / "metrics.jsonl").write_text('{"step": 99}\n')
    result = run_cli(
        "train", "--plugin", "cgan", "--run-dir", str(run_dir), *sets(*TINY, "trainer.steps=2", "eval.metrics=[]")
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["step"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()] == [2]


def test_evaluate_takes_another_metric_list_without_changing_the_run(trained_run: Path) -> None:
    config_before = (trained_run / "config.yaml").read_bytes()
    unknown = run_cli("evaluate", str(trained_run), "--metrics", "class_judge,nope")
    assert unknown.exit_code == 2 and "unknown metric 'nope'" in unknown.output
    result = run_cli("evaluate", str(trained_run), "--json", "--metrics", "class_judge")
    assert result.exit_code == 0, result.output
    assert "condition_accuracy" in json.loads(result.output.strip().splitlines()[-1])
    assert (trained_run / "config.yaml").read_bytes() == config_before
