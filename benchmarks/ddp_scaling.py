"""Data-parallel training on one machine: 1 process against 2 (``--nproc``), same global batch.

    python benchmarks/ddp_scaling.py --steps 300 --out benchmarks/out/ddp
    python benchmarks/ddp_scaling.py --tasks cgan --steps 800 --set trainer.device=cuda   # on a GPU machine

For each task, the same command with ``--nproc 1`` and ``--nproc 2`` (gloo on CPU: each process gets
cores / 2 threads), the same global ``trainer.batch_size``, seed and step count; nothing else
runs beside them. Reported: training samples per second (from the trainer's logged step rate,
warm-up window dropped) and the result of each run — the task's own metrics at the last step — so
that the 2-process run can be read against the 1-process one. They are not bit-identical (per-rank
noise streams and batch-norm statistics; docs/architecture.md), so the comparison is against a
tolerance: the spread of the same setting over seeds in the task's benchmark tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from runs import cgp, final_evaluation

TASKS = {
    "cgan": [],
    "speech_enhance": [],
}


def run(task: str, nproc: int, steps: int, out: Path, extra: list[str]) -> dict:
    run_dir = out / f"{task}-nproc{nproc}"
    result_file = run_dir / "ddp_result.json"
    if result_file.is_file():
        return json.loads(result_file.read_text())
    args = ["train", "--plugin", task, "--run-dir", str(run_dir), "--nproc", str(nproc)]
    for item in [
        f"trainer.steps={steps}",
        "trainer.max_minutes=null",
        "trainer.progress=off",
        "trainer.log_every=10",
        *extra,
    ]:
        args += ["--set", item]
    t0 = time.time()
    done = cgp(args)
    if done.returncode != 0:
        raise SystemExit(f"{run_dir}: training failed:\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rates = [r["steps_per_sec"] for r in rows if "steps_per_sec" in r][1:]
    config_batch = yaml.safe_load((run_dir / "config.yaml").read_text())["trainer"]["batch_size"]
    _, metrics = final_evaluation(run_dir)
    result = {
        "nproc": nproc,
        "steps": steps,
        "samples_per_sec": config_batch * len(rates) / sum(1 / r for r in rates),
        "seconds": round(time.time() - t0, 1),
        "metrics": metrics,
    }
    result_file.write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/ddp"))
    parser.add_argument("--set", dest="extra", action="append", default=[])
    opts = parser.parse_args()
    summary = {}
    for task in opts.tasks:
        one = run(task, 1, opts.steps, opts.out, [*TASKS[task], *opts.extra])
        two = run(task, 2, opts.steps, opts.out, [*TASKS[task], *opts.extra])
        summary[task] = {"1": one, "2": two, "speedup": two["samples_per_sec"] / one["samples_per_sec"]}
        print(
            f"{task}: {one['samples_per_sec']:.1f} samples/s with 1 process, {two['samples_per_sec']:.1f} with 2 "
            f"(x{summary[task]['speedup']:.2f})"
        )
        for key in sorted(one["metrics"] or {}):
            print(f"  {key:32s} {one['metrics'][key]:.4g}  {two['metrics'][key]:.4g}")
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
