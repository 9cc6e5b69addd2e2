"""Test-set distances and learning curves (lesson 01's honest split)."""

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


def test_learning_curve_trains_each_size_for_the_same_number_of_steps(organics, make_model):
    rows = np.random.default_rng(0).permutation(len(organics))
    train, valid, test = (organics.subset(rows[:40]), organics.subset(rows[40:50]), organics.subset(rows[50:60]))
    curve = learning_curve(lambda: make_model(), energy_force_loss(force_weight=10.0), train, valid, test, [8, 40],
                           steps=4, batch_size=4, lr=1e-3, progress=False)
    assert curve.sizes.tolist() == [8, 40]
    assert curve.epochs.tolist() == [2, 1]  # ceil(4 steps x 4 / size)
    assert np.all(np.isfinite(curve.force_mae)) and np.all(np.isfinite(curve.energy_mae))
    assert np.all(curve.seconds > 0)
    with pytest.raises(MLIPLabError, match="steps"):
        learning_curve(lambda: make_model(), energy_force_loss(force_weight=1.0), train, valid, test, [8], steps=0)


def test_learning_curve_slope_is_the_log_log_fit():
    curve = LearningCurve(np.array([10, 100, 1000]), np.full(3, math.nan), np.array([1.0, 0.1, 0.01]), np.ones(3),
                          np.ones(3))
    assert curve.slope() == pytest.approx(-1.0)
    with pytest.raises(MLIPLabError, match="finite energy"):
        curve.slope("energy")
    with pytest.raises(MLIPLabError, match="'force' or 'energy'"):
        curve.slope("hessian")
