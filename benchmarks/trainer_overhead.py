"""Trainer overhead, task by task: the generic trainer against a hand-written loop over the same parts.

    python benchmarks/trainer_overhead.py --steps 150 --bookkeeping
    python benchmarks/trainer_overhead.py --tasks cgan pix2pix --steps 300

For each built-in task, at its default settings on the built-in data: the task's models (built twice
from the same seed), its objective, its optimizers, and the same pre-collated training batches
(cycled, so data loading is out of both measurements). The *plain twin* is the loop one would write
by hand around those parts: generate, discriminator terms, backward, step; generator terms with the
discriminator frozen, backward, step; and where the task's defaults average G's weights (cgan), one
fused lerp of the average towards them, as the algorithm asks. The *cgp* side is ``Trainer.fit`` itself
with its loader replaced by the same batches: everything the trainer adds per step (finite checks, the
logging window, the EMA's module bookkeeping when on, progress, hooks, signal and budget checks) is in
its time.

The two loops take turns one step at a time inside one ``fit``: before each trainer step the twin
makes one. On a machine whose speed wanders by 10-25 % between loops timed one after the other, a
slow spell then falls on both sides alike. ``ratio`` is the trainer's total time over the twin's
(1.03 means the trainer costs 3 %), the median of the per-step ratios is printed beside it.
``--bookkeeping`` also measures the trainer's own per-step cost directly (``fit`` around a step that
costs nothing) and gives the ratio it implies on the twin's mean step.
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


class PlainTwin:
    """The loop one would write by hand around the task's parts, one step per :meth:`step`."""

    def __init__(self, task: Any, batches: list[Any]) -> None:
        seed_everything(task.config.trainer.seed)
        self.models = task.build_models()
        if task.config.trainer.channels_last:  # the task's memory format (cgan: channels-last), as the trainer's
            to_channels_last(self.models)
        self.objective = task.build_objective(self.models)
        self.ema = task.config.trainer.ema
        if self.ema.enabled:  # the task averages G's weights (cgan): a hand-written loop does it too
            self.live = list(self.models.generator_side().parameters())
            self.averaged = [p.detach().clone() for p in self.live]
        self.g_opt = make_optimizer(self.models.generator_parameters(), task.config.optim.generator)
        d_params = self.models.discriminator_parameters()
        self.d_opt = make_optimizer(d_params, task.config.optim.discriminator) if d_params else None
        self.models.train()
        precision = resolve_precision(task.config.trainer.precision, torch.device("cpu"))
        dtype = {"fp32": None, "bf16": torch.bfloat16}[precision]
        self.autocast = (lambda: torch.autocast("cpu", dtype=dtype)) if dtype else contextlib.nullcontext
        self.stream = itertools.cycle(batches)
        self.steps = 0

    def step(self) -> None:
        objective = self.objective
        batch = to_device(next(self.stream), torch.device("cpu"))
        with self.autocast():  # the task's precision (video_predict: bf16 where native), as the trainer's step
            generated = objective.generate(batch)
        if self.d_opt is not None:
            with self.autocast():
                loss = sum(objective.discriminator_terms(batch, generated).values())
            self.d_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.d_opt.step()
        with frozen(self.models.discriminators), self.autocast():
            loss = sum(objective.generator_terms(batch, generated).values())
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.g_opt.step()
        if self.ema.enabled:
            with torch.no_grad():
                decay = min(self.ema.decay, (1 + self.steps) / (10 + self.steps))
                torch._foreach_lerp_(self.averaged, self.live, 1.0 - decay)
        self.steps += 1


def interleaved(host: Any, task: Any, batches: list[Any]) -> tuple[list[float], list[float]]:
    """Seconds per step of the twin and of the trainer, taken in turns, one step each: ``Trainer.fit``
    runs with the same batches, and before each of its steps the twin makes one. A trainer step's time
    is from the end of that twin step to the start of the next, so it holds everything ``fit`` does
    around ``train_step`` (EMA, logging window, progress, budget and signal checks, metrics rows)."""
    twin = PlainTwin(task, batches)
    twin_times: list[float] = []
    trainer_began: list[float] = []  # when each trainer iteration began (the twin step before it ended)
    trainer_ended: list[float] = []  # when it ended (the next twin step began)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp))
        run.create()
        trainer = Trainer(task, run, host)
        trainer.prepare()
        trainer._batches = itertools.cycle(batches)  # the same tensors as the twin, no loader
        own_step = trainer.train_step

        def in_turns(stream: Any) -> Any:
            began = time.perf_counter()
            trainer_ended.append(began)
            twin.step()
            ended = time.perf_counter()
            twin_times.append(ended - began)
            trainer_began.append(ended)
            return own_step(stream)

        trainer.train_step = in_turns
        logging.getLogger("cgp.train").disabled = True  # its speed watcher sees two loops' steps
        try:
            trainer.fit()
        finally:
            logging.getLogger("cgp.train").disabled = False
    trainer_times = [e - b for b, e in zip(trainer_began, trainer_ended[1:])]
    # pair each trainer step with the twin step just before it; the first WINDOW pairs warm up
    return twin_times[WINDOW : len(trainer_times)], trainer_times[WINDOW:]


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
            trainer._check_finite(d_terms, sum(d_terms.values())) if d_terms else None
            trainer._check_finite(g_terms, sum(g_terms.values()))
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
    parser.add_argument("--steps", type=int, default=150, help="timed steps of each loop, per task")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--bookkeeping", action="store_true", help="also time the trainer's own per-step cost around a free step"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/trainer_overhead.json"))
    opts = parser.parse_args()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    summary: dict[str, Any] = {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
    }
    for name in opts.tasks:
        host, task = build(name, TASKS[name], WINDOW + opts.steps + 1)
        with tempfile.TemporaryDirectory() as tmp:
            task.setup(Path(tmp), train=True)
            batches = batches_for(task)
        twin, cgp = interleaved(host, task, batches)
        ratio = sum(cgp) / sum(twin)
        paired = statistics.median(c / t for t, c in zip(twin, cgp))
        summary[name] = {
            "steps": len(twin),
            "twin_ms_mean": 1000 * statistics.fmean(twin),
            "cgp_ms_mean": 1000 * statistics.fmean(cgp),
            "ratio": ratio,
            "paired_ratio_median": paired,
            "twin_s": twin,
            "cgp_s": cgp,
        }
        print(
            f"{name:16s} ratio {ratio:.3f}  (twin {1000 * statistics.fmean(twin):.1f} ms, trainer "
            f"{1000 * statistics.fmean(cgp):.1f} ms a step over {len(twin)} steps each, in turns; "
            f"median of the per-step ratios {paired:.3f})",
            flush=True,
        )
        if opts.bookkeeping:
            extra = bookkeeping_seconds(host, task, batches)
            twin_step = statistics.fmean(twin)
            summary[name]["bookkeeping_us"] = extra * 1e6
            summary[name]["bookkeeping_ratio"] = 1 + extra / twin_step
            print(
                f"{name:16s} bookkeeping {extra * 1e6:.0f} us per step: ratio {1 + extra / twin_step:.3f} "
                f"on the twin's mean step ({1000 * twin_step:.1f} ms)",
                flush=True,
            )
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
