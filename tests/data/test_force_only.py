"""Datasets with forces and no energies (force matching, e.g. coarse-grained liquids) through data and train."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.data import Dataset, load, read_extxyz, save_npz, write_extxyz
from mlip_lab.train import EnergyLoss, ForceLoss, Loss, Trainer, error_table, parity_data, predict_dataset


@pytest.fixture
def forces_only(mixed):
    """The conftest ``mixed`` data with the energies dropped."""
    arrays = {f: getattr(mixed, f) for f in ("species", "positions", "forces", "molecule", "category")}
    return Dataset(**arrays, name="forces only")


def test_dataset_without_energies(forces_only, mixed):
    assert forces_only.energies is None and len(forces_only) == len(mixed)
    assert forces_only.labelled_fields == ["forces"]
    assert "with forces" in repr(forces_only)
    assert forces_only.subset([0]).energies is None
    batch = next(forces_only.batches(2))
    assert batch.energies is None and batch.forces.shape[0] == 2
    # Joining with a dataset that has energies keeps only what all parts carry.
    assert Dataset.concatenate([forces_only, mixed]).energies is None


def test_forces_only_round_trips_through_files(forces_only, tmp_path):
    for path, read in ((save_npz(forces_only, tmp_path / "f.npz"), load),
                       (write_extxyz(forces_only, tmp_path / "f.xyz"), read_extxyz)):
        back = read(path)
        assert back.energies is None
        assert np.allclose(back.forces, forces_only.forces, atol=1e-6)


def test_force_matching_trains_without_energies(forces_only, make_model):
    model = make_model(tensor_order=0)
    trainer = Trainer(model, Loss([ForceLoss(metric="rmse"), ForceLoss(metric="mae")]), forces_only, forces_only,
                      max_epochs=2, progress=False)
    before = [p.detach().clone() for p in model.parameters()]
    trainer.fit()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    rows = error_table(forces_only, predict_dataset(model, forces_only), by=None, unit="eV")
    assert np.isnan(rows[0]["energy_mae"]) and np.isfinite(rows[0]["force_mae"])


def test_energy_terms_refuse_force_only_data(forces_only, make_model):
    with pytest.raises(MLIPLabError, match="needs reference energies"):
        Trainer(make_model(tensor_order=0), Loss([EnergyLoss()]), forces_only, forces_only, progress=False).fit()
    with pytest.raises(MLIPLabError, match="no reference energies"):
        parity_data(forces_only, predict_dataset(make_model(tensor_order=0), forces_only), "energy")
