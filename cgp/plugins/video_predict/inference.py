"""``cgp generate RUN_DIR clip.mp4 --frames T --output out.mp4``: continue videos by T frames.

Each input (a video file PyAV decodes, or a folder of frame images) is brought to the run's frame size
and channels as training did. Without ``--compare`` the last K frames are the context and the written
video is those K frames followed by the T predicted ones. With ``--compare`` the input's last T frames are
the truth and the K before them the context, and every written frame shows three panels: the context (its
last frame held, which is the copy-last baseline), the prediction, and the truth.

One input and an ``.mp4``, ``.webm``, ``.gif`` or ``.mkv`` (lossless) output writes that file; otherwise the
output is a folder and each result is named after its input (``NAME.mp4``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cgp.core.errors import ConfigError
from cgp.core.interfaces import GanModels
from cgp.datasets.paths import expand_files
from cgp.datasets.video import VIDEO_SUFFIXES, decode_last, read_frame_folder, write_video

WRITABLE = (".mp4", ".webm", ".gif", ".mkv")


def _videos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def _sources(inputs: list[str]) -> list[Path]:
    """Video files, the videos inside named folders, and folders of frames (one video each)."""
    paths = []
    for item in inputs:
        path = Path(item)
        if path.is_dir() and not _videos_in(path):
            paths.append(path)
        else:
            paths += expand_files([item], _videos_in, "videos")
    return paths


def load_frames(path: Path, size: int, channels: int, last: int) -> torch.Tensor:
    """The last ``last`` frames of a video file or frame folder as float (T, C, S, S) in [-1, 1]; only those
    are decoded, so an hour of video costs no more memory than a clip."""
    frames = read_frame_folder(path, size, channels, last) if path.is_dir() else decode_last(path, size, channels, last)
    return frames.float() / 127.5 - 1.0


def continue_videos(task: Any, models: GanModels, inputs: list[str], output: Path, options: Any) -> list[Path]:
    d = task.config.data
    k, t = d.context_frames, options.frames
    sources = _sources(inputs)
    single = len(sources) == 1 and output.suffix.lower() in WRITABLE
    if output.suffix and not single and output.suffix.lower() not in WRITABLE:
        raise ConfigError(f"--output '{output}': write a video as {', '.join(WRITABLE)}, or give a folder")
    device = next(models.parameters()).device
    written = []
    for source in sources:
        need = k + t if options.compare else k
        frames = load_frames(source, d.size, d.channels, need)
        if len(frames) < need:
            what = f"{k} context frames and {t} true frames for --compare" if options.compare else f"{k} context frames"
            raise ConfigError(f"'{source}' has {len(frames)} frames at the run's frame stride; it needs {what}")
        context = frames[-need:][:k]
        with torch.no_grad():
            predicted = models.generator(models.condition(context[None].to(device)), frames=t)[0].float().cpu()
        if options.compare:
            truth = frames[-t:]
            held = context[-1:].expand(t, -1, -1, -1)
            panels = [torch.cat([context, part]) for part in (held, predicted, truth)]
            video = torch.cat(panels, dim=-1)  # side by side
        else:
            video = torch.cat([context, predicted])
        path = output if single else output / f"{source.stem}.mp4"
        written.append(write_video(path, video, fps=options.fps))
    return written
