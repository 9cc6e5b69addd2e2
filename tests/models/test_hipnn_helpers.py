"""HIP-NN helpers the lessons call: sensitivity curves and reference atomic energies."""

import pytest
import torch

from mlip_lab import MLIPLabError


@pytest.fixture
def small_model(make_model):
    """Water-only float32 HIP-NN, five sensitivities (the curve count the tests check); cutoff 6 Å."""
    return make_model(elements=(1, 8), n_features=4, n_sensitivities=5, n_interactions=2, cutoff=6.0,
                      r_soft_max=5.0, dtype=torch.float32)


def test_sensitivity_curves_peak_inside_and_vanish_at_cutoff(small_model):
    model = small_model
    r, s = model.sensitivity_curves(block=1, points=400)
    assert r.shape == (400,) and s.shape == (400, 5)
    assert r[-1] == pytest.approx(model.config.cutoff)
    assert torch.all(s[-1].abs() < 1e-6)
    peaks = r[s.argmax(0)]
    assert torch.all((peaks > model.config.r_soft_min - 0.2) & (peaks < model.config.r_soft_max + 0.5))
    with pytest.raises(MLIPLabError, match="block"):
        model.sensitivity_curves(block=2)


def test_reference_atomic_energies_follow_species(small_model):
    model = small_model
    model.fit_reference_energies(torch.tensor([[8, 1, 1], [1, 1, 0]]), torch.tensor([-2080.0, -31.0]))
    ref = model.reference_atomic_energies(torch.tensor([[8, 1, 0]]))
    assert ref[0, 2] == 0
    assert ref[0, 1] == pytest.approx(-15.5, abs=1e-4)
    assert ref[0, 0] == pytest.approx(-2049.0, abs=1e-3)


