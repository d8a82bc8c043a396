"""CycleGAN: two generators and two discriminators trained by the generic trainer; the image pool
is checkpointed, so a killed and resumed run ends bit-identical."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from cgp.core.checkpoint import find_last, load_checkpoint
from cgp.plugins.image2image.cyclegan import ImagePool
from conftest import cgp_subprocess, fake_distribution, run_cli, sets
from test_resume import KILLER

TINY = [
    "model.generator=resnet_6blocks",
    "model.generator_width=4",
    "model.discriminator_width=4",
    "model.receptive_field=16",
    "data.image_size=32",
    "data.train_size=12",
    "trainer.batch_size=2",
    "trainer.log_every=2",
    "trainer.progress=off",
    "trainer.device=cpu",
    "objective.pool_size=3",
    "eval.num_samples=2",
]


def test_image_pool_fills_then_swaps_and_round_trips() -> None:
    torch.manual_seed(0)
    pool = ImagePool(3)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: images pass through
    later = torch.full((20, 1, 1, 1), 9.0)
    out = pool.query(later)
    assert (out != 9.0).any() and (out == 9.0).any()  # about half come from the pool
    copy = ImagePool(3)
    copy.load(pool.state(), torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(pool.images, copy.images))
    assert torch.equal(ImagePool(0).query(later), later)


def test_killed_and_resumed_cyclegan_is_bit_identical(tmp_path: Path) -> None:
    common = sets(*TINY, "trainer.steps=8", "trainer.checkpoint_every=4", "trainer.sample_every=0", "eval.metrics=[]")
    straight = cgp_subprocess("train", "--plugin", "cyclegan", "--run-dir", str(tmp_path / "a"), *common)
    assert straight.returncode == 0, straight.stderr
    site = fake_distribution(tmp_path / "site", "cgp-test-killer", "cgp_test_killer", KILLER, "killer")
    killed = cgp_subprocess(
        "train",
        "--plugin",
        "cyclegan",
        "--run-dir",
        str(tmp_path / "b"),
        *common,
        env={"PYTHONPATH": str(site), "CGP_TEST_KILL_AT_STEP": "4"},
    )
    assert killed.returncode == -signal.SIGKILL
    pools = load_checkpoint(find_last(tmp_path / "b" / "checkpoints")).tensors["objective"]
    assert pools["pool_a"].shape[0] == 3 and pools["pool_b"].shape[0] == 3
    resumed = cgp_subprocess("train", "--resume", "--run-dir", str(tmp_path / "b"))
    assert resumed.returncode == 0, resumed.stderr
    for name in ("models", "objective"):
        a = load_file(str(find_last(tmp_path / "a" / "checkpoints") / f"{name}.safetensors"))
        b = load_file(str(find_last(tmp_path / "b" / "checkpoints") / f"{name}.safetensors"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    weights = load_file(str(find_last(tmp_path / "a" / "checkpoints") / "models.safetensors"))
    assert {k.split(".")[1] for k in weights if k.startswith("generators.")} == {"a2b", "b2a"}
    assert {k.split(".")[1] for k in weights if k.startswith("discriminators.")} == {"a", "b"}


def test_unpaired_folders_train_evaluate_and_generate_both_directions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for folder, n in (("trainA", 5), ("trainB", 3), ("testA", 2), ("testB", 2)):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            suffix = ".png" if i % 2 else ".jpg"
            Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(root / folder / f"{i}{suffix}")
    run_dir = tmp_path / "run"
    result = run_cli(
        "train",
        "--plugin",
        "cyclegan",
        "--run-dir",
        str(run_dir),
        *sets(*TINY, "trainer.steps=2", f"data.root={root}", "data.load_size=36", "data.crop_size=32"),
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(run_cli("evaluate", str(run_dir), "--json").output.strip().splitlines()[-1])
    assert {"cycle_a_l1", "cycle_b_psnr"} <= set(metrics) and "a2b_psnr" not in metrics
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / f"{direction}.png"
        proc = cgp_subprocess(
            "generate", str(run_dir), str(root / "testA" / "0.jpg"), "--direction", direction, "--output", str(out)
        )
        assert proc.returncode == 0, proc.stderr
        assert Image.open(out).size == (36, 36)
    bad = cgp_subprocess(
        "generate",
        str(run_dir),
        str(root / "testA" / "0.jpg"),
        "--direction",
        "sideways",
        "--output",
        str(tmp_path / "x.png"),
    )
    assert bad.returncode == 2 and "--direction" in bad.stderr


def test_builtin_domains_report_translation_against_counterparts(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli("train", "--plugin", "cyclegan", "--run-dir", str(run_dir), *sets(*TINY, "trainer.steps=2"))
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evaluated = rows[-1]
    for key in ("eval/a2b_psnr", "eval/a2b_input_psnr", "eval/b2a_ssim", "eval/cycle_a_l1"):
        assert isinstance(evaluated[key], float)
    assert {"cycle_a", "cycle_b", "identity_a2b", "identity_b2a", "g_a2b_adv", "d_b_fake"} <= set(rows[0])
