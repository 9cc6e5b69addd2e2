"""Normal-mode frames, water-cluster geometries, curvature timings and the curvature widgets (no browser)."""

import numpy as np
import pytest
import torch
from ase.data import atomic_masses

from mlip_lab import MLIPLabError
from mlip_lab.data import load
from mlip_lab.data.clusters import water_cluster
from mlip_lab.models import HIPNN, HIPNNConfig
from mlip_lab.physics import harmonic_analysis
from mlip_lab.physics.modes import mode_frames
from mlip_lab.train.hessian_metrics import coordinate_labels, hessian_comparison
from mlip_lab.train.timing import curvature_cost, seconds_per_call


def test_mode_frames_oscillate_along_the_mode():
    positions = torch.zeros(3, 3, dtype=torch.float64)
    mode = torch.tensor([[0.0, 0.0, 2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    frames = mode_frames(positions, mode, amplitude=0.5, n_frames=4)
    assert frames.shape == (4, 3, 3)
    assert torch.allclose(frames[0], positions)
    assert torch.allclose(frames[1, 0], torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64))  # largest atom moves A
    assert torch.allclose(frames[3], -frames[1])
    with pytest.raises(MLIPLabError, match="all zeros"):
        mode_frames(positions, torch.zeros(3, 3))
    with pytest.raises(MLIPLabError, match="shaped like positions"):
        mode_frames(positions, torch.zeros(2, 3))


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


def test_timing_calls_the_function_and_reports_seconds():
    calls = []
    assert seconds_per_call(lambda: calls.append(1), repeats=3) >= 0 and len(calls) == 4
    with pytest.raises(MLIPLabError):
        seconds_per_call(lambda: None, repeats=0)
    model = HIPNN(HIPNNConfig(n_features=6, n_sensitivities=4)).double()
    species, positions = water_cluster(2)
    cost = curvature_cost(model, torch.as_tensor(species), torch.as_tensor(positions), repeats=1)
    assert set(cost) == {"hvp", "hessian"} and all(v > 0 for v in cost.values())


def test_hessian_comparison_and_widgets():
    from mlip_lab.viz import HessianExplorer, hessian_heatmap, normal_mode_view

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
    chooser, holder, play = view.children
    assert len(chooser.options) == 3 and play.max == 5
    first = holder.children[0]
    chooser.value = 0
    assert holder.children[0] is not first and holder.children[0].max_frame == 5
