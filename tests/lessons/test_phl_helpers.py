"""Set-ups of the curvature lessons: water-cluster geometries, curvature timings, the reactions split."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.data import CATEGORIES
from mlip_lab.lessons import (
    TEST_CATEGORIES, TRAIN_CATEGORIES, curvature_cost, make_reactions_model, reactions_split, seconds_per_call,
    water_cluster,
)


def test_water_cluster_has_intact_separate_molecules():
    species, positions = water_cluster(5, n_configs=2, seed=1)
    assert species.shape == (2, 15) and positions.shape == (2, 15, 3)
    assert (species[:, ::3] == 8).all()
    oh = np.linalg.norm(positions[:, 1::3] - positions[:, 0::3], axis=-1)
    np.testing.assert_allclose(oh, 0.9572, atol=1e-3)  # rigid rotations keep the O-H bonds
    oxygens = positions[0, 0::3]
    gaps = np.linalg.norm(oxygens[:, None] - oxygens[None], axis=-1)[np.triu_indices(5, 1)]
    assert gaps.min() > 2.3
    with pytest.raises(MLIPLabError):
        water_cluster(0)


def test_timing_calls_the_function_and_reports_seconds(make_model):
    calls = []
    assert seconds_per_call(lambda: calls.append(1), repeats=3) >= 0 and len(calls) == 4
    with pytest.raises(MLIPLabError):
        seconds_per_call(lambda: None, repeats=0)
    model = make_model(n_features=6, n_sensitivities=4, n_interactions=2, n_atom_layers=3, cutoff=6.0, r_soft_max=5.0)
    species, positions = water_cluster(2)
    cost = curvature_cost(model, torch.as_tensor(species), torch.as_tensor(positions), repeats=1)
    assert set(cost) == {"hvp", "hessian"} and all(v > 0 for v in cost.values())


def test_reactions_split_trains_on_stationary_points_and_tests_far_from_them(make_dataset):
    data = make_dataset(["water"] * 6, categories=["reactant", "ts", "irc", "nms", "product", "md"])
    train, test = reactions_split(data)
    assert sorted(train.category) == ["product", "reactant", "ts"]
    assert sorted(test.category) == ["irc", "nms"]  # other categories are in neither
    assert set(TRAIN_CATEGORIES) | set(TEST_CATEGORIES) <= set(CATEGORIES)  # names the data layer knows
    model = make_reactions_model(train, seed=3)
    assert model.config.elements == (1, 8)
    assert torch.allclose(model(torch.as_tensor(train.species), torch.as_tensor(train.positions, dtype=torch.float32)).energy.mean(),
                          torch.tensor(train.energies.mean(), dtype=torch.float32), rtol=1e-3)
    same = make_reactions_model(train, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters()))

