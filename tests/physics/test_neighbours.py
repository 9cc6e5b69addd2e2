"""Neighbour lists (sparse pairs): the same pairs as a brute-force search over images, gradients, errors, memory."""

import itertools

import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.physics import neighbour_list, pair_geometry

F64 = torch.float64
TRICLINIC = torch.tensor([[12.0, 0.0, 0.0], [2.0, 11.0, 0.0], [-1.5, 1.0, 13.0]], dtype=F64)


def brute_force(species, positions, cutoff, cells=None, pbc=None):
    """{(b, i, j, shift): r_ij} over every pair and every image n in {-2..2}^3 along periodic axes."""
    found = {}
    n = species.shape[1]
    for b in range(species.shape[0]):
        periodic = [False] * 3 if cells is None else pbc[b].tolist()
        images = torch.tensor(list(itertools.product(*[range(-2, 3) if p else (0,) for p in periodic])), dtype=F64)
        offsets = images @ cells[b] if cells is not None else torch.zeros_like(images)
        r = positions[b, None, :, None] - positions[b, :, None, None] + offsets  # (i, j, image, 3)
        real = species[b] > 0
        keep = (r.norm(dim=-1) < cutoff) & (real[:, None] & real[None, :] & ~torch.eye(n, dtype=torch.bool))[..., None]
        for i, j, k in keep.nonzero().tolist():
            found[(b, i, j, tuple(int(x) for x in images[k]))] = r[i, j, k]
    return found


def as_dict(pairs):
    keys = zip(pairs.batch.tolist(), pairs.first.tolist(), pairs.second.tolist(), map(tuple, pairs.shifts.tolist()))
    return dict(zip(keys, pairs.vectors))


