"""What a trained speech_enhance model does to speech with no noise in it, band by band.

    cd benchmarks
    python speech_clean_pass.py --run out/speech_real_words_run/run --root out/speech_second --out out/clean_pass_second

Runs ``cgp generate RUN`` on ``ROOT/test/clean`` (and on ``ROOT/test/noisy``) and prints as JSON, over
the test clips:

* ``clean_in``: the SI-SDR of the output against its own clean input (a model that leaves clean speech
  alone scores high; on the first real set the defaults score above 20 dB), the same within 150-6500 Hz
  (both signals band-passed), the level change, and per band of :data:`BANDS` the input's energy share,
  the output's energy over the input's (dB), and the energy of the error ``output - a * input`` (``a``
  the SI-SDR scale) relative to the whole input (dB): where the model changes the speech;
* ``below_80_hz``: the share of the clean references' energy below 80 Hz (rumble and DC offset are not
  speech; the sets' noises are high-passed at 100 Hz before mixing, their speech is not);
* ``noisy_in``: SI-SDR of the noisy input and of the output against the clean reference, as scored and
  with all three high-passed at 100 Hz (what the score is without the content below the speech band).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torchaudio.functional as AF

from cgp.datasets.audio import load_audio
from cgp.metrics.audio import si_sdr
from runs import cgp

RATE = 16_000
BANDS = [(0, 250), (250, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 6000), (6000, 8000)]


def band_energy(x: torch.Tensor) -> np.ndarray:
    power = torch.stft(x, 512, 128, window=torch.hann_window(512), return_complex=True).abs().square()
    freqs = np.linspace(0, RATE / 2, power.shape[0])
    return np.array([float(power[torch.from_numpy((freqs >= lo) & (freqs < hi))].sum()) for lo, hi in BANDS])


def filtered(x: torch.Tensor, high_pass: float, low_pass: float | None = None) -> torch.Tensor:
    y = x.double()
    for _ in range(2):  # two biquads: 24 dB per octave
        y = AF.highpass_biquad(y, RATE, high_pass)
        if low_pass:
            y = AF.lowpass_biquad(y, RATE, low_pass)
    return y.float()


def pair(reference: Path, estimate: Path) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = load_audio(reference, RATE), load_audio(estimate, RATE)
    n = min(x.numel(), y.numel())
    return x[:n], y[:n]


def score(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    return float(si_sdr(estimate[None], reference[None]).mean())


def clean_in(clean: list[Path], out: Path) -> dict:
    sdr, band_sdr, level, share, energy_in, energy_out, error, low = [], [], [], 0.0, 0.0, 0.0, 0.0, []
    for file in clean:
        x, y = pair(file, out / file.name)
        sdr.append(score(y, x))
        band_sdr.append(score(filtered(y, 150, 6500), filtered(x, 150, 6500)))
        level.append(10 * np.log10(float(y.square().sum() / x.square().sum())))
        scale = float((x * y).sum() / (x * x).sum())
        e_in = band_energy(x)
        share, energy_in, energy_out = share + e_in / e_in.sum(), energy_in + e_in, energy_out + band_energy(y)
        error = error + band_energy(y - scale * x) / e_in.sum()
        spectrum = np.abs(np.fft.rfft(x.numpy())) ** 2
        low.append(float(spectrum[np.fft.rfftfreq(x.numel(), 1 / RATE) < 80].sum() / spectrum.sum()))
    n = len(clean)
    return {
        "si_sdr": round(float(np.mean(sdr)), 2),
        "si_sdr_150_6500_hz": round(float(np.mean(band_sdr)), 2),
        "level_change_db": round(float(np.mean(level)), 2),
        "bands_hz": BANDS,
        "input_share_percent": [round(100 * v / n, 2) for v in share],
        "output_over_input_db": [round(10 * np.log10(o / i), 2) for o, i in zip(energy_out, energy_in)],
        "error_db": [round(10 * np.log10(v / n), 1) for v in error],
        "below_80_hz_percent": round(100 * float(np.mean(low)), 2),
    }


def noisy_in(clean: list[Path], noisy: Path, out: Path) -> dict:
    rows = {"noisy": [], "cgp": [], "noisy_100_hz": [], "cgp_100_hz": []}
    for file in clean:
        x, n, y = (load_audio(path, RATE) for path in (file, noisy / file.name, out / file.name))
        length = min(x.numel(), n.numel(), y.numel())
        x, n, y = x[:length], n[:length], y[:length]
        rows["noisy"].append(score(n, x))
        rows["cgp"].append(score(y, x))
        rows["noisy_100_hz"].append(score(filtered(n, 100), filtered(x, 100)))
        rows["cgp_100_hz"].append(score(filtered(y, 100), filtered(x, 100)))
    return {key: round(float(np.mean(values)), 2) for key, values in rows.items()}


def generate(run: Path, source: Path, target: Path) -> None:
    done = cgp(["generate", str(run), str(source), "--output", str(target)])
    if done.returncode != 0:
        raise SystemExit(f"cgp generate {run} {source} failed: {done.stderr.strip().splitlines()[-1:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a trained speech_enhance run directory")
    parser.add_argument("--root", type=Path, required=True, help="VoiceBank-layout folder whose test split is used")
    parser.add_argument("--out", type=Path, required=True, help="folder for the enhanced clips and results.json")
    opts = parser.parse_args()
    clean = sorted((opts.root / "test" / "clean").glob("*.wav"))
    if not clean:
        raise SystemExit(f"no clean test clips under {opts.root / 'test' / 'clean'}")
    for split in ("clean", "noisy"):
        generate(opts.run, opts.root / "test" / split, opts.out / split)
    report = {
        "run": str(opts.run),
        "root": str(opts.root),
        "clips": len(clean),
        "clean_in": clean_in(clean, opts.out / "clean"),
        "noisy_in": noisy_in(clean, opts.root / "test" / "noisy", opts.out / "noisy"),
    }
    (opts.out / "results.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
