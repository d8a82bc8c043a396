"""The plugin host: finds plugins through the ``cgp`` entry-point group and owns the registries.

Built-in plugins are registered exactly like third-party ones, through the entry points of the
installed ``cgp`` distribution. Nothing happens at import time: call :func:`load_plugins` (or
:func:`make_plugin_manager` and :meth:`PluginHost.load_entry_points` to control the steps).

Environment switches:

* ``CGP_PLUGINS=a,b`` — load only these entry points (an allow-list);
* ``CGP_DISABLE_PLUGINS=a,b`` — skip these entry points;
* ``CGP_TRACE_PLUGINS=1`` — log every hook call and its result at DEBUG level.
"""

from __future__ import annotations

import importlib.metadata as importlib_metadata
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from cgp.core import hookspecs
from cgp.core.data import DatasetReader
from cgp.core.errors import PluginError
from cgp.core.losses import (
    BUILTIN_ADVERSARIAL_LOSSES,
    BUILTIN_TERM_LOSSES,
    AdversarialLoss,
    TermLoss,
)
from cgp.core.registry import LoggerFactory, MetricFn, Registry
from cgp.core.task import Task

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "cgp"
CORE_PLUGIN_NAME = "cgp.core"


@dataclass
class PluginInfo:
    """What ``cgp plugins`` shows for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    hooks: list[str] = field(default_factory=list)
    api: str | None = None  # the plugin API version the plugin says it needs (CGP_API)
    tasks: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    loggers: list[str] = field(default_factory=list)


@dataclass
class PluginFailure:
    """A plugin that failed to import, validate or register; reported, never fatal to the others."""

    name: str
    distribution: str | None
    version: str | None
    error: str

    def message(self) -> str:
        origin = " ".join(part for part in (self.distribution, self.version) if part)
        origin = f" (distribution {origin})" if self.distribution else ""
        return f"plugin '{self.name}'{origin} failed: {self.error}"


class _CoreLosses:
    """The core's own loss terms, registered through the same hook as a plugin's."""

    CGP_API = "1.0"

    @hookspecs.hookimpl
    def cgp_register_losses(self, register: Callable[[type], None]) -> None:
        for cls in (*BUILTIN_ADVERSARIAL_LOSSES, *BUILTIN_TERM_LOSSES):
            register(cls)


def _env_list(name: str) -> set[str] | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class PluginHost:
    """A pluggy manager plus the registries it fills, with one typed method per event hook."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("cgp")
        self.pm.add_hookspecs(hookspecs)
        self.tasks: Registry[type[Task]] = Registry("task")
        self.adversarial_losses: Registry[type[AdversarialLoss]] = Registry("adversarial loss")
        self.term_losses: Registry[type[TermLoss]] = Registry("loss term")
        self.metrics: Registry[MetricFn] = Registry("metric")
        self.datasets: Registry[DatasetReader] = Registry("dataset reader")
        self.loggers: Registry[LoggerFactory] = Registry("logger")
        self.infos: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        self._collected_plugins: set[str] = set()
        if os.environ.get("CGP_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(lambda msg: log.debug("pluggy: %s", msg.rstrip()))
            self.pm.enable_tracing()
        self.register(_CoreLosses(), CORE_PLUGIN_NAME, distribution="cgp", version=_cgp_version())

    # -- loading ---------------------------------------------------------------------------------

    def register(self, plugin: object, name: str, distribution: str | None = None, version: str | None = None) -> None:
        """Register a plugin object (a module or an instance with hookimpls) under ``name``."""
        needed = getattr(plugin, "CGP_API", None)
        problem = _api_problem(needed)
        if problem is not None:
            self.failures.append(PluginFailure(name, distribution, version, problem))
            return
        already = self.pm.is_registered(plugin)
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as exc:  # pluggy raises ValueError / PluginValidationError
            if not already and self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self.failures.append(PluginFailure(name, distribution, version, _one_line(exc)))
            return
        module = getattr(plugin, "__name__", type(plugin).__module__)
        hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []))
        self.infos[name] = PluginInfo(name, distribution, version, module, hooks, api=str(needed) if needed else None)

    def load_entry_points(self) -> None:
        """Import every plugin of the ``cgp`` entry-point group, honouring the allow/block lists."""
        allow = _env_list("CGP_PLUGINS")
        block = _env_list("CGP_DISABLE_PLUGINS") or set()
        entry_points = importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)
        known = {ep.name for ep in entry_points}
        for variable, names in (("CGP_PLUGINS", allow or set()), ("CGP_DISABLE_PLUGINS", block)):
            for unknown in sorted(names - known):
                log.warning(
                    "%s names '%s', which is no installed plugin (installed: %s)",
                    variable,
                    unknown,
                    ", ".join(sorted(known)) or "none",
                )
        for ep in entry_points:
            if ep.name in block or (allow is not None and ep.name not in allow):
                continue
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else None
            dist_version = dist.version if dist is not None else None
            if ep.name in self.infos:
                if self.infos[ep.name].distribution != dist_name:
                    first = self.infos[ep.name].distribution or self.infos[ep.name].module
                    self.failures.append(
                        PluginFailure(
                            ep.name,
                            dist_name,
                            dist_version,
                            f"the plugin name '{ep.name}' is already taken by {first}; uninstall one of them "
                            "or block one with CGP_DISABLE_PLUGINS",
                        )
                    )
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                log.debug("plugin %s failed to import:\n%s", ep.name, traceback.format_exc())
                self.failures.append(PluginFailure(ep.name, dist_name, dist_version, f"import error: {_one_line(exc)}"))
                continue
            self.register(plugin, ep.name, dist_name, dist_version)

    def collect(self) -> None:
        """Call the registration hooks of plugins not collected yet, through pluggy (so tracing,
        ordering and wrappers apply) but one plugin at a time, so that an error names its plugin. A
        plugin whose registration fails is unregistered with everything it registered: it gets no
        event hooks and its half-registered names do not linger."""
        pending = set(self.infos) - self._collected_plugins
        if not pending:
            return
        self._collected_plugins |= pending
        calls: list[tuple[str, Callable[..., None]]] = [
            ("cgp_register_tasks", self._register_task),
            ("cgp_register_losses", self._register_loss),
            ("cgp_register_metrics", self.metrics.add),
            ("cgp_register_datasets", self.datasets.add),
            ("cgp_register_loggers", self.loggers.add),
        ]
        failed: set[str] = set()
        for hook_name, add in calls:
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                plugin_name = impl.plugin_name
                if plugin_name not in pending or plugin_name in failed:
                    continue
                others = [p for p in self.pm.get_plugins() if p is not impl.plugin]
                only_this = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
                try:
                    only_this(register=_bind_owner(add, plugin_name))
                except Exception as exc:
                    self._fail(plugin_name, f"{hook_name}: {_one_line(exc)}")
                    failed.add(plugin_name)
        for plugin_name in failed:
            self._drop(plugin_name)
        for info in self.infos.values():
            info.tasks = self.tasks.by_plugin(info.name)
            info.losses = sorted(self.adversarial_losses.by_plugin(info.name) + self.term_losses.by_plugin(info.name))
            info.metrics = self.metrics.by_plugin(info.name)
            info.datasets = self.datasets.by_plugin(info.name)
            info.loggers = self.loggers.by_plugin(info.name)

    def _drop(self, plugin_name: str) -> None:
        """Unregister a plugin whose registration failed and remove what it registered."""
        plugin = self.pm.get_plugin(plugin_name)
        if plugin is not None:
            self.pm.unregister(plugin)
        for registry in (
            self.tasks,
            self.adversarial_losses,
            self.term_losses,
            self.metrics,
            self.datasets,
            self.loggers,
        ):
            registry.remove_plugin(plugin_name)
        self.infos.pop(plugin_name, None)

    def _fail(self, plugin_name: str, error: str) -> None:
        info = self.infos.get(plugin_name)
        self.failures.append(
            PluginFailure(plugin_name, info.distribution if info else None, info.version if info else None, error)
        )

    def _register_task(self, task_cls: type, plugin: str) -> None:

        if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
            raise PluginError(f"register() got {task_cls!r}, which is not a cgp.core.task.Task subclass")
        task_cls.validate_definition()
        self.tasks.add(task_cls.name, task_cls, plugin)

    def _register_loss(self, loss_cls: type, plugin: str) -> None:
        name = getattr(loss_cls, "name", None)
        for registry in (self.adversarial_losses, self.term_losses):
            if name in registry:
                raise PluginError(
                    f"loss '{name}' is registered by both plugin '{registry.owner(name)}' and plugin '{plugin}'; "
                    "uninstall or block one of them (CGP_DISABLE_PLUGINS)"
                )
        if isinstance(loss_cls, type) and issubclass(loss_cls, AdversarialLoss):
            self.adversarial_losses.add(loss_cls.name, loss_cls, plugin)
        elif isinstance(loss_cls, type) and issubclass(loss_cls, TermLoss):
            if getattr(loss_cls, "side", None) not in ("generator", "discriminator"):
                raise PluginError(f"loss term {loss_cls.__name__} must set side to 'generator' or 'discriminator'")
            self.term_losses.add(loss_cls.name, loss_cls, plugin)
        else:
            raise PluginError(f"register() got {loss_cls!r}, which is not an AdversarialLoss or TermLoss subclass")

    # -- lookup ----------------------------------------------------------------------------------

    def task(self, name: str) -> type:
        """The task class for ``name``; a plugin name that registers exactly one task also works."""
        self.collect()
        if name not in self.tasks and name in self.infos and len(self.infos[name].tasks) == 1:
            name = self.infos[name].tasks[0]
        if name not in self.tasks:
            failed = [f for f in self.failures if f.name == name]
            if failed:
                raise PluginError(failed[0].message())
            known = ", ".join(self.tasks.names()) or "none"
            raise PluginError(
                f"unknown task or plugin '{name}' (installed tasks: {known}); run 'cgp plugins' to list them"
            )
        return self.tasks.get(name)

    # -- events (one method per hook, called with keywords) ---------------------------------------

    def train_start(self, *, run_dir: Path, config: Any, start_step: int) -> None:
        self.pm.hook.cgp_train_start(run_dir=run_dir, config=config, start_step=start_step)

    def step_end(self, *, step: int, metrics: dict[str, float]) -> None:
        self.pm.hook.cgp_step_end(step=step, metrics=metrics)

    def evaluation_done(self, *, step: int, metrics: dict[str, float]) -> None:
        self.pm.hook.cgp_evaluation_done(step=step, metrics=metrics)

    def samples_written(self, *, step: int, paths: list[Path]) -> None:
        self.pm.hook.cgp_samples_written(step=step, paths=paths)

    def checkpoint_saved(self, *, step: int, path: Path) -> None:
        self.pm.hook.cgp_checkpoint_saved(step=step, path=path)

    def train_end(self, *, step: int, status: str) -> None:
        self.pm.hook.cgp_train_end(step=step, status=status)


def _bind_owner(add: Callable[..., None], plugin: str) -> Callable[..., None]:
    def register(*args: Any) -> None:
        add(*args, plugin=plugin)

    return register


def _api_problem(needed: object) -> str | None:
    """Why a plugin stating ``CGP_API = needed`` cannot load here, or None when it can (same major
    version, minor not newer than this cgp's; no statement at all is accepted)."""
    if needed is None:
        return None
    from cgp.api import VERSION

    provided = f"{VERSION[0]}.{VERSION[1]}"
    try:
        major, minor = (int(part) for part in str(needed).split("."))
    except ValueError:
        return f"CGP_API = {needed!r} is not a version like '{provided}'; fix the plugin's CGP_API"
    if major != VERSION[0] or minor > VERSION[1]:
        newer = (major, minor) > VERSION
        what = "upgrade cgp" if newer else "install a version of the plugin made for this cgp"
        return f"needs cgp plugin API {major}.{minor}, but this cgp provides API {provided}; {what}"
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _cgp_version() -> str | None:
    try:
        return importlib_metadata.version("cgp")
    except importlib_metadata.PackageNotFoundError:
        return None


def make_plugin_manager() -> PluginHost:
    """A fresh host with only the core's own losses registered (tests add plugins by hand)."""
    return PluginHost()


def load_plugins() -> PluginHost:
    """A host with every installed plugin loaded and its registrations collected."""
    host = make_plugin_manager()
    host.load_entry_points()
    host.collect()
    return host
