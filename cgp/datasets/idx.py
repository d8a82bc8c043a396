"""The IDX format of MNIST and Fashion-MNIST (LeCun et al.): read it, and write class folders from it.

An IDX file is a 4-byte magic number — two zero bytes, a type code, the number of dimensions —
then one big-endian 32-bit size per dimension, then the values in row-major order, big-endian.
Files may be gzip-compressed (``.gz``). :func:`read_idx` checks the header against the file's
length, so a truncated or foreign file is one clear error instead of garbage images.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from cgp.core.errors import DataError

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or plain)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"IDX file '{path}' does not exist")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise DataError(f"IDX file '{path}' is not a readable gzip file ({exc}); download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES or raw[3] == 0:
        raise DataError(f"'{path}' is not an IDX file (bad magic number); expected MNIST-style idx data")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"IDX file '{path}' is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_TYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"IDX file '{path}' holds {len(raw)} bytes but its header {tuple(shape)} needs {expected}; "
            "the file is truncated or damaged"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_class_folders(images: np.ndarray, labels: np.ndarray, names: list[str], folder: Path) -> int:
    """``images`` (N, H, W) uint8 and ``labels`` (N,) as ``folder/<class name>/<index>.png`` (the
    class-folder layout the ``cgan`` task reads); returns the number of images written."""
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        raise DataError(f"need images (N, H, W) and labels (N,), got {images.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise DataError(f"labels run from {labels.min()} to {labels.max()} but {len(names)} class names were given")
    for name in names:
        (Path(folder) / name).mkdir(parents=True, exist_ok=True)
    for index, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(np.ascontiguousarray(image, np.uint8), "L").save(
            Path(folder) / names[label] / f"{index:05d}.png"
        )
    return len(labels)
