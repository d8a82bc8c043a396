"""A seventh real test set for speech enhancement, of voices and noises no earlier set or training uses.

    cd benchmarks && python speech_seventh_set.py --out out/speech_seventh --train-from out/speech_real_words

A blind test built like the fourth to sixth sets (``speech_fourth_set.py``, ``speech_fifth_set.py``,
``speech_sixth_set.py``): every voice and every noise recording comes from a Debian package that no other set
and no training data draws on (those are ``asterisk-core-sounds-*``, ``asterisk-prompt-*``,
``ktuberling-data``, ``klettres-data``, ``pocketsphinx-testdata``, ``ufoai-sound``,
``tuxpaint-stamps-default``, ``megaglest-data``, ``fillets-ng-data*``, ``0ad-data``, ``gcompris-qt-data``,
``gcin-voice`` and ``supertuxkart-data``). Both sources were chosen by the fixed rules below, applied to the
package's file table and file lists before any recording was listened to or looked at; the set was built
before any model was evaluated on it, and its speakers, files, noises, SNRs and mixing are not to be changed
after results are seen. Writes ``OUT/test/{clean,noisy}/NAME.wav`` (16 kHz, mono, 16-bit; ``OUT/train`` is
a copy of ``--train-from``'s training pairs, so the folder is a complete VoiceBank-layout root) and
``OUT/manifest.json`` (sources, versions, licences, the voice and noise rules' whole tables, and per clip its
speaker, source files, noise, noise offset and SNR).

* speech: the CD ("talkie") version of the adventure game Flight of the Amazon Queen (Debian package
  ``flight-of-the-amazon-queen``, 1.0.0-9; debian/copyright: "1995, John Passfield and Steven Stamatiadis",
  the Flight-of-the-Amazon-Queen-License: "You may distribute this game for free on any medium, provided this
  readme and all associated copyright notices and disclaimers are left intact", "You may modify the game as
  you wish", "All game content is (C) John Passfield and Steven Stamatiadis"). Everything lies in the
  archive ``queen.1c``, read by :func:`queen_table` as ScummVM's ``engines/queen/resource.cpp`` reads a
  rebuilt archive: ``QTBL``, a 6-byte version (``CEM10``: CD, English), 2 bytes, a compression byte (1:
  MP3), a big-endian 16-bit entry count and per entry a 12-byte name, a bundle byte and big-endian 32-bit
  offset and size (7,671 entries). The ``*.SB`` entries (6,745) are the speech, each an MP3 (16 kbit/s,
  mono, 11,025 Hz). Who speaks a file, from its name as ScummVM's ``engines/queen/talk.cpp`` and
  ``logic.cpp`` build it: a conversation's lines are ``KKHHHHRS.SB``, KK the talk key of its dialogue file
  (``NAME.DOG``, the key a 16-bit word after the file's 20-byte header and two words), HHHH the dialogue node
  in hex, S the segment, and R ``J`` for Joe King (the hero) or ``P`` for the person talked to; Joe's
  descriptions are ``JOE*.SB``. The person of a ``P`` line is taken to be the one its dialogue file is named
  for, the file name without its trailing number (``SPARKY3.DOG`` -> ``SPARKY``; one key per file, checked);
  cut-scene lines (``C*.SB``, 2,036) and the few other names do not say who speaks and are left out. The
  rule: the four characters with the most files, each one voice (:data:`SPEAKERS`): ``JOE`` (1,366 ``J``
  and 564 ``JOE`` files), ``BOB`` (217), ``SPARKY`` (197) and ``TAM`` (158; then ``JIM`` 151). One actor
  may voice several characters; the package credits no voice actors and this is not checked. Median f0
  (``speech_pitch.py`` on this set): Joe 145 Hz, Bob 139 Hz (men's voices), Sparky 198 Hz and Tam 182 Hz
  (between the usual ranges: not judged, see :data:`SPEAKERS`). Each file is decoded at
  16 kHz; files FFmpeg cannot decode, byte-identical copies, clipped or with audible background noise
  (:func:`speech_fifth_set.checked_line`: :data:`speech_real_set.WORD_CLIPPED`,
  :data:`speech_real_set.WORD_FLOOR_DB`; its rate check passes trivially, the lines being checked from
  their 16-kHz decoding, and the 11-kHz source is a stated limit instead) or longer than 4 s once trimmed
  are skipped. Each line is trimmed to its speech and one voice's lines, in a seeded random order, are
  joined into clips of 1-4 s with :func:`speech_fourth_set.clips_of`,
  :data:`speech_fourth_set.CLIPS_PER_SPEAKER` (9) clips per voice: 36 clean clips, 72 noisy ones (the
  counts per check are in the manifest): 1930, 217, 197 and 158 files, of which 1724, 172, 177 and 157
  pass (most others fail the noise-floor check); 36 clips of 1.1-3.7 s, 86.5 s of speech from 41 lines.
* noise: the first package of :data:`NOISE_PACKAGES` that is not excluded, installs and holds at least four
  non-music, non-speech ambience recordings of at least 8 s. ``warzone2100-data`` (4.3.3-3) does not: the
  ``audio/`` of its ``base.wz`` holds spoken messages and event effects, none outside the speech folders
  of 8 s or more (the longest, ``sfx/vehicle/tland``, 6 s); nor does ``hedgewars-data`` (1.0.2-6; of
  ``Data/Sounds`` only ``hogchant3``, a chant, and ``ride_of_the_valkyries``, music, last 8 s or more),
  ``freedroidrpg-data`` (no effect of 8 s or more outside ``music/``) or ``pingus-data`` (11 short effects
  and music). ``redeclipse-data`` (Red Eclipse, 1.6.0-1) does. The candidates: every ``.ogg`` under its
  ambience folder ``data/sounds/ambience`` (with its ``morph`` subfolder), 80 files, sorted by path. Left
  out, by the rule: files shorter than :data:`speech_fifth_set.NOISE_MIN_SECONDS` once decoded (55),
  near-silent ones (below :data:`speech_fifth_set.NOISE_SILENT_DBFS` dBFS after the 100-Hz high-pass: none),
  undecodable ones (none) and byte-identical copies (``jumppad1``, ``waterfall1``). None of the 23 left was
  judged to hold speech or music (:data:`NOISE_SPEECH_OR_MUSIC` is empty): their spectrograms show winds,
  rain, water, lava rumbles, a storm, insects, birdsong in forests and distant traffic; ``alienwind`` and
  ``dizzywind`` carry steady tones (sound design, not a tune). Of the n = 23, those at positions
  round(i * (n - 1) / 3), i = 0..3 (0, 7, 15 and 22) are used (:data:`NOISES`): an alien wind with steady
  tones, a forest (birdsong), a storm wind and a wind. Three of the four are winds; the rule gives that and
  it is kept. A noise is named by its file name, prefixed by its folder's name (``ambience`` or ``morph``)
  where two share one. High-passed at 100 Hz as in the other sets. The build applies the rule again and
  stops if it picks other files.
* mixing: as the second to sixth sets: clean set to -25 dBFS RMS, each clip mixed twice, with two different
  noises, at SNRs from {2.5, 7.5, 12.5, 17.5} dB, taking the (noise, SNR) pairs in a seeded random order.

Limits: the source is 11,025 Hz (nothing above 5.5 kHz; the MP3 coding leaves little above about 4 kHz) and
16 kbit/s MP3, so the clean references are band-limited and carry coding artefacts; acted game dialogue of
1995 with whatever processing it had; four characters, possibly fewer actors, told apart by the game's file
names and f0, not by listening; the speaker of a ``P`` line is inferred from its dialogue file's name; the
"clean" references are these recordings as they are. Three of the four noises are winds, and two of them
game sound design rather than field recordings; the speech/music judgement is from spectrograms.
"""

