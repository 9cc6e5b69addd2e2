"""Time to failure over batched replicas: a force field that blows up by construction against one that does not,
censoring, and the survival statistics."""

import numpy as np
import pytest
import torch

from mlip_lab.data import load
from mlip_lab.distill import TimeToFailure, stability_replicas, time_to_failure
from mlip_lab.errors import MLIPLabError
from mlip_lab.md import HarmonicBonds


@pytest.fixture(scope="module")
def minima():
    return load("organics_minima")


def _springs(minima, n_replicas, seed=0):
    state, _ = stability_replicas(minima, n_replicas, 300.0, seed=seed, dtype=torch.float64)
    return HarmonicBonds(state.species, state.positions, k=30.0)


def test_springs_with_a_huge_time_step_all_fail_and_with_a_small_one_all_survive(minima):
    springs = _springs(minima, 10)
    broken = time_to_failure(springs, minima, temperature=300.0, n_replicas=10, duration_fs=200.0, timestep=8.0,
                             progress=False)
    assert broken.failed.all() and broken.fraction_failed == 1.0
    assert (broken.times > 0).all() and (broken.times <= 200.0).all() and np.isfinite(broken.median)
    assert all(reason for reason in broken.reasons)
    stable = time_to_failure(springs, minima, temperature=300.0, n_replicas=10, duration_fs=20.0, timestep=0.25,
                             progress=False)
    assert not stable.failed.any() and stable.median == np.inf
    assert np.allclose(stable.times, 20.0) and "> 20 fs" in stable.summary()


def test_replicas_cycle_through_the_dataset_in_a_seeded_order(minima):
    state, rows = stability_replicas(minima, 10, 500.0, seed=3)
    assert sorted(rows[:7]) == list(range(7)) and np.array_equal(rows[7:], rows[:3])
    assert torch.equal(state.species, torch.as_tensor(minima.species[rows]))
    assert np.array_equal(stability_replicas(minima, 10, 500.0, seed=3)[1], rows)
    with pytest.raises(MLIPLabError, match="n_replicas"):
        stability_replicas(minima, 0, 500.0)


def test_survival_statistics_keep_survivors_censored():
    result = TimeToFailure(times=np.array([10.0, 30.0, 20.0, 100.0, 100.0]),
                           failed=np.array([True, True, True, False, False]), reasons=np.array(["x"] * 3 + [""] * 2),
                           configurations=np.arange(5), duration=100.0, temperature=1000.0, timestep=0.5)
    assert result.fraction_failed == pytest.approx(0.6)
    assert result.median == 30.0  # survival 2/5 <= 1/2 after the third failure
    times, alive = result.survival_curve()
    assert times.tolist() == [0.0, 10.0, 20.0, 30.0, 100.0] and np.allclose(alive, [1.0, 0.8, 0.6, 0.4, 0.4])
    assert "3/5 replicas failed" in result.summary() and "median time to failure 30.0 fs" in result.summary()


def test_models_go_through_the_contract(make_model, minima):
    water = minima.where(molecule="water")
    result = time_to_failure(make_model((1, 8)), water, temperature=300.0, n_replicas=2, duration_fs=1.0,
                             timestep=0.5, progress=False)
    assert result.times.shape == (2,) and result.duration == 1.0
    with pytest.raises(MLIPLabError, match=r"elements \[8\]"):
        time_to_failure(make_model((1, 6)), water, n_replicas=2, duration_fs=1.0, progress=False)
    with pytest.raises(MLIPLabError, match="model contract"):
        time_to_failure(torch.nn.Linear(3, 1), water, n_replicas=2, duration_fs=1.0, progress=False)
    with pytest.raises(MLIPLabError, match="a model or a force-field callable"):
        time_to_failure("model.pt", water, n_replicas=2, duration_fs=1.0, progress=False)
