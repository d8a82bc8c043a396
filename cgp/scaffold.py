"""``cgp new-plugin NAME``: write a complete, installable plugin package from the templates in
``cgp/templates/`` (a working conditional task, its hooks, a README and tests using ``cgp.testing``)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

from cgp.core.errors import ConfigError

NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

FILES = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "README.md": "README.md.tmpl",
    "{module}/__init__.py": "init.py.tmpl",
    "{module}/task.py": "task.py.tmpl",
    "tests/test_{name}.py": "test_plugin.py.tmpl",
}


def new_plugin(name: str, output: Path | None = None) -> list[Path]:
    """Write the package for plugin ``name`` into ``output`` (default ``./cgp-NAME``); returns the
    files written. Refuses a name that is not a lowercase identifier and a folder that is not empty."""
    from cgp.api import VERSION

    if not NAME.fullmatch(name) or name.endswith("_"):
        raise ConfigError(
            f"plugin name '{name}' must be a lowercase Python identifier (letters, digits, '_'; "
            "starting with a letter), e.g. 'sketches'"
        )
    dist = f"cgp-{name.replace('_', '-')}"
    target = Path(output) if output is not None else Path(dist)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"'{target}' already exists and is not an empty folder; choose another --output")
    values = {
        "name": name,
        "dist": dist,
        "module": f"cgp_{name}",
        "Camel": "".join(part.capitalize() for part in name.split("_")),
        "api": f"{VERSION[0]}.{VERSION[1]}",
    }
    templates = resources.files("cgp") / "templates"
    written = []
    for relative, template in FILES.items():
        path = target / relative.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((templates / template).read_text()).substitute(values))
        written.append(path)
    return written
