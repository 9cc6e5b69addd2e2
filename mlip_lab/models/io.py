"""Save and load models as plain data: ``{"kind", "config", "state_dict"}``.

Files hold only dicts, lists, numbers, strings and tensors, so :func:`load_model` reads them with
``torch.load(weights_only=True)`` and never runs code stored in a file.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.ensemble import Ensemble
from mlip_lab.models.hipnn import HIPNN, HIPNNConfig

_KEYS = {"kind", "config", "state_dict"}


def save_model(model: HIPNN | Ensemble, path) -> Path:
    """Write ``model`` (a HIPNN or an Ensemble) to ``path``, creating missing folders; returns the path."""
    if isinstance(model, HIPNN):
        payload = {"kind": "HIPNN", "config": model.config.to_dict()}
    elif isinstance(model, Ensemble):
        payload = {"kind": "Ensemble", "config": {"members": [m.config.to_dict() for m in model.members]}}
    else:
        raise MLIPLabError(f"can only save HIPNN or Ensemble models, got {type(model).__name__}")
    payload["state_dict"] = model.state_dict()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def read_plain_data(path, what: str, writer: str, map_location="cpu"):
    """``torch.load(path, weights_only=True)`` with every failure turned into one readable MLIPLabError line.

    what: the kind of file expected (e.g. "MLIP Lab model file"); writer: the function that writes such files,
    named in the messages. Never unpickles code: a file that stores Python objects is refused, not opened.
    """
    path = Path(path)
    if not path.is_file():
        raise MLIPLabError(f"no {what} at {path}")
    if not zipfile.is_zipfile(path):
        raise MLIPLabError(f"{path} is not an {what}: it is not a PyTorch zip archive as written by {writer}, "
                           "so the weights-only loader does not open it (wrong file, or written by another program?)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle details of files it is about to refuse
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise MLIPLabError(f"{path} is not an {what}: it stores Python objects other than tensors and plain "
                           "data (a whole pickled module, say), and MLIP Lab loads such files weights-only, never "
                           f"unpickling code; write them with {writer}") from exc
    except Exception as exc:  # any other unreadable archive is the user's input problem, not ours
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise MLIPLabError(f"{path} is not an {what}: PyTorch cannot read it ({reason})") from exc


def load_model(path, map_location="cpu") -> HIPNN | Ensemble:
    """Read a file written by :func:`save_model`, in the dtype it was saved in."""
    path = Path(path)
    payload = read_plain_data(path, "MLIP Lab model file", "mlip_lab.models.save_model", map_location)
    if not isinstance(payload, dict) or set(payload) != _KEYS:
        raise MLIPLabError(f"{path} is not an MLIP Lab model file: expected the keys {sorted(_KEYS)}")
    try:
        model = _build(payload["kind"], payload["config"], path)
    except (MLIPLabError, TypeError, ValueError, KeyError) as exc:  # configs from another program or version
        raise MLIPLabError(f"{path}: the stored model config is not usable ({exc})") from exc
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
