"""The conditional GAN objective (cgp.core.objective.ConditionalObjective) with tiny modules."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from cgp.core.config import ObjectiveConfig
from cgp.core.errors import ConfigError
from cgp.core.interfaces import Discriminator, GanModels, Generator
from cgp.core.objective import (
    AdversarialPair,
    ConditionalObjective,
    Generated,
    MatchingAwareTerms,
    build_term_losses,
)
from cgp.core.plugins import PluginHost, make_plugin_manager
from cgp.plugins.cgan.models import ClassLabel

NUM_CLASSES = 4
DIM = 3


@pytest.fixture(scope="module")
def host() -> PluginHost:
    h = make_plugin_manager()
    h.collect()
    assert not h.failures
    return h


class TinyGenerator(Generator):
    noise_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, DIM)
        self.lin = nn.Linear(self.noise_dim, DIM)

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if z is None:
            z = self.sample_noise(cond.shape[0], cond.device)
        return self.lin(z) + self.embed(cond)


class JointD(Discriminator):
    """score = <a, x> + <embed(c), x>; records every call's inputs."""

    def __init__(self, uses_condition: bool = True) -> None:
        super().__init__()
        self.uses_condition = uses_condition
        self.lin = nn.Linear(DIM, 1)
        self.embed = nn.Embedding(NUM_CLASSES, DIM)
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        self.calls.append((x, cond))
        score = self.lin(x).squeeze(1)
        if self.uses_condition:
            score = score + (self.embed(cond) * x).sum(1)
        return score


class SplitD(Discriminator):
    """Separate parameters for the realism head and the match head."""

    def __init__(self) -> None:
        super().__init__()
        self.realism = nn.Linear(DIM, 1)
        self.match_proj = nn.Linear(DIM, DIM)
        self.match_embed = nn.Embedding(NUM_CLASSES, DIM)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "realism": self.realism(x).squeeze(1),
            "match": (self.match_embed(cond) * self.match_proj(x)).sum(1),
        }


def make_batch(n: int = 8) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"x": torch.randn(n, DIM, generator=g), "cond": torch.arange(n) % NUM_CLASSES}


def make_objective(
    host: PluginHost,
    d: Discriminator | None = None,
    adversarial: str = "bce",
    **cfg: Any,
) -> ConditionalObjective:
    torch.manual_seed(0)
    config = ObjectiveConfig(**cfg)
    models = GanModels(TinyGenerator(), d if d is not None else JointD(), ClassLabel(NUM_CLASSES))
    adv = host.adversarial_losses.get(adversarial)()
    terms = build_term_losses(config.terms, host.term_losses)
    return ConditionalObjective(models, config, adv, terms)


# -- (a) joint heads -----------------------------------------------------------------------------


def test_joint_terms_and_discriminator_calls(host: PluginHost) -> None:
    obj = make_objective(host)
    d: JointD = obj.models.discriminator  # type: ignore[assignment]
    batch = make_batch()
    generated = obj.generate(batch)
    assert isinstance(generated, Generated)
    assert generated.fake.shape == batch["x"].shape
    d.calls.clear()
    terms = obj.discriminator_terms(batch, generated)
    assert set(terms) == {"d_real", "d_fake", "d_mismatch"}
    assert len(d.calls) == 3
    (x0, c0), (x1, c1), (x2, c2) = d.calls
    c = batch["cond"]
    assert torch.equal(x0, batch["x"]) and torch.equal(c0, c)
    assert torch.equal(x1, generated.fake.detach()) and torch.equal(c1, c)
    assert torch.equal(x2, batch["x"])
    assert c2.shape == c.shape
    assert bool((c2 != c).all()), "every mismatched condition must differ from the real one"
    assert bool(((c2 >= 0) & (c2 < NUM_CLASSES)).all())

    bce = obj.adversarial
    with torch.no_grad():
        assert torch.allclose(terms["d_real"], bce.real(d(batch["x"], c)))
        assert torch.allclose(terms["d_fake"], bce.fake(d(generated.fake, c)))
        assert torch.allclose(terms["d_mismatch"], bce.fake(d(batch["x"], c2)))

    d.calls.clear()
    g_terms = obj.generator_terms(batch, generated)
    assert set(g_terms) == {"g_adv"}
    assert len(d.calls) == 1 and torch.equal(d.calls[0][1], c)
    with torch.no_grad():
        assert torch.allclose(g_terms["g_adv"], bce.generator(d(generated.fake, c)))


