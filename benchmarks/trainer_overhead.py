"""Trainer overhead, task by task: the generic trainer against a hand-written loop over the same parts.

    python benchmarks/trainer_overhead.py --steps 60 --repeats 3
    python benchmarks/trainer_overhead.py --tasks cgan pix2pix --steps 150
    python benchmarks/trainer_overhead.py --steps 60 --repeats 3 --bookkeeping

For each built-in task, at its default settings on the built-in data: the task's models (built twice
from the same seed), its objective, its optimizers, and the same pre-collated training batches
(cycled, so data loading is out of both measurements). The *plain twin* is the loop one would write
by hand around those parts: generate, discriminator terms, backward, step; generator terms with the
discriminator frozen, backward, step; and where the task's defaults average G's weights (cgan), one
fused lerp of the average towards them, as the algorithm asks. The *cgp* side is ``Trainer.fit`` itself with its loader
replaced by the same batches: everything the trainer adds per step (finite checks, the logging
window, the EMA's module bookkeeping when on, progress, hooks, signal and budget checks) is in its time.

Interleaved: each repeat times both loops for every task, the twin first in even repeats and the
trainer first in odd ones; a figure is the best repeat. ``ratio`` is twin steps/s over trainer
steps/s (1.03 means the trainer costs 3 %); the median of each repeat's own ratio (the two loops timed
back to back) is printed beside it. On a machine whose speed wanders by 10-20 % between timed loops
neither resolves a few per cent; ``--bookkeeping`` measures the trainer's own per-step cost directly and
gives the ratio it implies on the twin's best step.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from cgp.core.config import resolve_config
from cgp.core.data import to_device
from cgp.core.plugins import load_plugins
from cgp.core.rundir import RunDir
from cgp.core.seeding import seed_everything
from cgp.core.trainer import Trainer, frozen, make_optimizer, resolve_precision, to_channels_last

TASKS: dict[str, list[str]] = {
    "cgan": [],
    "pix2pix": [],
    "cyclegan": [],
    "speech_enhance": [],
    "text2image": ["model.text.pretrain_steps=20"],
    "video_predict": [],
}
COMMON = [
    "trainer.device=cpu",
    "trainer.progress=off",
    "trainer.sample_every=0",
    "trainer.checkpoint_every=0",
    "eval.metrics=[]",
]
WINDOW = 5  # trainer.log_every: the trainer's own step rate is read from its logged windows


def build(task_name: str, overrides: list[str], steps: int) -> tuple[Any, Any]:
    host = load_plugins()
    cls = host.task(task_name)
    config = resolve_config(
        cls.config_model,
        task_name,
        overrides=[*COMMON, f"trainer.log_every={WINDOW}", f"trainer.steps={steps}", *overrides],
    )
    return host, cls(config, host)


def batches_for(task: Any, count: int = 4) -> list[Any]:
    """``count`` training batches, collated once (the same tensors for both loops)."""
    dataset = task.build_dataset("train")
    size = task.config.trainer.batch_size
    return [task.collate([dataset[(b * size + i) % len(dataset)] for i in range(size)]) for b in range(count)]


def plain_twin(task: Any, batches: list[Any], steps: int) -> float:
    seed_everything(task.config.trainer.seed)
    models = task.build_models()
    if task.config.trainer.channels_last:  # the task's memory format (cgan: channels-last), as the trainer's
        to_channels_last(models)
    objective = task.build_objective(models)
    ema_cfg = task.config.trainer.ema
    if ema_cfg.enabled:  # the task averages G's weights (cgan): a hand-written loop does it too
        live = list(models.generator_side().parameters())
        averaged = [p.detach().clone() for p in live]
    g_opt = make_optimizer(models.generator_parameters(), task.config.optim.generator)
    d_params = models.discriminator_parameters()
    d_opt = make_optimizer(d_params, task.config.optim.discriminator) if d_params else None
    models.train()
    precision = resolve_precision(task.config.trainer.precision, torch.device("cpu"))
    dtype = {"fp32": None, "bf16": torch.bfloat16}[precision]
    autocast = (lambda: torch.autocast("cpu", dtype=dtype)) if dtype else contextlib.nullcontext
    stream = itertools.cycle(batches)
    start = 0.0
    for step in range(steps + WINDOW):
        if step == WINDOW:
            start = time.perf_counter()  # the first window warms up, as on the trainer's side
        batch = to_device(next(stream), torch.device("cpu"))
        with autocast():  # the task's precision (video_predict: bf16 where native), as the trainer's step
            generated = objective.generate(batch)
        if d_opt is not None:
            with autocast():
                loss = sum(objective.discriminator_terms(batch, generated).values())
            d_opt.zero_grad(set_to_none=True)
            loss.backward()
            d_opt.step()
        with frozen(models.discriminators), autocast():
            loss = sum(objective.generator_terms(batch, generated).values())
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        g_opt.step()
        if ema_cfg.enabled:
            with torch.no_grad():
                torch._foreach_lerp_(averaged, live, 1.0 - min(ema_cfg.decay, (1 + step) / (10 + step)))
    return steps / (time.perf_counter() - start)


def cgp_trainer(host: Any, task: Any, batches: list[Any]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp))
        run.create()
        trainer = Trainer(task, run, host)
        trainer.prepare()
        trainer._batches = itertools.cycle(batches)  # the same tensors as the twin, no loader
        trainer.fit()
        rows = [r for r in run.read_metrics() if "steps_per_sec" in r]
        timed = rows[1:]  # drop the warm-up window
        return WINDOW * len(timed) / sum(WINDOW / r["steps_per_sec"] for r in timed)


def bookkeeping_seconds(host: Any, task: Any, batches: list[Any], steps: int = 1000) -> float:
    """Seconds per step the trainer spends around the step itself, measured on its own: ``Trainer.fit``
    with ``train_step`` replaced by one returning the task's real (detached) loss terms at once, plus the
    two finite checks ``train_step`` makes. Unlike the ratio, which compares two ~50-ms steps whose
    run-to-run spread on a shared machine is 10-20 %, this isolates the trainer's own per-step cost
    (EMA update, logging window, budget and signal checks, progress, logging every WINDOW steps)."""
    trainer_log = logging.getLogger("cgp.train")
    task_steps, task.config.trainer.steps = task.config.trainer.steps, steps
    try:
        return _bookkeeping(host, task, batches, steps, trainer_log)
    finally:
        task.config.trainer.steps, trainer_log.disabled = task_steps, False


def _bookkeeping(host: Any, task: Any, batches: list[Any], steps: int, trainer_log: logging.Logger) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp))
        run.create()
        trainer = Trainer(task, run, host)
        trainer.prepare()
        trainer._batches = itertools.cycle(batches)
        d_terms, g_terms = trainer.train_step(trainer._batches)
        d_terms = {k: v.detach() for k, v in d_terms.items()}
        g_terms = {k: v.detach() for k, v in g_terms.items()}
        start = time.perf_counter()
        for _ in range(steps):
            trainer._check_finite(d_terms) if d_terms else None
            trainer._check_finite(g_terms)
        checks = time.perf_counter() - start
        trainer.train_step = lambda batches: (d_terms, g_terms)
        trainer_log.disabled = True  # its speed watcher sees the free steps
        start = time.perf_counter()
        trainer.fit()
        loop = time.perf_counter() - start
    return (checks + loop) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--steps", type=int, default=60, help="timed steps (a multiple of 5)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--bookkeeping", action="store_true", help="also time the trainer's own per-step cost around a free step"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/trainer_overhead.json"))
    opts = parser.parse_args()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    prepared = {}
    for name in opts.tasks:
        host, task = build(name, TASKS[name], opts.steps + WINDOW)
        with tempfile.TemporaryDirectory() as tmp:
            task.setup(Path(tmp), train=True)
            prepared[name] = (host, task, batches_for(task))
    results: dict[str, dict[str, list[float]]] = {name: {"plain": [], "cgp": []} for name in prepared}
    for repeat in range(opts.repeats):
        for name, (host, task, batches) in prepared.items():
            # alternate which loop goes first, so that neither always runs on a warmer (or more
            # fragmented) process than the other
            if repeat % 2 == 0:
                results[name]["plain"].append(plain_twin(task, batches, opts.steps))
                results[name]["cgp"].append(cgp_trainer(host, task, batches))
            else:
                results[name]["cgp"].append(cgp_trainer(host, task, batches))
                results[name]["plain"].append(plain_twin(task, batches, opts.steps))
    summary = {"capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}
    for name, runs in results.items():
        plain, cgp = max(runs["plain"]), max(runs["cgp"])
        paired = statistics.median(p / c for p, c in zip(runs["plain"], runs["cgp"]))
        summary[name] = {
            "plain_steps_per_sec": plain,
            "cgp_steps_per_sec": cgp,
            "ratio": plain / cgp,
            "paired_ratio_median": paired,
            "all": runs,
        }
        print(
            f"{name:16s} ratio {plain / cgp:.3f}  (twin {plain:.2f} steps/s, trainer {cgp:.2f} steps/s; "
            f"median of the repeats' own ratios {paired:.3f})",
            flush=True,
        )
        if opts.bookkeeping:
            host, task, batches = prepared[name]
            extra = bookkeeping_seconds(host, task, batches)
            summary[name]["bookkeeping_us"] = extra * 1e6
            summary[name]["bookkeeping_ratio"] = 1 + extra * plain
            print(
                f"{name:16s} bookkeeping {extra * 1e6:.0f} us per step: ratio {1 + extra * plain:.3f} "
                f"on the twin's best step ({1000 / plain:.1f} ms)",
                flush=True,
            )
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
