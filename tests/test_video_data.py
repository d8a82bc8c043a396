"""Video readers: PyAV decoding (whole files and seek windows), frame folders, bad files, the clip folder
and its cache, and the procedural bouncing shapes."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from cgp.core.errors import DataError
from cgp.datasets.bouncing_shapes import BouncingShapes, simulate
from cgp.datasets.video import decode_last, decode_video, probe_video, read_frame_folder, write_video
from cgp.datasets.video_clips import VideoClipFolder


def _u8(frames: torch.Tensor) -> torch.Tensor:
    return ((frames + 1) * 127.5).round().to(torch.uint8)


def _save_frames(folder: Path, frames: torch.Tensor) -> None:
    folder.mkdir(parents=True)
    for k, frame in enumerate(_u8(frames)):
        Image.fromarray(frame.permute(1, 2, 0).numpy()).save(folder / f"{k:04d}.png")


def test_bouncing_shapes_are_a_pure_function_of_split_and_index() -> None:
    clips = BouncingShapes("train", 8, 32)
    first = clips[3]["frames"]
    assert first.shape == (8, 3, 32, 32) and first.dtype == torch.float32
    assert float(first.min()) >= -1 and float(first.max()) <= 1
    assert torch.equal(first, BouncingShapes("train", 8, 32)[3]["frames"])
    assert not torch.equal(first, BouncingShapes("test", 8, 32)[3]["frames"])
    assert not torch.equal(first[0], first[-1])  # things move
    assert torch.equal(BouncingShapes("train", 4, 32)[3]["frames"], first[:4])  # longer clips extend shorter ones


def test_bouncing_objects_stay_inside_and_keep_their_speed() -> None:
    for seed in range(20):
        for obj in simulate(np.random.default_rng(seed), 200, 32.0):
            r = obj["radius"]
            assert obj["x"].min() >= r - 1e-9 and obj["x"].max() <= 32 - r + 1e-9
            assert obj["y"].min() >= r - 1e-9 and obj["y"].max() <= 32 - r + 1e-9
            dx, dy = np.diff(obj["x"]), np.diff(obj["y"])
            turns = (np.sign(dx[1:]) != np.sign(dx[:-1])) | (np.sign(dy[1:]) != np.sign(dy[:-1]))
            near_wall = np.zeros(len(dx), dtype=bool)
            near_wall[[0, -1]] = True  # a bounce in the first or last step has no neighbour to show it
            near_wall[:-1] |= turns
            near_wall[1:] |= turns
            free = np.hypot(dx, dy)[~near_wall]  # a step in free flight moves exactly the speed (elastic walls)
            assert len(free) > 100
            assert np.allclose(free, free[0])


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".gif", ".mkv"])
def test_written_videos_decode_whole_and_by_seek_window(tmp_path: Path, suffix: str) -> None:
    frames = BouncingShapes("test", 30, 32)[0]["frames"]
    path = write_video(tmp_path / f"clip{suffix}", frames, fps=10)
    info = probe_video(path)
    assert info.frames == 30 and not info.variable_rate
    whole = decode_video(info, 32)
    assert whole.shape == (30, 3, 32, 32) and whole.dtype == torch.uint8
    error = (whole.float() - _u8(frames).float()).abs().mean()
    assert error < {".gif": 25, ".mkv": 1e-9}.get(suffix, 8)  # lossy codecs; GIF has 256 colours; FFV1 is lossless
    assert torch.equal(decode_video(info, 32, start=17, count=6), whole[17:23])
    gray = decode_video(info, 16, channels=1, start=2, count=3)
    assert gray.shape == (3, 1, 16, 16)


def test_grayscale_mkv_is_lossless_and_stays_one_channel(tmp_path: Path) -> None:
    gray = _u8(BouncingShapes("test", 9, 32)[1]["frames"])[:, :1].contiguous()
    path = write_video(tmp_path / "gray.mkv", gray)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "gray"
    assert torch.equal(decode_video(probe_video(path), 32, channels=1), gray)


def test_variable_frame_rate_is_taken_at_the_average_rate_by_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for k, pts in enumerate([0, 100, 200, 500, 600]):  # a 300 ms gap where two frames are missing
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * k, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    info = probe_video(path)
    assert info.variable_rate and info.frames == 7
    levels = decode_video(info, 32)[:, 0, 16, 16].float() / 40
    assert levels.round().tolist() == [0, 1, 2, 2, 2, 3, 4]  # the gap shows the last frame before it


def test_bad_video_files_name_the_file(tmp_path: Path) -> None:
    audio = tmp_path / "speech.m4a"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "junk.webm").write_bytes(b"not a video at all" * 64)
    good = write_video(tmp_path / "good.mp4", BouncingShapes("test", 20, 32)[0]["frames"])
    (tmp_path / "half.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    expected = {
        "speech.m4a": "no video stream",
        "empty.mp4": "not a readable video",
        "junk.webm": "not a readable video",
        "half.mp4": "not a readable video",
        "missing.mp4": "does not exist",
    }
    for name, message in expected.items():
        with pytest.raises(DataError, match=message) as caught:
            decode_video(probe_video(tmp_path / name), 32)
        assert name in str(caught.value) and "\n" not in str(caught.value)


def test_frame_folders_read_in_name_order_and_refuse_mixed_sizes(tmp_path: Path) -> None:
    frames = BouncingShapes("train", 5, 32)[1]["frames"]
    _save_frames(tmp_path / "clip", frames)
    assert torch.equal(read_frame_folder(tmp_path / "clip", 32), _u8(frames))  # PNG is lossless
    Image.new("RGB", (20, 20)).save(tmp_path / "clip" / "9999.png")
    with pytest.raises(DataError, match="9999.png.*one size"):
        read_frame_folder(tmp_path / "clip", 32)
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="no image files"):
        read_frame_folder(tmp_path / "none", 32)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_decoding_the_last_frames_gives_the_whole_decode_s_tail(tmp_path: Path, suffix: str) -> None:
    frames = BouncingShapes("train", 40, 32)[2]["frames"]
    path = write_video(tmp_path / f"clip{suffix}", frames)
    whole = decode_video(probe_video(path), 32)
    assert torch.equal(decode_last(path, 32, 3, 7), whole[-7:])  # seeks to the tail, decodes only that
    assert torch.equal(decode_last(path, 32, 3, 100), whole)  # asking for more than there is gives all
    _save_frames(tmp_path / "folder", frames)
    assert torch.equal(read_frame_folder(tmp_path / "folder", 32, last=5), _u8(frames)[-5:])


def test_netpbm_camera_frames_are_a_frame_folder(tmp_path: Path) -> None:
    gray = _u8(BouncingShapes("train", 4, 32)[0]["frames"])[:, 0]  # camera sequences are often 8-bit PGM
    (tmp_path / "cam").mkdir()
    for i, frame in enumerate(gray):
        Image.fromarray(frame.numpy(), mode="L").save(tmp_path / "cam" / f"image.{i:04d}.pgm")
    assert torch.equal(read_frame_folder(tmp_path / "cam", 32, channels=1)[:, 0], gray)


def _clip_root(tmp_path: Path) -> Path:
    shapes = BouncingShapes("train", 30, 32)
    split = tmp_path / "root" / "train"
    split.mkdir(parents=True)
    write_video(split / "a.mp4", shapes[0]["frames"])
    write_video(split / "b.webm", shapes[1]["frames"][:12])
    _save_frames(split / "c", shapes[2]["frames"][:9])
    return tmp_path / "root"


def test_clip_folder_indexes_every_start_of_every_source(tmp_path: Path) -> None:
    root = _clip_root(tmp_path)
    clips = VideoClipFolder(root, "train", length=4, image_size=16, stride=2)  # spans 7 frames
    assert [s.frames for s in clips.sources] == [30, 12, 9]
    assert len(clips) == (30 - 6) + (12 - 6) + (9 - 6)
    item = clips[len(clips) - 1]
    assert item["frames"].shape == (4, 3, 16, 16) and item["name"] == "c_000002"
    folder = read_frame_folder(root / "train" / "c", 16)
    assert torch.equal(item["frames"], folder[2:9:2].float() / 127.5 - 1)
    tested = VideoClipFolder(root, "train", length=4, image_size=16, stride=2, step=7)  # no two clips overlap
    assert [tested.locate(i) for i in range(len(tested))] == [(0, 0), (0, 7), (0, 14), (0, 21), (1, 0), (2, 0)]


def test_a_small_cache_gives_the_same_clips_and_says_what_it_costs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _clip_root(tmp_path)
    big = VideoClipFolder(root, "train", length=4, image_size=16)
    logger = logging.getLogger("cgp.data")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="cgp.data"):
            small = VideoClipFolder(root, "train", length=4, image_size=16, cache_mb=0.01)
    finally:
        logger.removeHandler(caplog.handler)
    assert "more than data.cache_mb" in caplog.text
    for index in (0, 13, 26, 31, len(big) - 1):
        assert torch.equal(small[index]["frames"], big[index]["frames"])
    assert small._cache_bytes <= small.cache_bytes_limit


def test_clip_folder_refuses_bad_sources_at_start_or_skips_them_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _clip_root(tmp_path)
    (root / "train" / "zz.mp4").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"zz\.mp4.*skip_bad_files"):
        VideoClipFolder(root, "train", length=4, image_size=16)
    with pytest.raises(DataError, match=r"b\.webm' has 12 frames, fewer than one clip needs \(19"):
        VideoClipFolder(root, "train", length=10, image_size=16, stride=2)  # b comes before zz
    logger = logging.getLogger("cgp.data")
    logger.addHandler(caplog.handler)
    try:
        clips = VideoClipFolder(root, "train", length=4, image_size=16, skip_bad=True)
    finally:
        logger.removeHandler(caplog.handler)
    assert [s.path.name for s in clips.sources] == ["a.mp4", "b.webm", "c"]
    assert "left out 1 of 4 sources" in caplog.text and "zz.mp4" in caplog.text
