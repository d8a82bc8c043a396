"""The text2image metrics against generators whose answers are known.

A fake task serves a small captioned-shapes split at 16 px; "generators" are plain functions of the
caption ids: one copies the real test images (it must reach every real ceiling exactly), one renders
new shapes with what the caption names (as varied as the data), one draws a constant grey image (mode
collapse: no diversity, no caption match). The judge and matcher train for fewer steps than in a run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from cgp.core.metrics import EvalContext
from cgp.core.seeding import isolated_rng
from cgp.datasets.captioned_shapes import ATTRIBUTES, CaptionedShapes, render
from cgp.metrics.frechet import frechet_distance
from cgp.plugins.text2image import evaluation
from cgp.plugins.text2image.data import CaptionEvalSet, collect_eval_set
from cgp.plugins.text2image.matching import ImageTextMatcher, contrastive_loss, train_matcher
from cgp.plugins.text2image.text_encoder import TextEncoder
from cgp.plugins.text2image.tokenizer import WordTokenizer

SIZE = 16
Generator = Callable[[torch.Tensor], torch.Tensor]


class FakeTask:
    """The part of the text2image task the metrics use."""

    def __init__(self, sets: dict[str, CaptionEvalSet], tokenizer: WordTokenizer) -> None:
        self.sets, self.tokenizer, self.output_size = sets, tokenizer, SIZE
        self.config = SimpleNamespace(
            data=SimpleNamespace(root=None),
            eval=SimpleNamespace(diversity_captions=16, diversity_samples=6, retrieval_candidates=50),
        )

    def eval_set(self, split: str) -> CaptionEvalSet:
        return self.sets[split]

    def sample_images(self, models: Generator, tokens: torch.Tensor, device: torch.device) -> torch.Tensor:
        return models(tokens)


class Unlabelled(Dataset):
    """A captioned dataset without attributes, as a user's folder is."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict:
        item = self.base[index]
        return {"image": item["image"], "caption": item["caption"]}


@pytest.fixture(scope="module")
def shapes() -> tuple[dict[str, CaptionEvalSet], WordTokenizer]:
    train, test = CaptionedShapes("train", SIZE, 512), CaptionedShapes("test", SIZE, 200)
    tokenizer = WordTokenizer.build(train.all_captions(), 16)
    sets = {
        split: collect_eval_set(base, tokenizer, SIZE, None, split)
        for split, base in [("train", train), ("test", test)]
    }
    return sets, tokenizer


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One judge and one matcher for the module's tests (they are trained by the first that asks)."""
    return tmp_path_factory.mktemp("eval")


@pytest.fixture(autouse=True)
def _short_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluation, "JUDGE_STEPS", 150)
    monkeypatch.setattr(evaluation, "MATCHER_STEPS", 150)


def context(shapes, work_dir: Path, models: Generator) -> EvalContext:
    sets, tokenizer = shapes
    return EvalContext(FakeTask(sets, tokenizer), models, "test", work_dir, torch.device("cpu"))  # type: ignore[arg-type]


def run(metric: Callable[[EvalContext], dict[str, float]], ctx: EvalContext) -> dict[str, float]:
    with isolated_rng(123):  # as Task.evaluate does
        return metric(ctx)


def copy_generator(test: CaptionEvalSet) -> Generator:
    """The k-th request for a caption gets the k-th real test image with that caption, so asking for
    the whole test split returns it unchanged."""

    def generate(tokens: torch.Tensor) -> torch.Tensor:
        owners: dict[tuple, list[int]] = {}
        for i, row in enumerate(test.tokens.tolist()):
            owners.setdefault(tuple(row), []).append(i)
        asked: dict[tuple, int] = {}
        picks = []
        for row in tokens.tolist():
            key = tuple(row)
            picks.append(owners[key][asked.get(key, 0) % len(owners[key])])
            asked[key] = asked.get(key, 0) + 1
        return test.images[picks]

    return generate


def shapes_renderer(test: CaptionEvalSet) -> Generator:
    """A perfect generator: a fresh rendering of what the caption names, the rest drawn uniformly."""

    def generate(tokens: torch.Tensor) -> torch.Tensor:
        assert test.named is not None
        out = []
        for row in tokens:
            item = int((test.tokens == row).all(1).nonzero()[0])
            labels = [
                value if value >= 0 else int(torch.randint(len(values), ()))
                for value, values in zip(test.named[item].tolist(), ATTRIBUTES.values())
            ]
            rng = np.random.default_rng(int(torch.randint(2**31, ())))
            out.append(torch.from_numpy(render(rng, labels, SIZE)))
        return torch.stack(out)

    return generate


