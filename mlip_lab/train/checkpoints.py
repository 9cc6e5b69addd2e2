"""Training checkpoints as plain data, written atomically and read back with ``weights_only=True``.

A checkpoint holds only dicts, lists, numbers, strings and tensors, so reading one never runs code
stored in the file. Files are written to a temporary name and then renamed, so an interrupt while
writing leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.io import read_plain_data, save_model

FORMAT = "mlip_lab.training_checkpoint"
KEYS = {"format", "epoch", "model", "best_model", "optimizer", "scheduler", "history", "best_epoch",
        "best_valid_loss", "rng"}


def _atomic(path: Path, write: Callable[[Path], object]) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def save_best_model(model, path) -> Path:
    """:func:`mlip_lab.models.save_model`, atomically."""
    return _atomic(Path(path), lambda tmp: save_model(model, tmp))


def save_checkpoint(state: dict, path) -> Path:
    """Write a trainer state (see :meth:`mlip_lab.train.Trainer.state_dict`) to ``path``."""
    return _atomic(Path(path), lambda tmp: torch.save({"format": FORMAT, **state}, tmp))


def load_checkpoint(path) -> dict:
    """Read a file written by :func:`save_checkpoint` onto the CPU; raises :class:`MLIPLabError` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise MLIPLabError(f"no training checkpoint at {path}; train with checkpoint_dir=... first")
    state = read_plain_data(path, "MLIP Lab training checkpoint", "Trainer(checkpoint_dir=...)")
    if not isinstance(state, dict) or state.get("format") != FORMAT or set(state) != KEYS:
        raise MLIPLabError(f"{path} is not an MLIP Lab training checkpoint (expected the keys {sorted(KEYS)})")
    return state
