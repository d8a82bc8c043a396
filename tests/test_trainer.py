"""Trainer behaviour driven in-process: NaN detection, event hooks, EMA, precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import cgp.plugins.cgan as cgan_plugin
from cgp import hookimpl
from cgp.core.checkpoint import find_last, load_checkpoint
from cgp.core.config import resolve_config
from cgp.core.ema import WeightAverage
from cgp.core.errors import NonFiniteLossError
from cgp.core.losses import LossInputs, TermLoss
from cgp.core.plugins import make_plugin_manager
from cgp.core.rundir import RunDir
from cgp.core.trainer import Trainer
from cgp.plugins.cgan.task import CganConfig
from conftest import TINY


class ExplodingTerm(TermLoss):
    """Finite for four generator steps, then NaN."""

    name = "explode"
    side = "generator"
    calls = 0

    def __call__(self, t: LossInputs) -> torch.Tensor:
        ExplodingTerm.calls += 1
        value = t.fake.mean() * 0
        return value + float("nan") if ExplodingTerm.calls >= 5 else value


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    @hookimpl
    def cgp_register_losses(self, register: Any) -> None:
        register(ExplodingTerm)

    @hookimpl
    def cgp_train_start(self, run_dir: Path, config: Any, start_step: int) -> None:
        self.events.append(("start", start_step))

    @hookimpl
    def cgp_step_end(self, step: int, metrics: dict[str, float]) -> None:
        self.events.append(("step", step))

    @hookimpl
    def cgp_checkpoint_saved(self, step: int, path: Path) -> None:
        self.events.append(("checkpoint", step))

    @hookimpl
    def cgp_samples_written(self, step: int, paths: list[Path]) -> None:
        self.events.append(("samples", step))

    @hookimpl
    def cgp_evaluation_done(self, step: int, metrics: dict[str, float]) -> None:
        self.events.append(("eval", step))

    @hookimpl
    def cgp_train_end(self, step: int, status: str) -> None:
        self.events.append(("end", status))


def _trainer(tmp_path: Path, *overrides: str) -> tuple[Trainer, Recorder]:
    host = make_plugin_manager()
    host.register(cgan_plugin, "cgan")
    recorder = Recorder()
    host.register(recorder, "recorder")
    host.collect()
    config = resolve_config(CganConfig, "cgan", overrides=[*TINY, "eval.metrics=[]", *overrides])
    run = RunDir(tmp_path / "run")
    run.create()
    task = host.task("cgan")(config, host)
    return Trainer(task, run, host), recorder


def test_non_finite_loss_names_the_term_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    ExplodingTerm.calls = 0
    trainer, recorder = _trainer(
        tmp_path, "objective.terms={explode: 1.0}", "trainer.checkpoint_every=2", "trainer.steps=20"
    )
    with pytest.raises(NonFiniteLossError, match="'explode'") as info:
        trainer.fit()
    assert info.value.step == 5
    last = find_last(tmp_path / "run" / "checkpoints")
    assert last.name == "step_00000004"
    assert load_checkpoint(last).meta["step"] == 4
    assert recorder.events[-1] == ("end", "failed")


def test_finite_check_names_the_culprit_term_or_the_overflowing_sum(tmp_path: Path) -> None:
    trainer, _ = _trainer(tmp_path, "trainer.steps=1")
    fine = {"a": torch.tensor(1.5), "b": torch.tensor(-2.0)}
    trainer._check_finite(fine, sum(fine.values()))
    broken = {"a": torch.tensor(1.0), "b": torch.tensor(float("-inf"))}
    with pytest.raises(NonFiniteLossError, match="'b' is -inf"):
        trainer._check_finite(broken, sum(broken.values()))
    overflow = {"a": torch.tensor(3e38), "b": torch.tensor(3e38)}  # each finite, their fp32 sum is not
    with pytest.raises(NonFiniteLossError, match="sum of the terms"):
        trainer._check_finite(overflow, sum(overflow.values()))


def test_event_hooks_fire_in_order(tmp_path: Path) -> None:
    trainer, recorder = _trainer(
        tmp_path, "trainer.steps=10", "trainer.checkpoint_every=5", "trainer.sample_every=5", "trainer.log_every=5"
    )
    assert trainer.fit() == "completed"
    assert recorder.events == [
        ("start", 0),
        ("step", 5),
        ("samples", 5),
        ("checkpoint", 5),
        ("step", 10),
        ("samples", 10),
        ("checkpoint", 10),
        ("end", "completed"),
    ]


def test_ema_weights_are_used_for_samples_and_lag_the_live_weights(tmp_path: Path) -> None:
    trainer, _ = _trainer(tmp_path, "trainer.steps=6", "trainer.ema.enabled=true", "trainer.ema.decay=0.9")
    trainer.fit()
    live = trainer.models.generator.state_dict()
    averaged = trainer.eval_models().generator.state_dict()
    assert trainer.eval_models().generator is not trainer.models.generator
    assert any(not torch.equal(live[k], averaged[k]) for k in live if live[k].is_floating_point())
    ckpt = load_checkpoint(find_last(tmp_path / "run" / "checkpoints"))
    assert "ema" in ckpt.tensors


@pytest.mark.parametrize(("warmup", "low", "high"), [(True, 0.99, 1.0), (False, 0.25, 0.27)])
def test_ema_warmup_forgets_the_initial_weights(warmup: bool, low: float, high: float) -> None:
    """300 updates towards weights of 1 from an initial 0: a fixed 0.999 decay keeps 0.999^300 = 74% of
    the start; the warm-up's growing window keeps well under 1%."""
    live = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(live.weight)
    average = WeightAverage(live, decay=0.999, warmup=warmup)
    torch.nn.init.ones_(live.weight)
    for step in range(1, 301):
        average.update(live, step)
    assert low <= float(average.module.weight) <= high
    assert average.decay_at(10**6) == 0.999
    assert WeightAverage(live, decay=0.999, start_step=5, warmup=warmup).decay_at(4) == 0.0


