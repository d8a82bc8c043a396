"""The CycleGAN ResNet generator (Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", appendix 7.2; after Johnson et al. 2016, "Perceptual Losses
for Real-Time Style Transfer and Super-Resolution").

c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-out: a reflection-padded 7x7 convolution, two
3x3 stride-2 downsamplings, residual blocks of two reflection-padded 3x3 convolutions, two 3x3
stride-2 transposed convolutions (output_padding 1, so each exactly doubles the side), and a 7x7
convolution with tanh. Layer choices and parameter counts match the reference implementation's
``ResnetGenerator`` (junyanz/pytorch-CycleGAN-and-pix2pix): ``resnet_9blocks`` (3 -> 3, 64 wide) has
11,378,179 parameters with instance norm and 11,383,427 with batch norm.
"""

from __future__ import annotations

import torch
from torch import nn

from cgp.nn.norm import NormFactory, norm_layer, uses_bias

PADDINGS = ("reflect", "replicate", "zero")


def _pad(padding: str, size: int) -> tuple[list[nn.Module], int]:
    """Explicit padding layers and the convolution's own zero padding for ``padding``."""
    if padding == "reflect":
        return [nn.ReflectionPad2d(size)], 0
    if padding == "replicate":
        return [nn.ReplicationPad2d(size)], 0
    if padding == "zero":
        return [], size
    raise ValueError(f"unknown padding {padding!r}; choose one of {', '.join(PADDINGS)}")


class ResnetBlock(nn.Module):
    """x + (pad, conv3x3, norm, ReLU, [dropout], pad, conv3x3, norm)(x)."""

    def __init__(self, width: int, make_norm: NormFactory, bias: bool, dropout: bool, padding: str) -> None:
        super().__init__()
        pad, p = _pad(padding, 1)
        layers: list[nn.Module] = [*pad, nn.Conv2d(width, width, 3, padding=p, bias=bias), make_norm(width)]
        layers.append(nn.ReLU(True))
        if dropout:
            layers.append(nn.Dropout(0.5))
        pad, p = _pad(padding, 1)
        layers += [*pad, nn.Conv2d(width, width, 3, padding=p, bias=bias), make_norm(width)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]; H and W multiples of ``stride`` (4).

    ``n_blocks`` is 9 for ``resnet_9blocks`` (256x256 images in CycleGAN) and 6 for ``resnet_6blocks``
    (128x128); ``padding`` is ``reflect`` (the paper's, against border artefacts), ``replicate`` or
    ``zero`` inside the residual blocks.
    """

    n_downsampling = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_width: int = 64,
        norm: str = "batch",
        dropout: bool = False,
        n_blocks: int = 9,
        padding: str = "reflect",
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        _pad(padding, 1)
        make_norm, bias = norm_layer(norm), uses_bias(norm)
        self.stride = 2**self.n_downsampling
        w = base_width
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, w, 7, bias=bias),
            make_norm(w),
            nn.ReLU(True),
        ]
        for i in range(self.n_downsampling):
            c = w * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), make_norm(2 * c), nn.ReLU(True)]
        c = w * 2**self.n_downsampling
        layers += [ResnetBlock(c, make_norm, bias, dropout, padding) for _ in range(n_blocks)]
        for _ in range(self.n_downsampling):
            up = nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias)
            layers += [up, make_norm(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def check_input_size(self, h: int, w: int) -> None:
        """Raise ValueError unless both sides are multiples of ``stride`` (so the output matches the input)."""
        if h % self.stride or w % self.stride:
            raise ValueError(
                f"ResNet generator needs height and width that are multiples of {self.stride}, got {h}x{w}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input_size(x.shape[-2], x.shape[-1])
        return self.model(x)
