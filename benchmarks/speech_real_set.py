"""Real recorded speech in real recorded noise, in the VoiceBank+DEMAND layout, from Debian packages.

    cd benchmarks && python speech_real_set.py --out out/speech_real

Writes ``OUT/{train,test}/{clean,noisy}/NAME.wav`` (16 kHz, mono, 16-bit), ``OUT/manifest.json``
(sources, versions, licences, speakers, noises, SNRs, seeds, and per clip its source file, segment,
noise, noise offset and SNR), and the training noises themselves, high-passed as mixed, as
``OUT/noise/train/NAME.wav`` (for training with on-the-fly mixing: ``data.clean_root=OUT/train/clean
data.noise_root=OUT/noise/train data.test_root=OUT``; the test noises are not written).
Steps, each skipped when its output exists:

1. fetch (into ``--sources``): ``apt-get download`` + ``dpkg -x`` of

   * speech: Asterisk's core voice prompts in G.722 (16 kHz wide band, 64 kbit/s, 50-7000 Hz), Debian
     source package ``asterisk-core-sounds``: studio recordings by professional voice artists, one
     speaker per package, about 25 minutes each. ``-en-g722``: Allison Smith (en-US, female,
     CC-BY-SA-3.0); ``-fr-g722``: June Wallack (fr-CA, female, CC-BY-SA-3.0); ``-it-g722``: Carlo
     Flora (it-IT, male, CC-BY-3.0); ``-ru-g722``: the IvrvoiceRU voice provided by Maxim Topal (ru-RU,
     female, CC-BY-3.0). (``-es-g722`` is Allison Smith again, so it is not used.)
   * noise: the ambience loops of the game UFO: Alien Invasion (``ufoai-sound``, file
     ``base/0snd.pk3``): recordings of a city, a night, wind, a fountain, water, fire, a pump and wind-blown
     sand (CC-BY-SA-3.0, CC-BY-3.0 or GPL-2+ per file, as listed in :data:`NOISES`). The package does not
     say how each was made; they sound like field recordings, but that was not checked file by file.

2. cut: every prompt is decoded at 16 kHz (``cgp.datasets.audio.load_audio``, which reads G.722 through
   PyAV), trimmed to its speech (20-ms frames within 40 dB of the loudest one, 50 ms kept either side)
   and, when longer than 4 s, split at its longest pause (recursively); pieces of 1-4 s are kept.
   Prompts are visited in a seeded random order until each speaker's quota is met.

3. mix: the split is **by speaker**: training clips come from Allison (en), June (fr) and Carlo (it),
   test clips from the Russian speaker, heard nowhere in training. The noises are split too: the test
   set uses noise recordings that no training clip was mixed with (as VoiceBank+DEMAND does,
   Valentini-Botinhao et al. 2016, "Investigating RNN-based speech enhancement methods for noise-robust
   text-to-speech", SSW 9). Each clean clip is set to -25 dBFS RMS; a random segment of a noise of its
   split (tiled when shorter than the clip), high-passed at 100 Hz so that rumble below the speech band
   does not count towards the SNR (several loops hold most of their energy below 100 Hz), is added at
   an SNR from VoiceBank+DEMAND's sets: {0, 5, 10, 15} dB for training, {2.5, 7.5, 12.5, 17.5} dB for
   testing. Every (noise, SNR) pair of a split is used equally often (up to one), in a seeded random
   order. SNR = 10 log10(P_clean / P_noise) over the whole clip (clips are trimmed to speech, so this
   is close to an active-speech-level SNR). Where the mixture would exceed 0.99, clean and noisy are
   scaled down together.

Note: the "clean" references are G.722-coded; they hold nothing above 7 kHz.

``--words N`` adds N more training pairs of full-band speech from other microphones and rooms: the
spoken words of KDE's game KTuberling (Debian package ``ktuberling-data``, GPL-2+), one volunteer per
language, recorded at 22.05-48 kHz on their own equipment. Files below 16 kHz, files whose quietest
tenth of 20-ms frames is less than :data:`WORD_FLOOR_DB` below their loudest frame (audible background
noise in the "clean" speech; a file trimmed tight to its word fails this too and is left out) and
files with more than :data:`WORD_CLIPPED` of their samples at full scale are skipped, and so is the
Russian folder (the test speaker's language). Each word is trimmed to its speech like the prompts,
and words of one speaker, in a seeded random order, are joined until a clip holds at least
:data:`MIN_SECONDS` (at most :data:`MAX_SECONDS`). They are mixed with the training noises as above,
with a random generator of their own, so the Asterisk pairs and the whole test split are the same
with and without ``--words``.

``--more-noises N`` adds N more training pairs: training clips (prompts and words alike, each at most
once until all have been used) mixed again, at the training SNRs, with 18 other ambience loops of
``ufoai-sound`` that no set tests with (:data:`EXTRA_NOISES`, and the rule that chose them). Six
recordings are few kinds of noise to learn from; these add engines, ventilation, hum, water, sparks and
footsteps. Their own random generator again keeps every other pair, and the test split, byte-identical.

``--more-prompts N`` adds N more training pairs of the three training speakers (N/3 each), cut as above
from prompts that no other training pair was cut from, visited in an order of their own random
generator: more of the same voices and recording chain, and every other pair and the test split the same.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torchaudio.functional as AF

from cgp.datasets.audio import load_audio, save_audio
from cgp.datasets.procedural_speech import mix_at_snr

SAMPLE_RATE = 16_000

SPEAKERS = {
    "en_US_f_Allison": ("asterisk-core-sounds-en-g722", "train", "Allison Smith, en-US, female", "CC-BY-SA-3.0"),
    "fr_CA_f_June": ("asterisk-core-sounds-fr-g722", "train", "June Wallack, fr-CA, female", "CC-BY-SA-3.0"),
    "it_IT_m_Carlo": ("asterisk-core-sounds-it-g722", "train", "Carlo Flora, it-IT, male", "CC-BY-3.0"),
    "ru_RU_f_IvrvoiceRU": ("asterisk-core-sounds-ru-g722", "test", "IvrvoiceRU voice, ru-RU, female", "CC-BY-3.0"),
}
"""Folder under /usr/share/asterisk/sounds/ -> (Debian package, split, who, licence from debian/copyright)."""

NOISES = {
    "city_abnd_ufoai_atm": ("train", "abandoned-city ambience", "GPL-2+"),
    "arcticwind": ("train", "wind", "CC-BY-SA-3.0"),
    "waterfontain": ("train", "fountain", "CC-BY-SA-3.0"),
    "water01": ("train", "running water", "CC-BY-SA-3.0"),
    "fire1": ("train", "fire", "GPL-2"),
    "minepump03": ("train", "pump machinery", "CC-BY-3.0"),
    "ufo_night_atm": ("test", "night ambience", "GPL-2+"),
    "sand-city": ("test", "wind-blown sand", "CC-BY-SA-3.0"),
    "fire03": ("test", "fire (another recording than fire1)", "CC-BY-SA-3.0"),
}
"""``base/sound/ambience/NAME.ogg`` of ufoai-sound -> (split, what it is, licence from debian/copyright)."""
EXTRA_NOISES = {
    **{
        name: ("train", what, "CC-BY-SA-3.0")
        for name, what in (
            ("alien-device", "humming device"),
            ("alien-generator", "generator"),
            ("alien-ventilation", "ventilation"),
            ("alien_engine", "engine"),
            ("alienatmo", "machine-room atmosphere"),
            ("alienbase-bubbles", "bubbling liquid"),
            ("alienenergy1", "electric crackle"),
            ("alienwormhole", "swirling drone"),
            ("engine_alien_big", "large engine"),
            ("engine_alien_medium", "medium engine"),
            ("engine_alien_small", "small engine"),
            ("water02", "water (another recording than water01)"),
            ("water03", "water (a third recording)"),
        )
    },
    "sparks": ("train", "electric sparks", "GPL-2"),
    "water": ("train", "water (a fourth recording)", "GPL-2"),
    "hum": ("train", "electric hum", "GPL-2+"),
    "hum2": ("train", "electric hum (another recording)", "GPL-2+"),
    "bloodspiderwalk": ("train", "creature footsteps", "CC-BY-3.0"),
}
"""``--more-noises``: training-only ambience loops of the same package. The rule, fixed before any model
trained on them: every ambience file of the package except those whose name shares a word with a noise
of any test set (fire, thunder, droning, tv, machine, cricket, steam, wind, light, night, sand), music
(disco, jingle) and voices (radiomessage, aliencom, tv_newswav), and the sub-second cuts (creak,
sparks_short). What each is was judged from its name; the package does not describe them."""
NOISE_PACKAGE = "ufoai-sound"

WORDS_PACKAGE = "ktuberling-data"
WORDS_FOLDER = "usr/share/ktuberling/sounds"
WORDS_EXCLUDED = ("ru",)  # the test speaker's language
WORD_FLOOR_DB = 30.0
WORD_CLIPPED = 5e-4
WORD_SEED_OFFSET = 1000
NOISE_PAIRS_SEED_OFFSET = 2000
PROMPTS_SEED_OFFSET = 3000

SNR_DB = {"train": (0.0, 5.0, 10.0, 15.0), "test": (2.5, 7.5, 12.5, 17.5)}
"""VoiceBank+DEMAND's SNR sets (Valentini-Botinhao et al. 2016)."""
CLEAN_RMS_DBFS = -25.0  # a common speech level that leaves headroom for the noise
NOISE_HIGHPASS_HZ = 100.0
MIN_SECONDS, MAX_SECONDS = 1.0, 4.0
FRAME_S = 0.02
ACTIVE_DB = 40.0  # frames within this many dB of the loudest frame count as speech
MARGIN_S = 0.05
MIN_PAUSE_S = 0.1  # a split point must be a pause at least this long


