"""The ``video_predict`` task: next-frame prediction with clip and frame discriminators.

The source notes' video example: G sees the first K frames of a clip and predicts the next ones; D sees
the context *and* the prediction together as one clip and judges whether the whole is a plausible video.
A regression loss alone predicts the blurry average of the possible futures; Mathieu et al. 2016 ("Deep
multi-scale video prediction beyond mean square error") add an adversarial term and the gradient
difference loss to an ℓp loss, with weights λ_adv = 0.05, λ_ℓp = 1, λ_gdl = 1 (the defaults here).

The generator rolls out ``data.predict_frames`` frames in training, each fed back as input to the next
step, so it learns from its own rollouts. The discriminators — ``clip`` (3-D convolutions over context +
prediction), ``frame`` (a PatchGAN per predicted frame, beside the last context frame) or ``both`` — are
pairs of the core conditional objective, each with its own logged terms (``clip/d_real``,
``frame/g_adv``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch.utils.data import Dataset

from cgp.core.config import DataConfig, EvalConfig, ObjectiveConfig, OptimConfig, RunConfig, StrictModel, TrainerConfig
from cgp.core.errors import ConfigError
from cgp.core.interfaces import GanModels
from cgp.core.losses import GradientDifferenceLoss, TermLoss
from cgp.core.objective import AdversarialPair
from cgp.core.task import Task
from cgp.datasets.bouncing_shapes import BouncingShapes
from cgp.plugins.video_predict.models import ClipDiscriminator, FrameDiscriminator, FramePredictor


class VideoDataConfig(DataConfig):
    reader: str = Field(
        "video_clip_folder",
        description="registered dataset reader for data.root, called with length, image_size, stride, channels, "
        "step, cache_mb, skip_bad",
    )
    root: Path | None = Field(
        None, description="ROOT/{train,test}/ of video files or frame folders; unset: built-in bouncing shapes"
    )
    context_frames: int = Field(4, ge=2, description="frames the generator sees (K)")
    predict_frames: int = Field(3, ge=1, description="frames predicted in training, each fed back (rollout)")
    frame_stride: int = Field(1, ge=1, description="take every n-th frame of the source")
    size: int = Field(32, ge=16, description="frame side: centre-cropped to a square and resized")
    channels: Literal[1, 3] = Field(3, description="1: grayscale, 3: colour")
    cache_mb: float = Field(1024, ge=0, description="decoded frames kept in memory per data-loader worker (MB)")
    skip_bad_files: bool = Field(False, description="leave out unusable files with a counted warning (else stop)")
    train_size: int | None = Field(None, ge=1, description="built-in data: training clips (default 4096)")
    test_size: int | None = Field(None, ge=1, description="built-in data: test clips (default 512)")


class VideoModelConfig(StrictModel):
    spatial_width: int = Field(32, ge=4, description="channels of the per-frame encoder and decoder")
    temporal_width: int = Field(128, ge=8, description="channels of the translator over stacked frames")
    levels: int = Field(2, ge=1, le=4, description="encoder halvings of the frame side")
    blocks: int = Field(4, ge=0, description="residual blocks in the translator")
    predict_change: bool = Field(True, description="predict the change from the last frame instead of the frame")
    rollout_training: Literal["full", "scheduled"] = Field(
        "full",
        description="full: each prediction is fed back in training; scheduled: scheduled sampling, the true "
        "frame instead with a chance falling from 1 to 0 over the first model.teacher_steps steps",
    )
    teacher_steps: int = Field(1000, ge=1, description="scheduled: steps until no true frame is fed back")
    discriminators: Literal["clip", "frame", "both", "none"] = Field(
        "clip",
        description="clip: 3-D convs over context + prediction; frame: a PatchGAN per frame; both; "
        "none: regression only (no adversarial term)",
    )
    discriminator_width: int = Field(32, ge=4, description="channels of each discriminator's first layer")
    clip_levels: int = Field(3, ge=1, le=5, description="clip discriminator's spatial halvings")
    frame_receptive_field: Literal["16", "34", "70"] = Field("34", description="frame PatchGAN's receptive field")
    conditional_discriminator: bool = Field(
        True, description="false: D sees the prediction without the context (the ablation)"
    )

    @field_validator("frame_receptive_field", mode="before")
    @classmethod
    def _number_as_name(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value  # --set model.frame_receptive_field=16


class VideoObjectiveConfig(ObjectiveConfig):
    gdl_alpha: float = Field(1.0, gt=0, description="exponent of the gradient difference loss (Mathieu et al.: 1)")


class VideoEvalConfig(EvalConfig):
    rollout_frames: int = Field(5, ge=1, description="frames rolled out and scored per test clip (t+1 ... t+T)")


def _objective() -> VideoObjectiveConfig:
    # Mathieu et al. 2016: λ_adv 0.05, λ_ℓp 1, λ_gdl 1; least squares as in CycleGAN and pix2pix here
    return VideoObjectiveConfig(
        adversarial="lsgan", gan_weight=0.05, mismatch_negative=False, terms={"l1": 1.0, "gdl": 1.0}
    )


class VideoPredictConfig(RunConfig):
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(
            steps=2000, batch_size=16, sample_every=500, checkpoint_every=500, precision="auto"
        ),
        description="training loop",
    )
    data: VideoDataConfig = Field(default_factory=VideoDataConfig, description="video clips")
    optim: OptimConfig = Field(default_factory=OptimConfig.linear_decay, description="optimizers")
    objective: VideoObjectiveConfig = Field(default_factory=_objective, description="adversarial + L1 + GDL")
    model: VideoModelConfig = Field(default_factory=VideoModelConfig, description="networks")
    eval: VideoEvalConfig = Field(
        default_factory=lambda: VideoEvalConfig(metrics=["prediction_quality"], num_samples=4),
        description="evaluation",
    )

    @model_validator(mode="after")
    def _fits(self) -> VideoPredictConfig:
        stride = 2**self.model.levels
        if self.data.size % stride:
            raise ValueError(f"data.size={self.data.size} is not a multiple of 2**model.levels={stride}")
        return self


class GenerateOptions(StrictModel):
    frames: int = Field(10, ge=1, le=1000, description="frames to add to each input video")
    compare: bool = Field(False, description="context | prediction | truth side by side (the truth: the input's end)")
    fps: int = Field(10, ge=1, le=120, description="frame rate of the written video")


class ContextClips(Dataset):
    """Clips of ``context + future`` frames -> ``{"cond": (K, C, S, S), "x": (T, C, S, S), "name"}``."""

    def __init__(self, clips: Dataset, context: int, channels: int) -> None:
        self.clips, self.context, self.channels = clips, context, channels

    def __len__(self) -> int:
        return len(self.clips)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.clips[index]
        frames = item["frames"]
        if self.channels == 1 and frames.shape[1] == 3:  # ITU-R BT.601 luma, as PyAV's gray conversion
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            frames = (frames * weights).sum(1, keepdim=True)
        return {"cond": frames[: self.context], "x": frames[self.context :], "name": item["name"]}


class VideoPredictTask(Task):
    name = "video_predict"
    description = "next-frame prediction: SimVP-style generator, clip and frame discriminators (Mathieu et al. 2016)"
    config_model = VideoPredictConfig
    generate_options = GenerateOptions

    def clip_frames(self, split: str) -> int:
        """Frames of one clip: the context, then the future (the longer of training's and evaluation's)."""
        d = self.config.data
        future = d.predict_frames if split == "train" else max(d.predict_frames, self.config.eval.rollout_frames)
        return d.context_frames + future

    def build_models(self) -> GanModels:
        m, d = self.config.model, self.config.data
        generator = FramePredictor(
            d.channels,
            d.context_frames,
            d.predict_frames,
            m.spatial_width,
            m.temporal_width,
            m.levels,
            m.blocks,
            m.predict_change,
            m.teacher_steps if m.rollout_training == "scheduled" else None,
        )
        discriminators: dict[str, Any] = {}
        if m.discriminators in ("clip", "both"):
            discriminators["clip"] = ClipDiscriminator(
                d.channels, m.discriminator_width, m.clip_levels, m.conditional_discriminator
            )
        if m.discriminators in ("frame", "both"):
            discriminators["frame"] = FrameDiscriminator(
                d.channels, d.size, m.discriminator_width, m.frame_receptive_field, m.conditional_discriminator
            )
        return GanModels(generator, discriminators)

    def adversarial_pairs(self) -> list[AdversarialPair]:
        which = self.config.model.discriminators
        if which == "none":
            return [AdversarialPair(discriminator=None)]  # L1/L2/GDL alone, no discriminator to train
        names = {"clip": ["clip"], "frame": ["frame"], "both": ["clip", "frame"]}[which]
        return [AdversarialPair(name, "main", name, "x") for name in names]

    def build_term(self, name: str, weight: float, models: GanModels) -> TermLoss:
        """``gdl`` gets ``objective.gdl_alpha``; the rest come as registered."""
        factory = self.host.term_losses.get(name)
        if factory is GradientDifferenceLoss:
            return GradientDifferenceLoss(weight, self.config.objective.gdl_alpha)
        return factory(weight)

    def build_dataset(self, split: str) -> Dataset:
        d = self.config.data
        length = self.clip_frames(split)
        if d.root is None:
            if d.frame_stride != 1:
                raise ConfigError("the built-in clips have no frames to skip: data.frame_stride applies to data.root")
            size = d.train_size if split == "train" else d.test_size
            clips: Dataset = BouncingShapes(split, length, d.size, size)
        else:
            step = 1 if split == "train" else (length - 1) * d.frame_stride + 1  # test clips do not overlap
            clips = self.host.datasets.get(d.reader)(
                d.root,
                split,
                length=length,
                image_size=d.size,
                stride=d.frame_stride,
                channels=d.channels,
                step=step,
                cache_mb=d.cache_mb,
                skip_bad=d.skip_bad_files,
            )
        return ContextClips(clips, d.context_frames, d.channels)

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        from cgp.plugins.video_predict.samples import write_video_samples

        return write_video_samples(self, models, directory, step)

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: StrictModel) -> list[Path]:
        from cgp.plugins.video_predict.inference import continue_videos

        return continue_videos(self, models, inputs, output, options)  # type: ignore[arg-type]
