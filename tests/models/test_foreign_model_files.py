"""load_model refuses files written by other programs with an MLIPLabError, and never runs code from them."""

import pickle
import zipfile

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.models import load_model

CODE_RAN = []


class _Trap:
    def __reduce__(self):
        return (CODE_RAN.append, (True,))


def _write(path, kind):
    if kind == "torch module":
        torch.save(torch.nn.Linear(2, 2), path)
    elif kind == "pickled trap in a torch file":
        torch.save({"kind": "HIPNN", "config": _Trap(), "state_dict": {}}, path)
    elif kind == "plain pickle":
        path.write_bytes(pickle.dumps({"weights": _Trap()}))
    elif kind == "zip of text":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
    elif kind == "numpy archive":
        np.savez(path.with_suffix(".npz"), a=np.zeros(3))
        path.with_suffix(".npz").rename(path)
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(2048))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "bare state_dict":
        torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    elif kind == "config of another program":
        torch.save({"kind": "HIPNN", "config": {"layers": [64, 64]}, "state_dict": {}}, path)
    elif kind == "config with wrong types":
        torch.save({"kind": "Ensemble", "config": {"members": ["not a config"]}, "state_dict": {}}, path)
    elif kind == "unknown model kind":
        torch.save({"kind": "Transformer", "config": {}, "state_dict": {}}, path)


KINDS = ["torch module", "pickled trap in a torch file", "plain pickle", "zip of text", "numpy archive", "random bytes",
         "empty", "bare state_dict", "config of another program", "config with wrong types", "unknown model kind"]


@pytest.mark.parametrize("kind", KINDS)
def test_foreign_files_are_refused(tmp_path, kind):
    path = tmp_path / "model.pt"
    _write(path, kind)
    with pytest.raises(MLIPLabError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert "weights_only=False" not in message  # never advise the unsafe load
    assert not CODE_RAN


def test_pickled_objects_are_explained(tmp_path):
    _write(tmp_path / "module.pt", "torch module")
    with pytest.raises(MLIPLabError, match="stores Python objects other than tensors .* never unpickling code"):
        load_model(tmp_path / "module.pt")
    _write(tmp_path / "junk.pt", "random bytes")
    with pytest.raises(MLIPLabError, match="not a PyTorch zip archive as written by mlip_lab.models.save_model"):
        load_model(tmp_path / "junk.pt")
