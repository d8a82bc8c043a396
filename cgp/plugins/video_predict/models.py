"""The video_predict networks. Clips are (B, T, C, H, W) in [-1, 1].

* :class:`FramePredictor` — SimVP (Gao et al. 2022, "SimVP: Simpler yet Better Video Prediction"): a
  per-frame spatial encoder, a translator over the time-stacked encoder features (the frames' features
  joined along channels, so plain 2-D convolutions see every context frame at once), and a decoder with a
  skip from the last frame's first encoder layer. It maps K context frames to the next one, optionally as
  the change from the last frame; :meth:`FramePredictor.forward` rolls out ``frames`` steps by feeding
  each prediction back into the window.
* :class:`ClipDiscriminator` — the source notes' sequence discriminator: 3-D convolutions over context and
  predicted frames as one clip (spatial stride 2, temporal stride 1), a map of space-time patch scores.
  Unconditional, it sees the predicted frames alone.
* :class:`FrameDiscriminator` — a 2-D PatchGAN (``cgp.nn.patchgan``) on each predicted frame, joined
  along channels to the last context frame; unconditional, on the frame alone.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from cgp.core.interfaces import Discriminator, Generator
from cgp.nn.patchgan import patch_discriminator


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv, group norm, SiLU (SimVP's ``ConvSC``)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), _norm(c_out), nn.SiLU(True))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """Nearest-neighbour upsampling by 2 and a 3x3 conv (no checkerboards)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(c_in, c_out))


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(width, width), nn.Conv2d(width, width, 3, 1, 1), _norm(width))
        self.act = nn.SiLU(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class FramePredictor(Generator):
    """K context frames -> the next frame; ``forward(context, frames=T)`` -> (B, T, C, H, W).

    In training, each prediction is fed back as the next step's input (full rollout), or, with
    ``teacher_steps`` set, scheduled sampling (Bengio et al. 2015): each clip of the batch gets the true
    frame instead of its prediction with a chance that falls linearly from 1 at the first step to 0 at
    step ``teacher_steps`` (:meth:`set_progress`; a schedule in steps, so a run extended on resume keeps
    the schedule it started with).
    """

    noise_dim = 0
    reads_target = True

    def __init__(
        self,
        channels: int,
        context_frames: int,
        rollout: int = 1,
        spatial_width: int = 32,
        temporal_width: int = 128,
        levels: int = 2,
        blocks: int = 4,
        predict_change: bool = True,
        teacher_steps: int | None = None,
    ) -> None:
        super().__init__()
        self.channels, self.context_frames, self.rollout = channels, context_frames, rollout
        self.predict_change = predict_change
        self.teacher_steps = teacher_steps
        self.teacher_chance = 0.0
        self.stride = 2**levels
        self.stem = _conv(channels, spatial_width)
        self.down = nn.Sequential(*[_conv(spatial_width, spatial_width, 2) for _ in range(levels)])
        stacked = context_frames * spatial_width
        self.translator = nn.Sequential(
            _conv(stacked, temporal_width), *[_Residual(temporal_width) for _ in range(blocks)]
        )
        self.up = nn.Sequential(
            _up(temporal_width, spatial_width), *[_up(spatial_width, spatial_width) for _ in range(levels - 1)]
        )
        self.head = nn.Sequential(_conv(2 * spatial_width, spatial_width), nn.Conv2d(spatial_width, channels, 1))

    def encode(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, C, H, W) -> each frame's full-resolution features (B, N, F, H, W) and deep features
        (B, N, F, H/s, W/s); frames are encoded one by one, so a rollout encodes each frame once."""
        b, n, c, h, w = frames.shape
        if h % self.stride or w % self.stride:
            raise ValueError(f"frames of {h}x{w} are not a multiple of {self.stride}, which the encoder needs")
        first = self.stem(frames.reshape(b * n, c, h, w))
        deep = self.down(first)
        return first.reshape(b, n, *first.shape[1:]), deep.reshape(b, n, *deep.shape[1:])

    def decode(self, last: torch.Tensor, last_features: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        """The next frame (B, C, H, W) from the K frames' deep features (B, K, F, h, w), the last frame and
        its full-resolution features (the skip)."""
        decoded = self.up(self.translator(deep.flatten(1, 2)))  # frames joined along channels
        out = self.head(torch.cat([decoded, last_features], dim=1))
        if self.predict_change:
            return (last + out).clamp(-1, 1)
        return torch.tanh(out)

    def set_progress(self, step: int, steps: int) -> None:
        if self.teacher_steps:
            self.teacher_chance = max(0.0, 1.0 - step / self.teacher_steps)

    def step(self, window: torch.Tensor) -> torch.Tensor:
        """(B, K, C, H, W) -> the next frame (B, C, H, W)."""
        first, deep = self.encode(window)
        return self.decode(window[:, -1], first[:, -1], deep)

    def forward(
        self,
        cond: torch.Tensor,
        z: torch.Tensor | None = None,
        frames: int | None = None,
        target: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Roll out ``frames`` frames (``rollout`` by default) after the last K of ``cond``; ``target``, the
        true future, is read only in training with scheduled sampling."""
        window = cond[:, -self.context_frames :]
        teach = target is not None and self.training and self.teacher_chance > 0
        first, deep = self.encode(window)
        last, last_features = window[:, -1], first[:, -1]
        count = frames or self.rollout
        predicted = []
        for index in range(count):
            nxt = self.decode(last, last_features, deep)
            predicted.append(nxt)
            if index + 1 < count:  # slide the window: encode the new frame only
                if teach:  # scheduled sampling: some clips go on from the true frame
                    truth = torch.rand(nxt.shape[0], device=nxt.device) < self.teacher_chance
                    nxt = torch.where(truth.view(-1, 1, 1, 1), target[:, index].to(nxt.dtype), nxt)
                new_first, new_deep = self.encode(nxt[:, None])
                deep = torch.cat([deep[:, 1:], new_deep], dim=1)
                last, last_features = nxt, new_first[:, 0]
        return torch.stack(predicted, dim=1)


def _wrap(module: nn.Module, spectral: bool) -> nn.Module:
    return spectral_norm(module) if spectral else module


class ClipDiscriminator(Discriminator):
    """(future (B, T, C, H, W), context (B, K, C, H, W)) -> space-time patch scores (B, N).

    ``levels`` 3-D convolutions with 3x4x4 kernels halve height and width and keep time; a last 3x3x3
    convolution gives one score per space-time patch. Spectral norm on every layer by default.
    """

    def __init__(
        self, channels: int, width: int = 32, levels: int = 3, conditional: bool = True, spectral: bool = True
    ) -> None:
        super().__init__()
        self.uses_condition = conditional
        layers: list[nn.Module] = []
        c_in = channels
        for level in range(levels):
            c_out = width * 2**level
            layers += [
                _wrap(nn.Conv3d(c_in, c_out, (3, 4, 4), (1, 2, 2), (1, 1, 1)), spectral),
                nn.LeakyReLU(0.2, True),
            ]
            c_in = c_out
        layers.append(_wrap(nn.Conv3d(c_in, 1, 3, 1, 1), spectral))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        clip = torch.cat([cond, x], dim=1) if self.uses_condition else x
        return self.net(clip.transpose(1, 2)).flatten(1)  # (B, C, T, H, W) for Conv3d


class FrameDiscriminator(Discriminator):
    """(future (B, T, C, H, W), context) -> PatchGAN scores of every predicted frame, (B, T·N)."""

    def __init__(
        self, channels: int, image_size: int, width: int = 32, receptive_field: str = "34", conditional: bool = True
    ) -> None:
        super().__init__()
        self.uses_condition = conditional
        self.net = patch_discriminator(
            receptive_field, 2 * channels if conditional else channels, image_size, width, "instance"
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        frames = x.flatten(0, 1)
        if self.uses_condition:
            last = cond[:, -1:].expand(-1, t, -1, -1, -1).flatten(0, 1)
            frames = torch.cat([last, frames], dim=1)
        return self.net(frames).reshape(b, -1)
