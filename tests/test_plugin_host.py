"""The plugin host (cgp.core.plugins): registration, failures, entry points and event hooks."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cgp import hookimpl
from cgp.core.errors import PluginError
from cgp.core.plugins import CORE_PLUGIN_NAME, PluginHost, make_plugin_manager
from cgp.plugins.cgan.task import CganTask


class AlphaTask(CganTask):
    name = "alpha"


class BetaTask(CganTask):
    name = "beta"


class TaskPlugin:
    """Registers the given task classes."""

    def __init__(self, *tasks: type) -> None:
        self.tasks = tasks

    @hookimpl
    def cgp_register_tasks(self, register: Callable[[type], None]) -> None:
        for task in self.tasks:
            register(task)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def cgp_step_end(self, step: int, metrics: dict[str, float]) -> None:
        self.calls.append(("step_end", {"step": step, "metrics": metrics}))

    @hookimpl
    def cgp_train_end(self, step: int, status: str) -> None:
        self.calls.append(("train_end", {"step": step, "status": status}))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CGP_PLUGINS", raising=False)
    monkeypatch.delenv("CGP_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("CGP_TRACE_PLUGINS", raising=False)


def failure_for(host: PluginHost, name: str) -> str:
    messages = [f.message() for f in host.failures if f.name == name]
    assert messages, f"no failure recorded for plugin '{name}': {[f.message() for f in host.failures]}"
    return messages[0]


# -- registration ------------------------------------------------------------------------------------


def test_core_losses_are_registered() -> None:
    host = make_plugin_manager()
    host.collect()
    assert host.failures == []
    assert {"bce", "lsgan", "hinge", "wasserstein"} <= set(host.adversarial_losses.names())
    assert {"l1", "l2", "kl", "r1", "gradient_penalty", "feature_matching"} <= set(host.term_losses.names())
    assert host.adversarial_losses.owner("bce") == CORE_PLUGIN_NAME
    assert "cgp_register_losses" in host.infos[CORE_PLUGIN_NAME].hooks


def test_task_registration() -> None:
    host = make_plugin_manager()
    host.register(TaskPlugin(AlphaTask), "alpha_plugin", distribution="alpha-dist", version="1.2")
    host.collect()
    assert host.failures == []
    assert "alpha" in host.tasks
    assert host.task("alpha") is AlphaTask
    info = host.infos["alpha_plugin"]
    assert info.tasks == ["alpha"]
    assert info.distribution == "alpha-dist" and info.version == "1.2"
    assert info.hooks == ["cgp_register_tasks"]
    assert host.tasks.owner("alpha") == "alpha_plugin"
    # a plugin that registers exactly one task can be named instead of the task
    assert host.task("alpha_plugin") is AlphaTask


def test_duplicate_task_name_names_both_plugins() -> None:
    host = make_plugin_manager()
    host.register(TaskPlugin(AlphaTask), "first_plugin")
    host.register(TaskPlugin(AlphaTask, BetaTask), "second_plugin")
    host.collect()
    assert host.tasks.owner("alpha") == "first_plugin"
    assert [f.name for f in host.failures] == ["second_plugin"]
    message = failure_for(host, "second_plugin")
    assert "first_plugin" in message and "second_plugin" in message and "alpha" in message


def test_misspelled_hook_is_a_failure_and_others_work() -> None:
    class Misspelled:
        @hookimpl
        def cgp_stepend(self, step: int, metrics: dict[str, float]) -> None:
            raise AssertionError("never called")

    host = make_plugin_manager()
    host.register(TaskPlugin(AlphaTask), "good_before")
    bad = Misspelled()
    host.register(bad, "misspelled")
    host.register(TaskPlugin(BetaTask), "good_after")
    host.collect()
    assert "cgp_stepend" in failure_for(host, "misspelled")
    assert [f.name for f in host.failures] == ["misspelled"]
    assert "misspelled" not in host.infos
    assert not host.pm.is_registered(bad)
    assert host.task("alpha") is AlphaTask and host.task("beta") is BetaTask
    host.step_end(step=1, metrics={})  # the misspelled impl is gone


def test_wrong_hook_arguments_are_a_failure() -> None:
    class WrongArgs:
        @hookimpl
        def cgp_step_end(self, step: int, metrics: dict[str, float], extra: int) -> None: ...

    host = make_plugin_manager()
    host.register(WrongArgs(), "wrong_args")
    assert "wrong_args" not in host.infos
    assert "extra" in failure_for(host, "wrong_args")


def test_raising_registration_hook_names_the_plugin() -> None:
    class Exploding:
        @hookimpl
        def cgp_register_tasks(self, register: Callable[[type], None]) -> None:
            raise RuntimeError("kaboom")

    host = make_plugin_manager()
    host.register(Exploding(), "exploding")
    host.register(TaskPlugin(AlphaTask), "good")
    host.collect()
    message = failure_for(host, "exploding")
    assert "kaboom" in message and "cgp_register_tasks" in message
    assert host.task("alpha") is AlphaTask


def test_registering_a_non_task_is_a_failure() -> None:
    class NotATask:
        name = "not_a_task"

    host = make_plugin_manager()
    host.register(TaskPlugin(NotATask), "bogus")
    host.register(TaskPlugin(object()), "bogus_instance")  # type: ignore[arg-type]
    host.collect()
    assert "Task" in failure_for(host, "bogus")
    assert "Task" in failure_for(host, "bogus_instance")
    assert "not_a_task" not in host.tasks


def test_task_with_invalid_name_is_a_failure() -> None:
    class BadName(CganTask):
        name = "not an identifier"

    host = make_plugin_manager()
    host.register(TaskPlugin(BadName), "bad_name")
    host.collect()
    assert "identifier" in failure_for(host, "bad_name")


def test_bad_loss_registration_is_a_failure() -> None:
    class LossPlugin:
        @hookimpl
        def cgp_register_losses(self, register: Callable[[type], None]) -> None:
            register(int)

    host = make_plugin_manager()
    host.register(LossPlugin(), "bad_loss")
    host.collect()
    assert "AdversarialLoss" in failure_for(host, "bad_loss")


def test_unknown_task_lists_installed() -> None:
    host = make_plugin_manager()
    host.register(TaskPlugin(AlphaTask, BetaTask), "two_tasks")
    host.collect()
    with pytest.raises(PluginError, match="unknown") as info:
        host.task("unknown")
    assert "alpha" in str(info.value) and "beta" in str(info.value)


def test_task_of_failed_plugin_reports_its_failure() -> None:
    host = make_plugin_manager()
    host.register(TaskPlugin(AlphaTask), "alpha")
    host.register(TaskPlugin(AlphaTask), "copycat")
    host.collect()
    # 'copycat' is not a task; naming it reports why the plugin failed
    with pytest.raises(PluginError, match="copycat"):
        host.task("copycat")


def test_same_plugin_object_under_a_second_name_keeps_the_first() -> None:
    """LIBRARY BUG: PluginHost.register's error path calls pm.unregister(plugin) whenever the object
    is registered at all, so a failed second registration of an already registered object (two entry
    points naming one module, or a repeated register call) unregisters the first, healthy
    registration while host.infos still lists it; its hooks and tasks silently disappear."""
    host = make_plugin_manager()
    plugin = TaskPlugin(AlphaTask)
    host.register(plugin, "original")
    host.register(plugin, "alias")
    assert [f.name for f in host.failures] == ["alias"]
    assert "original" in host.infos
    assert host.pm.is_registered(plugin), "the failed 'alias' registration unregistered 'original'"
    host.collect()
    assert host.task("alpha") is AlphaTask


def test_collect_again_after_a_later_registration() -> None:
    """LIBRARY BUG: register() resets _collected so that collect() runs again, but collect() then
    calls every plugin's registration hooks a second time; each entry already in the registries is
    re-added and recorded as a failure ("registered by both plugin 'cgp.core' and plugin 'cgp.core'")."""
    host = make_plugin_manager()
    host.register(TaskPlugin(AlphaTask), "first")
    host.collect()
    assert host.failures == []
    host.register(TaskPlugin(BetaTask), "late")
    host.collect()
    assert [f.message() for f in host.failures] == []
    assert host.task("alpha") is AlphaTask and host.task("beta") is BetaTask
    assert host.infos["late"].tasks == ["beta"]


# -- entry points -----------------------------------------------------------------------------------


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    eps = [
        importlib.metadata.EntryPoint(name="cgan", value="cgp.plugins.cgan", group="cgp"),
        importlib.metadata.EntryPoint(name="broken", value="no_such_module_xyz", group="cgp"),
        importlib.metadata.EntryPoint(name="elsewhere", value="no_such_module_xyz", group="other"),
    ]
    groups: list[str] = []

    def entry_points(**kw: Any) -> list[importlib.metadata.EntryPoint]:
        groups.append(kw.get("group"))
        return [ep for ep in eps if ep.group == kw.get("group")]

    import cgp.core.plugins as plugins_module

    monkeypatch.setattr(plugins_module.importlib_metadata, "entry_points", entry_points)
    return groups


def test_entry_points_good_and_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    groups = _fake_entry_points(monkeypatch)
    host = make_plugin_manager()
    host.load_entry_points()
    host.collect()
    assert groups == ["cgp"]
    assert [f.name for f in host.failures] == ["broken"]
    message = failure_for(host, "broken")
    assert "no_such_module_xyz" in message and "import error" in message
    assert host.task("cgan") is CganTask
    assert host.infos["cgan"].tasks == ["cgan"]
    assert {"acgan_d", "acgan_g"} <= set(host.infos["cgan"].losses)
    assert "class_judge" in host.metrics
    assert "elsewhere" not in host.infos


def test_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(monkeypatch)
    monkeypatch.setenv("CGP_PLUGINS", "cgan")
    host = make_plugin_manager()
    host.load_entry_points()
    host.collect()
    assert host.failures == []
    assert "cgan" in host.tasks


def test_allow_list_excluding_good(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(monkeypatch)
    monkeypatch.setenv("CGP_PLUGINS", " broken , ")
    host = make_plugin_manager()
    host.load_entry_points()
    host.collect()
    assert [f.name for f in host.failures] == ["broken"]
    assert "cgan" not in host.infos
    with pytest.raises(PluginError):
        host.task("cgan")


def test_block_list(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(monkeypatch)
    monkeypatch.setenv("CGP_DISABLE_PLUGINS", "broken")
    host = make_plugin_manager()
    host.load_entry_points()
    host.collect()
    assert host.failures == []
    assert host.task("cgan") is CganTask
    monkeypatch.setenv("CGP_DISABLE_PLUGINS", "cgan,broken")
    host2 = make_plugin_manager()
    host2.load_entry_points()
    host2.collect()
    assert host2.failures == [] and "cgan" not in host2.tasks and "cgan" not in host2.infos


# -- event hooks ------------------------------------------------------------------------------------


def test_event_hooks_reach_plugins() -> None:
    host = make_plugin_manager()
    recorder = Recorder()
    host.register(recorder, "recorder")
    host.collect()
    assert host.infos["recorder"].hooks == ["cgp_step_end", "cgp_train_end"]
    host.step_end(step=1, metrics={"d_real": 0.5})
    host.step_end(step=2, metrics={"d_real": 0.25})
    host.train_end(step=2, status="completed")
    assert recorder.calls == [
        ("step_end", {"step": 1, "metrics": {"d_real": 0.5}}),
        ("step_end", {"step": 2, "metrics": {"d_real": 0.25}}),
        ("train_end", {"step": 2, "status": "completed"}),
    ]


def test_event_hooks_without_listeners() -> None:
    host = make_plugin_manager()
    host.step_end(step=1, metrics={})
    host.train_end(step=1, status="failed")
    assert host.failures == []


def test_same_entry_point_name_from_two_distributions_names_both(tmp_path: Path) -> None:
    from conftest import fake_distribution

    for dist in ("cgp-first", "cgp-second"):
        site = fake_distribution(tmp_path / dist, dist, dist.replace("-", "_"), "", "samename")
        sys.path.insert(0, str(site))
    try:
        importlib.invalidate_caches()
        host = make_plugin_manager()
        host.load_entry_points()
    finally:
        sys.path[:] = [p for p in sys.path if not p.startswith(str(tmp_path))]
    assert host.infos["samename"].distribution in ("cgp-first", "cgp-second")
    message = failure_for(host, "samename")
    assert "already taken" in message and ("cgp-first" in message or "cgp-second" in message)


def test_a_name_used_by_an_adversarial_loss_and_a_term_is_rejected() -> None:
    from cgp.core.losses import TermLoss

    class Bce(TermLoss):
        name = "bce"
        side = "generator"

        def __call__(self, t: Any) -> Any:
            return 0

    class Plugin:
        @hookimpl
        def cgp_register_losses(self, register: Callable[[type], None]) -> None:
            register(Bce)

    host = make_plugin_manager()
    host.register(Plugin(), "clash")
    host.collect()
    assert "'bce' is registered by both plugin 'cgp.core' and plugin 'clash'" in failure_for(host, "clash")


def test_a_plugin_whose_registration_fails_gets_no_event_hooks_and_keeps_no_names() -> None:
    class HalfRegistered(Recorder):
        @hookimpl
        def cgp_register_tasks(self, register: Callable[[type], None]) -> None:
            register(BetaTask)

        @hookimpl
        def cgp_register_metrics(self, register: Callable[..., None]) -> None:
            raise RuntimeError("metrics broke")

    half, listener = HalfRegistered(), Recorder()
    host = make_plugin_manager()
    host.register(half, "half")
    host.register(listener, "listener")
    host.collect()
    assert "metrics broke" in failure_for(host, "half")
    assert "beta" not in host.tasks, "the task it registered before failing is withdrawn"
    assert "half" not in host.infos
    host.step_end(step=1, metrics={"g_adv": 1.0})
    assert half.calls == [] and listener.calls == [("step_end", {"step": 1, "metrics": {"g_adv": 1.0}})]


def test_registration_hooks_are_traced(tmp_path: Path) -> None:
    from conftest import cgp_subprocess

    result = cgp_subprocess("-v", "plugins", env={"CGP_TRACE_PLUGINS": "1"})
    assert result.returncode == 0, result.stderr
    for hook in ("cgp_register_tasks", "cgp_register_losses", "cgp_register_metrics", "cgp_register_datasets"):
        assert hook in result.stderr, hook


@pytest.mark.parametrize(
    ("needed", "message"),
    [
        ("2.0", "needs cgp plugin API 2.0, but this cgp provides API 1.1; upgrade cgp"),
        ("1.9", "needs cgp plugin API 1.9, but this cgp provides API 1.1; upgrade cgp"),
        ("0.3", "needs cgp plugin API 0.3, but this cgp provides API 1.1; install a version of the plugin"),
        ("soon", "CGP_API = 'soon' is not a version like '1.1'"),
    ],
)
def test_a_plugin_needing_another_api_fails_alone(needed: str, message: str) -> None:
    future = TaskPlugin(BetaTask)
    future.CGP_API = needed  # type: ignore[attr-defined]
    host = make_plugin_manager()
    host.register(future, "future")
    host.register(TaskPlugin(AlphaTask), "alpha")
    host.collect()
    assert message in failure_for(host, "future")
    assert "beta" not in host.tasks and host.task("alpha") is AlphaTask


def test_plugins_stating_the_current_api_load_and_say_so() -> None:
    from cgp.api import VERSION

    current = TaskPlugin(BetaTask)
    current.CGP_API = f"{VERSION[0]}.{VERSION[1]}"  # type: ignore[attr-defined]
    host = make_plugin_manager()
    host.register(current, "current")
    host.collect()
    assert host.task("beta") is BetaTask and host.infos["current"].api == "1.1"


def test_every_public_name_is_importable_and_no_plugin_imports_a_private_name() -> None:
    import re

    import cgp.api
    import cgp.plugins

    assert all(hasattr(cgp.api, name) for name in cgp.api.__all__)
    private = re.compile(r"from cgp\.\S+ import .*\b_[a-z]\w*")
    roots = [Path(cgp.plugins.__file__).parent, Path(__file__).parents[1] / "examples"]
    offenders = [
        f"{path}:{number}"
        for root in roots
        for path in root.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert not offenders, offenders


def test_a_logger_sees_exactly_one_run_and_only_when_switched_on(tmp_path: Path) -> None:
    import cgp.plugins.cgan as cgan_plugin
    from cgp.core.config import resolve_config
    from cgp.core.rundir import RunDir
    from cgp.core.trainer import Trainer
    from conftest import TINY

    built: list[Recorder] = []

    class MemoryLoggers:
        @hookimpl
        def cgp_register_loggers(self, register: Callable[..., None]) -> None:
            def factory(run_dir: Path, config: Any) -> Recorder:
                built.append(Recorder())
                return built[-1]

            register("memory", factory)

    host = make_plugin_manager()
    host.register(cgan_plugin, "cgan")
    host.register(MemoryLoggers(), "memory_loggers")
    host.collect()
    assert host.loggers.names() == ["memory"] and host.infos["memory_loggers"].loggers == ["memory"]
    for index, backends in enumerate(([], ["memory"])):
        config = resolve_config(
            host.task("cgan").config_model,
            "cgan",
            overrides=[
                *TINY,
                "trainer.steps=4",
                "trainer.log_every=2",
                "eval.metrics=[]",
                f"logging.backends={backends}",
            ],
        )
        run = RunDir(tmp_path / f"run{index}")
        run.create()
        Trainer(host.task("cgan")(config, host), run, host).fit()
    assert len(built) == 1, "built once, for the run that named it"
    assert [call[1]["step"] for call in built[0].calls if call[0] == "step_end"] == [2, 4]
    assert built[0].calls[-1] == ("train_end", {"step": 4, "status": "completed"})
    assert not any(isinstance(p, Recorder) for p in host.pm.get_plugins()), "unregistered after its run"


def test_every_hook_is_documented_with_its_signature_and_tested() -> None:
    import inspect

    from cgp.core import hookspecs

    root = Path(__file__).parents[1]
    guide = (root / "docs" / "plugins.md").read_text()
    tests = "\n".join(p.read_text() for p in (root / "tests").glob("test_*.py") if p.name != Path(__file__).name)
    tests += Path(__file__).read_text().split("def test_every_hook_is_documented")[0]
    specs = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("cgp_")]
    assert len(specs) >= 11
    for name in specs:
        parameters = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### `{name}`" in guide, f"{name} has no section in docs/plugins.md"
        assert f"def {name}(" in guide, f"{name}'s signature is not in docs/plugins.md"
        assert f"`{name}({parameters})`" in guide, f"{name}({parameters}) is not in the guide's hook table"
        assert name in tests, f"no test implements or calls {name}"


def test_a_retyped_objective_without_its_own_build_objective_is_named() -> None:
    from pydantic import Field

    from cgp.core.config import StrictModel, resolve_config
    from cgp.plugins.cgan.task import CganConfig

    class OddObjective(StrictModel):
        weight: float = Field(1.0, description="a section the default objective cannot read")

    class OddConfig(CganConfig):
        objective: OddObjective = Field(default_factory=OddObjective, description="odd")

    class OddTask(CganTask):
        name = "odd"
        config_model = OddConfig

    host = make_plugin_manager()
    host.register(TaskPlugin(OddTask), "odd")
    host.collect()
    task = OddTask(resolve_config(OddConfig, "odd"), host)
    models = CganTask(resolve_config(CganConfig, "cgan"), host).build_models()
    with pytest.raises(PluginError, match="task 'odd' types its objective section as OddObjective"):
        task.build_objective(models)
