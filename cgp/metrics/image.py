"""Image quality measures on tensors in [-1, 1], shape (B, C, H, W); every function returns one
value per image (shape (B,)), so callers can average or report per image.

* PSNR on the [0, 1] range.
* SSIM (Wang et al. 2004, "Image Quality Assessment: From Error Visibility to Structural
  Similarity"): 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, data range 1, computed
  per channel on valid (unpadded) windows and averaged — the usual reference settings.
* High-frequency energy: the mean squared response to a discrete Laplacian. Blurry outputs (the
  conditional-average argument of the source notes) have less of it than their targets, so
  ``sharpness_ratio = hf_energy(output) / hf_energy(target)`` is about 1 for a sharp model and
  well below 1 for an over-smoothed one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _unit(x: torch.Tensor) -> torch.Tensor:
    return ((x.float() + 1) / 2).clamp(0, 1)


def psnr(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    mse = (_unit(output) - _unit(target)).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error on the [-1, 1] scale the models train on."""
    return (output.float() - target.float()).abs().flatten(1).mean(1)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(output: torch.Tensor, target: torch.Tensor, window_size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    # float64: the variances are differences of nearly equal numbers, and float32 rounding there is
    # of the order of the constant c2 they are compared with
    x, y = _unit(output).double(), _unit(target).double()
    channels = x.shape[1]
    if min(x.shape[-2:]) < window_size:
        raise ValueError(f"SSIM needs images of at least {window_size}x{window_size}, got {tuple(x.shape[-2:])}")
    window = _gaussian_window(window_size, sigma).to(x.device, torch.float64)[None, None].repeat(channels, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (num / den).flatten(1).mean(1).float()


_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def high_frequency_energy(images: torch.Tensor) -> torch.Tensor:
    x = _unit(images)
    channels = x.shape[1]
    kernel = _LAPLACIAN.to(x.device)[None, None].repeat(channels, 1, 1, 1)
    return F.conv2d(x, kernel, groups=channels).pow(2).flatten(1).mean(1)


def sharpness_ratio(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """High-frequency energy of the output relative to the target's (1: as sharp; < 1: blurrier)."""
    return high_frequency_energy(output) / high_frequency_energy(target).clamp_min(1e-12)
