"""Dense pair geometry for padded batches: displacements, distances and a cutoff mask.

Every pair (i, j) of a batch of B configurations padded to N atoms is computed at once, which is fast
and simple for N up to a few hundred. Periodic cells use the minimum-image convention. Large periodic
systems use the sparse counterpart, :mod:`mlip_lab.physics.neighbours`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mlip_lab.errors import MLIPLabError


@dataclass(frozen=True)
class PairGeometry:
    """All pairs of a padded batch; ``mask`` selects the real neighbours within the cutoff.

    vectors: (B, N, N, 3) r_ij = R_j - R_i in Å (minimum image if periodic); zero outside ``mask``.
    distances: (B, N, N) |r_ij| in Å; outside ``mask`` they hold ``cutoff`` so that functions such as
        1/r stay finite (and their gradients NaN-free) on the diagonal and on padding.
    directions: (B, N, N, 3) unit vectors r_ij / |r_ij|; zero outside ``mask``.
    mask: (B, N, N) bool, True where both atoms are real, i != j and |r_ij| < cutoff.
    """

    vectors: torch.Tensor
    distances: torch.Tensor
    directions: torch.Tensor
    mask: torch.Tensor


def displacement_vectors(positions: torch.Tensor) -> torch.Tensor:
    """positions (B, N, 3) -> (B, N, N, 3) with entry [b, i, j] = R_j - R_i."""
    return positions[:, None, :, :] - positions[:, :, None, :]


def minimum_image(vectors: torch.Tensor, cells: torch.Tensor, pbc: torch.Tensor) -> torch.Tensor:
    """Wrap displacement vectors to their nearest periodic image along the periodic axes.

    vectors: (B, N, N, 3) Å; cells: (B, 3, 3) with lattice vectors as rows (ASE convention);
    pbc: (B, 3) bool. Rows without any periodic axis are returned unchanged.

    Rounding fractional coordinates is the exact minimum image for orthorhombic cells and for any
    cell when |r| is below half of the smallest perpendicular cell width, which :func:`pair_geometry`
    enforces for its cutoff.
    """
    periodic_row = pbc.any(dim=1)
    # Non-periodic rows may carry a zero cell; the identity keeps the inverse defined and their shift is zero anyway.
    eye = torch.eye(3, dtype=cells.dtype, device=cells.device)
    safe_cells = torch.where(periodic_row[:, None, None], cells, eye)
    fractional = torch.einsum("bijx,byx->bijy", vectors, torch.linalg.inv(safe_cells).transpose(1, 2))
    shifts = torch.round(fractional) * pbc[:, None, None, :].to(vectors.dtype)
    return vectors - torch.einsum("bijy,byx->bijx", shifts, safe_cells)


def perpendicular_widths(cells: torch.Tensor) -> torch.Tensor:
    """cells (..., 3, 3) lattice vectors as rows (non-singular) -> (..., 3) Å, the distance between the two
    faces of the cell that lattice vector k crosses: volume / |a_l x a_m| for the two other vectors."""
    volume = torch.linalg.det(cells).abs()
    cross = torch.linalg.cross(cells[..., [1, 2, 0], :], cells[..., [2, 0, 1], :], dim=-1).norm(dim=-1)
    return volume[..., None] / cross


def _check_cells(cells: torch.Tensor, pbc: torch.Tensor, cutoff: float) -> None:
    """Reject singular periodic cells and cutoffs longer than half a periodic cell width."""
    rows = pbc.any(dim=1)
    if not bool(rows.any()):
        return
    c = cells[rows]
    if bool((torch.linalg.det(c).abs() < 1e-9).any()):
        raise MLIPLabError("a periodic cell is singular (zero volume); give three independent lattice vectors")
    widths = torch.where(pbc[rows], perpendicular_widths(c), torch.inf)
    if bool((2.0 * cutoff > widths).any()):
        raise MLIPLabError(
            f"cutoff {cutoff} Å exceeds half the smallest periodic cell width ({float(widths.min()) / 2:.3f} Å); "
            "the minimum-image convention would miss neighbours. Use a larger cell or a smaller cutoff."
        )


def checked_cells(
    positions: torch.Tensor, cutoff: float, cells: torch.Tensor | None, pbc: torch.Tensor | None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Broadcast ``cells`` to (B, 3, 3) and ``pbc`` to (B, 3) bool for positions (B, N, 3), and check them.

    None for ``cells`` (molecules) gives (None, None); None for ``pbc`` with a cell means periodic along all
    three axes. Raises :class:`MLIPLabError` for singular periodic cells or a cutoff (Å) above half a
    periodic cell width, where the minimum image (and so the pair list) would be wrong.
    """
    if cells is None:
        return None, None
    batch = positions.shape[0]
    cells = torch.as_tensor(cells, dtype=positions.dtype, device=positions.device).expand(batch, 3, 3)
    if pbc is None:
        pbc = torch.ones(batch, 3, dtype=torch.bool, device=positions.device)
    pbc = torch.as_tensor(pbc, device=positions.device).bool().expand(batch, 3)
    _check_cells(cells, pbc, cutoff)
    return cells, pbc


