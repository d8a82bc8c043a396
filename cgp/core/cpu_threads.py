"""How many CPU threads a training uses when ``trainer.threads`` is unset.

torch starts one intra-op thread per core, which is the fastest choice on an idle machine. When other
processes hold the cores, thread pools compete: each waits for threads that are not running, and two
trainings with two threads each on two cores run at a fifth of one training's speed where two trainings
with one thread each run at 1.3 times it (docs/benchmarks.md, "Several trainings on one machine"). The
governor reads, after each logging window, the share of its threads' time the process got (CPU time over
wall time times threads) and the machine's idle cores (``/proc/stat``, where there is one): it drops to the
threads it actually got when the share is low, and takes threads back when cores have been idle.
"""

from __future__ import annotations

import logging
import math
import os

import torch

log = logging.getLogger("cgp.train")

SHARED_SHARE = 0.6
"""A window in which the process got less than this share of its threads' time means the cores are shared."""
IDLE_CORES = 0.8
"""Idle cores (averaged over a window) worth taking a thread back for."""
MIN_WINDOW_S = 1.0
"""Shorter windows are too short to tell."""


def _cpu_jiffies() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores since boot, from ``/proc/stat``; None where it cannot be read."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)  # idle + iowait, all


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class ThreadGovernor:
    """Call :meth:`window_started` when training starts and :meth:`check` at the end of each logging window
    (with the window's own CPU share: time excluded from the window, like evaluations, is excluded from it
    too); the reading a check takes starts the next window."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.full = torch.get_num_threads()
        self.cores = _cores()
        self.windows = 0
        self._jiffies = _cpu_jiffies()

    def window_started(self) -> None:
        self._jiffies = _cpu_jiffies()

    def idle_cores(self) -> float | None:
        """Idle cores averaged since the window started; the reading starts the next window."""
        now, before = _cpu_jiffies(), self._jiffies
        self._jiffies = now
        if now is None or before is None or now[1] <= before[1]:
            return None
        return (now[0] - before[0]) / (now[1] - before[1]) * self.cores

    def check(self, share: float, wall: float) -> None:
        """Adjust the thread count after a window of ``wall`` seconds in which the process got ``share`` of its
        threads' time. The first window (warm-up: allocation, lazy initialisation) is not judged."""
        self.windows += 1
        idle = self.idle_cores()
        threads = torch.get_num_threads()
        log.debug("cpu: %d threads got %.2f of their time over %.1f s; idle cores %s", threads, share, wall, idle)
        if not self.enabled or self.windows == 1 or wall < MIN_WINDOW_S:
            return
        if threads > 1 and share < SHARED_SHARE:
            fewer = max(1, math.floor(threads * share))
            torch.set_num_threads(fewer)
            log.warning(
                "other processes are using the CPU (this run got %.0f%% of its %d threads' time over %.1f s): "
                "continuing with %d thread%s, as competing thread pools slow each other down; set "
                "trainer.threads to fix the count",
                100 * share,
                threads,
                wall,
                fewer,
                "" if fewer == 1 else "s",
            )
        elif threads < self.full and idle is not None and idle >= IDLE_CORES:
            more = min(self.full, threads + math.floor(idle + 1 - IDLE_CORES))
            torch.set_num_threads(more)
            log.info("cpu: %.1f cores were idle over %.1f s: continuing with %d threads", idle, wall, more)
