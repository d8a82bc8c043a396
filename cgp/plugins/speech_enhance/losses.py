"""Spectral regression terms of the speech-enhancement objective; both compare waveforms.

- ``spectral_l1``: L1 between the compressed magnitudes (the task's STFT) of the enhanced and the
  clean waveform: the task's main regression term.
- ``mrstft``: the multi-resolution STFT loss of Parallel WaveGAN (Yamamoto et al. 2020, eq. 4-6):
  spectral convergence plus log-magnitude L1, averaged over three resolutions, here (512, 128, 512),
  (1024, 256, 1024) and (256, 64, 256) samples of (FFT, hop, window), i.e. 32/16/64 ms windows at
  16 kHz.
- ``si_sdr``: the negative scale-invariant SDR of the enhanced waveform in dB (Le Roux et al. 2019,
  "SDR - half-baked or well done?"), the training objective of time-domain separators such as
  Conv-TasNet; it rewards the phase as well as the magnitude, which the magnitude terms do not see.
- ``si_sdr_capped``: the same with a soft cap at 30 dB (the thresholded SNR of Wisdom et al. 2020):
  an item already enhanced to 30 dB earns little more. Unbounded, an input that is its own clean
  speech scores about 100 dB when left untouched, so beside noise-free training items the batch's
  mean is won by copying the input; capped, those items weigh no more than a well-enhanced one.

The core's ``l1`` term on the same tensors is the waveform L1.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from cgp.core.losses import LossInputs, TermLoss, require_inputs
from cgp.metrics.audio import si_sdr
from cgp.plugins.speech_enhance.frontend import STFTFrontEnd


class SpectralTerm(TermLoss):
    """A term that needs the task's STFT front end; the task passes it when building the objective."""

    side: ClassVar[str] = "generator"

    def __init__(self, weight: float = 1.0, frontend: STFTFrontEnd | None = None) -> None:
        super().__init__(weight)
        self.frontend = frontend or STFTFrontEnd()


class SpectralL1(SpectralTerm):
    name = "spectral_l1"

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        return F.l1_loss(self.frontend.features(t.fake), self.frontend.features(t.real))


class MultiResolutionSTFT(SpectralTerm):
    name = "mrstft"
    RESOLUTIONS: ClassVar[tuple[tuple[int, int, int], ...]] = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256))

    def __init__(self, weight: float = 1.0, frontend: STFTFrontEnd | None = None) -> None:
        super().__init__(weight, frontend)
        self.frontends = [STFTFrontEnd(n, h, w, compress=1.0) for n, h, w in self.RESOLUTIONS]

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        total = t.fake.new_zeros((), dtype=torch.float32)
        for fe in self.frontends:
            fe.window = fe.window.to(t.fake.device)
            fake, real = fe.features(t.fake), fe.features(t.real)
            convergence = torch.linalg.vector_norm(real - fake) / torch.linalg.vector_norm(real).clamp_min(1e-8)
            log_mag = F.l1_loss(torch.log(fake.clamp_min(1e-5)), torch.log(real.clamp_min(1e-5)))
            total = total + convergence + log_mag
        return total / len(self.frontends)


class NegativeSISDR(TermLoss):
    name = "si_sdr"
    side = "generator"
    scope = "sample"
    MAX_DB: ClassVar[float | None] = None

    def __call__(self, t: LossInputs) -> torch.Tensor:
        require_inputs(t, self.name, "real", "fake")
        return -si_sdr(t.fake.float(), t.real.float(), max_db=self.MAX_DB).mean()


class NegativeCappedSISDR(NegativeSISDR):
    name = "si_sdr_capped"
    MAX_DB = 30.0
