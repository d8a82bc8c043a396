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

import random
from pathlib import Path

import torch
from speech_real_set import (
    MAX_SECONDS,
    MIN_SECONDS,
    SAMPLE_RATE,
    WORD_CLIPPED,
    WORD_FLOOR_DB,
    audio_rate,
    floor_db,
    trim,
)
from speech_second_set import TestMixer, common_manifest, fetch, prepare, test_set_options, write_manifest

from cgp.core.errors import DataError
from cgp.datasets.audio import load_audio

SPEECH_PACKAGE = "klettres-data"
SPEECH_DIR = "usr/share/klettres"
LANGUAGES = ("ar", "cs", "es", "he", "hu", "it", "ml", "nds", "nl", "pt_BR", "ru", "tn")
"""KLettres' language folders used: every one whose language has no speaker among the training words."""
MAX_RATE = 48_000
CLIPS_PER_SPEAKER = 3
NOISES = {
    "thunder2": ("thunder and rain", "CC-BY-SA-3.0"),
    "tv_static": ("television static", "CC-BY-SA-3.0"),
    "machine1": ("machinery", "GPL-2+"),
    "lights_loop": ("buzz of electric lights", "GPL-2+"),
}
"""``base/sound/ambience/NAME.ogg`` of ufoai-sound -> (what it is, licence from debian/copyright)."""


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
    length = 0
    for name, item in queue:
        if length + item.numel() > MAX_SECONDS * SAMPLE_RATE:
            continue
        names.append(name)
        pieces.append(item)
        length += item.numel()
        if length >= MIN_SECONDS * SAMPLE_RATE:
            clips.append((names, torch.cat(pieces)))
            names, pieces, length = [], [], 0
            if len(clips) == CLIPS_PER_SPEAKER:
                break
    return clips


def build(sources: Path, out: Path, seed: int) -> list[dict]:
    rng = random.Random(seed)
    mixer = TestMixer(sources, out, NOISES, rng)
    records = []
    for language in LANGUAGES:
        for index, (names, clean) in enumerate(speaker_clips(usable_items(sources, language), rng)):
            records += mixer.mix(clean, f"kl_{language}_{index}", {"speaker": f"klettres_{language}", "source": names})
    return records


def main() -> None:
    opts = test_set_options(__doc__, "out/speech_third", "out/speech_real_words")
    versions = prepare(opts, lambda sources: fetch(sources, SPEECH_PACKAGE, NOISES))
    if versions is None:
        return
    records = build(opts.sources, opts.out, opts.seed)
    speech = {
        "package": SPEECH_PACKAGE,
        "version": versions[SPEECH_PACKAGE],
        "languages": list(LANGUAGES),
        "licence": "GPL-2+",
    }
    write_manifest(opts.out, common_manifest(records, opts.seed, speech, NOISES, versions))


if __name__ == "__main__":
    main()
