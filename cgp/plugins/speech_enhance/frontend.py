"""The STFT front end: waveform -> complex spectrogram -> generator features, and back.

The generator reads the *compressed magnitude* ``|X| ** c`` of the noisy short-time Fourier
transform (``c = 0.3`` by default: power-law compression evens out the dynamic range of speech
spectra, as in MetricGAN+ and CMGAN; ``c = 1`` is the plain magnitude) and the enhanced waveform is
rebuilt from an enhanced magnitude with the *noisy* phase by the inverse STFT (overlap-add), as in
the spectral-domain enhancement systems the task follows. All transforms run in float32, also
under autocast: half-precision FFTs lose too much of a 16-bit signal's range.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-8
"""Added to the power before compression: keeps the gradient of ``|X| ** c`` finite in silence."""


class STFTFrontEnd(nn.Module):
    """STFT analysis and synthesis with one set of parameters (``center=True``, periodic Hann window).

    A waveform of ``L`` samples gives ``L // hop + 1`` frames of ``n_fft // 2 + 1`` bins; with a Hann
    window and ``hop <= win / 2`` the inverse reconstructs the waveform to float precision.
    """

    def __init__(self, n_fft: int = 512, hop: int = 128, win: int = 512, compress: float = 0.3) -> None:
        super().__init__()
        if win > n_fft:
            raise ValueError(f"the STFT window ({win}) cannot be longer than n_fft ({n_fft})")
        self.n_fft, self.hop, self.win, self.compress = n_fft, hop, win, compress
        self.register_buffer("window", torch.hann_window(win), persistent=False)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def frames(self, samples: int) -> int:
        return samples // self.hop + 1

    def stft(self, wave: torch.Tensor) -> torch.Tensor:
        """(..., L) float -> (..., bins, frames) complex."""
        with torch.autocast(wave.device.type, enabled=False):
            lead = wave.shape[:-1]
            flat = wave.float().reshape(-1, wave.shape[-1])
            spec = torch.stft(
                flat, self.n_fft, self.hop, self.win, self.window, center=True, pad_mode="constant", return_complex=True
            )
            return spec.reshape(*lead, *spec.shape[-2:])

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """(..., bins, frames) complex -> (..., length) float."""
        with torch.autocast(spec.device.type, enabled=False):
            lead = spec.shape[:-2]
            flat = spec.reshape(-1, *spec.shape[-2:])
            wave = torch.istft(flat, self.n_fft, self.hop, self.win, self.window, center=True, length=length)
            return wave.reshape(*lead, length)

    def compressed(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex spectrogram -> ``(|X|^2 + eps) ** (c / 2)``, differentiable everywhere."""
        power = spec.real.square() + spec.imag.square()
        return (power + EPS) ** (self.compress / 2)

    def decompressed(self, feature: torch.Tensor) -> torch.Tensor:
        """Compressed magnitude -> magnitude (the inverse of :meth:`compressed`, up to eps)."""
        return feature.clamp_min(0.0) ** (1.0 / self.compress)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) waveform -> (B, 1, bins, frames) compressed magnitude: what the networks see."""
        return self.compressed(self.stft(wave)).unsqueeze(1)
