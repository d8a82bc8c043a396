"""Minibatch standard deviation: a feature that lets a discriminator see how varied a batch is.

Karras et al. 2018, "Progressive Growing of GANs" (section 3): the standard deviation of each feature
over a small group of samples, averaged over the features, is appended to every sample of the group. A
generator that gives the same image for every z makes that number small, which no single sample shows.
``minibatch_std_by_label`` groups the samples by their class instead, so that one collapsed class stands out in a batch
whose other classes vary.
"""

from __future__ import annotations

import torch

EPS = 1e-8


def minibatch_std(h: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """(B, C) -> (B, 1): each sample's group (samples i, i + B/g, ...) spread, averaged over features."""
    batch = h.shape[0]
    size = min(group_size, batch)
    while batch % size:
        size -= 1
    groups = h.reshape(size, batch // size, -1)
    spread = (groups.var(0, unbiased=False) + EPS).sqrt().mean(1)  # (B / size,)
    return spread.repeat(size)[:, None]


def minibatch_std_by_label(h: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, C), (B,) -> (B, 1): the spread of the batch's samples of each sample's class, averaged over
    features (about 0 for a class seen once in the batch). The labels are the ones D is given: with mismatched
    labels (a matching-aware negative) the groups mix real classes and read as more varied."""
    member = torch.nn.functional.one_hot(labels, num_classes).to(h.dtype)  # (B, K)
    count = member.sum(0).clamp_min(1)[:, None]
    mean = member.t() @ h / count  # (K, C)
    var = member.t() @ (h - mean[labels]).square() / count
    return (var + EPS).sqrt().mean(1)[labels][:, None]
