"""Train the reference task with several objective/discriminator settings for the same number of
steps and compare condition accuracy and judge Fréchet distance.

    python benchmarks/cgan_variants.py --steps 800 --seeds 0 1 2 --out benchmarks/out/cgan_variants

Writes ``results.json`` and ``results.md`` (a table, mean ± standard deviation over seeds) into
``--out``; each run directory (with samples) is kept there too. The numbers in
docs/benchmarks.md come from this script.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runs import run_variants, table

VARIANTS: dict[str, list[str]] = {
    "bce, projection D (joint), mismatch negatives": [],  # the defaults: widths 32, Adam 4e-4, EMA of G, CBN + concat
    "the label joins z only (G's conditioning until 2026-12-03)": ["model.generator_conditioning=concat"],
    "the label drives conditional batch norm only": ["model.generator_conditioning=cbn"],
    "the defaults before 2026-12-03 (widths 64, Adam 2e-4, no EMA)": [
        "model.generator_width=64",
        "model.discriminator_width=64",
        "optim.generator.lr=0.0002",
        "optim.discriminator.lr=0.0002",
        "trainer.ema.enabled=false",
    ],
    "projection D + auxiliary classifier (ACGAN's terms)": ["model.auxiliary_classifier=true"],
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
    # the SNGAN / SAGAN / BigGAN switches, added to the hinge loss one group at a time
    "hinge + conditional batch norm in G": ["objective.adversarial=hinge", "model.generator_conditioning=cbn"],
    "hinge + CBN and concat + spectral norm in G": [
        "objective.adversarial=hinge",
        "model.generator_conditioning=both",
        "model.generator_norm=spectral",
    ],
    "hinge + CBN and concat + SN in G + self-attention 16 + orthogonal init": [
        "objective.adversarial=hinge",
        "model.generator_conditioning=both",
        "model.generator_norm=spectral",
        "model.attention=16",
        "model.init=orthogonal",
    ],
    # two switches against a class drawn one way for every z (2026-12-04)
    "bce, projection D, mode seeking 0.3 (MSGAN)": ["objective.terms={mode_seeking: 0.3}"],
    "bce, projection D at two scales (pix2pixHD)": ["model.discriminator_scales=2"],
    # the default EMA of G's weights (BigGAN, StyleGAN), which evaluation and samples use, switched off
    "bce, projection D, no EMA of G": ["trainer.ema.enabled=false"],
}

COLUMNS = [
    ("condition accuracy", "condition_accuracy", 3),
    ("judge on real (ceiling)", "condition_accuracy_real", 3),
    ("chance", "condition_accuracy_chance", 3),
    ("judge Fréchet distance", "judge_frechet_distance", 1),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=800, help="generator steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="trainer.seed values (one run each)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/cgan_variants"))
    parser.add_argument("--only", nargs="*", help="substrings of variant names to run")
    opts = parser.parse_args()
    common = [f"trainer.steps={opts.steps}", "trainer.sample_every=500", "trainer.checkpoint_every=0"]
    results = run_variants("cgan", VARIANTS, common, opts.seeds, opts.out, opts.only)
    text = table(results, COLUMNS)
    (opts.out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
