"""Sparse pair geometry (a neighbour list) for padded batches: memory O(N x neighbours) instead of O(N^2).

Pairs are found with cell lists: atoms are sorted into bins at least one cutoff wide, and only the 27 bins
around each atom are searched. The search is vectorised torch without gradients and never forms a (B, N, N)
tensor; the pair vectors of the pairs found are then recomputed from the positions with gradients, so forces
and Hessians flow through them.

Periodic images are explicit: every pair carries an integer shift vector n (3,) with
r_ij = R_j - R_i + n @ cell. Because the cutoff stays below half of every periodic cell width (checked as in
:func:`mlip_lab.physics.geometry.pair_geometry`), at most one image of j lies within the cutoff of i, and it is
the minimum image: the sparse pairs are exactly the masked pairs of the dense path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from mlip_lab.physics.geometry import checked_cells, perpendicular_widths

# Bins per axis stay below this, so that one int64 key per (row, bin) is unique even for far-flung molecules;
# bins wider than the cutoff are still correct, only less selective.
_MAX_BINS = 1024
# An atom's neighbours lie in its own bin or in one of the 26 around it.
_OFFSETS = tuple(itertools.product((-1, 0, 1), repeat=3))


@dataclass(frozen=True)
class NeighbourList:
    """Directed pairs (i, j) of a padded batch: both atoms real, i != j, |r_ij| < cutoff; sorted by (batch, i, j).

    Both (i, j) and (j, i) appear. P pairs:
    batch, first, second: (P,) long, the configuration b, the centre atom i and its neighbour j (indices into
        the padded (B, N) batch).
    shifts: (P, 3) long, the periodic image n of j; zero for molecules and along non-periodic axes.
    vectors: (P, 3) r_ij = R_j - R_i + n @ cell in Å, differentiable w.r.t. positions (and cells).
    distances: (P,) |r_ij| in Å. directions: (P, 3) unit vectors r_ij / |r_ij|.
    n_atoms: N, the padded atoms per configuration, so that b N + i is atom i's row in an (B N, ...) array.
    """

    batch: torch.Tensor
    first: torch.Tensor
    second: torch.Tensor
    shifts: torch.Tensor
    vectors: torch.Tensor
    distances: torch.Tensor
    directions: torch.Tensor
    n_atoms: int


def neighbour_list(
    species: torch.Tensor,
    positions: torch.Tensor,
    cutoff: float,
    cells: torch.Tensor | None = None,
    pbc: torch.Tensor | None = None,
) -> NeighbourList:
    """All pairs within ``cutoff`` of a padded batch, found without (B, N, N) tensors.

    species: (B, N) long, 0 = padding; positions: (B, N, 3) Å; cutoff: Å.
    cells: (B, 3, 3) or (3, 3) lattice vectors as rows, or None for molecules.
    pbc: (B, 3) or (3,) periodic flags; None with a cell means periodic along all three axes.
    Raises :class:`~mlip_lab.errors.MLIPLabError` for a singular cell or a cutoff above half a periodic width.
    """
    cells, pbc = checked_cells(positions, cutoff, cells, pbc)
    with torch.no_grad():
        batch, first, second, shifts = _search(species, positions.detach(), cutoff, cells, pbc)
    vectors = positions[batch, second] - positions[batch, first]
    if cells is not None:
        vectors = vectors + torch.einsum("py,pyx->px", shifts.to(positions.dtype), cells[batch])
    distances = torch.linalg.vector_norm(vectors, dim=-1)
    return NeighbourList(batch, first, second, shifts, vectors, distances, vectors / distances[:, None],
                         species.shape[1])


def half_pair_sums(pairs: NeighbourList, values: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(B, N) per-atom sums of half of each pair value: atom i gets values[p] / 2 for every directed pair p = (i, j).

    values: (P,) one number per listed pair (e.g. a pair energy, the same for (i, j) and (j, i)), so each atom of a
    pair gets half of it and the atoms' sum is the sum over unordered pairs. batch_size: B, which the pairs cannot
    tell (a configuration may have none). Zero for padding and lone atoms.
    """
    sums = values.new_zeros(batch_size * pairs.n_atoms)
    sums = sums.index_add(0, pairs.batch * pairs.n_atoms + pairs.first, 0.5 * values)
    return sums.reshape(batch_size, pairs.n_atoms)


