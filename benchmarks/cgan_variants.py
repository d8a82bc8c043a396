"""Train the reference task with several objective/discriminator settings for the same number of
steps and compare condition accuracy and judge Fréchet distance.

    python benchmarks/cgan_variants.py --steps 800 --out benchmarks/out/cgan_variants

Writes ``results.json`` and ``results.md`` (a table) into ``--out``; each variant's run directory
(with samples) is kept there too. The numbers in docs/benchmarks.md come from this script.
"""

from __future__ import annotations

import argparse
import json
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
}


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cgp", *args], capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=800, help="generator steps per variant")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/cgan_variants"))
    parser.add_argument("--only", nargs="*", help="substrings of variant names to run")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="extra override for every variant")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for index, (name, overrides) in enumerate(VARIANTS.items()):
        if opts.only and not any(s in name for s in opts.only):
            continue
        run_dir = opts.out / f"variant{index}"
        sets = [
            f"trainer.steps={opts.steps}",
            "trainer.progress=off",
            "trainer.sample_every=500",
            "trainer.checkpoint_every=0",
            *overrides,
            *opts.extra,
        ]
        args = ["train", "--plugin", "cgan", "--run-dir", str(run_dir)]
        for item in sets:
            args += ["--set", item]
        if run_dir.exists():
            subprocess.run(["rm", "-rf", str(run_dir)], check=True)
        t0 = time.time()
        trained = run(args)
        if trained.returncode != 0:
            raise SystemExit(f"{name}: training failed:\n{trained.stderr[-2000:]}")
        evaluated = run(["evaluate", str(run_dir), "--json"])
        if evaluated.returncode != 0:
            raise SystemExit(f"{name}: evaluation failed:\n{evaluated.stderr[-2000:]}")
        metrics = json.loads(evaluated.stdout)
        step = json.loads((run_dir / "eval" / "test.json").read_text())["step"]
        results[name] = {"steps": step, "seconds": round(time.time() - t0, 1), "overrides": overrides, **metrics}
        print(f"{name}: {results[name]}", flush=True)
    (opts.out / "results.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| variant | steps | condition accuracy | judge on real (ceiling) | chance | judge Fréchet distance |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['steps']} | {r['condition_accuracy']:.3f} | {r['condition_accuracy_real']:.3f} | "
            f"{r['condition_accuracy_chance']:.3f} | {r['judge_frechet_distance']:.1f} |"
        )
    (opts.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
