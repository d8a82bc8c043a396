"""DCGAN building blocks (Radford et al. 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

The architecture rules of the paper: strided (transposed) convolutions instead of pooling, batch
norm in both networks except the generator output and the discriminator input, ReLU in the
generator with tanh at the output, LeakyReLU(0.2) in the discriminator, N(0, 0.02) weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from cgp.nn.attention import SelfAttention2d
from cgp.nn.conditional_norm import ConditionalBatchNorm2d


def dcgan_init(module: nn.Module, kind: str = "normal") -> None:
    """N(0, 0.02) conv/linear weights; N(1, 0.02) batch-norm scales (the paper's initialisation);
    conditional batch norms start as the plain one. ``kind='orthogonal'`` draws the conv, linear and
    embedding weights as orthogonal matrices instead (Saxe et al. 2014; BigGAN's choice)."""
    if kind not in ("normal", "orthogonal"):
        raise ValueError(f"unknown init {kind!r}; choose normal or orthogonal")
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            if kind == "orthogonal":
                nn.init.orthogonal_(m.weight)
            else:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, ConditionalBatchNorm2d):
            m.reset_condition()  # a fresh conditional norm is the plain batch norm


def _levels(image_size: int) -> int:
    levels = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (levels + 2) != image_size:
        raise ValueError(f"DCGAN image size must be a power of two >= 8, got {image_size}")
    return levels


def check_attention_at(attention_at: int | None, image_size: int) -> None:
    """A self-attention resolution must be a power of two from 8 to half the image side."""
    if attention_at is not None and (
        attention_at < 8 or attention_at > image_size // 2 or attention_at & (attention_at - 1)
    ):
        raise ValueError(
            f"must be a power of two from 8 to {image_size // 2} for {image_size}-px images, got {attention_at}"
        )


class DCGANDecoder(nn.Module):
    """(B, in_dim) -> (B, channels, S, S) in [-1, 1]: project to 4x4, then upsample by 2 per level.

    With ``cond_dim`` > 0 every batch norm is a :class:`ConditionalBatchNorm2d` whose scale and shift
    come from the ``cond`` vector given to :meth:`forward` (BigGAN's conditioning of each block),
    in addition to whatever the input vector carries. ``attention_at`` inserts a
    :class:`SelfAttention2d` block after the hidden layer of that resolution (SAGAN); ``spectral``
    puts spectral norm on every convolution (SAGAN and BigGAN normalise the generator too).
    """

    def __init__(
        self,
        in_dim: int,
        image_size: int = 32,
        channels: int = 3,
        base_width: int = 64,
        cond_dim: int = 0,
        attention_at: int | None = None,
        spectral: bool = False,
    ) -> None:
        super().__init__()
        levels = _levels(image_size)
        check_attention_at(attention_at, image_size)
        width = base_width * 2 ** (levels - 1)
        wrap = spectral_norm if spectral else (lambda m: m)

        def norm(c: int) -> nn.Module:
            return ConditionalBatchNorm2d(c, cond_dim) if cond_dim > 0 else nn.BatchNorm2d(c)

        self.project = nn.Sequential(
            wrap(nn.ConvTranspose2d(in_dim, width, 4, 1, 0, bias=False)), norm(width), nn.ReLU(True)
        )
        blocks: list[nn.Module] = []
        size = 4
        for _ in range(levels - 1):
            blocks += [
                wrap(nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False)),
                norm(width // 2),
                nn.ReLU(True),
            ]
            width, size = width // 2, size * 2
            if size == attention_at:
                blocks.append(SelfAttention2d(width, spectral))
        blocks += [wrap(nn.ConvTranspose2d(width, channels, 4, 2, 1)), nn.Tanh()]
        self.body = nn.Sequential(*blocks)
        self.cond_dim = cond_dim

    def forward(self, h: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond_dim == 0:
            return self.body(self.project(h[:, :, None, None]))
        if cond is None:
            raise ValueError("this DCGANDecoder is conditional: pass cond")
        x = h[:, :, None, None]
        for layer in (*self.project, *self.body):
            x = layer(x, cond) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
        return x


class DCGANEncoder(nn.Module):
    """(B, channels, S, S) -> list of feature maps, the last (B, width, 4, 4); halves the size per level.

    ``norm`` is ``batch`` (DCGAN), ``spectral`` (Miyato et al. 2018; no batch norm) or ``none``.
    ``attention_at`` appends a :class:`SelfAttention2d` block to the level whose output has that
    resolution (SAGAN). ``stride1`` puts a 3x3 stride-1 convolution before each level's downsampling one,
    as SNGAN's "standard CNN" discriminator does (Miyato et al. 2018, Table 3): twice the depth, and
    features at the input's full resolution.
    """

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        base_width: int = 64,
        norm: str = "batch",
        attention_at: int | None = None,
        stride1: bool = False,
    ) -> None:
        super().__init__()
        levels = _levels(image_size)
        check_attention_at(attention_at, image_size)
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        layers: list[nn.Module] = []
        width_in, width = channels, base_width
        for level in range(levels):
            block: list[nn.Module] = []
            if stride1:
                block += [wrap(nn.Conv2d(width_in, width, 3, 1, 1)), nn.LeakyReLU(0.2, True)]
                width_in = width
            block.append(wrap(nn.Conv2d(width_in, width, 4, 2, 1, bias=norm != "batch" or level == 0)))
            if norm == "batch" and level > 0:
                block.append(nn.BatchNorm2d(width))
            block.append(nn.LeakyReLU(0.2, True))
            if image_size >> (level + 1) == attention_at:
                block.append(SelfAttention2d(width, norm == "spectral"))
            layers.append(nn.Sequential(*block))
            width_in, width = width, width * 2
        self.blocks = nn.ModuleList(layers)
        self.out_width = width_in

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats
