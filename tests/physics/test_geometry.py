"""Pair geometry (dense, masked, minimum image), autograd forces and distance RMSD."""

import itertools

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.physics import distance_rmsd, distance_rmsd_matrix, forces_from_energy, minimum_image, pair_geometry

F64 = torch.float64


def water_and_padding():
    """One water molecule padded to 4 atoms; the padding sits at the origin like a real atom would."""
    species = torch.tensor([[8, 1, 1, 0]])
    positions = torch.tensor([[[0.0, 0.0, 0.1], [0.0, 0.76, -0.5], [0.0, -0.76, -0.5], [0.0, 0.0, 0.0]]], dtype=F64)
    return species, positions


def test_distances_vectors_and_mask_match_brute_force():
    species, positions = water_and_padding()
    g = pair_geometry(species, positions, cutoff=1.3)
    for i, j in itertools.product(range(4), repeat=2):
        r = positions[0, j] - positions[0, i]
        expected = i != j and i < 3 and j < 3 and float(r.norm()) < 1.3
        assert bool(g.mask[0, i, j]) == expected
        if expected:
            assert torch.allclose(g.vectors[0, i, j], r)
            assert torch.isclose(g.distances[0, i, j], r.norm())
            assert torch.allclose(g.directions[0, i, j], r / r.norm())
        else:
            assert g.distances[0, i, j] == 1.3 and not g.vectors[0, i, j].any() and not g.directions[0, i, j].any()
    # H-H (1.52 Å) is beyond the 1.3 Å cutoff, O-H is inside.
    assert not g.mask[0, 1, 2] and g.mask[0, 0, 1]


def test_gradients_are_finite_on_diagonal_and_padding():
    species, positions = water_and_padding()
    positions.requires_grad_(True)
    g = pair_geometry(species, positions, cutoff=5.0)
    # 1/r is what the sensitivities evaluate everywhere, masked pairs included.
    (g.distances.reciprocal().sum() + g.directions.sum() + g.vectors.sum()).backward()
    assert torch.isfinite(positions.grad).all()
    assert not positions.grad[0, 3].any()


def brute_force_minimum_image(r, cell):
    images = torch.tensor(list(itertools.product((-1, 0, 1), repeat=3)), dtype=F64) @ cell
    candidates = r[None, :] + images
    return candidates[candidates.norm(dim=1).argmin()]


def test_minimum_image_matches_search_over_neighbouring_images():
    torch.manual_seed(0)
    cell = torch.tensor([[9.0, 0.0, 0.0], [1.0, 8.5, 0.0], [0.5, -0.7, 10.0]], dtype=F64)
    positions = torch.rand(1, 6, 3, dtype=F64) @ cell
    species = torch.ones(1, 6, dtype=torch.long)
    g = pair_geometry(species, positions, cutoff=3.5, cells=cell[None], pbc=torch.ones(1, 3, dtype=torch.bool))
    wrapped = minimum_image(positions[:, None] - positions[:, :, None], cell[None], torch.ones(1, 3, dtype=torch.bool))
    for i, j in itertools.product(range(6), repeat=2):
        expected = brute_force_minimum_image(positions[0, j] - positions[0, i], cell)
        assert torch.allclose(wrapped[0, i, j], expected)
        if i != j and expected.norm() < 3.5:
            assert g.mask[0, i, j] and torch.isclose(g.distances[0, i, j], expected.norm())
        else:
            assert not g.mask[0, i, j]


def test_only_periodic_axes_are_wrapped():
    cell = torch.diag(torch.tensor([10.0, 10.0, 10.0], dtype=F64))[None]
    positions = torch.tensor([[[0.5, 0.5, 0.5], [9.5, 9.5, 9.5]]], dtype=F64)
    species = torch.tensor([[1, 1]])
    pbc = torch.tensor([[True, True, False]])
    wrapped = minimum_image(positions[:, None] - positions[:, :, None], cell, pbc)
    assert torch.allclose(wrapped[0, 0, 1], torch.tensor([-1.0, -1.0, 9.0], dtype=F64))
    assert not pair_geometry(species, positions, cutoff=4.0, cells=cell, pbc=pbc).mask[0, 0, 1]
    g = pair_geometry(species, positions, cutoff=4.0, cells=cell)  # no flags: periodic everywhere
    assert torch.allclose(g.vectors[0, 0, 1], torch.tensor([-1.0, -1.0, -1.0], dtype=F64))


def test_cutoff_longer_than_half_the_cell_is_refused():
    cell = torch.diag(torch.tensor([10.0, 10.0, 5.0], dtype=F64))
    species, positions = torch.tensor([[1, 1]]), torch.zeros(1, 2, 3, dtype=F64)
    with pytest.raises(MLIPLabError, match="half the smallest periodic cell width"):
        pair_geometry(species, positions, cutoff=3.0, cells=cell)
    # The short axis is harmless when it is not periodic.
    pair_geometry(species, positions, cutoff=3.0, cells=cell, pbc=torch.tensor([True, True, False]))


def test_forces_are_minus_the_energy_gradient_with_zero_padding_rows():
    species, positions = water_and_padding()
    positions.requires_grad_(True)
    g = pair_geometry(species, positions, cutoff=5.0)
    k, r0 = 2.0, 1.0
    energy = (0.25 * k * (g.distances - r0) ** 2 * g.mask).sum((1, 2))  # each pair counted twice
    f = forces_from_energy(energy, positions)
    r = positions.detach()[0, :3]
    expected = torch.zeros(3, 3, dtype=F64)
    for i, j in itertools.permutations(range(3), 2):
        d = r[j] - r[i]
        expected[i] += k * (d.norm() - r0) * d / d.norm()
    assert torch.allclose(f[0, :3], expected)
    assert not f[0, 3].any()


def test_forces_need_positions_that_require_grad():
    with pytest.raises(MLIPLabError, match="requires_grad"):
        forces_from_energy(torch.zeros(1), torch.zeros(1, 2, 3))


def test_distance_rmsd_ignores_rotation_and_measures_stretch():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    assert distance_rmsd(a, a @ q.T + 3.0) == pytest.approx(0.0, abs=1e-12)
    two = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    assert distance_rmsd(two, two * 1.5) == pytest.approx(0.5)
    with pytest.raises(MLIPLabError):
        distance_rmsd(a, a[:4])



def test_distance_rmsd_matrix_equals_pairwise_distance_rmsd():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 5, 3)), rng.normal(size=(3, 5, 3))
    matrix = distance_rmsd_matrix(a, b)
    assert matrix.shape == (4, 3)
    expected = [[distance_rmsd(x, y) for y in b] for x in a]
    assert np.allclose(matrix.numpy(), expected, atol=1e-10)
    with pytest.raises(MLIPLabError, match="one molecule"):
        distance_rmsd_matrix(a, b[:, :4])