def test_ema_update_is_the_lerp_of_every_parameter_and_copies_buffers() -> None:
    torch.manual_seed(0)
    live = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    average = WeightAverage(live, decay=0.9, warmup=False)
    before = [p.detach().clone() for p in average.module.parameters()]
    with torch.no_grad():
        for p in live.parameters():
            p.add_(torch.randn_like(p))
        live[1].running_mean.fill_(0.5)
    average.update(live, step=1)
    for old, new, cur in zip(before, average.module.parameters(), live.parameters()):
        assert torch.allclose(new, old + 0.1 * (cur - old), atol=1e-6)
    assert torch.equal(average.module[1].running_mean, live[1].running_mean)


def test_the_trainer_governs_threads_only_when_no_count_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        assert _trainer(tmp_path / "auto", "trainer.steps=1")[0].threads.enabled
        assert not _trainer(tmp_path / "fixed", "trainer.steps=1", f"trainer.threads={before}")[0].threads.enabled
        monkeypatch.setenv("OMP_NUM_THREADS", str(before))
        assert not _trainer(tmp_path / "env", "trainer.steps=1")[0].threads.enabled
    finally:
        torch.set_num_threads(before)


def test_bf16_autocast_trains_on_cpu(tmp_path: Path) -> None:
    trainer, _ = _trainer(tmp_path, "trainer.steps=3", "trainer.precision=bf16")
    assert trainer.fit() == "completed"
    assert all(torch.isfinite(p).all() for p in trainer.models.parameters())


def test_generator_step_leaves_discriminator_gradients_untouched(tmp_path: Path) -> None:
    trainer, _ = _trainer(tmp_path, "trainer.steps=1")
    trainer.fit()
    # after the generator update, D's grads are those of its own update, and no D parameter is frozen
    assert all(p.requires_grad for p in trainer.models.discriminators.parameters())


def test_networks_hear_the_progress_and_target_readers_get_the_real_sample_in_training(tmp_path: Path) -> None:
    """``set_progress`` reaches every generator and discriminator before every step (resumed runs
    included, since it reads the restored step), and autoregressive generators get ``target=`` the
    real sample, in training only."""
    from cgp.plugins.cgan.task import CganTask

    seen: dict[str, list[Any]] = {"progress": [], "d_progress": [], "targets": []}

    class TargetReadingTask(CganTask):
        def build_models(self) -> Any:
            models = super().build_models()
            generator = models.generator
            inner_forward = generator.forward

            def forward(cond: Any, z: Any = None, target: Any = None) -> Any:
                seen["targets"].append(None if target is None else tuple(target.shape))
                return inner_forward(cond, z)

            generator.reads_target = True
            generator.forward = forward  # type: ignore[method-assign]
            generator.set_progress = lambda step, steps: seen["progress"].append((step, steps))  # type: ignore[method-assign]
            models.discriminator.set_progress = lambda step, steps: seen["d_progress"].append((step, steps))  # type: ignore[method-assign]
            return models

    trainer, _ = _trainer(tmp_path, "trainer.steps=3", "trainer.sample_every=0")
    fitted = Trainer(TargetReadingTask(trainer.config, trainer.host), trainer.run, trainer.host)
    assert fitted.fit() == "completed"
    assert seen["progress"] == seen["d_progress"] == [(0, 3), (1, 3), (2, 3)]  # discriminators hear it too
    batch = trainer.config.trainer.batch_size
    assert seen["targets"][:3] == [(batch, 3, 16, 16)] * 3  # the training steps (TINY images are 16 px)
    assert seen["targets"][3:] and set(seen["targets"][3:]) == {None}  # samples at the end: eval mode