from __future__ import annotations

import collections
import hashlib
import json
import random
import re
import struct
from pathlib import Path

import torch
from speech_fifth_set import checked_line, noise_rule
from speech_fourth_set import CLIPS_PER_SPEAKER, clips_of
from speech_real_set import SAMPLE_RATE
from speech_second_set import TestMixer, common_manifest, prepare, test_set_options, write_manifest
from speech_sixth_set import fetch_picking_noises, licensed_noises, pick_by_position

from cgp.core.errors import DataError
from cgp.datasets.audio import load_audio, save_audio

SPEECH_PACKAGE = "flight-of-the-amazon-queen"
SPEECH_ARCHIVE = "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
SPEECH_LICENCE = "Flight-of-the-Amazon-Queen-License (debian/copyright), (C) John Passfield and Steven Stamatiadis"
DOG_HEADER = 20
"""Bytes before a dialogue file's data (ScummVM's ``Talk::DOG_HEADER_SIZE``); its talk key is the third word."""
DIALOGUE_LINE = re.compile(r"(\d\d)[0-9A-FSX]{4}([JP])[0-9A-F]")
"""A conversation's line: talk key, node (or SSSS/XXXX), J (Joe) or P (the person), segment."""
VOICES = 4
SPEAKERS = {
    "JOE": ("Joe King, the hero (J lines and JOE descriptions)", "male (145 Hz)"),
    "BOB": ("Bob (BOB1-5.DOG)", "male (139 Hz)"),
    "SPARKY": ("Sparky (SPARKY1-8.DOG)", "not judged (198 Hz)"),
    "TAM": ("Tam (TAM1-4.DOG)", "not judged (182 Hz)"),
}
"""What the voice rule picks, checked when the set is built: character -> (whose lines, sex judged by f0)."""

