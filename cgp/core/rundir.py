"""The run directory: a self-describing record of one training run.

``config.yaml`` (the resolved config), ``metrics.jsonl`` (one JSON object per logged step),
``checkpoints/``, ``samples/``, ``eval/``. ``cgp evaluate``, ``cgp generate`` and ``cgp report``
need nothing but its path.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from cgp.core.checkpoint import find_last, loadable_checkpoint
from cgp.core.errors import CheckpointError

SAMPLE_STEP = re.compile(r"step_(\d+)")
"""How ``cgp report`` finds the step in a sample's path (its file or folder name)."""


def sample_stem(step: int) -> str:
    """The name every task gives the samples of ``step`` (``step_00000250``), with its own suffix
    (``.png``, ``.mp4``) or as a folder; ``cgp report`` groups samples by it."""
    return f"step_{step:08d}"


class RunDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    def create(self, fresh: bool = True) -> None:
        """Make the folders; a fresh run also drops metrics left by a run that never checkpointed."""
        for path in (self.root, self.checkpoints, self.samples, self.eval):
            path.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.metrics_path.unlink(missing_ok=True)

    def holds_run(self) -> bool:
        """True once a checkpoint exists; a folder from a run that died before its first checkpoint
        holds nothing to lose and may be reused."""
        return find_last(self.checkpoints) is not None

    def write_config(self, text: str) -> None:
        write_atomic(self.config_path, text)

    def write_json(self, name: str, data: Any) -> None:
        """A task's inference state (class names, vocabularies, statistics) as ``RUN_DIR/name``, written
        atomically, so that the run needs nothing outside itself."""
        write_atomic(self.root / name, json.dumps(data, indent=1) + "\n")

    def read_json(self, name: str) -> Any | None:
        """What :meth:`write_json` stored under ``name``; None when the run has no such file."""
        path = self.root / name
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise CheckpointError(f"run file '{path}' is damaged ({' '.join(str(exc).split())[:160]})") from None

    def read_config(self) -> dict[str, Any]:
        if not self.root.is_dir():
            raise CheckpointError(f"run directory '{self.root}' does not exist")
        if not self.config_path.exists():
            raise CheckpointError(
                f"'{self.root}' is not a run directory (no config.yaml); pass the folder 'cgp train' wrote"
            )
        if self.config_path.is_dir():
            raise CheckpointError(f"'{self.config_path}' is a folder; a run's config.yaml must be a file")
        try:
            data = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise CheckpointError(
                f"'{self.config_path}' is damaged ({' '.join(str(exc).split())[:160]}); restore it from the copy "
                "inside a checkpoint's state.json ('config')"
            ) from None
        except OSError as exc:
            raise CheckpointError(f"cannot read '{self.config_path}': {exc.strerror or exc}") from None
        if not isinstance(data, dict) or "task" not in data:
            raise CheckpointError(f"'{self.config_path}' is not a cgp run config (no 'task' key)")
        return data

    def last_checkpoint(self) -> Path:
        path = find_last(self.checkpoints)
        if path is None:
            raise CheckpointError(f"run directory '{self.root}' has no complete checkpoint yet")
        return path

    def resumable_checkpoint(self) -> Path:
        """The newest checkpoint whose files verify (``last`` unless it is damaged; a warning names
        the damaged one and the one used instead)."""
        path = loadable_checkpoint(self.checkpoints)
        if path is None:
            if find_last(self.checkpoints) is None:
                raise CheckpointError(f"run directory '{self.root}' has no complete checkpoint yet")
            raise CheckpointError(f"every checkpoint in '{self.checkpoints}' is damaged; the run cannot be resumed")
        return path

    def owns(self, path: Path) -> bool:
        """True when writing ``path`` would replace one of the run's own files (its config, metrics,
        checkpoints, samples or evaluations); reports and generated outputs go elsewhere."""
        target = Path(path).resolve()
        root = self.root.resolve()
        owned = [root / "config.yaml", root / "metrics.jsonl"]
        folders = [root / "checkpoints", root / "samples", root / "eval"]
        return target in owned or any(target == f or f in target.parents for f in folders)

    def append_metrics(self, row: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps({k: _json_number(v) for k, v in row.items()}) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return []
        rows = []
        for line in self.metrics_path.read_text().splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a kill mid-write
        return rows

    def truncate_metrics_after(self, step: int) -> None:
        """On resume, drop rows logged after the checkpoint, which the resumed run logs again."""
        rows = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        tmp = self.metrics_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, self.metrics_path)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
