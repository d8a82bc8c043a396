"""Benchmarks of the speech_enhance task.

    cd benchmarks
    python speech_enhance.py builtin --minutes 15                 # defaults on the built-in data
    python speech_enhance.py ablation --minutes 8                 # L1 only / L1 + cGAN / L1 + GAN
    python speech_enhance.py ablation --steps 3000 --seeds 0 1 2 --jobs 9 --set trainer.device=cuda
    python speech_enhance.py real --root out/speech_real --minutes 15
    python speech_enhance.py transfer --run out/speech_real_run/run --root out/speech_second
    python speech_enhance.py rtf --run out/speech_builtin/run    # real-time factor of generate, memory
    python speech_enhance.py sets --run out/NAME/run               # score on every other real set
    python speech_enhance.py rows out/NAME "out/OTHER=a label"     # those scores as a markdown table

``builtin`` trains ``cgp train --plugin speech_enhance`` with every setting at its default under a
wall-clock cap and evaluates it on the built-in test split (SI-SDR of the output and of the noisy
input). ``ablation`` trains the three objectives for the same budget. ``real`` trains on a VoiceBank-
layout folder (see ``speech_real_set.py``) and prints the evaluation next to ``noisereduce``'s numbers
when ``speech_noisereduce_baseline.py`` has written them. ``transfer`` evaluates a trained run on another
VoiceBank-layout root's test split without retraining (a copy of the run with ``data.root`` pointed at it).
``sets`` runs ``transfer`` for each of the other real sets present under ``--sets-dir`` (``out/speech_second``
to ``out/speech_seventh``, as ``speech_*_set.py`` build them) into ``PREFIX_second`` ... ``PREFIX_seventh``
(``PREFIX`` the run's parent, e.g. ``out/NAME``) and the clean pass on the second set into ``PREFIX_clean``
(``speech_clean_pass.py``). ``rows`` prints, per run ``PREFIX`` trained by ``real`` and scored by ``sets``,
its steps, seconds and, on each set, the mean per-clip SI-SDR gain over the noisy input with the PESQ in
parentheses, and the clean pass; ``--busy PREFIX`` puts a run's seconds in parentheses (it did not run
alone). ``rtf`` times ``cgp generate`` on a 60 s
file (and a 10 min file, for memory) with one thread and with all threads, reading the real-time
factor of the enhancement itself from generate's log and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from cgp.datasets.audio import save_audio
from cgp.datasets.procedural_speech import ProceduralSpeech
from runs import run_variants, table, train_and_evaluate

EARLIER = ["objective.terms={spectral_l1: 100}", "data.speed=0"]
VARIANTS = {  # as measured before the defaults became gan_weight 0.1, spectral L1 + SI-SDR and speed perturbation
    "L1 only": ["objective.gan_weight=0", *EARLIER],
    "L1 + cGAN (D sees the noisy input)": ["objective.gan_weight=1", *EARLIER],
    "L1 + GAN (unconditional D)": ["objective.gan_weight=1", *EARLIER, "model.conditional_discriminator=false"],
}
COLUMNS = [
    ("SI-SDR (dB)", "si_sdr", 2),
    ("SI-SDRi (dB)", "si_sdr_improvement", 2),
    ("LSD (dB)", "lsd", 2),
    ("spectral detail", "spectral_detail", 3),
    ("PESQ", "pesq", 2),
    ("STOI", "stoi", 3),
]


def _columns(results: dict[str, dict]) -> list[tuple[str, str, int]]:
    return [c for c in COLUMNS if all(c[1] in r for r in results.values())]


def builtin(opts: argparse.Namespace) -> None:
    overrides = [f"trainer.max_minutes={opts.minutes}", f"trainer.seed={opts.seed}", *opts.extra]
    result = train_and_evaluate("speech_enhance", opts.out / "run", overrides)
    (opts.out / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def ablation(opts: argparse.Namespace) -> None:
    if opts.jobs > 1 and opts.steps is None:
        raise SystemExit("--jobs needs --steps: runs sharing a wall-clock budget would share the machine too")
    budget = (
        [f"trainer.steps={opts.steps}"]
        if opts.steps
        else [f"trainer.max_minutes={opts.minutes}", "trainer.steps=1000000"]
    )
    common = [*budget, "trainer.checkpoint_every=0", "trainer.sample_every=0", *opts.extra]
    results = run_variants("speech_enhance", VARIANTS, common, opts.seeds, opts.out, opts.only, opts.jobs)
    text = table(results, _columns(results))
    (opts.out / "results.md").write_text(text)
    print(text)


def real(opts: argparse.Namespace) -> None:
    overrides = [f"data.root={opts.root.resolve()}", f"trainer.max_minutes={opts.minutes}", f"trainer.seed={opts.seed}"]
    result = train_and_evaluate("speech_enhance", opts.out / "run", [*overrides, *opts.extra])
    baseline_file = opts.baseline or opts.root.parent / f"{opts.root.name}_nr" / "results.json"
    report = {"cgp": result}
    if baseline_file.is_file():
        report["noisereduce"] = json.loads(baseline_file.read_text())
    (opts.out / "results.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def transfer(opts: argparse.Namespace) -> None:
    copy = opts.out / "run"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir(parents=True)
    last = (opts.run / "checkpoints" / "last").read_text().strip()
    shutil.copytree(opts.run / "checkpoints" / last, copy / "checkpoints" / last)
    (copy / "checkpoints" / "last").write_text(last)
    config = yaml.safe_load((opts.run / "config.yaml").read_text())
    config["data"]["root"] = str(opts.root.resolve())
    (copy / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "cgp", "evaluate", str(copy), "--json"], capture_output=True, text=True, check=True
    )
    report = {"cgp": {"trained": str(opts.run), "checkpoint": last, **json.loads(done.stdout)}}
    baseline_file = opts.root.parent / f"{opts.root.name}_nr" / "results.json"
    if baseline_file.is_file():
        report["noisereduce"] = json.loads(baseline_file.read_text())
    (opts.out / "results.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


OTHER_SETS = ("second", "third", "fourth", "fifth", "sixth", "seventh")
"""The real sets besides the training root's own test split, in the order the benchmark page lists them."""


