"""The speech_enhance task: STFT front end, networks, chunked inference, data sources and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from cgp.core.config import resolve_config
from cgp.core.errors import ConfigError
from cgp.core.losses import LossInputs
from cgp.core.plugins import load_plugins
from cgp.datasets.audio import load_audio, save_audio
from cgp.datasets.procedural_speech import ProceduralSpeech
from cgp.metrics.audio import si_sdr
from cgp.plugins.speech_enhance.frontend import STFTFrontEnd
from cgp.plugins.speech_enhance.inference import enhance_blocks, enhancer
from cgp.plugins.speech_enhance.losses import MultiResolutionSTFT, NegativeSISDR, SpectralL1
from cgp.plugins.speech_enhance.models import NoisyCondition, SpectrogramEnhancer
from cgp.plugins.speech_enhance.task import SpeechEnhanceConfig, SpeechEnhanceTask
from conftest import run_cli, sets

TINY = [
    "model.generator_width=8",
    "model.discriminator_width=8",
    "data.train_size=16",
    "data.test_size=3",
    "data.item_seconds=1.0",
    "data.segment_frames=64",
    "trainer.batch_size=4",
    "trainer.log_every=2",
    "trainer.progress=off",
    "trainer.device=cpu",
    "eval.num_samples=2",
]


def _task(*overrides: str) -> SpeechEnhanceTask:
    config = resolve_config(SpeechEnhanceConfig, "speech_enhance", None, list(overrides))
    return SpeechEnhanceTask(config, None)


def _speech(seconds: float, index: int = 0) -> torch.Tensor:
    return ProceduralSpeech("test", index + 1, seconds=seconds)[index]["cond"]


def _with_batch_stats(models: torch.nn.Module) -> torch.nn.Module:
    """Eval mode with non-trivial batch-norm statistics, as after training."""
    g = torch.Generator().manual_seed(1)
    for m in models.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return models.eval()


# -- front end and networks -----------------------------------------------------------------------


@pytest.mark.parametrize(("n_fft", "hop"), [(512, 128), (256, 64), (1024, 256)])
def test_stft_shapes_and_round_trip(n_fft: int, hop: int) -> None:
    fe = STFTFrontEnd(n_fft, hop, n_fft)
    wave = _speech(1.0)[None]
    spec = fe.stft(wave)
    assert spec.shape == (1, n_fft // 2 + 1, wave.shape[-1] // hop + 1)
    assert fe.features(wave).shape == (1, 1, *spec.shape[1:])
    assert si_sdr(fe.istft(spec, wave.shape[-1]), wave).item() > 80.0


def test_compression_inverts_and_has_finite_gradient_in_silence() -> None:
    fe = STFTFrontEnd()
    wave = torch.cat([torch.zeros(4000), _speech(0.5)]).requires_grad_()
    spec = fe.stft(wave)
    back = fe.decompressed(fe.compressed(spec))
    assert torch.allclose(back, spec.abs(), atol=1e-3)
    fe.features(wave).sum().backward()
    assert torch.isfinite(wave.grad).all()


def test_identity_generator_reconstructs_the_waveform() -> None:
    """A mask of one everywhere: the generator path is STFT -> mask -> inverse STFT with the noisy phase."""
    fe = STFTFrontEnd()
    g = SpectrogramEnhancer(fe, "mask", 8, 5, "batch").eval()
    last = g.net.model.up[1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.constant_(last.bias, 20.0)  # tanh(20) = 1 -> mask (1 + 1) / 2 = 1
    wave = _speech(1.3)[None]
    out = g(NoisyCondition(fe)(wave))
    assert out.shape == wave.shape
    assert si_sdr(out, wave).item() > 60.0


@pytest.mark.parametrize("mode", ["mask", "magnitude", "complex"])
@pytest.mark.parametrize("length", [1000, 16001, 23456])
def test_generator_takes_any_length(mode: str, length: int) -> None:
    fe = STFTFrontEnd()
    g = SpectrogramEnhancer(fe, mode, 8, 5, "batch").eval()
    with torch.no_grad():
        out = g(NoisyCondition(fe)(torch.randn(2, length) * 0.1))
    assert out.shape == (2, length)
    assert torch.isfinite(out).all()


def test_a_unit_complex_mask_passes_the_input_through_and_a_rotation_changes_the_phase() -> None:
    fe = STFTFrontEnd()
    g = SpectrogramEnhancer(fe, "complex", 8, 5, "batch").eval()
    last = g.net.model.up[1]
    torch.nn.init.zeros_(last.weight)
    with torch.no_grad():
        last.bias.copy_(torch.tensor([math.atanh(0.5), 0.0]))  # tanh -> 0.5, times the bound 2: mask 1 + 0j
    wave = _speech(1.3)[None]
    with torch.no_grad():
        same = g(NoisyCondition(fe)(wave))
        last.bias.copy_(torch.tensor([0.0, math.atanh(0.5)]))  # mask 0 + 1j: every phase turned by 90 degrees
        turned = g(NoisyCondition(fe)(wave))
    assert si_sdr(same, wave).item() > 60.0
    assert si_sdr(turned, wave).item() < -10.0  # about the Hilbert transform: orthogonal to the input
    assert turned.square().sum() == pytest.approx(wave.square().sum().item(), rel=0.1)  # same energy


def test_discriminator_sees_the_noisy_input_unless_unconditional() -> None:
    wave, noisy = _speech(0.5, 0)[None], _speech(0.5, 1)[None]
    for conditional in (True, False):
        models = _task(f"model.conditional_discriminator={str(conditional).lower()}").build_models().eval()
        cond = models.condition.for_discriminator(models.condition(noisy))
        other = models.condition.for_discriminator(models.condition(wave))
        changed = not torch.equal(models.discriminator(wave, cond), models.discriminator(wave, other))
        assert changed == conditional
        assert models.discriminator.net.blocks[0][0].in_channels == (2 if conditional else 1)


def test_spectral_terms_vanish_for_identical_signals_only() -> None:
    item = ProceduralSpeech("test", 1, seconds=1.0)[0]
    clean, noisy = item["x"][None], item["cond"][None]
    for loss in (SpectralL1(1.0), MultiResolutionSTFT(1.0)):
        same = loss(LossInputs(clean, clean.clone(), None, None))
        different = loss(LossInputs(clean, noisy, None, None))
        assert same.item() < 1e-4 < different.item()


def test_si_sdr_term_is_the_negative_metric_and_ignores_gain() -> None:
    item = ProceduralSpeech("test", 1, seconds=1.0)[0]
    clean, noisy = item["x"][None], item["cond"][None]
    loss = NegativeSISDR(1.0)
    assert loss(LossInputs(clean, noisy, None, None)).item() == pytest.approx(-si_sdr(noisy, clean).item(), abs=1e-4)
    louder = loss(LossInputs(clean, 3.0 * noisy, None, None))
    assert louder.item() == pytest.approx(loss(LossInputs(clean, noisy, None, None)).item(), abs=1e-4)
    assert loss(LossInputs(clean, clean.clone(), None, None)).item() < -60  # identical: a very high SDR


def test_all_regression_terms_train_the_generator_side() -> None:
    """spectral_l1 + mrstft + si_sdr + waveform l1 + GAN: every term finite, every generator weight gets a
    gradient."""
    config = resolve_config(
        SpeechEnhanceConfig,
        "speech_enhance",
        None,
        ["model.generator_width=8", "objective.terms={spectral_l1: 100, mrstft: 1, si_sdr: 0.1, l1: 10}"],
    )
    task = SpeechEnhanceTask(config, load_plugins())
    models = task.build_models()
    objective = task.build_objective(models)
    data = ProceduralSpeech("train", 2, seconds=0.6)
    batch = task.collate([data[0], data[1]])
    generated = objective.generate(batch)
    terms = objective.generator_terms(batch, generated)
    assert set(terms) == {"g_adv", "spectral_l1", "mrstft", "si_sdr", "l1"}
    sum(terms.values()).backward()
    assert all(torch.isfinite(t) for t in terms.values())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in models.generator.parameters())
    d_terms = objective.discriminator_terms(batch, objective.generate(batch))
    assert set(d_terms) == {"d_real", "d_fake"}


def test_bad_stft_settings_are_config_errors() -> None:
    for overrides, words in [
        (["model.n_fft=500"], "power of two"),
        (["model.hop=400"], "win / 2"),
        (["model.n_fft=256", "model.win=256", "model.generator_depth=8"], "generator_depth"),
    ]:
        with pytest.raises(ConfigError, match=words):
            _task(*overrides)
    with pytest.raises(ConfigError, match="both data.clean_root and data.noise_root"):
        _task("data.clean_root=/tmp")


# -- chunked inference ----------------------------------------------------------------------------


def test_chunked_enhancement_equals_whole_file() -> None:
    task = _task("model.generator_width=8")
    models = _with_batch_stats(task.build_models())
    wave = torch.cat([_speech(2.0, i) for i in range(3)])  # 6 s
    run = enhancer(models)
    whole = run(wave)
    unit = task.config.model.hop * models.generator.stride
    chunked = torch.cat(list(enhance_blocks(wave.split(4 * unit), run, 2 * unit)))
    assert chunked.shape == whole.shape
    assert (chunked - whole).abs().max().item() < 1e-5
    no_context = torch.cat(list(enhance_blocks(wave.split(4 * unit), run, 0)))
    assert (no_context - whole).abs().max().item() > 1e-5  # the context is what makes them agree


# -- the CLI --------------------------------------------------------------------------------------


def _train(run: Path, *settings: str) -> None:
    result = run_cli("train", "--plugin", "speech_enhance", "--run-dir", str(run), *sets(*TINY, *settings))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("speech") / "run"
    _train(run, "trainer.steps=4", "trainer.sample_every=4")
    return run


def test_train_writes_audio_samples_and_evaluate_reports_si_sdr(trained: Path) -> None:
    step = trained / "samples" / "step_00000004"
    assert sorted(p.name for p in step.iterdir()) == [
        f"{k}_{kind}.wav" for k in range(2) for kind in ("clean", "enhanced", "noisy")
    ]
    assert (trained / "samples" / "step_00000004.png").is_file()
    result = run_cli("evaluate", str(trained), "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{") :])
    for key in ("si_sdr", "si_sdr_noisy", "si_sdr_improvement", "lsd", "spectral_detail"):
        assert key in metrics
    assert metrics["si_sdr_improvement"] == pytest.approx(metrics["si_sdr"] - metrics["si_sdr_noisy"], abs=1e-4)


def test_evaluate_without_the_speech_metrics_extra_says_so_in_one_line(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cgp.metrics.audio as measures

    with_extra = run_cli("evaluate", str(trained), "--json")
    assert {"pesq", "pesq_noisy", "stoi", "stoi_noisy"} <= set(json.loads(with_extra.stdout))
    monkeypatch.setattr(measures, "available_speech_metrics", lambda: {"pesq": False, "stoi": False})
    result = run_cli("evaluate", str(trained), "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert "si_sdr" in metrics and not any(k.startswith(("pesq", "stoi")) for k in metrics)
    assert "PESQ and STOI skipped: they need the optional extra: pip install 'cgp[speech-metrics]'" in result.stderr


def test_generate_enhances_files_of_any_length(trained: Path, tmp_path: Path) -> None:
    rate = 16000
    long_file, short_file = tmp_path / "long.wav", tmp_path / "short.flac"
    save_audio(long_file, _speech(3.3), rate)
    save_audio(short_file, _speech(0.2), rate)
    out = tmp_path / "out"
    result = run_cli(
        "generate", str(trained), str(long_file), str(short_file), "--output", str(out), "--chunk-seconds", "1"
    )
    assert result.exit_code == 0, result.output
    for source in (long_file, short_file):
        enhanced = load_audio(out / f"{source.stem}.wav", rate)
        assert enhanced.shape == load_audio(source, rate).shape
    single = tmp_path / "one.flac"
    result = run_cli("generate", str(trained), str(long_file), "--output", str(single))
    assert result.exit_code == 0, result.output
    assert load_audio(single, rate).shape[0] == load_audio(long_file, rate).shape[0]


def test_generate_names_a_corrupt_file(trained: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    result = run_cli("generate", str(trained), str(bad), "--output", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "broken.wav" in result.output


def _write_pairs(root: Path, split: str, count: int, seconds: float) -> None:
    data = ProceduralSpeech(split, count, seconds=seconds, seed=7)
    for i in range(count):
        save_audio(root / split / "clean" / f"u{i}.wav", data[i]["x"], 16000)
        save_audio(root / split / "noisy" / f"u{i}.wav", data[i]["cond"], 16000)


def test_trains_on_a_voicebank_folder_and_on_mixed_noise(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs"
    _write_pairs(pairs, "train", 4, 1.2)
    _write_pairs(pairs, "test", 2, 0.9)
    run = tmp_path / "folder"
    _train(run, "trainer.steps=2", f"data.root={pairs}")
    assert "eval/si_sdr" in (run / "metrics.jsonl").read_text()

    noise = tmp_path / "noise"
    save_audio(noise / "hum.wav", 0.05 * torch.sin(torch.arange(20000) * 2 * torch.pi * 50 / 16000), 16000)
    mixed = tmp_path / "mixed"
    _train(mixed, "trainer.steps=2", f"data.clean_root={pairs / 'train' / 'clean'}", f"data.noise_root={noise}")
    assert "eval/si_sdr" in (mixed / "metrics.jsonl").read_text()


def test_speed_change_wraps_the_training_crops_only() -> None:
    from cgp.core.data import SeededItems
    from cgp.datasets.speech import SpeedChange

    plain = _task("data.train_size=4", "data.test_size=2", "data.gain_db=0", "data.eq_db=0", "data.speed=0")
    changed = _task("data.train_size=4", "data.test_size=2", "data.gain_db=0", "data.eq_db=0")  # on by default
    train = changed.build_dataset("train")
    assert isinstance(train, SpeedChange) and train.percents == (70, 130)
    assert SeededItems(train)[(0, 0)]["x"].shape == (changed.segment_samples,)
    assert not isinstance(plain.build_dataset("train"), SpeedChange)
    assert torch.equal(changed.build_dataset("test")[1]["cond"], plain.build_dataset("test")[1]["cond"])
    with pytest.raises(ConfigError, match="speed"):
        _task("data.speed=0.6")


def test_noise_speed_needs_recorded_noise() -> None:
    with pytest.raises(ConfigError, match=r"data.noise_speed changes recorded noise.*set data.noise_speed=0"):
        _task("data.noise_speed=0.2")  # the built-in data: procedural noise only
    with pytest.raises(ConfigError, match="noise_speed"):
        _task("data.noise_speed=0.5")


def test_noise_free_items_are_refused_beside_the_si_sdr_term() -> None:
    with pytest.raises(ConfigError, match=r"data.noise_free=0.2 with the si_sdr term trains a pass-through"):
        _task("data.noise_free=0.2")  # the default objective holds si_sdr
    task = _task("data.noise_free=0.2", "objective.terms={spectral_l1: 100}", "data.train_size=4", "data.test_size=2")
    assert task.config.data.noise_free == 0.2
    capped = _task("data.noise_free=0.2", "objective.terms={spectral_l1: 100, si_sdr_capped: 1}")
    assert capped.config.objective.terms["si_sdr_capped"] == 1


def test_capped_si_sdr_term_stops_rewarding_an_exact_copy() -> None:
    from cgp.core.losses import LossInputs
    from cgp.plugins.speech_enhance.losses import NegativeCappedSISDR, NegativeSISDR

    clean = torch.randn(2, 8000, generator=torch.Generator().manual_seed(0))
    noisy = clean + 0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))  # about 20 dB

    def pair(fake: torch.Tensor) -> LossInputs:
        return LossInputs(real=clean, fake=fake, cond=None, discriminator=None)

    copy = pair(clean.clone())
    assert NegativeSISDR()(copy).item() < -100  # unbounded: the copy wins by far
    assert NegativeCappedSISDR()(copy).item() == pytest.approx(-30.0, abs=1e-3)
    # at 20 dB the cap costs 10 log10(1.1) = 0.41 dB, so the term still pulls a noisy estimate up
    gap = NegativeCappedSISDR()(pair(noisy)) - NegativeSISDR()(pair(noisy))
    assert 0.3 < gap.item() < 0.5


def test_capped_si_sdr_beside_noise_free_items_trains_and_resumes_bit_identically(tmp_path: Path) -> None:
    from cgp.testing import assert_task_trains

    overrides = [
        *TINY,
        "eval.metrics=[]",
        "data.noise_free=0.5",
        "objective.terms={spectral_l1: 100, si_sdr_capped: 1}",
    ]
    report = assert_task_trains("speech_enhance", tmp_path, overrides, steps=4)
    rows = [json.loads(line) for line in (report.run_dir / "metrics.jsonl").read_text().splitlines()]
    capped = [r["si_sdr_capped"] for r in rows if "si_sdr_capped" in r]
    # the term is the one trained (its cap is checked in test_capped_si_sdr_term_stops_rewarding_an_exact_copy)
    assert len(capped) == 2 and all(-30.0 <= value < 30.0 for value in capped)


def test_remixed_crops_draw_whistles_by_default(tmp_path: Path) -> None:
    from cgp.core.data import SeededItems
    from cgp.datasets.procedural_speech import SET_NOISE_KINDS

    for side in ("clean", "noisy"):
        (tmp_path / "train" / side).mkdir(parents=True)
        for i in range(2):
            save_audio(tmp_path / "train" / side / f"p{i}.wav", 0.05 * torch.randn(24000), 16000)
    config = resolve_config(
        SpeechEnhanceConfig, "speech_enhance", None, [f"data.root={tmp_path}", "data.remix_synthetic=1"]
    )
    train = SeededItems(SpeechEnhanceTask(config, load_plugins()).build_dataset("train"))
    kinds = {train[(seed % 2, seed)]["name"].rsplit("-", 1)[1] for seed in range(80)}
    # the built-in set's six families and pure tones from 1 kHz (benchmarks.md: a blind fifth set decided)
    assert kinds == {*SET_NOISE_KINDS, "whistles"}


def test_noise_speed_reaches_the_remixed_noise(tmp_path: Path) -> None:
    from cgp.core.data import SeededItems

    t = torch.arange(20000) / 16000
    for side in ("clean", "noisy"):
        (tmp_path / "train" / side).mkdir(parents=True)
    for i in range(2):  # 'speech': a 180-Hz tone; noise: a 1-kHz tone
        clean = 0.05 * torch.sin(2 * math.pi * 180.0 * t)
        save_audio(tmp_path / "train" / "clean" / f"p{i}.wav", clean, 16000)
        save_audio(tmp_path / "train" / "noisy" / f"p{i}.wav", clean + 0.2 * torch.sin(2 * math.pi * 1000.0 * t), 16000)
    plain = [f"data.root={tmp_path}", "data.remix_synthetic=0", "data.speed=0", "data.gain_db=0", "data.eq_db=0"]
    peaks = set()
    config = resolve_config(SpeechEnhanceConfig, "speech_enhance", None, [*plain, "data.noise_speed=0.2"])
    train = SeededItems(SpeechEnhanceTask(config, load_plugins()).build_dataset("train"))
    for seed in range(12):
        item = train[(0, seed)]
        noise = (item["cond"] - item["x"]).double()
        spectrum = torch.fft.rfft(noise * torch.hann_window(len(noise), dtype=torch.float64)).abs()
        peaks.add(round(float(spectrum.argmax()) * 16000 / len(noise)))
    assert len(peaks) >= 4 and all(780 <= hz <= 1220 for hz in peaks)  # 1 kHz moved by up to 20 %


def test_recording_chain_wraps_the_training_items_only() -> None:
    from cgp.datasets.speech import RecordingChain

    plain = _task("data.train_size=4", "data.test_size=2", "data.gain_db=0", "data.eq_db=0")
    assert not isinstance(plain.build_dataset("train"), RecordingChain)
    chained = _task("data.train_size=4", "data.test_size=2")  # on by default
    train = chained.build_dataset("train")
    assert isinstance(train, RecordingChain) and (train.gain_db, train.eq_db) == (10.0, 8.0)
    test_a, test_b = chained.build_dataset("test")[1], plain.build_dataset("test")[1]
    assert torch.equal(test_a["cond"], test_b["cond"])  # the test items are heard as they are
    with pytest.raises(ConfigError, match="eq_db"):
        _task("data.eq_db=-3")
