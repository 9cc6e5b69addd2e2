"""The model Hessian equals finite differences of forces, is symmetric and zero on padding."""

import pytest
import torch

from mlip_lab.physics.hessians import matrix_hvp, model_hessian


def _gradient(model, species, positions):
    positions = positions.detach().requires_grad_(True)
    return torch.autograd.grad(model(species, positions).energy.sum(), positions)[0]


@pytest.mark.parametrize("order", [0, 1, 2])
def test_model_hessian_matches_finite_differences_and_is_symmetric(order, make_model):
    model = make_model(tensor_order=order, seed=order)
    species = torch.tensor([[8, 1, 1, 0], [6, 1, 1, 1]])
    positions = torch.tensor([[[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47], [0.0, 0.0, 0.0]],
                              [[0.0, 0.0, 0.0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63]]],
                             dtype=torch.float64)
    positions = positions + 0.05 * torch.randn_like(positions)
    hessian = model_hessian(model, species, positions)
    assert hessian.shape == (2, 12, 12)
    step = 1e-5
    finite = torch.zeros_like(hessian)
    for k in range(12):
        shift = torch.zeros(2, 12, dtype=torch.float64)
        shift[:, k] = step
        shift = shift.reshape(2, 4, 3)
        difference = _gradient(model, species, positions + shift) - _gradient(model, species, positions - shift)
        finite[:, :, k] = (difference / (2 * step)).reshape(2, 12)
    # padding (atom 3 of the water row) enters neither side
    finite[0, 9:] = finite[0, :, 9:] = 0.0
    assert torch.allclose(hessian, finite, atol=1e-5, rtol=1e-5)
    assert torch.allclose(hessian, hessian.transpose(1, 2), atol=1e-12)
    assert hessian[0, 9:].abs().max() == 0 and hessian[0, :, 9:].abs().max() == 0


def test_model_hessian_keeps_a_graph_for_training(make_model):
    model = make_model()
    species = torch.tensor([[8, 1, 1]])
    positions = torch.tensor([[[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]]], dtype=torch.float64)
    hessian = model_hessian(model, species, positions, create_graph=True)
    hessian.pow(2).sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("order", [1, 2])
def test_tensor_norm_cusp_does_not_blow_up_the_hessian_at_a_symmetric_geometry(order, make_model):
    """At tetrahedral methane the carbon's vector/tensor sums vanish, where sqrt(|u|^2 + eps) curves most."""
    model = make_model(tensor_order=order)
    a = 0.629
    species = torch.tensor([[6, 1, 1, 1, 1]])
    symmetric = torch.tensor([[[0, 0, 0], [a, a, a], [-a, -a, a], [-a, a, -a], [a, -a, -a]]], dtype=torch.float64)
    distorted = symmetric + 0.05 * torch.randn_like(symmetric)
    at_symmetry = model_hessian(model, species, symmetric).abs().max()
    nearby = model_hessian(model, species, distorted).abs().max()
    assert at_symmetry < 5 * nearby  # with eps = 1e-6 it was about 180 times larger


def test_matrix_hvp_multiplies_each_stored_hessian_by_its_flattened_vector():
    generator = torch.Generator().manual_seed(0)
    hessians = torch.randn(2, 6, 6, generator=generator, dtype=torch.float64)
    hessians[1, 3:], hessians[1, :, 3:] = 0.0, 0.0  # the second configuration has one real atom of two
    vectors = torch.randn(2, 2, 3, generator=generator, dtype=torch.float64)
    vectors[1, 1] = 0.0
    products = matrix_hvp(hessians, vectors)
    assert products.shape == (2, 2, 3)
    for b in range(2):
        assert torch.allclose(products[b].reshape(-1), hessians[b] @ vectors[b].reshape(-1))
    assert torch.all(products[1, 1] == 0)
