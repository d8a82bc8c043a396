"""Word tokenizer with a vocabulary built from the training captions and kept in the run directory.

Captions are lower-cased and split into runs of letters and digits ("top-left: one red disc" ->
``top left one red disc``). Id 0 pads, id 1 is the unknown word; the rest are the training captions'
words, most frequent first. The vocabulary is JSON in the run directory, so ``cgp generate`` encodes
prompts exactly as training did.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import torch

from cgp.core.errors import CheckpointError

log = logging.getLogger("cgp.text2image")

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"[a-z0-9]+")
VOCAB_FILE = "vocabulary.json"


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class WordTokenizer:
    """Maps captions to fixed-length id tensors; ``max_length`` words at most (longer captions are cut)."""

    def __init__(self, vocabulary: list[str], max_length: int) -> None:
        if vocabulary[:2] != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad> and <unk>")
        self.vocabulary = vocabulary
        self.max_length = max_length
        self.ids = {w: i for i, w in enumerate(vocabulary)}

    @classmethod
    def build(cls, captions: Iterable[str], max_length: int, min_count: int = 1) -> WordTokenizer:
        counts = Counter(w for caption in captions for w in words(caption))
        kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK, *kept], max_length)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def encode(self, captions: list[str], what: str = "captions") -> torch.Tensor:
        """(N, max_length) ids, 0-padded; unknown words become <unk> and are counted in one warning."""
        out = torch.zeros(len(captions), self.max_length, dtype=torch.long)
        unknown: Counter[str] = Counter()
        for row, caption in enumerate(captions):
            tokens = words(caption)[: self.max_length]
            for col, word in enumerate(tokens):
                idx = self.ids.get(word, 1)
                if idx == 1:
                    unknown[word] += 1
                out[row, col] = idx
        if unknown:
            examples = ", ".join(repr(w) for w, _ in unknown.most_common(5))
            log.warning(
                "%d words in %s are not in the training vocabulary and map to <unk> (e.g. %s)",
                sum(unknown.values()),
                what,
                examples,
            )
        return out

    def decode(self, ids: torch.Tensor) -> str:
        return " ".join(self.vocabulary[int(i)] for i in ids if int(i) != 0)

    def save(self, path: Path) -> None:
        """Written to a temporary name and renamed, so a reader never sees half a file."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"max_length": self.max_length, "vocabulary": self.vocabulary}, indent=0))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> WordTokenizer:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(list(data["vocabulary"]), int(data["max_length"]))
        except FileNotFoundError:
            raise CheckpointError(
                f"'{path}' is missing: this run directory has no vocabulary (was it trained by text2image?)"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"'{path}' is not a valid vocabulary file ({exc}); restore it from a backup"
            ) from None
