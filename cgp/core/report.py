"""A self-contained HTML report of one run directory.

:func:`write_report` reads only the run directory (``config.yaml``, ``metrics.jsonl``, ``samples/``,
``eval/*.json``) and writes one HTML file that opens in a browser without a server: loss curves are
drawn with matplotlib and every image, sound and video is embedded as a base64 data URI. A media
file larger than :data:`MAX_EMBED_BYTES` is listed by name instead of embedded.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cgp.core.errors import ConfigError
from cgp.core.rundir import SAMPLE_STEP, RunDir, write_atomic
from cgp.core.summary import SHORT_RUN_FRACTION, baseline_verdicts

MAX_EMBED_BYTES = 20 * 1024 * 1024
"""A single media file above this size is listed by name, not embedded."""

EARLIER_STEPS = 5
"""How many sample steps before the latest one the report embeds (images only)."""

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".svg": "image/svg+xml",
}
AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}
VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
_MEDIA_TYPES = IMAGE_TYPES | AUDIO_TYPES | VIDEO_TYPES

_AUX_KEYS = ("lr_g", "lr_d", "steps_per_sec")
_SKIPPED_KEYS = ("step", "time")

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
.path { color: #666; font-family: monospace; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.75em; text-align: left; }
td.num { text-align: right; font-family: monospace; }
img.plot { max-width: 100%; }
.media { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0; }
figure img, figure video { max-width: 100%; min-width: min(512px, 100%); image-rendering: pixelated; }
.warning { background: #fff4e0; border-left: 4px solid #e0a030; padding: 0.5em 1em; }
.verdict { font-weight: 600; }
figcaption { font-size: 0.85em; color: #555; font-family: monospace; }
.empty { color: #888; font-style: italic; }
"""


@dataclass
class _Series:
    """Points of one metric, keyed by step."""

    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, step: float, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)

    def sorted_points(self) -> tuple[list[float], list[float]]:
        pairs = sorted(zip(self.steps, self.values, strict=True))
        return [s for s, _ in pairs], [v for _, v in pairs]


def write_report(run: RunDir, output: Path | None = None) -> Path:
    """Write the HTML report of ``run`` to ``output`` (default ``run.root / "report.html"``).

    Raises :class:`~cgp.core.errors.CheckpointError` when ``run`` is not a run directory
    (no ``config.yaml``). Returns the path written.
    """
    config = run.read_config()
    output = Path(output) if output is not None else run.root / "report.html"
    if run.owns(output):
        raise ConfigError(f"--output '{output}' would overwrite the run's own files; write the report elsewhere")
    if output.is_dir():
        raise ConfigError(f"--output '{output}' is a folder; give the report's file name (e.g. report.html)")
    rows = run.read_metrics()
    body = "\n".join(
        [
            _header_section(run, config),
            _progress_section(rows, config),
            _curves_section(rows),
            _metrics_section(rows, run.eval),
            _samples_section(run.samples),
        ]
    )
    title = f"cgp report: {config['task']}"
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output, page)
    return output


# -- sections ------------------------------------------------------------------------------------


def _header_section(run: RunDir, config: dict[str, Any]) -> str:
    config_text = run.config_path.read_text()
    return (
        f"<h1>{_esc(str(config['task']))}</h1>\n"
        f'<p class="path">{_esc(str(run.root.resolve()))}</p>\n'
        "<details><summary>Resolved config (config.yaml)</summary>\n"
        f"<pre>{_esc(config_text)}</pre>\n</details>"
    )


def _curves_section(rows: list[dict[str, Any]]) -> str:
    parts = ["<h2>Loss curves</h2>"]
    train, evals = _split_series(rows)
    if not train and not evals:
        parts.append('<p class="empty">No metrics logged yet (metrics.jsonl is missing or empty).</p>')
        return "\n".join(parts)
    if train:
        figure = _training_figure(train, curve_groups(rows))
        parts.append(_img_tag(_png_data_uri(figure), "training curves", "plot"))
    else:
        parts.append('<p class="empty">No training metrics logged yet.</p>')
    curves = {k: v for k, v in evals.items() if len(set(v.steps)) > 1}
    points = {k: v for k, v in evals.items() if k not in curves}
    if evals:
        parts.append("<h3>Evaluation</h3>")
    if curves:
        parts.append(_img_tag(_png_data_uri(_eval_figure(curves)), "evaluation curves", "plot"))
    if points:  # a metric evaluated once is a number, not a plot
        rows_ = [(k.removeprefix("eval/"), _fmt(s.steps[-1]), _fmt(s.values[-1])) for k, s in sorted(points.items())]
        parts.append(_table(("metric (evaluated once)", "step", "value"), rows_))
    return "\n".join(parts)


def _progress_section(rows: list[dict[str, Any]], config: dict[str, Any]) -> str:
    """A warning when the logged training stopped far short of ``trainer.steps``."""
    planned = _number(config.get("trainer", {}).get("steps"))
    logged = [s for s in (_number(r.get("step")) for r in rows if "g_loss" in r) if s is not None]
    if not planned or not logged or max(logged) >= planned * SHORT_RUN_FRACTION:
        return ""
    return (
        f'<p class="warning">Training stopped at step {max(logged):.0f} of trainer.steps={planned:.0f} '
        "(or is still running): the samples and metrics below are from a short run and will be weak. "
        "Continue it with <code>cgp train --resume --run-dir RUN_DIR</code>.</p>"
    )


