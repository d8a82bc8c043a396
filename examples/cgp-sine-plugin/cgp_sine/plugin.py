"""The ``sine`` plugin's hooks. This module is cheap to import: the task module loads inside the
hooks, as the guide asks."""

from __future__ import annotations

from collections.abc import Callable

from cgp import hookimpl

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)


@hookimpl
def cgp_register_tasks(register: Callable[[type], None]) -> None:
    from cgp_sine.task import SineTask

    register(SineTask)


@hookimpl
def cgp_register_metrics(register: Callable[..., None]) -> None:
    from cgp_sine.task import dominant_frequency

    register("dominant_frequency", dominant_frequency)