def apt_fetch(packages: list[str], dest: Path) -> dict[str, str]:
    """``apt-get download`` + ``dpkg -x`` each package into ``dest``; returns package -> version."""
    versions = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for package in packages:
            done = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"apt-get download {package} failed ({done.stderr.strip()}); run apt-get update first")
            deb = next(tmp.glob(f"{package}_*.deb"))
            versions[package] = deb.name.split("_")[1].replace("%3a", ":")
            subprocess.run(["dpkg", "-x", str(deb), str(dest)], check=True)
            deb.unlink()
    return versions


def fetch(sources: Path, words: bool = False, more_noises: bool = False) -> dict[str, str]:
    """The speech prompts and noise loops (and the words, and the extra training noises) under ``sources``;
    package -> version (versions.json)."""
    stamp = sources / "versions.json"
    if stamp.exists():
        versions = json.loads(stamp.read_text())
        if words and WORDS_PACKAGE not in versions:
            versions.update(apt_fetch([WORDS_PACKAGE], sources / "root"))
            stamp.write_text(json.dumps(versions, indent=2))
        if more_noises and not all((sources / "noise" / f"{name}.ogg").exists() for name in EXTRA_NOISES):
            with tempfile.TemporaryDirectory() as tmp:
                again = apt_fetch([NOISE_PACKAGE], Path(tmp))
                if again[NOISE_PACKAGE] != versions[NOISE_PACKAGE]:
                    raise SystemExit(
                        f"{NOISE_PACKAGE} is now {again[NOISE_PACKAGE]}, the cache holds {versions[NOISE_PACKAGE]}: "
                        "build into a new --sources folder"
                    )
                extract_noises(Path(tmp), sources, EXTRA_NOISES)
        return versions
    sources.mkdir(parents=True, exist_ok=True)
    packages = sorted({package for package, *_ in SPEAKERS.values()}) + [NOISE_PACKAGE]
    versions = apt_fetch(packages, sources / "root")
    extract_noises(sources / "root", sources, {**NOISES, **(EXTRA_NOISES if more_noises else {})})
    if words:
        versions.update(apt_fetch([WORDS_PACKAGE], sources / "root"))
    stamp.write_text(json.dumps(versions, indent=2))
    return versions


