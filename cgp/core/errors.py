"""Exception types for mistakes a user can fix.

Every error raised for a user's mistake (a bad config key, an unknown plugin, a corrupt file) is a
:class:`CgpError`; the CLI prints its message on one line and exits non-zero. Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class CgpError(Exception):
    """A mistake the user can fix; the message says what is wrong and what to do."""


class ConfigError(CgpError):
    """A config key is unknown, mistyped, or holds an invalid value."""


class PluginError(CgpError):
    """A plugin could not be found, imported or validated."""


class DataError(CgpError):
    """An input file or folder is missing, corrupt, of the wrong shape, or outside its root."""


class CheckpointError(CgpError):
    """A run directory or checkpoint is missing or unreadable."""


class NonFiniteLossError(CgpError):
    """A loss term became NaN or infinite during training."""

    def __init__(self, term: str, step: int, value: float) -> None:
        super().__init__(
            f"loss term '{term}' is {value} at step {step}; the run stopped without saving, so the last "
            "checkpoint (if any) holds good weights (lower the learning rate, set trainer.grad_clip, or use fp32)"
        )
        self.term = term
        self.step = step


class TrainingInterrupted(CgpError):
    """Training stopped on SIGINT or SIGTERM: after saving a checkpoint at ``step`` (the first signal),
    or at once (a second signal; ``step`` is then the last checkpoint saved, None if there is none)."""

    def __init__(self, signal_name: str, step: int | None, run_dir: str, saved: bool = True) -> None:
        if saved:
            message = f"{signal_name} received: checkpoint saved at step {step}"
        elif step is None:
            message = f"{signal_name} received twice: stopped at once, before any checkpoint was saved"
        else:
            message = f"{signal_name} received twice: stopped at once; the last checkpoint is step {step}"
        resume = f"; resume with: cgp train --resume --run-dir {run_dir}" if step is not None else ""
        super().__init__(message + resume)
        self.signal_name = signal_name
        self.saved = saved
