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
import zipfile
from pathlib import Path

import numpy as np
import torch
import torchaudio.functional as AF
from speech_real_set import (
    CLEAN_RMS_DBFS,
    FRAME_S,
    MARGIN_S,
    NOISE_HIGHPASS_HZ,
    SAMPLE_RATE,
    SNR_DB,
    apt_fetch,
    noise_segment,
    speech_frames,
)

from cgp.datasets.audio import load_audio, save_audio
from cgp.datasets.procedural_speech import mix_at_snr

SPEECH_PACKAGE = "pocketsphinx-testdata"
SPEECH_DIR = "usr/share/pocketsphinx/test/data"
NOISE_PACKAGE = "ufoai-sound"
NOISES = {
    "cricket_loop": ("crickets", "GPL-2+"),
    "steam": ("steam hiss", "GPL-2+"),
    "wind_turbine": ("wind turbine", "CC-BY-SA-3.0"),
    "droning_long": ("low drone", "GPL-2"),
}
"""``base/sound/ambience/NAME.ogg`` of ufoai-sound -> (what it is, licence from debian/copyright)."""
MIXES_PER_CLIP = 2


def fetch(sources: Path) -> dict[str, str]:
    stamp = sources / "versions.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    sources.mkdir(parents=True, exist_ok=True)
    versions = apt_fetch([SPEECH_PACKAGE, NOISE_PACKAGE], sources / "root")
    pk3 = sources / "root/usr/share/games/ufoai/base/0snd.pk3"
    (sources / "noise").mkdir(exist_ok=True)
    with zipfile.ZipFile(pk3) as archive:
        for name in NOISES:
            (sources / "noise" / f"{name}.ogg").write_bytes(archive.read(f"sound/ambience/{name}.ogg"))
    pk3.unlink()
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


def build(sources: Path, out: Path, seed: int) -> list[dict]:
    rng = random.Random(seed)
    noises = {}
    for name in NOISES:
        wav = load_audio(sources / "noise" / f"{name}.ogg", SAMPLE_RATE).double()
        noises[name] = AF.highpass_biquad(wav, SAMPLE_RATE, NOISE_HIGHPASS_HZ).float()
    pieces = [(source, trim(wav)) for source, wav in recordings(sources)]
    plan = [(noise, snr) for noise in sorted(noises) for snr in SNR_DB["test"]]
    rng.shuffle(plan)
    records, turn = [], 0
    for index, (source, clean) in enumerate(pieces):
        clean = clean * (10 ** (CLEAN_RMS_DBFS / 20) / clean.pow(2).mean().sqrt().clamp_min(1e-8))
        used: set[str] = set()
        for _ in range(MIXES_PER_CLIP):
            while plan[turn % len(plan)][0] in used:  # a clip's two mixtures use two different noises
                turn += 1
            noise_name, snr = plan[turn % len(plan)]
            turn += 1
            used.add(noise_name)
            noise, offset = noise_segment(noises[noise_name], clean.numel(), rng)
            noisy = torch.from_numpy(mix_at_snr(clean.numpy(), noise.numpy(), snr)).float()
            scale = min(1.0, 0.99 / max(float(noisy.abs().max()), float(clean.abs().max())))
            name = f"ps_{index:02d}_{noise_name}.wav"
            save_audio(out / "test" / "clean" / name, clean * scale, SAMPLE_RATE)
            save_audio(out / "test" / "noisy" / name, noisy * scale, SAMPLE_RATE)
            records.append(
                {
                    "name": name,
                    "source": f"/{SPEECH_DIR}/{source}",
                    "seconds": round(clean.numel() / SAMPLE_RATE, 3),
                    "noise": noise_name,
                    "noise_offset_s": offset / SAMPLE_RATE,
                    "snr_db": snr,
                    "scale": scale,
                }
            )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/speech_second"))
    parser.add_argument("--train-from", type=Path, default=Path("out/speech_real"), help="the first set's root")
    parser.add_argument("--sources", type=Path, default=None, help="download cache (default: OUT_sources)")
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    if (opts.out / "manifest.json").exists():
        print(f"{opts.out} is already built; remove it to build again")
        return
    if not (opts.train_from / "train").is_dir():
        raise SystemExit(f"'{opts.train_from}/train' is missing; build the first set with speech_real_set.py first")
    sources = opts.sources or opts.out.with_name(opts.out.name + "_sources")
    versions = fetch(sources)
    shutil.rmtree(opts.out, ignore_errors=True)
    shutil.copytree(opts.train_from / "train", opts.out / "train")
    records = build(sources, opts.out, opts.seed)
    info = {
        "sample_rate": SAMPLE_RATE,
        "seed": opts.seed,
        "layout": "ROOT/test/{clean,noisy}/NAME.wav (VoiceBank+DEMAND); ROOT/train copied from the first set",
        "count": len(records),
        "seconds": round(sum(r["seconds"] for r in records), 1),
        "snr_db": list(SNR_DB["test"]),
        "clean_rms_dbfs": CLEAN_RMS_DBFS,
        "noise_highpass_hz": NOISE_HIGHPASS_HZ,
        "speech": {"package": SPEECH_PACKAGE, "version": versions[SPEECH_PACKAGE], "licence": "BSD-2"},
        "noise": {
            name: {"package": NOISE_PACKAGE, "version": versions[NOISE_PACKAGE], "what": what, "licence": licence}
            for name, (what, licence) in NOISES.items()
        },
        "clips": records,
    }
    (opts.out / "manifest.json").write_text(json.dumps(info, indent=2))
    print(json.dumps({k: info[k] for k in ("count", "seconds", "snr_db")}, indent=2))


if __name__ == "__main__":
    main()
