"""Does data loading keep up with training? Each task's training loader against its training step, in samples/s.

    python benchmarks/loader_throughput.py
    python benchmarks/loader_throughput.py --tasks video_predict \
        --set data.root=benchmarks/out/video_real --set data.size=64

One process, run alone. For each task, with its config (defaults plus ``--set``, which applies to every task
named):

* **loader**: the training loader the trainer builds (same sampler, ``data.num_workers``, collate) is drained
  for ``--batches`` batches, twice in a row — the first pass reads everything for the first time (files
  decoded, procedural items drawn), the second goes on through the epoch, and is faster only where the items
  it reaches were cached or are cheaper — and the time to build the dataset (listing, probing or drawing it)
  is reported apart;
* **training**: the generic trainer runs ``--steps`` steps on the same data, loader included (first logging
  window dropped as warm-up); its samples/s is steps/s times the batch size.

The loader keeps up when its samples/s is above the training's: the step then never waits for data. Where the
training loop reads more than one batch per step (``trainer.n_critic`` above 1), its demand is that many
batches per step, which the ratio accounts for.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from cgp.core.config import resolve_config
from cgp.core.data import training_loader
from cgp.core.plugins import load_plugins
from cgp.core.rundir import RunDir
from cgp.core.trainer import Trainer

TASKS = ["cgan", "pix2pix", "cyclegan", "speech_enhance", "text2image", "video_predict"]
SETUP = {"text2image": ["model.text.pretrain_steps=20"]}  # the encoder's pretraining is set-up, not loading


def loader_samples_per_second(task: Any, batches: int) -> dict[str, float]:
    config = task.config
    t0 = time.perf_counter()
    dataset = task.build_dataset("train")
    built = time.perf_counter() - t0
    loader = training_loader(
        dataset, task.collate, config.trainer.batch_size, config.trainer.seed, config.data.num_workers
    )
    rates = []
    stream = iter(loader)  # the sampler never ends; one iterator for both passes, as in training
    for _ in range(2):
        t0 = time.perf_counter()
        for _ in range(batches):
            next(stream)
        rates.append(batches * config.trainer.batch_size / (time.perf_counter() - t0))
    return {
        "dataset_build_seconds": built,
        "first_pass_samples_per_sec": rates[0],
        "second_pass_samples_per_sec": rates[1],
    }


def training_samples_per_second(host: Any, name: str, config: Any, steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        timed = config.model_copy(update={"trainer": config.trainer.model_copy(update={"steps": steps})})
        run = RunDir(Path(tmp))
        run.create()
        task = host.task(name)(timed, host)
        task.setup(Path(tmp), train=True)
        Trainer(task, run, host).fit()
        rows = [r for r in run.read_metrics() if "steps_per_sec" in r][1:]  # first window: warm-up
        return len(rows) / sum(1 / r["steps_per_sec"] for r in rows) * timed.trainer.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    parser.add_argument("--set", dest="extra", action="append", default=[], help="config override")
    parser.add_argument("--batches", type=int, default=50, help="loader batches per pass")
    parser.add_argument("--steps", type=int, default=60, help="training steps timed")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/loader_throughput.json"))
    opts = parser.parse_args()
    host = load_plugins()
    summary: dict[str, Any] = {"capability": torch.backends.cpu.get_cpu_capability(), "tasks": {}}
    for name in opts.tasks:
        overrides = [
            "trainer.device=cpu",
            "trainer.progress=off",
            "trainer.log_every=10",
            "trainer.sample_every=0",
            "trainer.checkpoint_every=0",
            "eval.metrics=[]",
            *SETUP.get(name, []),
            *opts.extra,
        ]
        config = resolve_config(host.task(name).config_model, name, overrides=overrides)
        with tempfile.TemporaryDirectory() as tmp:
            task = host.task(name)(config, host)
            task.setup(Path(tmp), train=True)
            loader = loader_samples_per_second(task, opts.batches)
        training = training_samples_per_second(host, name, config, opts.steps)
        demand = training * config.trainer.n_critic
        entry = {
            "num_workers": config.data.num_workers,
            "batch_size": config.trainer.batch_size,
            **loader,
            "training_samples_per_sec": training,
            "loader_over_demand": loader["first_pass_samples_per_sec"] / demand,
        }
        summary["tasks"][name] = entry
        print(
            f"{name:16s} workers {entry['num_workers']}  loader {loader['first_pass_samples_per_sec']:8.1f} / "
            f"{loader['second_pass_samples_per_sec']:8.1f} samples/s (dataset built in "
            f"{loader['dataset_build_seconds']:.1f} s)  training {training:7.1f} samples/s  "
            f"first pass / demand {entry['loader_over_demand']:.1f}x",
            flush=True,
        )
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
