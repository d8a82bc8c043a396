"""pix2pix / CycleGAN building blocks (cgp.nn.unet, resnet, patchgan, norm, init) against the
reference implementation's parameter counts and the paper's receptive fields."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cgp.nn.init import init_weights
from cgp.nn.norm import norm_layer, uses_bias
from cgp.nn.patchgan import (
    RECEPTIVE_FIELDS,
    ImageDiscriminator,
    NLayerDiscriminator,
    PixelDiscriminator,
    patch_discriminator,
    receptive_field_size,
)
from cgp.nn.resnet import ResnetGenerator
from cgp.nn.unet import UNetGenerator, unet_depth


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def unet_256() -> UNetGenerator:
    return UNetGenerator(3, 3, unet_depth("unet_256"), 64, "batch", dropout=True)


# Parameter counts of the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix).


def test_unet_256_parameter_count(unet_256: UNetGenerator) -> None:
    assert n_params(unet_256) == 54_413_955


def test_patchgan_70_parameter_count() -> None:
    assert n_params(NLayerDiscriminator(6, 64, 3, "batch")) == 2_768_705


@pytest.mark.parametrize(
    ("norm", "n_blocks", "expected"),
    [("instance", 9, 11_378_179), ("batch", 9, 11_383_427), ("instance", 6, 7_837_699)],
)
def test_resnet_parameter_count(norm: str, n_blocks: int, expected: int) -> None:
    assert n_params(ResnetGenerator(3, 3, 64, norm, n_blocks=n_blocks)) == expected


# Receptive fields, measured: the input pixels one central output unit depends on.


def _positive_weights(module: nn.Module) -> None:
    """All conv weights 1/fan_in, biases 0: with a positive input nothing cancels, so every pixel in
    the receptive field gets a non-zero gradient."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 1.0 / m.weight[0].numel())
            if m.bias is not None:
                nn.init.zeros_(m.bias)


@pytest.mark.parametrize("name", RECEPTIVE_FIELDS)
def test_receptive_field_measured(name: str) -> None:
    size = 256
    d = patch_discriminator(name, 3, image_size=size, base_width=8).eval()
    _positive_weights(d)
    x = torch.rand(1, 3, size, size, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 3))).flatten()
    cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 2))).flatten()
    height = int(rows.max() - rows.min() + 1)
    width = int(cols.max() - cols.min() + 1)
    expected = receptive_field_size(name, size)
    assert (height, width) == (expected, expected)
    if name != "image":  # the box must not be clipped by the image border
        assert rows.min() > 0 and cols.min() > 0 and rows.max() < size - 1 and cols.max() < size - 1


def test_receptive_field_names() -> None:
    assert [receptive_field_size(n, 256) for n in RECEPTIVE_FIELDS] == [1, 16, 34, 70, 142, 256]
    with pytest.raises(ValueError, match="286"):
        receptive_field_size("286", 256)


# Discriminator shapes.


@pytest.mark.parametrize(
    ("name", "side"), [("pixel", 128), ("16", 62), ("34", 30), ("70", 14), ("142", 6), ("image", 1)]
)
def test_discriminator_output_shapes(name: str, side: int) -> None:
    d = patch_discriminator(name, 6, image_size=128, base_width=8)
    with torch.no_grad():
        assert d(torch.randn(2, 6, 128, 128)).shape == (2, 1, side, side)


def test_image_discriminator_non_square_and_wrong_size() -> None:
    d = ImageDiscriminator(3, (64, 32), base_width=8, norm="instance")
    with torch.no_grad():
        assert d(torch.randn(2, 3, 64, 32)).shape == (2, 1, 1, 1)
        with pytest.raises(ValueError, match="64x32"):
            d(torch.randn(2, 3, 32, 32))


