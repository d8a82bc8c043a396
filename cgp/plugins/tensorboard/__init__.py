"""Built-in plugin ``tensorboard``: a logger that writes TensorBoard event files for a run.

Switched on per run with ``--set logging.backends=[tensorboard]``; needs the ``tensorboard`` package
(``pip install 'cgp[tensorboard]'``). Built only on the trainer's event hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cgp import hookimpl

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)


@hookimpl
def cgp_register_loggers(register: Callable[[str, Callable[..., Any]], None]) -> None:
    from cgp.plugins.tensorboard.logger import TensorBoardLogger

    register("tensorboard", TensorBoardLogger)
