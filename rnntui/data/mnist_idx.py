"""MNIST from its original IDX files (LeCun, Cortes & Burges).

IDX layout: a big-endian header ``0x00 0x00 <type> <ndim>``, then ``ndim``
big-endian uint32 dimension sizes, then the values row-major.  MNIST uses type
``0x08`` (unsigned byte): images are ``idx3`` ``(N, 28, 28)``, labels ``idx1`` ``(N,)``.

:func:`load_mnist` looks for the four files in a folder (also in a torchvision
``MNIST/raw`` sub-folder), gzip'd (``*.gz``) or raw, checks each known file's
SHA-256, and — when ``download`` is on and files are missing — fetches the gz
files from a mirror with a progress bar.  Missing files with no way to fetch
them raise :class:`MnistMissing` that lists what is needed and where.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from rnntui.data.bundled import DataError

#: IDX type byte -> numpy big-endian dtype
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

PARTS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: SHA-256 of the published files, gz and raw (file name -> hex digest)
KNOWN_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

ProgressHook = Callable[[str, int, int], None]
"""``hook(file_name, bytes_done, bytes_total)``; ``bytes_total`` is 0 when unknown."""


class MnistMissing(DataError):
    """The MNIST files are not there and could not be downloaded."""


def default_dir() -> Path:
    """``$RNNTUI_DATA`` if set, else ``~/.cache/rnntui/mnist``."""
    env = os.environ.get("RNNTUI_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rnntui" / "mnist"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_idx(data: bytes, source: str = "data") -> np.ndarray:
    """An IDX byte string -> numpy array of its shape and type."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DataError(f"{source} is not an IDX file (magic bytes {data[:4].hex() or 'none'}; "
                        f"expected 0000 <type> <ndim>)")
    dtype, ndim = np.dtype(IDX_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: IDX header cut short ({len(data)} bytes)")
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(f"{source}: IDX shape {shape} needs {expected} bytes, the file has {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """Read one IDX file, gzip'd or raw (told apart by content, not name),
    checking its SHA-256 first when ``sha256`` is given."""
    path = Path(path)
    if sha256 is not None:
        got = sha256_of(path)
        if got != sha256:
            raise DataError(f"checksum mismatch for {path}: sha256 {got}, expected {sha256} "
                            f"(a damaged or different file; delete it and try again)")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: damaged gzip file ({exc})") from None
    return parse_idx(data, str(path))


def find_file(folder: Path, stem: str) -> Path | None:
    for base in (folder, folder / "MNIST" / "raw"):
        for name in (stem + ".gz", stem):
            if (base / name).is_file():
                return base / name
    return None


def rich_progress() -> tuple[ProgressHook, Callable[[], None]]:
    """A progress hook drawing a rich bar on stderr, and a function to close it."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   console=Console(file=sys.stderr), transient=False)
    tasks: dict[str, int] = {}
    bar.start()

    def hook(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total or None)
        bar.update(tasks[name], completed=done)

    return hook, bar.stop


def download(folder: Path, name: str, mirrors: list[str], sha256: str | None,
             progress: ProgressHook | None = None, timeout: float = 30.0) -> Path:
    """Fetch ``name`` into ``folder`` from the first mirror that answers; check
    its SHA-256; write through a ``.part`` file so a broken transfer leaves nothing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MnistMissing(f"cannot create {folder}: {exc.strerror or exc}") from None
    target, part = folder / name, folder / (name + ".part")
    errors = []
    for mirror in mirrors:
        url = mirror + name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                while block := response.read(1 << 16):
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(name, done, total)
            if sha256 is not None and (got := sha256_of(part)) != sha256:
                raise DataError(f"sha256 {got}, expected {sha256}")
            shutil.move(part, target)
            return target
        except (OSError, ValueError) as exc:  # URLError is an OSError; DataError a ValueError
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
        finally:
            part.unlink(missing_ok=True)
    raise MnistMissing(f"could not download {name}: " + "; ".join(errors))


def load_mnist(
    folder: str | Path | None = None,
    download_missing: bool = True,
    checksums: dict[str, str] | None = None,
    mirrors: list[str] | None = None,
    progress: ProgressHook | None = None,
) -> dict[str, np.ndarray]:
    """The four MNIST arrays: ``train_images (60000, 28, 28) uint8``,
    ``train_labels (60000,)``, ``test_images (10000, 28, 28)``, ``test_labels (10000,)``.

    ``checksums`` maps a file name to its SHA-256 (default :data:`KNOWN_SHA256`;
    pass ``{}`` to skip checks).  Downloads need ``download_missing`` and no
    ``RNNTUI_OFFLINE`` in the environment.
    """
    folder = Path(folder).expanduser() if folder else default_dir()
    checksums = KNOWN_SHA256 if checksums is None else checksums
    mirrors = MIRRORS if mirrors is None else mirrors
    found = {part: find_file(folder, stem) for part, stem in PARTS.items()}
    missing = [PARTS[part] for part, path in found.items() if path is None]
    if missing:
        if folder.exists() and not folder.is_dir():
            raise MnistMissing(f"{folder} is not a folder (MNIST files go in a folder)")
        offline = bool(os.environ.get("RNNTUI_OFFLINE"))
        if not download_missing or offline or not mirrors:
            why = "RNNTUI_OFFLINE is set" if offline and download_missing else "downloading is off"
            raise MnistMissing(_missing_message(folder, missing, why))
        created = [p for p in (folder, *folder.parents) if not p.exists()]
        close = None
        if progress is None:
            progress, close = rich_progress()
        try:
            for stem in missing:
                name = stem + ".gz"
                try:
                    download(folder, name, mirrors, checksums.get(name), progress)
                except MnistMissing as exc:
                    _remove_empty(created)  # a failed download leaves no empty cache folders behind
                    raise MnistMissing(_missing_message(folder, missing, str(exc))) from None
        finally:
            if close:
                close()
        found = {part: find_file(folder, stem) for part, stem in PARTS.items()}
    arrays = {}
    for part, path in found.items():
        assert path is not None
        arrays[part] = read_idx(path, checksums.get(path.name))
    _check_shapes(arrays)
    return arrays


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) where they are empty."""
    for path in folders:
        try:
            path.rmdir()
        except OSError:
            return


def _missing_message(folder: Path, missing: list[str], why: str) -> str:
    names = ", ".join(f"{m}[.gz]" for m in missing)
    return (f"MNIST files not found in {folder}: {names}; {why}. Put the four IDX files there "
            f"(gz or raw), or use the bundled set (dataset = mnist-5k)")


def _check_shapes(arrays: dict[str, np.ndarray]) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(f"MNIST {split}: images {images.shape} do not match labels {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise DataError(f"MNIST {split}: labels outside 0-9")
