"""Video decoding through PyAV, and frame folders, with errors that name the file.

A video is a sequence of frames at a constant rate. Files whose timestamps are irregular (variable frame
rate) are brought to the stream's average rate by timestamp, as FFmpeg's constant-frame-rate output does:
the frame shown at time ``k / rate`` is the last one whose timestamp is not later. Frames are centre-cropped
to a square and resized to the size asked for (antialiased bilinear), as uint8 (T, C, S, S).

:func:`probe_video` reads only the packets (no decoding) to count the frames and check that there is a video
stream with frames; :func:`decode_video` decodes a whole file, or a window of it: it seeks to the keyframe
before the window, so a clip from the middle of a long file costs the frames since that keyframe, not the
file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from cgp.core.errors import DataError
from cgp.datasets.images import load_image
from cgp.datasets.paths import IMAGE_SUFFIXES

log = logging.getLogger("cgp.data")

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif", ".mpg", ".mpeg", ".ogv", ".flv", ".ts"}


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learnt: frames at the constant ``rate`` and their source timestamps."""

    path: Path
    frames: int
    rate: Fraction
    variable_rate: bool
    times: tuple[float, ...]
    """Seconds of each constant-rate frame's source frame (its presentation time)."""


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no"]
        raise DataError(f"'{path}' has no video stream ({', '.join(kinds)} streams only); remove it from the folder")
    return container.streams.video[0]


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except FileNotFoundError:
        raise DataError(f"video '{path}' does not exist") from None
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise DataError(f"'{path}' is not a readable video ({reason}); re-encode or remove it") from None


def probe_video(path: Path) -> VideoInfo:
    """Count the frames of ``path`` from its packets' timestamps; errors name the file."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        pts: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size > 0:
                    pts.append(packet.pts)
        except av.error.FFmpegError as exc:
            if not pts:
                raise DataError(f"'{path}' is corrupt: no frame could be read ({exc}); re-encode it") from None
            log.warning("'%s' is truncated or damaged after %d frames (%s); using those", path, len(pts), exc)
        if not pts:
            raise DataError(f"'{path}' has a video stream with no frames; remove it from the folder")
        base = stream.time_base or Fraction(1, 1000)
        seconds = np.sort(np.array(pts, dtype=np.float64)) * float(base)
        rate = stream.average_rate or stream.guessed_rate
        if not rate and len(seconds) > 1 and seconds[-1] > seconds[0]:
            rate = Fraction((len(seconds) - 1) / (seconds[-1] - seconds[0])).limit_denominator(1001)
        rate = Fraction(rate or 25)
    steps = np.diff(seconds)
    variable = bool(len(steps) > 1 and (steps.max() - steps.min()) > 0.5 / float(rate))
    if variable:
        count = int(np.floor((seconds[-1] - seconds[0]) * float(rate) + 1e-6)) + 1
        grid = seconds[0] + np.arange(count) / float(rate)
        source = np.searchsorted(seconds, grid + 1e-6, side="right") - 1
        times = tuple(float(seconds[i]) for i in source)
        log.info("'%s' has a variable frame rate; taken at its average %.3g frames/s by timestamp", path, rate)
    else:
        times = tuple(float(s) for s in seconds)
    return VideoInfo(path, len(times), rate, variable, times)


def _to_tensor(frame: av.VideoFrame, channels: int) -> torch.Tensor:
    array = frame.to_ndarray(format="gray" if channels == 1 else "rgb24")
    return torch.from_numpy(np.ascontiguousarray(array)).reshape(array.shape[0], array.shape[1], channels)


def square_resize(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (T, H, W, C) -> uint8 (T, C, size, size): centre crop to a square, antialiased bilinear resize."""
    t, h, w, c = frames.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = frames[:, top : top + side, left : left + side].permute(0, 3, 1, 2)
    if side != size:
        x = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        x = x.round().clamp(0, 255).to(torch.uint8)
    return x.contiguous()