NOISE_PACKAGES = (
    "warzone2100-data",
    "hedgewars-data",
    "freedroidrpg-data",
    "pingus-data",
    "redeclipse-data",
)
"""The noise packages in the rule's order (after those used or failed before); the first four fail it."""
NOISE_PACKAGE = NOISE_PACKAGES[4]
NOISE_DATA = "usr/share/games/redeclipse/data/sounds/ambience"
NOISE_SPEECH_OR_MUSIC: dict[str, str] = {}
"""Candidates left out as holding speech or music, with why (none judged to)."""
NOISES = {
    "alienwind": ("alienwind.ogg", "alien wind with steady tones (sound design)", "CC-BY-SA-3.0"),
    "forest3": ("forest3.ogg", "forest, birdsong (dobroide, freesound)", "CC-BY-3.0"),
    "stormwind": ("morph/stormwind.ogg", "storm wind (Slawek Blauciak)", "CC-BY-3.0"),
    "wind": ("wind.ogg", "wind (Batuhan Bozkurt, freesound 17735)", "CC-BY-SA-3.0"),
}
"""What the rule picks, checked when the set is built: NAME -> (file under NOISE_DATA, what it is, licence per
debian/copyright)."""


def queen_table(archive: bytes) -> dict[str, tuple[int, int]]:
    """The rebuilt archive's file table: name -> (offset, size); stops on anything but a CD MP3 archive."""
    if archive[:4] != b"QTBL" or archive[12] != 1:
        raise SystemExit("queen.1c is not a rebuilt archive with MP3 speech")
    (count,) = struct.unpack(">H", archive[13:15])
    table = {}
    for index in range(count):
        entry = archive[15 + 21 * index : 36 + 21 * index]
        table[entry[:12].split(b"\0")[0].decode("latin-1")] = struct.unpack(">II", entry[13:21])
    return table


def speakers_of(archive: bytes, table: dict[str, tuple[int, int]]) -> dict[str, str]:
    """Speech file -> character, for the files whose name says who speaks."""
    persons = {}
    for name, (offset, _) in table.items():
        if name.endswith(".DOG"):
            (key,) = struct.unpack(">h", archive[offset + DOG_HEADER + 4 : offset + DOG_HEADER + 6])
            if key in persons:
                raise SystemExit(f"two dialogue files share talk key {key}")
            persons[key] = re.sub(r"\d*\.DOG$", "", name)
    found = {}
    for name in table:
        match = DIALOGUE_LINE.fullmatch(name.removesuffix(".SB")) if name.endswith(".SB") else None
        if name.startswith("JOE") and name.endswith(".SB") or match and match[2] == "J":
            found[name] = "JOE"
        elif match and int(match[1]) in persons:
            found[name] = persons[int(match[1])]
    return found


def fetch(sources: Path) -> dict[str, str]:
    """The speech package under ``sources/root`` (the voice rule's table in ``sources/voice_rule.json``) and
    the picked noises as ``sources/noise/NAME.ogg`` (the noise rule's table in ``sources/noise_rule.json``;
    the rest of Red Eclipse's game data is removed); package -> version (versions.json)."""
    packages = [SPEECH_PACKAGE, NOISE_PACKAGE]
    return fetch_picking_noises(sources, packages, NOISE_DATA, pick_noises, ("usr/share/games", "usr/lib"))


