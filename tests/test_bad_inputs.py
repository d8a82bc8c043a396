"""The bad-input corpus: every user mistake or damaged file ends in one ``cgp: error:`` line.

Each case is a row: how to make the input (a function of a scratch folder that returns the command's
arguments), the expected exit status, a phrase the one-line message must contain, and the paths that
must be unchanged afterwards, compared byte for byte. Cases run in this process (click's runner,
exceptions not caught), so a traceback anywhere fails the case. Exit statuses are those of
docs/cli.md: 0 success, 1 an unexpected OS failure, 2 a mistake to fix.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TINY, run_cli, sets

# -- the scratch folder each case works in -------------------------------------------------------


@dataclass
class Scratch:
    tmp: Path
    trained: Path

    def run(self, name: str = "run") -> Path:
        """A copy of the tiny trained cgan run (checkpoints at steps 2 and 4, a cached judge)."""
        target = self.tmp / name
        shutil.copytree(self.trained, target, symlinks=True)
        return target

    def last(self, run: Path) -> Path:
        return run / "checkpoints" / (run / "checkpoints" / "last").read_text().strip()

    def classes(self, name: str = "data", classes: tuple[str, ...] = ("a", "b"), per_class: int = 2) -> Path:
        """ROOT/{train,test}/<class>/*.png with real PNG files."""
        root = self.tmp / name
        for split in ("train", "test"):
            for index, label in enumerate(classes):
                folder = root / split / label
                folder.mkdir(parents=True)
                for i in range(per_class):
                    noise(16 * index + i).save(folder / f"{i}.png")
        return root

    def file(self, relative: str, content: bytes | str = b"") -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        return path

    def captions(self, rows: str, image: bool = True) -> Path:
        """A text2image folder whose train/metadata.jsonl holds ``rows`` (test/ is fine)."""
        root = self.tmp / "captioned"
        for split in ("train", "test"):
            (root / split).mkdir(parents=True)
            if image:
                noise(1).save(root / split / "a.png")
            (root / split / "metadata.jsonl").write_text('{"file_name": "a.png", "text": "a red circle"}\n')
        (root / "train" / "metadata.jsonl").write_bytes(rows.encode() if isinstance(rows, str) else rows)
        return root


def noise(seed: int, size: int = 16, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).convert(mode)


def flip_byte(path: Path, offset: int = -9) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def edit_yaml(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def train(*extra: str, plugin: str = "cgan") -> list[str]:
    return ["train", "--plugin", plugin, *sets(*TINY, "trainer.steps=2"), *extra]


def train_in(run_dir: Path, *extra: str) -> list[str]:
    return train("--run-dir", str(run_dir), *extra)


def cgan_on(root: Path, s: Scratch) -> list[str]:
    return train_in(s.tmp / "new", *sets(f"data.root={root}", "trainer.batch_size=2"))


TEXT = [
    "model.image_size=32",
    "trainer.batch_size=4",
    "trainer.progress=off",
    "trainer.device=cpu",
    "trainer.steps=2",
    "model.text.training=joint",
]


def text2image_on(root: Path, s: Scratch) -> list[str]:
    return ["train", "--plugin", "text2image", "--run-dir", str(s.tmp / "new"), *sets(*TEXT, f"data.root={root}")]


VIDEO = ["trainer.batch_size=2", "trainer.progress=off", "trainer.device=cpu", "trainer.steps=2"]


def video_on(root: Path, s: Scratch) -> list[str]:
    return ["train", "--plugin", "video_predict", "--run-dir", str(s.tmp / "new"), *sets(*VIDEO, f"data.root={root}")]


def video_root(s: Scratch, bad: bytes | None = None) -> Path:
    import torch

    from cgp.datasets.video import write_video

    root = s.tmp / "videos"
    frames = (torch.rand(12, 3, 32, 32) * 255).to(torch.uint8)
    for split in ("train", "test"):
        (root / split).mkdir(parents=True)
        write_video(root / split / "clip.mkv", frames)
    if bad is not None:
        (root / "train" / "bad.mp4").write_bytes(bad)
    return root


# -- the corpus ----------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    make: Callable[[Scratch], list[str]]
    code: int
    phrase: str
    keep: tuple[str, ...] = ()  # paths relative to the scratch folder, unchanged byte for byte
    env: dict[str, str] = field(default_factory=dict)
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    absent: tuple[str, ...] = ()  # paths that must not exist afterwards


def _run_with_pointer(s: Scratch, name: str) -> list[str]:
    run = s.run()
    (run / "checkpoints" / "last").write_text(name)
    return ["evaluate", str(run)]


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's folder is on a read-only file system."""
    import cgp.core.report as report

    def refuse(path: Path, text: str) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(report, "write_atomic", refuse)


def _bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64)


def _sixteen_bit_out_of_range(s: Scratch) -> list[str]:
    root = s.classes()
    Image.fromarray(np.full((16, 16), 2.5, dtype=np.float32), mode="F").save(root / "train" / "a" / "f.tiff")
    return cgan_on(root, s)


def _linked_folder(s: Scratch) -> list[str]:
    root = s.classes()
    outside = s.classes("elsewhere")
    (root / "train" / "c").symlink_to(outside / "train" / "a", target_is_directory=True)
    (root / "test" / "c").mkdir()
    return cgan_on(root, s)


def _linked_file(s: Scratch) -> list[str]:
    root = s.classes()
    outside = s.file("outside.png")
    noise(7).save(outside)
    (root / "train" / "a" / "linked.png").symlink_to(outside)
    return cgan_on(root, s)


def _resume_changed_shape(s: Scratch) -> list[str]:
    run = s.run()
    return ["train", "--resume", "--run-dir", str(run), *sets("model.generator_width=32", "trainer.steps=6")]


def _resume_missing_root(s: Scratch) -> list[str]:
    run = s.run()
    return ["train", "--resume", "--run-dir", str(run), *sets(f"data.root={s.tmp / 'nowhere'}", "trainer.steps=6")]


def _resume_all_damaged(s: Scratch) -> list[str]:
    run = s.run()
    for checkpoint in (run / "checkpoints").glob("step_*"):
        flip_byte(checkpoint / "models.safetensors")
    return ["train", "--resume", "--run-dir", str(run), *sets("trainer.steps=6")]


def _wrong_shapes(s: Scratch) -> list[str]:
    run = s.run()
    edit_yaml(run / "config.yaml", "generator_width: 16", "generator_width: 24")
    return ["evaluate", str(run)]


def _state(s: Scratch, content: str) -> list[str]:
    run = s.run()
    (s.last(run) / "state.json").write_text(content)
    return ["evaluate", str(run)]


def _state_step(s: Scratch, step: object) -> list[str]:
    run = s.run()
    state = s.last(run) / "state.json"
    meta = json.loads(state.read_text())
    meta["step"] = step
    state.write_text(json.dumps(meta))
    return ["evaluate", str(run)]


def _disabled_task_run(s: Scratch) -> list[str]:
    return ["evaluate", str(s.run())]


def _corrupt_image(s: Scratch) -> list[str]:
    root = s.classes()
    (root / "train" / "a" / "bad.png").write_bytes(b"not a png")
    return cgan_on(root, s)


def _truncated_image(s: Scratch) -> list[str]:
    root = s.classes()
    (root / "train" / "b" / "cut.png").write_bytes((root / "train" / "b" / "0.png").read_bytes()[:60])
    return cgan_on(root, s)


def _in_run(s: Scratch, relative: str, content: str) -> list[str]:
    """A copy of the trained run with ``relative`` overwritten by ``content``, evaluated."""
    run = s.run()
    (run / relative).parent.mkdir(parents=True, exist_ok=True)
    (run / relative).write_text(content)
    return ["evaluate", str(run)]


def _generate_into(s: Scratch, relative: str) -> list[str]:
    run = s.run()
    return ["generate", str(run), "circle", "--output", str(run / relative)]


def _under_a_file(s: Scratch) -> Path:
    return s.file("a_file", "x") / "inside"


CASES = [
    # config: keys, values, files
    Case("unknown key", lambda s: train(*sets("trainer.bogus=1")), 2, "'trainer.bogus' is unknown"),
    Case("bad value", lambda s: train(*sets("trainer.batch_size=abc")), 2, "trainer.batch_size"),
    Case("override without =", lambda s: train("--set", "trainer.steps"), 2, "dotted.key=value"),
    Case("override of the task", lambda s: train(*sets("task=cgan")), 2, "--plugin"),
    Case("empty key part", lambda s: train(*sets("trainer..steps=3")), 2, "empty key part"),
    Case("value used as a section", lambda s: train(*sets("trainer.steps.x=1")), 2, "is a value, not a section"),
    Case("zero steps", lambda s: train(*sets("trainer.steps=0")), 2, "trainer.steps"),
    Case("negative batch", lambda s: train(*sets("trainer.batch_size=-1")), 2, "trainer.batch_size"),
    Case("config file missing", lambda s: train("--config", str(s.tmp / "no.yaml")), 2, "does not exist"),
    Case("config is a folder", lambda s: train("--config", str(s.tmp)), 2, "is a folder"),
    Case("config is binary", lambda s: train("--config", str(s.file("c.yaml", b"\xff\xfe\x00\x9c"))), 2, "not UTF-8"),
    Case("config bad YAML", lambda s: train("--config", str(s.file("c.yaml", "a: [1,"))), 2, "not valid YAML"),
    Case("config bad TOML", lambda s: train("--config", str(s.file("c.toml", "a = "))), 2, "not valid TOML"),
    Case("config a list", lambda s: train("--config", str(s.file("c.yaml", "- 1\n- 2\n"))), 2, "mapping"),
    Case("config other task", lambda s: train("--config", str(s.file("c.yaml", "task: pix2pix\n"))), 2, "is for task"),
    Case(
        "config YAML tag",
        lambda s: train("--config", str(s.file("c.yaml", "a: !!python/object:os.system {}\n"))),
        2,
        "not valid YAML",
    ),  # noqa: E501
    Case("unknown plugin", lambda s: ["train", "--plugin", "nope"], 2, "unknown task or plugin 'nope'"),
    Case("no plugin", lambda s: ["train"], 2, "missing --plugin"),
    Case("resume without run dir", lambda s: ["train", "--resume"], 2, "--resume needs --run-dir"),
    Case("unknown option", lambda s: ["train", "--bogus"], 2, "No such option"),
    Case("bad device name", lambda s: train(*sets("trainer.device=gpu")), 2, "not a device name"),
    Case("cuda without a GPU", lambda s: train(*sets("trainer.device=cuda")), 2, "no CUDA device"),
    Case("fp16 on the CPU", lambda s: train(*sets("trainer.precision=fp16")), 2, "needs CUDA"),
    Case("unknown metric", lambda s: train(*sets("eval.metrics=[nope]")), 2, "unknown metric 'nope'"),
    Case("unknown adversarial loss", lambda s: train(*sets("objective.adversarial=nope")), 2, "nope"),
    Case("unknown loss term", lambda s: train(*sets("objective.terms={nope: 1}")), 2, "nope"),
    Case(
        "mode seeking without noise",
        lambda s: [
            "train",
            "--plugin",
            "pix2pix",
            "--run-dir",
            str(s.tmp / "new"),
            *sets(
                "model.generator=unet_32",
                "model.generator_width=8",
                "model.discriminator_width=8",
                "trainer.batch_size=2",
                "trainer.steps=2",
                "objective.terms={mode_seeking: 1}",
            ),
        ],
        2,
        "remove it from objective.terms",
    ),
    Case("batch not divisible by nproc", lambda s: train("--nproc", "3"), 2, "does not divide evenly across --nproc 3"),
    Case("run dir is a file", lambda s: train_in(s.file("f", "x")), 2, "is a file", keep=("f",)),
    Case("run dir under a file", lambda s: train_in(_under_a_file(s)), 2, "a_file", keep=("a_file",)),
    # data folders
    Case("data root missing", lambda s: cgan_on(s.tmp / "nowhere", s), 2, "does not exist", absent=("new",)),
    Case("no train folder", lambda s: cgan_on(s.file("empty/x", "").parent, s), 2, "training folder"),
    Case("one class", lambda s: cgan_on(s.classes(classes=("a",)), s), 2, "at least 2", absent=("new",)),
    Case(
        "test split lacks a class",
        lambda s: (shutil.rmtree(s.classes() / "test" / "b"), cgan_on(s.tmp / "data", s))[1],
        2,
        "class folder",
        absent=("new",),
    ),
    Case("corrupt image", _corrupt_image, 2, "bad.png", keep=("data",)),
    Case("truncated image", _truncated_image, 2, "cut.png"),
    Case("image over the bomb limit", lambda s: cgan_on(s.classes(), s), 2, "decompression-bomb", patch=_bomb),
    Case("float image out of range", _sixteen_bit_out_of_range, 2, "outside 0..1"),
    Case("class folder linked outside", _linked_folder, 2, "escapes the data root"),
    Case("image file linked outside", _linked_file, 2, "escapes the data root"),
    Case(
        "captions: missing image",
        lambda s: text2image_on(s.captions('{"file_name": "b.png", "text": "x"}\n'), s),
        2,
        "does not exist",
    ),  # noqa: E501
    Case(
        "captions: empty caption",
        lambda s: text2image_on(s.captions('{"file_name": "a.png", "text": ""}\n'), s),
        2,
        "caption is empty",
    ),  # noqa: E501
    Case(
        "captions: not UTF-8",
        lambda s: text2image_on(s.captions(b'{"file_name": "a.png", "text": "\xff"}\n'), s),
        2,
        "not UTF-8",
    ),  # noqa: E501
    Case(
        "captions: escapes the root",
        lambda s: text2image_on(s.captions('{"file_name": "../../x.png", "text": "x"}\n'), s),
        2,
        "resolves outside",
    ),  # noqa: E501
    Case("captions: not JSON", lambda s: text2image_on(s.captions("{nope\n"), s), 2, "not valid JSON"),
    Case("video: corrupt file", lambda s: video_on(video_root(s, b"\x00" * 200), s), 2, "bad.mp4"),
    Case("video: text as video", lambda s: video_on(video_root(s, b"hello, I am not a video"), s), 2, "bad.mp4"),
    # run directories
    Case("evaluate missing run", lambda s: ["evaluate", str(s.tmp / "nowhere")], 2, "does not exist"),
    Case(
        "evaluate a plain folder", lambda s: ["evaluate", str(s.file("plain/x", "").parent)], 2, "not a run directory"
    ),  # noqa: E501
    Case(
        "corrupt config.yaml",
        lambda s: (s.file("run0/config.yaml", "task: [cgan"), ["evaluate", str(s.tmp / "run0")])[1],
        2,
        "damaged",
    ),
    Case(
        "binary config.yaml",
        lambda s: (s.file("run0/config.yaml", b"\xff\xd8\xff\x00"), ["evaluate", str(s.tmp / "run0")])[1],
        2,
        "damaged",
    ),
    Case(
        "config.yaml is a folder",
        lambda s: ((s.tmp / "run0" / "config.yaml").mkdir(parents=True), ["evaluate", str(s.tmp / "run0")])[1],
        2,
        "is a folder",
    ),
    Case(
        "config.yaml without task",
        lambda s: (s.file("run0/config.yaml", "a: 1\n"), ["evaluate", str(s.tmp / "run0")])[1],
        2,
        "no 'task' key",
    ),  # noqa: E501
    Case(
        "no checkpoint yet",
        lambda s: (shutil.rmtree(s.run() / "checkpoints"), ["evaluate", str(s.tmp / "run")])[1],
        2,
        "no complete checkpoint",
    ),
    Case(
        "weights file missing",
        lambda s: ((s.last(s.run()) / "models.safetensors").unlink(), ["evaluate", str(s.tmp / "run")])[1],
        2,
        "is missing",
    ),
    Case(
        "flipped byte in the weights",
        lambda s: (flip_byte(s.last(s.run()) / "models.safetensors"), ["evaluate", str(s.tmp / "run")])[1],
        2,
        "models.safetensors' is damaged",
        keep=("run",),
    ),
    Case(
        "zeroed weights",
        lambda s: (
            (s.last(s.run()) / "models.safetensors").write_bytes(
                b"\x00" * (s.last(s.tmp / "run") / "models.safetensors").stat().st_size
            ),
            ["evaluate", str(s.tmp / "run")],
        )[1],
        2,
        "is damaged",
    ),
    Case("state.json not JSON", lambda s: _state(s, "{oops"), 2, "state.json' is damaged"),
    Case("state.json a list", lambda s: _state(s, "[1, 2]"), 2, "no integer 'step'"),
    Case("non-integer step", lambda s: _state_step(s, "four"), 2, "no integer 'step'"),
    Case("tensors of other shapes", _wrong_shapes, 2, "different model"),
    Case("last names nothing", lambda s: _run_with_pointer(s, "step_99999999"), 0, "step 4 split test"),
    Case("last names a path outside", lambda s: _run_with_pointer(s, "../../etc"), 0, "step 4 split test"),
    Case("damaged classes.json", lambda s: _in_run(s, "classes.json", '"circle"'), 2, "classes.json' is damaged"),
    Case(
        "resume changes the model's shape",
        _resume_changed_shape,
        2,
        "model.generator_width; the run directory is unchanged",
        keep=("run",),
    ),  # noqa: E501
    Case(
        "resume with a missing data root",
        _resume_missing_root,
        2,
        "data.root; the run directory is unchanged",
        keep=("run",),
    ),
    Case("resume when every checkpoint is damaged", _resume_all_damaged, 2, "every checkpoint", keep=("run",)),
    Case("train over a run", lambda s: train_in(s.run()), 2, "already holds a run", keep=("run",)),
    Case(
        "resume as another task",
        lambda s: ["train", "--resume", "--plugin", "pix2pix", "--run-dir", str(s.run())],
        2,
        "trains task 'cgan'",
        keep=("run",),
    ),  # noqa: E501
    Case(
        "resume with --config",
        lambda s: ["train", "--resume", "--run-dir", str(s.run()), "--config", str(s.file("c.yaml", "{}"))],
        2,
        "--config cannot change",
        keep=("run",),
    ),  # noqa: E501
    Case("resume a plain folder", lambda s: ["train", "--resume", "--run-dir", str(s.tmp)], 2, "not a run directory"),
    Case(
        "evaluate unknown split", lambda s: ["evaluate", str(s.run()), "--split", "valid"], 2, "'valid' is not one of"
    ),
    # generate
    Case(
        "generate without inputs",
        lambda s: ["generate", str(s.run()), "--output", str(s.tmp / "o")],
        2,
        "Missing argument",
    ),  # noqa: E501
    Case(
        "generate unknown class",
        lambda s: ["generate", str(s.run()), "hexagon", "--output", str(s.tmp / "o")],
        2,
        "unknown class 'hexagon'",
    ),  # noqa: E501
    Case(
        "generate bad count",
        lambda s: ["generate", str(s.run()), "circle", "--count", "abc", "--output", str(s.tmp / "o")],
        2,
        "option --count",
    ),  # noqa: E501
    Case(
        "generate unknown option",
        lambda s: ["generate", str(s.run()), "circle", "--bogus", "1", "--output", str(s.tmp / "o")],
        2,
        "--bogus is not an option",
    ),  # noqa: E501
    Case("generate over the config", lambda s: _generate_into(s, "config.yaml"), 2, "run's own files", keep=("run",)),
    Case(
        "generate into checkpoints",
        lambda s: _generate_into(s, "checkpoints/x.png"),
        2,
        "run's own files",
        keep=("run",),
    ),  # noqa: E501
    Case(
        "generate from a missing run",
        lambda s: ["generate", str(s.tmp / "nowhere"), "circle", "--output", str(s.tmp / "o")],
        2,
        "does not exist",
    ),  # noqa: E501
    Case(
        "generate under a file",
        lambda s: ["generate", str(s.run()), "circle", "--output", str(_under_a_file(s) / "x.png")],
        2,
        "a_file",
        keep=("a_file",),
    ),  # noqa: E501
    # report
    Case(
        "report over the config",
        lambda s: ["report", str(s.run()), "--output", str(s.tmp / "run" / "config.yaml")],
        2,
        "run's own files",
        keep=("run",),
    ),  # noqa: E501
    Case(
        "report over metrics",
        lambda s: ["report", str(s.run()), "--output", str(s.tmp / "run" / "metrics.jsonl")],
        2,
        "run's own files",
        keep=("run",),
    ),  # noqa: E501
    Case("report into a folder", lambda s: ["report", str(s.run()), "--output", str(s.tmp)], 2, "is a folder"),
    Case(
        "report under a file",
        lambda s: ["report", str(s.run()), "--output", str(_under_a_file(s) / "r.html")],
        2,
        "a_file",
    ),  # noqa: E501
    Case(
        "report on a read-only file system",
        lambda s: ["report", str(s.run()), "--output", str(s.tmp / "r.html")],
        2,
        "read-only (choose a writable",
        patch=_read_only,
    ),
    Case("report of a plain folder", lambda s: ["report", str(s.tmp)], 2, "not a run directory"),
    Case(
        "report with a cut metrics line",
        lambda s: (
            s.file("run/metrics.jsonl", (s.run() / "metrics.jsonl").read_text() + '{"step": 9, "g_'),
            ["report", str(s.tmp / "run")],
        )[1],  # noqa: E501
        0,
        "report.html",
    ),
    # plugins
    Case("new plugin with a bad name", lambda s: ["new-plugin", "My-Plugin"], 2, "lowercase Python identifier"),
    Case(
        "new plugin over a folder",
        lambda s: ["new-plugin", "ok", "--output", str(s.file("busy/x", "keep").parent)],
        2,
        "not an empty folder",
        keep=("busy",),
    ),
    Case("config of an unknown task", lambda s: ["config", "nope"], 2, "unknown task or plugin 'nope'"),
    Case(
        "allow-list names nothing installed",
        lambda s: ["plugins"],
        0,
        "'nosuchplugin', which is no installed plugin",
        env={"CGP_PLUGINS": "cgan,nosuchplugin"},
    ),  # noqa: E501
    Case(
        "block-list names nothing installed",
        lambda s: ["plugins"],
        0,
        "'ghost', which is no installed plugin",
        env={"CGP_DISABLE_PLUGINS": "ghost"},
    ),  # noqa: E501
    Case(
        "task of a disabled plugin",
        lambda s: train(),
        2,
        "unknown task or plugin 'cgan'",
        env={"CGP_DISABLE_PLUGINS": "cgan"},
    ),  # noqa: E501
    Case(
        "run of a disabled plugin",
        _disabled_task_run,
        2,
        "unknown task or plugin 'cgan'",
        env={"CGP_DISABLE_PLUGINS": "cgan"},
    ),  # noqa: E501
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    args = ["train", "--plugin", "cgan", "--run-dir", str(run_dir)]
    steps = ["trainer.steps=4", "trainer.checkpoint_every=2", "trainer.sample_every=0", "eval.metrics=[]"]
    result = run_cli(*args, *sets(*TINY, *steps))
    assert result.exit_code == 0, result.output
    return run_dir


def snapshot(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_the_corpus_covers_every_area() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scratch = Scratch(tmp_path, trained)
    args = case.make(scratch)
    before = {relative: snapshot(tmp_path / relative) for relative in case.keep}
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    if case.patch is not None:
        case.patch(monkeypatch)
    result = run_cli(*args)
    output = result.output
    assert "Traceback" not in output, output
    assert result.exit_code == case.code, output
    if case.code == 0:
        assert case.phrase in output, output
    else:
        errors = [line for line in output.splitlines() if line.startswith("cgp: error:")]
        assert len(errors) == 1, output
        assert case.phrase in errors[0], output
    for relative, files in before.items():
        assert snapshot(tmp_path / relative) == files, f"{relative} changed"
    for relative in case.absent:
        assert not (tmp_path / relative).exists(), f"{relative} was left behind"


def test_a_failed_checkpoint_write_leaves_last_and_no_temporary_folder(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up while the next checkpoint is written: one line, ``last`` still loads, nothing
    half-written is left to eat the space a retry needs."""
    import cgp.core.checkpoint as checkpoint

    run = Scratch(tmp_path, trained).run()
    last_before = (run / "checkpoints" / "last").read_text()
    real_save = checkpoint.save_file
    calls = {"n": 0}

    def full_disk(tensors: dict, filename: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second tensor file of the next checkpoint
            real_save(tensors, filename)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)
        real_save(tensors, filename)

    monkeypatch.setattr(checkpoint, "save_file", full_disk)
    result = run_cli("train", "--resume", "--run-dir", str(run), *sets("trainer.steps=6"))
    errors = [line for line in result.output.splitlines() if line.startswith("cgp: error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert "disk is full" in errors[0] and "step 6" in errors[0], errors[0]
    assert (run / "checkpoints" / "last").read_text() == last_before
    assert not list((run / "checkpoints").glob(".tmp-*")), "a temporary checkpoint folder was left behind"
    monkeypatch.setattr(checkpoint, "save_file", real_save)
    assert run_cli("evaluate", str(run), "--json").exit_code == 0


def test_resume_after_a_damaged_last_checkpoint_falls_back_and_says_so(trained: Path, tmp_path: Path) -> None:
    run = Scratch(tmp_path, trained).run()
    flip_byte(run / "checkpoints" / "step_00000004" / "models.safetensors")
    result = run_cli("train", "--resume", "--run-dir", str(run), *sets("trainer.steps=6"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("step_00000004" in line and "falling back to 'step_00000002'" in line for line in lines), lines
    assert any("resumed from" in line and "step_00000002" in line for line in lines), lines
    assert (run / "checkpoints" / "last").read_text().strip() == "step_00000006"


def test_resume_with_a_changed_shape_leaves_the_run_resumable(trained: Path, tmp_path: Path) -> None:
    run = Scratch(tmp_path, trained).run()
    before = snapshot(run)
    refused = run_cli("train", "--resume", "--run-dir", str(run), *sets("model.embed_dim=4"))
    assert refused.exit_code == 2 and "this resume changes model.embed_dim" in refused.output
    assert snapshot(run) == before
    resumed = run_cli("train", "--resume", "--run-dir", str(run), *sets("trainer.steps=6"))
    assert resumed.exit_code == 0, resumed.output
    assert (run / "checkpoints" / "last").read_text().strip() == "step_00000006"


def test_generate_needs_nothing_outside_the_run(tmp_path: Path) -> None:
    """A run trained on a folder generates after the folder is gone: the class names live in the run."""
    scratch = Scratch(tmp_path, tmp_path)
    root = scratch.classes(classes=("cat", "dog"))
    run = tmp_path / "run"
    trained = run_cli(
        "train",
        "--plugin",
        "cgan",
        "--run-dir",
        str(run),
        *sets(*TINY, "trainer.steps=2", "trainer.batch_size=2", f"data.root={root}", "eval.metrics=[]"),
    )  # noqa: E501
    assert trained.exit_code == 0, trained.output
    assert json.loads((run / "classes.json").read_text()) == ["cat", "dog"]
    shutil.rmtree(root)
    result = run_cli("generate", str(run), "dog", "--count", "2", "--output", str(tmp_path / "dog.png"))
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "dog.png").size[0] > 0


def test_a_damaged_evaluation_cache_is_rebuilt_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The cache a metric keeps of the model it trains (cgan's judge, text2image's matcher): a broken
    key file or flipped weights are a warning and a retrain, never a traceback."""
    import torch

    from cgp.core.metrics import load_cached_model, save_cached_model

    model, key = torch.nn.Linear(3, 2), {"model": "judge", "steps": 10}
    save_cached_model(model, tmp_path, "judge", key)
    assert load_cached_model(torch.nn.Linear(3, 2), tmp_path, "judge", key)
    assert not load_cached_model(torch.nn.Linear(3, 2), tmp_path, "judge", {**key, "steps": 11}), "another key"
    for damage in ("key", "weights"):
        save_cached_model(model, tmp_path, "judge", key)
        if damage == "key":
            (tmp_path / "judge.json").write_text("{broken")
        else:
            flip_byte(tmp_path / "judge.safetensors", 20)
        caplog.clear()
        assert not load_cached_model(torch.nn.Linear(3, 2), tmp_path, "judge", key)
        assert any("is damaged" in r.getMessage() for r in caplog.records), damage
        assert not (tmp_path / "judge.json").exists() and not (tmp_path / "judge.safetensors").exists()
