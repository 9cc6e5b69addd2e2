"""Test-set distances and learning curves (lesson 01's honest split)."""

import importlib
import math

import numpy as np
import pytest

from mlip_lab import MLIPLabError
from mlip_lab.data import load
from mlip_lab.physics import distance_rmsd
from mlip_lab.train import LearningCurve, energy_force_loss, learning_curve, nearest_reference_distance, nested_subsets


@pytest.fixture(scope="module")
def organics():
    return load("organics")


def test_nearest_reference_distance_is_the_smallest_distance_rmsd_to_the_same_molecule(organics):
    water = np.flatnonzero(organics.molecule == "water")[:30]
    methane = np.flatnonzero(organics.molecule == "methane")[:5]
    references = organics.subset(water[10:])
    queries = organics.subset(np.concatenate([water[:10], methane, water[10:12]]))
    nearest = nearest_reference_distance(queries, references)
    n = 3
    brute = [min(distance_rmsd(queries.positions[q, :n], references.positions[r, :n]) for r in range(len(references)))
             for q in range(10)]
    assert np.allclose(nearest[:10], brute, atol=1e-10)
    assert np.isnan(nearest[10:15]).all()  # no methane among the references
    assert np.allclose(nearest[15:], 0.0, atol=1e-9)  # configurations that are themselves references
    with pytest.raises(MLIPLabError, match="must be a mlip_lab.data.Dataset"):
        nearest_reference_distance(queries, references.positions)


def test_nested_subsets_grow_by_adding_rows_and_validate_sizes():
    small, large = nested_subsets(50, [10, 30], seed=3)
    assert len(small) == 10 and len(large) == 30 and set(small) <= set(large)
    for bad in ([30, 10], [0, 5], [], [10, 10]):
        with pytest.raises(MLIPLabError, match="ascending"):
            nested_subsets(50, bad)
    with pytest.raises(MLIPLabError, match="exceeds the 50"):
        nested_subsets(50, [10, 60])


def test_learning_curve_trains_each_size_for_the_same_epochs_and_steps(organics, make_model):
    rows = np.random.default_rng(0).permutation(len(organics))
    train, valid, test = (organics.subset(rows[:40]), organics.subset(rows[40:50]), organics.subset(rows[50:60]))
    steps = []

    def count_steps(trainer, index):
        steps.append(index)

    curve = learning_curve(lambda: make_model(), energy_force_loss(force_weight=10.0), train, valid, test, [8, 30],
                           epochs=2, batches_per_epoch=4, lr=1e-3, callbacks=[_OnBatch(count_steps)], progress=False)
    assert curve.sizes.tolist() == [8, 30]
    assert curve.epochs.tolist() == [2, 2]
    assert curve.batch_sizes.tolist() == [2, 8]  # ceil(size / 4): the last batch of 30 holds 6
    assert len(steps) == 2 * 2 * 4  # two sizes, two epochs, four batches each
    assert np.all(np.isfinite(curve.force_mae)) and np.all(np.isfinite(curve.energy_mae))
    assert np.all(curve.seconds > 0)
    for bad in ({"epochs": 0}, {"epochs": 1, "batches_per_epoch": 0}):
        with pytest.raises(MLIPLabError, match="at least 1"):
            learning_curve(lambda: make_model(), energy_force_loss(force_weight=1.0), train, valid, test, [8], **bad)


class _OnBatch:
    def __init__(self, function):
        self.on_batch_end = function


def test_learning_curve_slope_is_the_log_log_fit():
    curve = LearningCurve(np.array([10, 100, 1000]), np.full(3, math.nan), np.array([1.0, 0.1, 0.01]), np.ones(3),
                          np.ones(3), np.ones(3))
    assert curve.slope() == pytest.approx(-1.0)
    with pytest.raises(MLIPLabError, match="finite energy"):
        curve.slope("energy")
    with pytest.raises(MLIPLabError, match="'force' or 'energy'"):
        curve.slope("hessian")



def test_learning_curve_turns_early_stopping_off_unless_asked_for(organics, make_model, monkeypatch):
    module = importlib.import_module("mlip_lab.train.learning_curve")  # the package exports a function of that name

    patience = []

    class RecordingTrainer(module.Trainer):
        def __init__(self, *args, **kwargs):
            patience.append(kwargs["early_stopping_patience"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(module, "Trainer", RecordingTrainer)
    rows = np.random.default_rng(1).permutation(len(organics))
    train, valid, test = (organics.subset(rows[:8]), organics.subset(rows[8:12]), organics.subset(rows[12:16]))
    loss = energy_force_loss(force_weight=1.0)
    full = learning_curve(lambda: make_model(), loss, train, valid, test, [4, 8], epochs=5, batches_per_epoch=2,
                          lr=1e-3, progress=False)
    learning_curve(lambda: make_model(), loss, train, valid, test, [4], epochs=5, lr=1e-3, early_stopping_patience=2,
                   progress=False)
    assert patience == [5, 5, 2]  # as many epochs as the run has, then the caller's choice
    assert full.epochs.tolist() == [5, 5]  # every epoch ran
