"""The ``cgp`` command line (click)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import errno
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from cgp.core.errors import CgpError, CheckpointError, ConfigError, TrainingInterrupted

log = logging.getLogger("cgp")


class UserError(click.ClickException):
    """A :class:`CgpError` shown as one line, with its own exit code."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"cgp: error: {self.format_message()}", err=True)


class CgpGroup(click.Group):
    """Turns every user-fixable failure into one ``cgp: error:`` line and an exit status (docs/cli.md);
    anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrainingInterrupted as exc:
            raise UserError(str(exc), 143 if exc.signal_name == "SIGTERM" else 130) from None
        except CgpError as exc:
            raise UserError(_one_line(str(exc))) from None
        except OSError as exc:
            if ctx.params.get("verbose"):
                raise
            from cgp.core.checkpoint import os_reason

            where = f"'{exc.filename}': " if exc.filename else ""
            raise UserError(f"{where}{os_reason(exc)}", 2 if exc.errno in USER_FIXABLE_ERRNOS else 1) from None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("standalone_mode", None)  # errors are shown here, each on one line
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "cgp"
            click.echo(f"cgp: error: {exc.format_message()} (see '{command} -h')", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("cgp: error: aborted", err=True)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


USER_FIXABLE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOENT,
    errno.EEXIST,
    errno.ENAMETOOLONG,
}


def _one_line(message: str) -> str:
    """A data-loader worker re-raises a worker's error with the worker's traceback in its message;
    the user needs only the original error's own line."""
    if "Original Traceback" in message:
        last = [line for line in message.strip().splitlines() if line.strip()][-1]
        return last.split(": ", 1)[1] if last.startswith("cgp.") and ": " in last else last
    return message


def _setup_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    if int(os.environ.get("RANK", "0")) != 0:
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)


