"""Trainer overhead: the generic trainer against a hand-written PyTorch loop, same model, same data.

    python benchmarks/trainer_overhead.py --steps 200 --threads 2

Both loops train the reference task's networks (cgan defaults: 32x32, batch 64) with the same
three-pair BCE objective, Adam settings and data. The hand-written twin below is what one would
write without cgp; the difference in steps/second is the price of the generic trainer (per-step
finite checks, logging, RNG isolation of each item, the objective's indirection).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from cgp.core.config import resolve_config
from cgp.core.plugins import load_plugins
from cgp.core.rundir import RunDir
from cgp.core.trainer import Trainer
from cgp.plugins.cgan.task import CganConfig


def plain_loop(config: CganConfig, task: object, steps: int) -> float:
    """The twin: a DCGAN-style loop written directly against the modules."""
    torch.manual_seed(config.trainer.seed)
    models = task.build_models()  # type: ignore[attr-defined]
    g, d, cond = models.generator, models.discriminator, models.condition
    g_opt = torch.optim.Adam(models.generator_parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(models.discriminator_parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(
        task.build_dataset("train"),
        batch_size=config.trainer.batch_size,
        shuffle=True,  # type: ignore[attr-defined]
        drop_last=True,
    )
    batches = iter(loader)
    start = None
    for step in range(steps + 5):
        if step == 5:
            start = time.perf_counter()  # skip warm-up steps
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        x, y = batch["x"], batch["cond"]
        fake = g(y, g.sample_noise(len(y), "cpu"))
        # update D on real, fake and mismatched pairs
        wrong = cond.mismatch(y)
        d_loss = F.softplus(-d(x, y)).mean() + F.softplus(d(fake.detach(), y)).mean() + F.softplus(d(x, wrong)).mean()
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        # update G
        d.requires_grad_(False)
        g_loss = F.softplus(-d(fake, y)).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        d.requires_grad_(True)
    return steps / (time.perf_counter() - start)


def cgp_loop(config: CganConfig, host: object, steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        timed = config.model_copy(update={"trainer": config.trainer.model_copy(update={"steps": steps + 5})})
        run = RunDir(Path(tmp))
        run.create()
        trainer = Trainer(host.task("cgan")(timed, host), run, host)  # type: ignore[attr-defined]
        trainer.fit()
        rows = [r for r in run.read_metrics() if "steps_per_sec" in r]
        # rows are logged every 5 steps; drop the first (warm-up) window
        elapsed = sum(5 / r["steps_per_sec"] for r in rows[1:])
        return 5 * len(rows[1:]) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    host = load_plugins()
    config = resolve_config(
        CganConfig,
        "cgan",
        overrides=[
            "trainer.device=cpu",
            "trainer.progress=off",
            "trainer.log_every=5",
            "trainer.sample_every=0",
            "trainer.checkpoint_every=0",
            "eval.metrics=[]",
        ],
    )
    task = host.task("cgan")(config, host)
    results = {"plain": [], "cgp": []}
    for _ in range(opts.repeats):
        results["plain"].append(plain_loop(config, task, opts.steps))
        results["cgp"].append(cgp_loop(config, host, opts.steps))
    best = {k: max(v) for k, v in results.items()}
    summary = {
        "threads": opts.threads,
        "steps": opts.steps,
        "batch_size": config.trainer.batch_size,
        "plain_steps_per_sec": round(best["plain"], 3),
        "cgp_steps_per_sec": round(best["cgp"], 3),
        "overhead_percent": round(100 * (best["plain"] / best["cgp"] - 1), 1),
        "all": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
