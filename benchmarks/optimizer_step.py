"""The optimizer update of each built-in task: Adam's per-tensor loop against its fused kernel.

    python benchmarks/optimizer_step.py --repeats 5

For each task at its default settings, both optimizers' parameters (G's side and D's) get a fixed random
gradient, and one ``make_optimizer`` update of all of them is timed with ``optim.*.fused=false`` (torch's
per-tensor loop, what ``torch.optim.Adam`` runs on a CPU unless told otherwise) and with ``fused=true``
(one kernel over every tensor: the default since 2026-12-03), interleaved, best of the repeats of 10
updates each. The two give the same parameters to float rounding (tests/test_trainer.py). The share of a
training step it saves is read against that task's step time in the trainer-overhead table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from cgp.core.config import OptimizerConfig, resolve_config
from cgp.core.plugins import load_plugins
from cgp.core.trainer import make_optimizer

TASKS = ["cgan", "pix2pix", "cyclegan", "speech_enhance", "text2image", "video_predict"]


def update_seconds(params: list[torch.nn.Parameter], fused: bool, updates: int = 10) -> float:
    optimizer = make_optimizer(params, OptimizerConfig(fused=fused))
    for _ in range(3):  # the moments' buffers are allocated on the first update
        optimizer.step()
    start = time.perf_counter()
    for _ in range(updates):
        optimizer.step()
    return (time.perf_counter() - start) / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/optimizer_step.json"))
    opts = parser.parse_args()
    host = load_plugins()
    summary: dict = {"capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}
    for name in opts.tasks:
        cls = host.task(name)
        task = cls(resolve_config(cls.config_model, name, overrides=["trainer.device=cpu"]), host)
        with tempfile.TemporaryDirectory() as tmp:
            task.setup(Path(tmp), train=True)  # text2image builds its vocabulary here
            models = task.build_models()
        params = models.generator_parameters() + models.discriminator_parameters()
        generator = torch.Generator().manual_seed(0)
        for p in params:
            p.grad = 1e-3 * torch.randn(p.shape, generator=generator)
        times: dict[str, list[float]] = {"loop": [], "fused": []}
        for _ in range(opts.repeats):
            times["loop"].append(update_seconds(params, fused=False))
            times["fused"].append(update_seconds(params, fused=True))
        loop, fused = min(times["loop"]), min(times["fused"])
        count = sum(p.numel() for p in params)
        summary[name] = {"parameters": count, "loop_ms": loop * 1e3, "fused_ms": fused * 1e3, "all": times}
        print(
            f"{name:16s} {count / 1e6:6.2f} M parameters: loop {loop * 1e3:7.2f} ms, fused {fused * 1e3:6.2f} ms "
            f"({loop / fused:.1f}x)",
            flush=True,
        )
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