@click.group(cls=CgpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Debug logging (with CGP_TRACE_PLUGINS=1: every hook call).")
@click.version_option(package_name="cgp", prog_name="cgp")
def cli(verbose: bool) -> None:
    """cgp: train and run conditional GANs; modalities come from plugins."""
    _setup_logging(verbose)


# -- plugins ---------------------------------------------------------------------------------------


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verbose", "-v", is_flag=True, help="Also each plugin's module, API version and hooks.")
def plugins_cmd(as_json: bool, verbose: bool) -> None:
    """List installed plugins and what each registered (tasks, losses, metrics, readers); and the
    plugins that failed, with why."""
    from cgp.api import VERSION
    from cgp.core.plugins import load_plugins

    host = load_plugins()
    infos = [dataclasses.asdict(i) for i in host.infos.values()]
    failures = [dataclasses.asdict(f) for f in host.failures]
    if as_json:
        api = f"{VERSION[0]}.{VERSION[1]}"
        click.echo(json.dumps({"api": api, "plugins": infos, "failed": failures}, indent=2))
        return
    if verbose:
        click.echo(f"cgp plugin API {VERSION[0]}.{VERSION[1]}")
    for info in infos:
        origin = f"{info['distribution']} {info['version']}" if info["distribution"] else "(not from a distribution)"
        click.echo(f"{info['name']}  [{origin}]")
        if verbose:
            needs = info["api"] or "(not stated)"
            click.echo(f"    module: {info['module']}, needs API {needs}")
        for key in ("tasks", "losses", "metrics", "datasets", "loggers"):
            if info[key]:
                click.echo(f"    {key}: {', '.join(info[key])}")
        if verbose:
            click.echo(f"    hooks: {', '.join(info['hooks']) or '-'}")
    for failure in host.failures:
        click.echo(f"FAILED {failure.message()}", err=True)


@cli.command("new-plugin")
@click.argument("name")
@click.option("--output", type=click.Path(path_type=Path), help="Folder to write (default ./cgp-NAME).")
def new_plugin_cmd(name: str, output: Path | None) -> None:
    """Write a complete, installable plugin package with a working task called NAME."""
    from cgp.scaffold import new_plugin

    for path in new_plugin(name, output):
        click.echo(str(path))


# -- config ----------------------------------------------------------------------------------------


@cli.command("config")
@click.argument("task_name", metavar="TASK")
@click.option("--schema", is_flag=True, help="Print the JSON schema instead of the defaults.")
def config_cmd(task_name: str, schema: bool) -> None:
    """Print TASK's default config as commented YAML (or its JSON schema)."""
    from cgp.core.config import commented_yaml
    from cgp.core.plugins import load_plugins

    task_cls = load_plugins().task(task_name)
    if schema:
        click.echo(json.dumps(task_cls.config_model.model_json_schema(), indent=2))
    else:
        click.echo(commented_yaml(task_cls.default_config()), nl=False)


# -- train -----------------------------------------------------------------------------------------


def _default_run_dir(task: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{task}-{stamp}"


@cli.command("train")
@click.option("--plugin", "task_name", help="Task (or single-task plugin) to train; read from the run on --resume.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML or TOML config file.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--run-dir", type=click.Path(path_type=Path), help="Where the run is written (default runs/TASK-TIME).")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True, help="Local processes (DDP).")
def train_cmd(
    task_name: str | None,
    config_file: Path | None,
    overrides: tuple[str, ...],
    run_dir: Path | None,
    resume: bool,
    nproc: int,
) -> None:
    """Train a task; writes config.yaml, metrics.jsonl, checkpoints/, samples/ and eval/ into the run dir."""
    from cgp.core import distributed as ddp
    from cgp.core.config import apply_overrides, changed_keys, dump_yaml, resolve_config, validate_config
    from cgp.core.plugins import load_plugins
    from cgp.core.rundir import RunDir
    from cgp.core.trainer import Trainer, resolve_device

    if resume and run_dir is None:
        raise ConfigError("--resume needs --run-dir pointing at the run to continue")
    if not resume and task_name is None:
        raise ConfigError("missing --plugin TASK (run 'cgp plugins' to list tasks)")
    if run_dir is not None and run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--run-dir '{run_dir}' is a file; pass a folder (new or holding a run)")

    # the whole config first: a mistake is found before anything is launched or written
    host = load_plugins()
    resume_from = None
    changed: list[str] = []
    if resume:
        assert run_dir is not None
        run = RunDir(run_dir)
        data = run.read_config()
        if task_name is not None and host.task(task_name).name != data["task"]:
            raise ConfigError(f"run '{run_dir}' trains task '{data['task']}', not '{task_name}'")
        task_cls = host.task(data["task"])
        if config_file is not None:
            raise ConfigError("--config cannot change a run being resumed; use --set for the keys to change")
        stored = validate_config(task_cls.config_model, data)
        config = apply_overrides(task_cls.config_model, data, overrides)
        changed = changed_keys(stored.model_dump(mode="json"), config.model_dump(mode="json"))
        resume_from = run.resumable_checkpoint()
    else:
        task_cls = host.task(task_name)  # type: ignore[arg-type]
        config = resolve_config(task_cls.config_model, task_cls.name, config_file, overrides)
        run = RunDir(run_dir or _default_run_dir(task_cls.name))
        if run.holds_run():
            raise CheckpointError(
                f"run directory '{run.root}' already holds a run; "
                "pass --resume to continue it or choose another --run-dir"
            )

    if nproc > 1 and ddp.launched_world_size() == 1:
        if config.trainer.batch_size % nproc:
            raise ConfigError(
                f"trainer.batch_size={config.trainer.batch_size} does not divide evenly across --nproc {nproc}; "
                "choose a batch size that is a multiple of it"
            )
        argv = ["train", "--run-dir", str(run.root), "--plugin", task_cls.name]
        if config_file:
            argv += ["--config", str(config_file)]
        for item in overrides:
            argv += ["--set", item]
        if resume:
            argv.append("--resume")
        code = ddp.launch(nproc, argv)
        if code:
            raise UserError(f"distributed training exited with status {code}", code)
        return

    dist_info = ddp.init_distributed(resolve_device(config.trainer.device))
    created = not run.root.exists()
    try:
        if dist_info.is_main and not resume:
            run.create(fresh=True)
            run.write_config(dump_yaml(config))
        ddp.barrier(dist_info)
        try:
            # a resume writes nothing until the checkpoint has loaded into this config's models and
            # the data has opened; a new run that cannot start removes the folder it made
            task = task_cls(config, host)
            trainer = Trainer(task, run, host, dist_info)
            trainer.prepare(resume_from)
        except CgpError as exc:
            if resume and changed:
                raise CgpError(
                    f"{_one_line(str(exc))} (this resume changes {', '.join(changed)}; the run directory is unchanged)"
                ) from None
            if created and dist_info.is_main:
                shutil.rmtree(run.root, ignore_errors=True)
            raise
        if dist_info.is_main:
            if resume:
                run.create(fresh=False)
                run.write_config(dump_yaml(config))
                if changed:
                    log.info("this resume changes %s (the checkpoints keep the earlier config)", ", ".join(changed))
            log.info("run directory: %s", run.root)
        status = trainer.fit()
        if dist_info.is_main:
            done = "completed" if status == "completed" else "stopped by trainer.max_minutes"
            log.info("training %s at step %d; run directory: %s", done, trainer.step, run.root)
    finally:
        ddp.shutdown(dist_info)


# -- evaluate / generate / report ------------------------------------------------------------------


def _open_run(run_dir: Path, device: str | None) -> tuple[Any, Any, Any, Any]:
    from cgp.core.config import validate_config
    from cgp.core.plugins import load_plugins
    from cgp.core.rundir import RunDir
    from cgp.core.trainer import load_models_for_inference, resolve_device

    run = RunDir(run_dir)
    data = run.read_config()
    host = load_plugins()
    task_cls = host.task(data["task"])
    config = validate_config(task_cls.config_model, data)
    task = task_cls(config, host)
    task.setup(run.root, train=False)
    dev = resolve_device(device or "cpu")
    loaded = load_models_for_inference(task, run.last_checkpoint(), dev)
    return run, task, loaded, dev


@cli.command("evaluate")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--split",
    type=click.Choice(["test", "train"]),
    default="test",
    show_default=True,
    help="Dataset split to evaluate.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of metric names to numbers.")
