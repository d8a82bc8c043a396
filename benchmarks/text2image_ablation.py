"""The lecture's claims about text-to-image GANs as one table, on the built-in captioned shapes.

    python benchmarks/text2image_ablation.py --steps 1000 --seeds 0 1 --reuse --out benchmarks/out/t2i_ablation
    python benchmarks/text2image_ablation.py --steps 3000 --seeds 0 1 2 --jobs 7 --set trainer.device=cuda
    python benchmarks/text2image_ablation.py --steps 3000 --set data.root=benchmarks/out/fonts \
        --only "no GAN" "(default)" --out benchmarks/out/t2i_fonts

Every variant trains for the same number of steps from the task's defaults and changes only what
its row names. The first rows test the lecture's claims on the adversarial game alone (the DAMSM
term off, so that everything the generator learns of the text comes through D): supervised
regression from the text (no GAN: L1 to the real image, the blurry average), a cGAN whose
discriminator ignores the text, the matching-aware joint discriminator, the split discriminator
(realism head + match head), the joint one without mismatched negatives, MA-GP with the hinge loss
(DF-GAN's recipe), StackGAN's stage II at 64 px (scored on its 64-px output), and StackGAN's view of
the text in D (the generator side's μ instead of the sentence vector). The last rows add the DAMSM
term: the default, and the default with a D that ignores the text. Reported: caption-match accuracy
of the attribute judge (and the real images' ceiling), diversity, sharpness, the judge-feature
Fréchet distance and R-precision. On a captioned folder (``--set data.root=DIR``, no attribute
labels) the table keeps the columns it has: R-precision, the matcher-feature Fréchet distance,
diversity, sharpness.
"""

from __future__ import annotations

from runs import run_study, study_parser, table

KL = "kl: 0.015625"
GAN_ONLY = f"objective.terms={{{KL}}}"  # the default's terms without DAMSM
IGNORES_TEXT = ["model.conditional_discriminator=false", "objective.mismatch_negative=false"]
VARIANTS: dict[str, list[str]] = {
    "regression from text (no GAN)": ["objective.gan_weight=0", f"objective.terms={{l1: 1.0, {KL}}}"],
    "cGAN, D ignores the text": [*IGNORES_TEXT, GAN_ONLY],
    "matching-aware, joint D": [GAN_ONLY],
    "matching-aware, split D": ["objective.heads=split", GAN_ONLY],
    "joint D, no mismatched negatives": ["objective.mismatch_negative=false", GAN_ONLY],
    "joint D + MA-GP, hinge": ["objective.adversarial=hinge", f"objective.terms={{{KL}, ma_gp: 2.0}}"],
    "joint D + StackGAN stage II (64 px)": ["model.stage_two=true", GAN_ONLY],
    "joint D reading μ (StackGAN's D input)": ["model.discriminator_text=code", GAN_ONLY],
    "joint D + DAMSM (default)": [],
    "D ignores the text + DAMSM": IGNORES_TEXT,
}

COLUMNS = [
    ("match acc.", "match_accuracy", 3),
    ("match acc. of real", "match_accuracy_real", 3),
    ("colour", "match_accuracy_colour", 3),
    ("position", "match_accuracy_position", 3),
    ("shape", "match_accuracy_shape", 3),
    ("diversity", "diversity", 3),
    ("sharpness", "sharpness", 3),
    ("Fréchet (judge)", "frechet_judge", 2),
    ("R-precision", "r_precision", 3),
    ("R-precision of real", "r_precision_real", 3),
    ("Fréchet (matcher)", "frechet_matcher", 2),
    ("seconds (train + eval)", "seconds", 0),
]


def main() -> None:
    opts = study_parser(__doc__, 1500, "benchmarks/out/t2i_ablation").parse_args()
    results = run_study("text2image", VARIANTS, opts)
    print(table(results, [c for c in COLUMNS if all(c[1] in r for r in results.values())]))


if __name__ == "__main__":
    main()
