"""Datasets that need files: the bundled digit sets and MNIST's IDX files.

Generated-data tasks need nothing here; the ``digits`` task reads from
:func:`load_bundled` (offline default) or :func:`load_mnist` (real MNIST).
"""

from rnntui.data.bundled import BUNDLED, DataError, load_bundled
from rnntui.data.mnist_idx import MnistMissing, default_dir, load_mnist, read_idx

__all__ = ["BUNDLED", "DataError", "MnistMissing", "default_dir", "load_bundled", "load_mnist", "read_idx"]
