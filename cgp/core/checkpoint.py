"""Atomic checkpoints: safetensors for tensors, JSON for everything else; nothing is unpickled.

Layout of one checkpoint, ``RUN_DIR/checkpoints/step_00000200/``::

    models.safetensors      every trainable module (condition, generators, discriminators)
    ema.safetensors         the generator side's weight average (when EMA is on)
    optimizers.safetensors  optimizer state tensors, keys 'generator.<param>.<name>' / 'discriminator...'
    objective.safetensors   objective buffers (e.g. CycleGAN's image pool)
    rng.safetensors         torch (and CUDA) generator states
    state.json              step, batches consumed, optimizer hyper-parameters, numpy/python RNG, scaler

A checkpoint is written into a hidden temporary folder, each file flushed to disk, then the folder
is renamed into place and ``checkpoints/last`` (a one-line file naming the folder) is replaced
atomically. A process killed at any moment leaves ``last`` naming a complete checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cgp.core.errors import CheckpointError

LAST = "last"
PREFIX = "step_"


@dataclass
class Checkpoint:
    """A checkpoint in memory: named groups of tensors plus JSON metadata."""

    tensors: dict[str, dict[str, torch.Tensor]]
    meta: dict[str, Any]


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prepare(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage; a CPU copy of each tensor is always safe
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}


def save_checkpoint(directory: Path, step: int, checkpoint: Checkpoint, keep: int = 3) -> Path:
    """Write ``checkpoint`` as ``directory/step_<step>`` atomically, point ``last`` at it, prune old ones."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{PREFIX}{step:08d}"
    final = directory / name
    tmp = directory / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for group, tensors in checkpoint.tensors.items():
        path = tmp / f"{group}.safetensors"
        save_file(_prepare(tensors), str(path))
        _fsync_path(path)
    state = tmp / "state.json"
    state.write_text(json.dumps(checkpoint.meta))
    _fsync_path(state)
    _fsync_path(tmp)
    if final.exists():  # the same step saved again (e.g. a signal right after a periodic save)
        stale = directory / f".stale-{name}-{os.getpid()}"
        os.replace(final, stale)
        os.replace(tmp, final)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_path(directory)
    pointer = directory / f".{LAST}.tmp-{os.getpid()}"
    pointer.write_text(name + "\n")
    _fsync_path(pointer)
    os.replace(pointer, directory / LAST)
    _fsync_path(directory)
    _prune(directory, keep, keep_name=name)
    return final


def _prune(directory: Path, keep: int, keep_name: str) -> None:
    complete = sorted(p for p in directory.glob(f"{PREFIX}*") if p.is_dir())
    for old in complete[:-keep]:
        if old.name != keep_name:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in directory.glob(".tmp-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_last(directory: Path) -> Path | None:
    """The checkpoint ``last`` names, or the newest complete one if the pointer is missing."""
    pointer = directory / LAST
    if pointer.is_file():
        name = pointer.read_text(errors="replace").strip()
        candidate = directory / name
        if name.startswith(PREFIX) and "/" not in name and (candidate / "state.json").is_file():
            return candidate
    complete = sorted(p for p in directory.glob(f"{PREFIX}*") if (p / "state.json").is_file())
    return complete[-1] if complete else None


def load_checkpoint(path: Path, groups: tuple[str, ...] | None = None) -> Checkpoint:
    """Read a checkpoint folder (optionally only some tensor groups)."""
    state = path / "state.json"
    if not state.is_file():
        raise CheckpointError(f"checkpoint '{path}' is incomplete (no state.json); it cannot be loaded")
    try:
        meta = json.loads(state.read_text())
    except (ValueError, OSError) as exc:
        raise CheckpointError(f"checkpoint '{state}' is corrupt: {exc}") from None
    tensors: dict[str, dict[str, torch.Tensor]] = {}
    for file in sorted(path.glob("*.safetensors")):
        group = file.name[: -len(".safetensors")]
        if groups is not None and group not in groups:
            continue
        try:
            tensors[group] = load_file(str(file))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"checkpoint file '{file}' is corrupt: {exc}") from None
    return Checkpoint(tensors, meta)


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer's state dict into tensors and JSON-able values."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in sd["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    groups = meta["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def split_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