def test_mismatch_weight_scales_term(host: PluginHost) -> None:
    batch = make_batch()
    values = {}
    for weight in (1.0, 0.25):
        obj = make_objective(host, mismatch_weight=weight)
        torch.manual_seed(1)  # the same mismatched classes in both runs
        generated = obj.generate(batch)
        values[weight] = float(obj.discriminator_terms(batch, generated)["d_mismatch"].detach())
    assert values[0.25] == pytest.approx(0.25 * values[1.0], rel=1e-5)
    obj = make_objective(host, mismatch_weight=0.0)
    assert "d_mismatch" not in obj.discriminator_terms(batch, obj.generate(batch))


# -- (b) switching negatives off ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fake_negative", "mismatch_negative", "expected", "calls"),
    [
        (False, True, {"d_real", "d_mismatch"}, 2),
        (True, False, {"d_real", "d_fake"}, 2),
        (False, False, {"d_real"}, 1),
    ],
)
def test_negatives_can_be_switched_off(
    host: PluginHost, fake_negative: bool, mismatch_negative: bool, expected: set[str], calls: int
) -> None:
    obj = make_objective(host, fake_negative=fake_negative, mismatch_negative=mismatch_negative)
    d: JointD = obj.models.discriminator  # type: ignore[assignment]
    batch = make_batch()
    generated = obj.generate(batch)
    d.calls.clear()
    assert set(obj.discriminator_terms(batch, generated)) == expected
    assert len(d.calls) == calls


# -- (c) split heads ---------------------------------------------------------------------------------


def test_split_heads_terms(host: PluginHost) -> None:
    obj = make_objective(host, d=SplitD(), heads="split")
    batch = make_batch()
    generated = obj.generate(batch)
    d_terms = obj.discriminator_terms(batch, generated)
    assert set(d_terms) == {"d_real_realism", "d_real_match", "d_fake_realism", "d_mismatch_match"}
    g_terms = obj.generator_terms(batch, generated)
    assert set(g_terms) == {"g_adv_realism", "g_adv_match"}
    bce, d = obj.adversarial, obj.models.discriminator
    with torch.no_grad():
        real_scores = d(batch["x"], batch["cond"])
        assert torch.allclose(d_terms["d_real_realism"], bce.real(real_scores["realism"]))
        assert torch.allclose(d_terms["d_real_match"], bce.real(real_scores["match"]))


