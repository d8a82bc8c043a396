"""The reference task on real images: class-conditional Fashion-MNIST.

    python benchmarks/cgan_fashion_mnist.py --out benchmarks/out/cgan_fmnist
    python benchmarks/cgan_fashion_mnist.py --seeds 0 1 2 --only "(default)" --out benchmarks/out/cgan_fmnist

Fashion-MNIST (Xiao et al. 2017: 60,000 training and 10,000 test 28x28 grayscale photographs of
Zalando articles in ten classes) is read from Debian's ``dataset-fashion-mnist`` package (IDX files)
and written once into the class-folder layout the ``cgan`` task reads (``ROOT/{train,test}/<class>/``),
so the task trains on it as on any user folder (``--set data.root=ROOT``; images resized to 32 px).

Every run trains for the same number of steps from the task's defaults and changes only what its
row names; ``cgp evaluate`` then scores it with the run's judge, a classifier trained on the real
training images: condition accuracy of generated images (and the judge's accuracy on the real test
images, the ceiling), and the judge-feature Fréchet distance. The unconditional row (a D that
ignores the label) is the baseline a class-conditional model has to beat.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cgp.datasets.idx import read_idx, write_class_folders
from runs import run_variants, table

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
FILES = {"train": "train", "test": "t10k"}

VARIANTS: dict[str, list[str]] = {
    "(default)": [],
    "unconditional D (baseline)": ["model.conditional_discriminator=false", "objective.mismatch_negative=false"],
}

COLUMNS = [
    ("condition accuracy", "condition_accuracy", 3),
    ("judge on real (ceiling)", "condition_accuracy_real", 3),
    ("chance", "condition_accuracy_chance", 3),
    ("judge Fréchet distance", "judge_frechet_distance", 1),
    ("seconds (train + eval)", "seconds", 0),
]


def build(source: Path, root: Path) -> None:
    """The IDX files as class folders under ``root`` (skipped when ``root`` exists)."""
    if root.is_dir():
        return
    for split, stem in FILES.items():
        images = read_idx(source / f"{stem}-images-idx3-ubyte.gz")
        labels = read_idx(source / f"{stem}-labels-idx1-ubyte.gz")
        written = write_class_folders(images, labels, CLASSES, root / split)
        print(f"{split}: {written} images", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=FASHION_MNIST, help="folder of the four IDX files")
    parser.add_argument("--steps", type=int, default=4000, help="generator steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/cgan_fmnist"))
    parser.add_argument("--only", nargs="*", help="substrings of variant names to run")
    parser.add_argument("--reuse", action="store_true", help="keep finished runs with the same settings")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="a setting for every run")
    opts = parser.parse_args()
    root = (opts.out / "classes").resolve()
    build(opts.source, root)
    common = [f"data.root={root}", f"trainer.steps={opts.steps}", "trainer.checkpoint_every=0", *opts.extra]
    results = run_variants("cgan", VARIANTS, common, opts.seeds, opts.out / "runs", opts.only, reuse=opts.reuse)
    text = table(results, COLUMNS)
    (opts.out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
