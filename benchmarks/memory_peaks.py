"""Peak resident memory of training and of generation, task by task, at the default settings.

    python benchmarks/memory_peaks.py --steps 50 --out benchmarks/out/memory

Each command runs in its own process, and the process reports the peak of its resident set
(``VmHWM`` of ``/proc/self/status``: torch and its libraries included, as a user's ``top`` would show it;
Linux only). Not ``getrusage``'s ``ru_maxrss``: Linux carries that across ``exec`` from the forking
process, so every command would report at least this script's own size. Data-loader workers (none at the
defaults, ``data.num_workers=0``) would be processes of their own, not counted.
Training: ``cgp train --plugin TASK`` for ``--steps`` steps on the built-in data, defaults otherwise
(with its end-of-run evaluation). Generation: ``cgp generate`` on inputs of the task's kind written
here: class names (cgan), a 256x256 photograph-sized PNG (pix2pix, cyclegan), captions
(text2image), a 10-frame clip and a 10-minute video (video_predict: generation decodes only the
last frames it needs), and for speech_enhance a
60-second and a 1-hour noisy recording (generation works in fixed chunks, so its memory should not
grow with the file). Run it alone; it needs a few GB of free memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cgp.datasets.audio import save_audio
from cgp.datasets.video import write_video

WRAPPER = (
    "import re, runpy, sys\n"
    "sys.argv = ['cgp', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('cgp', run_name='__main__')\n"
    "finally:\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
)


def measured(args: list[str]) -> tuple[float, float]:
    """(peak resident MB, wall seconds) of ``cgp ARGS`` in a fresh process."""
    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cgp {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return peak / 1024, time.time() - t0


def inputs_for(task: str, folder: Path) -> list[list[str]]:
    """Argument lists for ``cgp generate RUN`` (one measurement each)."""
    rng = np.random.default_rng(0)
    if task == "cgan":
        return [["circle", "square", "--count", "64"]]
    if task == "text2image":
        return [["a small red circle at the top left", "two big blue squares", "--count", "16"]]
    if task in ("pix2pix", "cyclegan"):
        path = folder / "photo.png"
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(path)
        return [[str(path)]]
    if task == "video_predict":
        path = folder / "clip.mp4"
        write_video(path, torch.rand(10, 3, 64, 64) * 2 - 1)
        long = folder / "ten_minutes.mp4"  # 15,000 frames at 25 frames/s: a bar sweeping across a gradient
        x = torch.arange(64.0)
        sweep = torch.stack([((x - t) % 64 < 8).float() for t in range(64)])  # (64 positions, 64)
        frames = (sweep[torch.arange(15000) % 64][:, None, None, :] * 150 + x[None, None, :, None]).to(torch.uint8)
        write_video(long, frames.expand(-1, 3, 64, 64), fps=25)
        return [[str(path)], [str(long)]]
    out = []
    for seconds in (60, 3600):
        path = folder / f"noisy_{seconds}s.wav"
        save_audio(path, torch.from_numpy(rng.normal(0, 0.05, seconds * 16000).astype(np.float32)), 16000)
        out.append([str(path)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--tasks", nargs="*", default=["cgan", "pix2pix", "cyclegan", "speech_enhance", "text2image", "video_predict"]
    )
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/memory"))
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, tuple[float, float]] = {}
    for task in opts.tasks:
        run = opts.out / task
        if not (run / "checkpoints").is_dir():
            args = [
                "train",
                "--plugin",
                task,
                "--run-dir",
                str(run),
                "--set",
                f"trainer.steps={opts.steps}",
                "--set",
                "trainer.progress=off",
                "--set",
                "trainer.max_minutes=null",
            ]
            results[f"{task} train"] = measured(args)
        with tempfile.TemporaryDirectory() as tmp:
            for inputs in inputs_for(task, Path(tmp)):
                label = f"{task} generate {Path(inputs[0]).name if '/' in inputs[0] else inputs[0]}"
                results[label] = measured(["generate", str(run), *inputs, "--output", str(Path(tmp) / "out")])
        for label, (peak, wall) in results.items():
            if label.startswith(task):
                print(f"{label:48s} peak {peak:7.0f} MB  ({wall:.0f} s)", flush=True)
    record = {"capability": torch.backends.cpu.get_cpu_capability(), "peak_mb_and_seconds": results}
    (opts.out / "memory.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
