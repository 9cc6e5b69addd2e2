"""Structure of periodic liquids: radial distribution functions, coordination numbers, bond-length and angle
distributions of multi-bead molecules, and a scalar RDF error.

Pure functions on arrays (numpy or torch in, numpy out). Distances are minimum-image ones, so every cut-off
radius must stay within half the smallest perpendicular width of the cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from mlip_lab.cg.mapping import frame_cells
from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.geometry import minimum_image, perpendicular_widths

# Pair vectors formed at once when histogramming one frame (24 MB of float64): a 2000-bead frame takes a few
# chunks of rows, and no (M, N, N) or even (N, N, 3) array is ever built.
_PAIRS_PER_CHUNK = 1_000_000


def radial_distribution(positions, cells, r_max: float, n_bins: int, species=None, pair: tuple[int, int] | None = None,
                        progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Radial distribution function g(r) of periodic frames, averaged over frames.

    positions: (M, N, 3) or (N, 3) Å; cells: (M, 3, 3) or (3, 3) Å, lattice vectors as rows, periodic in all
    three directions; r_max: Å, at most half the smallest perpendicular cell width of every frame (beyond it
    the minimum image would miss or double-count pairs); n_bins: equal bins on [0, r_max].
    species: (M, N) or (N,) int type codes, needed for ``pair=(a, b)``, the g_ab(r) of b particles around
    a particles; without ``pair`` all particles count.

    Each frame is normalised by its own ideal-gas count of ordered pairs in each shell,
    N_a N_b / V * 4/3 pi (r_{k+1}^3 - r_k^3) (N_a (N_a - 1) / V * ... when a = b), so an ideal gas gives
    g = 1 at every r; the frames' g are then averaged. Returns (r, g): bin centres (n_bins,) Å and g (n_bins,).
    """
    x, h = _frames(positions, cells)
    n_bins = _positive_int(n_bins, "n_bins")
    edges = _edges(r_max, n_bins, h)
    first, second = _pair_members(species, pair, x.shape[:2])
    shells = 4.0 / 3.0 * np.pi * np.diff(edges**3)
    total = np.zeros(n_bins)
    frames = tqdm(range(len(x)), desc="g(r)", leave=False) if progress else range(len(x))
    for f in frames:
        a, b = first[f], second[f]
        counts = _pair_histogram(x[f, a], x[f, b], h[f], edges, same=np.array_equal(a, b))
        n_a, n_b = len(a), len(b)
        ideal_pairs = n_a * (n_b - 1) if np.array_equal(a, b) else n_a * n_b
        volume = abs(float(torch.linalg.det(h[f])))
        total += counts / (ideal_pairs / volume * shells)
    return 0.5 * (edges[1:] + edges[:-1]), total / len(x)


def largest_rdf_range(cells) -> float:
    """Half the smallest perpendicular width over ``cells`` ((M, 3, 3) or (3, 3) Å): the longest r_max an RDF of
    these frames may use, since the minimum image misses or double-counts pairs beyond it."""
    h = _tensor(cells, "cells")
    return float(perpendicular_widths(frame_cells(h, tuple(h.shape[:-2]))).min()) / 2


def coordination_number(r, g, density: float) -> np.ndarray:
    """Running coordination number n(R) = integral_0^R 4 pi r^2 density g(r) dr at the upper edge of each bin.

    r: (K,) equal-width bin centres from 0 (as :func:`radial_distribution` returns), Å; g: (K,);
    density: number density of the neighbours counted, 1/Å³. To undo :func:`radial_distribution`'s
    normalisation exactly, use N_b / V for distinct types and (N - 1) / V for one type. The value at the
    first minimum of g after its first peak is the number of nearest neighbours. Returns (K,).
    """
    r, g = _grid(r, g, "g")
    width = r[1] - r[0] if len(r) > 1 else 2 * r[0]
    upper = r + width / 2
    shells = 4.0 / 3.0 * np.pi * (upper**3 - (upper - width) ** 3)
    return np.cumsum(density * g * shells)


