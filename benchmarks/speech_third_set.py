"""A third real test set for speech enhancement, fixed before any model was run on it.

    cd benchmarks && python speech_third_set.py --out out/speech_third --train-from out/speech_real_words

The second set (``speech_second_set.py``) was studied clip by clip, and training settings were chosen
after that study (``data.rumble``'s range, for one), so it is no longer a blind test. This set was
defined, built and committed before any model was evaluated on it; its speakers, noises, SNRs and mixing
are not to be changed after results are seen. Writes ``OUT/test/{clean,noisy}/NAME.wav`` (16 kHz, mono,
16-bit; ``OUT/train`` is a copy of ``--train-from``'s training pairs, so the folder is a complete
VoiceBank-layout root) and ``OUT/manifest.json`` (sources, versions, licences, and per clip its speaker,
source files, noise, noise offset and SNR).

* speech: the spoken letters and syllables of KDE's alphabet tutor KLettres (Debian package
  ``klettres-data``, GPL-2+ per debian/copyright), one volunteer per language folder, recorded
  on their own equipment at 44.1 kHz. Only the languages in :data:`LANGUAGES` are used: those whose
  KTuberling volunteer is *not* in the first set's training words (``speech_real_set.py --words``), so
  no voice of this set is heard in training, and ``nb`` and ``en_GB`` are left out as possibly the same
  volunteers as the training words' ``nn`` and ``en``. Files below 16 kHz or above 48 kHz (a header
  that does not match the recording), with audible background noise or clipped are skipped as for the
  training words (:data:`speech_real_set.WORD_FLOOR_DB`, :data:`speech_real_set.WORD_CLIPPED`), and so
  are the few that FFmpeg cannot decode. Each
  item is trimmed to its speech, and one speaker's items, in a seeded random order, are joined into
  clips of 1-4 s, :data:`CLIPS_PER_SPEAKER` clips per speaker at most.
* noise: four ambience loops of ``ufoai-sound`` used by neither earlier set: thunder and rain, television
  static, machinery and the buzz of electric lights (:data:`NOISES`), high-passed at 100 Hz as in
  the other sets.
* mixing: as the second set: clean set to -25 dBFS RMS, each clip mixed twice, with two different
  noises, at SNRs from {2.5, 7.5, 12.5, 17.5} dB, taking the (noise, SNR) pairs in a seeded random
  order.

Limits: isolated letters and syllables, not running speech; one volunteer per language and each
volunteer's own microphone and room; the "clean" references are these recordings as they are.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import zipfile
from pathlib import Path

import torch
import torchaudio.functional as AF
from speech_real_set import (
    CLEAN_RMS_DBFS,
    MAX_SECONDS,
    MIN_SECONDS,
    NOISE_HIGHPASS_HZ,
    SAMPLE_RATE,
    SNR_DB,
    WORD_CLIPPED,
    WORD_FLOOR_DB,
    apt_fetch,
    audio_rate,
    floor_db,
    noise_segment,
    trim,
)

from cgp.core.errors import DataError
from cgp.datasets.audio import load_audio, save_audio
from cgp.datasets.procedural_speech import mix_at_snr

SPEECH_PACKAGE = "klettres-data"
SPEECH_DIR = "usr/share/klettres"
LANGUAGES = ("ar", "cs", "es", "he", "hu", "it", "ml", "nds", "nl", "pt_BR", "ru", "tn")
"""KLettres' language folders used: every one whose language has no speaker among the training words."""
MAX_RATE = 48_000
CLIPS_PER_SPEAKER = 3
NOISE_PACKAGE = "ufoai-sound"
NOISES = {
    "thunder2": ("thunder and rain", "CC-BY-SA-3.0"),
    "tv_static": ("television static", "CC-BY-SA-3.0"),
    "machine1": ("machinery", "GPL-2+"),
    "lights_loop": ("buzz of electric lights", "GPL-2+"),
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


def usable_items(sources: Path, language: str) -> list[tuple[str, torch.Tensor]]:
    """(path inside the package, trimmed waveform) of one language's recordings that pass the checks."""
    items = []
    for path in sorted((sources / "root" / SPEECH_DIR / language).rglob("*.ogg")):
        if not SAMPLE_RATE <= audio_rate(path) <= MAX_RATE:
            continue
        try:
            wav = load_audio(path, SAMPLE_RATE)
        except DataError:  # a few files use an Ogg codec FFmpeg does not decode
            continue
        if float((wav.abs() > 0.98).float().mean()) > WORD_CLIPPED or floor_db(wav) < WORD_FLOOR_DB:
            continue
        ranges = trim(wav)
        if ranges is not None:
            items.append(("/" + str(path.relative_to(sources / "root")), wav[ranges[0] : ranges[1]]))
    return items


def speaker_clips(items: list[tuple[str, torch.Tensor]], rng: random.Random) -> list[tuple[list[str], torch.Tensor]]:
    """Up to CLIPS_PER_SPEAKER clips of MIN_SECONDS-MAX_SECONDS, each the speaker's items joined in a
    seeded random order (an item that would make a clip too long waits for the next one)."""
    queue = rng.sample(items, len(items))
    clips: list[tuple[list[str], torch.Tensor]] = []
    names: list[str] = []
    pieces: list[torch.Tensor] = []
    for name, item in queue:
        if sum(p.numel() for p in pieces) + item.numel() > MAX_SECONDS * SAMPLE_RATE:
            continue
        names.append(name)
        pieces.append(item)
        if sum(p.numel() for p in pieces) >= MIN_SECONDS * SAMPLE_RATE:
            clips.append((names, torch.cat(pieces)))
            names, pieces = [], []
            if len(clips) == CLIPS_PER_SPEAKER:
                break
    return clips


def build(sources: Path, out: Path, seed: int) -> list[dict]:
    rng = random.Random(seed)
    noises = {}
    for name in NOISES:
        wav = load_audio(sources / "noise" / f"{name}.ogg", SAMPLE_RATE).double()
        noises[name] = AF.highpass_biquad(wav, SAMPLE_RATE, NOISE_HIGHPASS_HZ).float()
    plan = [(noise, snr) for noise in sorted(noises) for snr in SNR_DB["test"]]
    rng.shuffle(plan)
    records, turn = [], 0
    for language in LANGUAGES:
        for index, (names, clean) in enumerate(speaker_clips(usable_items(sources, language), rng)):
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
                name = f"kl_{language}_{index}_{noise_name}.wav"
                save_audio(out / "test" / "clean" / name, clean * scale, SAMPLE_RATE)
                save_audio(out / "test" / "noisy" / name, noisy * scale, SAMPLE_RATE)
                records.append(
                    {
                        "name": name,
                        "speaker": f"klettres_{language}",
                        "source": names,
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
    parser.add_argument("--out", type=Path, default=Path("out/speech_third"))
    parser.add_argument("--train-from", type=Path, default=Path("out/speech_real_words"), help="the training set")
    parser.add_argument("--sources", type=Path, default=None, help="download cache (default: OUT_sources)")
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    if (opts.out / "manifest.json").exists():
        print(f"{opts.out} is already built; remove it to build again")
        return
    if not (opts.train_from / "train").is_dir():
        raise SystemExit(f"'{opts.train_from}/train' is missing; build it with speech_real_set.py first")
    sources = opts.sources or opts.out.with_name(opts.out.name + "_sources")
    versions = fetch(sources)
    shutil.rmtree(opts.out, ignore_errors=True)
    shutil.copytree(opts.train_from / "train", opts.out / "train")
    records = build(sources, opts.out, opts.seed)
    info = {
        "sample_rate": SAMPLE_RATE,
        "seed": opts.seed,
        "layout": "ROOT/test/{clean,noisy}/NAME.wav (VoiceBank+DEMAND); ROOT/train copied from the training set",
        "count": len(records),
        "speakers": sorted({r["speaker"] for r in records}),
        "seconds": round(sum(r["seconds"] for r in records), 1),
        "snr_db": list(SNR_DB["test"]),
        "clean_rms_dbfs": CLEAN_RMS_DBFS,
        "noise_highpass_hz": NOISE_HIGHPASS_HZ,
        "speech": {
            "package": SPEECH_PACKAGE,
            "version": versions[SPEECH_PACKAGE],
            "languages": list(LANGUAGES),
            "licence": "GPL-2+",
        },
        "noise": {
            name: {"package": NOISE_PACKAGE, "version": versions[NOISE_PACKAGE], "what": what, "licence": licence}
            for name, (what, licence) in NOISES.items()
        },
        "clips": records,
    }
    (opts.out / "manifest.json").write_text(json.dumps(info, indent=2))
    print(json.dumps({k: info[k] for k in ("count", "speakers", "seconds", "snr_db")}, indent=2))


if __name__ == "__main__":
    main()
