"""The ``speech_enhance`` task: spectrogram-domain speech enhancement with a discriminator that sees
the noisy input (SEGAN, Pascual et al. 2017, moved to the spectral domain like MetricGAN+ and CMGAN).

The generator maps the noisy waveform's compressed STFT magnitude to a mask (or a magnitude) and
rebuilds the waveform with the noisy phase; the discriminator judges (noisy, candidate) spectrogram
pairs patch by patch with a least-squares loss; the generator also minimises a weighted spectral L1
to the clean speech and the negative SI-SDR of its waveform (and, optionally, a multi-resolution STFT
loss and a waveform L1). The adversarial term weighs 0.1: at the core's 1 it restores the
spectrogram's fine structure but costs SI-SDR and PESQ on real recordings. The ablation is one flag
each, ``objective.gan_weight=0`` (the regression terms alone) and
``model.conditional_discriminator=false``. Training crops are played at a random speed (±30 %,
``data.speed``) and heard through a random recording chain (``data.gain_db``, ``data.eq_db``): more
voices and microphones than a small set holds.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, model_validator
from torch.utils.data import Dataset

from cgp.core.config import (
    DataConfig,
    EvalConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    StrictModel,
    TrainerConfig,
)
from cgp.core.export import ExportSpec
from cgp.core.interfaces import Discriminator, GanModels
from cgp.core.losses import TermLoss
from cgp.core.objective import Objective
from cgp.core.seeding import isolated_rng
from cgp.core.task import Task
from cgp.datasets.procedural_speech import SET_NOISE_KINDS, ProceduralSpeech
from cgp.datasets.speech import (
    MixedNoise,
    NoiseFree,
    NoisyCleanFolder,
    RecordingChain,
    RemixedPairs,
    SpeedChange,
    random_crop,
)
from cgp.nn.init import init_weights
from cgp.nn.patchgan import NLayerDiscriminator
from cgp.plugins.speech_enhance.frontend import STFTFrontEnd
from cgp.plugins.speech_enhance.losses import SpectralTerm
from cgp.plugins.speech_enhance.metric_game import MetricDiscriminator, MetricGame, metric_scorer
from cgp.plugins.speech_enhance.models import NoisyCondition, SpectrogramDiscriminator, SpectrogramEnhancer
from cgp.plugins.speech_enhance.samples import write_speech_samples

log = logging.getLogger("cgp.data")


class SpeechModelConfig(StrictModel):
    n_fft: int = Field(512, ge=64, description="STFT size in samples (32 ms at 16 kHz); a power of two")
    hop: int = Field(128, ge=1, description="STFT hop in samples (8 ms at 16 kHz)")
    win: int = Field(512, ge=16, description="STFT (Hann) window length in samples, at most n_fft")
    compress: float = Field(0.3, gt=0, le=1, description="magnitude compression exponent c in |X|^c (1: none)")
    output: Literal["mask", "magnitude", "complex"] = Field(
        "mask",
        description="the generator predicts a [0, 1] mask, a correction to the compressed magnitude, or a "
        "complex ratio mask on the compressed complex spectrogram (phase too)",
    )
    generator_width: int = Field(16, ge=4, description="filters in the U-Net's first layer")
    generator_depth: int = Field(5, ge=5, le=8, description="U-Net halvings of frequency and time")
    discriminator_width: int = Field(16, ge=4, description="filters in the PatchGAN's first layer")
    discriminator_layers: int = Field(3, ge=1, le=5, description="PatchGAN stride-2 layers (3: 70x70 bins x frames)")
    norm: Literal["batch", "none"] = Field(
        "batch", description="normalisation in both networks (instance norm would make chunked inference inexact)"
    )
    init_gain: float = Field(0.02, gt=0, description="std of the normal weight init")
    conditional_discriminator: bool = Field(True, description="false: D sees only the candidate (the ablation)")

    @model_validator(mode="after")
    def _stft_fits(self) -> SpeechModelConfig:
        if self.n_fft & (self.n_fft - 1):
            raise ValueError(f"n_fft must be a power of two, got {self.n_fft}")
        if self.win > self.n_fft:
            raise ValueError(f"win ({self.win}) cannot exceed n_fft ({self.n_fft})")
        if self.hop > self.win // 2:
            raise ValueError(f"hop ({self.hop}) must be at most win / 2 ({self.win // 2}) for a faithful inverse STFT")
        if (self.n_fft // 2) % 2**self.generator_depth:
            raise ValueError(
                f"n_fft / 2 = {self.n_fft // 2} is not a multiple of 2 ** generator_depth = {2**self.generator_depth}"
            )
        return self


REMIX_NOISE_KINDS = (*SET_NOISE_KINDS, "whistles")
"""The procedural families remixed crops draw from by default: the built-in set's six and pure tones from 1 kHz
up (insects, beeps), which lifted the second real set and two blind ones on every seed at a cost of 0.55 dB on
the third (docs/benchmarks.md, "Whistles: ... a blind fifth set decides")."""


class SpeechDataConfig(DataConfig):
    reader: str = Field(
        "noisy_clean_folder", description="registered dataset reader for data.root, called with sample_rate, segment"
    )
    root: Path | None = Field(
        None, description="VoiceBank+DEMAND layout ROOT/{train,test}/{clean,noisy}/; unset: built-in or mixing"
    )
    remix: float = Field(
        1.0,
        ge=0,
        le=1,
        description="data.root pairs (ignored otherwise): share of training crops whose noise is another pair's "
        "(noisy - clean) at that pair's SNR (dynamic mixing); 0 for pairs that are not clean + additive noise",
    )
    remix_synthetic: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of the remixed crops whose noise is a procedural one instead (data.synthetic_noises) "
        "at an SNR uniform in [snr_low, snr_high]: more kinds of noise than a small set holds",
    )
    synthetic_noises: list[
        Literal["white", "pink", "brown", "hum", "babble", "bursts", "tones", "shaped", "whistles"]
    ] = Field(
        default_factory=lambda: list(REMIX_NOISE_KINDS),
        min_length=1,
        description="the procedural noise families data.remix_synthetic draws from (babble: other procedural voices; "
        "tones: whistles, whines, chirps; shaped: noise under a random spectral envelope; whistles: tones' pure tones "
        "from 1 kHz up; default: all but tones and shaped)",
    )
    clean_root: Path | None = Field(None, description="clean speech to mix with data.noise_root on the fly")
    noise_root: Path | None = Field(None, description="noise recordings for on-the-fly mixing")
    test_root: Path | None = Field(
        None, description="with mixing: a VoiceBank-layout ROOT whose test/ split is evaluated (else mixed too)"
    )
    sample_rate: int = Field(16000, ge=1000, description="the task's rate; every file is resampled to it")
    snr_low: float = Field(-5.0, description="lowest SNR (dB) of built-in and on-the-fly mixtures")
    snr_high: float = Field(15.0, description="highest SNR (dB) of built-in and on-the-fly mixtures")
    segment_frames: int = Field(
        128, ge=8, description="training crops of (segment_frames - 1) * hop samples (128 frames: 1.016 s)"
    )
    train_size: int = Field(2000, ge=1, description="built-in or mixed: training items per epoch")
    test_size: int = Field(100, ge=1, description="built-in or mixed: test items")
    item_seconds: float = Field(2.0, gt=0, description="built-in data: length of each item")
    seed: int = Field(0, description="seed of the built-in data and of the mixed test set")
    gain_db: float = Field(
        10.0, ge=0, description="training items' level varies uniformly within +-gain_db (clean and noisy alike)"
    )
    eq_db: float = Field(
        8.0,
        ge=0,
        description="training items pass a random smooth equaliser (tilt and two bells of up to +-eq_db each), "
        "clean and noisy alike: recording chains the set does not hold; 0 (and gain_db=0): off",
    )
    rumble: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of training items whose recording gets a low-frequency rumble and DC offset (35-10 dB "
        "below the speech, below 40-100 Hz), clean and noisy alike: it is kept, not removed; 0: off",
    )
    speed: float = Field(
        0.3,
        ge=0,
        le=0.45,
        description="training items play faster or slower by a factor uniform in [1 - speed, 1 + speed] (1 % steps), "
        "clean and noisy alike, so pitch and formants move with it (speed perturbation): voices the set does not "
        "hold, such as low male voices when it has mostly higher ones; 0: off",
    )
    noise_speed: float = Field(
        0.0,
        ge=0,
        le=0.45,
        description="with remixing or on-the-fly mixing, each recorded noise plays at its own random speed, uniform "
        "in [1 - noise_speed, 1 + noise_speed] (1 % steps), before it is mixed: a drone's pitch, a chirp's rate and "
        "the noise's spectrum move, so a few noise recordings give many; 0: off",
    )
    noise_free: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of training items whose input is their clean speech, no noise added: leaving speech "
        "alone is learnt from examples; 0: off",
    )

    @model_validator(mode="after")
    def _one_source(self) -> SpeechDataConfig:
        mixing = self.clean_root is not None or self.noise_root is not None
        if mixing and (self.clean_root is None or self.noise_root is None):
            raise ValueError("on-the-fly mixing needs both data.clean_root and data.noise_root")
        if mixing and self.root is not None:
            raise ValueError("set either data.root (pairs) or data.clean_root + data.noise_root (mixing), not both")
        if self.snr_low > self.snr_high:
            raise ValueError(f"data.snr_low ({self.snr_low}) is above data.snr_high ({self.snr_high})")
        if self.noise_speed and not (mixing or (self.root is not None and self.remix > 0)):
            raise ValueError(
                "data.noise_speed changes recorded noise, which only remixed pairs (data.root with data.remix > 0) "
                "or on-the-fly mixing (data.clean_root + data.noise_root) use; set data.noise_speed=0"
            )
        return self


class SpeechObjectiveConfig(ObjectiveConfig):
    metric: Literal["none", "pesq", "stoi"] = Field(
        "none",
        description="a second, MetricGAN+ discriminator learns this metric of (candidate, clean) pairs and the "
        "generator is pushed to its maximum through it; none: off",
    )
    metric_weight: float = Field(
        10.0, ge=0, description="weight of the generator's metric term (10: about a tenth of spectral_l1's gradient)"
    )
    metric_items: int = Field(
        4, ge=1, description="items of each batch the metric is measured on (it runs on the CPU, one at a time)"
    )


def _speech_objective() -> SpeechObjectiveConfig:
    """LSGAN at a tenth of the core's weight beside 100 x spectral L1 and the waveform's negative SI-SDR:
    at weight 1 the input-conditioned discriminator cost 0.1-1.6 dB SI-SDR and 0.07-0.21 PESQ on each of
    three real test sets, on every seed; the SI-SDR term gained 0.1-2.1 dB SI-SDR on each set and seed
    (docs/benchmarks.md, "A third real set" and "The waveform's SI-SDR as a training term")."""
    return SpeechObjectiveConfig(
        adversarial="lsgan", gan_weight=0.1, mismatch_negative=False, terms={"spectral_l1": 100.0, "si_sdr": 1.0}
    )


class SpeechEnhanceConfig(RunConfig):
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(
            steps=2000, batch_size=16, sample_every=500, checkpoint_every=500, precision="auto"
        ),
        description="training loop (bf16 autocast where the device computes bf16 natively, fp32 elsewhere; the "
        "STFTs always run in float32)",
    )
    data: SpeechDataConfig = Field(default_factory=SpeechDataConfig, description="speech data")
    optim: OptimConfig = Field(
        default_factory=OptimConfig.linear_decay,
        description="optimizers (linear decay over the second half)",
    )
    objective: SpeechObjectiveConfig = Field(
        default_factory=_speech_objective,
        description="LSGAN at weight 0.1 + 100 x spectral L1 (compressed magnitude) + negative SI-SDR (dB); "
        "optionally a metric discriminator",
    )
    model: SpeechModelConfig = Field(default_factory=SpeechModelConfig, description="STFT front end and networks")
    eval: EvalConfig = Field(
        default_factory=lambda: EvalConfig(metrics=["speech_quality"], num_samples=4), description="evaluation"
    )

    @model_validator(mode="after")
    def _noise_free_items_and_si_sdr(self) -> SpeechEnhanceConfig:
        """An item whose input is its clean speech, left untouched, scores an unbounded SI-SDR (about 100 dB
        against 5-20 dB for a noisy item), so that term teaches a pass-through: on the real-recording
        benchmark ``data.noise_free=0.2`` with it gained 0.00 dB on every set (docs/benchmarks.md). The
        capped term (``si_sdr_capped``, at most 30 dB) has no such pull."""
        if self.data.noise_free > 0 and self.objective.terms.get("si_sdr", 0) > 0:
            raise ValueError(
                f"data.noise_free={self.data.noise_free} with the si_sdr term trains a pass-through (an untouched "
                "clean input scores an unbounded SI-SDR); use objective.terms.si_sdr_capped instead of si_sdr, "
                "or set data.noise_free=0"
            )
        return self


class RandomCrop(Dataset):
    """Fixed-length training crops (the same offset for clean and noisy; zero-padded if shorter).

    The offset comes from the global RNG, which the core's loader seeds per item."""

    def __init__(self, dataset: Dataset, samples: int) -> None:
        self.dataset, self.samples = dataset, samples

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        x, cond = random_crop([item["x"], item["cond"]], self.samples)
        return {**item, "x": x, "cond": cond}