def _metrics_section(rows: list[dict[str, Any]], eval_dir: Path) -> str:
    parts = ["<h2>Metrics</h2>"]
    latest = _latest_eval_values(rows)
    verdicts = baseline_verdicts({k.removeprefix("eval/"): v for k, (_, v) in latest.items()})
    records = _eval_records(eval_dir)
    if not verdicts and records:  # no evaluation logged during training: the first cgp evaluate file
        verdicts = baseline_verdicts(records[0][1]["metrics"])
    parts += [f'<p class="verdict">{_esc(line)}</p>' for line in verdicts]
    if latest:
        parts.append("<h3>Latest evaluation during training (metrics.jsonl)</h3>")
        parts.append(_table(("metric", "step", "value"), [(k, str(s), _fmt(v)) for k, (s, v) in latest.items()]))
    for path, record in records:
        caption = f"{path.name}: split {record.get('split', '?')}, step {record.get('step', '?')}"
        if record.get("ema"):
            caption += " (EMA)"
        parts.append(f"<h3>{_esc(caption)}</h3>")
        metrics = record["metrics"]
        parts.append(_table(("metric", "value"), [(str(k), _fmt(metrics[k])) for k in sorted(metrics)]))
    if len(parts) == 1:
        parts.append('<p class="empty">No evaluation metrics yet.</p>')
    return "\n".join(parts)


def _samples_section(samples_dir: Path) -> str:
    parts = ["<h2>Samples</h2>"]
    by_step, unstepped = _group_samples(samples_dir)
    if not by_step and not unstepped:
        parts.append('<p class="empty">No samples written yet.</p>')
        return "\n".join(parts)
    steps = sorted(by_step)
    if steps:
        latest = steps[-1]
        parts.append(f"<h3>Latest: step {latest}</h3>")
        parts.append(_media_block(by_step[latest], samples_dir, images_only=False))
    earlier = steps[:-1][-EARLIER_STEPS:]
    if earlier:
        parts.append(f"<details><summary>Earlier steps ({len(earlier)} most recent)</summary>")
        for step in reversed(earlier):
            parts.append(f"<h4>Step {step}</h4>")
            parts.append(_media_block(by_step[step], samples_dir, images_only=True))
        parts.append("</details>")
    if unstepped:
        names = "".join(f"<li>{_esc(_rel(p, samples_dir))}</li>" for p in unstepped)
        summary = "Other files in samples/ (no step in the name)"
        parts.append(f"<details><summary>{summary}</summary><ul>{names}</ul></details>")
    return "\n".join(parts)


# -- metrics --------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for strings ("nan", "inf"), booleans and non-finite numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _split_series(rows: list[dict[str, Any]]) -> tuple[dict[str, _Series], dict[str, _Series]]:
    """Finite points per metric: training metrics and ``eval/`` metrics."""
    train: dict[str, _Series] = {}
    evals: dict[str, _Series] = {}
    for row in rows:
        step = _number(row.get("step"))
        if step is None:
            continue
        for key, raw in row.items():
            value = _number(raw)
            if key in _SKIPPED_KEYS or value is None:
                continue
            target = evals if key.startswith("eval/") else train
            target.setdefault(key, _Series()).add(step, value)
    return train, evals


