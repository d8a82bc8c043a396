"""Whose voices a speech set holds: the fundamental frequency of its clean speech, per speaker.

    cd benchmarks
    python speech_pitch.py --root out/speech_real_words --split train     # the voices trained on
    python speech_pitch.py --root out/speech_second                       # and those of each test set

A diagnostic for the speech-enhancement benchmarks: a model trained on a few voices may treat voices
pitched outside their range as noise. For each clean clip of ``ROOT/SPLIT/clean`` it estimates f0 in
40-ms Hann frames (20-ms hop) by the strongest autocorrelation peak between 60 and 400 Hz, keeping
frames at least 30 % of the clip's mean power and whose peak reaches half the zero-lag value (voiced);
clips are grouped by the manifest's ``speaker``, else by their source's folder. Prints, per group, the
voiced frames counted and the median and 10th-90th percentiles of f0 as JSON. A rough estimator
(octave errors happen), enough to tell a 100-Hz voice from a 200-Hz one.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np

from cgp.datasets.audio import load_audio

RATE = 16_000
FRAME, HOP = 640, 320
F0_RANGE = (60.0, 400.0)


def voiced_f0(x: np.ndarray) -> list[float]:
    """f0 (Hz) of each loud, voiced frame of ``x``."""
    mean_power = float(np.mean(x**2)) + 1e-20
    window = np.hanning(FRAME)
    shortest, longest = int(RATE / F0_RANGE[1]), int(RATE / F0_RANGE[0])
    found = []
    for start in range(0, len(x) - FRAME, HOP):
        frame = x[start : start + FRAME] * window
        if np.mean(frame**2) < 0.3 * mean_power:
            continue
        spectrum = np.fft.rfft(frame, 2 * FRAME)
        lagged = np.fft.irfft(np.abs(spectrum) ** 2)[: longest + 1]
        lag = shortest + int(np.argmax(lagged[shortest:]))
        if lagged[lag] > 0.5 * lagged[0]:
            found.append(RATE / lag)
    return found


def group_of(clip: dict) -> str:
    if "speaker" in clip:
        return str(clip["speaker"])
    source = clip.get("source", clip["name"])
    source = source[0] if isinstance(source, list) else source
    return Path(str(source)).parent.name or "?"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True, help="a set built by speech_*_set.py")
    p.add_argument("--split", default="test")
    opts = p.parse_args()
    clips = json.loads((opts.root / "manifest.json").read_text())["clips"]
    by_group: dict[str, list[float]] = collections.defaultdict(list)
    for clip in clips:
        if clip.get("split", "test") != opts.split:
            continue
        audio = load_audio(opts.root / opts.split / "clean" / clip["name"], RATE).double().numpy()
        by_group[group_of(clip)].extend(voiced_f0(audio))
    report = {
        group: {
            "voiced_frames": len(f0),
            "median_hz": round(float(np.median(f0)), 1),
            "p10_p90_hz": [round(float(np.percentile(f0, q)), 1) for q in (10, 90)],
        }
        for group, f0 in sorted(by_group.items())
        if f0
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
