"""A second real test set for speech enhancement: other speakers, other recordings, other noises.

    cd benchmarks && python speech_second_set.py --out out/speech_second

A model trained on ``speech_real_set.py``'s training split is evaluated here without retraining, so
everything in this set is new to it: the speakers, the language variety, the recording chain and the
noises. Writes ``OUT/test/{clean,noisy}/NAME.wav`` (16 kHz, mono, 16-bit; ``OUT/train`` is a copy of
``--train-from``'s training pairs, so that the folder is a complete VoiceBank-layout root) and
``OUT/manifest.json`` (sources, versions, licences, and per clip its source, noise, noise offset and SNR).

* speech: every recording of Debian's ``pocketsphinx-testdata`` (CMU Sphinx's test utterances, BSD-2):
  five read card names (``cards/00[1-5].wav``), five sentences of a LibriVox reading of *Sense and
  Sensibility* (``librivox/*.wav``, decoded from 64 kbit/s MP3 by the package), and four 16-bit raw
  recordings (``goforward``, ``numbers``, ``something``, ``tidigits/dhd.2934z``): American English,
  several speakers, none of them in the first set. Trimmed to speech as the first set is (20-ms frames
  within 40 dB of the loudest, 50 ms margins) but not split: whole utterances of 1-7 s.
* noise: four ambience loops of ``ufoai-sound`` that the first set does not use at all: crickets
  (``cricket_loop``, GPL-2+), steam hiss (``steam``, GPL-2+), a wind turbine (``wind_turbine``,
  CC-BY-SA-3.0) and a low drone (``droning_long``, GPL-2), high-passed at 100 Hz as in the first set.
* mixing: as the first set's test split: clean set to -25 dBFS RMS, each clip mixed twice, with two
  different noises, at SNRs from {2.5, 7.5, 12.5, 17.5} dB, taking the (noise, SNR) pairs in a seeded
  random order, skipping a pair whose noise the clip already has.

Limits: 14 source recordings (about 46 s of speech); the LibriVox sentences carry their MP3 coding and
the reader's room; the "clean" references are these recordings as they are, not studio speech.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from speech_real_set import (
    CLEAN_RMS_DBFS,
    FRAME_S,
    MARGIN_S,
    NOISE_HIGHPASS_HZ,
    NOISE_PACKAGE,
    SAMPLE_RATE,
    SNR_DB,
    apt_fetch,
    extract_noises,
    highpassed_noise,
    noise_segment,
    speech_frames,
)

from cgp.datasets.audio import load_audio, save_audio
from cgp.datasets.procedural_speech import mix_at_snr

SPEECH_PACKAGE = "pocketsphinx-testdata"
SPEECH_DIR = "usr/share/pocketsphinx/test/data"
NOISES = {
    "cricket_loop": ("crickets", "GPL-2+"),
    "steam": ("steam hiss", "GPL-2+"),
    "wind_turbine": ("wind turbine", "CC-BY-SA-3.0"),
    "droning_long": ("low drone", "GPL-2"),
}
"""``base/sound/ambience/NAME.ogg`` of ufoai-sound -> (what it is, licence from debian/copyright)."""
MIXES_PER_CLIP = 2


def fetch(sources: Path, speech_package: str = SPEECH_PACKAGE, noises: dict = NOISES) -> dict[str, str]:
    """The speech package and the named ambience loops under ``sources``; package -> version."""
    stamp = sources / "versions.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    sources.mkdir(parents=True, exist_ok=True)
    versions = apt_fetch([speech_package, NOISE_PACKAGE], sources / "root")
    extract_noises(sources / "root", sources, noises)
    stamp.write_text(json.dumps(versions, indent=2))
    return versions


def recordings(sources: Path) -> list[tuple[str, torch.Tensor]]:
    """(path inside the package, waveform) of every test recording, the raw ones read as 16-bit 16 kHz."""
    root = sources / "root" / SPEECH_DIR
    found = []
    for path in sorted(root.rglob("*.wav")):
        found.append((str(path.relative_to(root)), load_audio(path, SAMPLE_RATE)))
    for path in sorted(root.rglob("*.raw")):
        samples = np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float32) / 32768
        found.append((str(path.relative_to(root)), torch.from_numpy(samples.copy())))
    return found


def trim(wav: torch.Tensor) -> torch.Tensor:
    """``wav`` from its first to its last speech frame, with the first set's margins (not split: whole
    utterances of up to 7 s are scored)."""
    frame, margin = int(FRAME_S * SAMPLE_RATE), int(MARGIN_S * SAMPLE_RATE)
    on = torch.nonzero(speech_frames(wav)).flatten()
    return wav[max(0, int(on[0]) * frame - margin) : min(wav.numel(), (int(on[-1]) + 1) * frame + margin)]


class TestMixer:
    """Writes each clean clip (set to -25 dBFS) mixed MIXES_PER_CLIP times, with different noises, taking
    the (noise, SNR) pairs of the test SNRs in a seeded random order; returns one record per mixture."""

    def __init__(self, sources: Path, out: Path, names: dict, rng: random.Random) -> None:
        self.out, self.rng = out, rng
        self.noises = {name: highpassed_noise(sources, name) for name in names}
        self.plan = [(noise, snr) for noise in sorted(self.noises) for snr in SNR_DB["test"]]
        rng.shuffle(self.plan)
        self.turn = 0

    def mix(self, clean: torch.Tensor, prefix: str, fields: dict) -> list[dict]:
        """``PREFIX_NOISE.wav`` pairs of one clip; ``fields`` go into each record after its name."""
        clean = clean * (10 ** (CLEAN_RMS_DBFS / 20) / clean.pow(2).mean().sqrt().clamp_min(1e-8))
        records, used = [], set()
        for _ in range(MIXES_PER_CLIP):
            while self.plan[self.turn % len(self.plan)][0] in used:  # two different noises per clip
                self.turn += 1
            noise_name, snr = self.plan[self.turn % len(self.plan)]
            self.turn += 1
            used.add(noise_name)
            noise, offset = noise_segment(self.noises[noise_name], clean.numel(), self.rng)
            noisy = torch.from_numpy(mix_at_snr(clean.numpy(), noise.numpy(), snr)).float()
            scale = min(1.0, 0.99 / max(float(noisy.abs().max()), float(clean.abs().max())))
            name = f"{prefix}_{noise_name}.wav"
            save_audio(self.out / "test" / "clean" / name, clean * scale, SAMPLE_RATE)
            save_audio(self.out / "test" / "noisy" / name, noisy * scale, SAMPLE_RATE)
            records.append(
                {
                    "name": name,
                    **fields,
                    "seconds": round(clean.numel() / SAMPLE_RATE, 3),
                    "noise": noise_name,
                    "noise_offset_s": offset / SAMPLE_RATE,
                    "snr_db": snr,
                    "scale": scale,
                }
            )
        return records


def build(sources: Path, out: Path, seed: int) -> list[dict]:
    mixer = TestMixer(sources, out, NOISES, random.Random(seed))
    records = []
    for index, (source, wav) in enumerate(recordings(sources)):
        records += mixer.mix(trim(wav), f"ps_{index:02d}", {"source": f"/{SPEECH_DIR}/{source}"})
    return records


def prepare(opts: argparse.Namespace, fetch_sources: Callable[[Path], dict[str, str]]) -> dict[str, str] | None:
    """Checks, fetches and copies the training pairs; the package versions, or None when already built."""
    if (opts.out / "manifest.json").exists():
        print(f"{opts.out} is already built; remove it to build again")
        return None
    if not (opts.train_from / "train").is_dir():
        raise SystemExit(f"'{opts.train_from}/train' is missing; build it with speech_real_set.py first")
    versions = fetch_sources(opts.sources)
    shutil.rmtree(opts.out, ignore_errors=True)
    shutil.copytree(opts.train_from / "train", opts.out / "train")
    return versions


def common_manifest(records: list[dict], seed: int, speech: dict, noises: dict, versions: dict[str, str]) -> dict:
    """A test set's manifest.json: the fields every set shares, its ``speech`` entry and its clips."""
    return {
        "sample_rate": SAMPLE_RATE,
        "seed": seed,
        "layout": "ROOT/test/{clean,noisy}/NAME.wav (VoiceBank+DEMAND); ROOT/train copied from the training set",
        "count": len(records),
        "seconds": round(sum(r["seconds"] for r in records), 1),
        "snr_db": list(SNR_DB["test"]),
        "clean_rms_dbfs": CLEAN_RMS_DBFS,
        "noise_highpass_hz": NOISE_HIGHPASS_HZ,
        "speech": speech,
        "noise": {
            name: {"package": NOISE_PACKAGE, "version": versions[NOISE_PACKAGE], "what": what, "licence": licence}
            for name, (what, licence) in noises.items()
        },
        "clips": records,
    }


