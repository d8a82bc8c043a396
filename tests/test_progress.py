"""Progress output: a bar with rate and ETA on a terminal, log lines otherwise."""

from __future__ import annotations

import io
import logging

import pytest

from cgp.core.progress import Progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_bar_with_rate_and_eta() -> None:
    stream = FakeTerminal()
    progress = Progress(total=10, start=0, mode="auto", stream=stream)
    assert progress.mode == "bar"
    progress.update(10, {"d_real": 0.5}, logged=False)
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\r[") and "step 10/10" in text and "it/s" in text and "eta" in text and "d_real=0.5" in text


def test_pipe_gets_plain_log_lines_only_when_logged(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    progress = Progress(total=10, start=0, mode="auto", stream=stream)
    assert progress.mode == "lines"
    with caplog.at_level(logging.INFO, logger="cgp.train"):
        progress.update(3, {"g_adv": 1.0}, logged=False)
        progress.update(5, {"g_adv": 1.0}, logged=True)
    assert stream.getvalue() == ""
    assert [r.getMessage().split(" ")[:2] for r in caplog.records] == [["step", "5/10"]]
