"""pix2pix training step: cgp's trainer against a plain step written as the reference implementation
writes it, same networks, same batch, interleaved in one process.

    python benchmarks/pix2pix_step_speed.py --batch 1 --steps 6 --repeats 5
    python benchmarks/pix2pix_step_speed.py --batch 4 --steps 4 --repeats 5

The networks are the reference's (junyanz/pytorch-CycleGAN-and-pix2pix, ``--model pix2pix``):
``unet_256`` with 64 filters, batch norm and dropout (54.4 M parameters), the basic 70x70 PatchGAN
with 64 filters (2.8 M), N(0, 0.02) init, 256x256 images. The reference step (``Pix2PixModel.
optimize_parameters``): G forward once; D on the detached fake pair and on the real pair, BCE with
logits ("vanilla"), halved; then D on the fake pair for G with 100 x L1; Adam 2e-4, betas (0.5, 0.999).
cgp runs the same objective (``objective.adversarial=bce``, ``terms={l1: 100}``) through
``Trainer.train_step`` on the same fixed batch, in each configuration of its speed switches.

Each repeat times every configuration once, in turn (so a change in machine load hits all of them),
after warm-up steps; a configuration's figure is its best repeat. The floating-point work of one
step is counted with ``torch.utils.flop_counter`` (the reference step, forward and backward), and
the machine's matrix-multiply peak is measured here (2048^3 GEMMs in fp32 and bf16), so the output
says what fraction of the peak each configuration reaches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from cgp.core.config import resolve_config
from cgp.core.plugins import load_plugins
from cgp.core.rundir import RunDir
from cgp.core.trainer import Trainer
from cgp.plugins.image2image.pix2pix import Pix2PixConfig

REFERENCE = [
    "model.generator=unet_256",
    "model.generator_width=64",
    "model.discriminator_width=64",
    "model.receptive_field=70",
    "data.image_size=256",
    "data.train_size=8",
    "objective.adversarial=bce",
    "objective.terms={l1: 100.0}",
    "optim.schedule.kind=constant",
    "trainer.progress=off",
    "trainer.device=cpu",
]
PER_TENSOR_ADAM = ["optim.generator.fused=false", "optim.discriminator.fused=false"]
CONFIGS: dict[str, list[str]] = {
    "cgp fp32 per-tensor Adam": PER_TENSOR_ADAM,  # the default until 2026-12-03
    "cgp fp32": [],  # the default: fused Adam
    "cgp fp32 channels_last": ["trainer.channels_last=true"],
    "cgp bf16": ["trainer.precision=bf16"],
    "cgp bf16 channels_last": ["trainer.precision=bf16", "trainer.channels_last=true"],
    "cgp bf16 channels_last compile": ["trainer.precision=bf16", "trainer.channels_last=true", "trainer.compile=true"],
}


def trainer_for(overrides: list[str], batch: int) -> Trainer:
    host = load_plugins()
    config = resolve_config(Pix2PixConfig, "pix2pix", overrides=[*REFERENCE, f"trainer.batch_size={batch}", *overrides])
    task = host.task("pix2pix")(config, host)
    return Trainer(task, RunDir(Path(tempfile.mkdtemp(prefix="p2p-speed-"))), host)


def reference_step(batch: int) -> Callable[[dict[str, torch.Tensor]], None]:
    """The reference's optimize_parameters, on fresh networks built like the trainer's."""
    trainer = trainer_for([], batch)
    g, d = trainer.models.generator, trainer.models.discriminator.net
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g.train()
    d.train()

    def step(data: dict[str, torch.Tensor]) -> None:
        real_a, real_b = data["cond"], data["x"]
        fake_b = g(real_a)
        d.requires_grad_(True)
        opt_d.zero_grad()
        pred_fake = d(torch.cat((real_a, fake_b.detach()), 1))
        pred_real = d(torch.cat((real_a, real_b), 1))
        loss_d = 0.5 * (
            F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
            + F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))
        )
        loss_d.backward()
        opt_d.step()
        d.requires_grad_(False)
        opt_g.zero_grad()
        pred_fake = d(torch.cat((real_a, fake_b), 1))
        loss_g = F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake)) + 100 * F.l1_loss(
            fake_b, real_b
        )
        loss_g.backward()
        opt_g.step()

    return step


def gemm_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of the best of ``repeats`` n^3 matrix products in ``dtype``."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per configuration and repeat")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compile happens here)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--only", nargs="*", help="substrings of configuration names")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/pix2pix_step_speed.json"))
    opts = parser.parse_args()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    torch.manual_seed(0)
    data = {"cond": torch.rand(opts.batch, 3, 256, 256) * 2 - 1, "x": torch.rand(opts.batch, 3, 256, 256) * 2 - 1}

    steps: dict[str, Callable[[], None]] = {}
    ref = reference_step(opts.batch)
    steps["reference-style plain step"] = lambda: ref(data)
    for name, overrides in CONFIGS.items():
        if opts.only and not any(part in name for part in opts.only):
            continue
        trainer = trainer_for(overrides, opts.batch)
        trainer.models.train()
        stream = itertools.repeat(data)
        steps[name] = lambda t=trainer, s=stream: t.train_step(s)
    with FlopCounterMode(display=False) as counter:
        ref(data)
    flops = counter.get_total_flops()
    for step in steps.values():
        for _ in range(opts.warmup):
            step()
    best = dict.fromkeys(steps, 0.0)
    for _ in range(opts.repeats):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(opts.steps):
                step()
            best[name] = max(best[name], opts.steps * opts.batch / (time.perf_counter() - t0))
    peaks = {"fp32": gemm_peak(torch.float32), "bf16": gemm_peak(torch.bfloat16)}
    reference = best["reference-style plain step"]
    print(f"cpu {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads, batch {opts.batch}")
    print(f"one step: {flops / 1e9:.1f} GFLOP; GEMM peak fp32 {peaks['fp32']:.0f}, bf16 {peaks['bf16']:.0f} GFLOP/s")
    rows = {}
    for name, rate in best.items():
        gflops = flops / opts.batch * rate / 1e9
        kind = "bf16" if "bf16" in name else "fp32"
        rows[name] = {
            "images_per_s": rate,
            "ratio": rate / reference,
            "gflops": gflops,
            "peak_fraction": gflops / peaks[kind],
        }
        share = f"{100 * gflops / peaks[kind]:5.1f}% of {kind} peak"
        print(f"{name:40s} {rate:7.3f} img/s  x{rate / reference:5.2f}  {gflops:6.1f} GFLOP/s  {share}")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "batch": opts.batch,
        "gflop_per_step": flops / 1e9,
        "peaks": peaks,
        "rows": rows,
        "capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
    }
    opts.out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
