"""Atomic checkpoints: safetensors for tensors, JSON for everything else; nothing is unpickled.

Layout of one checkpoint, ``RUN_DIR/checkpoints/step_00000200/``::

    models.safetensors      every trainable module (condition, generators, discriminators)
    ema.safetensors         the generator side's weight average (when EMA is on)
    optimizers.safetensors  optimizer state tensors, keys 'generator.<param>.<name>' / 'discriminator...'
    objective.safetensors   objective buffers (e.g. CycleGAN's image pool)
    rng.safetensors         torch (and CUDA) generator states
    state.json              step, batches consumed, optimizer hyper-parameters, numpy/python RNG, scaler,
                            the run's config, and the SHA-256 of every tensor file (``checksums``)

A checkpoint is written into a hidden temporary folder, each file flushed to disk, then the folder
is renamed into place and ``checkpoints/last`` (a one-line file naming the folder) is replaced
atomically. A process killed at any moment leaves ``last`` naming a complete checkpoint; a write
that fails (a full disk, say) removes its temporary folder and leaves ``last`` where it was.
Loading verifies each file against its recorded checksum, so flipped or zeroed bytes are found
before they reach a model.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cgp.core.errors import CheckpointError

log = logging.getLogger("cgp.checkpoint")

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
    """Write ``checkpoint`` as ``directory/step_<step>`` atomically, point ``last`` at it, prune old ones.

    On failure the temporary folder is removed, ``last`` still names the previous checkpoint, and a
    :class:`CheckpointError` says what failed and where."""
    name = f"{PREFIX}{step:08d}"
    tmp = directory / f".tmp-{name}-{os.getpid()}"
    pointer = directory / f".{LAST}.tmp-{os.getpid()}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        final = _write(directory, name, tmp, pointer, checkpoint)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            pointer.unlink(missing_ok=True)
        raise CheckpointError(
            f"could not write checkpoint step {step} into '{directory}': {os_reason(exc)}; "
            "the previous checkpoint is kept"
        ) from None
    _prune(directory, keep, keep_name=name)
    return final


def os_reason(exc: OSError) -> str:
    """An OS error's cause in words, with what to do for the causes a user fixes."""
    hint = {
        errno.ENOSPC: "the disk is full (free space or choose another --run-dir)",
        errno.EDQUOT: "the disk quota is exceeded (free space or choose another --run-dir)",
        errno.EROFS: "the file system is read-only (choose a writable --run-dir)",
        errno.EACCES: "permission denied (choose a folder you can write)",
        errno.EPERM: "operation not permitted (choose a folder you can write)",
        errno.ENOTDIR: "a path component is a file, not a folder",
        errno.EISDIR: "the path is a folder, not a file",
    }.get(exc.errno or 0)
    return hint or (exc.strerror or str(exc))


def _write(directory: Path, name: str, tmp: Path, pointer: Path, checkpoint: Checkpoint) -> Path:
    final = directory / name
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    checksums: dict[str, str] = {}
    for group, tensors in checkpoint.tensors.items():
        path = tmp / f"{group}.safetensors"
        save_file(_prepare(tensors), str(path))
        _fsync_path(path)
        checksums[path.name] = file_sha256(path)
    state = tmp / "state.json"
    state.write_text(json.dumps({"step": int(name[len(PREFIX) :]), **checkpoint.meta, "checksums": checksums}))
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
    pointer.write_text(name + "\n")
    _fsync_path(pointer)
    os.replace(pointer, directory / LAST)
    _fsync_path(directory)
    return final


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def read_meta(path: Path) -> dict[str, Any]:
    """A checkpoint's ``state.json``; :class:`CheckpointError` naming the file when it is missing or
    damaged (not JSON, not a mapping, no integer step)."""
    state = path / "state.json"
    if not state.is_file():
        raise CheckpointError(f"checkpoint '{path}' is incomplete (no state.json); it cannot be loaded")
    try:
        meta = json.loads(state.read_text())
    except (ValueError, OSError) as exc:
        raise CheckpointError(f"checkpoint file '{state}' is damaged ({' '.join(str(exc).split())})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("step"), int) or isinstance(meta.get("step"), bool):
        raise CheckpointError(f"checkpoint file '{state}' is damaged (no integer 'step')")
    return meta


def verify_checkpoint(path: Path, groups: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Check every tensor file (or those of ``groups``) against the checksums recorded at save time;
    returns the metadata. Checkpoints written before checksums existed are accepted as they are."""
    meta = read_meta(path)
    checksums = meta.get("checksums")
    if not isinstance(checksums, dict):
        return meta
    for file_name, expected in sorted(checksums.items()):
        if groups is not None and file_name[: -len(".safetensors")] not in groups:
            continue
        file = path / file_name
        if not file.is_file():
            raise CheckpointError(f"checkpoint file '{file}' is missing; the checkpoint cannot be loaded")
        if file_sha256(file) != expected:
            raise CheckpointError(
                f"checkpoint file '{file}' is damaged (its checksum differs from the one saved with it)"
            )
    return meta


def load_checkpoint(path: Path, groups: tuple[str, ...] | None = None) -> Checkpoint:
    """Read and verify a checkpoint folder (optionally only some tensor groups)."""
    meta = verify_checkpoint(path, groups)
    checksums = meta.pop("checksums", None)
    expected = {name[: -len(".safetensors")] for name in checksums or {}}
    tensors: dict[str, dict[str, torch.Tensor]] = {}
    for group in sorted(expected | {f.name[: -len(".safetensors")] for f in path.glob("*.safetensors")}):
        if groups is not None and group not in groups:
            continue
        file = path / f"{group}.safetensors"
        try:
            tensors[group] = load_file(str(file))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"checkpoint file '{file}' is damaged ({' '.join(str(exc).split())})") from None
    return Checkpoint(tensors, meta)


def complete_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint folders holding a state.json, newest first."""
    return sorted((p for p in directory.glob(f"{PREFIX}*") if (p / "state.json").is_file()), reverse=True)


def loadable_checkpoint(directory: Path) -> Path | None:
    """The newest checkpoint that verifies, starting from the one ``last`` names: a damaged one is
    skipped with a warning naming it and the one used instead (what ``--resume`` loads)."""
    first = find_last(directory)
    candidates = [first] if first is not None else []
    candidates += [p for p in complete_checkpoints(directory) if p != first and (first is None or p.name < first.name)]
    for index, path in enumerate(candidates):
        try:
            verify_checkpoint(path)
        except CheckpointError as exc:
            following = candidates[index + 1] if index + 1 < len(candidates) else None
            fallback = f"falling back to '{following.name}'" if following else "no earlier checkpoint to fall back to"
            log.warning("%s; %s", exc, fallback)
            continue
        return path
    return None


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
    # checkpoints store contiguous tensors; a state tensor must take its parameter's memory order
    # again (channels-last weights), or kernels that walk both in storage order (fused Adam) mix them up
    for group in optimizer.param_groups:
        for param in group["params"]:
            entries = optimizer.state.get(param, {})
            for key, value in entries.items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                    entries[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def split_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
