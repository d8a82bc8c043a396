"""The pix2pix U-Net generator (Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks", section 3.2.1 and appendix 6.1.1; Ronneberger et al. 2015 for the U-Net).

An encoder-decoder whose mirrored layers are joined by skip connections, so that low-level detail
shared by input and output (edges, layout) bypasses the bottleneck. Every level halves the side with
a 4x4 stride-2 convolution (LeakyReLU 0.2 before it) and doubles it back with a 4x4 stride-2
transposed convolution (ReLU before it); widths are 64-128-256-512-512-... capped at 8x the base
width. The outermost level has no norm and ends in tanh; the innermost has no norm on its way down.
Dropout(0.5) in the decoder's 8x-wide levels below the bottleneck is the generator's only noise
(the paper's "noise in the form of dropout"). The layer choices and the parameter count match the
reference implementation's ``UnetGenerator`` (junyanz/pytorch-CycleGAN-and-pix2pix); ``unet_256``
with batch norm has 54,413,955 parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from cgp.nn.norm import norm_layer, uses_bias

UNET_DEPTHS = {"unet_32": 5, "unet_64": 6, "unet_128": 7, "unet_256": 8, "unet_512": 9}


def unet_depth(name: str) -> int:
    """The number of downsamplings of a named U-Net (``unet_256`` -> 8: a 256 image reaches 1x1)."""
    try:
        return UNET_DEPTHS[name]
    except KeyError:
        raise ValueError(f"unknown U-Net {name!r}; choose one of {', '.join(UNET_DEPTHS)}") from None


class UNetSkipBlock(nn.Module):
    """One U-Net level: down, the inner levels, up, and the skip connection around them.

    A non-outermost level returns ``cat([LeakyReLU(x), up(inner(down(LeakyReLU(x))))])``: the skip
    carries the *activated* input, as the reference's in-place LeakyReLU makes it do.
    """

    def __init__(
        self,
        outer_channels: int,
        inner_channels: int,
        in_channels: int | None = None,
        inner: UNetSkipBlock | None = None,
        *,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "batch",
        dropout: bool = False,
        out_activation: str = "tanh",
    ) -> None:
        super().__init__()
        if (inner is None) != innermost:
            raise ValueError("exactly the innermost U-Net level has no inner level")
        make_norm, bias = norm_layer(norm), uses_bias(norm)
        in_channels = outer_channels if in_channels is None else in_channels
        self.outermost = outermost
        self.act = nn.Identity() if outermost else nn.LeakyReLU(0.2)
        # The bias follows the norm kind even where no norm follows (outermost, innermost): as the reference.
        self.down = nn.Sequential(
            nn.Conv2d(in_channels, inner_channels, 4, 2, 1, bias=bias),
            nn.Identity() if outermost or innermost else make_norm(inner_channels),
        )
        self.inner = inner if inner is not None else nn.Identity()
        up_in = inner_channels if innermost else 2 * inner_channels
        if outermost:
            up_conv = nn.ConvTranspose2d(up_in, outer_channels, 4, 2, 1)
            self.up = nn.Sequential(nn.ReLU(True), up_conv, nn.Tanh() if out_activation == "tanh" else nn.Identity())
        else:
            up_conv = nn.ConvTranspose2d(up_in, outer_channels, 4, 2, 1, bias=bias)
            tail = [nn.Dropout(0.5)] if dropout else []
            self.up = nn.Sequential(nn.ReLU(True), up_conv, make_norm(outer_channels), *tail)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(x)
        y = self.up(self.inner(self.down(h)))
        return y if self.outermost else torch.cat([h, y], dim=1)


class UNetGenerator(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]; H and W multiples of ``stride``.

    ``num_downs`` is the number of halvings (at least 5; see :func:`unet_depth`); ``dropout`` puts
    Dropout(0.5) in the ``num_downs - 5`` innermost 8x-wide levels around the bottleneck.
    ``out_activation="none"`` drops the final tanh (for outputs that are not images in [-1, 1]).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_downs: int,
        base_width: int = 64,
        norm: str = "batch",
        dropout: bool = True,
        out_activation: str = "tanh",
    ) -> None:
        super().__init__()
        if out_activation not in ("tanh", "none"):
            raise ValueError(f"out_activation must be 'tanh' or 'none', got {out_activation!r}")
        if num_downs < 5:
            raise ValueError(f"a U-Net needs num_downs >= 5, got {num_downs}")
        self.num_downs = num_downs
        self.stride = 2**num_downs
        w = base_width
        block = UNetSkipBlock(8 * w, 8 * w, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UNetSkipBlock(8 * w, 8 * w, inner=block, norm=norm, dropout=dropout)
        for outer, inner in ((4 * w, 8 * w), (2 * w, 4 * w), (w, 2 * w)):
            block = UNetSkipBlock(outer, inner, inner=block, norm=norm)
        self.model = UNetSkipBlock(
            out_channels, w, in_channels, block, outermost=True, norm=norm, out_activation=out_activation
        )

    def check_input_size(self, h: int, w: int) -> None:
        """Raise ValueError unless both sides are multiples of ``stride`` (the skips need exact halvings)."""
        if h % self.stride or w % self.stride:
            raise ValueError(
                f"U-Net with {self.num_downs} downsamplings needs height and width that are multiples of "
                f"{self.stride}, got {h}x{w}; resize or crop the input (e.g. to {self.stride}x{self.stride})"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input_size(x.shape[-2], x.shape[-1])
        return self.model(x)
