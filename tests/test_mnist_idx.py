"""The IDX reader and MNIST loader on tiny IDX files written here, and the
bundled CSV sets."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from rnntui.data import DataError, MnistMissing, load_bundled, load_mnist, read_idx
from rnntui.data.mnist_idx import KNOWN_SHA256, PARTS, parse_idx


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: 0, 0, type 0x08, ndim, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def tiny_mnist(n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_set(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> dict[str, str]:
    """Write the four files with their MNIST names; return name -> sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for part, stem in PARTS.items():
        data = idx_bytes(arrays[part])
        name = stem + (".gz" if gz else "")
        payload = gzip.compress(data) if gz else data
        (folder / name).write_bytes(payload)
        digests[name] = hashlib.sha256(payload).hexdigest()
    return digests


# ------------------------------------------------------------------ read_idx
@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_returns_the_array_written_gz_or_raw(tmp_path, gz):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = idx_bytes(array)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    assert np.array_equal(out, array)


def test_parse_idx_reads_big_endian_int32():
    values = np.array([1, -2, 70000], dtype=">i4")
    data = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + values.tobytes()
    assert parse_idx(data).tolist() == [1, -2, 70000]


def test_wrong_magic_is_rejected(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_truncated_data_is_rejected(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(idx_bytes(np.zeros((3, 4), dtype=np.uint8))[:-2])
    with pytest.raises(DataError, match=r"needs 24 bytes, the file has 22"):
        read_idx(path)


def test_wrong_checksum_is_rejected(tmp_path):
    path = tmp_path / "a.idx"
    path.write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8)))
    with pytest.raises(DataError, match="checksum mismatch"):
        read_idx(path, sha256="0" * 64)
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_idx(path, sha256=good).tolist() == [0, 0, 0]


# ---------------------------------------------------------------- load_mnist
@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_reads_the_four_files(tmp_path, gz):
    arrays = tiny_mnist()
    digests = write_set(tmp_path, arrays, gz=gz)
    loaded = load_mnist(tmp_path, download_missing=False, checksums=digests)
    for part, array in arrays.items():
        assert np.array_equal(loaded[part], array)


def test_load_mnist_checks_the_known_checksums(tmp_path):
    write_set(tmp_path, tiny_mnist())
    with pytest.raises(DataError, match="checksum mismatch") as err:
        load_mnist(tmp_path, download_missing=False)  # tiny files are not the published ones
    assert KNOWN_SHA256["train-images-idx3-ubyte.gz"] in str(err.value)


def test_load_mnist_finds_a_torchvision_layout(tmp_path):
    arrays = tiny_mnist()
    write_set(tmp_path / "MNIST" / "raw", arrays, gz=False)
    loaded = load_mnist(tmp_path, download_missing=False, checksums={})
    assert np.array_equal(loaded["test_labels"], arrays["test_labels"])


def test_missing_files_give_a_clear_error(tmp_path):
    arrays = tiny_mnist()
    write_set(tmp_path, arrays)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistMissing) as err:
        load_mnist(tmp_path, download_missing=False, checksums={})
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte[.gz]" in message and str(tmp_path) in message
    assert "train-images" not in message  # only what is missing is listed
    assert "mnist-5k" in message


def test_mismatched_images_and_labels_are_rejected(tmp_path):
    arrays = tiny_mnist()
    arrays["train_labels"] = arrays["train_labels"][:-1]
    write_set(tmp_path, arrays)
    with pytest.raises(DataError, match="do not match"):
        load_mnist(tmp_path, download_missing=False, checksums={})


def test_missing_files_are_downloaded_from_a_mirror_with_progress(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNTUI_OFFLINE", raising=False)
    arrays = tiny_mnist()
    mirror = tmp_path / "mirror"
    digests = write_set(mirror, arrays)
    target = tmp_path / "cache"
    seen: list[tuple[str, int, int]] = []
    loaded = load_mnist(target, checksums=digests, mirrors=["file://" + str(mirror) + "/"],
                        progress=lambda name, done, total: seen.append((name, done, total)))
    assert np.array_equal(loaded["train_images"], arrays["train_images"])
    assert sorted(p.name for p in target.iterdir()) == sorted(digests)
    assert {name for name, _, _ in seen} == set(digests)
    last = {name: done for name, done, _ in seen}
    assert last == {name: (mirror / name).stat().st_size for name in digests}


def test_a_download_with_the_wrong_checksum_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNTUI_OFFLINE", raising=False)
    mirror = tmp_path / "mirror"
    digests = write_set(mirror, tiny_mnist())
    bad = dict(digests, **{"train-labels-idx1-ubyte.gz": "f" * 64})
    target = tmp_path / "cache"
    with pytest.raises(MnistMissing, match="train-labels-idx1-ubyte.gz"):
        load_mnist(target, checksums=bad, mirrors=["file://" + str(mirror) + "/"], progress=lambda *a: None)
    assert not (target / "train-labels-idx1-ubyte.gz").exists()
    assert not list(target.glob("*.part"))


def test_offline_environment_skips_the_download(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNTUI_OFFLINE", "1")
    with pytest.raises(MnistMissing, match="RNNTUI_OFFLINE"):
        load_mnist(tmp_path, mirrors=["file:///nonexistent/"])


def test_digits_task_reads_mnist_from_data_dir(tmp_path, monkeypatch):
    """Through the task the published checksums apply: tiny files are refused
    with a ConfigError naming data_dir; with the check table emptied they load."""
    from rnntui.config import ConfigError, build_config
    from rnntui.data import mnist_idx
    from rnntui.tasks import build_task
    from rnntui.tasks.digits import _mnist_tensors

    arrays = tiny_mnist(n_train=8, n_test=5)
    write_set(tmp_path, arrays)
    cfg = build_config({"task": "digits", "dataset": "mnist", "data_dir": str(tmp_path), "batch_size": 4})
    _mnist_tensors.cache_clear()
    with pytest.raises(ConfigError) as err:
        build_task(cfg)
    assert err.value.key == "data_dir" and "checksum" in str(err.value)
    monkeypatch.setattr(mnist_idx, "KNOWN_SHA256", {})
    _mnist_tensors.cache_clear()
    try:
        task = build_task(cfg)
        assert task.input_size == 28 and task.steps_per_epoch == 2
        batch = task.train_batch(0, __import__("torch").Generator().manual_seed(0))
        assert batch.x.shape == (4, 28, 28) and float(batch.x.max()) <= 1.0
        held = task.eval_sets(None)[None]
        assert sum(b.size for b in held) == 5
        assert np.allclose(held[0].x.numpy() * 255, arrays["test_images"], atol=1e-3)
    finally:
        _mnist_tensors.cache_clear()


# ------------------------------------------------------------------- bundled
def test_bundled_sets_have_the_documented_shapes():
    images, labels = load_bundled("mnist-5k")
    assert images.shape == (5000, 28, 28) and labels.bincount().tolist() == [500] * 10
    assert float(images.min()) == 0.0 and float(images.max()) == 1.0
    images, labels = load_bundled("digits-8x8")
    assert images.shape == (1797, 8, 8) and int(labels.min()) == 0 and int(labels.max()) == 9
    with pytest.raises(DataError, match="allowed"):
        load_bundled("cifar")