def sets(opts: argparse.Namespace) -> None:
    prefix = opts.prefix or opts.run.parent
    for name in OTHER_SETS:
        root = opts.sets_dir / f"speech_{name}"
        if not root.is_dir():
            print(f"{root}: not built, skipped (benchmarks/speech_{name}_set.py builds it)", file=sys.stderr)
            continue
        transfer(argparse.Namespace(run=opts.run, root=root, out=Path(f"{prefix}_{name}")))
    second = opts.sets_dir / "speech_second"
    if second.is_dir():
        clean = Path(__file__).with_name("speech_clean_pass.py")
        command = ["--run", str(opts.run), "--root", str(second), "--out", f"{prefix}_clean"]
        subprocess.run([sys.executable, str(clean), *command], check=True, stdout=subprocess.DEVNULL)


def _scores(path: Path) -> dict | None:
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    return report.get("cgp", report)


def rows(opts: argparse.Namespace) -> None:
    runs = [(Path(spec.split("=", 1)[0]), spec.split("=", 1)[1] if "=" in spec else spec) for spec in opts.runs]
    suffixes = ["", *(f"_{name}" for name in OTHER_SETS)]
    names = ["first", *OTHER_SETS]
    lines = [
        "| | steps | s | " + " | ".join(f"{n}: gain (PESQ)" for n in names) + " | clean pass, second set |",
        "| --- | ---: | ---: |" + " ---: |" * (len(names) + 1),
    ]
    first = runs[0][0]
    noisy = [_scores(Path(f"{first}{suffix}") / "results.json") for suffix in suffixes]
    cells = [f"{m['si_sdr_noisy']:.2f} ({m['pesq_noisy']:.3f})" if m else "" for m in noisy]
    lines.append("| noisy input: SI-SDR (PESQ) | | | " + " | ".join(cells) + " | |")
    busy = {Path(p) for p in opts.busy}
    for prefix, label in runs:
        own = _scores(prefix / "results.json")
        if own is None:
            raise SystemExit(f"{prefix}/results.json: not found; train the run with 'speech_enhance.py real'")
        scored = [_scores(Path(f"{prefix}{suffix}") / "results.json") for suffix in suffixes]
        cells = [f"{m['si_sdr_improvement']:+.2f} ({m['pesq']:.3f})" if m else "" for m in scored]
        clean = Path(f"{prefix}_clean") / "results.json"
        clean_pass = f"{json.loads(clean.read_text())['clean_in']['si_sdr']:.1f}" if clean.is_file() else ""
        seconds = f"{own['seconds']:.0f}"
        seconds = f"({seconds})" if prefix in busy else seconds
        lines.append(f"| {label} | {own['steps']} | {seconds} | " + " | ".join(cells) + f" | {clean_pass} |")
    print("\n".join(lines))


