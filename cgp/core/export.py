"""``cgp export``: a trained generator as a standalone inference artefact.

Three formats, one entry point:

- ``torchscript``: ``torch.jit.trace`` of the task's inference module, saved with ``torch.jit.save``
  (load with ``torch.jit.load``; no cgp needed).
- ``exported``: ``torch.export.export`` (an ahead-of-time graph with symbolic sizes where the task
  declares them), saved with ``torch.export.save`` as a ``.pt2`` file (load with ``torch.export.load``).
- ``onnx``: ``torch.onnx.export`` through the same graph capture (needs the ``onnx`` extra: onnx and
  onnxscript; onnxruntime to check it).

What is exported is the task's *inference module*: the condition encoder and the generator as one
module of plain tensors in and one tensor out (:class:`ExportSpec`), described by the task's
:meth:`~cgp.core.task.Task.export_spec`. Every export is checked before it is written: the saved
artefact is loaded back and run on the task's example inputs (and, where the task declares sizes
that vary, on inputs of another size), and its outputs must equal the eager module's within
``tolerance``; a mismatch is an error, not a silent file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cgp.core.errors import ConfigError

FORMATS = ("torchscript", "exported", "onnx")
SUFFIXES = {"torchscript": ".pt", "exported": ".pt2", "onnx": ".onnx"}


@dataclass
class ExportSpec:
    """What a task exports: ``module(*example)`` returns one tensor.

    ``dynamic`` names, per input, the dimensions whose size may change between calls (``{"cond":
    {0: "batch", 1: "samples"}}``; ``("height", 32)`` for a size that must stay a multiple of 32,
    like a U-Net's input); ``resize`` makes a second example with those sizes changed, used
    to check that the artefact really accepts them. ``notes`` go into the command's output (what the
    inputs and the output mean)."""

    module: nn.Module
    example: tuple[torch.Tensor, ...]
    input_names: tuple[str, ...]
    dynamic: dict[str, dict[int, str | tuple[str, int]]] = field(default_factory=dict)
    resize: Callable[[tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]] | None = None
    notes: str = ""
    tolerance: float = 1e-4


class ConditionedGenerator(nn.Module):
    """``condition`` then ``generator`` as one module: raw condition (and noise) in, samples out.
    ``pick`` chooses the tensor to return when the generator returns several (a dict of stages)."""

    def __init__(self, condition: nn.Module, generator: nn.Module, pick: str | None = None) -> None:
        super().__init__()
        self.condition, self.generator, self.pick = condition, generator, pick

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        out = self.generator(self.condition(cond), z)
        return out[self.pick] if self.pick is not None else out


def pick_generator(models: nn.Module, name: str) -> nn.Module:
    """``models.generators[name]``, or one line naming the generators the run has."""
    generators = models.generators  # type: ignore[attr-defined]
    if name not in generators:
        raise ConfigError(f"this run has no generator '{name}'; its generators are: {', '.join(generators)}")
    return generators[name]


def default_output(fmt: str, run_root: Path, generator: str) -> Path:
    return run_root / "export" / f"{generator}{SUFFIXES[fmt]}"


def export(spec: ExportSpec, fmt: str, path: Path) -> Path:
    """Write ``spec`` as ``fmt`` to ``path``, after checking the artefact against the eager module."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}")
    module = spec.module.eval()
    with torch.no_grad():
        checks = [spec.example] + ([spec.resize(spec.example)] if spec.resize is not None else [])
        expected = [module(*inputs) for inputs in checks]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp:
        staged = Path(tmp) / path.name
        try:
            {"torchscript": _torchscript, "exported": _exported, "onnx": _onnx}[fmt](spec, staged)
            run = _loader(fmt, staged)
            results = [run(inputs) for inputs in checks]
        except ConfigError:
            raise
        except Exception as exc:  # graph capture and runtime failures of the exporters
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            others = ", ".join(f for f in FORMATS if f != fmt)
            raise ConfigError(
                f"the {fmt} exporter cannot capture this generator ({type(exc).__name__}: {reason}); "
                f"try --format {others} (docs/cli.md lists what each task supports)"
            ) from None
        for inputs, want, got in zip(checks, expected, results):
            if got.shape != want.shape or not torch.allclose(got, want, atol=spec.tolerance, rtol=spec.tolerance):
                worst = (got - want).abs().max().item() if got.shape == want.shape else float("nan")
                raise ConfigError(
                    f"the {fmt} export does not reproduce the generator (inputs {[tuple(t.shape) for t in inputs]}: "
                    f"output {tuple(got.shape)} vs {tuple(want.shape)}, largest difference {worst:.3g}); "
                    "try another --format"
                )
        staged.replace(path)
    return path


def _dynamic_shapes(spec: ExportSpec) -> tuple[dict[int, Any] | None, ...]:
    """torch.export's ``dynamic_shapes``: one Dim per label, shared where inputs share a label; a
    ``(label, k)`` size is ``k`` times a Dim."""
    dims: dict[str, Any] = {}
    shapes: list[dict[int, Any] | None] = []
    for name in spec.input_names:
        sizes = {}
        for axis, label in spec.dynamic.get(name, {}).items():
            label, multiple = (label, 1) if isinstance(label, str) else label
            dim = dims.setdefault(label, torch.export.Dim(label))
            sizes[axis] = dim * multiple if multiple > 1 else dim
        shapes.append(sizes or None)
    return tuple(shapes)


def _torchscript(spec: ExportSpec, path: Path) -> None:
    with torch.no_grad():
        traced = torch.jit.trace(spec.module, spec.example, check_trace=False)
    torch.jit.save(traced, str(path))


def _exported(spec: ExportSpec, path: Path) -> None:
    program = torch.export.export(spec.module, spec.example, dynamic_shapes=_dynamic_shapes(spec))
    torch.export.save(program, str(path))


def _onnx(spec: ExportSpec, path: Path) -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError("ONNX export needs the onnx extra: pip install 'cgp[onnx]' (onnx, onnxscript)") from None
    program = torch.onnx.export(
        spec.module,
        spec.example,
        dynamic_shapes=_dynamic_shapes(spec),
        input_names=list(spec.input_names),
        output_names=["output"],
        dynamo=True,
        verbose=False,
    )
    program.save(str(path))


def _loader(fmt: str, path: Path) -> Callable[[tuple[torch.Tensor, ...]], torch.Tensor]:
    if fmt == "torchscript":
        loaded = torch.jit.load(str(path))
        return lambda inputs: loaded(*inputs)
    if fmt == "exported":
        program = torch.export.load(str(path)).module()
        return lambda inputs: program(*inputs)
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("checking an ONNX export needs onnxruntime: pip install 'cgp[onnx]'") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda inputs: torch.from_numpy(session.run(None, dict(zip(names, (t.numpy() for t in inputs))))[0])
