"""Every pixel mode Pillow reports decodes to the right 8-bit values, or is refused naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cgp.core.errors import DataError
from cgp.datasets.images import load_image


def saved(tmp_path: Path, img: Image.Image, name: str = "img.png") -> Path:
    path = tmp_path / name
    img.save(path)
    return path


def test_sixteen_bit_png_is_scaled_not_saturated(tmp_path: Path) -> None:
    ramp = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16)
    path = saved(tmp_path, Image.fromarray(ramp))  # uint16: Pillow mode I;16
    assert Image.open(path).mode in ("I;16", "I")
    gray = np.asarray(load_image(path, "L"))
    assert gray.tolist() == [[0, 64, 128, 255]]
    rgb = np.asarray(load_image(path, "RGB"))
    assert rgb.shape == (1, 4, 3) and rgb[0, :, 0].tolist() == [0, 64, 128, 255]


def test_thirty_two_bit_integer_within_sixteen_bits_is_scaled(tmp_path: Path) -> None:
    values = np.array([[0, 65535]], dtype=np.int32)
    path = saved(tmp_path, Image.fromarray(values, mode="I"), "i.tiff")
    assert np.asarray(load_image(path, "L")).tolist() == [[0, 255]]


def test_thirty_two_bit_integer_beyond_sixteen_bits_is_refused(tmp_path: Path) -> None:
    path = saved(tmp_path, Image.fromarray(np.array([[0, 70000]], dtype=np.int32), mode="I"), "wide.tiff")
    with pytest.raises(DataError, match="wide.tiff.*outside 0..65535"):
        load_image(path)


def test_float_image_in_unit_range_is_scaled_and_outside_is_refused(tmp_path: Path) -> None:
    path = saved(tmp_path, Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), mode="F"), "f.tiff")
    assert np.asarray(load_image(path, "L")).tolist() == [[0, 128, 255]]
    bad = saved(tmp_path, Image.fromarray(np.array([[0.0, 3.0]], dtype=np.float32), mode="F"), "hdr.tiff")
    with pytest.raises(DataError, match="hdr.tiff.*outside 0..1"):
        load_image(bad)


def test_palette_transparency_is_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.info["transparency"] = 1
    path = saved(tmp_path, img, "p.png")
    assert np.asarray(load_image(path)).tolist() == [[[255, 0, 0], [255, 255, 255]]]


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_composited_on_white(tmp_path: Path, mode: str) -> None:
    img = Image.new(mode, (2, 1))
    opaque_black = (0, 255) if mode == "LA" else (0, 0, 0, 255)
    clear = (0, 0) if mode == "LA" else (0, 0, 0, 0)
    img.putpixel((0, 0), opaque_black)
    img.putpixel((1, 0), clear)
    path = saved(tmp_path, img, f"{mode}.png")
    assert np.asarray(load_image(path)).tolist() == [[[0, 0, 0], [255, 255, 255]]]


def test_one_bit_and_cmyk_convert(tmp_path: Path) -> None:
    bits = Image.new("1", (2, 1))
    bits.putpixel((1, 0), 1)
    assert np.asarray(load_image(saved(tmp_path, bits, "b.png"), "L")).tolist() == [[0, 255]]
    cmyk = Image.new("CMYK", (1, 1), (0, 0, 0, 0))
    assert np.asarray(load_image(saved(tmp_path, cmyk, "c.jpg"))).tolist() == [[[255, 255, 255]]]


def test_a_folder_named_like_an_image_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(DataError, match="dir.png"):
        load_image(tmp_path / "dir.png")
