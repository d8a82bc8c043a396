"""The text2image task end to end: user folders, vocabulary in the run, stages, resume, errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cgp.core.config import resolve_config
from cgp.core.errors import ConfigError
from cgp.core.losses import LossInputs
from cgp.core.plugins import load_plugins
from cgp.plugins.text2image import glove
from cgp.plugins.text2image.task import Text2ImageConfig
from cgp.plugins.text2image.tokenizer import VOCAB_FILE, WordTokenizer
from conftest import cgp_subprocess, run_cli, sets

TINY = [
    "model.image_size=16",
    "model.generator_width=16",
    "model.discriminator_width=16",
    "model.noise_dim=8",
    "model.code_dim=8",
    "model.text.embed_dim=8",
    "model.text.hidden=8",
    "model.text.sentence_dim=16",
    "model.text.pretrain_steps=3",
    "trainer.batch_size=8",
    "data.train_size=64",
    "trainer.log_every=2",
    "trainer.progress=off",
    "trainer.device=cpu",
    "eval.num_samples=2",
    "eval.limit=24",
    "eval.train_limit=48",
    "eval.diversity_captions=3",
    "eval.diversity_samples=2",
    "eval.retrieval_candidates=8",
]
"""A text2image run whose steps take milliseconds."""

COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 230), "green": (30, 200, 60)}


def captioned_folder(root: Path, fmt: str) -> Path:
    """ROOT/{train,test} with real PNG files of several modes and sizes and a metadata file."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("test", 8)):
        folder = root / split
        (folder / "img").mkdir(parents=True)
        rows = []
        for i in range(n):
            name = list(COLOURS)[i % 3]
            arr = np.zeros((20 + i % 5, 24, 3), np.uint8) + np.array(COLOURS[name], np.uint8)
            arr[rng.integers(0, 10) :, : rng.integers(5, 20)] //= 3
            img = Image.fromarray(arr)
            if i % 4 == 1:
                img = img.convert("L")
            elif i % 4 == 2:
                img = img.convert("RGBA")
            img.save(folder / "img" / f"{i}.png")
            rows.append({"file_name": f"img/{i}.png", "text": [f"a {name} picture", f"{name} shape number {i % 2}"]})
        if fmt == "jsonl":
            (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        else:
            lines = ["file_name,text"] + [f"{r['file_name']},{r['text'][0]}" for r in rows]
            lines += [f"{r['file_name']},{r['text'][1]}" for r in rows]
            (folder / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root


JOINT = ["model.text.training=joint", "objective.terms={kl: 0.015625}"]  # no pretrained matcher, so no DAMSM


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_user_folder_trains_evaluates_and_generates(tmp_path: Path, fmt: str) -> None:
    data = captioned_folder(tmp_path / "data", fmt)
    run = tmp_path / "run"
    metrics = "eval.metrics=[caption_match, retrieval, image_statistics, inception_fid]"
    result = run_cli(
        "train", "--plugin", "text2image", "--run-dir", str(run),
        *sets(*TINY, f"data.root={data}", "trainer.steps=4", "trainer.checkpoint_every=0", metrics),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    vocabulary = json.loads((run / VOCAB_FILE).read_text())["vocabulary"]
    assert {"red", "blue", "green", "picture", "shape"} <= set(vocabulary)
    assert (run / "text_matcher.safetensors").is_file()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_00000004.png"]

    result = run_cli("evaluate", str(run), "--json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.output.strip().splitlines()[-1])  # log lines come first in the mixed output
    values = values.get("metrics", values)
    assert "r_precision" in values and "diversity" in values and "frechet_matcher" in values
    assert "match_accuracy" not in values  # user data has no attribute labels

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red picture\n\nblue shape\n")
    result = run_cli("generate", str(run), "a green picture", "--count", "3", "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"a-green-picture_0{i}.png" for i in range(3)]
    grid = tmp_path / "grid.png"
    result = run_cli("generate", str(run), "--prompts", str(prompts), "--count", "2", "--output", str(grid))
    assert result.exit_code == 0, result.output
    with Image.open(grid) as img:
        assert img.height > 2 * 2 * 16  # two labelled rows of 16-px images, enlarged twice


def test_vocabulary_round_trips_through_the_run_directory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run = tmp_path / "run"
    result = run_cli(
        "train", "--plugin", "text2image", "--run-dir", str(run),
        *sets(*TINY, "trainer.steps=2", "eval.metrics=[]", *JOINT),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    host = load_plugins()
    config = resolve_config(Text2ImageConfig, "text2image", overrides=[*TINY, *JOINT])
    trained = host.task("text2image")(config, host)
    trained.setup(run, train=False)
    rebuilt = WordTokenizer.build(trained.base_dataset("train").all_captions(), 16)
    assert trained.tokenizer.vocabulary == rebuilt.vocabulary
    caption = "a small red circle at the top left"
    assert trained.tokenizer.decode(trained.tokenizer.encode([caption])[0]) == caption
    logger = logging.getLogger("cgp.text2image")
    logger.addHandler(caplog.handler)  # the CLI's logging setup may stop propagation to the root logger
    try:
        ids = trained.tokenizer.encode(["a zebra-striped circle"], "the prompts")[0]
    finally:
        logger.removeHandler(caplog.handler)
    assert int(ids[1]) == 1 and "not in the training vocabulary" in caplog.text and "'zebra'" in caplog.text

    # a resumed run reads the saved vocabulary even if the data would now give another one
    (run / VOCAB_FILE).write_text(
        json.dumps({"max_length": 16, "vocabulary": ["<pad>", "<unk>", *rebuilt.vocabulary[2:][::-1]]})
    )
    again = host.task("text2image")(config, host)
    again.setup(run, train=True)
    assert again.tokenizer.vocabulary[2:] == rebuilt.vocabulary[2:][::-1]


def test_missing_vocabulary_is_one_clear_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert (
        run_cli(
            "train", "--plugin", "text2image", "--run-dir", str(run), *sets(*TINY, "trainer.steps=1", "eval.metrics=[]")
        ).exit_code
        == 0
    )
    (run / VOCAB_FILE).unlink()
    result = cgp_subprocess("generate", str(run), "a red circle", "--output", str(tmp_path / "o.png"))
    assert result.returncode != 0
    assert "vocabulary" in result.stderr and "Traceback" not in result.stderr


def test_two_stage_run_resumes_bit_identically(tmp_path: Path) -> None:
    from test_resume import assert_resume_is_bit_identical

    common = sets(*TINY, "model.stage_two=true", "trainer.steps=6", "trainer.checkpoint_every=3", "eval.metrics=[]")
    straight = assert_resume_is_bit_identical("text2image", common, tmp_path, steps=6, stop=3)
    log = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert {"s1/d_real", "s1/d_mismatch", "s2/d_real", "s2/d_mismatch", "s2/g_adv", "kl"} <= set(log[0])


def test_stage_two_on_a_frozen_stage_one(tmp_path: Path) -> None:
    stage1 = tmp_path / "stage1"
    assert (
        run_cli(
            "train",
            "--plugin",
            "text2image",
            "--run-dir",
            str(stage1),
            *sets(*TINY, "trainer.steps=2", "eval.metrics=[]"),
        ).exit_code
        == 0
    )
    stage2 = tmp_path / "stage2"
    extra = ["model.stage_two=true", f"model.stage_one_from={stage1}", "objective.terms={}", "eval.metrics=[]"]
    result = run_cli(
        "train", "--plugin", "text2image", "--run-dir", str(stage2), *sets(*TINY, "trainer.steps=2", *extra)
    )
    assert result.exit_code == 0, result.output
    from safetensors.torch import load_file

    before = load_file(str(stage1 / "checkpoints" / "step_00000002" / "models.safetensors"))
    after = load_file(str(stage2 / "checkpoints" / "step_00000002" / "models.safetensors"))
    stage1_keys = [k for k in before if k.startswith("generators.main.stage1.") and "running" not in k]
    assert stage1_keys and all(torch.equal(before[k], after[k]) for k in stage1_keys)
    assert not any(k.startswith("discriminators.s1.") for k in after)
    log = json.loads((stage2 / "metrics.jsonl").read_text().splitlines()[0])
    assert "s2/d_real" in log and "s1/d_real" not in log


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["model.conditioning_augmentation=false"], "conditioning_augmentation"),
        (["model.stage_one_from=/nonexistent", "model.stage_two=true"], "not a finished text2image run"),
        (["model.stage_one_from=/nonexistent"], "stage_two=true"),
        (["model.text.training=joint", "objective.terms={kl: 0.015625, damsm: 1.0}"], "damsm"),
    ],
)
def test_config_mistakes_are_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    result = cgp_subprocess(
        "train", "--plugin", "text2image", "--run-dir", str(tmp_path / "r"), *sets(*TINY, "trainer.steps=1", *extra)
    )
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_bad_metadata_row_stops_training_with_its_name(tmp_path: Path) -> None:
    data = captioned_folder(tmp_path / "data", "jsonl")
    with (data / "train" / "metadata.jsonl").open("a") as f:
        f.write(json.dumps({"file_name": "img/missing.png", "text": "a red picture"}) + "\n")
    result = cgp_subprocess(
        "train", "--plugin", "text2image", "--run-dir", str(tmp_path / "r"), *sets(*TINY, f"data.root={data}")
    )
    assert result.returncode != 0 and "missing.png" in result.stderr and "Traceback" not in result.stderr


def test_glove_missing_extra_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = glove.importlib.import_module

    def no_glove(name: str) -> object:
        if name == glove.PACKAGE:
            raise ImportError(name)
        return real_import(name)

    monkeypatch.setattr(glove.importlib, "import_module", no_glove)
    with pytest.raises(ConfigError, match=r"pip install 'cgp\[glove\]'"):
        glove.glove_vectors(["<pad>", "<unk>", "red"])


def test_glove_vectors_fill_known_words_and_zero_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = np.arange(3 * 50, dtype=np.float32).reshape(3, 50)
    np.save(tmp_path / "glove_6B_50d_emb.npy", table)
    monkeypatch.setattr(glove, "_data_dir", lambda: tmp_path)
    monkeypatch.setattr(glove, "_read_index", lambda path: ["the", "red", "circle"])
    vectors, found = glove.glove_vectors(["<pad>", "<unk>", "circle", "zorp", "red"])
    assert found == 2
    assert torch.equal(vectors[2], torch.from_numpy(table[2])) and torch.equal(vectors[4], torch.from_numpy(table[1]))
    assert float(vectors[[0, 1, 3]].abs().sum()) == 0.0


def test_damsm_scorer_is_the_pretrained_matcher_frozen_and_rewards_the_right_caption(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from cgp.plugins.text2image.models import CaptionScorer
    from cgp.plugins.text2image.objective import SentenceMatchLoss

    run = tmp_path / "run"
    extra = ["objective.terms={kl: 0.015625, damsm: 1.0}", "model.text.pretrain_steps=60", "data.train_size=256"]
    extra += ["trainer.steps=3", "trainer.checkpoint_every=0", "eval.metrics=[]", "eval.train_limit=256"]
    result = run_cli("train", "--plugin", "text2image", "--run-dir", str(run), *sets(*TINY, *extra))
    assert result.exit_code == 0, result.output
    assert "damsm" in json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    matcher = load_file(str(run / "text_matcher.safetensors"))
    models = load_file(str(run / "checkpoints" / "step_00000003" / "models.safetensors"))
    scorer_keys = [k for k in models if k.startswith("condition.scorer.")]
    assert scorer_keys, "the damsm term's scorer is part of the condition"
    for key in scorer_keys:  # frozen: weights and batch-norm statistics are still the pretrained matcher's
        assert torch.equal(models[key], matcher[key.removeprefix("condition.scorer.")]), key

    # the term rewards images that show their own caption: real pairs cost less than shuffled ones,
    # and its gradient reaches the images only, never the frozen scorer
    host = load_plugins()
    config = resolve_config(Text2ImageConfig, "text2image", overrides=[*TINY, *extra])
    task = host.task("text2image")(config, host)
    task.setup(run, train=False)
    gan = task.build_models()
    gan.load_state_dict({k: v for k, v in models.items()}, strict=False)
    gan.train()
    assert isinstance(gan.condition.scorer, CaptionScorer) and not gan.condition.scorer.training
    train = task.eval_set("train")
    images, tokens = train.images[:64].clone().requires_grad_(True), train.tokens[:64]
    loss = SentenceMatchLoss(1.0, gan.condition.scorer)
    aux = gan.condition.aux(gan.condition(tokens))
    own = loss(LossInputs(None, images, None, None, aux))  # type: ignore[arg-type]
    shuffled = loss(LossInputs(None, images.roll(7, 0), None, None, aux))  # type: ignore[arg-type]
    assert float(own.detach()) < float(shuffled.detach())
    own.backward()
    assert images.grad is not None and float(images.grad.abs().sum()) > 0
    assert all(p.grad is None for p in gan.condition.scorer.parameters())


def test_discriminator_reads_the_fixed_sentence_or_the_generator_sides_code(tmp_path: Path) -> None:
    host = load_plugins()
    views = {}
    for reads in ("sentence", "code"):
        config = resolve_config(Text2ImageConfig, "text2image", overrides=[*TINY, f"model.discriminator_text={reads}"])
        task = host.task("text2image")(config, host)
        (tmp_path / reads).mkdir()
        task.setup(tmp_path / reads, train=True)
        gan = task.build_models()
        ids = task.eval_set("test").tokens[:8]
        seen = gan.condition.for_discriminator(gan.condition(ids))
        assert gan.discriminators["main"].project[0].in_features == seen.shape[1]
        with torch.no_grad():  # what a generator update changes: the conditioning layer
            gan.condition.to_code.weight.add_(1.0)
        moved = gan.condition.for_discriminator(gan.condition(ids))
        views[reads] = (seen, moved)
    seen, moved = views["sentence"]
    assert seen.shape[1] == 16 and not seen.requires_grad and torch.equal(seen, moved)
    assert torch.allclose(seen.mean(1), torch.zeros(8), atol=1e-5)  # standardised per caption
    seen, moved = views["code"]
    assert seen.shape[1] == 8 and not torch.equal(seen, moved)
