"""Weight initialisation of the pix2pix / CycleGAN networks.

The reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix, ``init_weights``) draws
convolution and linear weights from N(0, 0.02) by default (``init_type='normal'``, after DCGAN),
zeroes their biases, and draws batch-norm scales from N(1, 0.02) with zero shifts.
"""

from __future__ import annotations

from torch import nn

INIT_KINDS = ("normal", "xavier", "kaiming", "orthogonal")

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def init_weights(module: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise every conv/linear/batch-norm layer in ``module`` in place; returns ``module``.

    ``kind`` is ``normal`` (N(0, gain)), ``xavier`` (Xavier-normal with ``gain``), ``kaiming``
    (Kaiming-normal, fan-in; ``gain`` unused, as in the reference) or ``orthogonal`` (with ``gain``).
    """
    if kind not in INIT_KINDS:
        raise ValueError(f"unknown init {kind!r}; choose one of {', '.join(INIT_KINDS)}")
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            if kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BATCH_NORMS) and m.affine:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module