def pair_geometry(
    species: torch.Tensor,
    positions: torch.Tensor,
    cutoff: float,
    cells: torch.Tensor | None = None,
    pbc: torch.Tensor | None = None,
) -> PairGeometry:
    """Pair vectors, distances and the neighbour mask of a padded batch.

    species: (B, N) long, 0 = padding; positions: (B, N, 3) Å; cutoff: Å.
    cells: (B, 3, 3) or (3, 3) lattice vectors as rows, or None for molecules.
    pbc: (B, 3) or (3,) periodic flags; None with a cell means periodic along all three axes.
    """
    vectors = displacement_vectors(positions)
    cells, pbc = checked_cells(positions, cutoff, cells, pbc)
    if cells is not None:
        vectors = minimum_image(vectors, cells, pbc)

    real = species > 0
    n = species.shape[1]
    not_self = ~torch.eye(n, dtype=torch.bool, device=species.device)
    candidates = real[:, :, None] & real[:, None, :] & not_self
    # The norm's gradient is NaN at zero length: give excluded pairs a harmless unit vector before taking it.
    unit_x = torch.tensor([1.0, 0.0, 0.0], dtype=positions.dtype, device=positions.device)
    safe_vectors = torch.where(candidates[..., None], vectors, unit_x)
    safe_distances = torch.linalg.vector_norm(safe_vectors, dim=-1)
    mask = candidates & (safe_distances < cutoff)

    distances = torch.where(mask, safe_distances, torch.full_like(safe_distances, cutoff))
    directions = torch.where(mask[..., None], safe_vectors / safe_distances[..., None], 0.0)
    return PairGeometry(
        vectors=torch.where(mask[..., None], vectors, 0.0),
        distances=distances,
        directions=directions,
        mask=mask,
    )


def distance_rmsd_matrix(geometries_a, geometries_b) -> torch.Tensor:
    """:func:`distance_rmsd` between every geometry of ``geometries_a`` (Q, N, 3) and every one of
    ``geometries_b`` (R, N, 3), all of the same molecule in the same atom order -> (Q, R) Å, float64."""
    a, b = torch.as_tensor(geometries_a, dtype=torch.float64), torch.as_tensor(geometries_b, dtype=torch.float64)
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:] or a.shape[2] != 3 or a.shape[1] < 2:
        raise MLIPLabError(f"need (Q, N, 3) and (R, N, 3) geometries of one molecule with N >= 2, got "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    da, db = _interatomic_distances(a), _interatomic_distances(b)
    return (torch.cdist(da, db) ** 2 / da.shape[1]).sqrt()


def distance_rmsd(positions_a, positions_b) -> float:
    """Root-mean-square difference of all interatomic distances of two geometries of the same molecule (Å).

    positions_a, positions_b: (N, 3). Needs no alignment, since distances ignore rotations and translations.
    """
    a, b = torch.as_tensor(positions_a, dtype=torch.float64), torch.as_tensor(positions_b, dtype=torch.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise MLIPLabError(f"need two (N, 3) geometries of the same molecule, got {tuple(a.shape)} and {tuple(b.shape)}")
    da, db = _interatomic_distances(a), _interatomic_distances(b)
    return float(((da - db) ** 2).mean().sqrt())


def _interatomic_distances(positions: torch.Tensor) -> torch.Tensor:
    """(..., N, 3) -> (..., N (N - 1) / 2): |R_i - R_j| for every pair i < j."""
    i, j = torch.triu_indices(positions.shape[-2], positions.shape[-2], 1)
    return (positions[..., i, :] - positions[..., j, :]).norm(dim=-1)
