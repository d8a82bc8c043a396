"""The code stays ruff-clean (lint rules and formatting from pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import repo_root

PATHS = ["cgp", "tests", "benchmarks", "docs", "examples"]


def _ruff() -> str:
    found = Path(sys.executable).parent / "ruff"
    return str(found) if found.exists() else (shutil.which("ruff") or "ruff")


def test_ruff_check() -> None:
    proc = subprocess.run([_ruff(), "check", *PATHS], cwd=repo_root(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = subprocess.run([_ruff(), "format", "--check", *PATHS], cwd=repo_root(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