def decode_video(
    info: VideoInfo, size: int, channels: int = 3, start: int = 0, count: int | None = None
) -> torch.Tensor:
    """Frames ``start`` .. ``start + count`` (all by default) of a probed video, uint8 (count, C, S, S)."""
    count = info.frames - start if count is None else count
    if start < 0 or count < 1 or start + count > info.frames:
        raise ValueError(f"frames {start}..{start + count} are outside '{info.path}' ({info.frames} frames)")
    wanted = info.times[start : start + count]
    out: list[torch.Tensor | None] = [None] * count
    with _open(info.path) as container:
        stream = _video_stream(container, info.path)
        stream.thread_type = "AUTO"
        base = float(stream.time_base or Fraction(1, 1000))
        if start > 0:
            container.seek(int(wanted[0] / base), stream=stream, backward=True, any_frame=False)
        pending = 0  # output slots filled so far, in time order
        last: torch.Tensor | None = None
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                when = frame.pts * base
                if when < wanted[0] - 1e-6:
                    continue
                image = _to_tensor(frame, channels)
                # every wanted time up to this frame's (exclusive) shows the previous frame
                while pending < count and wanted[pending] < when - 1e-6:
                    out[pending] = last if last is not None else image
                    pending += 1
                last = image
                while pending < count and abs(wanted[pending] - when) <= 1e-6:
                    out[pending] = image
                    pending += 1
                if pending == count:
                    break
        except av.error.FFmpegError as exc:
            where = wanted[pending] if pending < count else wanted[-1]
            log.warning("'%s' stopped decoding at %.2f s (%s)", info.path, where, exc)
        while pending < count and last is not None:  # frames the probe counted but the decoder never gave
            out[pending] = last
            pending += 1
    if pending < count or last is None:
        raise DataError(
            f"'{info.path}' gave {pending} of its {info.frames} frames when decoded; re-encode or remove it"
        )
    return square_resize(torch.stack(out), size)  # type: ignore[arg-type]


def decode_last(path: Path, size: int, channels: int, last: int) -> torch.Tensor:
    """The last ``last`` frames of a video file (all of them if it has fewer), uint8 (T, C, S, S): only those
    are decoded and held, so memory does not grow with the video's length."""
    info = probe_video(path)
    start = max(0, info.frames - last)
    return decode_video(info, size, channels, start, info.frames - start)


def read_frame_folder(folder: Path, size: int, channels: int = 3, last: int | None = None) -> torch.Tensor:
    """The image files of ``folder`` in name order as one video, uint8 (T, C, S, S), or only its ``last``
    frames; errors name the file."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"frame folder '{folder}' holds no image files; remove it or add its frames")
    if last is not None:
        files = files[-last:]
    frames, shape = [], None
    for path in files:
        array = np.asarray(load_image(path, "L" if channels == 1 else "RGB"))
        if shape is not None and array.shape != shape:
            raise DataError(
                f"frame '{path}' is {array.shape[1]}x{array.shape[0]} but the folder's first frame is "
                f"{shape[1]}x{shape[0]}; every frame of a clip must have one size"
            )
        shape = array.shape
        frames.append(torch.from_numpy(array.reshape(array.shape[0], array.shape[1], channels).copy()))
    return square_resize(torch.stack(frames), size)


def write_video(path: Path, frames: torch.Tensor, fps: int = 10) -> Path:
    """uint8 or [-1, 1] float (T, C, H, W) -> an H.264 ``.mp4`` (yuv420p, so browsers play it), a VP9 ``.webm``,
    a looping ``.gif`` or a lossless FFV1 ``.mkv`` (grayscale stays one channel there), chosen by suffix."""
    if frames.is_floating_point():
        frames = ((frames.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    suffix = path.suffix.lower()
    codec, pix = {
        ".mp4": ("libx264", "yuv420p"),
        ".webm": ("libvpx-vp9", "yuv420p"),
        ".gif": ("gif", "rgb8"),
        ".mkv": ("ffv1", "gray" if frames.shape[1] == 1 else "bgr0"),
    }.get(suffix, (None, None))
    if codec is None:
        raise DataError(f"'{path}': write a video as .mp4, .webm, .gif or .mkv (lossless)")
    if frames.shape[1] == 1 and pix != "gray":
        frames = frames.expand(-1, 3, -1, -1)
    array = frames.permute(0, 2, 3, 1).contiguous().numpy()
    height, width = array.shape[1:3]
    if pix == "yuv420p" and (height % 2 or width % 2):  # 4:2:0 needs even sides: pad by one pixel
        array = np.pad(array, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = array.shape[2], array.shape[1]
        stream.pix_fmt = pix
        if codec == "libx264":
            stream.options = {"crf": "18"}
        source_format = "gray" if pix == "gray" else "rgb24"
        for image in array:
            frame = av.VideoFrame.from_ndarray(image[..., 0] if pix == "gray" else image, format=source_format)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
