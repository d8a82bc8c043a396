"""A non-learned baseline for speech enhancement: spectral gating with the ``noisereduce`` package.

    pip install noisereduce==3.0.3            # not a cgp dependency; any environment with cgp installed
    cd benchmarks && python speech_noisereduce_baseline.py --root out/speech_real --out out/speech_real_nr

(Or, leaving an existing environment untouched: ``pip install --no-deps --target DIR noisereduce==3.0.3 scipy
joblib cloudpickle tqdm`` and run with ``PYTHONPATH=DIR``.)

Runs ``noisereduce.reduce_noise`` (Sainburg, Thielk and Gentner 2020, "Finding, visualizing, and quantifying
latent structure across diverse animal vocal repertoires", PLoS Comput. Biol.; github.com/timsainb/noisereduce)
with its defaults (non-stationary spectral gating: a noise floor tracked per frequency over a 2-s time
constant, a soft mask smoothed over 500 Hz and 50 ms) on every ``ROOT/test/noisy/NAME.wav`` of a
VoiceBank+DEMAND-layout set (see ``speech_real_set.py``), writes ``OUT/NAME.wav``, and prints as JSON the
mean SI-SDR, log-spectral distance and spectral detail (``cgp.metrics.audio``) of the noisy input and of the
gated output against ``ROOT/test/clean/NAME.wav``, plus PESQ (wide band) and STOI where the optional packages
``pesq`` and ``pystoi`` are installed (``pip install 'cgp[speech-metrics]'``). ``OUT/results.json`` keeps the
per-file numbers too. ``noisereduce_on_clean`` scores the gate run on the *clean* input: what the gate itself
costs the speech, the ceiling of this baseline on the set (on short clips trimmed to speech, with no
noise-only stretch to learn the floor from, it gates parts of the speech too).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path

import torch

from cgp.datasets.audio import list_audio, load_audio, save_audio
from cgp.metrics.audio import available_speech_metrics, log_spectral_distance, pesq_wb, si_sdr, spectral_detail, stoi

SAMPLE_RATE = 16_000


def scores(estimate: torch.Tensor, clean: torch.Tensor, extras: dict[str, bool]) -> dict[str, float]:
    """Every available measure of one utterance."""
    out = {
        "si_sdr": float(si_sdr(estimate, clean)),
        "lsd_db": float(log_spectral_distance(estimate, clean)),
        "spectral_detail": float(spectral_detail(estimate, clean, SAMPLE_RATE)),
    }
    if extras["pesq"]:
        out["pesq_wb"] = pesq_wb(estimate, clean, SAMPLE_RATE)
    if extras["stoi"]:
        out["stoi"] = stoi(estimate, clean, SAMPLE_RATE)
    return out


def mean_of(rows: list[dict[str, float]]) -> dict[str, float | int]:
    """Mean per measure over the utterances it is a number for (NaN entries, logged where made, are left out)."""
    means: dict[str, float | int] = {}
    for key in rows[0]:
        values = [row[key] for row in rows if not math.isnan(row[key])]
        means[key] = round(statistics.fmean(values), 4) if values else math.nan
        if len(values) < len(rows):
            means[f"{key}_nan"] = len(rows) - len(values)
    return means


def run(root: Path, out: Path, denoise: Callable[[torch.Tensor], torch.Tensor]) -> dict:
    noisy_dir, clean_dir = root / "test" / "noisy", root / "test" / "clean"
    extras = available_speech_metrics()
    per_file = {}
    for noisy_path in list_audio(noisy_dir):
        noisy = load_audio(noisy_path, SAMPLE_RATE)
        clean = load_audio(clean_dir / noisy_path.name, SAMPLE_RATE)
        enhanced = denoise(noisy)[: noisy.numel()]
        save_audio(out / noisy_path.name, enhanced, SAMPLE_RATE)
        per_file[noisy_path.name] = {
            "noisy": scores(noisy, clean, extras),
            "noisereduce": scores(enhanced, clean, extras),
            "noisereduce_on_clean": scores(denoise(clean)[: clean.numel()], clean, extras),
        }
    if not per_file:
        raise SystemExit(f"no audio files in {noisy_dir}; build the set first (speech_real_set.py)")
    return {
        "root": str(root),
        "utterances": len(per_file),
        "noisy": mean_of([row["noisy"] for row in per_file.values()]),
        "noisereduce": mean_of([row["noisereduce"] for row in per_file.values()]),
        "noisereduce_on_clean": mean_of([row["noisereduce_on_clean"] for row in per_file.values()]),
        "missing_metrics": sorted(name for name, ok in extras.items() if not ok),
        "per_file": per_file,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("out/speech_real"), help="set with test/{clean,noisy}")
    parser.add_argument("--out", type=Path, default=Path("out/speech_real_nr"), help="folder for the outputs")
    parser.add_argument("--stationary", action="store_true", help="noisereduce's stationary mode instead")
    opts = parser.parse_args()
    try:
        import noisereduce
    except ImportError as exc:
        raise SystemExit(
            f"this baseline needs the package 'noisereduce' ({exc}): pip install noisereduce==3.0.3"
        ) from None

    def denoise(noisy: torch.Tensor) -> torch.Tensor:
        gated = noisereduce.reduce_noise(y=noisy.numpy(), sr=SAMPLE_RATE, stationary=opts.stationary)
        return torch.from_numpy(gated).float()

    result = run(opts.root, opts.out, denoise)
    result["noisereduce_mode"] = "stationary" if opts.stationary else "non-stationary"
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({key: value for key, value in result.items() if key != "per_file"}, indent=2))


if __name__ == "__main__":
    main()
