"""``cgp export``: each built-in task's generator as TorchScript, torch.export and ONNX artefacts whose
outputs equal the eager model's on the task's own inputs (and on inputs of another size where the
task says sizes vary); what an exporter cannot capture is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_speech_enhance import TINY as SPEECH_TINY
from test_text2image import TINY as T2I_TINY
from test_video_predict import TINY as VIDEO_TINY

from cgp.core.config import resolve_config
from cgp.core.errors import ConfigError
from cgp.core.export import export
from cgp.core.plugins import load_plugins
from conftest import TINY as CGAN_TINY
from conftest import cgp_subprocess, run_cli, sets

IMAGE_TINY = ["model.generator=unet_32", "model.generator_width=8", "data.image_size=32"]
CYCLE_TINY = ["model.generator=resnet_6blocks", "model.generator_width=8", "data.image_size=32"]


def _spec(task_name: str, overrides: list[str], run_root: Path, generator: str = "main"):
    host = load_plugins()
    cls = host.task(task_name)
    task = cls(resolve_config(cls.config_model, task_name, overrides=overrides), host)
    task.setup(run_root, train=True)
    torch.manual_seed(0)
    models = task.build_models().eval()
    return task.export_spec(models, generator)


def _load(fmt: str, path: Path):
    if fmt == "torchscript":
        return torch.jit.load(str(path))
    if fmt == "exported":
        return torch.export.load(str(path)).module()
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda *inputs: torch.from_numpy(session.run(None, dict(zip(names, (t.numpy() for t in inputs))))[0])


CASES = [
    ("cgan", CGAN_TINY, "main", ["torchscript", "exported", "onnx"]),
    ("pix2pix", IMAGE_TINY, "main", ["torchscript", "exported", "onnx"]),
    ("cyclegan", CYCLE_TINY, "b2a", ["torchscript", "exported", "onnx"]),
    ("video_predict", VIDEO_TINY, "main", ["torchscript", "exported", "onnx"]),
    ("speech_enhance", SPEECH_TINY, "main", ["torchscript"]),
    ("text2image", T2I_TINY, "main", ["torchscript"]),
]


@pytest.mark.parametrize(("task_name", "overrides", "generator", "formats"), CASES, ids=[c[0] for c in CASES])
def test_exported_generators_equal_the_eager_ones(
    tmp_path: Path, task_name: str, overrides: list[str], generator: str, formats: list[str]
) -> None:
    run_root = tmp_path / "run"
    run_root.mkdir()
    spec = _spec(task_name, overrides, run_root, generator)
    inputs = [spec.example] + ([spec.resize(spec.example)] if spec.resize else [])
    with torch.no_grad():
        expected = [spec.module(*x) for x in inputs]
    for fmt in formats:
        path = export(spec, fmt, tmp_path / f"{task_name}.{fmt}")
        loaded = _load(fmt, path)
        for x, want in zip(inputs, expected):
            with torch.no_grad():
                got = loaded(*x)
            assert got.shape == want.shape, (fmt, got.shape, want.shape)
            assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (fmt, (got - want).abs().max())
    if spec.resize is not None:  # the second check really changed a size, not only the values
        assert any(a.shape != b.shape for a, b in zip(inputs[0], inputs[1]))


def test_speech_export_takes_any_length(tmp_path: Path) -> None:
    run_root = tmp_path / "run"
    run_root.mkdir()
    spec = _spec("speech_enhance", SPEECH_TINY, run_root)
    loaded = torch.jit.load(str(export(spec, "torchscript", tmp_path / "se.pt")))
    for length in (3000, 16000, 24001):
        wave = torch.randn(1, length) * 0.1
        with torch.no_grad():
            assert torch.allclose(loaded(wave), spec.module(wave), atol=1e-4)


@pytest.mark.parametrize(("task_name", "overrides", "fmt"), [("text2image", T2I_TINY, "exported")])
def test_what_an_exporter_cannot_capture_is_one_clear_line(
    tmp_path: Path, task_name: str, overrides: list[str], fmt: str
) -> None:
    run_root = tmp_path / "run"
    run_root.mkdir()
    spec = _spec(task_name, overrides, run_root)
    with pytest.raises(ConfigError, match=f"the {fmt} exporter cannot capture this generator .*try --format"):
        export(spec, fmt, tmp_path / "out.pt2")
    assert not (tmp_path / "out.pt2").exists() and not list(tmp_path.glob(".export-*"))


def test_cgp_export_command_writes_a_checked_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = run_cli(
        "train", "--plugin", "cgan", "--run-dir", str(run), *sets(*CGAN_TINY, "trainer.steps=2", "eval.metrics=[]")
    )
    assert trained.exit_code == 0, trained.output
    result = run_cli("export", str(run), "--format", "exported")
    assert result.exit_code == 0, result.output
    path = run / "export" / "main.pt2"
    assert result.output.splitlines()[0] == str(path) and "class indices" in result.output
    program = torch.export.load(str(path)).module()
    labels, z = torch.tensor([0, 5, 2]), torch.randn(3, 16)
    classes = json.loads((run / "classes.json").read_text())
    assert len(classes) == 6
    images = program(labels, z)
    assert images.shape == (3, 3, 16, 16) and images.abs().max() <= 1.0

    own = cgp_subprocess("export", str(run), "--output", str(run / "checkpoints" / "x.pt"))
    assert own.returncode == 2 and "overwrite the run's own files" in own.stderr
    other = cgp_subprocess("export", str(run), "--generator", "b2a")
    assert other.returncode == 2 and "no generator 'b2a'" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
