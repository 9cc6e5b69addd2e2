"""Save and load models as plain data: ``{"kind", "config", "state_dict"}``.

Files hold only dicts, lists, numbers, strings and tensors, so :func:`load_model` reads them with
``torch.load(weights_only=True)`` and never runs code stored in a file. Each model kind registers how to describe
itself as a plain config and how to rebuild itself from one (:func:`register_model_kind`): HIPNN and Ensemble here,
kinds defined in higher layers (e.g. the coarse-graining prior and pairwise models of ``mlip_lab.cg``) where they
are defined, so saving and loading them needs that module imported.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.ensemble import Ensemble
from mlip_lab.models.hipnn import HIPNN, HIPNNConfig

_KEYS = {"kind", "config", "state_dict"}


@dataclass(frozen=True)
class ModelKind:
    """How one model class is written to and rebuilt from a file.

    config_of(model) -> plain data (dicts, lists, numbers, strings) that, given to build(config), makes a model
    of the same architecture (the weights follow from the file's state_dict).
    """

    cls: type
    config_of: Callable[[torch.nn.Module], object]
    build: Callable[[object], torch.nn.Module]


_KINDS: dict[str, ModelKind] = {}


def register_model_kind(name: str, cls: type, config_of: Callable, build: Callable) -> None:
    """Let :func:`save_model` and :func:`load_model` handle models of class ``cls`` under the kind ``name``."""
    _KINDS[name] = ModelKind(cls, config_of, build)


def model_spec(model: torch.nn.Module) -> dict:
    """``{"kind", "config"}`` of a registered model kind (nested models use it for their parts)."""
    for name, kind in _KINDS.items():
        if type(model) is kind.cls:
            return {"kind": name, "config": kind.config_of(model)}
    raise MLIPLabError(f"cannot save a {type(model).__name__}: the model kinds that can be saved are {sorted(_KINDS)} "
                       "(a new kind joins them with mlip_lab.models.io.register_model_kind)")


def build_model(spec) -> torch.nn.Module:
    """A fresh model from ``{"kind", "config"}`` as written by :func:`model_spec`."""
    if not isinstance(spec, dict) or set(spec) != {"kind", "config"}:
        raise MLIPLabError(f"a model spec must be {{'kind': ..., 'config': ...}}, got {type(spec).__name__}")
    kind = _KINDS.get(spec["kind"])
    if kind is None:
        raise MLIPLabError(f"unknown model kind {spec['kind']!r}; known: {sorted(_KINDS)}. Kinds defined outside "
                           "mlip_lab.models register when their module is imported (e.g. `import mlip_lab.cg`)")
    return kind.build(spec["config"])


def save_model(model: torch.nn.Module, path) -> Path:
    """Write ``model`` (any registered kind: HIPNN, Ensemble, ...) to ``path``, creating missing folders;
    returns the path."""
    payload = {**model_spec(model), "state_dict": model.state_dict()}
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


def load_model(path, map_location="cpu") -> torch.nn.Module:
    """Read a file written by :func:`save_model`, in the dtype it was saved in."""
    path = Path(path)
    payload = read_plain_data(path, "MLIP Lab model file", "mlip_lab.models.save_model", map_location)
    if not isinstance(payload, dict) or set(payload) != _KEYS:
        raise MLIPLabError(f"{path} is not an MLIP Lab model file: expected the keys {sorted(_KEYS)}")
    if not isinstance(payload["kind"], str) or payload["kind"] not in _KINDS:
        raise MLIPLabError(f"{path}: unknown model kind {payload['kind']!r}; known: {sorted(_KINDS)}. Kinds defined "
                           "outside mlip_lab.models register when their module is imported (e.g. `import mlip_lab.cg`)")
    try:
        model = build_model({"kind": payload["kind"], "config": payload["config"]})
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


def _ensemble_config(ensemble: Ensemble) -> dict:
    # HIPNN members keep the plain config list of older files; other kinds are stored with their kind.
    return {"members": [m.config.to_dict() if type(m) is HIPNN else model_spec(m) for m in ensemble.members]}


def _build_ensemble(config) -> Ensemble:
    if not isinstance(config, dict) or set(config) != {"members"} or not isinstance(config["members"], list):
        raise MLIPLabError("an Ensemble config must be {'members': [member configs]}")
    return Ensemble([build_model(c) if isinstance(c, dict) and set(c) == {"kind", "config"}
                     else HIPNN(HIPNNConfig.from_dict(c)) for c in config["members"]])


register_model_kind("HIPNN", HIPNN, lambda model: model.config.to_dict(),
                    lambda config: HIPNN(HIPNNConfig.from_dict(config)))
register_model_kind("Ensemble", Ensemble, _ensemble_config, _build_ensemble)
