"""The pix2pix task end to end on tiny settings: built-in data, user folders in both paired
layouts, the ablation flags, the reference networks, generation at any size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from cgp.core.checkpoint import find_last
from cgp.core.config import resolve_config
from cgp.core.errors import ConfigError
from cgp.core.plugins import load_plugins
from cgp.core.seeding import seed_everything
from cgp.plugins.image2image.pix2pix import Pix2PixConfig
from conftest import cgp_subprocess, run_cli, sets

TINY = [
    "model.generator=unet_32",
    "model.generator_width=8",
    "model.discriminator_width=8",
    "trainer.batch_size=4",
    "trainer.log_every=2",
    "trainer.progress=off",
    "trainer.device=cpu",
    "eval.num_samples=2",
]


def _task(*overrides: str):
    host = load_plugins()
    config = resolve_config(Pix2PixConfig, "pix2pix", overrides=list(overrides))
    return host.task("pix2pix")(config, host)


def test_reference_networks_have_the_reference_parameter_counts() -> None:
    task = _task(
        "model.generator=unet_256", "model.generator_width=64", "model.discriminator_width=64", "data.image_size=256"
    )
    models = task.build_models()
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(models.generator) == 54_413_955
    assert count(models.discriminator) == 2_768_705


@pytest.mark.parametrize(
    ("overrides", "d_in", "g_terms"),
    [
        ([], 6, {"g_adv", "l1"}),
        (["objective.gan_weight=0"], 6, {"l1"}),
        (["objective.terms={}"], 6, {"g_adv"}),
        (["model.conditional_discriminator=false"], 3, {"g_adv", "l1"}),
    ],
    ids=["L1+cGAN", "L1", "cGAN", "L1+GAN"],
)
def test_ablation_is_one_flag(overrides: list[str], d_in: int, g_terms: set[str]) -> None:
    task = _task(*TINY, *overrides)
    models = task.build_models()
    first_conv = next(m for m in models.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == d_in
    objective = task.build_objective(models)
    batch = {"x": torch.rand(2, 3, 64, 64) * 2 - 1, "cond": torch.rand(2, 3, 64, 64) * 2 - 1}
    generated = objective.generate(batch)
    assert set(objective.generator_terms(batch, generated)) == g_terms
    judged = "objective.gan_weight=0" not in overrides  # with no GAN term nothing reads a discriminator
    assert set(objective.discriminator_terms(batch, generated)) == ({"d_real", "d_fake"} if judged else set())


def test_regression_only_training_leaves_the_discriminator_untouched(tmp_path: Path) -> None:
    """``objective.gan_weight=0``: the discriminator keeps its initial weights and no d_loss is logged."""
    settings = [*TINY, "trainer.steps=3", "data.train_size=8", "objective.gan_weight=0", "eval.metrics=[]"]
    result = run_cli("train", "--plugin", "pix2pix", "--run-dir", str(tmp_path / "run"), *sets(*settings))
    assert result.exit_code == 0, result.output
    trained = load_file(str(find_last(tmp_path / "run" / "checkpoints") / "models.safetensors"))
    task = _task(*settings)
    seed_everything(task.config.trainer.seed)  # as the trainer does before building the models
    fresh = {k: v for k, v in task.build_models().state_dict().items() if k.startswith("discriminators.")}
    assert fresh and all(torch.equal(trained[k], v) for k, v in fresh.items())
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows and all("d_loss" not in row and "l1" in row for row in rows)


def test_default_gan_loss_is_least_squares_and_bce_is_one_flag() -> None:
    """The generator's adversarial term is (D(G(x)) - 1)^2 by default and the paper's BCE with one flag."""
    batch = {"x": torch.rand(2, 3, 64, 64) * 2 - 1, "cond": torch.rand(2, 3, 64, 64) * 2 - 1}
    for overrides, expected in (((), lambda s: (s - 1).pow(2).mean()), (("objective.adversarial=bce",), None)):
        task = _task(*TINY, *overrides)
        models = task.build_models()
        objective = task.build_objective(models)
        generated = objective.generate(batch)
        scores = models.discriminator(generated.fake, generated.d_cond)
        g_adv = objective.generator_terms(batch, generated)["g_adv"]
        want = expected(scores) if expected else torch.nn.functional.softplus(-scores).mean()
        assert torch.allclose(g_adv, want), overrides


def test_train_on_builtin_data_then_evaluate_and_generate(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        "train", "--plugin", "pix2pix", "--run-dir", str(run_dir), *sets(*TINY, "trainer.steps=4", "data.train_size=16")
    )
    assert result.exit_code == 0, result.output
    evaluated = json.loads(run_cli("evaluate", str(run_dir), "--json").output.strip().splitlines()[-1])
    for key in ("l1", "psnr", "ssim", "sharpness", "l1_input", "psnr_input", "ssim_input", "sharpness_input"):
        assert isinstance(evaluated[key], float)
    assert evaluated["ssim_input"] < 1.0
    # any size: 50x37 is padded to a multiple of 32 and cropped back
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (37, 50, 3), dtype=np.uint8)).save(tmp_path / "odd.png")
    proc = cgp_subprocess("generate", str(run_dir), str(tmp_path / "odd.png"), "--output", str(tmp_path / "out.png"))
    assert proc.returncode == 0, proc.stderr
    assert "padded 50x37 to 64x64" in proc.stderr
    assert Image.open(tmp_path / "out.png").size == (50, 37)


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.mark.parametrize("layout", ["aligned", "folders"])
def test_train_on_user_folders(tmp_path: Path, layout: str) -> None:
    rng = np.random.default_rng(1)
    root = tmp_path / "data"
    for split, n in (("train", 6), ("test", 2)):
        for i in range(n):
            a = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
            b = 255 - a
            if layout == "aligned":
                _write(root / split / f"{i}.jpg", np.concatenate([a, b], axis=1))
            else:
                _write(root / split / "A" / f"{i}.png", a)
                _write(root / split / "B" / f"{i}.jpg", b)
    result = run_cli(
        "train",
        "--plugin",
        "pix2pix",
        "--run-dir",
        str(tmp_path / "run"),
        *sets(*TINY, "trainer.steps=2", f"data.root={root}", "data.load_size=36", "data.crop_size=32"),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "samples" / "step_00000002.png").is_file()


def test_crop_not_a_multiple_of_the_unet_stride_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="multiple of 32"):
        _task(*TINY, "data.image_size=48").build_models()


def _black_pairs(root: Path) -> Path:
    """ROOT/{train,test}/{A,B}/ with four 40x40 black pairs each."""
    for split in ("train", "test"):
        for i in range(4):
            _write(root / split / "A" / f"{i}.png", np.zeros((40, 40, 3), dtype=np.uint8))
            _write(root / split / "B" / f"{i}.png", np.zeros((40, 40, 3), dtype=np.uint8))
    return root


def test_corrupt_user_image_names_the_file(tmp_path: Path) -> None:
    root = _black_pairs(tmp_path / "data")
    (root / "train" / "B" / "2.png").write_bytes(b"not an image at all")
    proc = cgp_subprocess(
        "train",
        "--plugin",
        "pix2pix",
        "--run-dir",
        str(tmp_path / "run"),
        *sets(*TINY, "trainer.steps=2", f"data.root={root}", "data.load_size=36", "data.crop_size=32"),
    )
    assert proc.returncode == 2
    assert "2.png" in proc.stderr and "corrupt" in proc.stderr


def test_error_in_a_loader_worker_is_still_one_line(tmp_path: Path) -> None:
    root = _black_pairs(tmp_path / "data")
    (root / "train" / "A" / "1.png").write_bytes(b"\x89PNG broken")
    proc = cgp_subprocess(
        "train",
        "--plugin",
        "pix2pix",
        "--run-dir",
        str(tmp_path / "run"),
        *sets(
            *TINY,
            "trainer.steps=2",
            f"data.root={root}",
            "data.load_size=36",
            "data.crop_size=32",
            "data.num_workers=1",
        ),
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("cgp: error:")]
    assert len(errors) == 1 and "1.png" in errors[0] and "Traceback" not in proc.stderr


def test_residual_output_adds_a_correction_to_the_input() -> None:
    task = _task("model.residual=true", "model.generator=unet_32", "model.generator_width=8")
    generator = task.build_models().generator.eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    correction = generator.net(x)
    assert torch.equal(generator(x), (x + correction).clamp(-1, 1))
    assert not torch.equal(generator(x), correction)
    with pytest.raises(ConfigError, match="model.residual"):
        _task("model.residual=true", "data.input_channels=1").build_models()


def _restoration_folder(root: Path, noisy_copies: bool) -> Path:
    """Smooth colour images as targets; A is the target with mild noise, or an unrelated image."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:40, 0:40] / 40.0
    for split, n in (("train", 8), ("test", 2)):
        for i in range(n):
            c0, c1 = rng.random(3), rng.random(3)
            b = (c0[None, None] * xx[..., None] + c1[None, None] * (1 - yy[..., None])) * 0.5 + 0.25
            a = b + rng.normal(0, 0.04, b.shape) if noisy_copies else rng.random(3)[None, None] * (xx > 0.5)[..., None]
            _write(root / split / "A" / f"{i}.png", (np.clip(a, 0, 1) * 255).astype(np.uint8))
            _write(root / split / "B" / f"{i}.png", (b * 255).astype(np.uint8))
    return root


