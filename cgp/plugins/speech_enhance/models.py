"""The speech-enhancement networks, all working on waveforms at their edges.

- :class:`NoisyCondition` turns the noisy waveform into its STFT and compressed magnitude once per
  step; the generator reads both, the discriminator reads the magnitude.
- :class:`SpectrogramEnhancer` runs a 2-D U-Net over (frequency, time) of the noisy compressed
  magnitude and predicts a bounded mask (default) or a magnitude; the enhanced waveform is the
  inverse STFT of that magnitude with the noisy phase. Any length works: frames are padded to the
  U-Net's stride and cropped back, and the Nyquist bin reuses its neighbour's output so the network
  sees ``n_fft / 2`` bins, a power of two.
- :class:`SpectrogramDiscriminator` is a PatchGAN over time-frequency patches of the candidate's
  compressed magnitude stacked with the noisy input's (SEGAN's input-conditioned discriminator,
  Pascual et al. 2017, in the spectral domain), or of the candidate alone for the ablation.

Generated and real samples are waveforms, so every loss (waveform L1, spectral L1 on the re-analysed
output, multi-resolution STFT) scores what would be heard.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cgp.core.interfaces import Condition, Discriminator, Generator
from cgp.nn.unet import UNetGenerator
from cgp.plugins.speech_enhance.frontend import STFTFrontEnd


class NoisyCondition(Condition):
    """Raw condition: the noisy waveform (B, L). Encoded: ``{"wave", "spec", "feats"}``."""

    def __init__(self, frontend: STFTFrontEnd) -> None:
        super().__init__()
        self.frontend = frontend

    def forward(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        spec = self.frontend.stft(raw)
        return {"wave": raw, "spec": spec, "feats": self.frontend.compressed(spec).unsqueeze(1)}

    def for_discriminator(self, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        return encoded["feats"]


COMPLEX_MASK_BOUND = 2.0
"""The complex mask's real and imaginary parts lie in [-2, 2] (tanh scaled): enough to undo the
attenuation and phase error of noise at the SNRs the task trains on, bounded so training is stable."""


class SpectrogramEnhancer(Generator):
    """``forward(cond) -> enhanced waveform (B, L)``; ``mode`` is ``mask``, ``magnitude`` or ``complex``.

    ``mask``: the U-Net's tanh output ``t`` gives the gain ``(t + 1) / 2`` in [0, 1] on the noisy
    spectrogram. ``magnitude``: the U-Net's linear output is a correction to the noisy compressed
    magnitude, ``max(0, noisy + t)``, decompressed and given the noisy phase. ``complex``: the U-Net
    reads the compressed complex spectrogram (magnitude, real and imaginary parts, as CMGAN's
    generator does) and predicts a complex ratio mask (Williamson et al. 2016) applied to it, so it
    corrects the phase as well as the magnitude; the result is decompressed.
    """

    noise_dim = 0

    def __init__(self, frontend: STFTFrontEnd, mode: str, width: int, depth: int, norm: str) -> None:
        super().__init__()
        if mode not in ("mask", "magnitude", "complex"):
            raise ValueError(f"mode must be 'mask', 'magnitude' or 'complex', got {mode!r}")
        self.frontend, self.mode = frontend, mode
        channels_in, channels_out = (3, 2) if mode == "complex" else (1, 1)
        self.net = UNetGenerator(
            channels_in,
            channels_out,
            depth,
            width,
            norm,
            dropout=False,
            out_activation="none" if mode == "magnitude" else "tanh",
        )
        self.stride = self.net.stride
        if (frontend.bins - 1) % self.stride:
            raise ValueError(
                f"n_fft / 2 = {frontend.bins - 1} bins must be a multiple of the U-Net's stride {self.stride}; "
                "use a power-of-two n_fft of at least 2 ** (depth + 1)"
            )

    def enhance_spec(self, feats: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """(B, 1, F, T) noisy features and (B, F, T) noisy spectrogram -> enhanced spectrogram."""
        frames = feats.shape[-1]
        pad = -frames % self.stride
        phase = spec / spec.abs().clamp_min(1e-8) if self.mode != "mask" else None
        if self.mode == "complex":
            compressed = feats.squeeze(1).float() * phase  # |X|^c with the noisy phase
            feats = torch.stack([feats.squeeze(1), compressed.real.to(feats.dtype), compressed.imag.to(feats.dtype)], 1)
        x = F.pad(feats[:, :, :-1], (0, pad))  # drop the Nyquist bin, pad time to the stride
        out = self.net(x)[..., :frames].float()
        out = torch.cat([out, out[:, :, -1:]], dim=2)  # the Nyquist bin copies its neighbour
        if self.mode == "complex":
            mask = torch.complex(out[:, 0], out[:, 1]) * COMPLEX_MASK_BOUND
            enhanced = mask * compressed
            magnitude = enhanced.abs()
            return self.frontend.decompressed(magnitude) * (enhanced / magnitude.clamp_min(1e-8))
        out = out.squeeze(1)
        if self.mode == "mask":
            return spec * ((out + 1) / 2)
        magnitude = self.frontend.decompressed(feats.squeeze(1).float() + out)
        return magnitude * phase

    def forward(self, cond: dict[str, torch.Tensor], z: torch.Tensor | None = None) -> torch.Tensor:
        enhanced = self.enhance_spec(cond["feats"], cond["spec"])
        return self.frontend.istft(enhanced, cond["wave"].shape[-1])


class SpectrogramDiscriminator(Discriminator):
    """Scores a waveform's time-frequency patches, next to the noisy input's (``conditional``) or alone."""

    def __init__(self, frontend: STFTFrontEnd, net: nn.Module, conditional: bool = True) -> None:
        super().__init__()
        self.frontend, self.net = frontend, net
        self.uses_condition = conditional

    def _input(self, wave: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        feats = self.frontend.features(wave).to(cond.dtype if torch.is_floating_point(cond) else torch.float32)
        return torch.cat([cond, feats], dim=1) if self.uses_condition else feats

    def forward(self, x: torch.Tensor, cond: Any) -> torch.Tensor:
        return self.net(self._input(x, cond))

    def features(self, x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
        return self.net.features(self._input(x, cond))