def extract_noises(root: Path, sources: Path, names: dict) -> None:
    """Copy the named ambience loops out of the extracted ``ufoai-sound`` under ``root`` into
    ``sources/noise``; the archive (18 MB of weapon and UI sounds not needed) is removed."""
    pk3 = root / "usr/share/games/ufoai/base/0snd.pk3"
    (sources / "noise").mkdir(exist_ok=True)
    with zipfile.ZipFile(pk3) as archive:
        for name in names:
            (sources / "noise" / f"{name}.ogg").write_bytes(archive.read(f"sound/ambience/{name}.ogg"))
    pk3.unlink()


def speech_frames(wav: torch.Tensor) -> torch.Tensor:
    """True for each 20-ms frame within ACTIVE_DB of the clip's loudest frame."""
    frame = int(FRAME_S * SAMPLE_RATE)
    n = wav.numel() // frame
    energy = wav[: n * frame].reshape(n, frame).pow(2).mean(1)
    level = 10 * torch.log10(energy.clamp_min(1e-12))
    return level > level.max() - ACTIVE_DB


def cut(wav: torch.Tensor) -> list[tuple[int, int]]:
    """Sample ranges of 1-4 s speech pieces: trimmed to speech, split at the longest pause while too long."""
    ranges = trim(wav)
    if ranges is None:
        return []
    return _split(speech_frames(wav), int(FRAME_S * SAMPLE_RATE), *ranges)