def constant_generator(tokens: torch.Tensor) -> torch.Tensor:
    return torch.zeros(len(tokens), 3, SIZE, SIZE)


# -- Fréchet distance ----------------------------------------------------------------------------


def test_frechet_distance_is_zero_for_a_set_and_itself_and_grows_with_a_shift() -> None:
    from cgp.plugins.cgan.judge import frechet_distance as from_judge

    assert from_judge is frechet_distance  # the cgan judge uses the shared one
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    shifts = [frechet_distance(x, x + s) for s in (0.5, 1.0, 2.0)]
    assert shifts == pytest.approx([8 * 0.25, 8 * 1.0, 8 * 4.0], rel=1e-6)  # ||shift||² when covariances agree
    assert frechet_distance(x, 2 * x) > 1.0  # a wider spread counts too


# -- matcher -------------------------------------------------------------------------------------


def test_matcher_takes_every_size_and_trains_a_given_text_encoder_deterministically() -> None:
    encoder = TextEncoder(12, out_dim=32)
    matcher = ImageTextMatcher(12, 32, text_encoder=encoder).eval()
    assert matcher.text_encoder is encoder
    ids = torch.tensor([[2, 3, 0], [4, 5, 6], [7, 0, 0]])
    for side in (16, 48, 128):
        assert matcher.similarity(torch.zeros(2, 3, side, side), ids).shape == (2, 3)
    with pytest.raises(ValueError, match="out_dim"):
        ImageTextMatcher(12, 64, text_encoder=encoder)

    g = torch.Generator().manual_seed(0)
    images, tokens = torch.rand(40, 3, 16, 16, generator=g) * 2 - 1, torch.randint(1, 12, (40, 5), generator=g)
    trained = []
    for _ in range(2):
        torch.manual_seed(0)
        m = train_matcher(ImageTextMatcher(12, 32, text_encoder=TextEncoder(12, out_dim=32)), images, tokens, 5, 1, 16)
        assert not m.training
        trained.append(m.state_dict())
    assert all(torch.equal(trained[0][k], trained[1][k]) for k in trained[0])
    assert not torch.equal(trained[0]["text_encoder.out.weight"], TextEncoder(12, out_dim=32).out.weight)


def test_contrastive_loss_treats_identical_captions_as_positives() -> None:
    distinct = torch.tensor([[1, 2], [3, 4], [5, 6]])
    logits = torch.randn(3, 3, generator=torch.Generator().manual_seed(0))
    one_hot = (
        torch.nn.functional.cross_entropy(logits, torch.arange(3))
        + torch.nn.functional.cross_entropy(logits.T, torch.arange(3))
    ) / 2
    assert contrastive_loss(logits, distinct) == pytest.approx(float(one_hot))
    repeated = torch.tensor([[1, 2], [1, 2], [5, 6]])
    swapped = logits[[1, 0, 2]]  # images 0 and 1 share a caption: which of the two they match is moot
    assert contrastive_loss(swapped, repeated) == pytest.approx(float(contrastive_loss(logits[:, [1, 0, 2]], repeated)))


def test_retrieval_candidates_say_something_else_and_shrink_to_a_small_split(shapes) -> None:
    sets, _ = shapes
    test = sets["test"]
    candidates = evaluation.retrieval_candidates(test, 50)
    assert candidates.shape == (len(test), 49)
    assert test.named is not None
    assert not (test.named[candidates] == test.named[:, None, :]).all(-1).any()
    small = CaptionEvalSet(test.images[:5], test.captions[:5], test.tokens[:5], test.named[:5], test.labels[:5])
    assert evaluation.retrieval_candidates(small, 50).shape[1] <= 4


# -- the metrics on a fake task ------------------------------------------------------------------


def test_copying_the_test_images_reaches_the_real_ceilings(shapes, cache_dir: Path) -> None:
    sets, _ = shapes
    ctx = context(shapes, cache_dir, copy_generator(sets["test"]))
    match = run(evaluation.caption_match, ctx)
    assert match["match_accuracy"] == match["match_accuracy_real"]
    assert match["match_accuracy_real"] > match["match_accuracy_chance"] + 0.35  # the judge learnt the attributes
    assert {"match_accuracy_colour", "match_accuracy_shape", "match_accuracy_position"} <= set(match)
    assert match["frechet_judge"] == pytest.approx(0.0, abs=1e-6)
    found = run(evaluation.retrieval, ctx)
    assert found["r_precision"] == found["r_precision_real"]
    assert found["r_precision_real"] > 5 * found["r_precision_chance"]
    assert found["r_precision_chance"] == pytest.approx(1 / 50)
    assert found["frechet_matcher"] == pytest.approx(0.0, abs=1e-6)
    stats = run(evaluation.image_statistics, ctx)
    assert stats["sharpness"] == pytest.approx(1.0)


