"""Config resolution (cgp.core.config) with the cgan task's config model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import model_validator

from cgp.core.config import commented_yaml, dump_yaml, parse_override, resolve_config
from cgp.core.errors import ConfigError
from cgp.plugins.cgan.task import CganConfig

TASK = "cgan"


def test_defaults() -> None:
    cfg = resolve_config(CganConfig, TASK)
    assert isinstance(cfg, CganConfig)
    assert cfg.task == TASK
    assert cfg.trainer.steps == 3000  # the task's default, not TrainerConfig's 2000
    assert cfg.trainer.batch_size == 32
    assert cfg.trainer.ema.enabled  # the task's default, not TrainerConfig's
    assert cfg.trainer.precision == "auto" and cfg.trainer.channels_last
    assert cfg.optim.schedule.kind == "linear" and cfg.optim.schedule.decay_start == 0.5
    assert cfg.optim.generator.betas == (0.5, 0.999)
    assert cfg.optim.generator.lr == cfg.optim.discriminator.lr == 4e-4  # the task's, not DCGAN's 2e-4
    assert cfg.objective.adversarial == "bce"
    assert cfg.objective.terms == {"mode_seeking": 0.1}  # the task's default term (MSGAN)
    assert cfg.model.image_size == 32
    assert cfg.eval.metrics == ["class_judge"]
    assert cfg.data.root is None


def test_yaml_file_overrides(tmp_path: Path) -> None:
    f = tmp_path / "run.yaml"
    f.write_text(
        "task: cgan\ntrainer:\n  steps: 7\n  seed: 3\nmodel:\n  discriminator: acgan\nobjective:\n  terms: {r1: 10}\n"
    )
    cfg = resolve_config(CganConfig, TASK, file=f)
    assert cfg.trainer.steps == 7 and cfg.trainer.seed == 3
    assert cfg.trainer.batch_size == 32  # untouched keys keep their defaults (deep merge)
    assert cfg.model.discriminator == "acgan"
    assert cfg.model.image_size == 32
    assert cfg.objective.terms == {"r1": 10.0}  # a mapping-valued field is replaced whole, not merged


def test_a_file_states_the_terms_it_wants_and_nested_sections_still_merge(tmp_path: Path) -> None:
    from cgp.plugins.image2image.pix2pix import Pix2PixConfig

    f = tmp_path / "p.yaml"
    f.write_text("objective:\n  terms: {l2: 100}\ntrainer:\n  ema: {decay: 0.99}\n")
    cfg = resolve_config(Pix2PixConfig, "pix2pix", file=f)
    assert cfg.objective.terms == {"l2": 100.0}  # not the default l1 as well
    default = resolve_config(Pix2PixConfig, "pix2pix")
    assert cfg.trainer.ema.decay == 0.99 and cfg.trainer.ema.enabled == default.trainer.ema.enabled
    assert cfg.trainer.steps == default.trainer.steps


def test_toml_file_overrides(tmp_path: Path) -> None:
    f = tmp_path / "run.toml"
    f.write_text('[trainer]\nsteps = 11\n\n[optim.generator]\nlr = 0.001\n\n[objective]\nheads = "split"\n')
    cfg = resolve_config(CganConfig, TASK, file=f)
    assert cfg.trainer.steps == 11
    assert cfg.optim.generator.lr == 0.001
    assert cfg.optim.discriminator.lr == 4e-4  # the task's default, kept
    assert cfg.objective.heads == "split"


def test_set_overrides_after_file(tmp_path: Path) -> None:
    f = tmp_path / "run.yaml"
    f.write_text("trainer:\n  steps: 7\n")
    cfg = resolve_config(
        CganConfig,
        TASK,
        file=f,
        overrides=["trainer.steps=5", "optim.generator.betas=[0.0,0.9]", "objective.terms={l1: 3}"],
    )
    assert cfg.trainer.steps == 5
    assert cfg.optim.generator.betas == (0.0, 0.9)
    assert cfg.optim.discriminator.betas == (0.5, 0.999)
    assert cfg.objective.terms == {"l1": 3.0}


def test_parse_override_values() -> None:
    assert parse_override("a.b=1") == (["a", "b"], 1)
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])
    assert parse_override("a=") == (["a"], None)
    with pytest.raises(ConfigError):
        parse_override("novalue")
    with pytest.raises(ConfigError):
        parse_override("a..b=1")


def test_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.stepz"):
        resolve_config(CganConfig, TASK, overrides=["trainer.stepz=1"])


def test_unknown_key_in_file(tmp_path: Path) -> None:
    f = tmp_path / "run.yaml"
    f.write_text("model:\n  widht: 3\n")
    with pytest.raises(ConfigError, match=r"model\.widht"):
        resolve_config(CganConfig, TASK, file=f)


def test_wrong_type() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.steps") as info:
        resolve_config(CganConfig, TASK, overrides=["trainer.steps=abc"])
    assert "abc" in str(info.value)


class _CheckedConfig(CganConfig):
    @model_validator(mode="after")
    def _steps_against_batch(self) -> _CheckedConfig:
        if self.trainer.steps < self.trainer.batch_size:
            raise ValueError("trainer.steps is below trainer.batch_size; raise trainer.steps")
        return self


def test_a_check_across_sections_reads_as_its_own_message() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config(_CheckedConfig, TASK, overrides=["trainer.steps=1", "trainer.batch_size=4"])
    assert str(info.value) == "config: trainer.steps is below trainer.batch_size; raise trainer.steps"


def test_out_of_range_value() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.batch_size"):
        resolve_config(CganConfig, TASK, overrides=["trainer.batch_size=0"])


def test_setting_below_a_value() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.steps"):
        resolve_config(CganConfig, TASK, overrides=["trainer.steps.x=1"])


def test_task_cannot_be_set() -> None:
    with pytest.raises(ConfigError):
        resolve_config(CganConfig, TASK, overrides=["task=other"])


def test_file_for_another_task(tmp_path: Path) -> None:
    f = tmp_path / "run.yaml"
    f.write_text("task: pix2pix\ntrainer:\n  steps: 3\n")
    with pytest.raises(ConfigError, match="pix2pix"):
        resolve_config(CganConfig, TASK, file=f)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config(CganConfig, TASK, file=tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        resolve_config(CganConfig, TASK, file=bad)
    not_mapping = tmp_path / "list.yaml"
    not_mapping.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError):
        resolve_config(CganConfig, TASK, file=not_mapping)


def test_commented_yaml_round_trips() -> None:
    cfg = CganConfig(task=TASK)
    text = commented_yaml(cfg)
    assert "# " in text  # descriptions are emitted as comments
    assert yaml.safe_load(text) == cfg.model_dump(mode="json")
    assert yaml.safe_load(dump_yaml(cfg)) == cfg.model_dump(mode="json")


def test_commented_yaml_round_trips_non_defaults(tmp_path: Path) -> None:
    cfg = resolve_config(
        CganConfig,
        TASK,
        overrides=["data.root=/tmp/some data", "objective.terms={l1: 100, r1: 0.5}", "trainer.max_minutes=1.5e-3"],
    )
    text = commented_yaml(cfg)
    assert yaml.safe_load(text) == cfg.model_dump(mode="json")
    # and the written file is a valid config for the same task
    f = tmp_path / "c.yaml"
    f.write_text(text)
    assert resolve_config(CganConfig, TASK, file=f) == cfg