def _search(species, positions, cutoff, cells, pbc):
    """Cell-list search; returns batch, first, second (P,) and shifts (P, 3), all long. See :func:`neighbour_list`."""
    device, n_rows, n_atoms = positions.device, species.shape[0], species.shape[1]
    rows, atoms = (species > 0).nonzero(as_tuple=True)  # (A,) each, the real atoms in row-major order
    r = positions[rows, atoms]
    eye = torch.eye(3, dtype=positions.dtype, device=device)
    if cells is None:
        frames = eye.expand(n_rows, 3, 3)
        periodic = torch.zeros(len(rows), 3, dtype=torch.bool, device=device)
    else:
        # Bin periodic rows along their lattice vectors and molecules along x, y, z.
        frames = torch.where(pbc.any(dim=1)[:, None, None], cells, eye)
        periodic = pbc[rows]
    frames = frames[rows]  # (A, 3, 3)
    fractional = torch.einsum("ax,axy->ay", r, torch.linalg.inv(frames))
    widths = perpendicular_widths(frames)  # Å per unit of fractional coordinate, perpendicular to the faces

    # Periodic axes: wrap into [0, 1) and cut into whole bins at least one cutoff wide.
    periodic_bins = torch.floor(widths / cutoff).clamp(1, _MAX_BINS)
    wrapped = fractional - torch.floor(fractional)
    # Open axes: bins of one cutoff (wider for very spread-out molecules) from each row's lowest atom.
    low = _per_row(fractional, rows, n_rows, "amin")[rows]
    extent = (_per_row(fractional, rows, n_rows, "amax")[rows] - low) * widths
    size = (extent / (_MAX_BINS - 1)).clamp(min=cutoff)
    open_bins = torch.floor(extent / size) + 1
    n_bins = torch.where(periodic, periodic_bins, open_bins).long()
    coordinate = torch.where(periodic, wrapped * periodic_bins, (fractional - low) * widths / size)
    bins = torch.minimum(torch.floor(coordinate).long(), n_bins - 1)  # wrapped can round up to exactly 1

    atom_keys = _bin_keys(rows, bins)
    order = torch.argsort(atom_keys, stable=True)
    keys, counts = torch.unique_consecutive(atom_keys[order], return_counts=True)
    starts = torch.cumsum(counts, 0) - counts

    offsets = torch.tensor(_OFFSETS, device=device)  # (27, 3)
    near = bins[:, None, :] + offsets  # (A, 27, 3)
    n = n_bins[:, None, :]
    # With only 2 (or 1) periodic bins, offsets -1 and +1 reach the same bin: keep one so no pair counts twice.
    periodic_ok = (offsets == 0) | ((offsets == 1) & (n >= 2)) | ((offsets == -1) & (n >= 3))
    valid = torch.where(periodic[:, None, :], periodic_ok, (near >= 0) & (near < n)).all(dim=-1)
    near_keys = _bin_keys(rows[:, None], torch.where(periodic[:, None, :], torch.remainder(near, n), near))
    slot = torch.searchsorted(keys, near_keys).clamp(max=len(keys) - 1)
    found = valid & (keys[slot] == near_keys)
    count = torch.where(found, counts[slot], 0).flatten()
    start = starts[slot].flatten()

    # One candidate per (atom, searched bin, atom in that bin).
    entry = torch.repeat_interleave(torch.arange(len(count), device=device), count)
    within = torch.arange(len(entry), device=device) - (torch.cumsum(count, 0) - count)[entry]
    centre = entry // len(_OFFSETS)
    other = order[start[entry] + within]
    distinct = centre != other
    centre, other = centre[distinct], other[distinct]

    shifts = torch.where(periodic[centre], -torch.round(fractional[other] - fractional[centre]), 0.0)
    vectors = r[other] - r[centre] + torch.einsum("py,pyx->px", shifts, frames[centre])
    close = torch.linalg.vector_norm(vectors, dim=-1) < cutoff
    centre, other, shifts = centre[close], other[close], shifts[close]
    by_pair = torch.argsort((rows[centre] * n_atoms + atoms[centre]) * n_atoms + atoms[other])
    centre, other = centre[by_pair], other[by_pair]
    return rows[centre], atoms[centre], atoms[other], shifts[by_pair].long()


def _per_row(values: torch.Tensor, rows: torch.Tensor, n_rows: int, reduce: str) -> torch.Tensor:
    """values (A, 3) of atoms in ``rows`` (A,) -> (n_rows, 3) reduced per row ("amin" or "amax")."""
    out = torch.zeros(n_rows, 3, dtype=values.dtype, device=values.device)
    return out.scatter_reduce(0, rows[:, None].expand(-1, 3), values, reduce, include_self=False)


def _bin_keys(rows: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """One int64 key per (row, bin): rows (...) and bins (..., 3) with entries below _MAX_BINS -> (...)."""
    return ((rows * _MAX_BINS + bins[..., 0]) * _MAX_BINS + bins[..., 1]) * _MAX_BINS + bins[..., 2]
