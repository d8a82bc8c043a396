"""Learning-rate factors (cgp.core.schedules.lr_factor)."""

from __future__ import annotations

import pytest

from cgp.core.config import ScheduleConfig
from cgp.core.schedules import lr_factor

T = 100
T1 = 101  # decays over steps start..T1-1, so the spans below are round numbers


def test_constant() -> None:
    cfg = ScheduleConfig(kind="constant", final_factor=0.0)
    assert all(lr_factor(cfg, s, T) == 1.0 for s in range(T + 1))


def test_linear_before_decay_start() -> None:
    cfg = ScheduleConfig(kind="linear", decay_start=0.5, final_factor=0.2)
    assert all(lr_factor(cfg, s, T) == 1.0 for s in range(0, 51))
    assert lr_factor(cfg, 51, T) < 1.0


def test_linear_midpoint_and_end() -> None:
    cfg = ScheduleConfig(kind="linear", decay_start=0.5, final_factor=0.2)
    assert lr_factor(cfg, 75, T1) == pytest.approx(0.6)  # halfway through the decay: (1 + 0.2) / 2
    assert lr_factor(cfg, T1 - 1, T1) == pytest.approx(0.2)
    assert lr_factor(cfg, T1 + 10, T1) == pytest.approx(0.2)  # clamped after the end


def test_linear_is_monotone() -> None:
    cfg = ScheduleConfig(kind="linear", decay_start=0.25, final_factor=0.0)
    values = [lr_factor(cfg, s, T) for s in range(T + 1)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert values[0] == 1.0 and values[-1] == pytest.approx(0.0)


def test_linear_reaches_final_factor_at_last_trained_step() -> None:
    """ScheduleConfig.final_factor is documented as "lr multiplier reached at the last step", and
    lr_factor's step is 0-based: the trainer calls it with self.step = 0..steps-1 before each update,
    so the last update uses step = steps - 1. LIBRARY BUG: there the factor is still
    final + (1 - final) / (steps - start), e.g. 0.2 + 0.8/50 = 0.216 here, and 1/750 of the base lr
    (not 0) for the cgan defaults; the documented final factor is only reached at step = steps,
    which never trains."""
    cfg = ScheduleConfig(kind="linear", decay_start=0.5, final_factor=0.2)
    assert lr_factor(cfg, T - 1, T) == pytest.approx(0.2), (
        "the last trained step (step = total_steps - 1) does not get final_factor"
    )


def test_cosine_endpoints_and_midpoint() -> None:
    cfg = ScheduleConfig(kind="cosine", decay_start=0.2, final_factor=0.1)
    assert lr_factor(cfg, 0, T1) == 1.0
    assert lr_factor(cfg, 20, T1) == pytest.approx(1.0)
    assert lr_factor(cfg, 60, T1) == pytest.approx(0.55)  # cos(pi/2) = 0 -> halfway
    assert lr_factor(cfg, T1 - 1, T1) == pytest.approx(0.1)
    values = [lr_factor(cfg, s, T1) for s in range(T1)]
    assert all(a >= b - 1e-12 for a, b in zip(values, values[1:]))


def test_warmup() -> None:
    cfg = ScheduleConfig(kind="constant", warmup_steps=4)
    assert [lr_factor(cfg, s, T) for s in range(6)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_warmup_multiplies_decay() -> None:
    cfg = ScheduleConfig(kind="linear", decay_start=0.0, final_factor=0.0, warmup_steps=10)
    assert lr_factor(cfg, 0, T1) == pytest.approx(0.1 * 1.0)
    assert lr_factor(cfg, 4, T1) == pytest.approx(0.5 * (1 - 4 / 100))
    assert lr_factor(cfg, 50, T1) == pytest.approx(0.5)


def test_zero_total_steps() -> None:
    cfg = ScheduleConfig(kind="linear", decay_start=0.5, final_factor=0.0)
    assert lr_factor(cfg, 0, 0) == 1.0
