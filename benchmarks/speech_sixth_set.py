"""A sixth real test set for speech enhancement, of a voice and noises no earlier set or training uses.

    cd benchmarks && python speech_sixth_set.py --out out/speech_sixth --train-from out/speech_real_words

A blind test built like the fourth and fifth sets (``speech_fourth_set.py``, ``speech_fifth_set.py``):
every voice and every noise recording comes from a Debian package that no other set and no training data
draws on (those are ``asterisk-core-sounds-*``, ``asterisk-prompt-*``, ``ktuberling-data``,
``klettres-data``, ``pocketsphinx-testdata``, ``ufoai-sound``, ``tuxpaint-stamps-default``,
``megaglest-data``, ``fillets-ng-data*``, ``0ad-data`` and ``gcompris-qt-data``). Both sources were chosen
by the fixed rules below, applied to the package lists and file lists before any recording was listened
to; the set was built before any model was evaluated on it, and its speakers, files, noises, SNRs and
mixing are not to be changed after results are seen. Writes ``OUT/test/{clean,noisy}/NAME.wav`` (16 kHz,
mono, 16-bit; ``OUT/train`` is a copy of ``--train-from``'s training pairs, so the folder is a complete
VoiceBank-layout root) and ``OUT/manifest.json`` (sources, versions, licences, the noise rule's whole
candidate list, and per clip its speaker, source files, noise, noise offset and SNR).

* speech: the rule: the packages that ``apt-cache search voice`` lists on Debian bookworm (main, the
  description search), in sorted order by name; the first one not excluded that holds at least two
  distinct human voices of recorded (not synthetic) speech, words or sentences, at 16 kHz or more, with at
  least 60 s of usable speech after the checks below; if none, the same with ``voices``, then ``speech``.
  The 52 packages of ``voice``, in order: ``asterisk-prompt-es-co`` and ``asterisk-prompt-fr-armelle``
  are excluded; ``ebook-speaker`` (a program, no recordings); the fifteen ``festvox-*`` voices (Festival
  speech synthesis: one speaker each, diphone, cluster-unit or HTS data, synthetic voices); ``freedv``
  (a program); then ``gcin-voice`` (0~20170223-3), the first to meet the rule: the spoken readings of the
  Mandarin syllables for the gcin input method, ``/usr/share/gcin-voice/ogg/SYLLABLE/VOICE.ogg``, 44.1 kHz
  mono, each syllable (a Zhuyin spelling with its tone, 1-5) read in isolation by two voices
  (:data:`SPEAKERS`): ``3.ogg`` (1200 files; debian/copyright: "2014 Edward Der-Hua Liu", GPL-3 or
  LGPL-3) and ``5.ogg`` (1158 files; debian/copyright: the voice actor Chu Lo (羅竺) of the ChionMeilin
  (徵音梅林) development committee's recording group, CC-BY-3.0). By median f0 (``speech_pitch.py``'s
  estimator on every fourth file: 142 and 291 Hz; ``speech_pitch.py`` on this set's clips: 348 Hz for voice
  5, its top tenth at the estimator's 400-Hz ceiling) voice 3 is a man's and voice 5 a woman's. (None of the
  later packages of ``voice`` holds recorded speech: programs, libraries, Tryton modules, and ringtones in
  ``jami-daemon``; ``svxlink-server`` ships an empty sound folder.) Mandarin is in no other set. Files
  below 16 kHz or above 48 kHz, that FFmpeg cannot decode, byte-identical copies, clipped or with audible
  background noise (:data:`speech_real_set.WORD_CLIPPED`, :data:`speech_real_set.WORD_FLOOR_DB`) or
  longer than 4 s once trimmed are skipped. Voice 3's files are cut tight to the syllable, with no pause
  in which the floor check could find the silence it looks for (their quietest 20-ms frames lie only
  about 11 dB below the loudest), so 1198 of its 1200 fail that check and its one usable syllable (0.6 s)
  cannot make a clip of 1 s: **the set holds voice 5 only**, 1093 of whose 1158 files pass (331 s of
  speech). The rule asks for two voices in the package, and the package holds them; that the checks leave
  one is a limit of this set, not a reason the rule gives to pass over the package. Each syllable is
  trimmed to its speech and one speaker's syllables, in a seeded random order, are joined into clips of
  1-4 s with :func:`speech_fourth_set.clips_of`, :data:`SET_CLIPS` (36, the fourth and fifth sets' size)
  shared equally by the voices that can make a clip: 36 clean clips of voice 5, 1.0-1.3 s
  (43.3 s of speech, 143 syllables), 72 noisy ones. (The first build took the fourth set's 9 clips per
  speaker, which with one voice left 9 clips and 18 mixtures; the set was enlarged to 36 clips before any
  model was evaluated on it, its first 9 clips the same, the mixing of all drawn again.)
* noise: the first package of :data:`NOISE_PACKAGES` that is not excluded, installs and holds at least
  four non-music, non-speech ambience recordings of at least 8 s. ``wesnoth-1.16-data`` (1:1.16.9-1)
  does not: its ambience folder ``data/core/sounds/ambient`` holds 8 files of which three last 8 s or
  more (``campfire``, ``ship``, ``wardrums``). ``supertuxkart-data`` (SuperTuxKart, 1.4+dfsg-2) does.
  Its ambience, by the game's own use: the sounds its tracks and library nodes place in their scenes as
  looping sound emitters (``<object type="sfx-emitter" sound="FILE">`` of ``tracks/*/scene.xml`` and
  ``library/*/node.xml``), as against the event effects of ``sfx/sfx.xml`` and the music. The
  candidates: every ``.ogg`` of ``/usr/share/games/supertuxkart/data`` outside ``music/`` whose file name
  is such a sound, sorted by path. Left out, by the rule: files shorter than
  :data:`speech_fifth_set.NOISE_MIN_SECONDS` once decoded, near-silent ones
  (:data:`speech_fifth_set.NOISE_SILENT_DBFS` dBFS after the 100-Hz high-pass; none), undecodable ones
  (none), byte-identical copies (two short cut-scene files), and those holding speech or music
  (:data:`NOISE_SPEECH_OR_MUSIC`, judged from their spectrograms and the copyright file's descriptions):
  ``sfx/gnu_flute`` (a flute tune),
  ``sfx/lenautile_restaurant`` (a restaurant's murmur of voices), ``sfx/sara_airport_pa`` (airport
  announcements) and ``tracks/introcutscene2/nolok_speech`` (a character's speech). ``sfx/static-radio``
  (shortwave static with beeps, tones and whistles) was looked at and kept: no voiced contours at
  syllable rate and no tune were seen. Of the n = 10 files left, those at positions
  round(i * (n - 1) / 3), i = 0..3 (0, 3, 6 and 9) are used (:data:`NOISES`): a steam locomotive, a
  river, a tractor beam (a science-fiction hum of steady tones, an effect rather than a field recording,
  which the rule does not leave out) and sheep bleating in a field. Two candidates share the file name
  ``steamLocomotive.ogg``; a noise is named by its file name, prefixed by its folder's name where two
  share one. High-passed at 100 Hz as in the other sets. The build applies the rule again and stops if
  it picks other files.
* mixing: as the second to fifth sets: clean set to -25 dBFS RMS, each clip mixed twice, with two
  different noises, at SNRs from {2.5, 7.5, 12.5, 17.5} dB, taking the (noise, SNR) pairs in a seeded
  random order.

Limits: one voice, isolated Mandarin syllables joined into clips of about a second (three to four
syllables), not running speech; that voice was recorded for a singing-synthesis voice bank, read at a
steady level; speakers told apart by the package's credits and f0, not by listening;
the "clean" references are these recordings as they are. Two of the noises are the game's own sound
design (the tractor beam, and the steam locomotive is clipped in places), not field recordings of
ambience, and the speech/music exclusions are judgements from spectrograms.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import torch
from speech_fifth_set import NOISE_PICKS, checked_line, noise_row, noise_rule
from speech_fourth_set import CLIPS_PER_SPEAKER, clips_of
from speech_real_set import MIN_SECONDS, SAMPLE_RATE, apt_fetch
from speech_second_set import TestMixer, common_manifest, prepare, recorded_noises, test_set_options, write_manifest

SET_CLIPS = 4 * CLIPS_PER_SPEAKER
"""Clean clips in the set, shared equally by the voices that can make one (the fourth and fifth sets' 36)."""
SPEECH_PACKAGE = "gcin-voice"
SPEECH_DIR = "usr/share/gcin-voice/ogg"
SPEAKERS = {
    "3": ("Edward Der-Hua Liu (copyright holder of */3.ogg)", "male", "GPL-3 or LGPL-3"),
    "5": ("Chu Lo (羅竺), ChionMeilin development committee's recording group", "female", "CC-BY-3.0"),
}
"""VOICE of ``SYLLABLE/VOICE.ogg`` -> (whom debian/copyright credits, sex judged by f0, licence)."""
SPEECH_RULE = {
    "searches": ["apt-cache search voice", "apt-cache search voices", "apt-cache search speech"],
    "examined_in_order": {
        "asterisk-prompt-es-co": "excluded (used by other sets)",
        "asterisk-prompt-fr-armelle": "excluded (used by other sets)",
        "ebook-speaker": "a program, no recordings",
        "festvox-*": "fifteen Festival synthesis voices, one speaker each",
        "freedv": "a program, no recordings",
        "gcin-voice": "two credited voices (3.ogg, 5.ogg), 44.1 kHz: chosen",
    },
}

NOISE_PACKAGES = (
    "wesnoth-1.16-data",
    "supertuxkart-data",
    "warzone2100-data",
    "hedgewars-data",
    "freedroidrpg-data",
    "pingus-data",
)
"""The noise packages in the rule's order; ``wesnoth-1.16-data`` has three ambience files of 8 s or more."""
NOISE_PACKAGE = NOISE_PACKAGES[1]
NOISE_DATA = "usr/share/games/supertuxkart/data"
NOISE_SCENES = ("tracks/*/scene.xml", "library/*/node.xml")
NOISE_SPEECH_OR_MUSIC = {
    "sfx/gnu_flute.ogg": "music: a flute tune",
    "sfx/lenautile_restaurant.ogg": "speech: a restaurant's murmur of voices",
    "sfx/sara_airport_pa.ogg": "speech: airport announcements",
    "tracks/introcutscene2/nolok_speech.ogg": "speech: a character's spoken lines",
}
"""Candidates left out as holding speech or music, with why."""
NOISES = {
    "stklib_steamLocomotive_a_steamLocomotive": (
        "library/stklib_steamLocomotive_a/steamLocomotive.ogg",
        "steam locomotive (a library node's emitter)",
        "GPL-3+",
    ),
    "river_loop": ("sfx/river_loop.ogg", "river loop (Adam Newns, freesound 166310)", "CC0"),
    "tractor_beam": ("sfx/tractor_beam.ogg", "sci-fi tractor beam (metamorphmuses, freesound 35201)", "CC-BY-3.0"),
    "sheep": ("tracks/scotland/sheep.ogg", "sheep bleating in a field (the Scotland track)", "GPL-3+"),
}
"""What the rule picks, checked when the set is built: NAME -> (file under NOISE_DATA, what it is, licence per
debian/copyright; ``Files: *`` gives GPL-3+ where no other stanza names the file)."""


def fetch(sources: Path) -> dict[str, str]:
    """The speech package under ``sources/root`` and the picked noises as ``sources/noise/NAME.ogg`` (the
    rule's table in ``sources/noise_rule.json``; the rest of SuperTuxKart's game data is removed);
    package -> version (versions.json)."""
    return fetch_picking_noises(sources, [SPEECH_PACKAGE, NOISE_PACKAGE], NOISE_DATA, pick_noises)


def fetch_picking_noises(
    sources: Path,
    packages: list[str],
    noise_data: str,
    pick: Callable[[Path, Path], dict],
    unused: tuple[str, ...] = ("usr/share/games",),
) -> dict[str, str]:
    """``apt_fetch`` of ``packages`` into ``sources/root`` once (``sources/versions.json`` marks it done);
    ``pick(sources/root/noise_data, sources)`` copies the noises and returns its rule's table, written to
    ``sources/noise_rule.json``; the ``unused`` folders of the unpacked packages are then removed."""
    stamp = sources / "versions.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    sources.mkdir(parents=True, exist_ok=True)
    versions = apt_fetch(packages, sources / "root")
    rule = pick(sources / "root" / noise_data, sources)
    (sources / "noise_rule.json").write_text(json.dumps(rule, indent=2))
    for folder in unused:
        shutil.rmtree(sources / "root" / folder, ignore_errors=True)
    stamp.write_text(json.dumps(versions, indent=2))
    return versions


def emitter_sounds(data: Path) -> set[str]:
    """The file names the package's scenes play through ``sfx-emitter`` objects."""
    names = set()
    for pattern in NOISE_SCENES:
        for scene in data.glob(pattern):
            for element in ET.parse(scene).iter("object"):
                if element.get("type") == "sfx-emitter" and element.get("sound"):
                    names.add(str(element.get("sound")))
    return names


def pick_noises(data: Path, sources: Path) -> dict:
    """Apply the noise rule under ``data`` (see :func:`pick_by_position`)."""
    sounds = emitter_sounds(data)
    files = sorted(p.relative_to(data) for p in data.rglob("*.ogg") if p.name in sounds)
    files = [file for file in files if file.parts[0] != "music"]
    return pick_by_position(data, files, sources, NOISES, NOISE_SPEECH_OR_MUSIC)


def pick_by_position(
    data: Path, files: list[Path], sources: Path, noises: dict, speech_or_music: dict[str, str]
) -> dict:
    """The fifth set's noise rule on ``files`` (sorted, relative to ``data``): every candidate with its measures
    and why it is left out, the positions taken, and the picks written as ``sources/noise/NAME.ogg``; stops if
    fewer than NOISE_PICKS are left or the picks are not ``noises`` (name -> (file, ...)). A noise is named by
    its file name, prefixed by its folder's name where two share one."""
    (sources / "noise").mkdir(exist_ok=True)
    stems = [file.stem for file in files]
    rows, seen = [], {}
    for file in files:
        name = file.stem if stems.count(file.stem) == 1 else f"{file.parent.name or data.name}_{file.stem}"
        data_bytes = (data / file).read_bytes()
        if str(file) in speech_or_music:
            seen.setdefault(hashlib.sha256(data_bytes).hexdigest(), f"{name}.ogg")
            row = {"excluded": speech_or_music[str(file)]}
        else:
            row = noise_row(f"{name}.ogg", data_bytes, seen, sources)
        rows.append({**row, "file": str(file), "name": name})
    kept = [row for row in rows if row["excluded"] is None]
    if len(kept) < NOISE_PICKS:
        raise SystemExit(f"{data}: {len(kept)} noise candidates; the rule takes the next package")
    positions = [round(i * (len(kept) - 1) / (NOISE_PICKS - 1)) for i in range(NOISE_PICKS)]
    picked = {kept[p]["name"]: kept[p]["file"] for p in positions}
    if picked != {name: file for name, (file, *_) in noises.items()}:
        raise SystemExit(f"the noise rule now picks {sorted(picked.values())}, not NOISES: review before building")
    for row in kept:
        if row["name"] not in picked:
            (sources / "noise" / f"{row['name']}.ogg").unlink()
    return {"n": len(kept), "positions": positions, "picked": list(picked.values()), "candidates": rows}


def usable_syllables(sources: Path, voice: str) -> tuple[list[tuple[str, torch.Tensor]], dict[str, int]]:
    """(path inside the package, trimmed waveform) of one voice's syllables that pass the checks (those
    longer than 4 s once trimmed are skipped by the joining), and how many files each check left out."""
    root = sources / "root"
    found, digests = [], set()
    counts = {"files": 0, "duplicate": 0}
    for path in sorted((root / SPEECH_DIR).glob(f"*/{voice}.ogg")):
        counts["files"] += 1
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        counts["duplicate"] += digest in digests
        if digest not in digests:
            digests.add(digest)
            wav, verdict = checked_line(path)
            counts[verdict] = counts.get(verdict, 0) + 1
            if wav is not None:
                found.append(("/" + str(path.relative_to(root)), wav))
    return found, counts


def build(sources: Path, out: Path, seed: int) -> tuple[list[dict], dict[str, dict[str, int]]]:
    rng = random.Random(seed)
    mixer = TestMixer(sources, out, NOISES, rng)
    records, counts = [], {}
    usable = {}
    for voice in SPEAKERS:
        usable[voice], counts[f"gcin_{voice}"] = usable_syllables(sources, voice)
    voices = [v for v, items in usable.items() if sum(w.numel() for _, w in items) >= MIN_SECONDS * SAMPLE_RATE]
    for voice in voices:
        for index, (names, clean) in enumerate(clips_of(usable[voice], rng, SET_CLIPS // len(voices))):
            fields = {"speaker": f"gcin_{voice}", "source": names}
            records += mixer.mix(clean, f"gc_{voice}_{index}", fields)
    return records, counts


def licensed_noises(noises: dict, package: str, version: str, data: str) -> dict:
    """The manifest's noise entries for NAME -> (file under ``data``, what it is, licence per file)."""
    table = {name: (file, what) for name, (file, what, _) in noises.items()}
    entries = recorded_noises(table, package, version, f"/{data}/", "")
    for name, (_, _, licence) in noises.items():
        entries[name]["licence"] = licence
    return entries


def main() -> None:
    opts = test_set_options(__doc__, "out/speech_sixth", "out/speech_real_words")
    versions = prepare(opts, fetch)
    if versions is None:
        return
    records, counts = build(opts.sources, opts.out, opts.seed)
    speech = {
        "package": SPEECH_PACKAGE,
        "version": versions[SPEECH_PACKAGE],
        "files": f"/{SPEECH_DIR}/SYLLABLE/VOICE.ogg",
        "rule": SPEECH_RULE,
        "clips": SET_CLIPS,
        "speakers": {
            f"gcin_{voice}": {
                "credited": who,
                "sex_by_f0": sex,
                "licence": licence,
                "file_counts": counts[f"gcin_{voice}"],
                "clips": sum(r["speaker"] == f"gcin_{voice}" for r in records) // 2,
            }
            for voice, (who, sex, licence) in SPEAKERS.items()
        },
    }
    info = common_manifest(records, opts.seed, speech, {}, versions)
    info["noise"] = licensed_noises(NOISES, NOISE_PACKAGE, versions[NOISE_PACKAGE], NOISE_DATA)
    candidates = f"/{NOISE_DATA}/**/*.ogg not under music/, named by an sfx-emitter of " + " or ".join(NOISE_SCENES)
    info["noise_rule"] = noise_rule(NOISE_PACKAGES, candidates, opts.sources)
    write_manifest(opts.out, info)
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