@click.option("--device", default=None, help="cpu (default) or cuda[:N]; CPU results are bit-reproducible.")
@click.option(
    "--metrics",
    "metric_names",
    default=None,
    metavar="A,B",
    help="Metrics to compute instead of the run's eval.metrics.",
)
def evaluate_cmd(run_dir: Path, split: str, as_json: bool, device: str | None, metric_names: str | None) -> None:
    """Compute the task's metrics for the run's last checkpoint."""
    import torch

    from cgp.core.seeding import isolated_rng
    from cgp.core.summary import baseline_verdicts
    from cgp.core.trainer import EVAL_SEED

    run, task, loaded, dev = _open_run(run_dir, device)
    if metric_names is not None:
        names = [name.strip() for name in metric_names.split(",") if name.strip()]
        if not names:
            raise ConfigError("--metrics needs at least one metric name (run 'cgp plugins' to list them)")
        for name in names:
            task.host.metrics.get(name)  # an unknown name is one line listing the installed metrics
        task.config.eval.metrics = names  # this evaluation only; the run's config.yaml is unchanged
    run.eval.mkdir(parents=True, exist_ok=True)
    with isolated_rng(EVAL_SEED), torch.no_grad():
        results = task.evaluate(loaded.models, split, run.eval, dev)
    record = {"step": loaded.step, "split": split, "ema": loaded.used_ema, "metrics": results}
    (run.eval / f"{split}.json").write_text(json.dumps(record, indent=2) + "\n")
    if as_json:
        click.echo(json.dumps(results, sort_keys=True))
    else:
        click.echo(f"{run.root} step {loaded.step} split {split}")
        for key in sorted(results):
            click.echo(f"  {key:32s} {results[key]:.6g}")
        for line in baseline_verdicts(results):
            click.echo(line)