def test_task_setup_sees_the_run_directory_before_the_models_are_built(tmp_path: Path) -> None:
    """Task.setup is how a task keeps data-derived state (a vocabulary) in the run directory."""
    from cgp.plugins.cgan.task import CganTask

    calls: list[tuple[str, Any]] = []

    class RecordingTask(CganTask):
        def setup(self, run_root: Path, train: bool) -> None:
            calls.append(("setup", (run_root, train)))

        def build_models(self) -> Any:
            calls.append(("build_models", None))
            return super().build_models()

    trainer, _ = _trainer(tmp_path)
    task = RecordingTask(trainer.config, trainer.host)
    Trainer(task, trainer.run, trainer.host)
    assert calls[:2] == [("setup", (tmp_path / "run", True)), ("build_models", None)]


def test_train_step_alone_updates_both_sides_and_returns_their_terms(tmp_path: Path) -> None:
    trainer, _ = _trainer(tmp_path, "trainer.n_critic=2")
    trainer.prepare()
    g_before = {k: v.clone() for k, v in trainer.models.generators.state_dict().items()}
    d_before = {k: v.clone() for k, v in trainer.models.discriminators.state_dict().items()}
    d_terms, g_terms = trainer.train_step(trainer._batches)
    assert set(d_terms) == {"d_real", "d_fake", "d_mismatch"} and set(g_terms) == {"g_adv", "mode_seeking"}
    assert trainer.batches_consumed == 2, "each critic update draws its own batch"
    g_after, d_after = trainer.models.generators.state_dict(), trainer.models.discriminators.state_dict()
    assert any(not torch.equal(g_before[k], g_after[k]) for k in g_before)
    assert any(not torch.equal(d_before[k], d_after[k]) for k in d_before)
    assert trainer.step == 0, "the schedule around the step (counting, logging, saving) is fit's"


def test_logged_rows_say_which_side_each_term_belongs_to(tmp_path: Path) -> None:
    trainer, _ = _trainer(tmp_path, "trainer.steps=4", "trainer.log_every=2", "objective.terms={l1: 1.0}")
    trainer.fit()
    rows = [r for r in trainer.run.read_metrics() if "sides" in r]
    assert [r["step"] for r in rows] == [2, 4]
    assert rows[-1]["sides"] == {"d": ["d_real", "d_fake", "d_mismatch"], "g": ["g_adv", "l1"]}
    assert rows[-1]["g_loss"] == pytest.approx(rows[-1]["g_adv"] + rows[-1]["l1"])


def test_a_term_name_on_both_sides_is_an_error_not_a_merge() -> None:
    from cgp.core.errors import PluginError
    from cgp.core.trainer import _TermWindow

    window = _TermWindow()
    with pytest.raises(PluginError, match="'shared' is reported by both"):
        window.add({"shared": torch.tensor(1.0)}, {"shared": torch.tensor(2.0)})


def test_samples_evaluations_and_checkpoints_do_not_count_as_training_speed() -> None:
    import time

    from cgp.core.trainer import _TermWindow

    window = _TermWindow()
    window.add({}, {"g_adv": torch.tensor(1.0)})
    with window.paused():
        time.sleep(0.25)
    assert window.steps_per_second() > 20  # one step in almost no time, not one in 0.25 s
    time.sleep(0.25)
    assert window.steps_per_second() < 5


def test_trainer_threads_sets_the_thread_count_and_says_so(tmp_path: Path) -> None:
    from conftest import cgp_subprocess, sets

    result = cgp_subprocess(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(tmp_path / "run"),
        *sets(*TINY, "trainer.steps=1", "trainer.threads=1", "eval.metrics=[]", "trainer.sample_every=0"),
        env={"OMP_NUM_THREADS": "2"},
    )
    assert result.returncode == 0, result.stderr
    assert f"cpu: 1 threads, {torch.backends.cpu.get_cpu_capability()} kernels" in result.stderr


