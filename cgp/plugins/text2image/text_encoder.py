"""Sentence encoder: word ids -> embeddings -> bidirectional GRU -> one sentence vector.

The sentence vector is the mean of the GRU's outputs over the caption's words (padding left out),
projected to ``out_dim``. Word embeddings are either trained from scratch or GloVe vectors
(Pennington et al. 2014) kept frozen behind a trainable projection (``glove.py``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class TextEncoder(nn.Module):
    """``forward(ids: (B, L) long, 0 = padding) -> (B, out_dim)``."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 64,
        hidden: int = 64,
        out_dim: int = 128,
        pretrained: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if pretrained is not None:
            self.embedding = nn.Embedding.from_pretrained(pretrained.float(), freeze=True, padding_idx=0)
            self.project = nn.Linear(pretrained.shape[1], embed_dim)
        else:
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
            self.project = nn.Identity()
        self.rnn = nn.GRU(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, out_dim)
        self.out_dim = out_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids != 0
        lengths = mask.sum(1).clamp(min=1)
        emb = self.project(self.embedding(ids))
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=ids.shape[1])
        weights = mask.to(hidden.dtype).unsqueeze(2)
        weights[:, 0] = 1.0  # an empty caption reads its one padding position rather than nothing
        sentence = (hidden * weights).sum(1) / weights.sum(1)
        return self.out(sentence)
