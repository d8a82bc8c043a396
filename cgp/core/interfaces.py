"""The modality-free building blocks a task is made of.

A task plugs four kinds of modules into the trainer:

* :class:`Condition` turns a raw condition (a class id, token ids, an image, a noisy spectrogram,
  context frames) into what the generator and discriminator consume, and makes *mismatched*
  conditions for the matching-aware discriminator (Reed et al. 2016, "Generative Adversarial
  Text to Image Synthesis": the real-image / wrong-text negative).
* :class:`Generator` maps ``(cond, z)`` to a sample.
* :class:`Discriminator` maps ``(x, cond)`` to scores; it always receives the condition and
  decides by its own configuration whether to use it.
* :class:`GanModels` holds them, split into the generator side and the discriminator side that the
  trainer optimises separately.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cgp.core.errors import ConfigError

Scores = torch.Tensor | list[torch.Tensor] | dict[str, Any]
"""What a discriminator returns: one score map, a list of maps (several scales), or named heads
(``realism``, ``match``, task-specific extras such as ``class_logits``)."""


def batch_roll(value: Any, shift: int = 1) -> Any:
    """Roll every tensor in a (possibly nested) condition along its batch dimension."""
    if isinstance(value, torch.Tensor):
        return torch.roll(value, shifts=shift, dims=0)
    if isinstance(value, dict):
        return {k: batch_roll(v, shift) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(batch_roll(v, shift) for v in value)
    return value


class Condition(nn.Module):
    """Encodes raw conditions; trained with the generator side.

    Subclasses override :meth:`forward`; the default passes the raw condition through (pix2pix's
    input image, a noisy spectrogram). :meth:`mismatch` returns a *raw* condition that does not
    belong to the batch's samples; the default rolls the batch by one, which is a mismatch whenever
    neighbouring samples differ. :meth:`aux` exposes tensors that condition-specific losses read,
    e.g. ``mu`` and ``logvar`` of StackGAN's conditioning augmentation for the KL term.
    """

    def forward(self, raw: Any) -> Any:
        return raw

    def mismatch(self, raw: Any) -> Any:
        return batch_roll(raw, 1)

    def aux(self, encoded: Any) -> dict[str, torch.Tensor]:
        return {}

    def for_discriminator(self, encoded: Any) -> Any:
        """What the discriminator sees of the condition (StackGAN gives D the mean, not the sample)."""
        return encoded


class Scheduled(nn.Module):
    """A network whose behaviour may follow the run's progress (a schedule living in the model)."""

    def set_progress(self, step: int, steps: int) -> None:
        """Called by the trainer on every generator and discriminator before each step, with the steps
        finished and the run's total, so that a schedule living in the model (scheduled sampling's
        chance of feeding the truth, an annealed instance noise) follows the run, resumed runs
        included. Default: nothing."""


class Generator(Scheduled):
    """``forward(cond, z=None) -> sample``.

    ``noise_dim`` is the size of ``z``; 0 means the generator takes no noise (pix2pix, where dropout
    is the noise source).
    """

    noise_dim: int = 0
    reads_target: bool = False
    """True for an autoregressive generator that may, in training, take the real sample as its own
    input (teacher forcing, scheduled sampling): the default objective then calls
    ``forward(cond, z, target=batch["x"])`` while the generator is in training mode."""

    def sample_noise(self, batch_size: int, device: torch.device | str) -> torch.Tensor | None:
        if self.noise_dim <= 0:
            return None
        return torch.randn(batch_size, self.noise_dim, device=device)


class Discriminator(Scheduled):
    """``forward(x, cond) -> Scores``.

    ``uses_condition`` is False for the unconditional ablation: the discriminator then ignores the
    condition it is given, and the objective refuses mismatched-condition negatives, which would ask
    it to score one pair both real and fake. Discriminators that support feature matching
    (Salimans et al. 2016) implement :meth:`features`.
    """

    uses_condition: bool = True

    def features(self, x: torch.Tensor, cond: Any) -> list[torch.Tensor]:
        raise ConfigError(
            f"{type(self).__name__} exposes no intermediate features: remove the feature_matching term "
            "from objective.terms or use a discriminator that implements features()"
        )


class GanModels(nn.Module):
    """Every trainable module of a task.

    The generator side (the condition encoder and the generators) shares one optimizer, the
    discriminator side another. Generators and discriminators are named so that tasks with several
    (CycleGAN's ``a2b``/``b2a``, StackGAN's stages) address them by name; single-model tasks use
    ``"main"``.
    """

    def __init__(
        self,
        generators: dict[str, Generator] | Generator,
        discriminators: dict[str, Discriminator] | Discriminator,
        condition: Condition | None = None,
    ) -> None:
        super().__init__()
        if isinstance(generators, nn.Module):
            generators = {"main": generators}
        if isinstance(discriminators, nn.Module):
            discriminators = {"main": discriminators}
        self.condition = condition if condition is not None else Condition()
        self.generators = nn.ModuleDict(generators)
        self.discriminators = nn.ModuleDict(discriminators)

    @property
    def generator(self) -> Generator:
        return self.generators["main"]  # type: ignore[return-value]

    @property
    def discriminator(self) -> Discriminator:
        return self.discriminators["main"]  # type: ignore[return-value]

    def generator_side(self) -> nn.ModuleDict:
        """The modules trained by the generator optimizer (and averaged by EMA)."""
        return nn.ModuleDict({"condition": self.condition, "generators": self.generators})

    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.generator_side().parameters() if p.requires_grad]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.discriminators.parameters() if p.requires_grad]
