"""Train the reference task with several objective/discriminator settings for the same number of
steps and compare condition accuracy and judge Fréchet distance.

    python benchmarks/cgan_variants.py --steps 800 --seeds 0 1 2 --out benchmarks/out/cgan_variants

Writes ``results.json`` and ``results.md`` (a table, mean ± standard deviation over seeds) into
``--out``; each run directory (with samples) is kept there too. The numbers in
docs/benchmarks.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS: dict[str, list[str]] = {
    "bce, projection D (joint), mismatch negatives": [],
    "hinge, projection D (joint), TTUR": [
        "objective.adversarial=hinge",
        "optim.generator.lr=0.0001",
        "optim.discriminator.lr=0.0004",
        "optim.generator.betas=[0.0,0.9]",
        "optim.discriminator.betas=[0.0,0.9]",
    ],
    "bce, projection D (split heads)": ["objective.heads=split"],
    "bce, no mismatch negatives": ["objective.mismatch_negative=false"],
    "bce, unconditional D (ablation)": ["model.conditional_discriminator=false", "objective.mismatch_negative=false"],
    "bce, ACGAN D": ["model.discriminator=acgan", "objective.mismatch_negative=false"],
    "bce, projection D with batch norm (DCGAN D)": ["model.discriminator_norm=batch"],
    "hinge, projection D, n_critic 2": ["objective.adversarial=hinge", "trainer.n_critic=2"],
}


def _cgp(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cgp", *args], capture_output=True, text=True)


def train_and_evaluate(run_dir: Path, overrides: list[str], steps: int, seed: int) -> dict:
    """One training run and the evaluation of its last checkpoint."""
    sets = [
        f"trainer.steps={steps}",
        f"trainer.seed={seed}",
        "trainer.progress=off",
        "trainer.sample_every=500",
        "trainer.checkpoint_every=0",
        *overrides,
    ]
    args = ["train", "--plugin", "cgan", "--run-dir", str(run_dir)]
    for item in sets:
        args += ["--set", item]
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.time()
    trained = _cgp(args)
    if trained.returncode != 0:
        raise SystemExit(f"{run_dir}: training failed:\n{trained.stderr[-2000:]}")
    evaluated = _cgp(["evaluate", str(run_dir), "--json"])
    if evaluated.returncode != 0:
        raise SystemExit(f"{run_dir}: evaluation failed:\n{evaluated.stderr[-2000:]}")
    step = json.loads((run_dir / "eval" / "test.json").read_text())["step"]
    return {"steps": step, "seconds": round(time.time() - t0, 1), **json.loads(evaluated.stdout)}


def _mean_std(values: list[float], digits: int) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=800, help="generator steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="trainer.seed values (one run each)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/cgan_variants"))
    parser.add_argument("--only", nargs="*", help="substrings of variant names to run")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for index, (name, overrides) in enumerate(VARIANTS.items()):
        if opts.only and not any(part in name for part in opts.only):
            continue
        runs = []
        for seed in opts.seeds:
            runs.append(train_and_evaluate(opts.out / f"variant{index}-seed{seed}", overrides, opts.steps, seed))
            print(f"{name} seed {seed}: {runs[-1]}", flush=True)
        results[name] = {"overrides": overrides, "seeds": opts.seeds, **{k: [r[k] for r in runs] for k in runs[0]}}
    (opts.out / "results.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| variant | steps | seeds | condition accuracy | judge on real (ceiling) | chance | judge Fréchet distance |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['steps'][0]} | {len(r['seeds'])} | {_mean_std(r['condition_accuracy'], 3)} | "
            f"{_mean_std(r['condition_accuracy_real'], 3)} | {r['condition_accuracy_chance'][0]:.3f} | "
            f"{_mean_std(r['judge_frechet_distance'], 1)} |"
        )
    (opts.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