def rdf_error(r, g_model, g_reference, r_max: float | None = None) -> float:
    """Integrated absolute difference of two RDFs on the same grid, integral_0^r_max |g_model - g_reference| dr (Å).

    r: (K,) equal-width bin centres, Å; g_model, g_reference: (K,). Each bin holds a constant value (a
    histogram), so the integral is exact: bins count by how much of them lies below ``r_max`` (default: the
    whole grid). Zero for identical curves; a difference of 0.1 everywhere up to 10 Å gives 1 Å.
    """
    r, g_m = _grid(r, g_model, "g_model")
    g_ref = np.asarray(g_reference, dtype=np.float64)
    if g_ref.shape != r.shape:
        raise MLIPLabError(f"g_reference has shape {g_ref.shape} but the grid r has {r.shape}; compute both RDFs with "
                           "the same r_max and n_bins")
    width = r[1] - r[0] if len(r) > 1 else 2 * r[0]
    lower = r - width / 2
    top = lower[-1] + width
    r_max = top if r_max is None else float(r_max)
    if not 0 < r_max <= top * (1 + 1e-12):
        raise MLIPLabError(f"r_max must lie in (0, {top:.6g}] Å, the end of the grid; got {r_max}")
    covered = np.clip(r_max - lower, 0.0, width)  # length of each bin below r_max
    return float(np.sum(np.abs(g_m - g_ref) * covered))


