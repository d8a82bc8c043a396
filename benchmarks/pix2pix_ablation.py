"""pix2pix's Table 1 and Table 2 on the built-in procedural pairs, for the same CPU budget.

    python benchmarks/pix2pix_ablation.py --minutes 10 --out benchmarks/out/pix2pix_ablation
    python benchmarks/pix2pix_ablation.py --minutes 10 --study receptive_field --out benchmarks/out/pix2pix_rf
    python benchmarks/pix2pix_ablation.py --steps 3000 --seeds 0 1 2 --jobs 6 --set trainer.device=cuda

``--study objective`` (Isola et al. 2017, Table 1): L1 only, cGAN only, L1 + GAN (unconditional
D), L1 + cGAN. ``--study receptive_field`` (Table 2): PatchGAN receptive fields 1, 16, 70 and the
whole image, all with L1 + cGAN. Each run trains for ``--minutes`` of wall-clock time
(``trainer.max_minutes``) or for ``--steps`` steps, and reports L1, PSNR, SSIM and sharpness on the
test split; sample grids are in each run directory's ``samples/``. ``--study precision`` trains the
task's defaults in fp32 and under bf16 autocast with channels-last tensors (the step-speed switches of
``pix2pix_step_speed.py``), to see whether the faster step keeps the quality.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runs import run_variants, table

STUDIES: dict[str, dict[str, list[str]]] = {
    "objective": {
        "L1 only": ["objective.gan_weight=0"],
        "cGAN only": ["objective.terms={}"],
        "L1 + GAN (unconditional D)": ["model.conditional_discriminator=false"],
        "L1 + cGAN": [],
    },
    "receptive_field": {
        "PixelGAN (1x1)": ["model.receptive_field=pixel"],
        "PatchGAN 16x16": ["model.receptive_field=16"],
        "PatchGAN 70x70": ["model.receptive_field=70"],
        "ImageGAN (whole image)": ["model.receptive_field=image"],
    },
    "precision": {
        "fp32": ["trainer.precision=fp32", "trainer.channels_last=false"],
        "bf16 autocast, channels-last": ["trainer.precision=bf16", "trainer.channels_last=true"],
    },
}

COLUMNS = [
    ("L1", "l1", 4),
    ("PSNR (dB)", "psnr", 2),
    ("SSIM", "ssim", 3),
    ("sharpness", "sharpness", 3),
    ("PSNR of the input (baseline)", "psnr_input", 2),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", choices=sorted(STUDIES), default="objective")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock training budget per run")
    parser.add_argument("--steps", type=int, help="a fixed step budget per run instead of --minutes")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (only with --steps: a GPU, say)")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="override for every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/pix2pix_ablation"))
    parser.add_argument("--only", nargs="*", help="substrings of variant names to run")
    opts = parser.parse_args()
    if opts.jobs > 1 and opts.steps is None:
        parser.error("--jobs needs --steps: runs sharing a wall-clock budget would share the machine too")
    budget = (
        [f"trainer.steps={opts.steps}"]
        if opts.steps
        else [f"trainer.max_minutes={opts.minutes}", "trainer.steps=1000000"]
    )
    common = [*budget, "trainer.checkpoint_every=0", "trainer.sample_every=0", *opts.extra]
    results = run_variants("pix2pix", STUDIES[opts.study], common, opts.seeds, opts.out, opts.only, opts.jobs)
    text = table(results, COLUMNS)
    (opts.out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
