"""The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian.

``d² = ||mu_a - mu_b||² + Tr(Ca + Cb - 2 (Ca^½ Cb Ca^½)^½)`` (Dowson and Landau 1982), the formula
behind FID (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
Nash Equilibrium"). Plugins apply it to the features of their own judges; which features were used
decides what the number means, so each metric names its feature extractor in its key.
"""

from __future__ import annotations

import torch


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """``a`` (N, D) and ``b`` (M, D) feature rows -> d², computed in float64.

    The matrix square roots go through symmetric eigendecompositions (``Ca^½ Cb Ca^½`` is symmetric
    positive semi-definite), with tiny negative eigenvalues from rounding clamped to zero; so is
    the result, which rounding can take just below zero for two equal sets.
    """
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(ca)
    sqrt_ca = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    cross = torch.linalg.eigvalsh(sqrt_ca @ cb @ sqrt_ca).clamp(min=0).sqrt().sum()
    return max(0.0, float((mu_a - mu_b).pow(2).sum() + ca.trace() + cb.trace() - 2 * cross))
