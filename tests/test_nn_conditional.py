"""Conditional batch norm and the conditional DCGAN decoder built on it."""

from __future__ import annotations

import torch
from torch import nn

from cgp.nn.conditional_norm import ConditionalBatchNorm2d
from cgp.nn.dcgan import DCGANDecoder, dcgan_init


def test_a_fresh_conditional_norm_is_plain_batch_norm() -> None:
    torch.manual_seed(0)
    x, c = torch.randn(8, 5, 4, 4), torch.randn(8, 3)
    conditional = ConditionalBatchNorm2d(5, 3)
    plain = nn.BatchNorm2d(5)
    torch.testing.assert_close(conditional(x, c), plain(x))
    torch.testing.assert_close(conditional.norm.running_mean, plain.running_mean)


def test_the_condition_sets_each_sample_scale_and_shift() -> None:
    torch.manual_seed(0)
    layer = ConditionalBatchNorm2d(2, 2).eval()  # running stats 0/1: the norm is the identity
    with torch.no_grad():
        layer.gain.weight.copy_(torch.eye(2))
        layer.bias.weight.copy_(2 * torch.eye(2))
    x = torch.ones(2, 2, 1, 1)
    c = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    out = layer(x, c).flatten(1)
    # sample 0: channel 0 scaled by 2 and shifted by 2; sample 1: channel 1 scaled by 0, shifted by -2
    torch.testing.assert_close(out, torch.tensor([[4.0, 1.0], [1.0, -2.0]]), atol=1e-4, rtol=0)


def test_the_unconditional_decoder_keeps_its_parameter_names() -> None:
    names = set(DCGANDecoder(16, 16, 3, 8).state_dict())
    assert "project.1.weight" in names and "body.1.running_mean" in names
    assert not any("gain" in n for n in names)


def test_the_conditional_decoder_starts_unconditional_and_learns_to_listen() -> None:
    torch.manual_seed(0)
    decoder = DCGANDecoder(16, 16, 3, 8, cond_dim=4)
    dcgan_init(decoder)
    h, c = torch.randn(6, 16), torch.randn(6, 4)
    assert torch.equal(decoder(h, c), decoder(h, torch.zeros_like(c)))
    target = torch.randn(6, 3, 16, 16).clamp(-0.9, 0.9)
    opt = torch.optim.Adam(decoder.parameters(), 1e-2)
    for _ in range(5):
        opt.zero_grad()
        nn.functional.mse_loss(decoder(h, c), target).backward()
        opt.step()
    assert not torch.equal(decoder(h, c), decoder(h, torch.zeros_like(c)))
    assert decoder(h, c).shape == (6, 3, 16, 16)