def pick_voices(archive: bytes) -> tuple[dict[str, list[tuple[str, bytes]]], dict[str, int]]:
    """Apply the voice rule: the picked characters' speech files (sorted by name, with their bytes), and
    every character's file count."""
    table = queen_table(archive)
    speaker = speakers_of(archive, table)
    counts = collections.Counter(speaker.values())
    picked = [name for name, _ in counts.most_common(VOICES)]
    if sorted(picked) != sorted(SPEAKERS):
        raise SystemExit(f"the voice rule now picks {picked}, not SPEAKERS: review before building")
    files: dict[str, list[tuple[str, bytes]]] = {voice: [] for voice in SPEAKERS}
    for name in sorted(speaker):
        if speaker[name] in files:
            offset, size = table[name]
            files[speaker[name]].append((name, archive[offset : offset + size]))
    return files, dict(counts.most_common())


def pick_noises(data: Path, sources: Path) -> dict:
    """Apply the noise rule under ``data`` (:func:`speech_sixth_set.pick_by_position`)."""
    files = sorted(p.relative_to(data) for p in data.rglob("*.ogg"))
    return pick_by_position(data, files, sources, NOISES, NOISE_SPEECH_OR_MUSIC)


def usable_lines(
    sources: Path, voice: str, files: list[tuple[str, bytes]]
) -> tuple[list[tuple[str, torch.Tensor]], dict[str, int]]:
    """(``queen.1c:NAME``, trimmed waveform) of one voice's lines that pass the checks (those longer than 4 s
    once trimmed are skipped by the joining), and how many files each check left out. Each MP3 is decoded
    at 16 kHz into ``sources/speech/VOICE/NAME.wav``, which the fifth set's checks read."""
    folder = sources / "speech" / voice
    folder.mkdir(parents=True, exist_ok=True)
    lines, digests, counts = [], set(), collections.Counter()
    for name, data in files:
        counts["files"] += 1
        digest = hashlib.sha256(data).hexdigest()
        if digest in digests:
            counts["duplicate"] += 1
            continue
        digests.add(digest)
        coded = folder / f"{Path(name).stem}.mp3"
        coded.write_bytes(data)
        try:
            wav = load_audio(coded, SAMPLE_RATE)
        except DataError:
            counts["undecodable"] += 1
            continue
        finally:
            coded.unlink()
        save_audio(folder / f"{Path(name).stem}.wav", wav, SAMPLE_RATE)
        line, verdict = checked_line(folder / f"{Path(name).stem}.wav")
        counts[verdict] += 1
        if line is not None:
            lines.append((f"/{SPEECH_ARCHIVE}:{name}", line))
    return lines, dict(counts)


def build(sources: Path, out: Path, seed: int) -> tuple[list[dict], dict[str, dict[str, int]], dict[str, int]]:
    rng = random.Random(seed)
    mixer = TestMixer(sources, out, NOISES, rng)
    files, characters = pick_voices((sources / "root" / SPEECH_ARCHIVE).read_bytes())
    records, counts = [], {}
    for voice in SPEAKERS:
        lines, counts[f"fotaq_{voice}"] = usable_lines(sources, voice, files[voice])
        for index, (names, clean) in enumerate(clips_of(lines, rng, CLIPS_PER_SPEAKER)):
            fields = {"speaker": f"fotaq_{voice}", "source": names}
            records += mixer.mix(clean, f"fq_{voice.lower()}_{index}", fields)
    return records, counts, characters


def main() -> None:
    opts = test_set_options(__doc__, "out/speech_seventh", "out/speech_real_words")
    versions = prepare(opts, fetch)
    if versions is None:
        return
    records, counts, characters = build(opts.sources, opts.out, opts.seed)
    speech = {
        "package": SPEECH_PACKAGE,
        "version": versions[SPEECH_PACKAGE],
        "files": f"/{SPEECH_ARCHIVE}:NAME.SB (MP3, 16 kbit/s, mono, 11025 Hz)",
        "rule": {
            "voices": f"the {VOICES} characters with the most speech files whose names say who speaks",
            "files_per_character": characters,
        },
        "speakers": {
            f"fotaq_{voice}": {
                "character": who,
                "sex_by_f0": sex,
                "file_counts": counts[f"fotaq_{voice}"],
                "clips": sum(r["speaker"] == f"fotaq_{voice}" for r in records) // 2,
            }
            for voice, (who, sex) in SPEAKERS.items()
        },
        "licence": SPEECH_LICENCE,
    }
    info = common_manifest(records, opts.seed, speech, {}, versions)
    info["noise"] = licensed_noises(NOISES, NOISE_PACKAGE, versions[NOISE_PACKAGE], NOISE_DATA)
    info["noise_rule"] = noise_rule(NOISE_PACKAGES, f"/{NOISE_DATA}/**/*.ogg", opts.sources)
    write_manifest(opts.out, info)
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
