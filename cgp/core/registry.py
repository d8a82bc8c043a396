"""Name -> object tables that remember which plugin registered each entry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from cgp.core.errors import PluginError

if TYPE_CHECKING:
    from cgp.core.data import DatasetReader
    from cgp.core.losses import AdversarialLoss, TermLoss
    from cgp.core.metrics import EvalContext
    from cgp.core.task import Task

MetricFn = Callable[["EvalContext"], dict[str, float]]
"""A registered metric: ``fn(context) -> {name: value}``."""

LoggerFactory = Callable[..., Any]
"""A registered logger: ``factory(run_dir, config) -> object`` with ``@hookimpl`` event methods."""

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    value: T
    plugin: str


class Registry(Generic[T]):
    """Entries registered by plugins; a name registered twice is an error naming both plugins."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, name: str, value: T, plugin: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin '{plugin}' registered a {self.kind} without a name")
        if name in self._entries:
            first = self._entries[name].plugin
            raise PluginError(
                f"{self.kind} '{name}' is registered by both plugin '{first}' and plugin '{plugin}'; "
                "uninstall or block one of them (CGP_DISABLE_PLUGINS)"
            )
        self._entries[name] = Entry(name, value, plugin)

    def get(self, name: str) -> T:
        try:
            return self._entries[name].value
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise PluginError(
                f"unknown {self.kind} '{name}' (installed: {known}); run 'cgp plugins' to see what is installed"
            ) from None

    def owner(self, name: str) -> str:
        return self._entries[name].plugin

    def names(self) -> list[str]:
        return sorted(self._entries)

    def by_plugin(self, plugin: str) -> list[str]:
        return sorted(n for n, e in self._entries.items() if e.plugin == plugin)

    def remove_plugin(self, plugin: str) -> None:
        """Forget every entry ``plugin`` registered (a plugin that failed to load)."""
        self._entries = {n: e for n, e in self._entries.items() if e.plugin != plugin}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())


class Registries(Protocol):
    """What tasks and the trainer receive from the plugin host: the registries, typed, and the event
    hooks. :class:`cgp.core.plugins.PluginHost` is the implementation; tests may pass any object
    with these attributes."""

    tasks: Registry[type[Task]]
    adversarial_losses: Registry[type[AdversarialLoss]]
    term_losses: Registry[type[TermLoss]]
    metrics: Registry[MetricFn]
    datasets: Registry[DatasetReader]
    loggers: Registry[LoggerFactory]

    def train_start(self, *, run_dir: Any, config: Any, start_step: int) -> None: ...

    def step_end(self, *, step: int, metrics: dict[str, float]) -> None: ...

    def evaluation_done(self, *, step: int, metrics: dict[str, float]) -> None: ...

    def samples_written(self, *, step: int, paths: list[Any]) -> None: ...

    def checkpoint_saved(self, *, step: int, path: Any) -> None: ...

    def train_end(self, *, step: int, status: str) -> None: ...