@pytest.mark.parametrize(
    ("noisy_copies", "setting", "expected"),
    [(True, "auto", True), (False, "auto", False), (True, "false", False), (False, "true", True)],
)
def test_residual_output_is_resolved_once_and_kept_in_the_run(
    tmp_path: Path, noisy_copies: bool, setting: str, expected: bool
) -> None:
    root = _restoration_folder(tmp_path / "data", noisy_copies)
    run = tmp_path / "run"
    run.mkdir()
    task = _task(*TINY, f"data.root={root}", "data.load_size=36", "data.crop_size=32", f"model.residual={setting}")
    task.setup(run, train=True)
    assert json.loads((run / "residual.json").read_text()) is expected
    assert task.build_models().generator.residual is expected
    # evaluation and generation read the stored answer, whatever the data says now
    (root / "train").rename(tmp_path / "elsewhere")
    later = _task(*TINY, f"data.root={root}", "model.residual=auto")
    later.setup(run, train=False)
    assert later.build_models().generator.residual is expected


def test_restoration_folders_train_with_a_residual_output_and_say_so(tmp_path: Path) -> None:
    root = _restoration_folder(tmp_path / "data", noisy_copies=True)
    run = tmp_path / "run"
    args = sets(*TINY, "trainer.steps=2", f"data.root={root}", "data.load_size=36", "data.crop_size=32")
    trained = cgp_subprocess("train", "--plugin", "pix2pix", "--run-dir", str(run), *args)
    assert trained.returncode == 0, trained.stderr
    assert "predicts a correction to its input" in trained.stderr
    assert json.loads((run / "residual.json").read_text()) is True
    (run / "residual.json").write_text('"yes"')
    damaged = cgp_subprocess("evaluate", str(run))
    assert damaged.returncode != 0
    assert "residual.json" in damaged.stderr and len(damaged.stderr.strip().splitlines()) == 1


def test_the_built_in_pairs_and_cyclegan_have_no_residual_output(tmp_path: Path) -> None:
    task = _task(*TINY)
    task.setup(tmp_path, train=True)
    assert task.build_models().generator.residual is False
    host = load_plugins()
    cyclegan = host.task("cyclegan")
    config = resolve_config(cyclegan.config_model, "cyclegan", overrides=["model.generator_width=8"])
    assert not any(g.residual for g in cyclegan(config, host).build_models().generators.values())
