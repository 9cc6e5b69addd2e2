"""Hessian-vector products of a model: equal to finite differences of forces and to full-Hessian products,
the same by both methods, differentiable w.r.t. parameters; model frequencies match ASE's Vibrations."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.physics import harmonic_analysis, masses_of
from mlip_lab.physics.hessians import HVP_METHODS, model_hessian, model_hvp

SPECIES = torch.tensor([[8, 1, 1, 0], [6, 1, 1, 1]])
POSITIONS = torch.tensor([[[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47], [0.0, 0.0, 0.0]],
                          [[0.0, 0.0, 0.0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63]]],
                         dtype=torch.float64)


@pytest.fixture
def hvp_model(make_model):
    """Factory ``hvp_model(order=1, seed=0)``: a float64 HIP-NN(-TS) of the given tensor order."""
    return lambda order=1, seed=0: make_model(tensor_order=order, seed=seed)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    positions = POSITIONS + 0.05 * torch.randn(POSITIONS.shape, generator=g, dtype=torch.float64)
    vectors = torch.randn(POSITIONS.shape, generator=g, dtype=torch.float64)
    vectors[0, 3] = 0.0  # padding
    return positions, vectors


@pytest.mark.parametrize("method", HVP_METHODS)
@pytest.mark.parametrize("order", [0, 2])
def test_hvp_equals_finite_differences_of_forces(method, order, hvp_model):
    model = hvp_model(order)
    positions, vectors = _inputs(order)
    hvp = model_hvp(model, SPECIES, positions, vectors, method=method)
    step = 1e-5
    plus = model.predict(SPECIES, positions + step * vectors).forces
    minus = model.predict(SPECIES, positions - step * vectors).forces
    finite = -(plus - minus) / (2 * step)  # H v = d(dE/dR)/dR . v = -dF/dR . v
    assert hvp.abs().max() > 1e-3
    assert torch.allclose(hvp, finite, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("order", [0, 1, 2])
def test_both_methods_agree_with_the_full_hessian_product(order, hvp_model):
    model = hvp_model(order, seed=3)
    positions, vectors = _inputs(10 + order)
    hessian = model_hessian(model, SPECIES, positions)
    product = (hessian @ vectors.reshape(2, 12, 1)).reshape(2, 4, 3)
    for method in HVP_METHODS:
        hvp = model_hvp(model, SPECIES, positions, vectors, method=method)
        assert torch.allclose(hvp, product, atol=1e-10), method
    assert model_hvp(model, SPECIES, positions, vectors)[0, 3].abs().max() == 0  # padding row


@pytest.mark.parametrize("method", HVP_METHODS)
def test_hvp_is_differentiable_with_respect_to_parameters(method, hvp_model):
    model = hvp_model()
    positions, vectors = _inputs()
    hvp = model_hvp(model, SPECIES, positions, vectors, method=method, create_graph=True)
    hvp.pow(2).sum().backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    assert grads and any(g.abs().sum() > 0 for g in grads.values())
    # both methods give the same parameter gradients
    model.zero_grad()
    other = HVP_METHODS[1 - HVP_METHODS.index(method)]
    model_hvp(model, SPECIES, positions, vectors, method=other, create_graph=True).pow(2).sum().backward()
    for name, p in model.named_parameters():
        if name in grads:
            assert torch.allclose(p.grad, grads[name], atol=1e-9), name


def test_hvp_rejects_bad_input(hvp_model):
    model = hvp_model()
    positions, vectors = _inputs()
    with pytest.raises(MLIPLabError, match="method must be one of"):
        model_hvp(model, SPECIES, positions, vectors, method="finite_difference")
    with pytest.raises(MLIPLabError, match="shape of positions"):
        model_hvp(model, SPECIES, positions, vectors[:, :3])


def test_model_frequencies_match_ase_vibrations(tmp_path, hvp_model):
    """At a minimum of the model, harmonic analysis of the model Hessian gives ASE's finite-difference
    frequencies computed through MLIPCalculator (the rigid-body modes of ASE are then ~0 and left out).
    This untrained model's minimum happens to be a linear OH2, so 4 vibrations and 5 rigid-body modes."""
    from ase import Atoms
    from ase.optimize import BFGS
    from ase.vibrations import Vibrations

    from mlip_lab.md import MLIPCalculator

    model = hvp_model(order=1, seed=5)
    atoms = Atoms("OH2", positions=POSITIONS[0, :3].numpy())
    atoms.calc = MLIPCalculator(model)
    BFGS(atoms, logfile=None).run(fmax=1e-6, steps=500)
    assert np.abs(atoms.get_forces()).max() < 1e-5
    vib = Vibrations(atoms, name=str(tmp_path / "vib"), delta=1e-3, nfree=4)
    vib.run()
    species = np.array([8, 1, 1])
    hessian = model_hessian(model, torch.tensor(species)[None], torch.tensor(atoms.positions)[None])[0].numpy()
    ours = harmonic_analysis(hessian, atoms.positions, masses_of(species)).frequencies_cm.numpy()
    ase_freqs = vib.get_frequencies()  # complex for imaginary modes; all 9 including rigid-body ~0
    ase_freqs = np.sort(np.where(np.abs(ase_freqs.imag) > 0, -np.abs(ase_freqs.imag), ase_freqs.real))
    ase_vibrations = ase_freqs[-len(ours):]
    assert np.abs(ase_freqs[: -len(ours)]).max() < 5.0  # translations and rotations
    np.testing.assert_allclose(ours, ase_vibrations, rtol=1e-3, atol=0.5)