def _generate(run: Path, source: Path, target: Path, threads: int | None) -> dict:
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    script = (
        "import resource, runpy, sys; sys.argv = ['cgp', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('cgp', run_name='__main__')\n"
        "finally:\n    print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, "generate", str(run), str(source), "--output", str(target), "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"generate failed:\n{done.stderr[-2000:]}")
    rtf = float(re.search(r"real-time factor ([0-9.]+)", done.stderr).group(1))
    rss = int(re.search(r"peak_rss_kb (\d+)", done.stderr).group(1))
    return {"rtf": rtf, "process_seconds": round(wall, 2), "peak_rss_mb": round(rss / 1024, 1)}


def _long_file(path: Path, seconds: int) -> Path:
    """Built-in test utterances end to end, ``seconds`` long, as a 16 kHz WAV."""
    if not path.is_file():
        data = ProceduralSpeech("test", 50, seconds=2.0)
        items = [data[i % len(data)]["cond"] for i in range(seconds // 2)]
        save_audio(path, torch.cat(items), 16000)
    return path


def rtf(opts: argparse.Namespace) -> None:
    opts.out.mkdir(parents=True, exist_ok=True)
    report = {"threads_available": os.cpu_count()}
    for seconds in (60, 600):
        source = _long_file(opts.out / f"noisy_{seconds}s.wav", seconds)
        for label, threads in (("1 thread", 1), ("all threads", None)):
            result = _generate(opts.run, source, opts.out / f"enhanced_{seconds}s.wav", threads)
            report[f"{seconds} s, {label}"] = result
            print(f"{seconds} s file, {label}: {result}", flush=True)
    (opts.out / "results.json").write_text(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, default_minutes in (("builtin", 15.0), ("ablation", 8.0), ("real", 15.0)):
        p = sub.add_parser(name)
        p.add_argument("--minutes", type=float, default=default_minutes, help="wall-clock training cap per run")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--out", type=Path, default=Path(f"out/speech_{name}"))
        p.add_argument("--set", dest="extra", action="append", default=[], help="override for every run")
        if name == "ablation":
            p.add_argument("--steps", type=int, help="a fixed step budget per run instead of --minutes")
            p.add_argument("--seeds", type=int, nargs="+", default=[0])
            p.add_argument("--jobs", type=int, default=1, help="runs at once (only with --steps)")
            p.add_argument("--only", nargs="*", help="substrings of variant names to run")
        if name == "real":
            p.add_argument("--root", type=Path, required=True, help="VoiceBank-layout folder")
            p.add_argument("--baseline", type=Path, help="noisereduce results.json (default: ROOT_nr/results.json)")
    p = sub.add_parser("rtf")
    p.add_argument("--run", type=Path, required=True, help="a trained speech_enhance run directory")
    p.add_argument("--out", type=Path, default=Path("out/speech_rtf"))
    p = sub.add_parser("transfer")
    p.add_argument("--run", type=Path, required=True, help="a trained speech_enhance run directory")
    p.add_argument("--root", type=Path, required=True, help="VoiceBank-layout folder whose test split is scored")
    p.add_argument("--out", type=Path, default=Path("out/speech_transfer"))
    p = sub.add_parser("sets")
    p.add_argument("--run", type=Path, required=True, help="a speech_enhance run trained by 'real'")
    p.add_argument("--prefix", type=Path, help="where the scores go, PREFIX_second ... (default: the run's parent)")
    p.add_argument("--sets-dir", type=Path, default=Path("out"), help="folder holding speech_second ... speech_seventh")
    p = sub.add_parser("rows")
    p.add_argument("runs", nargs="+", help="PREFIX or PREFIX=LABEL: a run's folder as 'real --out' wrote it")
    p.add_argument("--busy", nargs="*", default=[], help="runs whose seconds had other work beside them")
    opts = parser.parse_args()
    commands = {
        "builtin": builtin,
        "ablation": ablation,
        "real": real,
        "rtf": rtf,
        "transfer": transfer,
        "sets": sets,
        "rows": rows,
    }
    commands[opts.command](opts)


if __name__ == "__main__":
    main()
