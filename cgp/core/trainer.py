"""The generic adversarial trainer.

Owns everything that is not modality-specific: optimizers (generator side, discriminator side),
learning-rate schedules, n_critic, mixed precision, gradient clipping, EMA, seeding, checkpoints
and resume, metrics logging, samples and evaluation on a schedule, NaN detection, signals, and
data-parallel training. The task supplies models, objective, data, samples and metrics.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cgp.core import distributed as ddp
from cgp.core.checkpoint import (
    Checkpoint,
    load_checkpoint,
    load_optimizer_state,
    optimizer_state,
    save_checkpoint,
    split_prefix,
)
from cgp.core.config import OptimizerConfig, RunConfig
from cgp.core.cpu_threads import ThreadGovernor
from cgp.core.data import to_device, training_loader
from cgp.core.ema import WeightAverage
from cgp.core.errors import CheckpointError, ConfigError, NonFiniteLossError, PluginError, TrainingInterrupted
from cgp.core.interfaces import GanModels
from cgp.core.objective import Terms
from cgp.core.plugins import PluginHost
from cgp.core.progress import Progress
from cgp.core.rundir import RunDir
from cgp.core.schedules import lr_factor
from cgp.core.seeding import isolated_rng, rng_state, seed_everything, set_deterministic, set_rng_state
from cgp.core.summary import SHORT_RUN_FRACTION
from cgp.core.task import Task

log = logging.getLogger("cgp.train")

EVAL_SEED = 12345
"""Samples and evaluation draw from this fixed seed, so they are comparable across steps and runs."""
SLOWDOWN_FACTOR = 4.0
"""A logged step rate this many times below the best one so far is reported (once per run)."""


def resolve_device(name: str, dist_info: ddp.DistInfo | None = None) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"device '{name}' is not a device name; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"trainer.device={name} but no CUDA device is available; use trainer.device=cpu")
        if device.index is None:
            local = dist_info.local_rank if dist_info else 0
            device = torch.device("cuda", local)
    elif device.type not in ("cpu", "mps"):
        raise ConfigError(f"trainer.device={name} is not a device this trainer supports (auto, cpu, cuda, cuda:N)")
    return device


def make_optimizer(params: list[nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    adam = cfg.name in ("adam", "adamw")
    if cfg.fused and not adam:
        raise ConfigError(f"fused is available for adam and adamw only, not {cfg.name}; set fused=false")
    if cfg.fused is None:  # the same update as the per-tensor loop, in one kernel: on where torch has it
        use_fused = adam and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    else:
        use_fused = cfg.fused
    fused = {"fused": True} if use_fused else {}
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, **fused)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, **fused)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.betas[0], weight_decay=cfg.weight_decay)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware (emulated bf16 on a CPU is slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_precision(precision: str, device: torch.device) -> str:
    """``trainer.precision``, with ``auto`` made ``bf16`` or ``fp32`` for this device."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def uses_spectral_norm(module: nn.Module) -> bool:
    """Whether any submodule carries ``torch.nn.utils.spectral_norm``'s forward pre-hook."""
    from torch.nn.utils.spectral_norm import SpectralNorm

    return any(isinstance(h, SpectralNorm) for m in module.modules() for h in m._forward_pre_hooks.values())


