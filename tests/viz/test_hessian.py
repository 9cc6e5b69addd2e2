"""Hessian comparison data and the curvature widgets (heat map, explorer, normal-mode view), no browser."""

import numpy as np
import pytest
from ase.data import atomic_masses

from mlip_lab import MLIPLabError
from mlip_lab.data import load
from mlip_lab.physics import harmonic_analysis
from mlip_lab.viz import HessianExplorer, coordinate_labels, hessian_comparison, hessian_heatmap, normal_mode_view


def test_hessian_comparison_and_widgets():
    data = load("organics_minima")
    i = int(np.flatnonzero(data.molecule == "water")[0])
    shifted = data.hessians * 1.05
    shown = hessian_comparison(data, i, shifted)
    assert shown["labels"] == coordinate_labels(data.species[i])[:9] == ["O1 x", "O1 y", "O1 z", "H2 x", "H2 y", "H2 z",
                                                                        "H3 x", "H3 y", "H3 z"]
    np.testing.assert_allclose(shown["difference"], 0.05 * shown["reference"])
    np.testing.assert_allclose(shown["predicted_frequencies"], np.sqrt(1.05) * shown["reference_frequencies"])
    with pytest.raises(MLIPLabError, match="index must be"):
        hessian_comparison(data, len(data), shifted)

    explorer = HessianExplorer(data, {"scaled": shifted, "exact": data.hessians})
    explorer.geometry.value = i
    assert np.allclose(np.asarray(explorer.heatmap.data[0].z), shown["difference"])
    assert np.allclose(explorer.spectrum.data[1].y, shown["predicted_frequencies"])
    explorer.scheme.value = "exact"
    assert np.abs(np.asarray(explorer.heatmap.data[0].z)).max() == 0 and "MAE 0.000" in explorer.summary.value
    with pytest.raises(MLIPLabError, match="labels"):
        hessian_heatmap(np.eye(3), ["a"])

    n = data.n_atoms[i]
    analysis = harmonic_analysis(data.hessians[i, : 3 * n, : 3 * n], data.positions[i, :n], atomic_masses[data.species[i, :n]])
    view = normal_mode_view((data, i), analysis, n_frames=6)
    assert len(view.chooser.options) == 3 and view.play.max == 5
    assert view.mode == 2  # the highest-frequency mode unless asked otherwise
    first = view.view
    view.mode = 0
    assert view.chooser.value == 0 and view.view is not first and view.view.max_frame == 5
    assert normal_mode_view((data, i), analysis, mode=1).mode == 1


def test_normal_mode_view_rejects_a_mode_it_does_not_have():
    data = load("organics_minima")
    i = int(np.flatnonzero(data.molecule == "water")[0])
    n = data.n_atoms[i]
    analysis = harmonic_analysis(data.hessians[i, : 3 * n, : 3 * n], data.positions[i, :n], atomic_masses[data.species[i, :n]])
    with pytest.raises(MLIPLabError, match=r"mode must be a whole number in 0\.\.2"):
        normal_mode_view((data, i), analysis, mode=3)
    view = normal_mode_view((data, i), analysis, mode=0)
    with pytest.raises(MLIPLabError, match="got -1"):
        view.mode = -1
    assert view.mode == 0

