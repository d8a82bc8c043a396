"""Does decoding keep up with training? ``video_predict``'s loader against its training step, in clips/s.

    python benchmarks/video_loader_throughput.py
    python benchmarks/video_loader_throughput.py --set data.root=benchmarks/out/video_real --set data.size=64

One process, run alone. With the task's config (defaults plus ``--set``):

* **loader**: the training loader the trainer builds (same sampler, workers, collate) is drained for
  ``--batches`` batches twice — the first pass from a cold decoded-frame cache (every source decoded
  for the first time), the second warm — and the time to build the dataset (probing every file) is
  reported apart;
* **training**: the generic trainer runs ``--steps`` steps on the same data (first logging window
  dropped as warm-up); its clips/s is steps/s times the batch size.

The loader keeps up when its clips/s is above the training's: the step then never waits for data.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from cgp.core.config import resolve_config
from cgp.core.data import training_loader
from cgp.core.plugins import load_plugins
from cgp.core.rundir import RunDir
from cgp.core.trainer import Trainer

TASK = "video_predict"


def loader_clips_per_second(task: object, batches: int) -> dict[str, float]:
    config = task.config  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    dataset = task.build_dataset("train")  # type: ignore[attr-defined]
    built = time.perf_counter() - t0
    loader = training_loader(
        dataset,
        task.collate,  # type: ignore[attr-defined]
        config.trainer.batch_size,
        config.trainer.seed,
        config.data.num_workers,
    )
    rates = []
    for _ in range(2):  # cold cache, then warm
        batches_seen, clips, t0 = 0, 0, time.perf_counter()
        for batch in loader:
            clips += len(batch["x"])
            batches_seen += 1
            if batches_seen == batches:
                break
        rates.append(clips / (time.perf_counter() - t0))
    return {"dataset_build_seconds": round(built, 2), "cold_clips_per_sec": rates[0], "warm_clips_per_sec": rates[1]}


def training_clips_per_second(host: object, config: object, steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        timed = config.model_copy(  # type: ignore[attr-defined]
            update={"trainer": config.trainer.model_copy(update={"steps": steps})}  # type: ignore[attr-defined]
        )
        run = RunDir(Path(tmp))
        run.create()
        Trainer(host.task(TASK)(timed, host), run, host).fit()  # type: ignore[attr-defined]
        rows = [r for r in run.read_metrics() if "steps_per_sec" in r][1:]  # first window: warm-up
        return sum(r["steps_per_sec"] for r in rows) / len(rows) * timed.trainer.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="extra", action="append", default=[], help="config override")
    parser.add_argument("--batches", type=int, default=100, help="loader batches per pass")
    parser.add_argument("--steps", type=int, default=60, help="training steps timed")
    opts = parser.parse_args()
    host = load_plugins()
    overrides = [
        "trainer.progress=off",
        "trainer.log_every=10",
        "trainer.sample_every=0",
        "trainer.checkpoint_every=0",
        "eval.metrics=[]",
        *opts.extra,
    ]
    config = resolve_config(host.task(TASK).config_model, TASK, overrides=overrides)
    loader = loader_clips_per_second(host.task(TASK)(config, host), opts.batches)
    training = training_clips_per_second(host, config, opts.steps)
    summary = {
        "overrides": opts.extra,
        "torch_threads": torch.get_num_threads(),
        "num_workers": config.data.num_workers,
        "batch_size": config.trainer.batch_size,
        **{k: round(v, 1) for k, v in loader.items()},
        "training_clips_per_sec": round(training, 1),
        "loader_over_training": round(loader["warm_clips_per_sec"] / training, 1),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
