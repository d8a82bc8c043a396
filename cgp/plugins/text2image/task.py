"""The ``text2image`` task: images from captions with a matching-aware discriminator and optional
StackGAN stage II.

The source notes' main example: a caption c and noise z go into G; D judges whether an image is real
*and* whether it matches c, trained on three kinds of pairs (real image + its caption, generated image
+ its caption, real image + a wrong caption) with one joint score or split realism/match heads (Reed
et al. 2016). Stage II (Zhang et al. 2017) redraws the stage-I image at twice the size with its own
discriminator; both stages get the full three-pair loss through the core objective's named pairs.

The vocabulary and, by default, a text encoder pretrained on the training pairs (image–text
contrastive, then frozen — the role DF-GAN's pretrained DAMSM encoder plays) are written into the run
directory by :meth:`Text2ImageTask.setup`.
"""

from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field, field_validator
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import Dataset

from cgp.core.checkpoint import find_last, load_checkpoint, split_prefix
from cgp.core.config import DataConfig, EvalConfig, ObjectiveConfig, RunConfig, StrictModel, TrainerConfig
from cgp.core.errors import CheckpointError, ConfigError
from cgp.core.export import ExportSpec, pick_generator
from cgp.core.interfaces import GanModels
from cgp.core.losses import TermLoss
from cgp.core.objective import AdversarialPair, Objective
from cgp.core.rundir import sample_stem
from cgp.core.seeding import isolated_rng
from cgp.core.task import Task
from cgp.datasets.captioned_shapes import CaptionedShapes
from cgp.plugins.text2image.data import CaptionEvalSet, TokenizedCaptions, collect_eval_set
from cgp.plugins.text2image.glove import glove_vectors
from cgp.plugins.text2image.grids import write_prompt_outputs, write_sample_grid
from cgp.plugins.text2image.models import (
    CaptionScorer,
    CaptionToImage,
    StackGenerator,
    TextCondition,
    TextImageDiscriminator,
    final_image,
)
from cgp.plugins.text2image.objective import SentenceMatchLoss, TextToImageObjective
from cgp.plugins.text2image.text_encoder import TextEncoder
from cgp.plugins.text2image.tokenizer import VOCAB_FILE, WordTokenizer

log = logging.getLogger("cgp.text2image")

MATCHER_FILE = "text_matcher.safetensors"  # the pretrained matcher: text_encoder.*, image_encoder.*, logit_scale
PRETRAIN_SEED = 77


class TextConfig(StrictModel):
    embeddings: Literal["trained", "glove"] = Field(
        "trained", description="word embeddings learnt from scratch, or frozen GloVe 6B 50-d (the 'glove' extra)"
    )
    embed_dim: int = Field(64, ge=4, description="word embedding size (GloVe: its 50-d vectors are projected to this)")
    hidden: int = Field(64, ge=4, description="GRU hidden size per direction")
    sentence_dim: int = Field(128, ge=4, description="sentence vector size")
    max_length: int = Field(16, ge=1, description="words read per caption (longer captions are cut)")
    min_count: int = Field(1, ge=1, description="training-caption occurrences a word needs to enter the vocabulary")
    training: Literal["pretrain", "joint"] = Field(
        "pretrain",
        description="pretrain: image-text contrastive on the training pairs, then frozen (DF-GAN's frozen "
        "encoder); joint: trained with the generator from scratch",
    )
    pretrain_steps: int = Field(600, ge=1, description="contrastive pretraining steps (pretrain only)")