def test_a_constant_generator_has_no_diversity_and_misses_the_captions(shapes, cache_dir: Path) -> None:
    ctx = context(shapes, cache_dir, constant_generator)
    stats = run(evaluation.image_statistics, ctx)
    assert stats["diversity"] == pytest.approx(0.0, abs=1e-9)
    assert stats["diversity_real"] > 0.1
    assert stats["sharpness"] == pytest.approx(0.0, abs=1e-9)
    match = run(evaluation.caption_match, ctx)
    assert match["match_accuracy"] < match["match_accuracy_chance"] + 0.15
    assert match["match_accuracy"] < match["match_accuracy_real"] - 0.3
    assert match["frechet_judge"] > 1.0
    found = run(evaluation.retrieval, ctx)
    assert found["r_precision"] < found["r_precision_real"] / 2


def test_a_perfect_generator_is_as_diverse_as_the_data_and_close_in_features(shapes, cache_dir: Path) -> None:
    perfect = context(shapes, cache_dir, shapes_renderer(shapes[0]["test"]))
    stats = run(evaluation.image_statistics, perfect)
    assert 0.75 < stats["diversity"] < 1.25
    assert stats["diversity"] == pytest.approx(stats["diversity_generated"] / stats["diversity_real"])
    match = run(evaluation.caption_match, perfect)
    assert match["match_accuracy"] > match["match_accuracy_real"] - 0.05
    collapsed = context(shapes, cache_dir, constant_generator)
    assert match["frechet_judge"] < run(evaluation.caption_match, collapsed)["frechet_judge"] / 10
    assert (
        run(evaluation.retrieval, perfect)["frechet_matcher"]
        < run(evaluation.retrieval, collapsed)["frechet_matcher"] / 10
    )


def test_metrics_are_deterministic_and_the_second_call_reads_the_cache(
    shapes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    test = shapes[0]["test"]

    def noisy_copy(tokens: torch.Tensor) -> torch.Tensor:  # draws from the global RNG, as a generator does
        return (copy_generator(test)(tokens) + 0.3 * torch.randn(len(tokens), 3, SIZE, SIZE)).clamp(-1, 1)

    metrics = (evaluation.caption_match, evaluation.retrieval, evaluation.image_statistics)
    first = [run(metric, context(shapes, tmp_path, noisy_copy)) for metric in metrics]
    assert first[0]["match_accuracy"] < first[0]["match_accuracy_real"] + 0.05
    key = json.loads((tmp_path / "caption_judge.json").read_text())
    assert {"data_root", "output_size", "vocab_size", "version"} <= set(key)
    assert (tmp_path / "caption_matcher.safetensors").is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although the cache matches")

    monkeypatch.setattr(evaluation, "train_judge", no_training)
    monkeypatch.setattr(evaluation, "train_matcher", no_training)
    assert [run(metric, context(shapes, tmp_path, noisy_copy)) for metric in metrics] == first


def test_inception_fid_is_skipped_with_one_warning_and_never_downloads(
    shapes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    monkeypatch.delenv(evaluation.INCEPTION_WEIGHTS_ENV, raising=False)
    assert evaluation.inception_weights() is None

    def refuse(tokens: torch.Tensor) -> torch.Tensor:
        raise AssertionError("nothing is generated for a skipped metric")

    with caplog.at_level(logging.INFO, logger="cgp"):
        assert run(evaluation.inception_fid, context(shapes, tmp_path, refuse)) == {}
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.WARNING
    assert caplog.records[0].getMessage().startswith("inception_fid skipped: ")
    assert "Inception weights" in caplog.text and "never downloaded" in caplog.text


def test_data_without_attributes_has_no_caption_match_but_the_other_metrics(
    shapes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sets, tokenizer = shapes
    unlabelled = {
        split: collect_eval_set(Unlabelled(CaptionedShapes(split, SIZE, 40)), tokenizer, SIZE, None, split)
        for split in ("train", "test")
    }
    assert unlabelled["test"].named is None
    ctx = EvalContext(
        FakeTask(unlabelled, tokenizer), copy_generator(unlabelled["test"]), "test", tmp_path, torch.device("cpu")
    )  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="cgp"):
        assert run(evaluation.caption_match, ctx) == {}
    assert len(caplog.records) == 1 and "no attribute labels" in caplog.text
    stats = run(evaluation.image_statistics, ctx)
    assert stats["diversity_real"] > 0 and stats["sharpness"] == pytest.approx(1.0)
    assert not (tmp_path / "caption_judge.json").exists()
