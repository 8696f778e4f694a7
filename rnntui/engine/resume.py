"""Resuming from a checkpoint: what must match, what may change, what carries over.

* The keys that define the model or its data (:data:`RESUME_IDENTITY_KEYS`)
  must be the checkpoint's; a mismatch is refused naming the differing keys.
* The optimiser's settings may change and take effect (:func:`load_optimizer`):
  the same optimiser continues its state under the new lr, weight_decay and
  momentum; another optimiser starts its state fresh from the loaded weights.
* The history continues as if never interrupted: a run stopped between two
  evaluations ended with a closing one at the step it stopped, which an
  uninterrupted run never makes, so it is dropped (:func:`drop_closing_eval`);
  the new run directory's ``metrics.jsonl`` starts with the checkpoint's lines
  byte for byte (:func:`inherited_lines`), so its rows carry the same fields in
  the same order as the rows the resumed run appends.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import torch

from rnntui.config import Config, ConfigError
from rnntui.engine.history import Thinned

RESUME_IDENTITY_KEYS = ("task", "cell", "hidden_size", "num_layers", "bidirectional", "proj_size", "bias",
                        "nonlinearity", "n_symbols", "copy_len", "mem_dim", "dataset", "val_fraction", "loss")
"""Config keys a resumed run must share with its checkpoint (they define the model or the data)."""


def check_identity(cfg: Config, ckpt: dict[str, Any]) -> None:
    """ConfigError naming every identity key whose value differs from the checkpoint's."""
    saved = ckpt.get("config", {}) if isinstance(ckpt.get("config"), dict) else {}
    changed = [k for k in RESUME_IDENTITY_KEYS if k in saved and saved[k] != getattr(cfg, k)]
    if changed:
        was = ", ".join(f"{k}={saved[k]!r}" for k in changed)
        now = ", ".join(f"{k}={getattr(cfg, k)!r}" for k in changed)
        raise ConfigError("resume", f"the checkpoint was made with {was}, this run has {now} "
                                    f"(differing: {', '.join(changed)})")


def make_optimizer(cfg: Config, params: Any) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def optimizer_settings(cfg: Config) -> dict[str, float]:
    """The config's settings of its optimiser, as the param groups hold them."""
    settings = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    if cfg.optimizer == "sgd":
        settings["momentum"] = cfg.momentum
    return settings


def optimizer_kind(state: dict[str, Any]) -> str:
    """Which optimiser a saved state dict belongs to (checkpoints without ``optimizer_name``)."""
    group = (state.get("param_groups") or [{}])[0]
    return "adam" if "betas" in group else "sgd" if "momentum" in group else "unknown"


def load_optimizer(optimizer: torch.optim.Optimizer, cfg: Config, ckpt: dict[str, Any]) -> str | None:
    """Continue the checkpoint's optimiser state with ``cfg``'s settings.

    The same optimiser: its state (Adam's moments, SGD's momentum buffers) is
    loaded, then the config's lr, weight_decay and momentum replace the saved ones
    (``load_state_dict`` brings the old values back: a resume with ``--set
    weight_decay=0.5`` would otherwise train with the old one).  Another
    optimiser (adam -> sgd): nothing carries over — SGD has no use for Adam's
    moments — and the returned line says so (None otherwise)."""
    saved = ckpt.get("optimizer_name") or optimizer_kind(ckpt["optimizer"])
    if saved != cfg.optimizer:
        return f"optimizer changed from {saved} to {cfg.optimizer}: its state starts fresh"
    optimizer.load_state_dict(ckpt["optimizer"])
    for group in optimizer.param_groups:
        group.update(optimizer_settings(cfg))
    return None


def drop_closing_eval(evals: Thinned, step: int, on_schedule: Callable[[int], bool]) -> tuple[Thinned, bool]:
    """``evals`` without an evaluation at ``step`` that the schedule does not
    make (a stopped run's closing one), and whether one was dropped."""
    if evals and evals[-1]["step"] == step and not on_schedule(step):
        return Thinned(evals[:-1], cap=evals.cap, seen=evals.seen - 1), True
    return evals, False


def inherited_lines(ckpt: dict[str, Any], step: int, dropped: bool, steps: list[dict[str, Any]],
                    evals: list[dict[str, Any]], run_id: str, lr_at: Callable[[int], float]) -> bytes:
    """The metric lines a resumed run's ``metrics.jsonl`` starts with: the lines the
    checkpoint's run directory had, byte for byte, less a dropped closing
    evaluation at ``step``; for a checkpoint made without a run directory, its
    (possibly thinned) rows, in the fields and order live rows have (``lr_at(k)``:
    the learning rate of the update that made step ``k``; times are unknown)."""
    if "metrics_log" in ckpt:
        lines = ckpt["metrics_log"].numpy().tobytes().splitlines(keepends=True)
        if dropped:
            for i in range(len(lines) - 1, -1, -1):
                try:
                    row = json.loads(lines[i])
                except ValueError:
                    raise ConfigError("resume", "the checkpoint's metric history is damaged") from None
                if isinstance(row, dict) and row.get("event") == "eval" and row.get("step") == step:
                    del lines[i]
                    break
        return b"".join(lines)
    run_id = ckpt.get("run_id", run_id)
    out = [{"event": "step", "run_id": run_id, "step": r["step"], "epoch": r["epoch"], "loss": r["loss"],
            "grad_norm": r["grad_norm"], "lr": lr_at(r["step"]), "elapsed_s": None, "steps_per_s": None}
           for r in steps]
    out += [{"event": "eval", "run_id": run_id, **r} for r in evals]
    out.sort(key=lambda r: (r["step"], r["event"] == "eval"))
    return "".join(json.dumps(r) + "\n" for r in out).encode("utf-8")