def _grads(value: torch.Tensor, params: list[nn.Parameter]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def test_split_heads_gradients_reach_only_their_head(host: PluginHost) -> None:
    d = SplitD()
    obj = make_objective(host, d=d, heads="split")
    batch = make_batch()
    terms = obj.discriminator_terms(batch, obj.generate(batch))
    realism_params = list(d.realism.parameters())
    match_params = [*d.match_proj.parameters(), *d.match_embed.parameters()]

    assert all(float(g.abs().sum()) == 0.0 for g in _grads(terms["d_mismatch_match"], realism_params))
    assert any(float(g.abs().sum()) > 0.0 for g in _grads(terms["d_mismatch_match"], match_params))
    assert all(float(g.abs().sum()) == 0.0 for g in _grads(terms["d_fake_realism"], match_params))
    assert any(float(g.abs().sum()) > 0.0 for g in _grads(terms["d_fake_realism"], realism_params))


# -- (d), (e) configuration errors -----------------------------------------------------------------


def test_unconditional_discriminator_refuses_mismatch_negative(host: PluginHost) -> None:
    with pytest.raises(ConfigError, match="mismatch_negative"):
        make_objective(host, d=JointD(uses_condition=False), mismatch_negative=True)
    obj = make_objective(host, d=JointD(uses_condition=False), mismatch_negative=False)
    batch = make_batch()
    assert set(obj.discriminator_terms(batch, obj.generate(batch))) == {"d_real", "d_fake"}


def test_split_heads_with_single_score_discriminator(host: PluginHost) -> None:
    obj = make_objective(host, d=JointD(), heads="split")
    batch = make_batch()
    generated = obj.generate(batch)
    with pytest.raises(ConfigError, match="heads"):
        obj.discriminator_terms(batch, generated)
    with pytest.raises(ConfigError, match="heads"):
        obj.generator_terms(batch, generated)


def test_joint_heads_with_split_discriminator(host: PluginHost) -> None:
    obj = make_objective(host, d=SplitD(), heads="joint")
    batch = make_batch()
    with pytest.raises(ConfigError, match="heads"):
        obj.discriminator_terms(batch, obj.generate(batch))


# -- (f) generator terms ----------------------------------------------------------------------------


def test_no_generator_loss_raises(host: PluginHost) -> None:
    obj = make_objective(host, gan_weight=0.0)
    batch = make_batch()
    with pytest.raises(ConfigError, match="gan_weight"):
        obj.generator_terms(batch, obj.generate(batch))


def test_l1_term_only(host: PluginHost) -> None:
    obj = make_objective(host, gan_weight=0.0, terms={"l1": 100})
    d: JointD = obj.models.discriminator  # type: ignore[assignment]
    batch = make_batch()
    generated = obj.generate(batch)
    d.calls.clear()
    terms = obj.generator_terms(batch, generated)
    assert set(terms) == {"l1"}
    assert d.calls == []  # no adversarial term, no discriminator pass
    expected = 100 * (generated.fake - batch["x"]).abs().mean()
    assert torch.allclose(terms["l1"], expected)
    assert terms["l1"].requires_grad  # trains the generator


def test_without_a_gan_term_no_discriminator_runs_unless_a_term_reads_one(host: PluginHost) -> None:
    obj = make_objective(host, gan_weight=0.0, terms={"l1": 1})
    d: JointD = obj.models.discriminator  # type: ignore[assignment]
    batch = make_batch()
    d.calls.clear()
    assert obj.discriminator_terms(batch, obj.generate(batch)) == {}
    assert d.calls == []  # nothing reads it, so it is neither run nor trained
    kept = make_objective(host, gan_weight=0.0, terms={"l1": 1, "r1": 1})  # R1 is the discriminator's own term
    assert {"d_real", "d_fake", "r1"} <= set(kept.discriminator_terms(batch, kept.generate(batch)))


def test_an_output_no_discriminator_judges_gets_its_regression_terms_alone(host: PluginHost) -> None:
    torch.manual_seed(0)
    models = GanModels(TinyGenerator(), {}, ClassLabel(NUM_CLASSES))
    adv = host.adversarial_losses.get("lsgan")()
    config = ObjectiveConfig(mismatch_negative=False, terms={"l1": 2.0})
    alone = (AdversarialPair(discriminator=None),)
    obj = ConditionalObjective(models, config, adv, build_term_losses(config.terms, host.term_losses), alone)
    batch = make_batch()
    generated = obj.generate(batch)
    assert obj.discriminator_terms(batch, generated) == {}
    terms = obj.generator_terms(batch, generated)
    assert set(terms) == {"l1"}
    assert torch.allclose(terms["l1"], 2 * (generated.fake - batch["x"]).abs().mean())
    needs_d = build_term_losses({"l1": 1.0, "feature_matching": 1.0}, host.term_losses)
    with pytest.raises(ConfigError, match=r"\['feature_matching'\] need a discriminator but output 'main' has none"):
        ConditionalObjective(models, config, adv, needs_d, alone)


def test_gan_weight_scales_adversarial_term(host: PluginHost) -> None:
    batch = make_batch()
    obj = make_objective(host, gan_weight=2.5, terms={"l1": 1})
    generated = obj.generate(batch)
    terms = obj.generator_terms(batch, generated)
    assert set(terms) == {"g_adv", "l1"}
    with torch.no_grad():
        base = obj.adversarial.generator(obj.models.discriminator(generated.fake, batch["cond"]))
    assert torch.allclose(terms["g_adv"], 2.5 * base)


# -- (g) the discriminator's fake is detached --------------------------------------------------------


def test_discriminator_terms_do_not_reach_the_generator(host: PluginHost) -> None:
    obj = make_objective(host)
    d: JointD = obj.models.discriminator  # type: ignore[assignment]
    batch = make_batch()
    generated = obj.generate(batch)
    assert generated.fake.requires_grad
    d.calls.clear()
    terms = obj.discriminator_terms(batch, generated)
    assert not d.calls[1][0].requires_grad
    total = sum(terms.values())
    total.backward()
    for p in obj.models.generator_parameters():
        assert p.grad is None or float(p.grad.abs().sum()) == 0.0
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in obj.models.discriminator_parameters())


