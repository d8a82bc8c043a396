"""Clips from a folder of videos: ``ROOT/{train,test}/`` holding video files (anything PyAV decodes) and/or
sub-folders of frame images (one clip source each, frames in name order).

A clip is ``length`` frames taken every ``stride`` frames; clip ``i`` of the dataset is the ``i``-th start
position over all sources in name order (``step`` frames apart: 1 for training, the clip's span for a
test split whose clips should not overlap). Every source is probed when the dataset is built, so a bad
file stops the run at its start with a line naming it, not hours later; with ``skip_bad=True`` such files
are left out instead, with one warning that counts and names them.

Decoding is cached: each worker keeps decoded sources (uint8) in memory up to ``cache_mb``, least recently
used first out. A source that does not fit the budget is never cached whole: its clips are decoded on
demand from the keyframe before them (:func:`cgp.datasets.video.decode_video` seeks). A one-line note at
start says when the split does not fit and what that costs.
"""

from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from cgp.core.errors import DataError
from cgp.datasets.paths import inside_root, require_dir
from cgp.datasets.video import VIDEO_SUFFIXES, VideoInfo, decode_video, probe_video, read_frame_folder

log = logging.getLogger("cgp.data")


@dataclass
class _Source:
    path: Path
    frames: int
    info: VideoInfo | None  # None for a frame folder
    folder_frames: torch.Tensor | None = None  # a frame folder is read once at start (small by nature)


def _list_sources(folder: Path) -> list[Path]:
    entries = sorted(folder.iterdir())
    return [
        inside_root(folder, p.name)
        for p in entries
        if (p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES) or (p.is_dir() and not p.name.startswith("."))
    ]


class VideoClipFolder(Dataset):
    """Items ``{"frames": (length, C, S, S) float32 in [-1, 1], "name": "<source>_<start>"}``."""

    def __init__(
        self,
        root: Path,
        split: str,
        length: int,
        image_size: int,
        stride: int = 1,
        channels: int = 3,
        step: int = 1,
        cache_mb: float = 1024.0,
        skip_bad: bool = False,
    ) -> None:
        if length < 1 or stride < 1 or step < 1:
            raise ValueError(f"length, stride and step must be >= 1, got {length}, {stride}, {step}")
        self.folder = require_dir(Path(root) / split, f"the {split} split")
        self.length, self.stride, self.step = length, stride, step
        self.image_size, self.channels = image_size, channels
        self.span = (length - 1) * stride + 1  # source frames one clip covers
        self.sources: list[_Source] = []
        bad: list[str] = []
        for path in _list_sources(self.folder):
            try:
                source = self._probe(path)
            except DataError as exc:
                if not skip_bad:
                    raise DataError(f"{exc} (or set data.skip_bad_files=true to leave such files out)") from None
                bad.append(str(exc))
                continue
            self.sources.append(source)
        if bad:
            log.warning(
                "left out %d of %d sources in '%s': %s",
                len(bad),
                len(bad) + len(self.sources),
                self.folder,
                "; ".join(bad[:3]) + (" ..." if len(bad) > 3 else ""),
            )
        if not self.sources:
            raise DataError(
                f"'{self.folder}' holds no usable video ({', '.join(sorted(VIDEO_SUFFIXES))}) or frame folder "
                f"of at least {self.span} frames"
            )
        counts = [(s.frames - self.span) // step + 1 for s in self.sources]
        self._ends = list(torch.tensor(counts).cumsum(0).tolist())
        self._cache: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._cache_bytes, self.cache_bytes_limit = 0, int(cache_mb * 2**20)
        need = sum(s.frames for s in self.sources if s.info is not None) * channels * image_size**2
        if need > self.cache_bytes_limit:
            log.info(
                "the decoded videos of '%s' need %.0f MB, more than data.cache_mb=%g: what does not fit is decoded "
                "again for each clip (from the keyframe before it), which is slower; raise data.cache_mb to keep "
                "all of it in memory (per data-loader worker)",
                self.folder,
                need / 2**20,
                cache_mb,
            )

    def _probe(self, path: Path) -> _Source:
        if path.is_dir():
            frames = read_frame_folder(path, self.image_size, self.channels)
            source = _Source(path, len(frames), None, frames)
        else:
            info = probe_video(path)
            source = _Source(path, info.frames, info)
        if source.frames < self.span:
            raise DataError(
                f"'{path}' has {source.frames} frames, fewer than one clip needs ({self.span}: "
                f"{self.length} frames every {self.stride}); use a longer file or shorter clips"
            )
        return source

    def __len__(self) -> int:
        return self._ends[-1]

    def locate(self, index: int) -> tuple[int, int]:
        """(source index, first frame) of clip ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} is out of range for {len(self)} clips")
        which = bisect.bisect_right(self._ends, index)
        before = self._ends[which - 1] if which else 0
        return which, (index - before) * self.step

    def _frames(self, which: int, start: int) -> torch.Tensor:
        source = self.sources[which]
        if source.folder_frames is not None:
            return source.folder_frames[start : start + self.span]
        cached = self._cache.get(which)
        if cached is not None:
            self._cache.move_to_end(which)
            return cached[start : start + self.span]
        whole = source.frames * self.channels * self.image_size**2
        if whole > self.cache_bytes_limit:
            return decode_video(source.info, self.image_size, self.channels, start, self.span)  # type: ignore[arg-type]
        frames = decode_video(source.info, self.image_size, self.channels)  # type: ignore[arg-type]
        while self._cache and self._cache_bytes + whole > self.cache_bytes_limit:
            _, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= dropped.numel()
        self._cache[which] = frames
        self._cache_bytes += whole
        return frames[start : start + self.span]

    def __getitem__(self, index: int) -> dict[str, Any]:
        which, start = self.locate(index)
        clip = self._frames(which, start)[:: self.stride]
        frames = clip.float() / 127.5 - 1.0
        return {"frames": frames, "name": f"{self.sources[which].path.stem}_{start:06d}"}