def test_a_collapsed_step_rate_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    from cgp.core.distributed import DistInfo

    trainer = SimpleNamespace(_best_rate=0.0, _slow_warned=False, step=0, device=torch.device("cpu"), dist=DistInfo())
    with caplog.at_level("WARNING", logger="cgp.train"):
        for step, rate in ((50, 7.0), (100, 6.5), (150, 3.0), (200, 1.2), (250, 0.3)):
            trainer.step = step
            Trainer._watch_speed(trainer, rate, 50)  # type: ignore[arg-type]
    warnings = [r.getMessage() for r in caplog.records if "slowed" in r.getMessage()]
    assert warnings == [
        "training slowed to 1.20 steps/s from 7.00 at step 200: is another process using the CPU? "
        "Runs sharing a machine go faster with fewer threads each (trainer.threads=1)"
    ]


def test_speed_switches_train_and_resume_bit_identically(tmp_path: Path) -> None:
    from conftest import sets
    from test_resume import assert_resume_is_bit_identical

    switches = ["trainer.channels_last=true", "optim.generator.fused=true", "optim.discriminator.fused=true"]
    common = sets(*TINY, *switches, "trainer.steps=4", "trainer.checkpoint_every=2", "eval.metrics=[]")
    assert_resume_is_bit_identical("cgan", common, tmp_path, steps=4, stop=2)


def test_channels_last_reorders_4d_weights_only() -> None:
    from torch import nn

    from cgp.core.trainer import to_channels_last

    module = nn.Sequential(nn.Conv2d(2, 8, 3), nn.Conv3d(2, 3, 3), nn.Linear(4, 4))
    to_channels_last(module)
    assert module[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not module[0].weight.is_contiguous()
    assert module[1].weight.is_contiguous() and module[2].weight.is_contiguous()


def test_fused_needs_adam(tmp_path: Path) -> None:
    from cgp.core.config import OptimizerConfig
    from cgp.core.errors import ConfigError
    from cgp.core.trainer import make_optimizer

    params = [torch.nn.Parameter(torch.zeros(3))]
    assert make_optimizer(params, OptimizerConfig(fused=True)).defaults["fused"] is True
    with pytest.raises(ConfigError, match="fused is available for adam and adamw only"):
        make_optimizer(params, OptimizerConfig(name="sgd", fused=True))


def test_fused_by_default_for_adam_on_cpu_with_the_loops_update() -> None:
    from cgp.core.config import OptimizerConfig
    from cgp.core.trainer import make_optimizer

    torch.manual_seed(0)
    start = [torch.randn(5, 4), torch.randn(7)]
    grads = [[torch.randn_like(t) for t in start] for _ in range(4)]
    finals = {}
    for fused in (None, False):
        params = [torch.nn.Parameter(t.clone()) for t in start]
        opt = make_optimizer(params, OptimizerConfig(name="adamw", weight_decay=0.01, fused=fused))
        assert bool(opt.defaults["fused"]) is (fused is None)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            opt.step()
        finals[fused] = params
    for a, b in zip(finals[None], finals[False]):
        assert not torch.equal(a, start[0] if a.ndim == 2 else start[1])
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    sgd = make_optimizer([torch.nn.Parameter(torch.zeros(3))], OptimizerConfig(name="sgd"))
    assert "fused" not in sgd.defaults or not sgd.defaults["fused"]


@pytest.mark.slow
def test_compiled_models_train_and_resume_bit_identically(tmp_path: Path) -> None:
    """pix2pix compiles both networks; cgan's spectral-norm discriminator stays eager, and says so."""
    from test_pix2pix import TINY as PIX2PIX_TINY

    from conftest import sets
    from test_resume import assert_resume_is_bit_identical

    steps = ["trainer.compile=true", "trainer.steps=4", "trainer.checkpoint_every=2", "eval.metrics=[]"]
    assert_resume_is_bit_identical("pix2pix", sets(*PIX2PIX_TINY, *steps), tmp_path / "p2p", steps=4, stop=2)
    straight = assert_resume_is_bit_identical("cgan", sets(*TINY, *steps), tmp_path / "cgan", steps=4, stop=2)
    assert straight.is_dir()


def test_spectral_norm_is_detected() -> None:
    from torch import nn
    from torch.nn.utils import spectral_norm

    from cgp.core.trainer import uses_spectral_norm

    assert uses_spectral_norm(nn.Sequential(nn.ReLU(), spectral_norm(nn.Linear(2, 2))))
    assert not uses_spectral_norm(nn.Sequential(nn.Linear(2, 2)))


def test_precision_auto_uses_bf16_only_where_it_is_native(monkeypatch: pytest.MonkeyPatch) -> None:
    from cgp.core.trainer import resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert resolve_precision("auto", cpu) == "bf16"
