"""Image–text matching: two encoders into one unit sphere, trained contrastively on caption pairs.

A sentence-level version of AttnGAN's DAMSM (Xu et al. 2018, "AttnGAN: Fine-Grained Text to Image
Generation with Attentional Generative Adversarial Networks") trained the CLIP way (Radford et al.
2021, "Learning Transferable Visual Models From Natural Language Supervision"): a small CNN and the
task's :class:`TextEncoder` map images and captions to L2-normalised vectors, and a symmetric InfoNCE
loss with a learnable temperature makes each image's own caption the most similar one in its batch.

Procedural captions repeat ("a red disc" describes many images), so a batch often holds several
items with the same caption; those are not negatives of one another. The loss therefore spreads each
row's target evenly over the items whose caption ids are identical (a multi-positive InfoNCE), which
reduces to CLIP's one-hot target when every caption in the batch is distinct.

Used twice: by the ``retrieval`` metric (R-precision and the matcher-feature Fréchet distance) and by
the task to pretrain its condition encoder before the GAN (the role of DF-GAN's frozen DAMSM encoder).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cgp.core.seeding import isolated_rng
from cgp.plugins.text2image.text_encoder import TextEncoder


def _stage(c_in: int, c_out: int) -> list[nn.Module]:
    """A 3x3 conv-BN-ReLU, then a 2x2 max pool halving the side."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]


class ImageEncoder(nn.Module):
    """Three conv-BN-ReLU-max-pool stages, a 2x2 average pool (it keeps where things are, which
    captions such as "top left" name) and a linear map to ``out_dim``. Any square input of side 16
    to 128 works: the adaptive pool brings every size to 2x2."""

    def __init__(self, out_dim: int, width: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_stage(3, width),
            *_stage(width, 2 * width),
            *_stage(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * width, out_dim),
        )
        self.out_dim = out_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class ImageTextMatcher(nn.Module):
    """``similarity(images, ids)`` = cosine similarity of the two encoders' outputs, (N, M).

    ``text_encoder`` lets a caller train its own encoder (its ``out_dim`` must equal ``dim``);
    otherwise a fresh :class:`TextEncoder` over ``vocab_size`` words is built.
    """

    def __init__(self, vocab_size: int, dim: int = 64, text_encoder: TextEncoder | None = None, width: int = 16):
        super().__init__()
        if text_encoder is not None and text_encoder.out_dim != dim:
            raise ValueError(f"the text encoder's out_dim is {text_encoder.out_dim}, the matcher's dim {dim}")
        self.image_encoder = ImageEncoder(dim, width)
        self.text_encoder = text_encoder if text_encoder is not None else TextEncoder(vocab_size, out_dim=dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial temperature

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image_encoder(images), dim=1)

    def text_features(self, ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_encoder(ids), dim=1)

    def similarity(self, images: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.image_features(images) @ self.text_features(ids).T

    def logits(self, images: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Similarities times the learnt inverse temperature, capped at 100 as in CLIP."""
        return self.logit_scale.clamp(max=math.log(100)).exp() * self.similarity(images, ids)


def contrastive_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over a batch's (B, B) image-by-caption logits; items whose captions have
    identical ids share the target mass (see the module docstring)."""
    same = (ids[:, None, :] == ids[None, :, :]).all(-1).float()
    targets = same / same.sum(1, keepdim=True)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def train_matcher(
    matcher: ImageTextMatcher,
    images: torch.Tensor,
    tokens: torch.Tensor,
    steps: int,
    seed: int,
    batch_size: int = 128,
    lr: float = 2e-3,
) -> ImageTextMatcher:
    """Adam with a one-cycle schedule on random batches of (image, caption) pairs, from ``seed``.

    Training runs on the matcher's device (batches are moved there); with the same seed, data and
    device the result is the same. Returns the matcher in eval mode.
    """
    if len(images) != len(tokens):
        raise ValueError(f"{len(images)} images but {len(tokens)} captions")
    device = next(matcher.parameters()).device
    batch_size = min(batch_size, len(images))
    with isolated_rng(seed), torch.enable_grad():
        opt = torch.optim.Adam([p for p in matcher.parameters() if p.requires_grad], lr=lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
        g = torch.Generator().manual_seed(seed)
        matcher.train()
        for _ in range(steps):
            idx = torch.randperm(len(images), generator=g)[:batch_size]
            x, ids = images[idx].to(device), tokens[idx].to(device)
            loss = contrastive_loss(matcher.logits(x, ids), ids)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    return matcher.eval()