def test_generator_terms_reach_the_generator(host: PluginHost) -> None:
    obj = make_objective(host)
    batch = make_batch()
    terms = obj.generator_terms(batch, obj.generate(batch))
    sum(terms.values()).backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in obj.models.generator_parameters())


# -- (h) several (output, discriminator) pairs ---------------------------------------------------------


class TwoOutputGenerator(Generator):
    """Returns a small and a large sample: ``s1`` (DIM) and ``s2`` (2·DIM, built from ``s1``)."""

    noise_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = TinyGenerator()
        self.stage2 = nn.Linear(DIM, 2 * DIM)

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        s1 = self.stage1(cond, z)
        return {"s1": s1, "s2": self.stage2(s1)}


class WideJointD(JointD):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.lin = nn.Linear(dim, 1)
        self.embed = nn.Embedding(NUM_CLASSES, dim)


PAIRS = (
    AdversarialPair("s1", output="s1", discriminator="s1", real="x"),
    AdversarialPair("s2", output="s2", discriminator="s2", real="x_large"),
)


def make_two_stage(host: PluginHost, **cfg: Any) -> ConditionalObjective:
    torch.manual_seed(0)
    config = ObjectiveConfig(**cfg)
    models = GanModels(
        TwoOutputGenerator(), {"s1": WideJointD(DIM), "s2": WideJointD(2 * DIM)}, ClassLabel(NUM_CLASSES)
    )
    adv = host.adversarial_losses.get("bce")()
    return ConditionalObjective(models, config, adv, build_term_losses(config.terms, host.term_losses), PAIRS)


def two_stage_batch(n: int = 8) -> dict[str, torch.Tensor]:
    batch = make_batch(n)
    batch["x_large"] = torch.randn(n, 2 * DIM, generator=torch.Generator().manual_seed(1))
    return batch


def test_each_pair_gets_the_three_pair_terms_under_its_prefix(host: PluginHost) -> None:
    obj = make_two_stage(host, terms={"l1": 2.0, "r1": 1.0})
    batch = two_stage_batch()
    generated = obj.generate(batch)
    d_terms = obj.discriminator_terms(batch, generated)
    assert set(d_terms) == {f"{s}/{t}" for s in ("s1", "s2") for t in ("d_real", "d_fake", "d_mismatch", "r1")}
    d2: JointD = obj.models.discriminators["s2"]  # type: ignore[assignment]
    with torch.no_grad():
        c = batch["cond"]
        assert torch.allclose(d_terms["s2/d_real"], obj.adversarial.real(d2(batch["x_large"], c)))
        assert torch.allclose(d_terms["s2/d_fake"], obj.adversarial.fake(d2(generated.output("s2"), c)))
    g_terms = obj.generator_terms(batch, generated)
    assert set(g_terms) == {"s1/g_adv", "s1/l1", "s2/g_adv", "s2/l1"}
    expected = 2.0 * (generated.output("s2") - batch["x_large"]).abs().mean()
    assert torch.allclose(g_terms["s2/l1"], expected)


