"""The thread governor: a training gives up threads while other processes hold the cores and takes them back
when cores go idle; an explicit thread count is never touched."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import torch

from cgp.core import cpu_threads
from cgp.core.cpu_threads import ThreadGovernor


@pytest.fixture
def two_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _idle(monkeypatch: pytest.MonkeyPatch, readings: list[tuple[int, int]]) -> None:
    """/proc/stat as a sequence of (idle, total) jiffies, one per read."""
    stream = iter(readings)
    monkeypatch.setattr(cpu_threads, "_cpu_jiffies", lambda: next(stream))


def test_shared_cores_drop_the_threads_to_what_the_run_got(two_threads: None, caplog: pytest.LogCaptureFixture) -> None:
    governor = ThreadGovernor(enabled=True)
    governor.check(0.3, 5.0)  # the first window is warm-up: not judged
    assert torch.get_num_threads() == 2
    with caplog.at_level(logging.WARNING, logger="cgp.train"):
        governor.check(0.45, 5.0)
    assert torch.get_num_threads() == 1
    assert "other processes are using the CPU" in caplog.text and "trainer.threads" in caplog.text


@pytest.mark.parametrize(("share", "wall"), [(0.9, 5.0), (0.3, 0.5)])
def test_a_full_share_or_a_short_window_keeps_the_threads(two_threads: None, share: float, wall: float) -> None:
    governor = ThreadGovernor(enabled=True)
    governor.windows = 1
    governor.check(share, wall)
    assert torch.get_num_threads() == 2


def test_a_disabled_governor_never_changes_the_count(two_threads: None) -> None:
    governor = ThreadGovernor(enabled=False)
    governor.windows = 1
    governor.check(0.1, 10.0)
    assert torch.get_num_threads() == 2


def test_threads_come_back_when_cores_go_idle(two_threads: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc/stat read at the start and at each window's end: 200 jiffies over 2 cores a window, 10 of them
    # idle while another run holds a core, 95 (0.95 of a core) once it has ended
    _idle(monkeypatch, [(0, 0), (10, 200), (20, 400), (115, 600)])
    governor = ThreadGovernor(enabled=True)
    governor.cores = 2
    governor.windows = 1
    governor.check(0.4, 5.0)  # shared: drops to 1
    assert torch.get_num_threads() == 1
    governor.check(1.0, 5.0)  # 0.1 idle cores: stays at 1
    assert torch.get_num_threads() == 1
    governor.check(1.0, 5.0)  # 0.95 idle cores: takes its second thread back
    assert torch.get_num_threads() == 2