def _split(active: torch.Tensor, frame: int, start: int, end: int) -> list[tuple[int, int]]:
    length = (end - start) / SAMPLE_RATE
    if length < MIN_SECONDS:
        return []
    if length <= MAX_SECONDS:
        return [(start, end)]
    pause = _longest_pause(active, frame, start, end)
    if pause is None:
        return []
    return _split(active, frame, start, pause) + _split(active, frame, pause, end)


def _longest_pause(active: torch.Tensor, frame: int, start: int, end: int) -> int | None:
    """Centre (in samples) of the longest pause of at least MIN_PAUSE_S leaving MIN_SECONDS on both sides."""
    shortest = int(MIN_SECONDS * SAMPLE_RATE)
    best, best_frames, run_start = None, 0, None
    first, last = start // frame, min(end // frame, active.numel())
    for i in range(first, last + 1):
        if i < last and not bool(active[i]):
            run_start = i if run_start is None else run_start
            continue
        if run_start is not None:
            centre = (run_start + i) * frame // 2
            if centre - start >= shortest and end - centre >= shortest and i - run_start > best_frames:
                best, best_frames = centre, i - run_start
            run_start = None
    return best if best_frames * FRAME_S >= MIN_PAUSE_S else None


def collect_clips(
    sources: Path, speaker: str, count: int, rng: random.Random, skip: frozenset[str] = frozenset()
) -> list[dict]:
    """``count`` speech pieces of one speaker, visiting the prompts in a seeded random order (but those whose
    source is in ``skip``)."""
    folder = sources / "root/usr/share/asterisk/sounds" / speaker
    prompts = sorted(
        p
        for p in folder.rglob("*.g722")
        if "silence" not in p.relative_to(folder).parts and "/" + str(p.relative_to(sources / "root")) not in skip
    )
    rng.shuffle(prompts)
    clips = []
    for prompt in prompts:
        wav = load_audio(prompt, SAMPLE_RATE)
        for start, end in cut(wav):
            source = str(prompt.relative_to(sources / "root"))
            clips.append({"speaker": speaker, "source": "/" + source, "start": start, "end": end, "wav": wav})
            if len(clips) == count:
                return clips
    raise SystemExit(f"{speaker}: only {len(clips)} pieces of {MIN_SECONDS}-{MAX_SECONDS} s, {count} asked for")