def test_step_scope_terms_are_counted_once(host: PluginHost) -> None:
    class KLCondition(ClassLabel):
        def aux(self, encoded: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"mu": torch.ones(len(encoded), 2), "logvar": torch.zeros(len(encoded), 2)}

    obj = make_two_stage(host, terms={"kl": 1.0})
    obj.models.condition = KLCondition(NUM_CLASSES)
    batch = two_stage_batch()
    g_terms = obj.generator_terms(batch, obj.generate(batch))
    assert set(g_terms) == {"s1/g_adv", "s2/g_adv", "kl"}
    assert float(g_terms["kl"]) == pytest.approx(1.0)  # KL(N(1, 1) || N(0, 1)) = 0.5 per dimension, 2 dimensions


def test_sample_terms_count_once_for_an_output_that_several_discriminators_judge(host: PluginHost) -> None:
    torch.manual_seed(0)
    config = ObjectiveConfig(terms={"l1": 2.0, "r1": 1.0})
    models = GanModels(TinyGenerator(), {"clip": JointD(), "frame": JointD()}, ClassLabel(NUM_CLASSES))
    pairs = (AdversarialPair("clip", "main", "clip", "x"), AdversarialPair("frame", "main", "frame", "x"))
    adv = host.adversarial_losses.get("bce")()
    obj = ConditionalObjective(models, config, adv, build_term_losses(config.terms, host.term_losses), pairs)
    batch = make_batch()
    generated = obj.generate(batch)
    g_terms = obj.generator_terms(batch, generated)
    assert set(g_terms) == {"clip/g_adv", "frame/g_adv", "l1"}  # one L1, no prefix: it belongs to neither D
    assert torch.allclose(g_terms["l1"], 2.0 * (generated.output("main") - batch["x"]).abs().mean())
    d_terms = obj.discriminator_terms(batch, generated)
    assert {"clip/r1", "frame/r1"} <= set(d_terms)  # a penalty reads its discriminator: one per pair


def test_each_discriminator_gets_gradients_only_from_its_own_terms(host: PluginHost) -> None:
    obj = make_two_stage(host, terms={"r1": 1.0})
    batch = two_stage_batch()
    terms = obj.discriminator_terms(batch, obj.generate(batch))
    for own, other in (("s1", "s2"), ("s2", "s1")):
        own_params = list(obj.models.discriminators[own].parameters())
        other_params = list(obj.models.discriminators[other].parameters())
        own_total = sum(v for k, v in terms.items() if k.startswith(f"{own}/"))
        assert all(float(g.abs().sum()) == 0.0 for g in _grads(own_total, other_params))
        assert all(float(g.abs().sum()) > 0.0 for g in _grads(own_total, own_params))


def test_two_discriminator_task_trains_each_discriminator_on_its_own_terms(host: PluginHost) -> None:
    """A few full steps through the generic trainer's update order: after every D update each
    discriminator has moved exactly as its own terms alone would move it."""
    obj = make_two_stage(host)
    models = obj.models
    opts = {k: torch.optim.SGD(models.discriminators[k].parameters(), lr=0.1) for k in ("s1", "s2")}
    g_opt = torch.optim.SGD(models.generator_parameters(), lr=0.1)
    for step in range(3):
        batch = two_stage_batch()
        torch.manual_seed(step)
        generated = obj.generate(batch)
        terms = obj.discriminator_terms(batch, generated)
        for key in ("s1", "s2"):
            own = sum(v for k, v in terms.items() if k.startswith(f"{key}/"))
            expected = torch.autograd.grad(own, list(models.discriminators[key].parameters()), retain_graph=True)
            for opt in opts.values():
                opt.zero_grad()
            sum(terms.values()).backward(retain_graph=True)
            for p, g in zip(models.discriminators[key].parameters(), expected):
                assert torch.allclose(p.grad, g)
        for opt in opts.values():
            opt.step()
        g_opt.zero_grad()
        sum(obj.generator_terms(batch, generated).values()).backward()
        assert models.generators["main"].stage2.weight.grad.abs().sum() > 0
        g_opt.step()


