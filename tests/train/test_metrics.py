"""Error statistics and parity data that the notebooks and widgets display."""

import numpy as np
import pytest

from mlip_lab import MLIPLabError
from mlip_lab.data import Dataset
from mlip_lab.physics.units import EV_KCAL_PER_MOL
from mlip_lab.train.metrics import (
    DatasetPredictions, ErrorStats, error_table, force_errors, format_table, parity_data,
)


@pytest.fixture
def pair():
    species = np.array([[8, 1, 1], [1, 1, 0]])
    positions = np.zeros((2, 3, 3))
    positions[:, 1, 0] = 1.0
    positions[0, 2, 1] = 1.0
    forces = np.zeros((2, 3, 3))
    forces[0] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    forces[1, :2] = [[2, 0, 0], [-2, 0, 0]]
    ds = Dataset(species, positions, np.array([-10.0, -2.0]), forces, category=np.array(["nms", "md"]))
    pred_forces = forces.copy()
    pred_forces[0, 0, 0] += 0.3  # one component off by 0.3
    pred_forces[1, 2] = 99.0  # garbage on a padded atom must be ignored
    preds = DatasetPredictions(np.array([-9.9, -2.2]), pred_forces, np.zeros((2, 3)))
    return ds, preds


def test_error_stats():
    s = ErrorStats.of(np.array([1.0, -3.0]))
    assert (s.mae, s.max_abs, s.count) == (2.0, 3.0, 2)
    assert s.rmse == pytest.approx(np.sqrt(5.0))
    assert s.scaled(2.0).mae == 4.0


def test_force_errors_ignore_padding(pair):
    ds, preds = pair
    err = force_errors(ds, preds)
    assert err.shape == (5, 3)
    assert np.abs(err).sum() == pytest.approx(0.3)


def test_error_table_overall_and_per_category(pair):
    ds, preds = pair
    rows = {r["group"]: r for r in error_table(ds, preds, unit="eV")}
    assert rows["all"]["count"] == 2
    assert rows["all"]["energy_mae"] == pytest.approx(0.15)
    assert rows["md"]["energy_mae"] == pytest.approx(0.2)
    assert rows["md"]["force_mae"] == 0.0
    assert rows["nms"]["force_mae"] == pytest.approx(0.3 / 9)
    kcal = {r["group"]: r for r in error_table(ds, preds)}
    assert kcal["nms"]["energy_mae"] == pytest.approx(0.1 * EV_KCAL_PER_MOL)
    assert "kcal/mol" in format_table(error_table(ds, preds))
    with pytest.raises(ValueError, match="unit"):
        error_table(ds, preds, unit="hartree")


def test_parity_data(pair):
    ds, preds = pair
    ref, pred = parity_data(ds, preds, "energy", per_atom=True)
    np.testing.assert_allclose(ref, [-10 / 3, -1.0])
    np.testing.assert_allclose(pred, [-9.9 / 3, -1.1])
    ref_f, pred_f = parity_data(ds, preds, "forces")
    assert ref_f.shape == pred_f.shape == (15,)
    with pytest.raises(ValueError):
        parity_data(ds, preds, "stress")


def test_relative_parity_energies_shift_each_molecule_by_its_own_mean_reference(pair):
    ds, preds = pair
    three = Dataset(np.concatenate([ds.species, ds.species[:1]]), np.concatenate([ds.positions, ds.positions[:1]]),
                    np.array([-10.0, -2.0, -11.0]), np.concatenate([ds.forces, ds.forces[:1]]),
                    molecule=np.array(["water", "h2", "water"]))
    predicted = DatasetPredictions(np.array([-9.9, -2.2, -11.3]), np.zeros((3, 3, 3)), np.zeros((3, 3)))
    ref, pred = parity_data(three, predicted, "energy", per_atom=False, relative=True)
    np.testing.assert_allclose(ref, [0.5, 0.0, -0.5])  # water's mean is -10.5, h2's -2
    np.testing.assert_allclose(pred, [0.6, -0.2, -0.8])
    np.testing.assert_allclose(pred - ref, predicted.energies - three.energies)  # the errors are unchanged
    with pytest.raises(MLIPLabError, match="molecule"):
        parity_data(ds, preds, "energy", relative=True)


def test_predict_dataset_caps_the_atoms_per_batch_and_its_predictions_do_not_depend_on_it(make_model, monkeypatch):
    from mlip_lab.data import load
    from mlip_lab.train import predict_dataset

    data = load("organics_minima")  # 7 molecules, padded to 9 atoms
    model = make_model()
    sizes = []
    batch_rows = Dataset.batch_rows

    def recorded(self, *args, **kwargs):
        rows = list(batch_rows(self, *args, **kwargs))
        sizes.extend(map(len, rows))
        return iter(rows)

    monkeypatch.setattr(Dataset, "batch_rows", recorded)
    capped = predict_dataset(model, data, batch_size=64, max_atoms=2 * data.max_atoms + 1)
    assert sizes == [2, 2, 2, 1]
    sizes.clear()
    whole = predict_dataset(model, data, batch_size=64)
    assert sizes == [7]
    assert np.allclose(capped.forces, whole.forces) and np.allclose(capped.energies, whole.energies)
    with pytest.raises(MLIPLabError, match="max_atoms"):
        predict_dataset(model, data, max_atoms=0)