def collect_words(sources: Path, count: int, rng: random.Random) -> list[dict]:
    """``count`` clips of KTuberling's spoken words: each one speaker's trimmed words joined to 1-4 s."""
    folder = sources / "root" / WORDS_FOLDER
    by_speaker: dict[str, list[tuple[Path, torch.Tensor]]] = {}
    for path in sorted(p for p in folder.glob("*/*") if p.parent.name not in WORDS_EXCLUDED):
        if audio_rate(path) < SAMPLE_RATE:
            continue
        wav = load_audio(path, SAMPLE_RATE)
        if float((wav.abs() > 0.98).float().mean()) > WORD_CLIPPED or floor_db(wav) < WORD_FLOOR_DB:
            continue
        ranges = trim(wav)
        if ranges is not None:
            by_speaker.setdefault(path.parent.name, []).append((path, wav[ranges[0] : ranges[1]]))
    queues = {speaker: rng.sample(words, len(words)) for speaker, words in sorted(by_speaker.items())}
    clips = []
    while len(clips) < count and queues:
        speaker = rng.choice(sorted(queues))
        pieces, sources_used, length = [], [], 0
        while queues[speaker] and length < MIN_SECONDS * SAMPLE_RATE:
            path, word = queues[speaker].pop()
            if length + word.numel() > MAX_SECONDS * SAMPLE_RATE:
                continue
            pieces.append(word)
            sources_used.append("/" + str(path.relative_to(sources / "root")))
            length += word.numel()
        if not queues[speaker]:
            del queues[speaker]
        if length >= MIN_SECONDS * SAMPLE_RATE:
            wav = torch.cat(pieces)
            clips.append(
                {"speaker": f"ktuberling_{speaker}", "source": sources_used, "start": 0, "end": wav.numel(), "wav": wav}
            )
    if len(clips) < count:
        raise SystemExit(
            f"{WORDS_PACKAGE}: only {len(clips)} clips of {MIN_SECONDS}-{MAX_SECONDS} s, {count} asked for"
        )
    return clips


def audio_rate(path: Path) -> int:
    """The file's own sample rate (the words come at 8-48 kHz)."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        return container.streams.audio[0].rate


def floor_db(wav: torch.Tensor) -> float:
    """How far (dB) the quietest tenth of the 20-ms frames lies below the loudest frame."""
    frame = int(FRAME_S * SAMPLE_RATE)
    n = wav.numel() // frame
    level = 10 * torch.log10(wav[: n * frame].reshape(n, frame).pow(2).mean(1).clamp_min(1e-12))
    return float(level.max() - torch.quantile(level, 0.1))


def trim(wav: torch.Tensor) -> tuple[int, int] | None:
    """The sample range of the clip's speech with MARGIN_S either side (None when nothing is loud)."""
    frame = int(FRAME_S * SAMPLE_RATE)
    active = speech_frames(wav)
    if not bool(active.any()):
        return None
    on = torch.nonzero(active).flatten()
    margin = int(MARGIN_S * SAMPLE_RATE)
    return max(0, int(on[0]) * frame - margin), min(wav.numel(), (int(on[-1]) + 1) * frame + margin)


def highpassed_noise(sources: Path, name: str) -> torch.Tensor:
    """The ambience loop ``sources/noise/NAME.ogg`` at the task's rate, high-passed as every set mixes it."""
    wav = load_audio(sources / "noise" / f"{name}.ogg", SAMPLE_RATE).double()
    return AF.highpass_biquad(wav, SAMPLE_RATE, NOISE_HIGHPASS_HZ).float()


def load_noises(sources: Path, table: dict, split: str) -> dict[str, torch.Tensor]:
    """The ``split``'s loops of ``table`` (NAME -> (split, ...)), high-passed."""
    return {name: highpassed_noise(sources, name) for name, (part, _, _) in table.items() if part == split}


def noise_segment(noise: torch.Tensor, length: int, rng: random.Random) -> tuple[torch.Tensor, int]:
    if noise.numel() < length:
        noise = noise.repeat(math.ceil(length / noise.numel()) + 1)
    offset = rng.randrange(0, noise.numel() - length + 1)
    return noise[offset : offset + length], offset


