"""A fourth real test set for speech enhancement, of voices and noises no earlier set or training uses.

    cd benchmarks && python speech_fourth_set.py --out out/speech_fourth --train-from out/speech_real_words

A blind test: every voice and every noise recording here comes from a Debian package that no other set
and no training data draws on (those are ``asterisk-core-sounds-*``, ``ktuberling-data``,
``klettres-data``, ``pocketsphinx-testdata`` and ``ufoai-sound``). This set was defined, built and
committed before any model was evaluated on it; its speakers, files, noises, SNRs and mixing are not to
be changed after results are seen. Writes ``OUT/test/{clean,noisy}/NAME.wav`` (16 kHz, mono, 16-bit;
``OUT/train`` is a copy of ``--train-from``'s training pairs, so the folder is a complete VoiceBank-layout
root) and ``OUT/manifest.json`` (sources, versions, licences, and per clip its speaker, source files,
noise, noise offset and SNR).

* speech: the spoken stamp descriptions of the drawing program Tux Paint (Debian package
  ``tuxpaint-stamps-default``, 2022.06.04-1, GPL-2 per debian/copyright, whose text reads "version 2 ...
  or (at your option) any later version"): ``STAMP_desc_LANG.ogg``, short phrases ("a cat", "a red
  apple") recorded at 44.1 kHz by volunteers on their own equipment, one file per stamp and language.
  Four languages, one voice each (:data:`SPEAKERS`): Belarusian, Bulgarian, Greek and Russian, whom the
  upstream changelog (2014.August.13, and 2009.June.28 for Greek) credits to Kseniya Buraya, Krasimir
  Petkov, Kiriaki Serafeim and Edwin Veber. The package does not give their sex; by median f0
  (``speech_pitch.py`` on this set: about 280, 130, 240 and 135 Hz) two are female and two male.
  Belarusian and Bulgarian are in no other set. By f0 the training words' Greek KTuberling volunteer is a
  man (165 Hz) and these Greek descriptions are read by a woman; the Russian voices of the first set
  (Asterisk) and the third (KLettres, 235 Hz) are women and this one is a man, so none is the same
  person. The other languages of the
  package are left out: French, Romanian, Catalan, Danish and Lithuanian have a KTuberling volunteer in
  the training words who might be the same person (Greek is kept as that volunteer is of the other sex),
  and the Spanish, Dutch, Malayalam and untagged (English) files are nearly all clipped, noisy or
  narrow-band. Files under ``symbols/`` are skipped (letters and numbers, some of them from Schoolsplay,
  other speakers), and so are byte-identical copies (some stamps share one recording), files below 16
  kHz, with audible background noise or clipped (:data:`speech_real_set.WORD_FLOOR_DB`,
  :data:`speech_real_set.WORD_CLIPPED`) and those FFmpeg cannot decode. Each item is trimmed to its
  speech and one speaker's items, in a seeded random order, are joined into clips of 1-4 s as in the
  third set, :data:`CLIPS_PER_SPEAKER` clips per speaker: 36 clean clips of 1.0-3.8 s (65 s of speech from
  52 recordings), 72 noisy ones.
* noise: four ambience loops of the strategy game MegaGlest (``megaglest-data``, 3.13.0-3, CC-BY-SA-3.0
  for every file per debian/copyright) (:data:`NOISES`): heavy rain, a night chorus of crickets (credited
  to Elimnator of soundbible.com), daytime birdsong (credited to dobroide) and a tropical night of
  insects with recurring animal calls. What each is was judged from its tileset, its credits and its
  spectrogram; none holds speech or music. High-passed at 100 Hz as in the other sets. (The package's
  wind loop was left out: a tonal band repeated every 8 s, possibly synthetic.)
* mixing: as the second and third sets: clean set to -25 dBFS RMS, each clip mixed twice, with two
  different noises, at SNRs from {2.5, 7.5, 12.5, 17.5} dB, taking the (noise, SNR) pairs in a seeded
  random order.

Limits: short read phrases of one to a few words, not running speech; one volunteer per language, each
with their own microphone and room, the Russian files mostly failing the noise check (the clips use the
cleaner minority); speakers identified by the changelog's credits and f0, not by listening; the "clean"
references are these recordings as they are.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import torch
from speech_real_set import SAMPLE_RATE, WORD_CLIPPED, WORD_FLOOR_DB, apt_fetch, audio_rate, floor_db, trim
from speech_second_set import TestMixer, common_manifest, prepare, recorded_noises, test_set_options, write_manifest
from speech_third_set import MAX_RATE, speaker_clips

from cgp.core.errors import DataError
from cgp.datasets.audio import load_audio

SPEECH_PACKAGE = "tuxpaint-stamps-default"
SPEECH_DIR = "usr/share/tuxpaint/stamps"
SPEECH_LICENCE = "GPL-2"
SPEAKERS = {
    "be": ("Belarusian", "female", "Kseniya Buraya"),
    "bg": ("Bulgarian", "male", "Krasimir Petkov"),
    "el": ("Greek", "female", "Kiriaki Serafeim"),
    "ru": ("Russian", "male", "Edwin Veber"),
}
"""LANG of ``STAMP_desc_LANG.ogg`` -> (language, sex judged by f0, the voice the upstream changelog credits)."""
SKIPPED_DIRS = ("symbols",)  # letters and numbers, some recorded by other speakers
CLIPS_PER_SPEAKER = 9
NOISE_PACKAGE = "megaglest-data"
NOISE_DIR = "usr/share/games/megaglest/tilesets"
NOISE_LICENCE = "CC-BY-SA-3.0"
NOISES = {
    "mg_rain": ("autumn/sounds/rain.ogg", "heavy rain"),
    "mg_crickets": ("autumn/sounds/nightime.ogg", "night chorus of crickets (Elimnator, soundbible.com)"),
    "mg_birdsong": ("spring/sounds/day.ogg", "daytime birdsong (dobroide)"),
    "mg_tropical_night": ("fernland/sounds/night.ogg", "tropical night: insects and recurring animal calls"),
}
"""NAME -> (file under NOISE_DIR, what it is); every file CC-BY-SA-3.0 per the package's debian/copyright."""


