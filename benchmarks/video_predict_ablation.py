"""What each part of ``video_predict``'s objective buys, on the built-in bouncing shapes (or ``--set data.root``).

    python benchmarks/video_predict_ablation.py --steps 2000 --seeds 0 1 --out benchmarks/out/vp_ablation

Every row trains for the same number of steps from the task's defaults and changes only what its name
says: regression alone (ℓ2, and ℓ1 + the gradient difference loss, with no discriminator at all), then
Mathieu et al.'s adversarial + ℓ1 + GDL objective with the clip discriminator (the default), the per-frame
discriminator, both, and the clip discriminator that does not see the context frames; then the default
in fp32 instead of bf16 autocast, and with scheduled sampling instead of full rollouts. Reported on the
test split: PSNR and SSIM at t+1 and t+5 (a five-frame rollout from four context frames) and their
means, and the sharpness (the prediction's gradient energy over the truth's). Copy-last and linear
extrapolation are the same for every row and printed once.
"""

from __future__ import annotations

from runs import run_study, study_parser, table

NO_GAN = "model.discriminators=none"
VARIANTS: dict[str, list[str]] = {
    "ℓ2 only (no D)": [NO_GAN, "objective.terms={l2: 1.0}"],
    "ℓ1 + GDL (no D)": [NO_GAN],
    "adversarial + ℓ1 + GDL, clip D (default)": [],
    "adversarial + ℓ1 + GDL, frame D": ["model.discriminators=frame"],
    "adversarial + ℓ1 + GDL, clip + frame D": ["model.discriminators=both"],
    "adversarial + ℓ1 + GDL, clip D without the context": ["model.conditional_discriminator=false"],
    "default in fp32 (no bf16 autocast)": ["trainer.precision=fp32"],
    "default with scheduled sampling": ["model.rollout_training=scheduled"],
}

COLUMNS = [
    ("PSNR t+1", "psnr_t1", 2),
    ("PSNR t+5", "psnr_t5", 2),
    ("PSNR mean", "psnr", 2),
    ("SSIM t+1", "ssim_t1", 3),
    ("SSIM t+5", "ssim_t5", 3),
    ("SSIM mean", "ssim", 3),
    ("MSE mean", "mse", 1),
    ("sharpness t+1", "sharpness_t1", 2),
    ("sharpness mean", "sharpness", 2),
]
BASELINES = ["copy_last", "linear"]


def main() -> None:
    opts = study_parser(__doc__, 2000, "benchmarks/out/vp_ablation").parse_args()
    results = run_study("video_predict", VARIANTS, opts)
    text = table(results, COLUMNS)
    first = next(iter(results.values()))
    for baseline in BASELINES:
        text += f"\n{baseline}: " + ", ".join(
            f"{heading} {first[f'{key}_{baseline}'][0]:.{digits}f}" for heading, key, digits in COLUMNS
        )
    (opts.out / "results.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