def build(
    sources: Path,
    out: Path,
    n_train: int,
    n_test: int,
    seed: int,
    n_words: int = 0,
    n_noise_pairs: int = 0,
    n_prompts: int = 0,
) -> list[dict]:
    """Write the clean/noisy pairs of both splits (and ``n_words`` KTuberling pairs, ``n_noise_pairs``
    training clips mixed again with the extra noises and ``n_prompts`` pairs of other prompts of the training
    speakers); one record per clip."""
    rng = random.Random(seed)
    records, train_clips = [], []
    train_noises = load_noises(sources, NOISES, "train")
    write_noises(out, train_noises)  # for on-the-fly mixing; the test noises stay inside the test pairs
    for split, total in (("train", n_train), ("test", n_test)):
        speakers = [name for name, (_, s, _, _) in SPEAKERS.items() if s == split]
        noises = train_noises if split == "train" else load_noises(sources, NOISES, split)
        plan = noise_plan(sorted(noises), split, total, rng)
        quotas = [total // len(speakers) + (i < total % len(speakers)) for i in range(len(speakers))]
        for speaker, quota in zip(speakers, quotas):
            for index, clip in enumerate(collect_clips(sources, speaker, quota, rng)):
                name = f"{speaker.split('_')[0]}_{speaker.split('_')[-1]}_{index:03d}.wav"
                records.append(write_pair(out, split, name, clip, noises, plan.pop(), rng))
                if split == "train":
                    train_clips.append(clip)
    if n_words:  # a generator of their own: the pairs above are the same with and without them
        rng = random.Random(seed + WORD_SEED_OFFSET)
        plan = noise_plan(sorted(train_noises), "train", n_words, rng)
        for index, clip in enumerate(collect_words(sources, n_words, rng)):
            name = f"{clip['speaker']}_{index:03d}.wav"
            records.append(write_pair(out, "train", name, clip, train_noises, plan.pop(), rng))
            train_clips.append(clip)
    if n_noise_pairs:  # again a generator of their own: everything above is the same without them
        rng = random.Random(seed + NOISE_PAIRS_SEED_OFFSET)
        noises = load_noises(sources, EXTRA_NOISES, "train")
        write_noises(out, noises)
        plan = noise_plan(sorted(noises), "train", n_noise_pairs, rng)
        order = rng.sample(range(len(train_clips)), len(train_clips))
        for index in range(n_noise_pairs):
            clip = train_clips[order[index % len(order)]]
            records.append(write_pair(out, "train", f"extra_noise_{index:03d}.wav", clip, noises, plan.pop(), rng))
    if n_prompts:  # a generator of their own, and prompts no pair above was cut from
        rng = random.Random(seed + PROMPTS_SEED_OFFSET)
        used = frozenset(r["source"] for r in records if r["speaker"] in SPEAKERS)
        speakers = [name for name, (_, s, _, _) in SPEAKERS.items() if s == "train"]
        plan = noise_plan(sorted(train_noises), "train", n_prompts, rng)
        quotas = [n_prompts // len(speakers) + (i < n_prompts % len(speakers)) for i in range(len(speakers))]
        for speaker, quota in zip(speakers, quotas):
            for index, clip in enumerate(collect_clips(sources, speaker, quota, rng, used)):
                name = f"{speaker.split('_')[0]}_{speaker.split('_')[-1]}_more_{index:03d}.wav"
                records.append(write_pair(out, "train", name, clip, train_noises, plan.pop(), rng))
    return records


def write_noises(out: Path, noises: dict[str, torch.Tensor]) -> None:
    """``OUT/noise/train/NAME.wav``, each loop scaled down where it would clip."""
    for noise_name, wav in noises.items():
        peak = float(wav.abs().max())
        save_audio(out / "noise" / "train" / f"{noise_name}.wav", wav * min(1.0, 0.99 / peak), SAMPLE_RATE)


def noise_plan(names: list[str], split: str, total: int, rng: random.Random) -> list[tuple[str, float]]:
    """Every (noise, SNR) pair of the split equally often (up to one), in a seeded random order."""
    pairs = [(noise, snr) for noise in names for snr in SNR_DB[split]]
    rng.shuffle(pairs)
    plan = [pairs[i % len(pairs)] for i in range(total)]
    rng.shuffle(plan)
    return plan


def write_pair(
    out: Path,
    split: str,
    name: str,
    clip: dict,
    noises: dict[str, torch.Tensor],
    noise_and_snr: tuple[str, float],
    rng: random.Random,
) -> dict:
    """Mix one clean clip (set to CLEAN_RMS_DBFS) with its planned noise; write both; return its record."""
    clean = clip["wav"][clip["start"] : clip["end"]]
    clean = clean * (10 ** (CLEAN_RMS_DBFS / 20) / clean.pow(2).mean().sqrt().clamp_min(1e-8))
    noise_name, snr = noise_and_snr
    noise, offset = noise_segment(noises[noise_name], clean.numel(), rng)
    noisy = torch.from_numpy(mix_at_snr(clean.numpy(), noise.numpy(), snr)).float()
    peak = max(float(noisy.abs().max()), float(clean.abs().max()))
    scale = min(1.0, 0.99 / peak)
    save_audio(out / split / "clean" / name, clean * scale, SAMPLE_RATE)
    save_audio(out / split / "noisy" / name, noisy * scale, SAMPLE_RATE)
    return {
        "name": name,
        "split": split,
        "speaker": clip["speaker"],
        "source": clip["source"],
        "start_s": clip["start"] / SAMPLE_RATE,
        "end_s": clip["end"] / SAMPLE_RATE,
        "noise": noise_name,
        "noise_offset_s": offset / SAMPLE_RATE,
        "snr_db": snr,
        "scale": scale,
    }


def manifest(versions: dict[str, str], records: list[dict], seed: int) -> dict:
    extra_noises = EXTRA_NOISES if any(r["noise"] in EXTRA_NOISES for r in records) else {}

    def seconds(split: str) -> float:
        return round(sum(r["end_s"] - r["start_s"] for r in records if r["split"] == split), 1)

    return {
        "sample_rate": SAMPLE_RATE,
        "seed": seed,
        "layout": "ROOT/{train,test}/{clean,noisy}/NAME.wav (VoiceBank+DEMAND)",
        "counts": {split: sum(r["split"] == split for r in records) for split in ("train", "test")},
        "seconds": {split: seconds(split) for split in ("train", "test")},
        "snr_db": {split: list(values) for split, values in SNR_DB.items()},
        "clean_rms_dbfs": CLEAN_RMS_DBFS,
        "noise_highpass_hz": NOISE_HIGHPASS_HZ,
        "clip_seconds": [MIN_SECONDS, MAX_SECONDS],
        "speech": {
            name: {"package": package, "version": versions[package], "split": split, "who": who, "licence": licence}
            for name, (package, split, who, licence) in SPEAKERS.items()
        },
        "noise": {
            name: {
                "package": NOISE_PACKAGE,
                "version": versions[NOISE_PACKAGE],
                "file": f"base/sound/ambience/{name}.ogg (in base/0snd.pk3)",
                "split": split,
                "what": what,
                "licence": licence,
            }
            for name, (split, what, licence) in {**NOISES, **extra_noises}.items()
        },
        **(
            {
                "words": {
                    "package": WORDS_PACKAGE,
                    "version": versions[WORDS_PACKAGE],
                    "folder": "/" + WORDS_FOLDER,
                    "split": "train",
                    "who": "one volunteer per language folder; skipped: " + ", ".join(WORDS_EXCLUDED),
                    "licence": "GPL-2+",
                    "floor_db": WORD_FLOOR_DB,
                    "clipped_share": WORD_CLIPPED,
                    "seed": seed + WORD_SEED_OFFSET,
                }
            }
            if any(r["speaker"].startswith("ktuberling_") for r in records)
            else {}
        ),
        "clips": records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/speech_real"), help="dataset root to write")
    parser.add_argument("--sources", type=Path, default=None, help="download cache (default: OUT_sources)")
    parser.add_argument("--train", type=int, default=100, help="training pairs")
    parser.add_argument("--test", type=int, default=30, help="test pairs")
    parser.add_argument("--words", type=int, default=0, help="more training pairs of KTuberling's spoken words")
    parser.add_argument(
        "--more-noises", type=int, default=0, help="more training pairs: training clips mixed with EXTRA_NOISES"
    )
    parser.add_argument(
        "--more-prompts", type=int, default=0, help="more training pairs from other prompts of the training speakers"
    )
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    sources = opts.sources or opts.out.with_name(opts.out.name + "_sources")
    if (opts.out / "manifest.json").exists():
        print(f"{opts.out} is already built; remove it to build again")
        return
    versions = fetch(sources, words=opts.words > 0, more_noises=opts.more_noises > 0)
    shutil.rmtree(opts.out, ignore_errors=True)
    records = build(
        sources, opts.out, opts.train, opts.test, opts.seed, opts.words, opts.more_noises, opts.more_prompts
    )
    info = manifest(versions, records, opts.seed)
    (opts.out / "manifest.json").write_text(json.dumps(info, indent=2))
    summary = {key: info[key] for key in ("counts", "seconds", "snr_db")}
    summary["mean_snr_db"] = {
        split: round(float(np.mean([r["snr_db"] for r in records if r["split"] == split])), 2)
        for split in ("train", "test")
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