class Text2ImageModelConfig(StrictModel):
    text: TextConfig = Field(default_factory=TextConfig, description="text encoder")
    image_size: int = Field(32, description="stage-I image side (a power of two >= 8)")
    stage_two: bool = Field(False, description="add StackGAN's stage II at twice the size, with its own D")
    stage_one_from: Path | None = Field(
        None, description="a finished stage-I run: its text encoder and stage I are loaded and frozen (stage II only)"
    )
    code_dim: int = Field(64, ge=1, description="text code size")
    conditioning_augmentation: bool = Field(True, description="StackGAN's (mu, sigma) code with a KL term")
    noise_dim: int = Field(64, ge=1, description="size of z")
    generator_width: int = Field(64, ge=8, description="channels of stage I's last hidden layer")
    text_fusion: Literal["input", "affine"] = Field(
        "input",
        description="where stage I reads the text code: input (joined to z) or affine (also every batch norm's "
        "scale and shift, BigGAN/DF-GAN)",
    )
    discriminator_width: int = Field(64, ge=8, description="channels of D's first layer")
    discriminator_text: Literal["sentence", "code"] = Field(
        "sentence",
        description="what D reads of the caption: code (the conditioning mean mu, StackGAN) or sentence (the "
        "text encoder's sentence vector, DF-GAN; fixed when the encoder is pretrained)",
    )
    discriminator_norm: Literal["spectral", "batch", "none"] = Field("spectral", description="normalisation in D")
    conditional_discriminator: bool = Field(True, description="false: D ignores the text (the ablation)")

    @field_validator("image_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value < 8 or value & (value - 1):
            raise ValueError("must be a power of two >= 8 (8, 16, 32, 64, ...)")
        return value


class Text2ImageObjectiveConfig(ObjectiveConfig):
    interpolation_weight: float = Field(
        0.0, ge=0, description="GAN-INT (Reed et al. 2016): weight of G's term on interpolated text codes"
    )


class CaptionDataConfig(DataConfig):
    train_size: int | None = Field(None, ge=1, description="built-in data: training items (default 8192)")
    reader: str = Field("captioned_image_folder", description="registered dataset reader for data.root")


class Text2ImageEvalConfig(EvalConfig):
    limit: int = Field(1024, ge=1, description="test items evaluated")
    train_limit: int = Field(4096, ge=1, description="training items the judge and matcher learn from")
    diversity_captions: int = Field(32, ge=1, description="captions the diversity measure samples")
    diversity_samples: int = Field(8, ge=2, description="samples per caption for diversity")
    retrieval_candidates: int = Field(100, ge=2, description="captions an image is ranked against (R-precision)")


def _objective() -> Text2ImageObjectiveConfig:
    # kl: StackGAN's λ = 1 multiplies a KL averaged over the code's dimensions; core's 'kl' sums them, so
    # 1/64 is StackGAN's weight at code_dim 64 (weight 1 pushed every code onto the prior: no text left).
    # damsm 1: the matcher's loss as one more generator term beside the adversarial one (AttnGAN adds its
    # DAMSM loss to the GAN losses); without it the built-in shapes match their captions at half the rate
    return Text2ImageObjectiveConfig(terms={"kl": 1 / 64, "damsm": 1.0})


class Text2ImageConfig(RunConfig):
    trainer: TrainerConfig = Field(
        default_factory=lambda: TrainerConfig(steps=3000, batch_size=64, sample_every=500, checkpoint_every=500),
        description="training loop",
    )
    data: CaptionDataConfig = Field(default_factory=CaptionDataConfig, description="captioned images")
    objective: Text2ImageObjectiveConfig = Field(
        default_factory=_objective,
        description="matching-aware cGAN + KL of conditioning augmentation + DAMSM image-caption term",
    )
    model: Text2ImageModelConfig = Field(default_factory=Text2ImageModelConfig, description="networks")
    eval: Text2ImageEvalConfig = Field(
        default_factory=lambda: Text2ImageEvalConfig(
            metrics=["caption_match", "retrieval", "image_statistics", "inception_fid"], num_samples=8
        ),
        description="evaluation",
    )


class GenerateOptions(StrictModel):
    count: int = Field(8, ge=1, le=256, description="images per prompt")
    prompts: Path | None = Field(None, description="a text file of prompts, one a line")


def _save_atomic(tensors: dict[str, torch.Tensor], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


class Text2ImageTask(Task):
    name = "text2image"
    description = "images from captions: matching-aware discriminator, conditioning augmentation, StackGAN stages"
    config_model = Text2ImageConfig
    generate_options = GenerateOptions

    _tokenizer: WordTokenizer | None = None
    _run_root: Path | None = None

    # -- run-directory state ----------------------------------------------------------------------

    def setup(self, run_root: Path, train: bool) -> None:
        """Vocabulary (and pretrained text encoder) into the run directory at training; read back otherwise."""
        self._run_root = run_root
        path = run_root / VOCAB_FILE
        if path.is_file() or not train:
            self._tokenizer = WordTokenizer.load(path)
            return
        source = self._stage_one_run()
        if source is not None:
            tokenizer = WordTokenizer.load(source / VOCAB_FILE)
        else:
            text = self.config.model.text
            tokenizer = WordTokenizer.build(self.base_dataset("train").all_captions(), text.max_length, text.min_count)
        self._tokenizer = tokenizer
        if source is None and self.config.model.text.training == "pretrain":
            _save_atomic(self._pretrain_matcher(), run_root / MATCHER_FILE)
        tokenizer.save(path)  # last: its presence marks the setup complete

    @property
    def tokenizer(self) -> WordTokenizer:
        if self._tokenizer is None:
            raise ConfigError("the text2image task has no vocabulary yet: Task.setup(run_dir) must run first")
        return self._tokenizer

    def _stage_one_run(self) -> Path | None:
        source = self.config.model.stage_one_from
        if source is None:
            return None
        if not self.config.model.stage_two:
            raise ConfigError("model.stage_one_from trains stage II on a frozen stage I: set model.stage_two=true")
        if not (source / VOCAB_FILE).is_file() or find_last(source / "checkpoints") is None:
            raise ConfigError(
                f"model.stage_one_from='{source}' is not a finished text2image run (no vocabulary or checkpoint)"
            )
        return source

    def _text_encoder(self) -> TextEncoder:
        t = self.config.model.text
        pretrained = None
        if t.embeddings == "glove":
            pretrained, found = glove_vectors(self.tokenizer.vocabulary)
            log.info("GloVe knows %d of the vocabulary's %d words", found, self.tokenizer.vocab_size - 2)
        return TextEncoder(self.tokenizer.vocab_size, t.embed_dim, t.hidden, t.sentence_dim, pretrained)

    def _pretrain_matcher(self) -> dict[str, torch.Tensor]:
        from cgp.plugins.text2image.matching import ImageTextMatcher, train_matcher

        train = self.eval_set("train")
        t = self.config.model.text
        log.info("pretraining the text encoder on %d image-caption pairs (%d steps)", len(train), t.pretrain_steps)
        with isolated_rng(PRETRAIN_SEED):
            matcher = ImageTextMatcher(self.tokenizer.vocab_size, t.sentence_dim, text_encoder=self._text_encoder())
            train_matcher(matcher, train.images, train.tokens, t.pretrain_steps, PRETRAIN_SEED)
        return matcher.state_dict()

    # -- factories ---------------------------------------------------------------------------------

    @property
    def stage_sizes(self) -> tuple[int, ...]:
        s = self.config.model.image_size
        return (s, 2 * s) if self.config.model.stage_two else (s,)

    @property
    def output_size(self) -> int:
        return self.stage_sizes[-1]

    def build_models(self) -> GanModels:
        m = self.config.model
        encoder = self._text_encoder()
        frozen_encoder = m.text.training == "pretrain" or m.stage_one_from is not None
        scorer = None
        if "damsm" in self.config.objective.terms and m.text.training == "pretrain":
            # on a frozen stage I the scorer is stage I's, which learnt at stage I's size
            scorer = CaptionScorer(m.text.sentence_dim, m.image_size if m.stage_one_from else self.output_size)
        if m.text.training == "pretrain" and m.stage_one_from is None and self._run_root is not None:
            path = self._run_root / MATCHER_FILE
            if path.is_file():
                matcher = load_file(str(path))
                encoder.load_state_dict(split_prefix(matcher, "text_encoder."))
                if scorer is not None:
                    scorer.load_state_dict({k: v for k, v in matcher.items() if not k.startswith("text_encoder.")})
        condition = TextCondition(encoder, m.code_dim, m.conditioning_augmentation, scorer, m.discriminator_text)
        generator = StackGenerator(m.code_dim, m.noise_dim, m.image_size, m.generator_width, m.stage_two, m.text_fusion)
        heads = self.config.objective.heads
        discriminators = {
            f"s{i + 1}": TextImageDiscriminator(
                size,
                m.discriminator_width,
                condition.seen_dim,
                heads,
                m.discriminator_norm,
                m.conditional_discriminator,
            )
            for i, size in enumerate(self.stage_sizes)
        }
        if m.stage_one_from is not None:
            self._load_stage_one(condition, generator)
            del discriminators["s1"]
            frozen_encoder = True
        if frozen_encoder:
            encoder.requires_grad_(False)
        if not m.stage_two:
            discriminators = {"main": discriminators["s1"]}
        return GanModels(generator, discriminators, condition)

    def _load_stage_one(self, condition: nn.Module, generator: StackGenerator) -> None:
        source = self._stage_one_run()
        assert source is not None
        tensors = load_checkpoint(find_last(source / "checkpoints"), groups=("models", "ema"))  # type: ignore[arg-type]
        weights = tensors.tensors.get("ema") or tensors.tensors["models"]  # both key the generator side alike
        state = split_prefix(weights, "condition.")
        has_scorer = any(k.startswith("scorer.") for k in state)
        if condition.scorer is not None and not has_scorer:  # type: ignore[union-attr]
            raise ConfigError(
                f"objective.terms has 'damsm' but model.stage_one_from='{source}' was trained without it, so it "
                "has no matcher to score images; drop 'damsm' (objective.terms={}) or train stage I with it"
            )
        if condition.scorer is None:  # type: ignore[union-attr]
            state = {k: v for k, v in state.items() if not k.startswith("scorer.")}  # this run does not use it
        try:
            condition.load_state_dict(state)
            generator.stage1.load_state_dict(split_prefix(weights, "generators.main.stage1."))
        except RuntimeError as exc:
            raise CheckpointError(
                f"model.stage_one_from='{source}' does not match this run's stage I ({str(exc).splitlines()[0]}); "
                "use the same model.text, model.code_dim, model.noise_dim, model.image_size, generator_width "
                "and text_fusion"
            ) from None
        generator.freeze_stage_one()
        condition.requires_grad_(False)

    def build_term(self, name: str, weight: float, models: GanModels) -> TermLoss:
        """``damsm`` gets the condition's frozen caption scorer; the rest come as registered."""
        factory = self.host.term_losses.get(name)
        if factory is SentenceMatchLoss:
            return SentenceMatchLoss(weight, models.condition.scorer)  # type: ignore[arg-type]
        return factory(weight)

    def adversarial_pairs(self) -> list[AdversarialPair]:
        if not self.config.model.stage_two:
            return [AdversarialPair()]
        pairs = [AdversarialPair("s1", "s1", "s1", "x"), AdversarialPair("s2", "s2", "s2", "x_s2")]
        return pairs[1:] if self.config.model.stage_one_from is not None else pairs

    def build_objective(self, models: GanModels) -> Objective:
        cfg = self.config.objective
        if "kl" in cfg.terms and not self.config.model.conditioning_augmentation:
            raise ConfigError(
                "objective.terms has 'kl' but model.conditioning_augmentation is off; remove it with "
                "--set objective.terms={} (or turn augmentation on)"
            )
        if "kl" in cfg.terms and self.config.model.stage_one_from is not None:
            raise ConfigError("stage I's condition is frozen, so its KL term trains nothing; set objective.terms={}")
        if "damsm" in cfg.terms and self.config.model.text.training != "pretrain":
            raise ConfigError(
                "objective.terms has 'damsm' but model.text.training is not pretrain, so there is no pretrained "
                "matcher to score the images; set model.text.training=pretrain or drop 'damsm' from objective.terms"
            )
        adversarial = self.host.adversarial_losses.get(cfg.adversarial)()
        terms = [self.build_term(name, weight, models) for name, weight in cfg.terms.items()]
        return TextToImageObjective(models, cfg, adversarial, terms, self.adversarial_pairs())

    # -- data --------------------------------------------------------------------------------------

    def base_dataset(self, split: str) -> Dataset:
        d, size = self.config.data, self.output_size
        if d.root is None:
            return CaptionedShapes(split, size, d.train_size if split == "train" else None)
        return self.host.datasets.get(d.reader)(d.root, split, image_size=size)

    def build_dataset(self, split: str) -> Dataset:
        return TokenizedCaptions(self.base_dataset(split), self.tokenizer, self.stage_sizes)

    @cached_property
    def _eval_sets(self) -> dict[str, CaptionEvalSet]:
        return {}

    def eval_set(self, split: str) -> CaptionEvalSet:
        """A split in memory at the output size (the first ``eval.limit`` / ``eval.train_limit`` items)."""
        if split not in self._eval_sets:
            limit = self.config.eval.train_limit if split == "train" else self.config.eval.limit
            with isolated_rng(0):  # the caption drawn for each image
                self._eval_sets[split] = collect_eval_set(
                    self.base_dataset(split), self.tokenizer, self.output_size, limit, f"{split} captions"
                )
        return self._eval_sets[split]

    @torch.no_grad()
    def sample_images(self, models: GanModels, tokens: torch.Tensor, device: torch.device) -> torch.Tensor:
        out = []
        for chunk in tokens.split(256):
            chunk = chunk.to(device)
            z = models.generator.sample_noise(len(chunk), device)
            out.append(final_image(models.generator(models.condition(chunk), z)).float().cpu())
        return torch.cat(out)

    # -- samples and inference ---------------------------------------------------------------------

    def write_samples(self, models: GanModels, directory: Path, step: int) -> list[Path]:
        """One row per test caption (the first eight), ``eval.num_samples`` samples each, captions as labels."""
        test = self.eval_set("test")
        captions = test.captions[:8]
        per_row = self.config.eval.num_samples
        tokens = test.tokens[: len(captions)].repeat_interleave(per_row, dim=0)
        device = next(models.parameters()).device
        images = self.sample_images(models, tokens, device)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{sample_stem(step)}.png"
        write_sample_grid(images, captions, per_row, path)
        return [path]

    def export_spec(self, models: GanModels, generator: str = "main") -> ExportSpec:
        """Caption ids (from the run's ``vocabulary.json``, padded with 0) and noise -> the last stage's
        image, with the conditioning-augmentation mean as the text code (deterministic)."""
        g = pick_generator(models, generator)
        captions = ["a small red circle at the top left", "two big blue squares"]
        ids = self.tokenizer.encode(captions, "the example captions")
        z = g.sample_noise(len(captions), ids.device)
        return ExportSpec(
            CaptionToImage(models.condition, g),  # type: ignore[arg-type]
            (ids, z),
            ("ids", "z"),
            dynamic={"ids": {0: "batch"}, "z": {0: "batch"}},
            resize=lambda inputs: tuple(torch.cat([t, t[:1]]) for t in inputs),
            notes="inputs: ids (B, max_length) int64 token ids from vocabulary.json, 0-padded; z (B, noise_dim)",
        )

    def generate(self, models: GanModels, inputs: list[str], output: Path, options: GenerateOptions) -> list[Path]:
        """Prompts (and lines of ``--prompts FILE``) -> ``count`` images each: PNG files in a folder, or one
        grid with the prompts as row labels when ``output`` ends in ``.png``."""
        prompts = list(inputs)
        if options.prompts is not None:
            try:
                lines = options.prompts.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                raise ConfigError(f"--prompts file '{options.prompts}' does not exist") from None
            except UnicodeDecodeError:
                raise ConfigError(f"--prompts file '{options.prompts}' is not UTF-8 text") from None
            prompts += [line.strip() for line in lines if line.strip()]
        prompts = [p for p in (p.strip() for p in prompts) if p]
        if not prompts:
            raise ConfigError("no prompts: give one or more quoted prompts, or --prompts FILE with one a line")
        tokens = self.tokenizer.encode(prompts, "the prompts").repeat_interleave(options.count, dim=0)
        device = next(models.parameters()).device
        images = self.sample_images(models, tokens, device)
        return write_prompt_outputs(images, prompts, options.count, output)
