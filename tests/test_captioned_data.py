"""Captioned image folders and the procedural captioned shapes (cgp.datasets, text-to-image)."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cgp.core.errors import DataError
from cgp.datasets import captioned_shapes
from cgp.datasets.captioned import CaptionedImageFolder
from cgp.datasets.captioned_shapes import ATTRIBUTES, CaptionedShapes


def noise_image(seed: int, size: tuple[int, int], mode: str) -> Image.Image:
    """A random image of ``mode`` ("RGB", "L", "RGBA"); ``size`` is (width, height)."""
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode)


def write_jsonl(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metadata.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_csv(folder: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metadata.csv"
    with path.open("w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows(rows)
    return path


def image_split(root: Path, names: tuple[str, ...] = ("a.png", "b.png")) -> Path:
    """``root/train`` with RGB PNG files of ``names`` and no metadata yet."""
    folder = root / "train"
    folder.mkdir(parents=True)
    for i, name in enumerate(names):
        noise_image(i, (20, 20), "RGB").save(folder / name)
    return folder


# -- captioned image folders --------------------------------------------------------------------------


def test_jsonl_folder_decodes_every_mode_to_rgb_squares(tmp_path: Path) -> None:
    folder = tmp_path / "train"
    (folder / "img").mkdir(parents=True)
    noise_image(0, (30, 20), "RGB").save(folder / "img" / "rgb.png")
    noise_image(1, (17, 23), "L").save(folder / "img" / "gray.png")
    clear = noise_image(2, (25, 25), "RGBA")
    clear.putalpha(0)  # fully transparent: composited on white
    clear.save(folder / "img" / "clear.png")
    noise_image(3, (41, 31), "RGB").save(folder / "photo.jpg", quality=90)
    names = ["img/rgb.png", "img/gray.png", "img/clear.png", "photo.jpg"]
    write_jsonl(folder, [{"file_name": n, "text": f"picture {i}", "extra": i} for i, n in enumerate(names)])
    ds = CaptionedImageFolder(tmp_path, "train", image_size=16)
    assert len(ds) == 4 and ds.files == [(folder / n).resolve() for n in names]
    for i in range(4):
        item = ds[i]
        assert set(item) == {"image", "caption"} and item["caption"] == f"picture {i}"
        assert item["image"].shape == (3, 16, 16) and item["image"].dtype == torch.float32
        assert item["image"].min() >= -1 and item["image"].max() <= 1
    gray = ds[1]["image"]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert torch.allclose(ds[2]["image"], torch.ones(3, 16, 16))


def test_csv_rows_and_json_lists_merge_in_order(tmp_path: Path) -> None:
    folder = image_split(tmp_path)
    rows = [
        ["file_name", "text", "source"],
        ["a.png", "  first  ", "x"],
        ["b.png", json.dumps(["one", "two"]), "y"],
        ["a.png", "second", "z"],
    ]
    write_csv(folder, rows, encoding="utf-8-sig")  # with a byte-order mark, as spreadsheets write
    ds = CaptionedImageFolder(tmp_path, "train", 8)
    assert len(ds) == 2 and [p.name for p in ds.files] == ["a.png", "b.png"]
    assert ds.captions == [["first", "second"], ["one", "two"]]
    assert ds.all_captions() == ["first", "second", "one", "two"]


def test_jsonl_rows_and_lists_merge(tmp_path: Path) -> None:
    folder = image_split(tmp_path)
    rows = [{"file_name": "b.png", "text": ["x", "y"]}, {"file_name": "a.png", "text": "z"}]
    write_jsonl(folder, [*rows, {"file_name": "./b.png", "text": "w"}])
    ds = CaptionedImageFolder(tmp_path, "train", 8)
    assert [p.name for p in ds.files] == ["b.png", "a.png"]
    assert ds.captions == [["x", "y", "w"], ["z"]]


def test_caption_choice_is_seeded_and_covers_every_caption(tmp_path: Path) -> None:
    folder = image_split(tmp_path, ("a.png",))
    write_jsonl(folder, [{"file_name": "a.png", "text": ["c0", "c1", "c2"]}])
    ds = CaptionedImageFolder(tmp_path, "train", 8)
    drawn = []
    for seed in range(60):
        torch.manual_seed(seed)
        first = ds[0]["caption"]
        torch.manual_seed(seed)
        assert ds[0]["caption"] == first
        drawn.append(first)
    assert set(drawn) == {"c0", "c1", "c2"}


JSONL_ERRORS = [
    ('{"file_name": "a.png", "text": "ok"}\n{"file_name": "a.png", "text": \n', r"line 2 is not valid JSON"),
    ('["a.png", "text"]\n', r"line 1 is not a JSON object"),
    ('{"text": "a caption"}\n', r"line 1 has no file_name"),
    ('{"file_name": "a.png", "caption": "x"}\n', r"line 1 has no text"),
    ('{"file_name": "a.png", "text": "  "}\n', r"line 1: a caption is empty.*remove the row"),
    ('{"file_name": "a.png", "text": []}\n', r"line 1: text is an empty list"),
    ('{"file_name": "a.png", "text": ["ok", ""]}\n', r"line 1: a caption is empty"),
    ('{"file_name": "a.png", "text": 3}\n', r"line 1: text must be a string"),
    ('{"file_name": "a.png", "text": "ok"}\n{"file_name": "c.png", "text": "x"}\n', r"line 2: image .*c\.png"),
    ('{"file_name": "../outside.png", "text": "x"}\n', r"line 1: file_name '\.\./outside\.png' resolves outside"),
    ("\n\n", r"has no rows"),
]


@pytest.mark.parametrize(("content", "match"), JSONL_ERRORS)
def test_jsonl_errors_name_the_line(tmp_path: Path, content: str, match: str) -> None:
    folder = image_split(tmp_path / "data")
    noise_image(9, (8, 8), "RGB").save(tmp_path / "data" / "outside.png")  # exists, but outside train/
    (folder / "metadata.jsonl").write_text(content)
    with pytest.raises(DataError, match=r"metadata\.jsonl'.*" + match):
        CaptionedImageFolder(tmp_path / "data", "train", 8)


CSV_ERRORS = [
    ([["file_name", "caption"], ["a.png", "x"]], r"line 1 \(the header\) has no 'text' column"),
    ([["file_name", "text"], ["a.png", "x"], ["b.png", " "]], r"line 3: a caption is empty"),
    ([["file_name", "text"], ["a.png", "[not json"]], r"line 2: text starts with '\['"),
    ([["file_name", "text"], ["", "x"]], r"line 2 has no file_name"),
    ([["file_name", "text"]], r"has no rows"),
]


@pytest.mark.parametrize(("rows", "match"), CSV_ERRORS)
def test_csv_errors_name_the_line(tmp_path: Path, rows: list[list[str]], match: str) -> None:
    write_csv(image_split(tmp_path), rows)
    with pytest.raises(DataError, match=r"metadata\.csv'.*" + match):
        CaptionedImageFolder(tmp_path, "train", 8)


def test_absolute_file_name_is_refused(tmp_path: Path) -> None:
    folder = image_split(tmp_path)
    write_jsonl(folder, [{"file_name": str((folder / "a.png").resolve()), "text": "x"}])
    with pytest.raises(DataError, match=r"line 1: file_name '.*a\.png' is absolute"):
        CaptionedImageFolder(tmp_path, "train", 8)


def test_link_out_of_the_split_is_refused(tmp_path: Path) -> None:
    noise_image(0, (8, 8), "RGB").save(tmp_path / "secret.png")
    folder = image_split(tmp_path / "data")
    (folder / "link.png").symlink_to(tmp_path / "secret.png")
    write_jsonl(folder, [{"file_name": "a.png", "text": "x"}, {"file_name": "link.png", "text": "y"}])
    with pytest.raises(DataError, match=r"line 2: file_name 'link\.png' resolves outside"):
        CaptionedImageFolder(tmp_path / "data", "train", 8)


def test_non_utf8_metadata_names_the_line(tmp_path: Path) -> None:
    folder = image_split(tmp_path)
    (folder / "metadata.jsonl").write_bytes(
        b'{"file_name": "a.png", "text": "ok"}\n{"file_name": "b.png", "text": "caf\xe9"}\n'
    )
    with pytest.raises(DataError, match=r"metadata\.jsonl' line 2 is not UTF-8"):
        CaptionedImageFolder(tmp_path, "train", 8)


def test_split_and_metadata_files_are_checked(tmp_path: Path) -> None:
    folder = image_split(tmp_path)
    with pytest.raises(DataError, match=r"split folder '.*val' does not exist"):
        CaptionedImageFolder(tmp_path, "val", 8)
    with pytest.raises(DataError, match=r"train' has no metadata\.jsonl or metadata\.csv"):
        CaptionedImageFolder(tmp_path, "train", 8)
    write_jsonl(folder, [{"file_name": "a.png", "text": "x"}])
    write_csv(folder, [["file_name", "text"], ["a.png", "x"]])
    with pytest.raises(DataError, match=r"both metadata\.jsonl and metadata\.csv.*delete the other"):
        CaptionedImageFolder(tmp_path, "train", 8)


def test_corrupt_image_is_named_when_decoded(tmp_path: Path) -> None:
    folder = image_split(tmp_path)
    (folder / "bad.png").write_bytes(os.urandom(200))
    write_jsonl(folder, [{"file_name": "a.png", "text": "x"}, {"file_name": "bad.png", "text": "y"}])
    ds = CaptionedImageFolder(tmp_path, "train", 8)
    assert ds[0]["image"].shape == (3, 8, 8)
    with pytest.raises(DataError, match=r"bad\.png.*corrupt"):
        ds[1]


# -- procedural captioned shapes ----------------------------------------------------------------------

CORNERS = {"top left": r"(top|upper)[ -]left", "top right": r"(top|upper)[ -]right"}
CORNERS |= {"bottom left": r"(bottom|lower)[ -]left", "bottom right": r"(bottom|lower)[ -]right"}
WORDS = {  # each value's wordings, written from the spec rather than copied from the module
    "colour": {value: value for value in ATTRIBUTES["colour"]},
    "shape": {
        "circle": r"circles?|discs?|round dots?",
        "square": r"squares?|box(es)?",
        "triangle": r"triangles?",
        "cross": r"cross(es)?|plus signs?",
    },
    "size": {"small": r"small|little|tiny", "large": r"large|big"},
    "position": CORNERS | {"centre": r"centre|center|middle"},
    "count": {"one": r"a|one|a single", "two": r"two|a pair of|2"},
}
PLURAL = r"\b(circles|discs|round dots|squares|boxes|triangles|crosses|plus signs)\b"


def says(caption: str, pattern: str) -> bool:
    return re.search(rf"\b({pattern})\b", caption) is not None


def test_shapes_are_deterministic_per_index_and_split() -> None:
    assert len(CaptionedShapes("train")) == 8192 and len(CaptionedShapes("test")) == 1024
    ds = CaptionedShapes("train", image_size=32, size=10)
    a, b = ds[3], ds[3]
    assert len(ds) == 10 and a["caption"] == b["caption"] and torch.equal(a["image"], b["image"])
    assert torch.equal(a["attrs"], b["attrs"]) and torch.equal(a["labels"], b["labels"])
    assert not torch.equal(ds[4]["image"], a["image"])
    assert not torch.equal(CaptionedShapes("test", 32)[3]["image"], a["image"])
    assert a["image"].shape == (3, 32, 32) and a["image"].dtype == torch.float32
    assert a["image"].min() >= -1 and a["image"].max() <= 1
    assert a["attrs"].dtype == a["labels"].dtype == torch.long and a["labels"].shape == (5,)
    assert CaptionedShapes.attribute_names == ["colour", "shape", "size", "position", "count"]
    with pytest.raises(IndexError):
        ds[10]


def test_captions_name_exactly_the_attrs() -> None:
    ds = CaptionedShapes("train", 16)
    items = [ds[i] for i in range(500)]
    named = torch.stack([item["attrs"] for item in items])
    labels = torch.stack([item["labels"] for item in items])
    assert ((named == -1) | (named == labels)).all()
    assert (named[:, [0, 1, 4]] >= 0).all()  # colour, shape and count are always named
    for column in (2, 3):
        assert 0.1 < (named[:, column] == -1).float().mean() < 0.3  # size and position named ~80% of the time
    for k, (attribute, values) in enumerate(ATTRIBUTES.items()):
        assert set(labels[:, k].tolist()) == set(range(len(values))), attribute
        assert set(named[:, k].tolist()) >= set(range(len(values))), attribute
    for item in items:
        caption = item["caption"]
        for k, (attribute, values) in enumerate(ATTRIBUTES.items()):
            label, shown = int(item["labels"][k]), int(item["attrs"][k])
            for index, value in enumerate(values):
                if attribute == "count" and value == "one" and index != label:
                    continue  # "a" is also in "a pair of"
                if index == shown:
                    assert says(caption, WORDS[attribute][value]), (caption, attribute, value)
                else:
                    assert not says(caption, WORDS[attribute][value]), (caption, attribute, value)
        assert says(caption, PLURAL) == (item["labels"][4] == 1), caption


def test_all_captions_match_items_without_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = CaptionedShapes("test", 16, size=50)
    expected = [ds[i]["caption"] for i in range(50)]

    def no_rendering(*args: object) -> None:
        raise AssertionError("all_captions rendered an image")

    monkeypatch.setattr(captioned_shapes, "render", no_rendering)
    assert ds.all_captions() == expected
    assert len(CaptionedShapes("train").all_captions()) == 8192


def test_rendering_follows_the_labels() -> None:
    ds = CaptionedShapes("train", 64, size=300)
    means: dict[str, list[np.ndarray]] = {value: [] for value in ATTRIBUTES["colour"]}
    areas: dict[int, list[int]] = {0: [], 1: []}
    for i in range(len(ds)):
        item = ds[i]
        colour, _, size, position, count = item["labels"].tolist()
        image = item["image"].numpy()
        shape = image.max(axis=0) > 0.0  # the background is a dark grey, every palette colour is bright
        means[ATTRIBUTES["colour"][colour]].append(image[:, shape].mean(axis=1))
        if count == 0:
            areas[size].append(int(shape.sum()))
        ys, xs = np.nonzero(shape)
        place = ATTRIBUTES["position"][position]
        if place != "centre":
            assert (ys.mean() < 32) == place.startswith("top") and (xs.mean() < 32) == place.endswith("left")
        else:
            assert abs(ys.mean() - 32) < 6 and abs(xs.mean() - 32) < 6
        runs = np.diff(np.concatenate([[0], shape.any(axis=0).astype(int), [0]])).clip(0).sum()
        assert runs == count + 1, (i, item["caption"])  # a pair is two objects with a gap between them
    assert np.mean(areas[1]) > 2 * np.mean(areas[0])
    mean = {name: np.mean(values, axis=0) for name, values in means.items()}
    redness = {name: rgb[0] - rgb[1:].max() for name, rgb in mean.items()}
    assert max(redness, key=redness.get) == "red"
    assert mean["green"].argmax() == 1 and mean["blue"].argmax() == 2
    assert min(mean["yellow"][:2]) > mean["yellow"][2] + 0.5
    assert min(mean["purple"][[0, 2]]) > mean["purple"][1] + 0.5
    assert mean["white"].min() > 0.6 and np.ptp(mean["white"]) < 0.1