def random_batch(n, cell, seed=0):
    """Two rows of n atoms spread over [-0.5, 1.5) of ``cell`` (so images up to 2 cells away matter); the
    second row is padded after n // 2 atoms."""
    generator = torch.Generator().manual_seed(seed)
    positions = (2 * torch.rand(2, n, 3, generator=generator, dtype=F64) - 0.5) @ cell
    species = torch.ones(2, n, dtype=torch.long)
    species[1, n // 2:] = 0
    return species, positions


CASES = {
    # cutoff 4.9 Å leaves only 2 bins per axis, where offsets -1 and +1 reach the same bin
    "triclinic, 2 bins": (TRICLINIC, torch.ones(2, 3, dtype=torch.bool), 4.9),
    "triclinic, 3 bins": (TRICLINIC, torch.ones(2, 3, dtype=torch.bool), 3.6),
    "cubic, mixed flags": (torch.eye(3, dtype=F64) * 10, torch.tensor([[True, False, True], [True, True, True]]), 3.0),
    "one periodic row, one molecule": (torch.stack([TRICLINIC, torch.zeros(3, 3, dtype=F64)]),
                                       torch.tensor([[True, True, True], [False, False, False]]), 4.0),
    "molecules": (None, None, 4.0),
}


@pytest.mark.parametrize("case", CASES)
def test_pairs_match_a_brute_force_search_over_images(case):
    cells, pbc, cutoff = CASES[case]
    species, positions = random_batch(40, TRICLINIC)
    if cells is not None:
        cells = cells.expand(2, 3, 3)
    pairs = neighbour_list(species, positions, cutoff, cells, pbc)
    expected = brute_force(species, positions, cutoff, cells, pbc)
    got = as_dict(pairs)
    assert len(got) == len(pairs.batch) > 0  # no pair listed twice
    assert got.keys() == expected.keys()
    for key, vector in got.items():
        assert torch.allclose(vector, expected[key])
    assert torch.allclose(pairs.distances, pairs.vectors.norm(dim=1))
    assert torch.allclose(pairs.directions, pairs.vectors / pairs.vectors.norm(dim=1, keepdim=True))
    order = (pairs.batch * 40 + pairs.first) * 40 + pairs.second
    assert (order[1:] > order[:-1]).all()  # sorted by (batch, i, j)


def test_far_apart_atoms_of_one_molecule_stay_apart_from_other_rows():
    # 4097 Å along x is 1024 bins of 4 Å: unless bins widen, that bin's key would be the first bin of the next
    # row, whose atoms sit close by in space.
    positions = torch.tensor([[[0.0, 0.0, 0.0], [4097.0, 0.0, 0.0], [4098.0, 0.0, 0.0]],
                              [[4097.5, 0.0, 0.0], [4098.5, 0.0, 0.0], [0.0, 0.0, 0.0]]], dtype=F64)
    species = torch.tensor([[1, 1, 1], [1, 1, 0]])
    got = as_dict(neighbour_list(species, positions, 4.0))
    assert got.keys() == brute_force(species, positions, 4.0).keys() == {
        (0, 1, 2, (0, 0, 0)), (0, 2, 1, (0, 0, 0)), (1, 0, 1, (0, 0, 0)), (1, 1, 0, (0, 0, 0))}


def test_no_real_atoms_or_no_neighbours_give_an_empty_list():
    for species in (torch.zeros(2, 3, dtype=torch.long), torch.tensor([[1, 0, 0], [1, 1, 0]])):
        positions = torch.tensor([[0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=F64).expand(2, 3, 3)
        pairs = neighbour_list(species, positions, 4.0)
        assert pairs.batch.shape == (0,) and pairs.vectors.shape == (0, 3) and pairs.shifts.shape == (0, 3)


def test_gradients_flow_through_positions_and_cells():
    species, positions = random_batch(12, TRICLINIC * 0.8, seed=1)
    cells = (TRICLINIC * 0.8).expand(2, 3, 3).clone()

    def energy(r, c):
        d = neighbour_list(species, r, 3.5, c).distances
        return (torch.exp(-d) * torch.cos(torch.pi * d / 7.0) ** 2).sum()  # smooth at the cutoff

    assert torch.autograd.gradcheck(energy, (positions.requires_grad_(True), cells.requires_grad_(True)))


def test_forces_equal_the_dense_pair_forces():
    species, positions = random_batch(30, TRICLINIC, seed=2)
    positions.requires_grad_(True)
    sparse = neighbour_list(species, positions, 4.5, TRICLINIC)
    (sparse_grad,) = torch.autograd.grad((sparse.distances - 2.0).pow(2).sum(), positions)
    dense = pair_geometry(species, positions, 4.5, TRICLINIC)
    (dense_grad,) = torch.autograd.grad(((dense.distances - 2.0).pow(2) * dense.mask).sum(), positions)
    assert torch.allclose(sparse_grad, dense_grad)
    assert not sparse_grad[1, 15:].any()  # padding gets no force


def test_too_small_or_singular_cells_are_refused():
    species, positions = torch.tensor([[1, 1]]), torch.zeros(1, 2, 3, dtype=F64)
    with pytest.raises(MLIPLabError, match="half the smallest periodic cell width"):
        neighbour_list(species, positions, 3.0, torch.diag(torch.tensor([10.0, 10.0, 5.0], dtype=F64)))
    with pytest.raises(MLIPLabError, match="singular"):
        neighbour_list(species, positions, 3.0, torch.zeros(3, 3, dtype=F64))
    # The short axis is harmless when it is not periodic.
    neighbour_list(species, positions, 3.0, torch.diag(torch.tensor([10.0, 10.0, 5.0], dtype=F64)),
                   torch.tensor([True, True, False]))


def test_memory_grows_with_neighbours_not_with_n_squared():
    # 6000 atoms at liquid density: a single (N, N) bool would be 36 MB; no allocation may come near that.
    n = 6000
    length = (n / 0.0148) ** (1 / 3)
    positions = torch.rand(1, n, 3, generator=torch.Generator().manual_seed(3)) * length
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as profile:
        pairs = neighbour_list(torch.ones(1, n, dtype=torch.long), positions, 5.0, torch.eye(3) * length)
    largest = max(event.cpu_memory_usage for event in profile.events())
    assert 0 < largest < n * n
    assert len(pairs.batch) < 0.02 * n * n
