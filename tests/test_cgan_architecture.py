"""The cgan task's architecture switches (SNGAN / SAGAN / BigGAN): each builds, does what it says,
and a run with all of them on trains and resumes bit-identically."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cgp.core.errors import ConfigError
from cgp.nn.attention import SelfAttention2d
from cgp.nn.dcgan import DCGANDecoder, DCGANEncoder
from cgp.nn.minibatch_std import minibatch_std, minibatch_std_by_label
from cgp.plugins.cgan.models import ClassConditionalDiscriminator, ConditionalDCGANGenerator, MultiScaleDiscriminator
from conftest import TINY, cgp_subprocess, run_cli, sets
from test_resume import assert_resume_is_bit_identical


def test_a_fresh_attention_block_is_the_identity_and_learns_its_scale() -> None:
    torch.manual_seed(0)
    block = SelfAttention2d(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(block(x), x)
    block(x).square().sum().backward()
    assert block.gamma.grad is not None and block.gamma.grad.abs() > 0
    with torch.no_grad():
        block.gamma.fill_(1.0)
    y = block(x)
    assert y.shape == x.shape and not torch.allclose(y, x)


def test_attention_reaches_every_position() -> None:
    """A change at one corner moves the output at the opposite corner (a 3x3 conv stack would not)."""
    torch.manual_seed(0)
    block = SelfAttention2d(8)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(1, 8, 16, 16)
    moved = x.clone()
    moved[0, :, 0, 0] += 5.0
    assert not torch.allclose(block(x)[0, :, -1, -1], block(moved)[0, :, -1, -1])


def test_attention_is_placed_at_the_asked_resolution() -> None:
    decoder = DCGANDecoder(8, image_size=32, base_width=16, attention_at=16)
    encoder = DCGANEncoder(32, 3, 16, "spectral", attention_at=8)
    sizes = {}
    x = torch.randn(2, 8, 1, 1)
    for layer in (*decoder.project, *decoder.body):
        x = layer(x)
        if isinstance(layer, SelfAttention2d):
            sizes["decoder"] = x.shape[-1]
    feats = encoder(torch.randn(2, 3, 32, 32))
    level = next(i for i, block in enumerate(encoder.blocks) if any(isinstance(m, SelfAttention2d) for m in block))
    assert sizes == {"decoder": 16} and feats[level].shape[-1] == 8
    assert hasattr(next(m for m in encoder.modules() if isinstance(m, SelfAttention2d)).query, "weight_orig")
    with pytest.raises(ValueError, match="from 8 to 16"):
        DCGANDecoder(8, image_size=32, attention_at=32)


def test_spectral_norm_in_the_generator_bounds_each_layer() -> None:
    torch.manual_seed(0)
    decoder = DCGANDecoder(8, image_size=16, base_width=16, spectral=True)
    convs = [m for m in decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert convs and all(hasattr(m, "weight_orig") for m in convs)
    decoder.train()
    for _ in range(20):  # power iterations converge
        decoder(torch.randn(4, 8))
    for m in convs:
        w = m.weight.detach().transpose(0, 1).flatten(1)  # ConvTranspose: dim 1 is the output
        assert torch.linalg.matrix_norm(w, ord=2) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("conditioning", ["concat", "cbn", "both"])
def test_every_conditioning_reads_the_label(conditioning: str) -> None:
    torch.manual_seed(0)
    g = ConditionalDCGANGenerator(4, 8, 6, 16, 16, conditioning=conditioning)  # batch statistics
    for m in g.modules():  # a fresh conditional norm is plain batch norm: give it something to say
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.5)
    z = torch.randn(1, 8).repeat(4, 1)
    images = g(torch.arange(4), z)
    assert images.shape == (4, 3, 16, 16)
    assert (images[0] - images[1]).abs().max() > 1e-3
    with_cbn = any("gain" in name for name, _ in g.named_parameters())
    assert with_cbn == (conditioning != "concat")
    first = g.decoder.project[0]
    assert first.in_channels == (8 if conditioning == "cbn" else 14)


def test_truncation_applies_when_sampling_only() -> None:
    g = ConditionalDCGANGenerator(3, 64, 4, 16, 16, truncation=0.5)
    torch.manual_seed(0)
    assert g.sample_noise(256, "cpu").abs().max() > 2.0  # training: the full normal
    g.eval()
    z = g.sample_noise(256, "cpu")
    assert z.abs().max() <= 0.5 and z.std() > 0.2


def test_orthogonal_init_gives_orthogonal_weights() -> None:
    torch.manual_seed(0)
    d = ClassConditionalDiscriminator(4, 16, 16, init="orthogonal", norm="none")
    conv = d.encoder.blocks[0][0]
    w = conv.weight.detach().flatten(1)  # (16, 48): orthonormal rows
    assert torch.allclose(w @ w.T, torch.eye(16), atol=1e-5)
    g = ConditionalDCGANGenerator(4, 8, 6, 16, 16, init="orthogonal")
    assert g.decoder.project[0].weight.detach().flatten(1).norm(dim=1).max() <= 1.0 + 1e-5


def test_the_sngan_depth_adds_a_full_resolution_convolution_per_level() -> None:
    torch.manual_seed(0)
    plain = DCGANEncoder(32, 3, 16, "spectral")
    deep = DCGANEncoder(32, 3, 16, "spectral", stride1=True)
    x = torch.randn(2, 3, 32, 32)
    assert [f.shape for f in deep(x)] == [f.shape for f in plain(x)]  # same levels, same widths
    convs = [m for m in deep.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 * len([m for m in plain.modules() if isinstance(m, nn.Conv2d)])
    first = deep.blocks[0][0]
    assert first.kernel_size == (3, 3) and first.stride == (1, 1) and hasattr(first, "weight_orig")
    d = ClassConditionalDiscriminator(4, 32, 16, stride1=True)
    assert d(x, torch.tensor([0, 3])).shape == (2,)


def test_minibatch_std_is_the_spread_of_each_samples_group() -> None:
    h = torch.tensor([[0.0, 2.0], [1.0, 1.0], [2.0, 6.0], [3.0, 1.0]])
    # groups of 2 are samples (0, 2) and (1, 3): spreads (1 + 2) / 2 and (1 + 0) / 2
    assert torch.allclose(minibatch_std(h, group_size=2).flatten(), torch.tensor([1.5, 0.5, 1.5, 0.5]), atol=1e-3)
    by_label = minibatch_std_by_label(h, torch.tensor([1, 1, 0, 2]), 3).flatten()
    assert torch.allclose(by_label, torch.tensor([0.5, 0.5, 0.0, 0.0]), atol=1e-3)  # a lone sample: no spread


@pytest.mark.parametrize("kind", ["group", "class"])
def test_minibatch_std_tells_a_collapsed_batch_from_a_varied_one(kind: str) -> None:
    torch.manual_seed(0)
    d = ClassConditionalDiscriminator(4, 32, 16, minibatch_std=kind).eval()  # eval: spectral norm stays put
    labels = torch.tensor([0, 1, 2, 3] * 4)
    varied = torch.randn(16, 3, 32, 32)
    collapsed = varied.clone()
    collapsed[labels == 2] = varied[2]  # class 2 drawn the same for every sample
    with torch.no_grad():
        changed = (d(collapsed, labels) - d(varied, labels)).abs()
    assert changed[labels == 2].min() > 0  # the collapsed class's scores move
    # and only theirs: each other sample's group (every 4th sample, or its class) is unchanged
    assert changed[labels != 2].max() == 0


def test_instance_noise_anneals_to_zero_and_stays_out_of_evaluation() -> None:
    torch.manual_seed(0)
    x, labels = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])
    d = ClassConditionalDiscriminator(4, 16, 16, norm="none", instance_noise=0.5)
    clean = ClassConditionalDiscriminator(4, 16, 16, norm="none")
    clean.load_state_dict(d.state_dict())
    d.set_progress(0, 10)
    assert d.noise_std == 0.5
    assert not torch.equal(d(x, labels), clean(x, labels))  # training: D reads a noisy image
    d.set_progress(5, 10)
    assert d.noise_std == pytest.approx(0.25)
    d.set_progress(10, 10)
    assert d.noise_std == 0.0 and torch.equal(d(x, labels), clean(x, labels))  # annealed away at the end
    d.set_progress(0, 10)
    d.eval(), clean.eval()
    assert torch.equal(d(x, labels), clean(x, labels))  # evaluation never adds noise


def test_diff_augment_changes_what_d_reads_in_training_only() -> None:
    torch.manual_seed(0)
    x, labels = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])
    d = ClassConditionalDiscriminator(4, 16, 16, norm="none", augment=("translation", "cutout"))
    plain = ClassConditionalDiscriminator(4, 16, 16, norm="none")
    plain.load_state_dict(d.state_dict())
    assert not torch.equal(d(x, labels), plain(x, labels))
    d.eval(), plain.eval()
    assert torch.equal(d(x, labels), plain(x, labels))


@pytest.mark.parametrize(
    ("setting", "phrases"),
    [
        ("model.attention=16", ("model.attention", "from 8 to 8")),
        ("model.discriminator_scales=4", ("model.discriminator_scales=4", "at most 2")),
    ],
)
def test_a_bad_resolution_is_one_line(tmp_path: Path, setting: str, phrases: tuple[str, ...]) -> None:
    result = run_cli("train", "--plugin", "cgan", "--run-dir", str(tmp_path / "run"), *sets(*TINY, setting))
    assert result.exit_code == 2
    assert all(phrase in result.output for phrase in phrases), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_all_switches_on_train_and_resume_bit_identically(tmp_path: Path) -> None:
    switches = [
        "model.generator_conditioning=both",
        "model.generator_norm=spectral",
        "model.attention=8",
        "model.init=orthogonal",
        "model.truncation=1.0",
        "model.auxiliary_classifier=true",
        "model.discriminator_depth=sngan",
        "model.minibatch_std=class",
        "model.discriminator_scales=2",
        "model.diff_augment=[color, translation, cutout]",
        "objective.adversarial=hinge",
        "objective.terms={mode_seeking: 1.0}",
        "optim.generator.lr=1e-4",
        "optim.discriminator.lr=4e-4",
        "optim.generator.betas=[0.0, 0.9]",
        "optim.discriminator.betas=[0.0, 0.9]",
        "optim.schedule.kind=constant",  # the first half stops at a smaller trainer.steps, which would move the decay
    ]
    common = sets(
        *TINY, *switches, "trainer.steps=6", "trainer.checkpoint_every=3", "trainer.sample_every=0", "eval.metrics=[]"
    )
    straight = assert_resume_is_bit_identical("cgan", common, tmp_path, steps=6, stop=3)
    logged = (straight / "metrics.jsonl").read_text()
    assert '"acgan_d"' in logged and '"acgan_g"' in logged  # the auxiliary classifier's terms train
    assert '"mode_seeking"' in logged
    names = cgp_subprocess(
        "generate", str(straight), "circle", "--output", str(tmp_path / "g.png"), "--truncation", "0.5"
    )
    assert names.returncode == 0, names.stderr
    assert (tmp_path / "g.png").is_file()


@pytest.mark.parametrize("heads", ["joint", "split"])
def test_each_scale_of_a_multiscale_discriminator_reads_the_image_pooled_once_more(heads: str) -> None:
    torch.manual_seed(0)
    built: list[ClassConditionalDiscriminator] = []

    def build(size: int) -> ClassConditionalDiscriminator:
        built.append(ClassConditionalDiscriminator(4, size, 8, heads=heads, norm="none", auxiliary=True))
        return built[-1]

    d = MultiScaleDiscriminator(build, 32, 3).eval()
    assert len(built) == 3
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([0, 3])
    scores = d(x, y)
    pooled = [x, torch.nn.functional.avg_pool2d(x, 2), torch.nn.functional.avg_pool2d(x, 4)]
    alone = [b(p, y) for b, p in zip(built, pooled, strict=True)]
    heads_seen = ["realism", "match"] if heads == "split" else ["realism"]
    assert set(scores) == {*heads_seen, "class_logits"}
    for head in heads_seen:  # one score per scale, finest first, each that scale's discriminator's own
        assert len(scores[head]) == 3
        for k in range(3):
            assert torch.allclose(scores[head][k], alone[k][head])
    mean_logits = torch.stack([a["class_logits"] for a in alone]).mean(0)
    assert torch.allclose(scores["class_logits"], mean_logits)
    assert len(d.features(x, y)) == sum(len(b.features(p, y)) for b, p in zip(built, pooled, strict=True))


def test_config_rejects_an_unknown_conditioning() -> None:
    from cgp.core.config import resolve_config
    from cgp.plugins.cgan.task import CganConfig

    with pytest.raises(ConfigError, match="generator_conditioning"):
        resolve_config(CganConfig, "cgan", None, ["model.generator_conditioning=film"])


@pytest.mark.parametrize("heads", ["joint", "split"])
def test_the_auxiliary_classifier_joins_the_projection_scores(heads: str) -> None:
    torch.manual_seed(0)
    plain = ClassConditionalDiscriminator(4, 16, 16, heads=heads)
    both = ClassConditionalDiscriminator(4, 16, 16, heads=heads, auxiliary=True)
    missing, unexpected = both.load_state_dict(plain.state_dict(), strict=False)  # the same shared weights
    assert sorted(missing) == ["classifier.bias", "classifier.weight"] and not unexpected
    x, y = torch.randn(3, 3, 16, 16), torch.tensor([0, 1, 3])
    scores = both(x, y)
    assert scores["class_logits"].shape == (3, 4)
    if heads == "split":
        assert set(scores) == {"realism", "match", "class_logits"}
        assert torch.allclose(scores["match"], plain(x, y)["match"])
    else:  # the joint projection score, under the name the objective reads
        assert set(scores) == {"realism", "class_logits"}
        assert torch.allclose(scores["realism"], plain(x, y))


def test_an_acgan_discriminator_refuses_a_second_classifier(tmp_path: Path) -> None:
    result = run_cli(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(tmp_path / "run"),
        *sets(
            *TINY, "model.discriminator=acgan", "objective.mismatch_negative=false", "model.auxiliary_classifier=true"
        ),
    )
    assert result.exit_code == 2
    assert "model.auxiliary_classifier" in result.output and len(result.output.strip().splitlines()) == 1
