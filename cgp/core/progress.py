"""Progress output: a one-line bar with rate and ETA on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("cgp.train")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Reports steps; ``mode`` is ``bar``, ``lines`` or ``off`` (``auto`` picks by the stream)."""

    def __init__(self, total: int, start: int, mode: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.total, self.start = total, start
        self.t0 = time.perf_counter()
        self._last_draw = 0.0

    def rate(self, step: int) -> float:
        elapsed = time.perf_counter() - self.t0
        return (step - self.start) / elapsed if elapsed > 0 else 0.0

    def eta(self, step: int) -> float:
        rate = self.rate(step)
        return (self.total - step) / rate if rate > 0 else float("inf")

    def _summary(self, step: int, values: dict[str, float]) -> str:
        rate = self.rate(step)
        eta = self.eta(step)
        eta_text = _duration(eta) if eta != float("inf") else "?"
        shown = " ".join(f"{k}={v:.4g}" for k, v in values.items())
        return f"step {step}/{self.total} {rate:.2f} it/s eta {eta_text} {shown}".rstrip()

    def update(self, step: int, values: dict[str, float], logged: bool) -> None:
        if self.mode == "lines":
            if logged:
                log.info(self._summary(step, values))
        elif self.mode == "bar":
            now = time.perf_counter()
            if now - self._last_draw < 0.2 and step < self.total:
                return
            self._last_draw = now
            width = 24
            done = int(width * step / max(1, self.total))
            bar = "#" * done + "." * (width - done)
            self.stream.write(f"\r[{bar}] {self._summary(step, values)}\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        if self.mode == "bar":
            self.stream.write("\n")
            self.stream.flush()
