"""Image quality measures: known values and the properties the benchmarks rely on."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cgp.metrics.image import high_frequency_energy, l1, psnr, sharpness_ratio, ssim


def test_psnr_of_a_known_error() -> None:
    target = torch.zeros(1, 3, 8, 8)
    output = torch.full((1, 3, 8, 8), 0.2)  # 0.1 on the [0, 1] scale -> mse 0.01 -> 20 dB
    assert psnr(output, target).item() == pytest.approx(20.0, abs=1e-4)
    assert l1(output, target).item() == pytest.approx(0.2)


def test_ssim_identity_and_known_constant_case() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-5)
    # constant images a and b (on [0, 1]): variances and covariance vanish, so
    # SSIM = (2ab + c1) / (a^2 + b^2 + c1)
    a, b, c1 = 0.25, 0.75, 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = ssim(torch.full((1, 1, 16, 16), a * 2 - 1), torch.full((1, 1, 16, 16), b * 2 - 1))
    assert got.item() == pytest.approx(expected, rel=1e-4)


def test_ssim_drops_with_noise_and_blur() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 48, 48, generator=g) * 2 - 1
    noisy = (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    assert ssim(noisy, x).item() < 0.9
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))


def test_blur_lowers_sharpness_ratio() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    assert sharpness_ratio(x, x).item() == pytest.approx(1.0)
    assert sharpness_ratio(blurred, x).item() < 0.3
    assert high_frequency_energy(torch.zeros(1, 3, 8, 8)).item() == 0.0
    assert not math.isnan(sharpness_ratio(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)).item())
