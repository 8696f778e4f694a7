"""Digit images classified row by row (seed 003's "MNIST using RNN models").

An ``H×W`` greyscale image is read one row per time step: ``x: (B, H, W)`` with
pixels scaled to [0, 1] (no other normalisation, like the seed's ``ToTensor``);
the class is read at the last row, ``y: (B,)`` in 0–9, from 10 logits.  Loss:
cross-entropy.  Metric: ``acc`` on the held-out split (baseline 10%); the
helper :func:`confusion` gives the 10×10 confusion matrix.

``dataset``:

* ``mnist-5k`` (default, bundled): 5,000 MNIST digits, 28×28.  The file is
  sorted by label, so it is shuffled with a fixed seed (the same for every run)
  before ``val_fraction`` of it is held out.
* ``digits-8x8`` (bundled): 1,797 UCI digits, 8×8 — trains in seconds.
* ``mnist``: the real 60k/10k IDX files from ``data_dir`` (default
  ``$RNNTUI_DATA`` or ``~/.cache/rnntui/mnist``), downloaded when missing and a
  network exists; held out is the official 10k test set.

This is a finite dataset: ``steps_per_epoch`` minibatches per pass, reshuffled
every epoch from the training data generator; ``epochs`` (if set) counts passes.
Held-out metrics use the whole held-out split (``eval_size`` does not apply).

Seed 003 downloaded MNIST through torchvision at every run, ended its models
with ``LogSoftmax`` and then used ``CrossEntropyLoss`` (softmax applied twice),
and built the Adam optimiser anew every epoch, resetting its moments; here the
head gives logits, one optimiser lives for the run, and the data work offline.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from rich.color import Color
from rich.style import Style
from rich.text import Text

from rnntui.config import Config, ConfigError
from rnntui.tasks.base import Batch, Task, ok_text, require
from rnntui.tasks.spec import Key, Metric, TaskSpec

SPLIT_SEED = 20250316
"""Seed of the shuffle before the bundled sets' train/held-out split (fixed, so
every run and every seed sees the same held-out images)."""
EVAL_CHUNK = 1000
INK = 0.05
CLASSES = 10


def split_bundled(images: torch.Tensor, labels: torch.Tensor, val_fraction: float):
    """Shuffle with :data:`SPLIT_SEED`, then hold out the last ``val_fraction``."""
    perm = torch.randperm(labels.shape[0], generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_val = max(1, round(labels.shape[0] * val_fraction))
    train, held = perm[:-n_val], perm[-n_val:]
    return images[train], labels[train], images[held], labels[held]


@lru_cache(maxsize=2)
def _mnist_tensors(folder: str) -> tuple[torch.Tensor, ...]:
    from rnntui.data.mnist_idx import load_mnist

    arrays = load_mnist(folder or None)
    return tuple(torch.from_numpy(arrays[k].copy()) for k in
                 ("train_images", "train_labels", "test_images", "test_labels"))


def load_split(cfg: Config) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train_x, train_y, held_x, held_y)``; images ``(N, H, W)`` float32 or uint8."""
    from rnntui.data import DataError, MnistMissing, load_bundled

    if cfg.dataset == "mnist":
        try:
            train_x, train_y, test_x, test_y = _mnist_tensors(cfg.data_dir)
        except MnistMissing as exc:
            raise ConfigError("data_dir", str(exc)) from None
        except DataError as exc:
            raise ConfigError("data_dir", f"MNIST files unusable: {exc}") from None
        except (OSError, RuntimeError) as exc:  # not a folder, unreadable, ~nosuchuser
            raise ConfigError("data_dir", f"got {cfg.data_dir!r}: {getattr(exc, 'strerror', None) or exc}; "
                                          f"allowed: a folder that holds or can hold the MNIST files") from None
        return train_x, train_y.long(), test_x, test_y.long()
    try:
        images, labels = load_bundled(cfg.dataset)
    except DataError as exc:
        raise ConfigError("dataset", str(exc)) from None
    n = int(labels.shape[0])
    if n - max(1, round(n * cfg.val_fraction)) < 1:
        raise ConfigError("val_fraction", f"got {cfg.val_fraction}; it holds out all {n} images of "
                                          f"{cfg.dataset!r}, leaving none to train on")
    return split_bundled(images, labels, cfg.val_fraction)


def confusion(out: torch.Tensor, batch: Batch, classes: int = CLASSES) -> torch.Tensor:
    """``(classes, classes)`` counts: row = true label, column = predicted."""
    pred = out.argmax(-1)
    flat = batch.y.long() * classes + pred.long()
    return torch.bincount(flat, minlength=classes * classes).reshape(classes, classes)


SPEC = TaskSpec(
    name="digits", cls="DigitsTask", title="Digits, row by row", per_step=False, finite=True,
    metrics=(Metric("acc", "accuracy"),),
    baseline="guess a class: accuracy 1/10, cross-entropy ln 10",
    losses=("ce",),
    options=(Key("dataset", str, "mnist-5k", "digits data: mnist-5k, digits-8x8 (bundled) or mnist (IDX files)",
                 choices=("mnist-5k", "digits-8x8", "mnist")),
             Key("data_dir", str, "", "folder with MNIST IDX files / download cache", check="path",
                 label="data dir"),
             Key("val_fraction", float, 0.2, "held-out fraction of a bundled dataset", lo=0.0, hi=0.9,
                 lo_open=True, label="val frac")),
    ignores=("seq_len", "eval_lengths", "eval_size"),
)