def recorded_noises(noises: dict[str, tuple[str, str]], package: str, version: str, place: str, licence: str) -> dict:
    """The manifest's ``noise`` entries for ``noises``, NAME -> (file, what it is), all from one package
    whose files lie under ``place`` (a path prefix written before each file name)."""
    return {
        name: {"package": package, "version": version, "file": f"{place}{file}", "what": what, "licence": licence}
        for name, (file, what) in noises.items()
    }


def write_manifest(out: Path, info: dict) -> None:
    """Writes ``OUT/manifest.json`` with the speakers of its clips, and prints its summary."""
    info["speakers"] = sorted({r["speaker"] for r in info["clips"]})
    (out / "manifest.json").write_text(json.dumps(info, indent=2))
    print(json.dumps({k: info[k] for k in ("count", "speakers", "seconds", "snr_db")}, indent=2))


def test_set_options(doc: str, out: str, train_from: str) -> argparse.Namespace:
    """The command line every test-set script takes; ``opts.sources`` defaults to ``OUT_sources``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--train-from", type=Path, default=Path(train_from), help="the training set's root")
    parser.add_argument("--sources", type=Path, default=None, help="download cache (default: OUT_sources)")
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    opts.sources = opts.sources or opts.out.with_name(opts.out.name + "_sources")
    return opts


def main() -> None:
    opts = test_set_options(__doc__, "out/speech_second", "out/speech_real")
    versions = prepare(opts, fetch)
    if versions is None:
        return
    records = build(opts.sources, opts.out, opts.seed)
    speech = {"package": SPEECH_PACKAGE, "version": versions[SPEECH_PACKAGE], "licence": "BSD-2"}
    info = common_manifest(records, opts.seed, speech, NOISES, versions)
    (opts.out / "manifest.json").write_text(json.dumps(info, indent=2))
    print(json.dumps({k: info[k] for k in ("count", "seconds", "snr_db")}, indent=2))


if __name__ == "__main__":
    main()
