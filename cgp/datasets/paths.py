"""Path checks shared by the folder readers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cgp.core.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm"}


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


def pair_by_stem(folder_a: Path, folder_b: Path, lister: Callable[[Path], list[Path]]) -> list[tuple[Path, Path]]:
    """Files of ``folder_a`` and ``folder_b`` (as ``lister`` finds them) matched by stem, sorted; every
    file must have a partner, so ``A/1.png`` pairs with ``B/1.jpg`` and a lonely file is an error."""
    sides = []
    for folder in (folder_a, folder_b):
        by_stem: dict[str, Path] = {}
        for path in lister(folder):
            if path.stem in by_stem:
                raise DataError(
                    f"'{by_stem[path.stem]}' and '{path}' share the name '{path.stem}', so the pairing is "
                    "ambiguous; keep one file per name in each folder"
                )
            by_stem[path.stem] = path
        sides.append(by_stem)
    a, b = sides
    for mine, theirs, other in ((a, b, folder_b), (b, a, folder_a)):
        lonely = sorted(set(mine) - set(theirs))
        if lonely:
            more = f" (and {len(lonely) - 1} more)" if len(lonely) > 1 else ""
            raise DataError(
                f"'{mine[lonely[0]]}'{more} has no partner in '{other}' (looked for '{lonely[0]}.*'); "
                "add the missing file or remove the unpaired one"
            )
    return [(a[stem], b[stem]) for stem in sorted(a)]


def expand_files(inputs: list[str], lister: Callable[[Path], list[Path]], what: str) -> list[Path]:
    """Files named directly, and the files ``lister`` finds inside named folders, in order (``cgp generate``)."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = lister(path)
            if not found:
                raise DataError(f"folder '{path}' holds no {what}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"input '{item}' does not exist")
    return files