class FixedItems(Dataset):
    """Items of a randomised dataset made fixed: item ``i`` is drawn on an RNG seeded with (seed, i),
    so a mixed test set is the same set in every evaluation."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        with isolated_rng(self.seed * 1_000_003 + index):
            return self.dataset[index]


class EnhanceOptions(StrictModel):
    chunk_seconds: float = Field(10.0, gt=0, description="audio enhanced per network pass")
    context_seconds: float = Field(1.0, ge=0, description="context on each side of a chunk, enhanced and dropped")


class SpeechEnhanceTask(Task):
    name = "speech_enhance"
    description = "speech enhancement: spectrogram U-Net + input-conditioned PatchGAN (SEGAN-style, spectral)"
    config_model = SpeechEnhanceConfig
    generate_options = EnhanceOptions

    def frontend(self) -> STFTFrontEnd:
        m = self.config.model
        return STFTFrontEnd(m.n_fft, m.hop, m.win, m.compress)

    @property
    def segment_samples(self) -> int:
        return (self.config.data.segment_frames - 1) * self.config.model.hop

    def build_models(self) -> GanModels:
        m = self.config.model
        frontend = self.frontend()
        generator = SpectrogramEnhancer(frontend, m.output, m.generator_width, m.generator_depth, m.norm)
        channels = 2 if m.conditional_discriminator else 1
        net = NLayerDiscriminator(channels, m.discriminator_width, m.discriminator_layers, m.norm)
        init_weights(generator, "normal", m.init_gain)
        init_weights(net, "normal", m.init_gain)
        discriminators: dict[str, Discriminator] = {
            "main": SpectrogramDiscriminator(frontend, net, m.conditional_discriminator)
        }
        if self.config.objective.metric != "none":
            discriminators["metric"] = MetricDiscriminator(frontend)
        return GanModels(generator, discriminators, NoisyCondition(frontend))

    def build_objective(self, models: GanModels) -> Objective:
        """The conditional objective, wrapped in the metric game when ``objective.metric`` is set."""
        objective = super().build_objective(models)
        cfg = self.config.objective
        if cfg.metric == "none":
            return objective
        score = metric_scorer(cfg.metric, self.config.data.sample_rate)
        return MetricGame(objective, models, score, cfg.metric_weight, cfg.metric_items)

    def build_term(self, name: str, weight: float, models: GanModels) -> TermLoss:
        """Spectral terms get the models' own STFT front end; the rest come as registered."""
        factory = self.host.term_losses.get(name)
        if isinstance(factory, type) and issubclass(factory, SpectralTerm):
            return factory(weight, models.condition.frontend)
        return factory(weight)

    def build_dataset(self, split: str) -> Dataset:
        d = self.config.data
        if split != "train":
            return self._test_items(split)
        if d.speed:
            train = SpeedChange(
                self._training_items(SpeedChange.source_length(self.segment_samples, d.speed)),
                self.segment_samples,
                d.speed,
            )
        else:
            train = self._training_items(self.segment_samples)
        if d.noise_free:
            train = NoiseFree(train, d.noise_free)
        if not (d.gain_db or d.eq_db or d.rumble):
            return train
        return RecordingChain(train, d.sample_rate, d.gain_db, d.eq_db, rumble=d.rumble)

    def _training_items(self, segment: int) -> Dataset:
        """Training crops of ``segment`` samples."""
        d = self.config.data
        snr = (d.snr_low, d.snr_high)
        if d.root is not None:
            pairs = self.host.datasets.get(d.reader)(d.root, "train", sample_rate=d.sample_rate, segment=None)
            if d.remix:
                log.info(
                    "data.remix=%s: training pairs are remixed with each other's noise (noisy - clean), %s of them "
                    "with procedural noise; set data.remix=0 if the noisy files are not their clean files plus noise",
                    d.remix,
                    f"{d.remix_synthetic:.0%}",
                )
            return RemixedPairs(
                pairs,
                segment,
                d.remix,
                d.remix_synthetic,
                snr,
                d.sample_rate,
                kinds=d.synthetic_noises,
                noise_speed=d.noise_speed,
            )
        if d.clean_root is not None:
            return MixedNoise(
                d.clean_root, d.noise_root, d.sample_rate, segment, snr, size=d.train_size, noise_speed=d.noise_speed
            )
        data = ProceduralSpeech("train", d.train_size, d.sample_rate, d.item_seconds, snr, seed=d.seed)
        return RandomCrop(data, segment)

    def _test_items(self, split: str) -> Dataset:
        d = self.config.data
        if d.root is not None:
            return self.host.datasets.get(d.reader)(d.root, split, sample_rate=d.sample_rate, segment=None)
        if d.clean_root is not None:
            if d.test_root is not None:
                return NoisyCleanFolder(d.test_root, "test", d.sample_rate, None)
            mixed = MixedNoise(
                d.clean_root, d.noise_root, d.sample_rate, None, (d.snr_low, d.snr_high), size=d.test_size
            )
            return FixedItems(mixed, d.seed)
        return ProceduralSpeech(split, d.test_size, d.sample_rate, d.item_seconds, (d.snr_low, d.snr_high), seed=d.seed)

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        return write_speech_samples(self, models, directory, step)

    def export_spec(self, models: GanModels, generator: str = "main") -> ExportSpec:
        """Noisy waveform (B, samples) at ``data.sample_rate`` -> enhanced waveform, any length (the
        generator pads frames to its stride inside)."""
        spec = super().export_spec(models, generator)
        spec.dynamic = {"cond": {0: "batch", 1: "samples"}}
        spec.resize = lambda inputs: (torch.cat([inputs[0], inputs[0][:1]])[:, : inputs[0].shape[1] * 3 // 4 + 7],)
        spec.notes = f"input: noisy waveform (B, samples) at {self.config.data.sample_rate} Hz; output: the same length"
        return spec

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: StrictModel) -> list[Path]:
        from cgp.plugins.speech_enhance.inference import enhance_files

        return enhance_files(self, models, inputs, output, options)
