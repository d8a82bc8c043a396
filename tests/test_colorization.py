"""pix2pix's colourisation mode: Lab conversion, the auto switch, and the rebuilt outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_pix2pix import TINY as PIX2PIX_TINY

from cgp.core.config import resolve_config
from cgp.core.plugins import load_plugins
from cgp.datasets.colorspace import is_gray, join_lab, lab_to_rgb, rgb_to_lab, split_lab
from cgp.plugins.image2image.pix2pix import Pix2PixConfig
from conftest import cgp_subprocess, sets
from test_resume import assert_resume_is_bit_identical

TINY = [*PIX2PIX_TINY, "data.load_size=36", "data.crop_size=32"]


def _task(*overrides: str):
    host = load_plugins()
    config = resolve_config(Pix2PixConfig, "pix2pix", overrides=[*TINY, *overrides])
    return host.task("pix2pix")(config, host)


def test_lab_round_trip_is_exact() -> None:
    torch.manual_seed(0)
    rgb = torch.rand(3, 3, 24, 24)
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4
    assert lab_to_rgb(rgb_to_lab(rgb.double())).sub(rgb.double()).abs().max() < 1e-10


def test_lab_matches_the_reference_values() -> None:
    """sRGB primaries and white under D65 (the published CIE L*a*b* values, to 0.1)."""
    colours = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0.5, 0.5, 0.5]]).T[:, :, None]
    lab = rgb_to_lab(colours)[:, :, 0].T
    expected = torch.tensor(
        [[53.24, 80.09, 67.20], [87.73, -86.18, 83.18], [32.30, 79.19, -107.86], [100, 0, 0], [53.39, 0, 0]]
    )
    assert (lab - expected).abs().max() < 0.1


def test_gray_has_no_colour_and_keeps_its_lightness() -> None:
    gray = torch.rand(2, 1, 8, 8) * 2 - 1
    light, ab = split_lab(gray)
    assert ab.abs().max() < 1e-6
    assert (join_lab(light, ab) - gray.expand(2, 3, 8, 8)).abs().max() < 1e-4
    assert is_gray(gray) and is_gray(gray.expand(2, 3, 8, 8)) and not is_gray(torch.rand(3, 8, 8) * 2 - 1)


def _folder(root: Path, gray_inputs: bool) -> Path:
    """Pairs of smooth colour images; A is their grayscale (stored as one-channel PNG) or the colour image."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:40] / 40.0
    for split, n in (("train", 8), ("test", 2)):
        for i in range(n):
            c0, c1 = rng.random(3), rng.random(3)
            b = ((c0[None, None] * xx[..., None] + c1[None, None] * yy[..., None]) / 2 * 255).astype(np.uint8)
            a = Image.fromarray(b).convert("L") if gray_inputs else Image.fromarray(b[..., ::-1].copy())
            for side, image in (("A", a), ("B", Image.fromarray(b))):
                (root / split / side).mkdir(parents=True, exist_ok=True)
                image.save(root / split / side / f"{i}.png")
    return root


