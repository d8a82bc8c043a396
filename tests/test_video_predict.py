"""The video_predict task end to end: user videos and frame folders, baselines, discriminator pairs,
resume, generate, and the bad-file messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from cgp.datasets.bouncing_shapes import BouncingShapes
from cgp.datasets.video import decode_video, probe_video, write_video
from cgp.plugins.video_predict.evaluation import (
    copy_last,
    linear_extrapolation,
    score_rollouts,
    summarise,
)
from cgp.plugins.video_predict.models import FramePredictor
from conftest import cgp_subprocess, run_cli, sets

TINY = [
    "data.size=16",
    "data.context_frames=3",
    "data.predict_frames=2",
    "model.spatial_width=8",
    "model.temporal_width=16",
    "model.blocks=1",
    "model.discriminator_width=8",
    "model.clip_levels=2",
    "model.frame_receptive_field=16",
    "eval.rollout_frames=3",
    "eval.num_samples=2",
    "trainer.batch_size=4",
    "trainer.log_every=1",
    "trainer.progress=off",
    "trainer.device=cpu",
]


def video_folder(root: Path) -> Path:
    """ROOT/train: an mp4, a webm and a frame folder; ROOT/test: one mp4 (bouncing shapes, 16 frames each)."""
    shapes = BouncingShapes("train", 16, 32)
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    write_video(root / "train" / "a.mp4", shapes[0]["frames"])
    write_video(root / "train" / "b.webm", shapes[1]["frames"])
    frames = root / "train" / "c"
    frames.mkdir()
    for k, frame in enumerate(((shapes[2]["frames"] + 1) * 127.5).round().byte()):
        Image.fromarray(frame.permute(1, 2, 0).numpy()).save(frames / f"{k:03d}.png")
    write_video(root / "test" / "d.mp4", shapes[3]["frames"])
    return root


def test_user_videos_train_evaluate_and_generate(tmp_path: Path) -> None:
    data = video_folder(tmp_path / "data")
    run = tmp_path / "run"
    result = run_cli(
        "train",
        "--plugin",
        "video_predict",
        "--run-dir",
        str(run),
        *sets(*TINY, f"data.root={data}", "trainer.steps=3", "trainer.checkpoint_every=0", "model.discriminators=both"),
    )
    assert result.exit_code == 0, result.output
    log = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    assert {"clip/d_real", "frame/d_real", "clip/g_adv", "frame/g_adv", "l1", "gdl"} <= set(log)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_00000003.mp4", "step_00000003.png"]

    result = run_cli("evaluate", str(run), "--json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.output.strip().splitlines()[-1])
    values = values.get("metrics", values)
    for key in ("psnr_t1", "psnr_t3", "psnr_t1_copy_last", "psnr_t1_linear", "ssim", "mse_copy_last", "sharpness"):
        assert key in values, key

    out = tmp_path / "more.mp4"
    result = run_cli("generate", str(run), str(data / "test" / "d.mp4"), "--frames", "4", "--output", str(out))
    assert result.exit_code == 0, result.output
    info = probe_video(out)
    assert info.frames == 3 + 4  # the context, then the continuation
    compare = tmp_path / "compare.gif"
    result = run_cli(
        "generate", str(run), str(data / "train" / "c"), "--frames", "4", "--compare", "--output", str(compare)
    )
    assert result.exit_code == 0, result.output
    frames = decode_video(probe_video(compare), 48)
    assert probe_video(compare).frames == 3 + 4 and frames.shape[0] == 7
    result = cgp_subprocess(
        "generate",
        str(run),
        str(data / "test" / "d.mp4"),
        "--frames",
        "20",
        "--compare",
        "--output",
        str(tmp_path / "x.mp4"),
    )
    assert result.returncode != 0 and "d.mp4' has 16 frames" in result.stderr and "Traceback" not in result.stderr


def test_baselines_are_exact_where_they_should_be() -> None:
    constant = torch.full((2, 4, 3, 16, 16), 0.25)
    sums: dict[str, float] = {}
    score_rollouts({"_copy_last": copy_last(constant, 3)}, constant[:, :3], sums)
    still = summarise(sums, 2, 3, ["_copy_last"])
    assert still["mse_copy_last"] == 0 and still["psnr_t3_copy_last"] >= 99 and still["ssim_copy_last"] == 1

    ramp = torch.linspace(-0.9, 0.9, 7).view(1, 7, 1, 1, 1).expand(2, 7, 3, 16, 16)  # each pixel brightens evenly
    context, future = ramp[:, :4], ramp[:, 4:]
    assert torch.allclose(linear_extrapolation(context, 3), future, atol=1e-6)
    sums = {}
    score_rollouts({"_linear": linear_extrapolation(context, 3), "_copy_last": copy_last(context, 3)}, future, sums)
    moving = summarise(sums, 2, 3, ["_linear", "_copy_last"])
    assert moving["mse_linear"] < 1e-9 < moving["mse_copy_last"]
    assert moving["psnr_t1_copy_last"] > moving["psnr_t3_copy_last"]  # copying falls further behind each step
    assert torch.equal(
        linear_extrapolation(torch.stack([-torch.ones(1, 1, 16, 16), torch.ones(1, 1, 16, 16)], 1), 2),
        torch.ones(1, 2, 1, 16, 16),
    )  # clamped to the valid range


@pytest.mark.parametrize("predict_change", [True, False])
def test_rollout_feeds_each_prediction_back_as_the_step_by_step_loop_does(predict_change: bool) -> None:
    torch.manual_seed(0)
    model = FramePredictor(3, 4, 2, 8, 16, 2, 1, predict_change).eval()
    context = torch.rand(2, 6, 3, 16, 16) * 2 - 1  # longer than K: the last K frames are the window
    with torch.no_grad():
        rolled = model(context, frames=5)
        window, expected = context[:, -4:], []
        for _ in range(5):
            expected.append(model.step(window))
            window = torch.cat([window[:, 1:], expected[-1][:, None]], dim=1)
    assert rolled.shape == (2, 5, 3, 16, 16)
    assert torch.allclose(rolled, torch.stack(expected, 1), atol=1e-6)
    assert not torch.allclose(rolled[:, 0], rolled[:, 1])  # each step moves on from the last


def test_scheduled_sampling_feeds_true_frames_with_a_chance_that_falls_over_training() -> None:
    torch.manual_seed(0)
    model = FramePredictor(3, 4, 3, 8, 16, 2, 1, True, teacher_steps=50)
    context, future = torch.rand(2, 4, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 3, 16, 16) * 2 - 1
    model.set_progress(0, 100)
    assert model.teacher_chance == 1.0
    with torch.no_grad():
        taught = model(context, target=future)  # training mode, chance 1: teacher forcing
        clip = torch.cat([context, future], dim=1)
        expected = torch.stack([model.step(clip[:, s : s + 4]) for s in range(3)], dim=1)
        assert torch.allclose(taught, expected, atol=1e-6)
        model.eval()
        assert torch.equal(model(context, target=future), model(context))  # evaluation never peeks
    model.set_progress(25, 100)
    assert model.teacher_chance == 0.5
    model.set_progress(60, 100)
    assert model.teacher_chance == 0.0
    full = FramePredictor(3, 4, 3, 8, 16, 2, 1, True)
    full.set_progress(0, 100)
    assert full.teacher_chance == 0.0  # full rollout: no teacher frames at any step


def test_built_in_clips_train_and_resume_bit_identically(tmp_path: Path) -> None:
    from test_resume import assert_resume_is_bit_identical

    common = sets(
        *TINY, "data.train_size=16", "data.test_size=4", "model.discriminators=both",
        "model.rollout_training=scheduled", "model.teacher_steps=6",
        "trainer.steps=4", "trainer.checkpoint_every=2", "eval.metrics=[]",
    )  # fmt: skip
    assert_resume_is_bit_identical("video_predict", common, tmp_path, steps=4, stop=2)


def test_regression_only_model_trains_no_discriminator_and_resumes_bit_identically(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from test_resume import assert_resume_is_bit_identical

    common = sets(
        *TINY, "data.train_size=16", "data.test_size=4", "model.discriminators=none", "objective.terms={l2: 1.0}",
        "trainer.steps=4", "trainer.checkpoint_every=2", "eval.metrics=[]",
    )  # fmt: skip
    run = assert_resume_is_bit_identical("video_predict", common, tmp_path, steps=4, stop=2)
    weights = load_file(str(run / "checkpoints" / "step_00000004" / "models.safetensors"))
    assert weights and not [k for k in weights if k.startswith("discriminators.")]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert set(rows[-1]) == {"step", "time", "l2", "g_loss", "lr_g", "steps_per_sec", "sides"}
    assert rows[-1]["sides"] == {"d": [], "g": ["l2"]}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("audio", "no video stream"),
        ("junk", "not a readable video"),
        ("short", "fewer than one clip needs"),
    ],
)
def test_bad_files_stop_training_at_the_start_with_their_name(tmp_path: Path, bad: str, message: str) -> None:
    data = video_folder(tmp_path / "data")
    if bad == "audio":
        import av
        import numpy as np

        with av.open(str(data / "train" / "bad.mp4"), "w") as container:
            stream = container.add_stream("aac", rate=16000)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 2048), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 16000
            for packet in [*stream.encode(frame), *stream.encode()]:
                container.mux(packet)
    elif bad == "junk":
        (data / "train" / "bad.mp4").write_bytes(b"\x00\x01 not a video" * 50)
    else:
        write_video(data / "train" / "bad.mp4", BouncingShapes("test", 3, 16)[0]["frames"])
    result = cgp_subprocess(
        "train", "--plugin", "video_predict", "--run-dir", str(tmp_path / "r"), *sets(*TINY, f"data.root={data}")
    )
    assert result.returncode != 0 and "bad.mp4" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    skipped = cgp_subprocess(
        "train",
        "--plugin",
        "video_predict",
        "--run-dir",
        str(tmp_path / "s"),
        *sets(*TINY, f"data.root={data}", "data.skip_bad_files=true", "trainer.steps=1", "eval.metrics=[]"),
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "left out 1 of 4 sources" in skipped.stderr