def fetch(sources: Path) -> dict[str, str]:
    """The speech package under ``sources/root`` and the noise loops as ``sources/noise/NAME.ogg`` (the rest
    of MegaGlest's 400 MB of game data is removed); package -> version (versions.json)."""
    stamp = sources / "versions.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    sources.mkdir(parents=True, exist_ok=True)
    versions = apt_fetch([SPEECH_PACKAGE, NOISE_PACKAGE], sources / "root")
    (sources / "noise").mkdir(exist_ok=True)
    for name, (file, _) in NOISES.items():
        shutil.copyfile(sources / "root" / NOISE_DIR / file, sources / "noise" / f"{name}.ogg")
    shutil.rmtree(sources / "root" / Path(NOISE_DIR).parent)
    stamp.write_text(json.dumps(versions, indent=2))
    return versions


def usable_items(sources: Path, language: str) -> list[tuple[str, torch.Tensor]]:
    """(path inside the package, trimmed waveform) of one language's descriptions that pass the checks."""
    root = sources / "root"
    items, seen = [], set()
    for path in sorted((root / SPEECH_DIR).rglob(f"*_desc_{language}.ogg")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if path.relative_to(root / SPEECH_DIR).parts[0] in SKIPPED_DIRS or digest in seen:
            continue
        seen.add(digest)
        if not SAMPLE_RATE <= audio_rate(path) <= MAX_RATE:
            continue
        try:
            wav = load_audio(path, SAMPLE_RATE)
        except DataError:
            continue
        if float((wav.abs() > 0.98).float().mean()) > WORD_CLIPPED or floor_db(wav) < WORD_FLOOR_DB:
            continue
        ranges = trim(wav)
        if ranges is not None:
            items.append(("/" + str(path.relative_to(root)), wav[ranges[0] : ranges[1]]))
    return items


def clips_of(
    items: list[tuple[str, torch.Tensor]], rng: random.Random, count: int = CLIPS_PER_SPEAKER
) -> list[tuple[list[str], torch.Tensor]]:
    """``count`` clips of one speaker (fewer if the items run out): the third set's ``speaker_clips``, which
    stops at that set's own cap, called again on the items not used yet."""
    clips: list[tuple[list[str], torch.Tensor]] = []
    while len(clips) < count:
        new = speaker_clips(items, rng)
        if not new:
            break
        used = {name for names, _ in new for name in names}
        items = [item for item in items if item[0] not in used]
        clips += new
    return clips[:count]


def build(sources: Path, out: Path, seed: int) -> list[dict]:
    rng = random.Random(seed)
    mixer = TestMixer(sources, out, NOISES, rng)
    records = []
    for language in SPEAKERS:
        for index, (names, clean) in enumerate(clips_of(usable_items(sources, language), rng)):
            fields = {"speaker": f"tuxpaint_{language}", "source": names}
            records += mixer.mix(clean, f"tp_{language}_{index}", fields)
    return records


def main() -> None:
    opts = test_set_options(__doc__, "out/speech_fourth", "out/speech_real_words")
    versions = prepare(opts, fetch)
    if versions is None:
        return
    records = build(opts.sources, opts.out, opts.seed)
    speech = {
        "package": SPEECH_PACKAGE,
        "version": versions[SPEECH_PACKAGE],
        "files": f"/{SPEECH_DIR}/**/STAMP_desc_LANG.ogg, not under " + ", ".join(SKIPPED_DIRS),
        "speakers": {
            f"tuxpaint_{language}": {"language": name, "sex_by_f0": sex, "credited": who}
            for language, (name, sex, who) in SPEAKERS.items()
        },
        "licence": SPEECH_LICENCE,
    }
    info = common_manifest(records, opts.seed, speech, {}, versions)
    info["noise"] = recorded_noises(NOISES, NOISE_PACKAGE, versions[NOISE_PACKAGE], f"/{NOISE_DIR}/", NOISE_LICENCE)
    write_manifest(opts.out, info)


if __name__ == "__main__":
    main()
