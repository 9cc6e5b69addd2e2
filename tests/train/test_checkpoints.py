"""Training checkpoints from elsewhere are refused with one readable line, never unpickled."""

import pickle

import pytest
import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.train import load_checkpoint


class Payload:
    """Unpickling this would run code of the test module: a weights-only loader must refuse it."""


@pytest.mark.parametrize("write, message", [
    (lambda path: path.write_bytes(b"\x00\x01 not a checkpoint"), "not a PyTorch zip archive"),
    (lambda path: path.write_bytes(pickle.dumps({"epoch": 1})), "not a PyTorch zip archive"),
    (lambda path: torch.save({"model": Payload()}, path), "stores Python objects"),
    (lambda path: torch.save({"epoch": 1}, path), "expected the keys"),
])
def test_foreign_checkpoints_are_refused(tmp_path, write, message):
    path = tmp_path / "last.pt"
    write(path)
    with pytest.raises(MLIPLabError, match=message) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value) and "weights_only=False" not in str(info.value)


def test_a_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(MLIPLabError, match="checkpoint_dir"):
        load_checkpoint(tmp_path / "last.pt")
