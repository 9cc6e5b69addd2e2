"""The ensemble spread as uncertainty: rank correlation, calibration curve and error, and pairing spreads with
errors on a reference dataset."""

import copy

import numpy as np
import pytest

from mlip_lab.distill import (
    calibration_curve, calibration_error, ensemble_force_labels, hide_forces, spearman, spread_and_error,
)
from mlip_lab.errors import MLIPLabError


def test_spearman_of_perfectly_ranked_errors_is_one():
    spread = np.array([0.1, 0.5, 0.2, 0.9, 0.3])
    assert spearman(spread, spread**2) == pytest.approx(1.0)
    assert spearman(spread, -(spread**2)) == pytest.approx(1.0)  # errors count by magnitude
    assert spearman(spread, 1.0 / spread) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.ones(5), spread))
    with pytest.raises(MLIPLabError, match="one spread per error"):
        spearman(spread, spread[:3])


def test_calibration_bins_have_equal_counts_in_spread_order():
    spread = np.arange(10, 0, -1) / 10.0
    curve = calibration_curve(spread, 2 * spread, n_bins=3)
    assert curve.counts.tolist() == [4, 3, 3]
    assert np.allclose(curve.edges, [[0.1, 0.4], [0.5, 0.7], [0.8, 1.0]])
    assert np.allclose(curve.spread_rms[0], np.sqrt(np.mean(np.array([0.1, 0.2, 0.3, 0.4]) ** 2)))
    assert np.allclose(curve.observed_rmse, 2 * curve.spread_rms)
    with pytest.raises(MLIPLabError, match="n_bins"):
        calibration_curve(spread, spread, n_bins=11)


def test_calibration_error_is_zero_when_errors_match_the_spread_and_grows_with_the_gap():
    spread = np.linspace(0.1, 1.0, 20)
    assert calibration_error(calibration_curve(spread, spread, n_bins=4)) == pytest.approx(0.0)
    curve = calibration_curve(spread, 2 * spread, n_bins=4)
    assert calibration_error(curve) == pytest.approx(np.average(curve.spread_rms, weights=curve.counts))


def test_spread_and_error_pairs_each_real_atom(make_model, make_dataset):
    data = make_dataset(("water", "methane"))
    teacher = make_model((1, 6, 8), seed=1)
    labels = ensemble_force_labels([teacher, copy.deepcopy(teacher)], data)
    paired = spread_and_error(labels, data)
    assert paired.force_spread.shape == paired.force_error.shape == (8,)  # 3 + 5 real atoms
    assert np.allclose(paired.force_spread, 0.0)
    real = data.species > 0
    assert np.allclose(paired.force_error, np.linalg.norm(labels.forces - data.forces, axis=-1)[real])
    assert np.allclose(paired.energy_error, np.abs(labels.energies - data.energies))
    with pytest.raises(MLIPLabError, match="has no forces"):
        spread_and_error(labels, hide_forces(data))
    with pytest.raises(MLIPLabError, match="another dataset"):
        spread_and_error(labels, make_dataset(("methane", "water")))