@cli.command(
    "generate",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True, help="Output file or directory.")
@click.option("--device", default=None, help="cpu (default) or cuda[:N].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for noise and dropout.")
def generate_cmd(run_dir: Path, inputs: tuple[str, ...], output: Path, device: str | None, seed: int) -> None:
    """Run the trained generator on INPUTs (prompts, files, folders; the task says which).

    Task-specific options are given as --name value (e.g. --direction AtoB).
    """
    import torch

    from cgp.core.seeding import isolated_rng

    run, task, loaded, _ = _open_run(run_dir, device)
    if run.owns(output):
        raise ConfigError(f"--output '{output}' would overwrite the run's own files; write elsewhere")
    switches = {
        name for name, field in task.generate_options.model_fields.items() if field.annotation in (bool, "bool")
    }
    positional, options = _split_task_options(inputs, switches)
    if not positional and not options:
        raise ConfigError("cgp generate needs at least one INPUT (or a task option that names inputs, e.g. --prompts)")
    parsed = task.parse_generate_options(options)
    with isolated_rng(seed), torch.no_grad():
        paths = task.generate(loaded.models, positional, output, parsed)
    for path in paths:
        click.echo(str(path))


def _split_task_options(items: tuple[str, ...], switches: set[str] = frozenset()) -> tuple[list[str], dict[str, str]]:
    """Inputs and ``--name value`` task options; a boolean option (in ``switches``) given alone is on."""
    positional: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(items):
        item = items[i]
        if item.startswith("--") and len(item) > 2:
            key = item[2:]
            if "=" in key:
                key, value = key.split("=", 1)
            elif key.replace("-", "_") in switches:
                value = "true"
            elif i + 1 < len(items):
                value = items[i + 1]
                i += 1
            else:
                raise ConfigError(f"option {item} needs a value")
            options[key.replace("-", "_")] = value
        else:
            positional.append(item)
        i += 1
    return positional, options


@cli.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--output", type=click.Path(path_type=Path), help="HTML file (default RUN_DIR/report.html).")
def report_cmd(run_dir: Path, output: Path | None) -> None:
    """Write a self-contained HTML page: loss curves, metrics, latest samples."""
    from cgp.core.report import write_report
    from cgp.core.rundir import RunDir

    path = write_report(RunDir(run_dir), output)
    click.echo(str(path))


@cli.command("export")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["torchscript", "exported", "onnx"]),
    default="torchscript",
    show_default=True,
    help="torchscript (torch.jit), exported (torch.export .pt2) or onnx (needs the onnx extra).",
)
@click.option("--output", type=click.Path(path_type=Path), help="File to write (default RUN_DIR/export/NAME.EXT).")
@click.option("--generator", default="main", show_default=True, help="Which generator (CycleGAN: a2b or b2a).")
def export_cmd(run_dir: Path, fmt: str, output: Path | None, generator: str) -> None:
    """Write the trained generator (with its condition encoder) as a standalone model file, checked
    against the eager model before it is written."""
    from cgp.core.export import default_output, export

    run, task, loaded, _ = _open_run(run_dir, "cpu")
    name = (
        generator if generator != "main" or "main" in loaded.models.generators else next(iter(loaded.models.generators))
    )
    output = output or default_output(fmt, run.root, name)
    if run.owns(output):
        raise ConfigError(f"--output '{output}' would overwrite the run's own files; write elsewhere")
    if output.is_dir():
        raise ConfigError(
            f"--output '{output}' is a folder; give the file name (e.g. generator{output.suffix or '.pt'})"
        )
    spec = task.export_spec(loaded.models, name)
    path = export(spec, fmt, output)
    click.echo(str(path))
    if spec.notes:
        click.echo(spec.notes)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="cgp")
