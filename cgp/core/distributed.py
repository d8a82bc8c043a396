"""Data-parallel training across processes, launched by PyTorch's own launcher.

``cgp train --nproc N`` re-executes the same command under ``torch.distributed.run`` with N local
processes; under ``torchrun --nnodes ...`` the same command line spans machines. Each rank trains on
its slice of every global batch. After each backward pass the gradients of the side being updated
are averaged across ranks in one flattened all-reduce — DistributedDataParallel's arithmetic,
without its module wrapper, which refuses the double backward of gradient penalties and
multiple forwards per step. Buffers (batch-norm statistics) are broadcast from rank 0 after each
step, as DDP's ``broadcast_buffers`` does. Only rank 0 writes files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    """Where collective tensors live: 'cuda' under NCCL, 'cpu' under gloo."""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group torchrun prepared (gloo on CPU, NCCL on CUDA); no-op for one process."""
    world = launched_world_size()
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    comm = "cuda" if dist.get_backend() == "nccl" else "cpu"
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), comm)


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(params: Iterable[nn.Parameter], info: DistInfo) -> None:
    if not info.enabled:
        return
    params = list(params)
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= info.world_size
    offset = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def broadcast_module(module: nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if not info.enabled:
        return
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if tensor.is_floating_point() or tensor.dtype in (torch.int64, torch.int32, torch.long):
                dist.broadcast(tensor, src=0)


def broadcast_buffers(module: nn.Module, info: DistInfo) -> None:
    if not info.enabled:
        return
    for buf in module.buffers():
        dist.broadcast(buf, src=0)


def mean_across_ranks(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= info.world_size
    return dict(zip(keys, t.tolist()))


def any_across_ranks(flag: bool, info: DistInfo) -> bool:
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def gather_objects(value: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``value`` (picklable), in rank order, on every rank."""
    if not info.enabled:
        return [value]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, value)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m cgp <argv>`` as ``nproc`` local processes under torch.distributed.run."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "cgp",
        *argv,
    ]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    return subprocess.call(cmd, env=env)
