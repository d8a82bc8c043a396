"""Docs stay true to the code: every hook is documented, the config reference is current."""

from __future__ import annotations

import importlib.util
import inspect
import sys

from cgp.core import hookspecs
from conftest import repo_root


def _hook_names() -> list[str]:
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("cgp_")]


def test_every_hook_has_a_docstring_and_a_section_in_the_plugin_guide() -> None:
    guide = (repo_root() / "docs" / "plugins.md").read_text()
    names = _hook_names()
    assert len(names) >= 10
    for name in names:
        fn = getattr(hookspecs, name)
        assert fn.__doc__ and len(fn.__doc__.split()) >= 8, f"{name} needs a docstring"
        assert all(p.annotation is not inspect.Parameter.empty for p in inspect.signature(fn).parameters.values())
        assert f"`{name}" in guide, f"{name} is not documented in docs/plugins.md"


def test_config_reference_is_generated_from_the_current_models() -> None:
    path = repo_root() / "docs" / "gen_config_reference.py"
    spec = importlib.util.spec_from_file_location("gen_config_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    current = (repo_root() / "docs" / "config.md").read_text()
    assert module.render() == current, "docs/config.md is stale: run python docs/gen_config_reference.py"