class DigitsTask(Task, spec=SPEC):
    output_size = CLASSES

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        require(not cfg.eval_lengths, "eval_lengths",
                f"got {cfg.eval_lengths}; digit images have a fixed number of rows (use [])")
        self.train_x, self.train_y, self.held_x, self.held_y = load_split(cfg)
        self.rows, self.input_size = int(self.train_x.shape[1]), int(self.train_x.shape[2])
        self.scale = 255.0 if self.train_x.dtype == torch.uint8 else 1.0
        self._perm: torch.Tensor | None = None
        self._perm_epoch = -1

    # ---------------------------------------------------------------- data
    def _batch(self, images: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor | slice) -> Batch:
        x = images[idx].float()
        if self.scale != 1.0:
            x = x / self.scale
        return Batch(x, labels[idx])

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        """``batch_size`` training images drawn at random (``length`` is ignored:
        an image has ``H`` rows)."""
        idx = torch.randint(0, self.train_y.shape[0], (batch_size,), generator=gen)
        return self._batch(self.train_x, self.train_y, idx)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_y.shape[0] / self.cfg.batch_size)

    def state_dict(self) -> dict[str, Any]:
        """The current epoch's permutation: resuming mid-epoch reads the same batches."""
        return {} if self._perm is None else {"perm": self._perm, "perm_epoch": self._perm_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            perm = state["perm"]
            if not isinstance(perm, torch.Tensor) or perm.shape != self.train_y.shape[:1]:
                raise ValueError(f"the saved batch order is for another training set than this one "
                                 f"({self.train_y.shape[0]} images)")
            self._perm, self._perm_epoch = perm, int(state["perm_epoch"])

    def train_batch(self, step: int, gen: torch.Generator) -> Batch:
        """Minibatch ``step % steps_per_epoch`` of epoch ``step // steps_per_epoch``;
        each epoch draws a new permutation from ``gen`` (a checkpoint carries the
        current one, so a run resumed mid-epoch reads the same batches)."""
        spe, size = self.steps_per_epoch, self.cfg.batch_size
        epoch, i = divmod(step, spe)
        if self._perm is None or self._perm_epoch != epoch:
            self._perm = torch.randperm(self.train_y.shape[0], generator=gen)
            self._perm_epoch = epoch
        return self._batch(self.train_x, self.train_y, self._perm[i * size:(i + 1) * size])

    def eval_sets(self, gen: torch.Generator) -> dict[int | None, list[Batch]]:
        n = self.held_y.shape[0]
        return {None: [self._batch(self.held_x, self.held_y, slice(s, s + EVAL_CHUNK))
                       for s in range(0, n, EVAL_CHUNK)]}

    # ------------------------------------------------------- loss / metrics
    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(out, batch.y)

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        return {"acc": float((out.argmax(-1) == batch.y).float().mean())}

    def baseline(self) -> dict[str, float]:
        return {"acc": 1.0 / CLASSES, "val_loss": math.log(CLASSES)}

    # ------------------------------------------------------------- samples
    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        rows = []
        pred = out.argmax(-1)
        for i in range(min(n, batch.size)):
            p, t = int(pred[i]), int(batch.y[i])
            ok = p == t
            text = draw_image(batch.x[i])
            text.append(f"\ntrue {t} → predicted ")
            text.append_text(ok_text(str(p), ok))
            rows.append((text, ok))
        return rows


def _grey(value: float) -> Color:
    level = int(round(min(max(value, 0.0), 1.0) * 255))
    return Color.from_rgb(level, level, level)


def draw_image(image: torch.Tensor) -> Text:
    """An ``(H, W)`` image in [0, 1] as half-block characters: each character
    cell shows two pixel rows — ``▀`` (upper only), ``▄`` (lower only), ``█``
    (both alike) in the pixel's grey, or ``▀`` with the lower pixel as its
    background; small images are drawn twice as large."""
    img = image.detach().float().cpu()
    if img.shape[0] <= 14:
        img = img.repeat_interleave(2, 0).repeat_interleave(2, 1)
    if img.shape[0] % 2:
        img = torch.cat([img, torch.zeros(1, img.shape[1])])
    text = Text()
    for r in range(0, img.shape[0], 2):
        if r:
            text.append("\n")
        for top, bottom in zip(img[r].tolist(), img[r + 1].tolist()):
            # blank pixels keep the terminal background, so a dark pixel never
            # paints a black patch on a light theme
            if top < INK and bottom < INK:
                text.append(" ")
            elif bottom < INK:
                text.append("▀", style=Style(color=_grey(top)))
            elif top < INK:
                text.append("▄", style=Style(color=_grey(bottom)))
            elif abs(top - bottom) < INK:
                text.append("█", style=Style(color=_grey(top)))
            else:
                text.append("▀", style=Style(color=_grey(top), bgcolor=_grey(bottom)))
    return text
