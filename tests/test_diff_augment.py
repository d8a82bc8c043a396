"""DiffAugment's transformations: what each does to an image, per sample, and that gradients pass."""

from __future__ import annotations

import pytest
import torch

from cgp.nn.diff_augment import color, cutout, diff_augment, translation


def test_translation_shifts_each_sample_by_whole_pixels_with_a_zero_border() -> None:
    torch.manual_seed(0)
    x = torch.rand(64, 3, 16, 16) + 1.0  # no zero inside, so zeros are the vacated border
    moved = translation(x)
    shifts = set()
    for original, shifted in zip(x, moved, strict=True):
        zero_rows = (shifted == 0).all(dim=(0, 2))
        zero_cols = (shifted == 0).all(dim=(0, 1))
        dy, dx = int(zero_rows.sum()), int(zero_cols.sum())
        assert dy <= 2 and dx <= 2  # at most 1/8 of 16 pixels
        dy = dy if zero_rows[:1].any() or dy == 0 else -dy  # a zero band at the top: moved down
        dx = dx if zero_cols[:1].any() or dx == 0 else -dx
        assert torch.equal(shifted, torch.roll(original, (dy, dx), dims=(1, 2)) * (shifted != 0))
        shifts.add((dy, dx))
    assert len(shifts) > 5  # every sample draws its own shift


def test_cutout_zeroes_one_square_of_half_the_side_at_most() -> None:
    torch.manual_seed(0)
    x = torch.rand(64, 3, 16, 16) + 1.0
    holes = (cutout(x) == 0).all(dim=1)  # (B, H, W)
    assert holes.any(dim=(1, 2)).all()  # a centre inside the image: some of every square is inside
    sizes = holes.sum(dim=(1, 2))
    assert sizes.max() == 64 and sizes.min() >= 16  # 8x8 whole, or cut by the border down to a quarter
    rows, cols = holes.any(dim=2), holes.any(dim=1)
    assert torch.equal(sizes, rows.sum(1) * cols.sum(1))  # a rectangle, not scattered pixels


def test_color_moves_brightness_saturation_and_contrast_per_sample() -> None:
    torch.manual_seed(0)
    gray = torch.full((8, 3, 4, 4), 0.2)
    out = color(gray)
    assert torch.allclose(out, out[:, :1].expand_as(out))  # a gray image stays gray (saturation acts on colour)
    assert out.mean(dim=(1, 2, 3)).std() > 0.05  # brightness differs per sample
    x = torch.rand(8, 3, 4, 4)
    assert not torch.allclose(color(x), x)


def test_the_policy_runs_in_order_and_passes_gradients() -> None:
    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    out = diff_augment(x, ["color", "translation", "cutout"])
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.equal(diff_augment(x, []), x)
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        diff_augment(x, ["flip"])
