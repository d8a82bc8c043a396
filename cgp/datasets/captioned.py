"""Captioned image folders for text-to-image: the Hugging Face ``imagefolder`` convention.

``ROOT/{split}/metadata.jsonl`` (one JSON object per line) or ``ROOT/{split}/metadata.csv`` (a header row)
lists the images of a split, each row with ``file_name`` (relative to ``ROOT/{split}``) and ``text``; other
columns are ignored (https://huggingface.co/docs/datasets/image_dataset#image-captioning). An image may have
several captions, as several rows with the same ``file_name`` or as ``text`` holding a JSON list of strings
(in CSV, a cell starting with ``[``), as in COCO and CUB where each image has five or ten.

Every row is checked when the dataset is built, so a typo in row 9000 fails before training starts; only
corrupt image bytes wait until the image is decoded (and :func:`load_image` names the file).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from cgp.core.errors import DataError
from cgp.datasets.images import load_image, to_tensor
from cgp.datasets.paths import inside_root

METADATA_FILES = ("metadata.jsonl", "metadata.csv")
_HOW = "each row needs a file_name (relative to the split folder) and a text caption"


def read_metadata_text(path: Path) -> str:
    """The file as text, UTF-8 with an optional byte-order mark (spreadsheets often write one)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1  # name the line, so the user knows where to look
        raise DataError(f"'{path}' line {line} is not UTF-8 text; re-save the file as UTF-8") from None


def metadata_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` for every row of a ``metadata.jsonl`` or ``metadata.csv``."""
    text = read_metadata_text(path)
    if path.suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"'{path}' line {number} is not valid JSON ({exc.msg}); write one JSON object per line"
                ) from None
            if not isinstance(row, dict):
                raise DataError(f"'{path}' line {number} is not a JSON object; {_HOW}")
            rows.append((number, row))
        return rows
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in ("file_name", "text") if column not in (reader.fieldnames or [])]
    if reader.fieldnames and missing:
        raise DataError(f"'{path}' line 1 (the header) has no '{missing[0]}' column; {_HOW}")
    return [(reader.line_num, row) for row in reader]


def parse_captions(value: Any, where: str, csv_cell: bool) -> list[str]:
    """The stripped captions of one ``text`` cell: a string, a JSON list of strings, or (CSV) its JSON text."""
    if csv_cell and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(
                f"{where}: text starts with '[' but is not a JSON list of strings; write it as "
                '["first caption", "second caption"] (quote the cell) or drop the bracket'
            ) from None
    captions = value if isinstance(value, list) else [value]
    if not captions:
        raise DataError(f"{where}: text is an empty list; give at least one caption or remove the row")
    for caption in captions:
        if not isinstance(caption, str):
            raise DataError(f"{where}: text must be a string or a list of strings, got {caption!r}")
        if not caption.strip():
            raise DataError(f"{where}: a caption is empty; write the caption or remove the row")
    return [caption.strip() for caption in captions]


def image_in_split(split_dir: Path, file_name: Any, where: str) -> Path:
    """The image a row names, refused when absolute, outside ``split_dir`` once resolved, or missing."""
    if not isinstance(file_name, str) or not file_name.strip():
        raise DataError(f"{where} has no file_name; {_HOW}")
    if Path(file_name).is_absolute():
        raise DataError(f"{where}: file_name '{file_name}' is absolute; give it relative to '{split_dir}'")
    try:
        path = inside_root(split_dir, file_name)
    except DataError:
        raise DataError(
            f"{where}: file_name '{file_name}' resolves outside '{split_dir}' ('..' or a link); "
            "keep every image inside the split folder"
        ) from None
    if not path.is_file():
        raise DataError(f"{where}: image '{path}' does not exist; add the file or fix file_name")
    return path


class CaptionedImageFolder(Dataset):
    """Items ``{"image": (3, S, S) in [-1, 1], "caption": str}``, one item per distinct image.

    The image is centre-cropped to a square and resized with a Lanczos filter (captions describe the
    whole picture, so the crop keeps the middle rather than a random part). The caption is drawn uniformly
    among the image's captions with ``torch.randint``: the loader seeds torch per item, so a run is
    reproducible, and each epoch still sees every caption of an image over time.
    """

    def __init__(self, root: Path, split: str, image_size: int) -> None:
        self.root = Path(root)
        self.image_size = image_size
        split_dir = self.root / split
        if not split_dir.is_dir():
            raise DataError(
                f"split folder '{split_dir}' does not exist; create it with the images and a metadata.jsonl "
                "or metadata.csv"
            )
        present = [split_dir / name for name in METADATA_FILES if (split_dir / name).is_file()]
        if not present:
            raise DataError(
                f"'{split_dir}' has no metadata.jsonl or metadata.csv; add one listing file_name and text per image"
            )
        if len(present) > 1:
            raise DataError(
                f"'{split_dir}' has both metadata.jsonl and metadata.csv, so the captions are ambiguous; keep "
                "the one you maintain and delete the other"
            )
        self.metadata = present[0]
        csv_cell = self.metadata.suffix == ".csv"
        by_file: dict[Path, list[str]] = {}
        for number, row in metadata_rows(self.metadata):
            where = f"'{self.metadata}' line {number}"
            if row.get("text") is None:
                raise DataError(f"{where} has no text; {_HOW}")
            path = image_in_split(split_dir, row.get("file_name"), where)
            by_file.setdefault(path, []).extend(parse_captions(row["text"], where, csv_cell))
        if not by_file:
            raise DataError(f"'{self.metadata}' has no rows; {_HOW}")
        self.files: list[Path] = list(by_file)
        self.captions: list[list[str]] = list(by_file.values())

    def __len__(self) -> int:
        return len(self.files)

    def all_captions(self) -> list[str]:
        """Every caption of the split, image by image (to build a vocabulary)."""
        return [caption for captions in self.captions for caption in captions]

    def __getitem__(self, index: int) -> dict[str, Any]:
        img = load_image(self.files[index], "RGB")
        img = ImageOps.fit(img, (self.image_size, self.image_size), Image.Resampling.LANCZOS)
        captions = self.captions[index]
        choice = int(torch.randint(len(captions), ()).item())
        return {"image": to_tensor(img), "caption": captions[choice]}
