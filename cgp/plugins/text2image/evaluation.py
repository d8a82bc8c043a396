"""The text2image task's metrics: does an image show what its caption says, how varied and sharp
are the images, and (when available) Inception FID.

* ``caption_match``: an attribute judge (one CNN body, one classification head per attribute) is
  trained on the real training images and their true attributes. Each test caption is drawn once,
  and the judge is asked about the attributes that caption names: ``match_accuracy`` over all named
  (item, attribute) pairs and ``match_accuracy_<attribute>`` per attribute, with the judge on the
  real test images as the ceiling (``match_accuracy_real``) and uniform guessing as the floor
  (``match_accuracy_chance``). ``frechet_judge`` is the Fréchet distance between the judge's
  penultimate features of real and generated test images (FID's formula on a small in-domain
  network, not Inception). Only data with attribute labels (the built-in captioned shapes) has it.
* ``retrieval``: R-precision with R = 1, as in AttnGAN (Xu et al. 2018) and DF-GAN (Tao et al.
  2022), scored by an :class:`ImageTextMatcher` trained on the real training pairs: each generated
  image is ranked against its own caption and ``retrieval_candidates - 1`` captions of other test
  items, and it is a hit when its own caption scores highest. Candidates never say the same thing
  as the query (same named attributes, or the same words for data without attributes), since a
  ranking cannot prefer one of two identical descriptions. ``r_precision_real`` ranks the real test
  images the same way (the ceiling); ``frechet_matcher`` compares the matcher's image features.
* ``image_statistics``: ``diversity`` is the spread of several samples for one caption relative to
  the spread of real test images that fit the same caption (0: one image per caption, the mode
  collapse a conditional GAN is prone to; about 1: as varied as the data). The spread of a group is
  its mean pairwise root-mean-square pixel distance, on the [-1, 1] scale, after a 2x2 average
  pool; a fixed, data-independent measure, so numbers compare across runs and models, and the pool
  keeps pixel-level noise from counting as variety. ``sharpness`` is the generated images' mean
  high-frequency energy over the real test images' (see :mod:`cgp.metrics.image`).
* ``inception_fid``: ``inception_fid`` (FID, Heusel et al. 2017) and ``inception_kid`` (KID,
  Bińkowski et al. 2018) of generated against real test images through the optional
  ``torch-fidelity`` package, only when its Inception weights are already on disk (torch hub's
  checkpoint folder, or the file ``$CGP_INCEPTION_WEIGHTS`` names); it never downloads them, and
  otherwise logs one warning and reports nothing.

The judge and the matcher are trained once per run from fixed seeds, on the evaluation device, and
cached in the run's evaluation folder under a key of everything they depend on (data root, output
size, vocabulary, training settings, ``CACHE_VERSION``), so repeated evaluations give identical
numbers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from cgp.core.metrics import EvalContext, load_cached_model, save_cached_model
from cgp.core.seeding import isolated_rng
from cgp.metrics.frechet import frechet_distance
from cgp.metrics.image import high_frequency_energy
from cgp.plugins.text2image.data import CaptionEvalSet
from cgp.plugins.text2image.matching import ImageEncoder, ImageTextMatcher, train_matcher

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the judge, the matcher or their training changes
# shapes at 32 px from 2000 images: ~95% right on the shape, ~100% on the other attributes; ~5-10 s on 2 CPU cores
JUDGE_SEED, JUDGE_STEPS, JUDGE_BATCH, JUDGE_LR = 2024, 400, 64, 3e-3
# R-precision of real shapes ~0.78 (chance 0.01); twice the steps gains little; ~5-10 s on 2 CPU cores
MATCHER_SEED, MATCHER_STEPS, MATCHER_BATCH, MATCHER_LR = 2025, 300, 64, 3e-3
MATCHER_DIM = 64  # the judge's feature size too: enough for a handful of attributes
CANDIDATE_SEED = 7  # which captions an image is ranked against: the same for every model
GROUP_SEED = 8  # which real images form the diversity groups of data without attributes
CHUNK = 256  # images per forward pass

INCEPTION_WEIGHTS = (  # the same file (sha256 6726825d...) under torch-fidelity's and pytorch-fid's names
    "weights-inception-2015-12-05-6726825d.pth",
    "pt_inception-2015-12-05-6726825d.pth",
)
INCEPTION_WEIGHTS_ENV = "CGP_INCEPTION_WEIGHTS"

M = TypeVar("M", bound=nn.Module)


# -- the attribute judge and the matcher, trained once per run -----------------------------------


class AttributeJudge(nn.Module):
    """One shared :class:`ImageEncoder` body with a ReLU (its output: the Fréchet features) and one
    linear head per attribute."""

    def __init__(self, attribute_values: dict[str, tuple[str, ...]], features: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(ImageEncoder(features), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(features, len(values)) for values in attribute_values.values())

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def logits(self, features: torch.Tensor) -> list[torch.Tensor]:
        return [head(features) for head in self.heads]

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """(N, A): each attribute's most likely value."""
        return torch.stack([logits.argmax(1) for logits in self.logits(features)], 1)


