"""Path checks shared by the folder readers."""

from __future__ import annotations

from pathlib import Path

from cgp.core.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DataError(f"{what} '{path}' does not exist or is not a folder")
    return path


def inside_root(root: Path, relative: str | Path) -> Path:
    """``root / relative``, refusing anything that resolves outside ``root`` (``..``, absolute paths, links)."""
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()):
        raise DataError(f"path '{relative}' escapes the data root '{root}'; keep every file inside it")
    return candidate


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name, each checked to stay inside it."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [inside_root(folder, p.name) for p in files]
