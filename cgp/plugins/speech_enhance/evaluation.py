"""``speech_quality``: the speech task's metric.

On the evaluated split, whole utterances: SI-SDR of the enhanced output and of the noisy input
against the clean speech (``si_sdr``, ``si_sdr_noisy``) and their difference (``si_sdr_improvement``,
SI-SDRi), the log-spectral distance (``lsd``, ``lsd_noisy``) and the spectral detail ratio
(``spectral_detail``: 1 = as much fine time-frequency structure as clean speech, below 1 smoothed;
see :mod:`cgp.metrics.audio`). PESQ (wide band) and STOI (``pesq``, ``pesq_noisy``, ``stoi``,
``stoi_noisy``) are added when the optional ``speech-metrics`` extra is installed; without it one
line says so. Every number is the mean over utterances; a PESQ/STOI NaN (an utterance the package
cannot score) is left out of that mean and counted in ``pesq_skipped``.
"""

from __future__ import annotations

import logging
import math

import torch

from cgp.core.metrics import EvalContext
from cgp.metrics import audio as measures

log = logging.getLogger(__name__)


def _utterances(dataset, max_batch: int = 8):
    """Consecutive items batched while their lengths agree (variable-length folders go one by one)."""
    batch: list[dict] = []
    for index in range(len(dataset)):
        item = dataset[index]
        if batch and (len(batch) == max_batch or item["x"].shape[-1] != batch[0]["x"].shape[-1]):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def speech_quality(context: EvalContext) -> dict[str, float]:
    task = context.task
    rate = task.config.data.sample_rate
    dataset = task.build_dataset(context.split)
    available = measures.available_speech_metrics()
    perceptual = available["pesq"] and available["stoi"]
    if not perceptual:
        log.warning("PESQ and STOI skipped: they need the optional extra: pip install 'cgp[speech-metrics]'")
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}

    def add(key: str, values: torch.Tensor | list[float]) -> None:
        for value in values.tolist() if isinstance(values, torch.Tensor) else values:
            if math.isnan(value):
                sums[f"{key}_skipped"] = sums.get(f"{key}_skipped", 0.0) + 1
                continue
            sums[key] = sums.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1

    with torch.no_grad():
        for batch in _utterances(dataset):
            clean = torch.stack([it["x"] for it in batch])
            noisy = torch.stack([it["cond"] for it in batch])
            enhanced = context.models.generator(context.models.condition(noisy.to(context.device))).float().cpu()
            si_enh, si_noisy = measures.si_sdr(enhanced, clean), measures.si_sdr(noisy, clean)
            add("si_sdr", si_enh)
            add("si_sdr_noisy", si_noisy)
            add("si_sdr_improvement", si_enh - si_noisy)
            add("lsd", measures.log_spectral_distance(enhanced, clean))
            add("lsd_noisy", measures.log_spectral_distance(noisy, clean))
            add("spectral_detail", measures.spectral_detail(enhanced, clean, rate))
            add("spectral_detail_noisy", measures.spectral_detail(noisy, clean, rate))
            if perceptual:
                for name, fn in (("pesq", measures.pesq_wb), ("stoi", measures.stoi)):
                    add(name, [fn(e, c, rate) for e, c in zip(enhanced, clean)])
                    add(f"{name}_noisy", [fn(n, c, rate) for n, c in zip(noisy, clean)])
    results = {key: sums[key] / counts[key] for key in counts}
    results.update({key: value for key, value in sums.items() if key.endswith("_skipped")})
    return results