def to_channels_last(module: nn.Module) -> None:
    """Every 4-D parameter and buffer in channels-last order, in place (5-D ones stay as they are)."""
    with torch.no_grad():
        for tensor in (*module.parameters(), *module.buffers()):
            if tensor.dim() == 4:
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No parameter gradients for ``module`` inside the block (the generator step's discriminator)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


class _SecondSignal(BaseException):
    """A second SIGINT/SIGTERM: the run stops at once, keeping the last checkpoint it saved."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _StopSignal:
    """Turns the first SIGINT/SIGTERM into a flag checked between steps; a second one interrupts."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:  # a second signal: stop now, without a checkpoint
            raise _SecondSignal(signal.Signals(signum).name)
        self.received = signal.Signals(signum).name
        log.warning(
            "%s received: finishing this step and saving a checkpoint (send it again to stop at once)", self.received
        )

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class _TermWindow:
    """Each term's running sum between two logged rows, and the side (``d`` or ``g``) it belongs to;
    a name used by both sides is an error rather than a silent merge."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.side: dict[str, str] = {}
        self.steps = 0
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()

    def add(self, d_terms: Terms, g_terms: Terms) -> None:
        for side, terms in (("d", d_terms), ("g", g_terms)):
            for name, value in terms.items():
                if self.side.setdefault(name, side) != side:
                    raise PluginError(
                        f"loss term '{name}' is reported by both the discriminator and the generator; "
                        "give the two terms different names"
                    )
                self.sums[name] = self.sums.get(name, 0.0) + float(value.detach())
        self.steps += 1

    def means(self) -> dict[str, float]:
        return {name: total / self.steps for name, total in self.sums.items()}

    def sides(self) -> dict[str, list[str]]:
        return {side: [name for name, s in self.side.items() if s == side] for side in ("d", "g")}

    def steps_per_second(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.steps / elapsed if elapsed > 0 else 0.0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside does not count towards :meth:`steps_per_second` or :meth:`cpu_share`."""
        began, cpu_began = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.started += time.perf_counter() - began
            self.cpu_started += time.process_time() - cpu_began

    def cpu_share(self, threads: int) -> tuple[float, float]:
        """(the process's CPU time over the window's wall time times ``threads``, the wall time)."""
        wall = time.perf_counter() - self.started
        cpu = time.process_time() - self.cpu_started
        return (cpu / (wall * threads) if wall > 0 else 1.0), wall


@dataclass
class LoadedModels:
    """Models restored for inference or evaluation: EMA weights when the run kept them."""

    models: GanModels
    step: int
    used_ema: bool


def load_weights(module: nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """``module.load_state_dict(tensors)``, with a mismatch (a key missing, unexpected, or of another
    shape: the checkpoint was made by a different config) as one line naming the first such key."""
    own = module.state_dict()
    missing = [k for k in own if k not in tensors]
    unexpected = [k for k in tensors if k not in own]
    reshaped = [k for k in own if k in tensors and tensors[k].shape != own[k].shape]
    if reshaped:
        key = reshaped[0]
        detail = f"'{key}' has shape {tuple(tensors[key].shape)} there and {tuple(own[key].shape)} in this config"
    elif missing or unexpected:
        key = (missing or unexpected)[0]
        detail = f"'{key}' is {'missing from it' if missing else 'not in this config'}"
    else:
        module.load_state_dict(tensors)
        return
    more = len(reshaped) + len(missing) + len(unexpected) - 1
    raise CheckpointError(
        f"checkpoint '{source}' was made by a different model: {detail}"
        + (f" ({more} more tensors differ)" if more else "")
    )


def load_models_for_inference(task: Task, checkpoint_path: Path, device: torch.device) -> LoadedModels:
    ckpt = load_checkpoint(checkpoint_path, groups=("models", "ema"))
    if "models" not in ckpt.tensors:
        raise CheckpointError(f"checkpoint '{checkpoint_path}' has no models.safetensors; it cannot be loaded")
    models = task.build_models()
    load_weights(models, ckpt.tensors["models"], checkpoint_path)
    used_ema = "ema" in ckpt.tensors
    if used_ema:
        load_weights(models.generator_side(), ckpt.tensors["ema"], checkpoint_path)
    models.to(device).eval()
    return LoadedModels(models, int(ckpt.meta["step"]), used_ema)


class Trainer:
    """Trains one task into one run directory."""

    def __init__(self, task: Task, run_dir: RunDir, host: PluginHost, dist_info: ddp.DistInfo | None = None) -> None:
        self.task = task
        self.config: RunConfig = task.config
        self.run = run_dir
        self.host = host
        self.dist = dist_info or ddp.DistInfo()
        cfg = self.config.trainer
        self.device = resolve_device(cfg.device, self.dist)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if cfg.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("trainer.precision=fp16 needs CUDA; use bf16 on CPU")
        precision = resolve_precision(cfg.precision, self.device)
        if cfg.precision == "auto" and self.dist.is_main:
            log.info("trainer.precision=auto: %s on this %s", precision, self.device.type)
        self.amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        # fp16: one loss scaler per side, since the two sides' gradients have unrelated magnitudes
        self.scalers = (
            {"generator": torch.amp.GradScaler("cuda"), "discriminator": torch.amp.GradScaler("cuda")}
            if cfg.precision == "fp16"
            else None
        )

        for name in self.config.eval.metrics:  # an unknown metric fails now, not after the training
            host.metrics.get(name)
        for name in self.config.logging.backends:
            host.loggers.get(name)
        set_deterministic(cfg.deterministic)
        if cfg.threads is not None:
            torch.set_num_threads(cfg.threads)
        # unset (and no OMP_NUM_THREADS): the trainer gives up threads while other processes hold the cores
        auto = self.device.type == "cpu" and cfg.threads is None and "OMP_NUM_THREADS" not in os.environ
        self.threads = ThreadGovernor(auto)
        if self.device.type == "cpu" and self.dist.is_main:
            log.info("cpu: %d threads, %s kernels", torch.get_num_threads(), torch.backends.cpu.get_cpu_capability())
        self._best_rate = 0.0
        self._slow_warned = False
        task.setup(run_dir.root, train=True)
        seed_everything(cfg.seed)  # identical initial weights on every rank
        self.models = task.build_models().to(self.device)
        if cfg.channels_last:
            to_channels_last(self.models)
        if cfg.compile:  # in place: the state dict keeps its keys, so checkpoints are unchanged
            for name, module in (*self.models.generators.items(), *self.models.discriminators.items()):
                if uses_spectral_norm(module):  # its power iteration updates buffers in place mid-graph
                    log.warning(
                        "trainer.compile: '%s' uses spectral norm, which torch.compile cannot train; eager", name
                    )
                    continue
                module.compile()
        self.objective = task.build_objective(self.models)
        # each rank draws its own noise from here on
        seed_everything(cfg.seed + 1_000_003 * self.dist.rank)
        self.g_params = self.models.generator_parameters()
        self.d_params = self.models.discriminator_parameters()
        self.g_opt = make_optimizer(self.g_params, self.config.optim.generator)
        # no discriminator (a regression-only model): no discriminator step at all
        self.d_opt = make_optimizer(self.d_params, self.config.optim.discriminator) if self.d_params else None
        self.generator_side = self.models.generator_side()  # one view of G's modules, for the EMA's updates
        self.ema = (
            WeightAverage(self.generator_side, cfg.ema.decay, cfg.ema.start_step, cfg.ema.warmup)
            if cfg.ema.enabled
            else None
        )
        self.step = 0
        self.batches_consumed = 0
        self._saved_step: int | None = None
        self._batches: Iterator[Any] | None = None
        self._resumed_from: Path | None = None

    # -- helpers -------------------------------------------------------------------------------

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def eval_models(self) -> GanModels:
        """The models used for samples and evaluation: the EMA generator side when EMA is on."""
        if self.ema is None:
            return self.models
        averaged = GanModels(
            dict(self.ema.module["generators"]), dict(self.models.discriminators), self.ema.module["condition"]
        )
        return averaged

    def _set_lr(self) -> None:
        factor = lr_factor(self.config.optim.schedule, self.step, self.config.trainer.steps)
        for opt, cfg in ((self.g_opt, self.config.optim.generator), (self.d_opt, self.config.optim.discriminator)):
            for group in opt.param_groups if opt is not None else []:
                group["lr"] = cfg.lr * factor

    def _check_finite(self, terms: Terms, loss: torch.Tensor) -> None:
        """Stop before a non-finite loss reaches the weights. ``loss`` is the terms' sum: one host read
        per update (a NaN or infinity in any term makes the sum non-finite); only a failing step reads
        the terms one by one, to name the culprit."""
        total = float(loss.detach())
        if ddp.any_across_ranks(not math.isfinite(total), self.dist):
            for name, value in terms.items():
                number = float(value.detach())
                if not math.isfinite(number):
                    raise NonFiniteLossError(name, self.step + 1, number)
            if math.isfinite(total):
                raise NonFiniteLossError("(on another rank)", self.step + 1, float("nan"))
            raise NonFiniteLossError("(the sum of the terms)", self.step + 1, total)

    def _update(self, terms: Terms, opt: torch.optim.Optimizer, params: list[nn.Parameter], side: str) -> None:
        loss = sum(terms.values())
        self._check_finite(terms, loss)
        opt.zero_grad(set_to_none=True)
        scaler = self.scalers[side] if self.scalers is not None else None
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
        else:
            loss.backward()
        ddp.average_gradients(params, self.dist)
        if self.config.trainer.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, self.config.trainer.grad_clip)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()

    # -- checkpoints ---------------------------------------------------------------------------

    def state(self, rng_states: list[tuple[dict[str, torch.Tensor], dict[str, Any]]]) -> Checkpoint:
        """Everything a resume needs; ``rng_states`` holds every rank's RNG state, rank order."""
        g_tensors, g_meta = optimizer_state(self.g_opt)
        d_tensors, d_meta = optimizer_state(self.d_opt) if self.d_opt is not None else ({}, {})
        rng_tensors = {f"rank{r}.{k}": v for r, (tensors, _) in enumerate(rng_states) for k, v in tensors.items()}
        rng_meta = {f"rank{r}": meta for r, (_, meta) in enumerate(rng_states)}
        tensors = {
            "models": self.models.state_dict(),
            "optimizers": {
                **{f"generator.{k}": v for k, v in g_tensors.items()},
                **{f"discriminator.{k}": v for k, v in d_tensors.items()},
            },
            "objective": self.objective.state_tensors(),
            "rng": rng_tensors,
        }
        if self.ema is not None:
            tensors["ema"] = self.ema.module.state_dict()
        meta = {
            "step": self.step,
            "batches_consumed": self.batches_consumed,
            "task": self.task.name,
            "optimizers": {"generator": g_meta, "discriminator": d_meta},
            "rng": rng_meta,
            "scalers": {k: v.state_dict() for k, v in self.scalers.items()} if self.scalers is not None else None,
            "world_size": self.dist.world_size,
            "config": self.config.model_dump(mode="json"),  # the run's config as it was at this step
        }
        return Checkpoint(tensors, meta)

    def save(self) -> Path | None:
        path = None
        rng_states = ddp.gather_objects(rng_state(), self.dist)
        if self.dist.is_main:
            checkpoint = self.state(rng_states)
            path = save_checkpoint(self.run.checkpoints, self.step, checkpoint, self.config.trainer.keep_checkpoints)
            self.host.checkpoint_saved(step=self.step, path=path)
        self._saved_step = self.step
        ddp.barrier(self.dist)
        return path

    def restore(self, path: Path) -> None:
        ckpt = load_checkpoint(path)
        t, meta = ckpt.tensors, ckpt.meta
        if meta.get("task", self.task.name) != self.task.name:
            raise CheckpointError(f"checkpoint '{path}' belongs to task '{meta['task']}', not '{self.task.name}'")
        for group in ("models", "optimizers", "rng"):
            if group not in t:
                raise CheckpointError(f"checkpoint '{path}' has no {group}.safetensors; it cannot be resumed")
        load_weights(self.models, t["models"], path)
        if self.ema is not None and "ema" in t:
            load_weights(self.ema.module, t["ema"], path)
        try:
            self._restore_state(t, meta)
        except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
            reason = " ".join(str(exc).split())[:120]
            raise CheckpointError(
                f"checkpoint '{path}' does not fit this run's optimizers or settings ({reason})"
            ) from None

    def _restore_state(self, t: dict[str, dict[str, torch.Tensor]], meta: dict[str, Any]) -> None:
        load_optimizer_state(self.g_opt, split_prefix(t["optimizers"], "generator."), meta["optimizers"]["generator"])
        if self.d_opt is not None:
            load_optimizer_state(
                self.d_opt, split_prefix(t["optimizers"], "discriminator."), meta["optimizers"]["discriminator"]
            )
        self.objective.load_state_tensors(t.get("objective", {}))
        if self.ema is not None and "ema" not in t:
            self.ema.module.load_state_dict(self.models.generator_side().state_dict())
        if self.scalers is not None and meta.get("scalers"):
            for side, scaler in self.scalers.items():
                scaler.load_state_dict(meta["scalers"][side])
        self.step = int(meta["step"])
        self._saved_step = self.step
        self.batches_consumed = int(meta["batches_consumed"])
        if meta.get("world_size", 1) == self.dist.world_size:
            prefix = f"rank{self.dist.rank}."
            set_rng_state(split_prefix(t["rng"], prefix), meta["rng"][f"rank{self.dist.rank}"])
        else:
            log.warning(
                "resuming with %d processes instead of %d: noise streams restart from the seed",
                self.dist.world_size,
                meta.get("world_size", 1),
            )
            seed_everything(self.config.trainer.seed + 7 * self.step + 1_000_003 * self.dist.rank)

    # -- samples and evaluation ----------------------------------------------------------------

    def write_samples(self) -> None:
        if self.dist.is_main:
            with isolated_rng(EVAL_SEED), torch.no_grad():
                models = self.eval_models()
                was_training = models.training
                models.eval()
                paths = self.task.write_samples(models, self.run.samples, self.step)
                models.train(was_training)
            self.host.samples_written(step=self.step, paths=paths)
        ddp.barrier(self.dist)

    def evaluate(self) -> dict[str, float]:
        results: dict[str, float] = {}
        if self.dist.is_main and self.config.eval.metrics:
            models = self.eval_models()
            was_training = models.training
            models.eval()
            with isolated_rng(EVAL_SEED), torch.no_grad():
                results = self.task.evaluate(models, self.config.eval.split, self.run.eval, self.device)
            models.train(was_training)
            self.run.append_metrics({"step": self.step, **{f"eval/{k}": v for k, v in results.items()}})
            self.host.evaluation_done(step=self.step, metrics=results)
        ddp.barrier(self.dist)
        return results

    # -- the loop ------------------------------------------------------------------------------

    def prepare(self, resume_from: Path | None = None) -> None:
        """Everything that can fail before training writes anything: restore ``resume_from`` (its
        files verified and its tensors checked against this config's models) and open the data (the
        training split, and the evaluation split of a user's folder). Called by :meth:`fit` if the
        caller did not."""
        cfg = self.config.trainer
        self._resumed_from = resume_from
        if resume_from is not None:
            self.restore(resume_from)
        ddp.broadcast_module(self.models, self.dist)
        dataset = self.task.build_dataset("train")
        if self.config.data.root is not None and self.config.eval.metrics:
            with isolated_rng(EVAL_SEED):
                self.task.build_dataset(self.config.eval.split)  # a missing or damaged test split fails now
        loader = training_loader(
            dataset,
            self.task.collate,
            cfg.batch_size,
            cfg.seed,
            self.config.data.num_workers,
            self.dist.rank,
            self.dist.world_size,
            self.batches_consumed,
            pin_memory=self.device.type == "cuda",
        )
        self._batches = iter(loader)

    def fit(self, resume_from: Path | None = None) -> str:
        """Train to ``trainer.steps``; returns ``completed`` or ``time_budget``."""
        cfg = self.config.trainer
        if self._batches is None:
            self.prepare(resume_from)
        batches = self._batches
        if self._resumed_from is not None:
            if self.dist.is_main:
                self.run.truncate_metrics_after(self.step)
            log.info("resumed from %s at step %d", self._resumed_from, self.step)
        loggers = self._start_loggers()
        if self.dist.is_main:
            self.host.train_start(run_dir=self.run.root, config=self.config, start_step=self.step)
        progress = Progress(cfg.steps, self.step, cfg.progress if self.dist.is_main else "off")
        window = _TermWindow()
        self.threads.window_started()
        t_start = time.monotonic()
        status = "completed"
        self.models.train()
        try:
            with _StopSignal() as stop:
                while self.step < cfg.steps:
                    self._set_lr()
                    for network in (*self.models.generators.values(), *self.models.discriminators.values()):
                        network.set_progress(self.step, cfg.steps)
                    d_terms, g_terms = self.train_step(batches)
                    self.step += 1
                    if self.ema is not None:
                        self.ema.update(self.generator_side, self.step)

                    # --- bookkeeping ---
                    over_budget = cfg.max_minutes is not None and time.monotonic() - t_start > cfg.max_minutes * 60
                    stop_now = ddp.any_across_ranks(stop.received is not None or over_budget, self.dist)
                    window.add(d_terms, g_terms)
                    logged = self.step % cfg.log_every == 0 or self.step == cfg.steps or stop_now
                    shown = window.means()
                    if logged:  # every stop logs its last step, so a short run still has curves
                        self._log(window, t_start)
                        window = _TermWindow()
                    progress.update(self.step, shown, logged)

                    with window.paused():  # samples, evaluations and checkpoints are not training speed
                        if cfg.sample_every and self.step % cfg.sample_every == 0:
                            self.write_samples()
                        if cfg.eval_every and self.step % cfg.eval_every == 0:
                            self.evaluate()
                        if stop_now or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0):
                            self.save()
                    if stop_now:
                        if stop.received is not None:
                            status = "interrupted"
                            raise TrainingInterrupted(stop.received, self.step, str(self.run.root))
                        status = "time_budget"
                        log.info(
                            "trainer.max_minutes=%s reached at step %d; checkpoint saved", cfg.max_minutes, self.step
                        )
                        if self.step < cfg.steps * SHORT_RUN_FRACTION:
                            log.warning(
                                "training stopped at step %d of trainer.steps=%d, so its results will be weak; "
                                "continue with 'cgp train --resume --run-dir %s' or raise trainer.max_minutes",
                                self.step,
                                cfg.steps,
                                self.run.root,
                            )
                        break
            progress.close()
            if status == "completed" and self.step == cfg.steps:
                self._finish_artifacts()
            elif status == "time_budget":
                self._finish_artifacts()
        except TrainingInterrupted:
            progress.close()
            raise
        except _SecondSignal as second:
            status = "interrupted"
            progress.close()
            raise TrainingInterrupted(second.name, self._saved_step, str(self.run.root), saved=False) from None
        except BaseException:
            status = "failed"
            progress.close()
            raise
        finally:
            if self.dist.is_main:
                try:
                    self.host.train_end(step=self.step, status=status)
                finally:
                    for logger in loggers:
                        self.host.pm.unregister(logger)
        return status

    def _start_loggers(self) -> list[object]:
        """The logger plugins ``logging.backends`` names, built for this run and registered for its
        event hooks (rank 0 only); :meth:`fit` unregisters them when training ends."""
        loggers: list[object] = []
        if not self.dist.is_main:
            return loggers
        for name in self.config.logging.backends:
            logger = self.host.loggers.get(name)(self.run.root, self.config)
            self.host.pm.register(logger, name=f"logger.{name}.{id(logger)}")
            loggers.append(logger)
        return loggers

    def train_step(self, batches: Iterator[Any]) -> tuple[Terms, Terms]:
        """One step of the game, as the seeds write it: update D on real, generated and mismatched
        pairs (``trainer.n_critic`` times, a fresh batch each), then update G so that D calls its
        samples real, plus its regression terms. Returns the discriminator's and the generator's
        terms of the step (the last critic update's for D)."""
        critic_steps = self.config.trainer.n_critic if self.d_opt is not None else 1
        d_terms: Terms = {}
        for i in range(critic_steps):
            batch = to_device(next(batches), self.device)
            self.batches_consumed += 1
            with self._autocast(), torch.set_grad_enabled(i == critic_steps - 1):
                generated = self.objective.generate(batch)
            if self.d_opt is not None:
                with self._autocast():
                    d_terms = self.objective.discriminator_terms(batch, generated)
                if d_terms:  # an objective whose discriminators judge nothing returns none
                    self._update(d_terms, self.d_opt, self.d_params, "discriminator")
        with frozen(self.models.discriminators), self._autocast():
            g_terms = self.objective.generator_terms(batch, generated)
        self._update(g_terms, self.g_opt, self.g_params, "generator")
        ddp.broadcast_buffers(self.models, self.dist)
        return d_terms, g_terms

    def _log(self, window: _TermWindow, t_start: float) -> None:
        """One ``metrics.jsonl`` row: each term's mean over the window (averaged across ranks), the
        sides' sums, learning rates, speed, and which side each term belongs to."""
        row = ddp.mean_across_ranks(window.means(), self.dist)
        sides = window.sides()
        if sides["d"]:
            row["d_loss"] = sum(row[k] for k in sides["d"])
        row["g_loss"] = sum(row[k] for k in sides["g"])
        row["lr_g"] = self.g_opt.param_groups[0]["lr"]
        if self.d_opt is not None:
            row["lr_d"] = self.d_opt.param_groups[0]["lr"]
        row["steps_per_sec"] = window.steps_per_second()
        self._watch_speed(row["steps_per_sec"], window.steps)
        self.threads.check(*window.cpu_share(torch.get_num_threads()))
        if self.dist.is_main:
            self.run.append_metrics(
                {"step": self.step, "time": round(time.monotonic() - t_start, 3), **row, "sides": sides}
            )
            self.host.step_end(step=self.step, metrics=row)

    def _watch_speed(self, rate: float, steps: int) -> None:
        """Warn once when the step rate falls below a quarter of the best seen: on a CPU this is
        nearly always another process competing for the cores, where several thread pools spinning
        against each other can cost far more than their share."""
        if steps < 5 or self.device.type != "cpu":
            return
        if rate < self._best_rate / SLOWDOWN_FACTOR and not self._slow_warned and self.dist.is_main:
            self._slow_warned = True
            log.warning(
                "training slowed to %.2f steps/s from %.2f at step %d: is another process using the CPU? "
                "Runs sharing a machine go faster with fewer threads each (trainer.threads=1)",
                rate,
                self._best_rate,
                self.step,
            )
        self._best_rate = max(self._best_rate, rate)

    def _finish_artifacts(self) -> None:
        """Final checkpoint, samples and evaluation, unless the schedule just wrote them."""
        cfg = self.config.trainer
        if self._saved_step != self.step:
            self.save()
        if not (cfg.sample_every and self.step % cfg.sample_every == 0):
            self.write_samples()
        if not (cfg.eval_every and self.step % cfg.eval_every == 0):
            self.evaluate()