def bond_lengths(positions, cells, beads_per_molecule: int, pairs: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Minimum-image lengths of intramolecular bonds between beads, Å.

    positions: (M, n_beads, 3) or (n_beads, 3) Å, molecules stored one after another; cells: (M, 3, 3),
    (3, 3) or None (open system); pairs: (P, 2) bead indices inside one molecule (default: consecutive
    beads 0-1, 1-2, ...). Returns (M, n_molecules, P).
    """
    x, h = _frames(positions, cells, periodic=cells is not None)
    pairs = _index_tuples(pairs, 2, beads_per_molecule, x.shape[1])
    vectors = _bond_vectors(x, h, beads_per_molecule, pairs[:, 0], pairs[:, 1])
    return torch.linalg.vector_norm(vectors, dim=-1).numpy()


def bond_angles(positions, cells, beads_per_molecule: int, triples: Sequence[Sequence[int]]) -> np.ndarray:
    """Intramolecular angles i-j-k (vertex j) between beads, in degrees (0-180).

    positions: (M, n_beads, 3) or (n_beads, 3) Å; cells: (M, 3, 3), (3, 3) or None; triples: (T, 3) bead
    indices inside one molecule. Returns (M, n_molecules, T).
    """
    x, h = _frames(positions, cells, periodic=cells is not None)
    triples = _index_tuples(triples, 3, beads_per_molecule, x.shape[1])
    a = _bond_vectors(x, h, beads_per_molecule, triples[:, 1], triples[:, 0])
    b = _bond_vectors(x, h, beads_per_molecule, triples[:, 1], triples[:, 2])
    cosine = (a * b).sum(-1) / (torch.linalg.vector_norm(a, dim=-1) * torch.linalg.vector_norm(b, dim=-1))
    return torch.rad2deg(torch.arccos(cosine.clamp(-1.0, 1.0))).numpy()


def normalised_histogram(values, lo: float, hi: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Probability density of ``values`` (any shape) on n_bins equal bins of [lo, hi]: (centres, density), each
    (n_bins,); density integrates to 1 over the bins (values outside [lo, hi] are an error, not dropped)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    n_bins = _positive_int(n_bins, "n_bins")
    if not hi > lo:
        raise MLIPLabError(f"the histogram range needs lo < hi, got ({lo}, {hi})")
    if values.size == 0:
        raise MLIPLabError("no values to histogram")
    outside = (values < lo) | (values > hi)
    if outside.any():
        raise MLIPLabError(f"{int(outside.sum())} values lie outside [{lo}, {hi}] (from {values.min():.4g} to "
                           f"{values.max():.4g}); widen the range so the distribution stays normalised")
    density, edges = np.histogram(values, bins=n_bins, range=(lo, hi), density=True)
    return 0.5 * (edges[1:] + edges[:-1]), density


def bond_length_distribution(positions, cells, beads_per_molecule: int, pairs: Sequence[Sequence[int]] | None = None,
                             r_range: tuple[float, float] = (0.0, 6.0), n_bins: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Normalised distribution of :func:`bond_lengths` on ``r_range`` (Å): (centres Å, density 1/Å), each (n_bins,)."""
    return normalised_histogram(bond_lengths(positions, cells, beads_per_molecule, pairs), *r_range, n_bins)


def angle_distribution(positions, cells, beads_per_molecule: int, triples: Sequence[Sequence[int]],
                       n_bins: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """Normalised distribution of :func:`bond_angles` on [0, 180] degrees: (centres deg, density 1/deg)."""
    return normalised_histogram(bond_angles(positions, cells, beads_per_molecule, triples), 0.0, 180.0, n_bins)


# ---------------------------------------------------------------------- helpers
def _frames(positions, cells, periodic: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """positions -> (M, N, 3) float64 tensor; cells -> (M, 3, 3) (None for an open system), checked."""
    x = _tensor(positions, "positions")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[-1] != 3 or x.shape[1] == 0:
        raise MLIPLabError(f"positions must be (M, N, 3) or (N, 3) in Å, got shape {tuple(x.shape)}")
    if not periodic:
        return x, None
    if cells is None:
        raise MLIPLabError("an RDF of a liquid needs its periodic cell (M, 3, 3) or (3, 3), lattice vectors as rows in Å")
    return x, frame_cells(_tensor(cells, "cells"), (len(x),))


def _tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    try:
        return torch.tensor(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise MLIPLabError(f"{name} must be a numeric array ({exc})") from None


def _positive_int(value, name: str) -> int:
    if int(value) != value or value < 1:
        raise MLIPLabError(f"{name} must be a positive integer, got {value}")
    return int(value)


def _edges(r_max: float, n_bins: int, cells: torch.Tensor) -> np.ndarray:
    half_width = largest_rdf_range(cells)
    if not 0 < r_max <= half_width:
        raise MLIPLabError(f"r_max = {r_max} Å must be positive and at most half the smallest perpendicular cell width "
                           f"({half_width:.4g} Å); beyond it the minimum image misses or double-counts pairs. "
                           "Use a smaller r_max or a larger box")
    return np.linspace(0.0, float(r_max), n_bins + 1)


def _pair_members(species, pair, shape) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per frame, the indices of the particles at the centre (a) and around them (b)."""
    m, n = shape
    if pair is None:
        everyone = [np.arange(n)] * m
        return everyone, everyone
    if species is None:
        raise MLIPLabError("pair=(a, b) selects particle types, so species (type codes per particle) must be given")
    codes = np.asarray(species)
    if codes.shape == (n,):
        codes = np.broadcast_to(codes, (m, n))
    if codes.shape != (m, n):
        raise MLIPLabError(f"species have shape {codes.shape}, expected ({n},) or ({m}, {n}), one code per particle")
    a, b = pair
    first = [np.flatnonzero(row == a) for row in codes]
    second = [np.flatnonzero(row == b) for row in codes]
    too_few = [f for f in range(m) if len(first[f]) == 0 or len(second[f]) < 1 + (a == b)]
    if too_few:
        raise MLIPLabError(f"frame {too_few[0]} has too few particles of types {pair} for g(r); "
                           f"codes present: {sorted(set(codes[too_few[0]].tolist()))}")
    return first, second


def _pair_histogram(centres, neighbours, cell, edges, same: bool) -> np.ndarray:
    """Ordered pairs (i in centres, j in neighbours, i != j) per distance bin, in chunks of centre rows.

    centres (A, 3), neighbours (B, 3) Å; with ``same`` they are one set and only pairs j > i are measured, then
    counted twice. Fractional coordinates are computed once per frame and rounded per pair: the minimum
    image, exact for every pair closer than r_max (at most half the smallest perpendicular cell width).
    """
    n_bins, r_max = len(edges) - 1, float(edges[-1])
    inverse = torch.linalg.inv(cell)
    s_centres, s_neighbours = centres @ inverse, neighbours @ inverse
    counts = torch.zeros(n_bins, dtype=torch.float64)
    rows = max(1, _PAIRS_PER_CHUNK // len(neighbours))
    for start in range(0, len(centres), rows):
        block = s_centres[start : start + rows]
        others = s_neighbours[start + 1 :] if same else s_neighbours
        fractional = others[None, :] - block[:, None]
        fractional -= torch.round(fractional)
        distances = torch.linalg.vector_norm(fractional @ cell, dim=-1)
        if same:  # row r is atom start + r, column c atom start + 1 + c: keep c >= r, i.e. j > i
            distances = distances.masked_fill(~torch.ones_like(distances, dtype=torch.bool).triu(), r_max)
        kept = distances[distances < r_max]
        bins = (kept * (n_bins / r_max)).long().clamp(max=n_bins - 1)
        counts += torch.bincount(bins, minlength=n_bins).to(torch.float64)
    return (2.0 * counts if same else counts).numpy()


def _grid(r, g, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Check r is (K,) equal-width bin centres of a histogram from 0, and g has its shape."""
    r, g = np.asarray(r, dtype=np.float64), np.asarray(g, dtype=np.float64)
    if r.ndim != 1 or len(r) == 0 or g.shape != r.shape:
        raise MLIPLabError(f"r must be (K,) bin centres and {name} the same shape, got {r.shape} and {g.shape}")
    width = r[1] - r[0] if len(r) > 1 else 2 * r[0]
    if not width > 0 or not np.allclose(np.diff(r), width, rtol=1e-6, atol=0) or not np.isclose(r[0], width / 2, rtol=1e-6):
        raise MLIPLabError("r must be the equal-width bin centres, starting at half a bin from 0, that "
                           "radial_distribution returns")
    return r, g


def _index_tuples(indices, width: int, beads_per_molecule: int, n_beads: int) -> np.ndarray:
    """(P, width) bead indices inside one molecule, checked; default consecutive pairs."""
    k = _positive_int(beads_per_molecule, "beads_per_molecule")
    if n_beads % k:
        raise MLIPLabError(f"{n_beads} beads do not split into molecules of {k} beads; check beads_per_molecule")
    if indices is None:
        if k < 2:
            raise MLIPLabError("bonds need at least two beads per molecule")
        indices = [(i, i + 1) for i in range(k - 1)]
    table = np.asarray(indices)
    if table.ndim != 2 or table.shape[1] != width or len(table) == 0 or not np.issubdtype(table.dtype, np.integer):
        raise MLIPLabError(f"give a list of {width}-tuples of integer bead indices inside one molecule, got {indices!r}")
    if (table < 0).any() or (table >= k).any():
        raise MLIPLabError(f"bead indices {sorted(set(table[(table < 0) | (table >= k)].tolist()))} are outside the "
                           f"molecule (beads 0..{k - 1}); bonds and angles stay inside one molecule")
    if any(len(set(row)) < width for row in table.tolist()):
        raise MLIPLabError(f"a bond or angle repeats a bead: {table.tolist()}")
    return table


def _bond_vectors(x, h, beads_per_molecule, i, j) -> torch.Tensor:
    """(M, n_molecules, P, 3) vectors from bead i to bead j of each molecule (minimum image with a cell)."""
    molecules = x.reshape(len(x), -1, beads_per_molecule, 3)
    vectors = molecules[:, :, j] - molecules[:, :, i]
    if h is None:
        return vectors
    return minimum_image(vectors, h, torch.ones(len(x), 3, dtype=torch.bool))