def test_gray_to_colour_folders_train_in_lab_and_say_so(tmp_path: Path) -> None:
    root = _folder(tmp_path / "data", gray_inputs=True)
    run = tmp_path / "run"
    trained = cgp_subprocess(
        "train", "--plugin", "pix2pix", "--run-dir", str(run), *sets(*TINY, "trainer.steps=2", f"data.root={root}")
    )
    assert trained.returncode == 0, trained.stderr
    assert "colourisation mode" in trained.stderr
    assert json.loads((run / "colorspace.json").read_text()) == "lab"
    evaluated = cgp_subprocess("evaluate", str(run), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert {"psnr", "psnr_input", "ssim", "ssim_input"} <= metrics.keys()
    # the gray baseline is the target's own lightness without colour: far from the colour targets
    assert metrics["psnr_input"] < 30

    # generate works from the run alone (data folder gone), at the input's full size, keeping its L
    probe = tmp_path / "probe.png"
    Image.open(root / "test" / "A" / "0.png").resize((44, 30)).save(probe)
    for path in root.rglob("*.png"):
        path.unlink()
    out = tmp_path / "out.png"
    generated = cgp_subprocess("generate", str(run), str(probe), "--output", str(out))
    assert generated.returncode == 0, generated.stderr
    image = np.asarray(Image.open(out))
    assert image.shape == (30, 44, 3)
    light_in = rgb_to_lab(torch.from_numpy(np.array(Image.open(probe).convert("RGB"))).permute(2, 0, 1) / 255.0)[0]
    light_out = rgb_to_lab(torch.from_numpy(image.copy()).permute(2, 0, 1) / 255.0)[0]
    assert (light_in - light_out).abs().mean() < 1.0  # L* in [0, 100]; 8-bit rounding and gamut clipping

    (run / "colorspace.json").write_text('"cmyk"')
    damaged = cgp_subprocess("evaluate", str(run))
    assert damaged.returncode != 0
    assert "colorspace.json" in damaged.stderr and len(damaged.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("gray_inputs", "setting", "expected"),
    [(True, "auto", "lab"), (False, "auto", "rgb"), (True, "rgb", "rgb"), (False, "lab", "lab")],
)
def test_the_colour_space_is_resolved_once_and_kept_in_the_run(
    tmp_path: Path, gray_inputs: bool, setting: str, expected: str
) -> None:
    root = _folder(tmp_path / "data", gray_inputs)
    run = tmp_path / "run"
    run.mkdir()
    task = _task(f"data.root={root}", f"data.colorspace={setting}")
    task.setup(run, train=True)
    assert json.loads((run / "colorspace.json").read_text()) == expected
    models = task.build_models()
    assert models.generator.net(torch.zeros(1, 1 if expected == "lab" else 3, 32, 32)).shape[1] == (
        2 if expected == "lab" else 3
    )
    item = task.build_dataset("test")[0]
    assert item["cond"].shape[0] == (1 if expected == "lab" else 3)
    # evaluation and generation read the stored answer, whatever the data says now
    (root / "train").rename(tmp_path / "elsewhere")
    later = _task(f"data.root={root}", "data.colorspace=auto")
    later.setup(run, train=False)
    assert later.colorspace == expected


def test_the_built_in_pairs_stay_rgb(tmp_path: Path) -> None:
    task = _task()
    task.setup(tmp_path, train=True)
    assert task.colorspace == "rgb"


@pytest.mark.parametrize(
    ("colorspace", "setting", "g_terms", "d_terms"),
    [
        ("lab", "regression", {"l2"}, set()),
        ("lab", "as_set", {"g_adv", "l1"}, {"d_real", "d_fake"}),
        ("rgb", "regression", {"g_adv", "l1"}, {"d_real", "d_fake"}),
    ],
)
def test_the_colourisation_mode_trains_an_l2_regression_unless_told_otherwise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, colorspace: str, setting: str, g_terms: set, d_terms: set
) -> None:
    root = _folder(tmp_path / "data", gray_inputs=True)
    task = _task(f"data.root={root}", f"data.colorspace={colorspace}", f"objective.colorization={setting}")
    (tmp_path / "run").mkdir()
    task.setup(tmp_path / "run", train=True)
    models = task.build_models()
    with caplog.at_level("WARNING"):
        objective = task.build_objective(models)
    assert ("no GAN term" in caplog.text) == (g_terms == {"l2"})
    channels = (1, 2) if colorspace == "lab" else (3, 3)
    batch = {"cond": torch.rand(2, channels[0], 32, 32), "x": torch.rand(2, channels[1], 32, 32)}
    generated = objective.generate(batch)
    assert set(objective.generator_terms(batch, generated)) == g_terms
    assert set(objective.discriminator_terms(batch, generated)) == d_terms
    assert task.config.objective.terms == {"l1": 100.0}  # the section as written is left as it was


def test_the_colourisation_mode_with_its_l2_objective_resumes_bit_identically(tmp_path: Path) -> None:
    root = _folder(tmp_path / "data", gray_inputs=True)
    common = sets(*TINY, "trainer.steps=4", f"data.root={root}", "eval.metrics=[]")
    straight = assert_resume_is_bit_identical("pix2pix", common, tmp_path / "runs", steps=4, stop=2)
    assert json.loads((straight / "colorspace.json").read_text()) == "lab"
    rows = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert rows and all("l2" in row and "d_loss" not in row for row in rows)
