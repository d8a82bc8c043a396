"""A fifth real test set for speech enhancement, of voices and noises no earlier set or training uses.

    cd benchmarks && python speech_fifth_set.py --out out/speech_fifth --train-from out/speech_real_words

A blind test built like the fourth set (``speech_fourth_set.py``): every voice and every noise recording
comes from a Debian package that no other set and no training data draws on (those are
``asterisk-core-sounds-*``, ``asterisk-prompt-*``, ``ktuberling-data``, ``klettres-data``,
``pocketsphinx-testdata``, ``ufoai-sound``, ``tuxpaint-stamps-default`` and ``megaglest-data``). Both
sources were chosen by the fixed rules below, written down before any noise was listened to or looked at
for its character; the set was built before any model was evaluated on it, and its speakers, files,
noises, SNRs and mixing are not to be changed after results are seen. Writes
``OUT/test/{clean,noisy}/NAME.wav`` (16 kHz, mono, 16-bit; ``OUT/train`` is a copy of ``--train-from``'s
training pairs, so the folder is a complete VoiceBank-layout root) and ``OUT/manifest.json`` (sources,
versions, licences, the noise rule's whole candidate list, and per clip its speaker, source files, noise,
noise offset and SNR).

* speech: the first choice, GCompris (``gcompris-qt-data`` 3.1-2), holds no voices: its 187 ``.rcc`` bundles
  carry instrument, animal, music and effect sounds only, the volunteers' voices being downloaded by the
  program at run time. The rule that replaced it: the Debian packages whose description contains the word
  "spoken" (``apt-cache search spoken`` on Debian bookworm: ``fillets-ng-data-cs``, ``fillets-ng-data-nl``,
  ``gtranscribe``, ``libnumericalchameleon-java``), of which the first two hold voice recordings: the Czech
  and the Dutch spoken dialogues of the puzzle game Fish Fillets NG (1.0.1-1.1, GPL-2 per debian/copyright,
  "version 2 dated June, 1991"), acted lines of one to a few sentences, at 22.05 kHz (a few at 44.1 kHz). Its
  two speaking characters give two voices per language, four in all (:data:`SPEAKERS`):
  ``sound/LEVEL/LANG/PREFIX-ROLE-ID.ogg`` (and ``sound/share/GROUP/LANG/...``, lines shared between levels)
  with ROLE ``m`` (the small fish, "malá ryba") or ``v`` (the big fish, "velká ryba"), the game's scripts
  playing every ``-m-`` file through the small fish and every ``-v-`` file through the big one. The package
  does not name the actors; by median f0 (``speech_pitch.py`` on this set: Czech small fish 262 Hz, big fish
  148 Hz, Dutch small fish 232 Hz, big fish 162 Hz) the small fish has a woman's voice and the big one a man's
  in both languages. Neither language is among the training clips (KTuberling's Dutch words are not drawn into
  ``speech_real_words``); the third set has a Czech and a Dutch KLettres volunteer of KDE, not these actors as
  far as anything tells. Every other line (other characters, effects) is left out, and so are byte-identical
  copies, files below 16 kHz or above 48 kHz, those FFmpeg cannot decode, with audible background noise or
  clipped (:data:`speech_real_set.WORD_FLOOR_DB`, :data:`speech_real_set.WORD_CLIPPED`), and lines longer than
  4 s once trimmed (the third set's joining skips them). Each line is trimmed to its speech and one speaker's
  lines, in a seeded random order, are joined into clips of 1-4 s as in the fourth set,
  :data:`speech_fourth_set.CLIPS_PER_SPEAKER` clips per speaker: 36 clean clips of 1.2-3.9 s, each one line
  (92 s of speech; 682, 643, 681 and 642 files, of which 467, 404, 668 and 641 pass the checks: most Czech
  ones fail the noise-floor check), 72 noisy ones.
* noise: the first package of :data:`NOISE_PACKAGES` that installs and holds at least four non-music,
  non-speech ambience recordings of at least 8 s: ``0ad-data`` (0 A.D., 0.0.26-1; CC-BY-SA-3.0 for every
  file per debian/copyright, ``Files: *``, and per the archive's ``audio/LICENSE.txt``). The candidates:
  every ``.ogg`` under ``audio/ambient/`` (its folders ``building``, ``dayscape``, ``water`` and
  ``weather``) of ``mods/public/public.zip``, 42 files, sorted by path. Left out, by the rule: files
  shorter than :data:`NOISE_MIN_SECONDS` once decoded (``windgust_11``, ``windleaves_10``,
  ``windleaves_11``), near-silent files (RMS below :data:`NOISE_SILENT_DBFS` dBFS after the 100-Hz
  high-pass: ``day_temperate_gen_01``, -65 dBFS), files FFmpeg cannot decode and byte-identical copies
  (none), and files holding speech or music (:data:`NOISE_SPEECH_OR_MUSIC`): the five market loops
  ``building/amb_trade_*``, whose spectrograms show overlapping voiced contours with 100-250 Hz
  fundamentals at syllable rate throughout, a crowd's murmur (Silero VAD, which is built to pass over
  background babble, marks under 1 s of any file as speech; spectrograms of all 38 files of 8 s or more
  were looked at for speech and music, and no other was judged to hold either). Of the n = 33 files left,
  those at positions round(i * (n - 1) / 3), i = 0..3 (0, 11, 21 and 32) are used (:data:`NOISES`):
  ``building/amb_farm_10``, ``dayscape/day_temperate_12``, ``water/river_slow_21`` and
  ``weather/windstorm_11``. High-passed at 100 Hz as in the other sets. The build applies the rule again
  and stops if it picks other files.
* mixing: as the second, third and fourth sets: clean set to -25 dBFS RMS, each clip mixed twice, with
  two different noises, at SNRs from {2.5, 7.5, 12.5, 17.5} dB, taking the (noise, SNR) pairs in a seeded
  random order.

Limits: acted game dialogue, two actors per language, with whatever processing the game's recordings
had; most Czech lines carry an audible noise floor and fail the check, so the Czech clips come from the
cleaner part; speakers told apart by the game's file names and f0, not by listening; the "clean"
references are these recordings as they are. The speech/music exclusion
of the market loops is a judgement from their spectrograms, not a measurement: without it the rule would
have picked ``amb_farm_10``, ``amb_trade_12``, ``river_raging_21`` and ``windstorm_11``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import random
import shutil
import zipfile
from pathlib import Path

import torch
from speech_fourth_set import clips_of
from speech_real_set import (
    SAMPLE_RATE,
    WORD_CLIPPED,
    WORD_FLOOR_DB,
    apt_fetch,
    audio_rate,
    floor_db,
    highpassed_noise,
    trim,
)
from speech_second_set import TestMixer, common_manifest, prepare, recorded_noises, test_set_options, write_manifest
from speech_third_set import MAX_RATE

from cgp.core.errors import DataError
from cgp.datasets.audio import load_audio

SPEECH_PACKAGES = ("fillets-ng-data-cs", "fillets-ng-data-nl")
SPEECH_DIR = "usr/share/games/fillets-ng/sound"
SPEECH_LICENCE = "GPL-2"
SPEAKERS = {
    "cs_m": ("Czech", "small fish", "female"),
    "cs_v": ("Czech", "big fish", "male"),
    "nl_m": ("Dutch", "small fish", "female"),
    "nl_v": ("Dutch", "big fish", "male"),
}
"""LANG_ROLE -> (language, the character whose lines ``sound/**/LANG/*-ROLE-*.ogg`` are, sex judged by f0)."""

NOISE_PACKAGES = ("0ad-data", "wesnoth-1.16-data", "supertuxkart-data", "warzone2100-data", "hedgewars-data")
"""The noise packages in the rule's order; the first, ``0ad-data``, installs and meets it."""
NOISE_PACKAGE = NOISE_PACKAGES[0]
NOISE_ARCHIVE = "usr/share/games/0ad/mods/public/public.zip"
NOISE_FOLDER = "audio/ambient/"
NOISE_MIN_SECONDS = 8.0
NOISE_SILENT_DBFS = -60.0
NOISE_PICKS = 4
NOISE_SPEECH_OR_MUSIC = {
    f"audio/ambient/building/amb_trade_{number}.ogg": "speech: a crowd's murmur (market loop)"
    for number in (10, 11, 12, 13, 20)
}
"""Candidates left out as holding speech or music, with why."""
NOISE_LICENCE = "CC-BY-SA-3.0"
NOISES = {
    "amb_farm_10": ("building/amb_farm_10.ogg", "farm ambience (0 A.D.'s building/amb_farm)"),
    "day_temperate_12": ("dayscape/day_temperate_12.ogg", "temperate daytime ambience (dayscape)"),
    "river_slow_21": ("water/river_slow_21.ogg", "slow river (water)"),
    "windstorm_11": ("weather/windstorm_11.ogg", "windstorm (weather)"),
}
"""What the rule picks, checked when the set is built: NAME -> (file under NOISE_FOLDER, what 0 A.D.'s folder
and file name call it; the package does not describe them further)."""


def fetch(sources: Path) -> dict[str, str]:
    """The speech packages under ``sources/root`` and the picked noises as ``sources/noise/NAME.ogg`` (the
    rule's table in ``sources/noise_rule.json``; the rest of 0 A.D.'s 3 GB of game data is removed);
    package -> version (versions.json)."""
    stamp = sources / "versions.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    sources.mkdir(parents=True, exist_ok=True)
    versions = apt_fetch([*SPEECH_PACKAGES, NOISE_PACKAGE], sources / "root")
    rule = pick_noises(sources / "root" / NOISE_ARCHIVE, sources)
    (sources / "noise_rule.json").write_text(json.dumps(rule, indent=2))
    shutil.rmtree(sources / "root" / Path(NOISE_ARCHIVE).parents[2])
    stamp.write_text(json.dumps(versions, indent=2))
    return versions


def pick_noises(archive: Path, sources: Path) -> dict:
    """Apply the noise rule to ``archive``: every candidate with its measures and why it is left out, the
    positions taken, and the picks written as ``sources/noise/NAME.ogg``."""
    (sources / "noise").mkdir(exist_ok=True)
    rows, seen = [], {}
    with zipfile.ZipFile(archive) as bundle:
        for name in sorted(n for n in bundle.namelist() if n.startswith(NOISE_FOLDER) and n.endswith(".ogg")):
            rows.append(noise_row(name, bundle.read(name), seen, sources))
    kept = [row for row in rows if row["excluded"] is None]
    if len(kept) < NOISE_PICKS:
        raise SystemExit(f"{NOISE_PACKAGE}: {len(kept)} candidates; the rule takes the next of {NOISE_PACKAGES}")
    positions = [round(i * (len(kept) - 1) / (NOISE_PICKS - 1)) for i in range(NOISE_PICKS)]
    picked = {Path(kept[p]["file"]).stem: kept[p]["file"] for p in positions}
    expected = {name: NOISE_FOLDER + file for name, (file, _) in NOISES.items()}
    if picked != expected:
        raise SystemExit(f"the noise rule now picks {sorted(picked.values())}, not NOISES: review before building")
    for row in kept:
        if Path(row["file"]).stem not in picked:
            (sources / "noise" / f"{Path(row['file']).stem}.ogg").unlink()
    return {"n": len(kept), "positions": positions, "picked": list(picked.values()), "candidates": rows}


def noise_row(name: str, data: bytes, seen: dict[str, str], sources: Path) -> dict:
    """One candidate of the noise rule: its length and level after the high-pass, and why it is left out
    (None: kept, its file left in ``sources/noise``)."""
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen:
        return {"file": name, "excluded": f"byte-identical to {seen[digest]}"}
    seen[digest] = name
    if name in NOISE_SPEECH_OR_MUSIC:
        return {"file": name, "excluded": NOISE_SPEECH_OR_MUSIC[name]}
    stem = Path(name).stem
    (sources / "noise" / f"{stem}.ogg").write_bytes(data)
    try:
        wav = highpassed_noise(sources, stem)
    except DataError:
        (sources / "noise" / f"{stem}.ogg").unlink()
        return {"file": name, "excluded": "undecodable"}
    seconds = wav.numel() / SAMPLE_RATE
    level = float(20 * torch.log10(wav.pow(2).mean().sqrt().clamp_min(1e-12)))
    excluded = None
    if seconds < NOISE_MIN_SECONDS:
        excluded = f"shorter than {NOISE_MIN_SECONDS} s"
    elif level < NOISE_SILENT_DBFS:
        excluded = f"near-silent (below {NOISE_SILENT_DBFS} dBFS)"
    if excluded is not None:
        (sources / "noise" / f"{stem}.ogg").unlink()
    return {"file": name, "seconds": round(seconds, 2), "rms_dbfs": round(level, 1), "excluded": excluded}


def voice_files(sources: Path, speaker: str) -> list[Path]:
    """The speaker's lines, ``sound/**/LANG/PREFIX-ROLE-ID.ogg``, sorted by path."""
    language, role = speaker.split("_")
    found = (sources / "root" / SPEECH_DIR).rglob(f"{language}/*-{role}-*.ogg")
    return sorted(path for path in found if path.stem.split("-")[1] == role)


def checked_line(path: Path) -> tuple[torch.Tensor | None, str]:
    """A line trimmed to its speech, or None and the check it fails."""
    if not SAMPLE_RATE <= audio_rate(path) <= MAX_RATE:
        return None, "rate"
    try:
        wav = load_audio(path, SAMPLE_RATE)
    except DataError:
        return None, "undecodable"
    if float((wav.abs() > 0.98).float().mean()) > WORD_CLIPPED:
        return None, "clipped"
    if floor_db(wav) < WORD_FLOOR_DB:
        return None, "noisy"
    ranges = trim(wav)
    if ranges is None:
        return None, "silent"
    return wav[ranges[0] : ranges[1]], "usable"


def usable_lines(sources: Path, speaker: str) -> tuple[list[tuple[str, torch.Tensor]], dict[str, int]]:
    """(path inside the package, trimmed waveform) of one speaker's lines that pass the checks, and how many
    files each check left out."""
    root = sources / "root"
    lines, digests, counts = [], set(), collections.Counter()
    for path in voice_files(sources, speaker):
        counts["files"] += 1
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in digests:
            counts["duplicate"] += 1
            continue
        digests.add(digest)
        wav, verdict = checked_line(path)
        counts[verdict] += 1
        if wav is not None:
            lines.append(("/" + str(path.relative_to(root)), wav))
    return lines, dict(counts)


def build(sources: Path, out: Path, seed: int) -> tuple[list[dict], dict[str, dict[str, int]]]:
    rng = random.Random(seed)
    mixer = TestMixer(sources, out, NOISES, rng)
    records, counts = [], {}
    for speaker in SPEAKERS:
        lines, counts[f"fillets_{speaker}"] = usable_lines(sources, speaker)
        for index, (names, clean) in enumerate(clips_of(lines, rng)):
            fields = {"speaker": f"fillets_{speaker}", "source": names}
            records += mixer.mix(clean, f"ff_{speaker}_{index}", fields)
    return records, counts


def noise_rule(packages: tuple[str, ...], candidates: str, sources: Path) -> dict:
    """The manifest's account of the noise rule: its fixed terms and what it found (``noise_rule.json``)."""
    return {
        "packages_in_order": list(packages),
        "candidate_files": f"{candidates}, sorted by path",
        "min_seconds": NOISE_MIN_SECONDS,
        "silent_below_dbfs": NOISE_SILENT_DBFS,
        "picks": f"positions round(i * (n - 1) / {NOISE_PICKS - 1}), i = 0..{NOISE_PICKS - 1}",
        **json.loads((sources / "noise_rule.json").read_text()),
    }


def main() -> None:
    opts = test_set_options(__doc__, "out/speech_fifth", "out/speech_real_words")
    versions = prepare(opts, fetch)
    if versions is None:
        return
    records, counts = build(opts.sources, opts.out, opts.seed)
    speech = {
        "packages": {package: versions[package] for package in SPEECH_PACKAGES},
        "files": f"/{SPEECH_DIR}/**/LANG/PREFIX-ROLE-ID.ogg, ROLE m (small fish) or v (big fish)",
        "speakers": {
            f"fillets_{speaker}": {
                "language": language,
                "character": character,
                "sex_by_f0": sex,
                "file_counts": counts[f"fillets_{speaker}"],
                "clips": sum(r["speaker"] == f"fillets_{speaker}" for r in records) // 2,
            }
            for speaker, (language, character, sex) in SPEAKERS.items()
        },
        "licence": SPEECH_LICENCE,
    }
    info = common_manifest(records, opts.seed, speech, {}, versions)
    place = f"/{NOISE_ARCHIVE}:{NOISE_FOLDER}"
    info["noise"] = recorded_noises(NOISES, NOISE_PACKAGE, versions[NOISE_PACKAGE], place, NOISE_LICENCE)
    info["noise_rule"] = noise_rule(NOISE_PACKAGES, f"/{NOISE_ARCHIVE}:{NOISE_FOLDER}**/*.ogg", opts.sources)
    write_manifest(opts.out, info)
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
