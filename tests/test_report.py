"""Tests for the self-contained HTML run report (cgp.core.report)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from cgp.core import report
from cgp.core.errors import CheckpointError
from cgp.core.report import write_report
from cgp.core.rundir import RunDir, sample_stem

PNG_URI = '<img src="data:image/png;base64,'


def _png(path: Path, color: tuple[int, int, int] = (200, 30, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path)


def _make_run(root: Path) -> RunDir:
    run = RunDir(root)
    run.create()
    run.write_config("task: demo\ntrainer:\n  steps: 30\nnote: '<b>&</b>'\n")
    rows = [
        {
            "step": 10,
            "time": 1.0,
            "d_adv": 0.7,
            "gp": 0.1,
            "d_loss": 0.8,
            "g_adv": 1.2,
            "g_loss": 1.2,
            "lr_g": 2e-4,
            "lr_d": 2e-4,
            "steps_per_sec": 12.5,
        },
        {
            "step": 20,
            "time": 2.0,
            "d_adv": "nan",
            "gp": 0.2,
            "d_loss": "inf",
            "g_adv": 1.0,
            "g_loss": 1.0,
            "lr_g": 1e-4,
            "lr_d": 1e-4,
            "steps_per_sec": 13.0,
        },
        {"step": 20, "eval/acc": 0.5},
        {
            "step": 30,
            "time": 3.0,
            "d_adv": 0.6,
            "gp": 0.05,
            "d_loss": 0.65,
            "g_adv": 0.9,
            "g_loss": 0.9,
            "lr_g": 1e-4,
            "lr_d": 1e-4,
            "steps_per_sec": 14.0,
        },
        {"step": 30, "eval/acc": 0.75},
    ]
    run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _png(run.samples / "step_00000010.png", (0, 0, 255))
    _png(run.samples / "step_00000030_grid.png")
    (run.eval / "test.json").write_text(
        json.dumps({"step": 30, "split": "test", "ema": True, "metrics": {"fid_score": 12.5}})
    )
    (run.eval / "per_image.json").write_text(json.dumps([1, 2, 3]))  # not a cgp evaluate record
    return run


def _latest_section(page: str) -> str:
    return page.split("<h3>Latest: step", 1)[1].split("<details>", 1)[0]


def test_report_is_self_contained(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    path = write_report(run)
    assert path == run.root / "report.html"
    assert path.is_file()
    page = path.read_text()
    assert page.count(PNG_URI) >= 2  # curves + at least one sample
    assert "fid_score" in page and "12.5" in page
    assert "split test, step 30" in page
    assert "eval/acc" in page and "0.75" in page
    assert "demo" in page
    assert not re.search(r'(src|href)="(?!data:)', page)  # no relative or remote links
    assert 'src="samples/' not in page


def test_report_escapes_config_text(tmp_path: Path) -> None:
    page = write_report(_make_run(tmp_path / "run")).read_text()
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in page
    assert "<b>&</b>" not in page


def test_report_groups_samples_by_step(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    _png(run.samples / "step_00000100" / "a.png")
    (run.samples / "step_00000100" / "b.wav").write_bytes(b"RIFF0000WAVE")
    (run.samples / "step_00000100" / "notes.txt").write_text("hi")
    page = write_report(run).read_text()
    latest = _latest_section(page)
    assert " 100</h3>" in page
    assert "step_00000100/a.png" in latest
    assert '<audio controls src="data:audio/wav;base64,' in latest
    assert "notes.txt (not media)" in latest
    assert "Step 30</h4>" in page and "Step 10</h4>" in page


def test_report_limits_earlier_steps(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    for step in range(40, 120, 10):
        _png(run.samples / f"{sample_stem(step)}.png")
    page = write_report(run).read_text()
    earlier = re.findall(r"<h4>Step (\d+)</h4>", page)
    assert len(earlier) == report.EARLIER_STEPS
    assert earlier[0] == "100"  # newest first, the latest (110) shown above


def test_report_lists_oversized_media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _make_run(tmp_path / "run")
    monkeypatch.setattr(report, "MAX_EMBED_BYTES", 10)
    page = write_report(run).read_text()
    assert "step_00000030_grid.png" in page
    assert "too large to embed" in page
    assert page.count(PNG_URI) == 2  # only the two plots


def test_report_custom_output(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    out = tmp_path / "elsewhere" / "r.html"
    assert write_report(run, out) == out
    assert out.is_file()
    assert not (run.root / "report.html").exists()


def test_empty_run_dir(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    run.write_config("task: demo\n")
    page = write_report(run).read_text()
    assert "no metrics" in page.lower()
    assert "no samples" in page.lower()
    assert PNG_URI not in page


def test_only_strings_and_eval_rows(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.create()
    run.write_config("task: demo\n")
    run.metrics_path.write_text('{"step": 1, "d_loss": "nan"}\n{"step": 2, "eval/x": 3}\n{"step": 3, "g_lo')
    page = write_report(run).read_text()
    assert page.count(PNG_URI) == 0  # one evaluation: a table row, no plot
    assert "metric (evaluated once)" in page and "<td>x</td>" in page
    assert "No training metrics logged yet" in page


def test_missing_run_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError):
        write_report(RunDir(tmp_path / "missing"))


def test_run_dir_without_config_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError):
        write_report(RunDir(tmp_path))


@pytest.mark.parametrize(
    ("task", "tiny", "generator_terms"),
    [
        ("pix2pix", "test_pix2pix", {"g_adv", "l1"}),
        ("cyclegan", "test_cyclegan", {"cycle_a", "cycle_b"}),
    ],
)
def test_regression_terms_are_drawn_with_the_generator(
    tmp_path: Path, task: str, tiny: str, generator_terms: set[str]
) -> None:
    """pix2pix's L1 and CycleGAN's cycle terms have no g_ prefix; the logged sides put them with G."""
    import importlib

    from conftest import run_cli, sets

    settings = importlib.import_module(tiny).TINY
    overrides = sets(*settings, "trainer.steps=2", "trainer.sample_every=0", "eval.metrics=[]")
    result = run_cli("train", "--plugin", task, "--run-dir", str(tmp_path / "run"), *overrides)
    assert result.exit_code == 0, result.output
    groups = report.curve_groups(RunDir(tmp_path / "run").read_metrics())
    assert generator_terms <= set(groups["generator"]), groups
    assert not generator_terms & set(groups["discriminator"])
    assert groups["discriminator"] and all(name.startswith("d_") for name in groups["discriminator"]), groups


def test_every_plugin_names_its_samples_through_core() -> None:
    """The report parses sample names, so core owns them: no plugin formats ``step_...`` itself."""
    import cgp.plugins

    sources = sorted(Path(cgp.plugins.__file__).parent.rglob("*.py"))
    assert sources
    offenders = [str(path) for path in sources if 'f"step_{' in path.read_text()]
    assert not offenders, offenders
    assert report.SAMPLE_STEP.fullmatch(sample_stem(250)).group(1) == "00000250"


def _rows(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_a_metric_evaluated_once_is_a_table_not_a_plot(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    page = write_report(run).read_text()
    evaluation = page.split("<h3>Evaluation</h3>", 1)[1].split("<h2>", 1)[0]
    assert PNG_URI in evaluation  # eval/acc has two points: a curve
    run.metrics_path.write_text(_rows({"step": 5, "g_loss": 1.0}, {"step": 5, "eval/acc": 0.5}))
    evaluation = write_report(run).read_text().split("<h3>Evaluation</h3>", 1)[1].split("<h2>", 1)[0]
    assert PNG_URI not in evaluation
    assert "metric (evaluated once)" in evaluation and "<td>acc</td>" in evaluation


def test_a_run_of_one_logged_step_has_curves(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    run.metrics_path.write_text(_rows({"step": 1, "d_loss": 0.7, "g_loss": 0.9}))
    page = write_report(run).read_text()
    curves = page.split("<h2>Loss curves</h2>", 1)[1].split("<h2>", 1)[0]
    assert PNG_URI in curves and "No training metrics" not in curves


def test_a_run_stopped_far_short_of_its_steps_is_flagged(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    assert "Training stopped at step" not in write_report(run).read_text()  # 30 of 30
    run.write_config("task: demo\ntrainer:\n  steps: 1500\n")
    page = write_report(run).read_text()
    assert 'class="warning">Training stopped at step 30 of trainer.steps=1500' in page


def test_condition_accuracy_is_read_against_its_baselines(tmp_path: Path) -> None:
    run = _make_run(tmp_path / "run")
    metrics = {"condition_accuracy": 0.17, "condition_accuracy_real": 0.99, "condition_accuracy_chance": 1 / 6}
    run.metrics_path.write_text(
        _rows({"step": 44, "g_loss": 1.0}, {"step": 44, **{f"eval/{k}": v for k, v in metrics.items()}})
    )
    page = write_report(run).read_text()
    assert "condition_accuracy 0.170 (real data 0.990, chance 0.167; 0% of the way" in page
    assert "at chance: the samples ignore their condition" in page
    lines = report.baseline_verdicts({**metrics, "condition_accuracy": 0.95})
    assert len(lines) == 1 and "at the level of real data" in lines[0]
    assert report.baseline_verdicts({"psnr": 30.0, "psnr_input": 25.0}) == []  # no ceiling and floor