def train_judge(judge: AttributeJudge, images: torch.Tensor, labels: torch.Tensor, seed: int = JUDGE_SEED) -> None:
    """Summed cross-entropy over the heads; Adam with a one-cycle schedule, on the judge's device."""
    device = next(judge.parameters()).device
    with isolated_rng(seed), torch.enable_grad():
        opt = torch.optim.Adam(judge.parameters(), lr=JUDGE_LR)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=JUDGE_LR, total_steps=JUDGE_STEPS)
        g = torch.Generator().manual_seed(seed)
        judge.train()
        for _ in range(JUDGE_STEPS):
            idx = torch.randint(0, len(images), (JUDGE_BATCH,), generator=g)
            x, y = images[idx].to(device), labels[idx].to(device)
            heads = judge.logits(judge.features(x))
            loss = torch.stack([F.cross_entropy(logits, y[:, a]) for a, logits in enumerate(heads)]).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    judge.eval()


def _cache_key(context: EvalContext, model: str, train: CaptionEvalSet, **settings: object) -> dict:
    tokenizer = context.task.tokenizer
    return {
        "model": model,
        "data_root": str(context.config.data.root),
        "output_size": context.task.output_size,
        "train_items": len(train),
        "vocab_size": tokenizer.vocab_size,
        "vocabulary": hashlib.sha256("\n".join(tokenizer.vocabulary).encode()).hexdigest()[:16],
        "max_length": tokenizer.max_length,
        "version": CACHE_VERSION,
        **settings,
    }


def _load_or_train(context: EvalContext, key: dict, seed: int, build: Callable[[], M], train: Callable[[M], None]) -> M:
    """``build()`` (always under the seed, so a cache hit draws as much randomness as a miss) on the
    evaluation device; then the cached weights if their key matches, else ``train`` and cache."""
    with isolated_rng(seed):
        model = build().to(context.device)
    if load_cached_model(model, context.work_dir, key["model"], key):
        return model.eval()
    train(model)
    save_cached_model(model, context.work_dir, key["model"], key)
    return model.eval()


def load_or_train_judge(context: EvalContext) -> AttributeJudge:
    train = context.task.eval_set("train")
    values, labels = train.attribute_values, train.labels
    assert values is not None and labels is not None, "caption_match checks for attributes before asking"
    settings = {"attributes": values, "steps": JUDGE_STEPS, "batch": JUDGE_BATCH, "lr": JUDGE_LR, "seed": JUDGE_SEED}
    key = _cache_key(context, "caption_judge", train, **settings)
    key = json.loads(json.dumps(key))  # tuples -> lists, as the key reads back from disk
    return _load_or_train(
        context,
        key,
        JUDGE_SEED,
        lambda: AttributeJudge(values),
        lambda judge: train_judge(judge, train.images, labels),
    )


def load_or_train_matcher(context: EvalContext) -> ImageTextMatcher:
    train = context.task.eval_set("train")
    settings = {
        "dim": MATCHER_DIM,
        "steps": MATCHER_STEPS,
        "batch": MATCHER_BATCH,
        "lr": MATCHER_LR,
        "seed": MATCHER_SEED,
    }
    key = _cache_key(context, "caption_matcher", train, **settings)
    return _load_or_train(
        context,
        key,
        MATCHER_SEED,
        lambda: ImageTextMatcher(context.task.tokenizer.vocab_size, MATCHER_DIM),
        lambda matcher: train_matcher(
            matcher, train.images, train.tokens, MATCHER_STEPS, MATCHER_SEED, MATCHER_BATCH, MATCHER_LR
        ),
    )


