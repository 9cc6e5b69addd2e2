"""Save and load models as plain data: ``{"kind", "config", "state_dict"}``.

Files hold only dicts, lists, numbers, strings and tensors, so :func:`load_model` reads them with
``torch.load(weights_only=True)`` and never runs code stored in a file.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.ensemble import Ensemble
from mlip_lab.models.hipnn import HIPNN, HIPNNConfig

_KEYS = {"kind", "config", "state_dict"}


def save_model(model: HIPNN | Ensemble, path) -> Path:
    """Write ``model`` (a HIPNN or an Ensemble) to ``path``; returns the path."""
    if isinstance(model, HIPNN):
        payload = {"kind": "HIPNN", "config": model.config.to_dict()}
    elif isinstance(model, Ensemble):
        payload = {"kind": "Ensemble", "config": {"members": [m.config.to_dict() for m in model.members]}}
    else:
        raise MLIPLabError(f"can only save HIPNN or Ensemble models, got {type(model).__name__}")
    payload["state_dict"] = model.state_dict()
    path = Path(path)
    torch.save(payload, path)
    return path


def load_model(path, map_location="cpu") -> HIPNN | Ensemble:
    """Read a file written by :func:`save_model`, in the dtype it was saved in."""
    path = Path(path)
    if not path.is_file():
        raise MLIPLabError(f"no model file at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # any unreadable or unsafe file is the user's input problem, not ours
        raise MLIPLabError(f"{path} is not a readable MLIP Lab model file (weights-only load failed: {exc})") from exc
    if not isinstance(payload, dict) or set(payload) != _KEYS:
        raise MLIPLabError(f"{path} is not an MLIP Lab model file: expected the keys {sorted(_KEYS)}")
    model = _build(payload["kind"], payload["config"], path)
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MLIPLabError(f"{path}: state_dict must map names to tensors")
    float_dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
    if len(float_dtypes) == 1:
        model.to(float_dtypes.pop())
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise MLIPLabError(f"{path}: weights do not match the stored config: {exc}") from exc
    return model


def _build(kind, config, path) -> HIPNN | Ensemble:
    if kind == "HIPNN":
        return HIPNN(HIPNNConfig.from_dict(config))
    if kind == "Ensemble":
        if not isinstance(config, dict) or set(config) != {"members"} or not isinstance(config["members"], list):
            raise MLIPLabError(f"{path}: an Ensemble config must be {{'members': [member configs]}}")
        return Ensemble([HIPNN(HIPNNConfig.from_dict(c)) for c in config["members"]])
    raise MLIPLabError(f"{path}: unknown model kind {kind!r}; expected 'HIPNN' or 'Ensemble'")
