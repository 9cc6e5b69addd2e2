"""Structural analysis: periodic RDFs (ideal gas, lattices, triclinic cells, two types), coordination numbers,
bond and angle distributions, and the RDF error."""

import numpy as np
import pytest
import torch

from mlip_lab.cg import (
    angle_distribution, bond_angles, bond_length_distribution, bond_lengths, coordination_number, normalised_histogram,
    radial_distribution, rdf_error,
)
from mlip_lab.cg import structure
from mlip_lab.errors import MLIPLabError


def cubic_lattice(spacing, repeats, offset=0.0):
    """(repeats³, 3) Å points of a simple cubic lattice."""
    grid = np.stack(np.meshgrid(*[np.arange(repeats)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    return (grid + offset) * spacing


# ---------------------------------------------------------------------- g(r)
@pytest.mark.parametrize("cell", [np.diag([15.0, 15.0, 15.0]), np.array([[15.0, 0, 0], [4.0, 14.0, 0], [-3.0, 2.0, 16.0]])],
                         ids=["cubic", "triclinic"])
def test_an_ideal_gas_has_g_equal_to_one(cell):
    rng = np.random.default_rng(0)
    positions = rng.random((10, 500, 3)) @ cell
    r, g = radial_distribution(positions, cell, r_max=6.5, n_bins=26)
    assert r.shape == g.shape == (26,)
    np.testing.assert_allclose(r, np.arange(26) * 0.25 + 0.125)
    far = r > 2.0  # about 3000 pairs per bin or more: 2 % noise
    assert abs(g[far].mean() - 1.0) < 0.01
    assert np.abs(g[far] - 1.0).max() < 0.08


def test_simple_cubic_lattice_peaks_and_coordination_shells():
    spacing, repeats = 2.0, 6
    points = cubic_lattice(spacing, repeats)
    cell = np.eye(3) * spacing * repeats
    # Bins 0.3 Å wide, so no lattice distance (2, 2.83, 3.46, 4, 4.47, 4.90, 5.66 Å) lies on a bin edge.
    r, g = radial_distribution(points, cell, r_max=5.7, n_bins=19)
    occupied = r[g > 0]
    np.testing.assert_allclose(occupied, [1.95, 2.85, 3.45, 4.05, 4.35, 4.95, 5.55])
    density = (len(points) - 1) / np.linalg.det(cell)
    running = coordination_number(r, g, density)
    shells = {2.0: 6, 2.83: 18, 3.46: 26, 4.0: 32, 4.47: 56, 4.90: 80, 5.66: 92}
    for distance, total in shells.items():
        np.testing.assert_allclose(running[np.searchsorted(r + 0.15, distance)], total, rtol=1e-12)


def test_the_same_crystal_in_a_sheared_cell_gives_the_same_rdf():
    """(2, 12, 0) is a lattice vector of the 2 Å cubic lattice, so the sheared cell describes the same crystal."""
    points = cubic_lattice(2.0, 6)
    sheared = np.array([[12.0, 0.0, 0.0], [2.0, 12.0, 0.0], [0.0, 0.0, 12.0]])
    r, g = radial_distribution(points, np.eye(3) * 12.0, r_max=5.7, n_bins=19)
    r_sheared, g_sheared = radial_distribution(points, sheared, r_max=5.7, n_bins=19)
    np.testing.assert_allclose(g_sheared, g, rtol=1e-12)


def test_two_types_in_caesium_chloride():
    a, repeats = 3.0, 4
    points = np.concatenate([cubic_lattice(a, repeats), cubic_lattice(a, repeats, offset=0.5)])
    types = np.repeat([1, 2], repeats**3)
    cell = np.eye(3) * a * repeats
    volume = np.linalg.det(cell)
    r, g12 = radial_distribution(points, cell, r_max=5.6, n_bins=14, species=types, pair=(1, 2))
    assert r[np.flatnonzero(g12)[0]] == pytest.approx(2.6)  # a sqrt(3) / 2 = 2.60 Å, in the bin 2.4-2.8
    n12 = coordination_number(r, g12, repeats**3 / volume)
    assert n12[np.searchsorted(r, 2.6)] == pytest.approx(8)
    _, g11 = radial_distribution(points, cell, r_max=5.6, n_bins=14, species=types, pair=(1, 1))
    assert r[np.flatnonzero(g11)[0]] == pytest.approx(3.0)
    n11 = coordination_number(r, g11, (repeats**3 - 1) / volume)
    assert n11[np.searchsorted(r, 3.0)] == pytest.approx(6)
    _, g21 = radial_distribution(points, cell, r_max=5.6, n_bins=14, species=types, pair=(2, 1))
    np.testing.assert_allclose(g21, g12)


def test_frames_are_averaged_each_with_its_own_density():
    rng = np.random.default_rng(1)
    small, large = np.eye(3) * 12.0, np.eye(3) * 16.0
    positions = np.stack([rng.random((300, 3)) @ small, rng.random((300, 3)) @ large])
    cells = np.stack([small, large])
    _, g_both = radial_distribution(positions, cells, 5.0, 10)
    _, g_small = radial_distribution(positions[0], small, 5.0, 10)
    _, g_large = radial_distribution(positions[1], large, 5.0, 10)
    np.testing.assert_allclose(g_both, (g_small + g_large) / 2, rtol=1e-12)


def test_chunked_pairs_give_the_same_histogram(monkeypatch):
    rng = np.random.default_rng(2)
    positions = torch.tensor(rng.random((2, 200, 3)) * 10.0)
    _, whole = radial_distribution(positions, np.eye(3) * 10.0, 5.0, 20)
    monkeypatch.setattr(structure, "_PAIRS_PER_CHUNK", 1000)  # 5 rows at a time
    _, chunked = radial_distribution(positions, np.eye(3) * 10.0, 5.0, 20)
    np.testing.assert_array_equal(chunked, whole)


@pytest.mark.parametrize("kwargs, message", [
    (dict(r_max=5.1), "at most half the smallest perpendicular cell width"),
    (dict(r_max=4.0, cells=np.array([[10.0, 0, 0], [0, 10.0, 0], [0, 0, 7.0]])), r"\(3\.5 Å\)"),
    (dict(r_max=0.0), "must be positive"),
    (dict(n_bins=0), "n_bins must be a positive integer"),
    (dict(cells=np.eye(3)[:2] * 10), r"cells have shape \(2, 3\)"),
    (dict(cells=None), "needs its periodic cell"),
    (dict(cells=np.zeros((3, 3))), "singular"),
    (dict(pair=(1, 2)), "species .* must be given"),
    (dict(pair=(1, 3), species=np.repeat([1, 2], 25)), "too few particles of types"),
    (dict(pair=(1, 1), species=np.array([1] + [2] * 49)), "too few particles of types"),
    (dict(pair=(1, 2), species=np.ones(49, int)), r"species have shape \(49,\)"),
    (dict(positions=np.zeros((2, 5, 2))), r"positions must be \(M, N, 3\)"),
])
def test_bad_rdf_input_is_rejected(kwargs, message):
    arguments = dict(positions=np.random.default_rng(0).random((3, 50, 3)) * 10, cells=np.eye(3) * 10.0, r_max=4.0,
                     n_bins=10)
    arguments.update(kwargs)
    with pytest.raises(MLIPLabError, match=message):
        radial_distribution(**arguments)


# ---------------------------------------------------------------------- RDF error
def test_rdf_error_integrates_the_absolute_difference():
    r = np.arange(100) * 0.1 + 0.05  # bins of 0.1 Å up to 10 Å
    g = 1.0 + np.sin(r)
    assert rdf_error(r, g, g) == 0.0
    assert rdf_error(r, g + 0.1, g) == pytest.approx(1.0)
    assert rdf_error(r, g - 0.1, g) == pytest.approx(1.0)
    assert rdf_error(r, g + 0.1, g, r_max=5.0) == pytest.approx(0.5)
    assert rdf_error(r, g + 0.1, g, r_max=5.05) == pytest.approx(0.505)  # half of the bin 5.0-5.1 counts
    onset_ref, onset_model = (r > 3.0).astype(float), (r > 3.5).astype(float)  # the model's core 0.5 Å too wide
    assert rdf_error(r, onset_model, onset_ref) == pytest.approx(0.5)


@pytest.mark.parametrize("call, message", [
    (lambda r, g: rdf_error(r, g, g[:-1]), "same r_max and n_bins"),
    (lambda r, g: rdf_error(r[:-1], g, g), "same shape"),
    (lambda r, g: rdf_error(r ** 1.1, g, g), "equal-width bin centres"),
    (lambda r, g: rdf_error(r + 0.02, g, g), "equal-width bin centres"),
    (lambda r, g: rdf_error(r, g, g, r_max=10.5), r"r_max must lie in \(0, 10\]"),
    (lambda r, g: rdf_error(r, g, g, r_max=0.0), r"r_max must lie in"),
    (lambda r, g: coordination_number(r[::-1], g, 0.03), "equal-width bin centres"),
])
def test_rdf_error_needs_one_grid(call, message):
    r = np.arange(100) * 0.1 + 0.05
    with pytest.raises(MLIPLabError, match=message):
        call(r, np.ones(100))


# ---------------------------------------------------------------------- bonds and angles
def bent_molecules(n_molecules, cell, seed=0):
    """Three beads per molecule: bonds 0-1 of 2.0 Å and 1-2 of 3.0 Å at 120 degrees, randomly rotated, placed
    anywhere, then every bead wrapped into the cell on its own (so molecules straddle the boundary)."""
    rng = np.random.default_rng(seed)
    template = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [3.0 * np.cos(np.radians(120)), 3.0 * np.sin(np.radians(120)), 0.0]])
    molecules = []
    for _ in range(n_molecules):
        q, r = np.linalg.qr(rng.standard_normal((3, 3)))
        molecules.append(template @ (q * np.sign(np.diag(r))).T + rng.random(3) @ cell)
    points = np.concatenate(molecules)
    fractional = points @ np.linalg.inv(cell)
    return (fractional - np.floor(fractional)) @ cell


def test_bond_lengths_and_angles_across_the_boundary():
    cell = np.array([[10.0, 0, 0], [1.0, 10.0, 0], [0, -2.0, 10.0]])
    positions = np.stack([bent_molecules(20, cell, seed) for seed in range(2)])
    lengths = bond_lengths(positions, cell, 3)
    assert lengths.shape == (2, 20, 2)
    np.testing.assert_allclose(lengths[..., 0], 2.0, atol=1e-12)
    np.testing.assert_allclose(lengths[..., 1], 3.0, atol=1e-12)
    np.testing.assert_allclose(bond_lengths(positions, cell, 3, pairs=[(0, 2)]), np.sqrt(4 + 9 + 2 * 2 * 3 * 0.5), atol=1e-12)
    angles = bond_angles(positions, cell, 3, triples=[(0, 1, 2), (1, 0, 2)])
    np.testing.assert_allclose(angles[..., 0], 120.0, atol=1e-9)
    np.testing.assert_allclose(angles[..., 1], np.degrees(np.arcsin(3.0 * np.sin(np.radians(120)) / np.sqrt(19))), atol=1e-9)
    assert np.abs(bond_lengths(positions, None, 3)).max() > 5.0  # without the cell, split molecules look broken


def test_distributions_are_normalised_and_peak_at_the_bond_values():
    cell = np.eye(3) * 10.0
    positions = bent_molecules(30, cell)
    centres, density = bond_length_distribution(positions, cell, 3, r_range=(0.05, 4.05), n_bins=40)
    assert density.sum() * 0.1 == pytest.approx(1.0)
    np.testing.assert_allclose(centres[density > 0], [2.0, 3.0])  # bins [1.95, 2.05) and [2.95, 3.05)
    assert density[density > 0].tolist() == pytest.approx([5.0, 5.0])  # half the bonds each, over 0.1 Å
    centres, density = angle_distribution(positions, cell, 3, triples=[(0, 1, 2)], n_bins=40)
    assert density.sum() * 4.5 == pytest.approx(1.0)
    assert centres[density > 0].tolist() == [119.25]  # the bin [117, 121.5)


@pytest.mark.parametrize("call, message", [
    (lambda x, h: bond_lengths(x, h, 5), "do not split into molecules of 5"),
    (lambda x, h: bond_lengths(x, h, 1), "at least two beads"),
    (lambda x, h: bond_lengths(x, h, 3, pairs=[(0, 3)]), r"\[3\] are outside the molecule"),
    (lambda x, h: bond_lengths(x, h, 3, pairs=[(1, 1)]), "repeats a bead"),
    (lambda x, h: bond_lengths(x, h, 3, pairs=[(0, 1, 2)]), "list of 2-tuples"),
    (lambda x, h: bond_angles(x, h, 3, triples=[(0, 1)]), "list of 3-tuples"),
    (lambda x, h: bond_length_distribution(x, h, 3, r_range=(0.0, 2.5)), "outside"),
    (lambda x, h: normalised_histogram([], 0.0, 1.0, 10), "no values"),
    (lambda x, h: normalised_histogram([0.5], 1.0, 0.0, 10), "lo < hi"),
])
def test_bad_bond_and_angle_input_is_rejected(call, message):
    cell = np.eye(3) * 10.0
    with pytest.raises(MLIPLabError, match=message):
        call(bent_molecules(4, cell), cell)


def test_largest_rdf_range_is_half_the_smallest_perpendicular_width():
    from mlip_lab.cg.structure import largest_rdf_range

    assert largest_rdf_range(np.eye(3) * 20.0) == pytest.approx(10.0)
    assert largest_rdf_range(np.stack([np.eye(3) * 20.0, np.eye(3) * 18.0])) == pytest.approx(9.0)
    sheared = np.array([[10.0, 0.0, 0.0], [5.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    assert largest_rdf_range(sheared) == pytest.approx(0.5 * 10.0 / np.sqrt(1.25))  # face distance, not the edge