@torch.no_grad()
def _apply(fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``fn`` over ``inputs`` in chunks on ``device``; the result on the CPU (floats as float32)."""
    outputs = [fn(chunk.to(device)).cpu() for chunk in inputs.split(CHUNK)]
    return torch.cat([out.float() if out.is_floating_point() else out for out in outputs])


# -- caption_match -------------------------------------------------------------------------------


def caption_match(context: EvalContext) -> dict[str, float]:
    """Named-attribute accuracy of generated images (with ceiling and chance) and ``frechet_judge``."""
    task = context.task
    test, train = task.eval_set(context.split), task.eval_set("train")
    if test.named is None or test.attribute_values is None or train.labels is None:
        log.info("caption_match skipped: the data has no attribute labels (only the built-in captioned shapes do)")
        return {}
    judge = load_or_train_judge(context)
    fake = task.sample_images(context.models, test.tokens, context.device)
    real_features = _apply(judge.features, test.images, context.device)
    fake_features = _apply(judge.features, fake, context.device)
    real_hits = _apply(judge.predict, real_features, context.device) == test.named
    fake_hits = _apply(judge.predict, fake_features, context.device) == test.named
    named = test.named >= 0
    choices = torch.tensor([len(v) for v in test.attribute_values.values()], dtype=torch.float64)
    results = {
        "match_accuracy": float(fake_hits[named].double().mean()),
        "match_accuracy_real": float(real_hits[named].double().mean()),
        "match_accuracy_chance": float((1 / choices).expand(named.shape)[named].mean()),
    }
    for a, attribute in enumerate(test.attribute_values):
        if named[:, a].any():
            name = re.sub(r"\W+", "_", attribute)
            results[f"match_accuracy_{name}"] = float(fake_hits[named[:, a], a].double().mean())
    results["frechet_judge"] = frechet_distance(real_features, fake_features)
    return results


# -- retrieval -----------------------------------------------------------------------------------


def _same_meaning(test: CaptionEvalSet, rows: slice) -> torch.Tensor:
    """(rows, N): which captions say the same as the rows' captions (named attributes, else words)."""
    keys = test.named if test.named is not None else test.tokens
    return (keys[rows, None, :] == keys[None, :, :]).all(-1)


def retrieval_candidates(test: CaptionEvalSet, candidates: int) -> torch.Tensor:
    """(N, K) indices of other test captions each item is ranked against, drawn at random (a fixed
    stream) among those that mean something else; K = ``candidates - 1``, or fewer where the split
    has fewer such captions for some item (then every item gets that many)."""
    n = len(test)
    g = torch.Generator().manual_seed(CANDIDATE_SEED)
    chunks = [(rows, _same_meaning(test, rows)) for rows in (slice(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK))]
    k = min([candidates - 1] + [int((~same).sum(1).min()) for _, same in chunks])
    out = []
    for _, same in chunks:
        order = torch.rand(same.shape, generator=g).masked_fill(same, 2.0)  # others first, in random order
        out.append(order.topk(k, dim=1, largest=False).indices)
    return torch.cat(out)


def r_precision(image_features: torch.Tensor, text_features: torch.Tensor, candidates: torch.Tensor) -> float:
    """Share of images whose own caption (same row) beats all their candidate captions."""
    own = (image_features * text_features).sum(1)
    others = torch.einsum("nd,nkd->nk", image_features, text_features[candidates])
    return float((own > others.max(1).values).double().mean())


def retrieval(context: EvalContext) -> dict[str, float]:
    """R-precision (R = 1) of generated and real test images, its chance level, ``frechet_matcher``."""
    task = context.task
    test = task.eval_set(context.split)
    candidates = retrieval_candidates(test, context.config.eval.retrieval_candidates)
    if candidates.shape[1] == 0:
        log.info("retrieval skipped: every caption of the '%s' split says the same thing", context.split)
        return {}
    matcher = load_or_train_matcher(context)
    fake = task.sample_images(context.models, test.tokens, context.device)
    text = _apply(matcher.text_features, test.tokens, context.device)
    real_features = _apply(matcher.image_features, test.images, context.device)
    fake_features = _apply(matcher.image_features, fake, context.device)
    return {
        "r_precision": r_precision(fake_features, text, candidates),
        "r_precision_real": r_precision(real_features, text, candidates),
        "r_precision_chance": 1.0 / (candidates.shape[1] + 1),
        "frechet_matcher": frechet_distance(real_features, fake_features),
    }


# -- image_statistics ----------------------------------------------------------------------------


def spread(images: torch.Tensor) -> float:
    """Mean pairwise RMS pixel distance of (G, C, S, S) images after a 2x2 average pool."""
    x = F.avg_pool2d(images.double(), 2).flatten(1)
    d = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist") / math.sqrt(x.shape[1])
    g = len(images)
    return float(d.sum() / (g * (g - 1)))


def diversity_groups(test: CaptionEvalSet, captions: int, samples: int) -> list[tuple[int, torch.Tensor]]:
    """Up to ``captions`` (test item, real test images that fit its caption) pairs, distinct captions.

    With attributes, the real images that fit are those whose true attributes equal every attribute
    the caption names (the first ``samples`` of them; captions with fewer than two are skipped).
    Without, a caption's group is ``samples`` test images drawn at random (a fixed stream)."""
    groups: list[tuple[int, torch.Tensor]] = []
    seen: set[str] = set()
    g = torch.Generator().manual_seed(GROUP_SEED)
    for i, caption in enumerate(test.captions):
        if len(groups) == captions:
            break
        if caption in seen:
            continue
        seen.add(caption)
        if test.named is not None and test.labels is not None:
            named = test.named[i] >= 0
            fits = (test.labels[:, named] == test.named[i, named]).all(1).nonzero().flatten()[:samples]
        else:
            fits = torch.randperm(len(test), generator=g)[:samples]
        if len(fits) >= 2:
            groups.append((i, fits))
    return groups


def image_statistics(context: EvalContext) -> dict[str, float]:
    """``diversity`` (generated over real spread), its two parts, and ``sharpness``."""
    task, cfg = context.task, context.config.eval
    test = task.eval_set(context.split)
    results: dict[str, float] = {}
    groups = diversity_groups(test, cfg.diversity_captions, cfg.diversity_samples)
    if groups:
        items = torch.tensor([i for i, _ in groups])
        samples = task.sample_images(
            context.models, test.tokens[items].repeat_interleave(cfg.diversity_samples, 0), context.device
        )
        generated = sum(spread(group) for group in samples.split(cfg.diversity_samples)) / len(groups)
        real = sum(spread(test.images[fits]) for _, fits in groups) / len(groups)
        results["diversity"] = generated / real if real > 0 else float("nan")
        results["diversity_generated"] = generated
        results["diversity_real"] = real
    else:
        log.info("diversity skipped: no caption of the '%s' split fits two or more test images", context.split)
    fake = task.sample_images(context.models, test.tokens, context.device)
    real_energy = float(high_frequency_energy(test.images).mean())
    results["sharpness"] = float(high_frequency_energy(fake).mean()) / max(real_energy, 1e-12)
    return results


# -- inception_fid -------------------------------------------------------------------------------


def inception_weights() -> Path | None:
    """``$CGP_INCEPTION_WEIGHTS``, else the FID Inception weights in torch hub's checkpoint folder."""
    if os.environ.get(INCEPTION_WEIGHTS_ENV):
        path = Path(os.environ[INCEPTION_WEIGHTS_ENV])
        return path if path.is_file() else None
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    return next((folder / name for name in INCEPTION_WEIGHTS if (folder / name).is_file()), None)


class _Uint8Images(Dataset):
    """[-1, 1] float images as the uint8 (3, H, W) tensors torch-fidelity reads."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def inception_fid(context: EvalContext) -> dict[str, float]:
    """``inception_fid`` and ``inception_kid`` of generated against real test images, when possible."""
    installed = importlib.util.find_spec("torch_fidelity") is not None
    weights = inception_weights()
    if not installed or weights is None:
        reasons = []
        if not installed:
            reasons.append("torch-fidelity is not installed (pip install torch-fidelity)")
        if weights is None:
            folder = Path(torch.hub.get_dir()) / "checkpoints"
            reasons.append(
                f"no Inception weights are on disk ({INCEPTION_WEIGHTS[0]} in {folder} or a file named by "
                f"${INCEPTION_WEIGHTS_ENV}; they are never downloaded)"
            )
        log.warning("inception_fid skipped: %s", " and ".join(reasons))
        return {}
    import torch_fidelity

    test = context.task.eval_set(context.split)
    fake = context.task.sample_images(context.models, test.tokens, context.device)
    scores = torch_fidelity.calculate_metrics(
        input1=_Uint8Images(fake),
        input2=_Uint8Images(test.images),
        fid=True,
        kid=True,
        kid_subset_size=min(1000, len(test)),
        feature_extractor_weights_path=str(weights),
        cuda=context.device.type == "cuda",
        cache=False,
        verbose=False,
    )
    return {
        "inception_fid": float(scores["frechet_inception_distance"]),
        "inception_kid": float(scores["kernel_inception_distance_mean"]),
    }