def test_pairs_need_distinct_names_and_known_discriminators(host: PluginHost) -> None:
    models = GanModels(TwoOutputGenerator(), {"s1": WideJointD(DIM)}, ClassLabel(NUM_CLASSES))
    adv = host.adversarial_losses.get("bce")()
    with pytest.raises(ConfigError, match="distinct"):
        ConditionalObjective(models, ObjectiveConfig(), adv, [], (AdversarialPair(), AdversarialPair()))
    with pytest.raises(ConfigError, match="discriminator 's2'"):
        ConditionalObjective(models, ObjectiveConfig(), adv, [], PAIRS)
    obj = ConditionalObjective(models, ObjectiveConfig(), adv, [], (AdversarialPair("s1", "s3", "s1"),))
    batch = two_stage_batch()
    with pytest.raises(ConfigError, match="no output 's3'"):
        obj.discriminator_terms(batch, obj.generate(batch))


def test_matching_aware_terms_alone(host: PluginHost) -> None:
    """The three-pair algorithm as a reusable piece: a discriminator, real, fake, condition, wrong
    condition, the adversarial loss and the config in; prefixed terms out."""
    d = JointD()
    adv = host.adversarial_losses.get("lsgan")()
    game = MatchingAwareTerms(adv, ObjectiveConfig(mismatch_weight=0.5), prefix="clip/")
    real, fake = torch.randn(4, DIM), torch.randn(4, DIM)
    cond, wrong = torch.arange(4), (torch.arange(4) + 1) % NUM_CLASSES
    result = game.discriminator(d, real, fake, cond, wrong)
    with torch.no_grad():
        assert torch.allclose(result.terms["clip/d_real"], adv.real(d(real, cond)))
        assert torch.allclose(result.terms["clip/d_fake"], adv.fake(d(fake, cond)))
        assert torch.allclose(result.terms["clip/d_mismatch"], 0.5 * adv.fake(d(real, wrong)))
    assert set(game.generator(d, fake, cond).terms) == {"clip/g_adv"}


class LearntCondition(ClassLabel):
    """A condition with a trainable part that D also sees (a text encoder's mean, say)."""

    def __init__(self) -> None:
        super().__init__(NUM_CLASSES)
        self.table = nn.Embedding(NUM_CLASSES, DIM)

    def forward(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"labels": raw, "code": self.table(raw)}

    def for_discriminator(self, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        return encoded["code"]


class CodeGenerator(TinyGenerator):
    def forward(self, cond: dict[str, torch.Tensor], z: torch.Tensor | None = None) -> torch.Tensor:
        return self.lin(self.sample_noise(cond["code"].shape[0], cond["code"].device)) + 0 * cond["code"]


class CodeD(Discriminator):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(DIM, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.lin(x).squeeze(1) + (cond * x).sum(1)


def test_generator_terms_do_not_train_what_the_discriminator_sees_of_the_condition(host: PluginHost) -> None:
    torch.manual_seed(0)
    models = GanModels(CodeGenerator(), CodeD(), LearntCondition())
    obj = ConditionalObjective(models, ObjectiveConfig(), host.adversarial_losses.get("bce")(), [])
    batch = make_batch()
    sum(obj.generator_terms(batch, obj.generate(batch)).values()).backward()
    # the generator reads the code only as 0 * code, so any gradient on the table came through D's input
    table = models.condition.table.weight.grad
    assert table is None or float(table.abs().sum()) == 0.0
    assert float(models.generator.lin.weight.grad.abs().sum()) > 0


def test_the_default_objective_is_built_from_the_tasks_objective_config(host: PluginHost) -> None:
    """A task adjusts its game by overriding ``objective_config``; the section as written stays as it was."""
    from cgp.core.config import resolve_config
    from cgp.plugins.cgan.task import CganConfig, CganTask

    class Adjusted(CganTask):
        def objective_config(self) -> ObjectiveConfig:
            return self.config.objective.model_copy(update={"gan_weight": 2.5})

    task = Adjusted(resolve_config(CganConfig, "cgan", None, []), host)
    objective = task.build_objective(task.build_models())
    assert objective.config.gan_weight == 2.5
    assert task.config.objective.gan_weight == 1.0
