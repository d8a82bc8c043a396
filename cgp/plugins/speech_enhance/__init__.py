"""Built-in plugin ``speech_enhance``: spectrogram-domain speech enhancement GAN."""

from __future__ import annotations

from collections.abc import Callable

from cgp import hookimpl

CGP_API = "1.0"  # the plugin API this plugin is written for (cgp.api.VERSION)


@hookimpl
def cgp_register_tasks(register: Callable[[type], None]) -> None:
    from cgp.plugins.speech_enhance.task import SpeechEnhanceTask

    register(SpeechEnhanceTask)


@hookimpl
def cgp_register_losses(register: Callable[[type], None]) -> None:
    from cgp.plugins.speech_enhance.losses import (
        MultiResolutionSTFT,
        NegativeCappedSISDR,
        NegativeSISDR,
        SpectralL1,
    )

    register(SpectralL1)
    register(MultiResolutionSTFT)
    register(NegativeSISDR)
    register(NegativeCappedSISDR)


@hookimpl
def cgp_register_metrics(register: Callable[..., None]) -> None:
    from cgp.plugins.speech_enhance.evaluation import speech_quality

    register("speech_quality", speech_quality)


@hookimpl
def cgp_register_datasets(register: Callable[..., None]) -> None:
    from cgp.datasets.speech import NoisyCleanFolder

    # reader(root, split, sample_rate, segment=None): ROOT/{train,test}/{clean,noisy}/ (VoiceBank+DEMAND).
    # The built-in procedural speech and the clean + noise mixing are task settings, not readers of a root.
    register("noisy_clean_folder", NoisyCleanFolder)
