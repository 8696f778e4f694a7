"""Small real digit sets shipped inside the package (the offline default).

Each file is a gzip'd CSV, one image per row, pixels row-major and the label in
the last column (see ``DATA-LICENSES.md`` for where they come from):

* ``mnist-5k``   — ``mnist_5k.csv.gz``: 5,000 MNIST digits, 28×28, pixels 0–255,
  500 per class, **sorted by label** (callers must shuffle before splitting).
* ``digits-8x8`` — ``digits.csv.gz``: the UCI optical-digits test set, 1,797
  images of 8×8, values 0–16.

:func:`load_bundled` returns ``images: (N, H, W)`` float32 scaled to [0, 1] and
``labels: (N,)`` int64, both as torch tensors, in file order.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent


class DataError(ValueError):
    """A dataset is missing, damaged, or not the file it should be."""


@dataclass(frozen=True)
class BundledSet:
    file: str
    side: int
    max_value: float
    rows: int
    sha256: str


BUNDLED: dict[str, BundledSet] = {
    "mnist-5k": BundledSet("mnist_5k.csv.gz", 28, 255.0, 5000,
                           "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"),
    "digits-8x8": BundledSet("digits.csv.gz", 8, 16.0, 1797,
                             "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"),
}


def parse_csv(raw: bytes, columns: int) -> np.ndarray:
    """Numbers of a comma-separated text with ``columns`` per row -> ``(rows, columns)``.
    (``np.loadtxt`` takes ~2 s on the 5k set; parsing the flat text takes ~0.1 s.)"""
    flat = np.fromstring(raw.replace(b"\r", b"").replace(b"\n", b","), dtype=np.float32, sep=",")
    if flat.size % columns:
        raise DataError(f"expected {columns} numbers per row, got {flat.size} numbers in all")
    return flat.reshape(-1, columns)


@lru_cache(maxsize=None)
def _load(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    spec = BUNDLED[name]
    path = HERE / spec.file
    if not path.is_file():
        raise DataError(f"bundled dataset {name!r} is missing: {path} (reinstall rnntui)")
    packed = path.read_bytes()
    digest = hashlib.sha256(packed).hexdigest()
    if digest != spec.sha256:
        raise DataError(f"bundled dataset {path} is damaged: sha256 {digest}, expected {spec.sha256}")
    table = parse_csv(gzip.decompress(packed), spec.side * spec.side + 1)
    if table.shape[0] != spec.rows:
        raise DataError(f"bundled dataset {path}: {table.shape[0]} rows, expected {spec.rows}")
    images = torch.from_numpy(table[:, :-1] / spec.max_value).float().reshape(-1, spec.side, spec.side)
    labels = torch.from_numpy(table[:, -1].astype(np.int64))
    return images, labels


def load_bundled(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (N, H, W) in [0, 1], labels (N,))`` of a bundled set (cached; do
    not modify the returned tensors in place)."""
    if name not in BUNDLED:
        raise DataError(f"no bundled dataset {name!r}; allowed: {', '.join(BUNDLED)}")
    return _load(name)