def test_patchgan_features_end_where_the_head_starts() -> None:
    d = NLayerDiscriminator(3, 8, 3, "batch").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = d.features(x)
        assert [f.shape[1] for f in feats] == [8, 16, 32, 64]
        assert [f.shape[2] for f in feats] == [32, 16, 8, 7]
        assert torch.equal(d.head(feats[-1]), d(x))


def test_pixel_discriminator_is_pointwise() -> None:
    d = PixelDiscriminator(3, 8, "none").eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        full = d(x)
        assert torch.allclose(full[..., 2:3, 5:6], d(x[..., 2:3, 5:6]))


# U-Net.


def test_unet_256_preserves_shape(unet_256: UNetGenerator) -> None:
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        y = unet_256.eval()(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0


def test_unet_32_preserves_shape() -> None:
    g = UNetGenerator(3, 2, unet_depth("unet_32"), base_width=8)
    with torch.no_grad():
        assert g(torch.randn(2, 3, 32, 32)).shape == (2, 2, 32, 32)


def test_unet_wrong_size_names_the_multiple() -> None:
    g = UNetGenerator(3, 3, unet_depth("unet_64"), base_width=8)
    assert g.stride == 64
    with pytest.raises(ValueError, match="multiples of 64"):
        g(torch.randn(1, 3, 64, 96))
    with pytest.raises(ValueError, match="num_downs >= 5"):
        UNetGenerator(3, 3, 4)


def test_unet_dropout_only_in_train_mode() -> None:
    torch.manual_seed(0)
    g = UNetGenerator(3, 3, unet_depth("unet_64"), base_width=8, dropout=True)
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 1
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert not torch.equal(g.train()(x), g(x))
        g.eval()
        assert torch.equal(g(x), g(x))


def test_unet_depth_names() -> None:
    assert [unet_depth(f"unet_{s}") for s in (32, 64, 128, 256, 512)] == [5, 6, 7, 8, 9]
    with pytest.raises(ValueError, match="unet_256"):
        unet_depth("unet_100")


# ResNet generator.


@pytest.mark.parametrize("padding", ["reflect", "replicate", "zero"])
def test_resnet_preserves_shape(padding: str) -> None:
    g = ResnetGenerator(3, 3, base_width=8, norm="instance", n_blocks=9, padding=padding)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert g(x).shape == x.shape
    with pytest.raises(ValueError, match="multiples of 4"):
        g(torch.randn(1, 3, 62, 64))


# Norms and initialisation.


def test_norm_layers() -> None:
    bn = norm_layer("batch")(4)
    assert isinstance(bn, nn.BatchNorm2d) and bn.affine and bn.track_running_stats
    inn = norm_layer("instance")(4)
    assert isinstance(inn, nn.InstanceNorm2d) and not inn.affine and not inn.track_running_stats
    assert isinstance(norm_layer("none")(4), nn.Identity)
    assert [uses_bias(k) for k in ("batch", "instance", "none")] == [False, True, True]
    with pytest.raises(ValueError, match="layer"):
        norm_layer("layer")


def test_init_weights_normal() -> None:
    torch.manual_seed(0)
    d = init_weights(NLayerDiscriminator(3, 64, 3, "batch"))
    conv = d.blocks[2][0]
    bn = d.blocks[2][1]
    assert abs(conv.weight.std().item() - 0.02) < 1e-3 and abs(conv.weight.mean().item()) < 1e-3
    assert abs(bn.weight.mean().item() - 1.0) < 5e-3 and torch.all(bn.bias == 0)
    assert torch.all(d.head.bias == 0)


@pytest.mark.parametrize("kind", ["xavier", "kaiming", "orthogonal"])
def test_init_weights_other_kinds(kind: str) -> None:
    g = init_weights(UNetGenerator(3, 3, 5, base_width=4), kind)
    assert all(torch.isfinite(p).all() for p in g.parameters())


def test_init_weights_unknown_kind() -> None:
    with pytest.raises(ValueError, match="uniform"):
        init_weights(nn.Conv2d(1, 1, 1), "uniform")
