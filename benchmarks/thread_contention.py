"""Several trainings sharing one machine: how torch's thread pools behave under contention.

    python benchmarks/thread_contention.py --steps 300 --out benchmarks/out/threads.json
    python benchmarks/thread_contention.py --steps 300 --only governed --out benchmarks/out/threads_governed.json

The reference task (cgan defaults, no evaluation) trained by 1, 2 and 3 processes at once, each
process with a fixed thread per core (torch's own default, ``trainer.threads`` = the cores), with
``trainer.threads=1``, with a thread per core under ``OMP_WAIT_POLICY=PASSIVE`` (OpenMP threads sleep
instead of spinning while they wait), and with ``trainer.threads`` unset, where the trainer's thread
governor (``cgp/core/cpu_threads.py``) drops threads while other processes hold the cores. Reported
per setting: each process's steps/s (its logged windows, the first dropped) and their sum, the
machine's throughput. Run it alone: it measures contention, so anything else running is part of the
measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CORES = len(os.sched_getaffinity(0))
SETTINGS = {
    "every core, fixed": ([f"trainer.threads={CORES}"], {}),
    "trainer.threads=1": (["trainer.threads=1"], {}),
    "every core, fixed, OMP_WAIT_POLICY=PASSIVE": ([f"trainer.threads={CORES}"], {"OMP_WAIT_POLICY": "PASSIVE"}),
    "default (threads unset: governed)": ([], {}),
}


def train(run_dir: Path, steps: int, overrides: list[str], env: dict[str, str]) -> subprocess.Popen:
    args = [sys.executable, "-m", "cgp", "train", "--plugin", "cgan", "--run-dir", str(run_dir)]
    for item in [
        f"trainer.steps={steps}",
        "trainer.progress=off",
        "trainer.log_every=10",
        "trainer.sample_every=0",
        "trainer.checkpoint_every=0",
        "eval.metrics=[]",
        "trainer.max_minutes=null",
        *overrides,
    ]:
        args += ["--set", item]
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return subprocess.Popen(args, env={**clean, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def rate(run_dir: Path) -> float:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rates = [r["steps_per_sec"] for r in rows if "steps_per_sec" in r][1:]
    return len(rates) / sum(1 / r for r in rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/threads.json"))
    parser.add_argument("--only", nargs="*", help="substrings of setting names to run")
    opts = parser.parse_args()
    results = {"cores": os.cpu_count(), "capability": torch.backends.cpu.get_cpu_capability(), "settings": {}}
    for name, (overrides, env) in SETTINGS.items():
        if opts.only and not any(part in name for part in opts.only):
            continue
        for count in opts.processes:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.time()
                procs = [train(Path(tmp) / f"run{i}", opts.steps, overrides, env) for i in range(count)]
                for proc in procs:
                    _, err = proc.communicate()
                    if proc.returncode != 0:
                        raise SystemExit(f"a training failed:\n{err[-2000:]}")
                rates = [rate(Path(tmp) / f"run{i}") for i in range(count)]
            entry = {"steps_per_sec": rates, "total": sum(rates), "wall_seconds": round(time.time() - t0, 1)}
            results["settings"][f"{name}, {count} at once"] = entry
            print(
                f"{name:44s} {count} at once: "
                + " ".join(f"{r:.2f}" for r in rates)
                + f"  (sum {sum(rates):.2f} steps/s)",
                flush=True,
            )
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