def _latest_eval_values(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    """The last logged (step, value) of each ``eval/`` metric, sorted by name."""
    latest: dict[str, tuple[Any, Any]] = {}
    for row in rows:
        for key, value in row.items():
            if key.startswith("eval/"):
                latest[key] = (row.get("step", "?"), value)
    return dict(sorted(latest.items()))


def _eval_records(eval_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """``eval/*.json`` files written by ``cgp evaluate`` (those holding a "metrics" dict)."""
    if not eval_dir.is_dir():
        return []
    records = []
    for path in sorted(eval_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and isinstance(record.get("metrics"), dict):
            records.append((path, record))
    return records


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """An HTML table; every column after the first is right-aligned (values)."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{_esc(c)}</td>" if i == 0 else f'<td class="num">{_esc(c)}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- figures --------------------------------------------------------------------------------------


def _generator_terms(rows: list[dict[str, Any]]) -> set[str] | None:
    """The generator side's term names, as the trainer logged them (``sides`` in each training row);
    None for a run logged before sides were recorded."""
    names: set[str] = set()
    recorded = False
    for row in rows:
        sides = row.get("sides")
        if isinstance(sides, dict) and isinstance(sides.get("g"), list):
            recorded = True
            names |= {name for name in sides["g"] if isinstance(name, str)}
    return names | {"g_loss"} if recorded else None


def curve_groups(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The training curves' names by panel: ``discriminator``, ``generator`` (by the sides the
    trainer logged; by the ``g_`` prefix for runs logged before sides were recorded) and ``aux``
    (learning rates, speed)."""
    train, _ = _split_series(rows)
    generator_terms = _generator_terms(rows)
    groups: dict[str, list[str]] = {"discriminator": [], "generator": [], "aux": []}
    for name in sorted(train):
        if name in _AUX_KEYS or name.startswith("lr_"):
            groups["aux"].append(name)
        elif name.startswith("g_") if generator_terms is None else name in generator_terms:
            groups["generator"].append(name)
        else:
            groups["discriminator"].append(name)
    return groups


def _training_figure(series: dict[str, _Series], groups: dict[str, list[str]]) -> Figure:
    fig = Figure(figsize=(10, 8.5), layout="constrained")
    top, middle, bottom = fig.subplots(3, 1, sharex=True, height_ratios=[3, 3, 1.5])
    _plot_lines(top, {k: series[k] for k in groups["discriminator"]}, "discriminator side")
    _plot_lines(middle, {k: series[k] for k in groups["generator"]}, "generator side")
    _plot_aux(bottom, {k: series[k] for k in groups["aux"]})
    bottom.set_xlabel("step")
    return fig


def _eval_figure(series: dict[str, _Series]) -> Figure:
    """One small axes per metric: evaluation metrics rarely share a scale."""
    names = sorted(series)
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(3.6 * ncols + 0.4, 2.8 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        steps, values = series[name].sorted_points()
        ax.plot(steps, values, marker="o", markersize=3)
        ax.set_title(name.removeprefix("eval/"), fontsize=10)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return fig


def _plot_lines(ax: Axes, series: dict[str, _Series], title: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(True, alpha=0.3)
    if not series:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="gray")
        return
    for name in sorted(series):
        steps, values = series[name].sorted_points()
        ax.plot(steps, values, label=name, linewidth=1.2, marker="o" if len(steps) == 1 else None)
    ax.legend(fontsize=8, loc="best")


def _plot_aux(ax: Axes, series: dict[str, _Series]) -> None:
    """Learning rates on the left axis, steps per second on a twin right axis."""
    rates = {k: s for k, s in series.items() if k != "steps_per_sec"}
    _plot_lines(ax, rates, "learning rate / throughput")
    ax.set_ylabel("lr", fontsize=8)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
    speed = series.get("steps_per_sec")
    if speed is None:
        return
    twin = ax.twinx()
    steps, values = speed.sorted_points()
    twin.plot(steps, values, color="gray", linestyle="--", linewidth=1, label="steps_per_sec")
    twin.set_ylabel("steps/s", fontsize=8)
    twin.legend(fontsize=8, loc="lower right")


def _png_data_uri(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# -- samples --------------------------------------------------------------------------------------


def _group_samples(samples_dir: Path) -> tuple[dict[int, list[Path]], list[Path]]:
    """Files under ``samples_dir`` grouped by the step in their relative path; the rest separately."""
    by_step: dict[int, list[Path]] = {}
    unstepped: list[Path] = []
    if not samples_dir.is_dir():
        return by_step, unstepped
    for path in sorted(p for p in samples_dir.rglob("*") if p.is_file()):
        match = SAMPLE_STEP.search(_rel(path, samples_dir))
        if match is None:
            unstepped.append(path)
        else:
            by_step.setdefault(int(match.group(1)), []).append(path)
    return by_step, unstepped


def _media_block(paths: list[Path], samples_dir: Path, *, images_only: bool) -> str:
    kinds = IMAGE_TYPES if images_only else _MEDIA_TYPES
    items: list[str] = []
    not_embedded: list[str] = []
    for path in paths:
        name = _rel(path, samples_dir)
        if path.suffix.lower() not in kinds:
            not_embedded.append(f"{name} ({'earlier steps embed images only' if images_only else 'not media'})")
            continue
        size = path.stat().st_size
        if size > MAX_EMBED_BYTES:
            not_embedded.append(f"{name} ({size / 2**20:.1f} MB, too large to embed)")
            continue
        items.append(f"<figure>{_media_tag(path, name)}<figcaption>{_esc(name)}</figcaption></figure>")
    out = f'<div class="media">{"".join(items)}</div>' if items else ""
    if not_embedded:
        out += "<p>Not embedded:</p><ul>" + "".join(f"<li>{_esc(n)}</li>" for n in not_embedded) + "</ul>"
    return out or '<p class="empty">No files at this step.</p>'


def _media_tag(path: Path, name: str) -> str:
    suffix = path.suffix.lower()
    uri = _file_data_uri(path, _MEDIA_TYPES[suffix])
    if suffix in AUDIO_TYPES:
        return f'<audio controls src="{uri}"></audio>'
    if suffix in VIDEO_TYPES:
        return f'<video controls src="{uri}"></video>'
    return _img_tag(uri, name)


# -- helpers --------------------------------------------------------------------------------------


def _img_tag(uri: str, alt: str, css_class: str | None = None) -> str:
    cls = f' class="{css_class}"' if css_class else ""
    return f'<img src="{uri}" alt="{_esc(alt)}"{cls}>'


def _file_data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
