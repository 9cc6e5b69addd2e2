"""Small library helpers the lessons call: sensitivity curves, reference atomic energies, distance RMSD,
output folders and the static figures."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.models import HIPNN, HIPNNConfig
from mlip_lab.physics import distance_rmsd
from mlip_lab.settings import output_dir, quick_mode


def small_model():
    return HIPNN(HIPNNConfig(elements=(1, 8), n_features=4, n_sensitivities=5, n_interactions=2, n_atom_layers=1))


def test_sensitivity_curves_peak_inside_and_vanish_at_cutoff():
    model = small_model()
    r, s = model.sensitivity_curves(block=1, points=400)
    assert r.shape == (400,) and s.shape == (400, 5)
    assert r[-1] == pytest.approx(model.config.cutoff)
    assert torch.all(s[-1].abs() < 1e-6)
    peaks = r[s.argmax(0)]
    assert torch.all((peaks > model.config.r_soft_min - 0.2) & (peaks < model.config.r_soft_max + 0.5))
    with pytest.raises(MLIPLabError, match="block"):
        model.sensitivity_curves(block=2)


def test_reference_atomic_energies_follow_species():
    model = small_model()
    model.fit_reference_energies(torch.tensor([[8, 1, 1], [1, 1, 0]]), torch.tensor([-2080.0, -31.0]))
    ref = model.reference_atomic_energies(torch.tensor([[8, 1, 0]]))
    assert ref[0, 2] == 0
    assert ref[0, 1] == pytest.approx(-15.5, abs=1e-4)
    assert ref[0, 0] == pytest.approx(-2049.0, abs=1e-3)


def test_distance_rmsd_ignores_rotation_and_measures_stretch():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    assert distance_rmsd(a, a @ q.T + 3.0) == pytest.approx(0.0, abs=1e-12)
    two = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    assert distance_rmsd(two, two * 1.5) == pytest.approx(0.5)
    with pytest.raises(MLIPLabError):
        distance_rmsd(a, a[:4])


def test_output_dir_and_quick_mode_follow_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MLIP_LAB_OUTPUT_DIR", str(tmp_path))
    assert output_dir("lesson") == tmp_path / "lesson" and (tmp_path / "lesson").is_dir()
    for value, expected in (("1", True), ("0", False), ("", False), ("yes", True)):
        monkeypatch.setenv("MLIP_LAB_QUICK", value)
        assert quick_mode() is expected


def test_parity_and_sensitivity_figures():
    pytest.importorskip("plotly")
    from mlip_lab.viz import parity_figure, sensitivity_figure

    fig = parity_figure([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], "energy", "eV", groups=["a", "b", "a"])
    assert len(fig.data) == 3  # ideal line + one trace per group
    assert "MAE 0.167" in fig.layout.title.text
    assert list(fig.data[1].x) == [1.0, 3.0]
    r, s = small_model().sensitivity_curves()
    assert len(sensitivity_figure(r, s).data) == 5
