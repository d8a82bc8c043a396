"""Shared by the benchmark scripts: train a task with overrides, evaluate it, tabulate the results."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def cgp(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cgp", *args], capture_output=True, text=True)


RESULT_FILE = "benchmark_result.json"


def cpu_capability() -> str:
    """The CPU kernels torch uses here (AVX512, AVX2, ...): wall times are only comparable within one."""
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip()


def train_and_evaluate(task: str, run_dir: Path, overrides: list[str], reuse: bool = False) -> dict:
    """One training run (fresh run directory) and the evaluation of its last checkpoint. ``reuse``
    returns the stored result of a finished run with the same task and overrides instead (so that a
    study can add seeds later without training the finished ones again)."""
    stored = run_dir / RESULT_FILE
    if reuse and stored.is_file():
        saved = json.loads(stored.read_text())
        if saved.get("task") == task and saved.get("overrides") == overrides:
            return saved["result"]
    args = ["train", "--plugin", task, "--run-dir", str(run_dir)]
    for item in ["trainer.progress=off", *overrides]:
        args += ["--set", item]
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.time()
    trained = cgp(args)
    if trained.returncode != 0:
        raise SystemExit(f"{run_dir}: training failed:\n{trained.stderr[-2000:]}")
    step, metrics = final_evaluation(run_dir)
    if metrics is None:  # no evaluation at the last step in the log: run it
        evaluated = cgp(["evaluate", str(run_dir), "--json"])
        if evaluated.returncode != 0:
            raise SystemExit(f"{run_dir}: evaluation failed:\n{evaluated.stderr[-2000:]}")
        step, metrics = json.loads((run_dir / "eval" / "test.json").read_text())["step"], json.loads(evaluated.stdout)
    result = {"steps": step, "seconds": round(time.time() - t0, 1), "cpu": cpu_capability(), **metrics}
    stored.write_text(json.dumps({"task": task, "overrides": overrides, "result": result}, indent=1))
    return result


def study_parser(doc: str | None, steps: int, out: str) -> argparse.ArgumentParser:
    """The options every fixed-step study shares: steps, jobs, overrides, seeds, output folder, a subset
    of its variants and the reuse of finished runs."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=steps, help="training steps per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (a GPU, say; 1 on a CPU)")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="override for every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--only", nargs="*", help="substrings of variant names to run")
    parser.add_argument("--reuse", action="store_true", help="keep finished runs with the same overrides")
    return parser


def run_study(task: str, variants: dict[str, list[str]], opts: argparse.Namespace) -> dict[str, dict]:
    """Every variant of a :func:`study_parser` study for ``opts.steps`` steps (no time budget)."""
    common = [f"trainer.steps={opts.steps}", "trainer.max_minutes=null", *opts.extra]
    return run_variants(task, variants, common, opts.seeds, opts.out, opts.only, opts.jobs, opts.reuse)


def final_evaluation(run_dir: Path) -> tuple[int, dict | None]:
    """The step of the run's last checkpoint and the evaluation the trainer logged at that step (the same
    numbers ``cgp evaluate`` gives: same weights, same fixed seed), or None when it logged none."""
    state = json.loads(
        (run_dir / "checkpoints" / (run_dir / "checkpoints" / "last").read_text().strip() / "state.json").read_text()
    )
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    evaluated = [r for r in rows if r.get("step") == state["step"] and any(k.startswith("eval/") for k in r)]
    if not evaluated:
        return state["step"], None
    return state["step"], {k[len("eval/") :]: v for k, v in evaluated[-1].items() if k.startswith("eval/")}


def mean_std(values: list[float], digits: int) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def run_variants(
    task: str,
    variants: dict[str, list[str]],
    common: list[str],
    seeds: list[int],
    out: Path,
    only: list[str] | None,
    jobs: int = 1,
    reuse: bool = False,
) -> dict[str, dict]:
    """Every selected variant once per seed, ``jobs`` runs at a time; results per variant hold lists
    over seeds. Run several at once only where the runs do not compete for the budget they are given
    (a fixed step count on a GPU, say), never under a wall-clock budget on a shared CPU."""
    out.mkdir(parents=True, exist_ok=True)
    todo = [
        (name, seed, out / f"variant{index}-seed{seed}", [*common, f"trainer.seed={seed}", *overrides])
        for index, (name, overrides) in enumerate(variants.items())
        if not only or any(part in name for part in only)
        for seed in seeds
    ]

    def one(item: tuple[str, int, Path, list[str]]) -> dict:
        name, seed, run_dir, overrides = item
        result = train_and_evaluate(task, run_dir, overrides, reuse)
        print(f"{name} seed {seed}: {result}", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        finished = list(pool.map(one, todo))
    results: dict[str, dict] = {}
    for (name, seed, _, _), run in zip(todo, finished):
        entry = results.setdefault(name, {"overrides": variants[name], "seeds": []})
        entry["seeds"].append(seed)
        for key, value in run.items():
            entry.setdefault(key, []).append(value)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results


def table(results: dict[str, dict], columns: list[tuple[str, str, int]]) -> str:
    """Markdown: one row per variant; ``columns`` are (heading, metric key, decimals)."""
    head = "| variant | steps | seeds | " + " | ".join(h for h, _, _ in columns) + " |"
    rule = "| --- | ---: | ---: | " + " | ".join("---:" for _ in columns) + " |"
    rows = [
        f"| {name} | {r['steps'][0]} | {len(r['seeds'])} | "
        + " | ".join(mean_std(r[key], digits) for _, key, digits in columns)
        + " |"
        for name, r in results.items()
    ]
    return "\n".join([head, rule, *rows]) + "\n"
