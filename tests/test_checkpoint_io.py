"""Atomic checkpoint files (cgp.core.checkpoint)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from cgp.core.checkpoint import (
    Checkpoint,
    find_last,
    load_checkpoint,
    load_optimizer_state,
    optimizer_state,
    save_checkpoint,
)
from cgp.core.errors import CheckpointError


def make_ckpt(step: int) -> Checkpoint:
    g = torch.Generator().manual_seed(step)
    return Checkpoint(
        tensors={
            "models": {"w": torch.randn(3, 4, generator=g), "b": torch.arange(5, dtype=torch.int64)},
            "rng": {"torch": torch.get_rng_state()},
        },
        meta={"step": step, "batches": step * 2, "nested": {"a": [1, 2.5, None, "x"]}},
    )


def step_dirs(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_dir() and p.name.startswith("step_"))


def test_round_trip(tmp_path: Path) -> None:
    ckpt = make_ckpt(7)
    path = save_checkpoint(tmp_path, 7, ckpt)
    assert path == tmp_path / "step_00000007"
    assert find_last(tmp_path) == path
    loaded = load_checkpoint(path)
    assert loaded.meta == ckpt.meta
    assert set(loaded.tensors) == set(ckpt.tensors)
    for group, tensors in ckpt.tensors.items():
        assert set(loaded.tensors[group]) == set(tensors)
        for name, value in tensors.items():
            got = loaded.tensors[group][name]
            assert got.dtype == value.dtype
            assert torch.equal(got, value)


def test_load_selected_groups(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, 1, make_ckpt(1))
    assert set(load_checkpoint(path, groups=("models",)).tensors) == {"models"}


def test_non_contiguous_and_shared_tensors(tmp_path: Path) -> None:
    base = torch.arange(12.0).reshape(3, 4)
    ckpt = Checkpoint({"g": {"t": base.t(), "same": base, "view": base[1]}}, {"step": 0})
    loaded = load_checkpoint(save_checkpoint(tmp_path, 0, ckpt))
    assert torch.equal(loaded.tensors["g"]["t"], base.t())
    assert torch.equal(loaded.tensors["g"]["view"], base[1])


def test_keep_prunes_to_newest(tmp_path: Path) -> None:
    for step in (10, 20, 30, 40, 50):
        save_checkpoint(tmp_path, step, make_ckpt(step), keep=2)
    assert step_dirs(tmp_path) == ["step_00000040", "step_00000050"]
    assert find_last(tmp_path) == tmp_path / "step_00000050"


def test_last_is_replaced(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, 1, make_ckpt(1))
    assert (tmp_path / "last").read_text().strip() == "step_00000001"
    save_checkpoint(tmp_path, 2, make_ckpt(2))
    assert (tmp_path / "last").read_text().strip() == "step_00000002"
    assert find_last(tmp_path) == tmp_path / "step_00000002"
    # no temporary pointer or folder is left behind
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_same_step_saved_again(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, 3, make_ckpt(3))
    newer = make_ckpt(99)
    newer.meta["step"] = 3
    save_checkpoint(tmp_path, 3, newer)
    loaded = load_checkpoint(find_last(tmp_path))  # type: ignore[arg-type]
    assert loaded.meta == newer.meta
    assert torch.equal(loaded.tensors["models"]["w"], newer.tensors["models"]["w"])
    assert step_dirs(tmp_path) == ["step_00000003"]


def test_find_last_without_pointer(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, make_ckpt(step), keep=5)
    (tmp_path / "last").unlink()
    assert find_last(tmp_path) == tmp_path / "step_00000003"


def test_find_last_pointer_names_deleted_folder(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, make_ckpt(step), keep=5)
    shutil.rmtree(tmp_path / "step_00000003")
    assert find_last(tmp_path) == tmp_path / "step_00000002"


def test_find_last_skips_incomplete(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, 1, make_ckpt(1))
    (tmp_path / "last").unlink()
    incomplete = tmp_path / "step_00000009"
    incomplete.mkdir()
    (incomplete / "models.safetensors").write_bytes(b"partial")
    stray = tmp_path / ".tmp-step_00000010-12345"
    stray.mkdir()
    (stray / "models.safetensors").write_bytes(b"partial")
    assert find_last(tmp_path) == tmp_path / "step_00000001"
    # even a complete-looking temporary folder is never a candidate
    (stray / "state.json").write_text(json.dumps({"step": 10}))
    assert find_last(tmp_path) == tmp_path / "step_00000001"


def test_find_last_empty(tmp_path: Path) -> None:
    assert find_last(tmp_path) is None


def test_incomplete_checkpoint_cannot_be_loaded(tmp_path: Path) -> None:
    folder = tmp_path / "step_00000001"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="incomplete"):
        load_checkpoint(folder)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_safetensors(tmp_path: Path, damage: str) -> None:
    path = save_checkpoint(tmp_path, 1, make_ckpt(1))
    file = path / "models.safetensors"
    data = file.read_bytes()
    file.write_bytes({"garbage": b"\xff" * 64, "truncated": data[: len(data) // 2], "empty": b""}[damage])
    with pytest.raises(CheckpointError, match="models.safetensors"):
        load_checkpoint(path)


def test_corrupt_state_json(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, 1, make_ckpt(1))
    (path / "state.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="state.json"):
        load_checkpoint(path)


def test_binary_garbage_state_json(tmp_path: Path) -> None:
    """LIBRARY BUG: load_checkpoint reads state.json with Path.read_text() and catches only
    json.JSONDecodeError, so a state.json holding non-UTF-8 bytes escapes as UnicodeDecodeError
    instead of the CheckpointError that names the corrupt file."""
    path = save_checkpoint(tmp_path, 1, make_ckpt(1))
    (path / "state.json").write_bytes(b"\x80\xff\xfe garbage")
    try:
        load_checkpoint(path)
    except CheckpointError as exc:
        assert "state.json" in str(exc)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"a corrupt state.json raised {type(exc).__name__}, not CheckpointError: {exc}")
    else:
        pytest.fail("a corrupt state.json was loaded")


# -- optimizer state ---------------------------------------------------------------------------------


def _train(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor) -> None:
    opt.zero_grad()
    model(x).pow(2).mean().backward()
    opt.step()


def test_optimizer_round_trip_is_bit_identical(tmp_path: Path) -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 4)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.99), weight_decay=1e-3)
    for _ in range(3):
        _train(model, opt, x)

    tensors, meta = optimizer_state(opt)
    assert tensors and all(isinstance(v, torch.Tensor) for v in tensors.values())
    ckpt = Checkpoint({"optimizers": tensors, "models": dict(model.state_dict())}, {"optim": meta})
    path = save_checkpoint(tmp_path, 3, ckpt)  # through safetensors and JSON, as a real resume is
    loaded = load_checkpoint(path)

    clone = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1))
    clone.load_state_dict(loaded.tensors["models"])
    clone_opt = torch.optim.Adam(clone.parameters(), lr=0.5)  # hyper-parameters come from the checkpoint
    load_optimizer_state(clone_opt, loaded.tensors["optimizers"], loaded.meta["optim"])
    assert clone_opt.param_groups[0]["lr"] == 1e-2
    assert clone_opt.param_groups[0]["betas"] == (0.5, 0.99)

    _train(model, opt, x)
    _train(clone, clone_opt, x)
    for a, b in zip(model.parameters(), clone.parameters()):
        assert torch.equal(a, b)
    before = [p.detach().clone() for p in clone.parameters()]
    _train(clone, clone_opt, x)
    assert any(not torch.equal(a, b) for a, b in zip(before, clone.parameters()))  # it did move
