"""The classical baseline: a pairwise force-matched potential (multiscale coarse-graining, MS-CG).

Izvekov & Voth, J. Phys. Chem. B 109, 2469 (2005) and J. Chem. Phys. 123, 134105 (2005): the pair force
between bead types (a, b) is a linear combination of basis functions,

    f_ab(r) = sum_k c_abk phi_k(r)            (eV/Å, positive = repulsive, f = -dU/dr)

so the force on bead I, F_I = sum_J f_ab(r_IJ) (R_I - R_J) / r_IJ, is linear in the coefficients c, and
fitting them to mapped forces over many frames is a linear least-squares problem (with a small ridge).

The basis: uniform cubic B-splines, K of them on a grid of K intervals h = (r_cut - r_min) / K, centred at
r_min - h, r_min, ..., r_cut - 2h. Every function vanishes with two continuous derivatives at r_cut, and
together they span every such cubic spline on [r_min, r_cut]. The pair energy is the integral of -f from
r_cut, U_ab(r) = sum_k c_abk psi_k(r) with psi_k(r) = int_r^r_cut phi_k(s) ds (closed form), zero at the
cutoff with continuous force and force derivative.

Below the smallest distance the data sampled for a pair (``r_low``, per type pair) the table has no
information: it holds the force there constant (the energy continues as a straight line). That alone does
not stop two beads from collapsing; :func:`fit_pairwise` takes a :class:`~mlip_lab.cg.prior.RepulsivePrior`
as the wall, fits the table to ``mapped forces - prior forces`` and returns the sum, exactly as the neural
network is trained on top of the same prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from mlip_lab.cg.prior import EnergyOutput, RepulsivePrior, WithPrior
from mlip_lab.data.dataset import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import composition_least_squares, predict_by_autograd
from mlip_lab.models.io import register_model_kind
from mlip_lab.physics.forces import forces_from_energy
from mlip_lab.physics.geometry import PairGeometry, pair_geometry
from mlip_lab.physics.neighbours import half_pair_sums, neighbour_list

# Frames per chunk of the fit are chosen so the dense pair geometry (B, N, N, ...) stays near this size.
_CHUNK_BYTES = 64 * 2**20
_PAIR_BYTES = 128  # float64 vectors, directions, distances and the masks of one (i, j) pair


# --------------------------------------------------------------------------- the spline basis (pure functions)


def _cubic_bspline(x: torch.Tensor) -> torch.Tensor:
    """The uniform cubic B-spline centred at 0 (support [-2, 2], integral 1), elementwise."""
    a = x.abs().clamp(max=2.0)
    return torch.where(a < 1.0, 2.0 / 3.0 - a**2 + 0.5 * a**3, (2.0 - a) ** 3 / 6.0)


def _cubic_bspline_tail(x: torch.Tensor) -> torch.Tensor:
    """int_x^inf of :func:`_cubic_bspline`: 1 for x <= -2, 0 for x >= 2, elementwise.

    Written without |x| in the middle piece so that its derivative at x = 0 comes out right under autograd.
    """
    x = x.clamp(-2.0, 2.0)
    a = x.abs()
    middle = 0.5 - 2.0 * x / 3.0 + x**3 / 3.0 - x**3 * a / 8.0
    outer = (2.0 - a) ** 4 / 24.0
    return torch.where(a < 1.0, middle, torch.where(x > 0, outer, 1.0 - outer))


def _local_support(r: torch.Tensor, r_min: float, r_cut: float, n_basis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The four basis functions that can be non-zero at each r, and where r lies on each of them.

    Centre of function k: r_min + (k - 1) h. For r in grid interval q = floor((r - r_min) / h) they are
    k = q .. q + 3 (some may be >= K: past the last function, they do not exist); below r_min, q = 0 and
    above r_cut, q = K - 1 (the others are constant there). r: (...) Å. Returns k (..., 4) long and x (..., 4) = (r - centre_k) / h, differentiable in r.
    """
    h = (r_cut - r_min) / n_basis
    interval = torch.floor((r.detach() - r_min) / h).clamp(0, n_basis - 1).long()
    k = interval[..., None] + torch.arange(4, device=r.device)
    return k, (r[..., None] - r_min) / h - (k - 1).to(r.dtype)


def spline_pair_force(r: torch.Tensor, pair: torch.Tensor, coefficients: torch.Tensor, r_min: float,
                      r_cut: float) -> torch.Tensor:
    """f(r) = sum_k c[pair, k] phi_k(r) eV/Å (positive = repulsive).

    r: (...) Å; pair: (...) long rows of coefficients (P, K) eV/Å. Returns (...) eV/Å, zero from r_cut on.
    """
    k, x = _local_support(r, r_min, r_cut, coefficients.shape[-1])
    padded = torch.nn.functional.pad(coefficients, (0, 4))  # the functions past the last one have c = 0
    return (padded[pair[..., None], k] * _cubic_bspline(x)).sum(-1)


def spline_pair_energy(r: torch.Tensor, pair: torch.Tensor, coefficients: torch.Tensor, r_min: float,
                       r_cut: float) -> torch.Tensor:
    """U(r) = sum_k c[pair, k] psi_k(r) eV, psi_k(r) = int_r^r_cut phi_k = h T((r - centre_k) / h).

    Same arguments as :func:`spline_pair_force`; -dU/dr is that force and U(r_cut) = 0. The functions
    centred 2h or more beyond r contribute their whole integral h c_k: a suffix sum over k.
    """
    n_basis = coefficients.shape[-1]
    h = (r_cut - r_min) / n_basis
    k, x = _local_support(r, r_min, r_cut, n_basis)
    padded = torch.nn.functional.pad(coefficients, (0, 4))
    beyond = padded.flip(-1).cumsum(-1).flip(-1)  # beyond[p, k] = sum over k' >= k of c[p, k']
    local = (padded[pair[..., None], k] * _cubic_bspline_tail(x)).sum(-1)
    return h * (local + beyond[pair, k[..., -1] + 1])


def tabulated_pair_energy(r: torch.Tensor, pair: torch.Tensor, coefficients: torch.Tensor, r_low: torch.Tensor,
                          r_min: float, r_cut: float) -> torch.Tensor:
    """Pair energies U_p(r) (eV) of type pairs ``pair``, with the force held constant below r_low.

    r: (...) Å; pair: (...) long type-pair indices into coefficients (P, K) eV/Å and r_low (P,) Å (>= r_min).
    Returns (...) eV, zero from r_cut on.
    """
    low = r_low[pair]
    # Explicit branches, not max(r, low): fits set r_low to a sampled distance, and at such a tie the gradient of
    # a max would be split between the two branches.
    below = r < low
    table = spline_pair_energy(torch.where(below, low, r), pair, coefficients, r_min, r_cut)
    force_at_low = spline_pair_force(r_low, torch.arange(len(r_low), device=r.device), coefficients, r_min, r_cut)
    return table + force_at_low[pair] * torch.where(below, low - r, 0.0)


def pair_index_table(n_types: int) -> torch.Tensor:
    """(T, T) long: the index 0..T(T+1)/2 - 1 of each unordered type pair, rows (0,0), (0,1), ..., (1,1), ..."""
    table = torch.empty(n_types, n_types, dtype=torch.long)
    rows, cols = torch.triu_indices(n_types, n_types)
    table[rows, cols] = torch.arange(len(rows))
    table[cols, rows] = torch.arange(len(rows))
    return table


def force_design(geometry: PairGeometry, pair: torch.Tensor, n_pairs: int, r_min: float, r_cut: float,
                 n_basis: int) -> torch.Tensor:
    """How each bead force depends on each coefficient: F[b, i, x] = sum_c D[b, i, x, c] c_flat[c], where
    c_flat = coefficients (P, K) flattened row by row.

    geometry: dense pairs within r_cut; pair: (B, N, N) type-pair index. Returns D (B, N, 3, P K).
    Distances below r_min count as r_min, as in :func:`tabulated_pair_energy` (constant force there). Only the
    four splines that are non-zero at each distance are touched.
    """
    b, i, j = geometry.mask.nonzero(as_tuple=True)
    k, x = _local_support(geometry.distances[b, i, j].clamp(min=r_min), r_min, r_cut, n_basis)  # (E, 4)
    # directions are (R_j - R_i)/r, so a repulsive f pushes bead i along -direction.
    values = -_cubic_bspline(x)[..., None] * geometry.directions[b, i, j][:, None, :]  # (E, 4, 3)
    edge, slot = (k < n_basis).nonzero(as_tuple=True)  # functions past the last one do not exist
    column = pair[b, i, j][edge] * n_basis + k[edge, slot]
    design = geometry.distances.new_zeros(*pair.shape[:2], 3, n_pairs * n_basis)
    xyz = torch.arange(3, device=design.device)
    design.index_put_((b[edge, None], i[edge, None], xyz, column[:, None]), values[edge, slot], accumulate=True)
    return design


# --------------------------------------------------------------------------- the model


class PairwiseModel(nn.Module):
    """A tabulated pair potential (module docstring) that follows the model contract.

    elements: the species codes it accepts (CG bead types 1..K, or atomic numbers). ``coefficients``
    (P, K) eV/Å, one row per unordered type pair in the order of :attr:`type_pairs`, is the trainable
    parameter (zeros unless given; its dtype is the model's). ``r_low`` (P,) Å: below it the pair force is
    held constant (default r_min). Energy = per-element reference energies + sum of pair energies within
    r_cut; each bead gets its reference energy and half of each of its pair energies.
    """

    def __init__(self, elements, r_min: float, r_cut: float, n_basis: int, coefficients: torch.Tensor | None = None):
        super().__init__()
        elements = tuple(int(z) for z in elements)
        if not elements or len(set(elements)) != len(elements) or not all(1 <= z <= 118 for z in elements):
            raise MLIPLabError(f"elements must be distinct species codes 1..118, got {elements}")
        if not 0 < r_min < r_cut:
            raise MLIPLabError(f"need 0 < r_min < r_cut (Å), got r_min={r_min}, r_cut={r_cut}")
        if int(n_basis) != n_basis or n_basis < 1:
            raise MLIPLabError(f"n_basis must be a positive integer, got {n_basis}")
        self.elements = elements
        self.r_min, self.r_cut, self.n_basis = float(r_min), float(r_cut), int(n_basis)
        n_pairs = len(elements) * (len(elements) + 1) // 2
        if coefficients is None:
            coefficients = torch.zeros(n_pairs, self.n_basis)
        coefficients = torch.as_tensor(coefficients)
        if tuple(coefficients.shape) != (n_pairs, self.n_basis) or not coefficients.is_floating_point():
            raise MLIPLabError(f"coefficients must be a floating (P, K) = ({n_pairs}, {n_basis}) tensor, one row per "
                               f"type pair, got {tuple(coefficients.shape)} {coefficients.dtype}")
        self.coefficients = nn.Parameter(coefficients.detach().clone())
        dtype = coefficients.dtype
        lookup = torch.full((max(elements) + 1,), -1, dtype=torch.long)
        lookup[list(elements)] = torch.arange(len(elements))
        self.register_buffer("type_lookup", lookup, persistent=False)
        self.register_buffer("pair_lookup", pair_index_table(len(elements)), persistent=False)
        self.register_buffer("r_low", torch.full((n_pairs,), self.r_min, dtype=dtype))
        self.register_buffer("reference_energies", torch.zeros(len(elements), dtype=dtype))

    @property
    def type_pairs(self) -> list[tuple[int, int]]:
        """The (element a, element b), a <= b, of each coefficient row."""
        rows, cols = torch.triu_indices(len(self.elements), len(self.elements))
        return [(self.elements[a], self.elements[b]) for a, b in zip(rows.tolist(), cols.tolist())]

    def extra_repr(self) -> str:
        return (f"elements={self.elements}, {len(self.type_pairs)} type pairs x {self.n_basis} cubic B-splines "
                f"on {self.r_min:.3g}..{self.r_cut:.3g} Å")

    def type_indices(self, species: torch.Tensor) -> torch.Tensor:
        """species (B, N), 0 = padding -> (B, N) index into :attr:`elements`, -1 on padding."""
        species = torch.as_tensor(species, device=self.type_lookup.device)
        known = (species >= 0) & (species < self.type_lookup.numel())
        index = torch.where(known, self.type_lookup[species.clamp(0, self.type_lookup.numel() - 1)], -1)
        unknown = (species != 0) & (index < 0)
        if bool(unknown.any()):
            bad = sorted({int(z) for z in species[unknown].tolist()})
            raise MLIPLabError(f"species {bad} are not among this model's elements {list(self.elements)}; "
                               "build (or fit) it with data that contain them")
        return index

    def pair_indices(self, species: torch.Tensor) -> torch.Tensor:
        """species (B, N) -> (B, N, N) type-pair index of every (i, j) (padding counts as the first type)."""
        index = self.type_indices(species).clamp(min=0)
        return self.pair_lookup[index[:, :, None], index[:, None, :]]

    def _pair_row(self, a: int, b: int) -> int:
        if a not in self.elements or b not in self.elements:
            raise MLIPLabError(f"({a}, {b}) is not a pair of this model's elements {list(self.elements)}")
        return int(self.pair_lookup[self.elements.index(a), self.elements.index(b)])

    def pair_energy(self, r: torch.Tensor, a: int, b: int) -> torch.Tensor:
        """U_ab(r) eV for distances r (any shape, Å) between elements a and b (differentiable in r only)."""
        r = torch.as_tensor(r, dtype=self.coefficients.dtype, device=self.coefficients.device)
        pair = torch.full(r.shape, self._pair_row(a, b), dtype=torch.long, device=r.device)
        return tabulated_pair_energy(r, pair, self.coefficients.detach(), self.r_low, self.r_min, self.r_cut)

    def pair_force(self, r: torch.Tensor, a: int, b: int) -> torch.Tensor:
        """f_ab(r) = -dU_ab/dr eV/Å (positive = repulsive), detached."""
        with torch.enable_grad():
            r = torch.as_tensor(r, dtype=self.coefficients.dtype, device=self.coefficients.device)
            r = r.detach().requires_grad_(True)
            (gradient,) = torch.autograd.grad(self.pair_energy(r, a, b).sum(), r)
        return -gradient

    def forward(self, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
                pbc: torch.Tensor | None = None) -> EnergyOutput:
        """species (B, N) long (0 = padding), positions (B, N, 3) Å, cells (B, 3, 3) | None, pbc (B, 3) | None."""
        if positions.dtype != self.coefficients.dtype:
            raise MLIPLabError(f"positions are {positions.dtype} but the model is {self.coefficients.dtype}; "
                               "convert one to match")
        species = torch.as_tensor(species, device=positions.device)
        index = self.type_indices(species)
        # A neighbour list, not (B, N, N) tensors: a CG box of thousands of beads has ~100 neighbours per bead.
        pairs = neighbour_list(species, positions, self.r_cut, cells, pbc)
        types = index.clamp(min=0)
        pair = self.pair_lookup[types[pairs.batch, pairs.first], types[pairs.batch, pairs.second]]
        energies = tabulated_pair_energy(pairs.distances, pair, self.coefficients, self.r_low, self.r_min, self.r_cut)
        reference = torch.where(index >= 0, self.reference_energies[index.clamp(min=0)], 0.0)
        atomic = reference + half_pair_sums(pairs, energies, species.shape[0])
        return EnergyOutput(energy=atomic.sum(-1), atomic_energies=atomic)

    def predict(self, batch_or_species, positions=None, cells=None, pbc=None, forces: bool = True) -> EnergyOutput:
        """Detached energies and (optionally) forces; takes a Batch or the tensors of :meth:`forward`."""
        return predict_by_autograd(self, batch_or_species, positions, cells, pbc, forces)

    @torch.no_grad()
    def fit_reference_energies(self, species, energies) -> torch.Tensor:
        """Least-squares per-element energies from E_m ~ sum_k count_mk e_k (minimum norm where the
        compositions cannot tell elements apart); stores and returns them (T,). species (M, N); energies (M,) eV."""
        index = self.type_indices(torch.as_tensor(species, dtype=torch.long))
        self.reference_energies.copy_(composition_least_squares(index, len(self.elements), energies))
        return self.reference_energies.clone()


# --------------------------------------------------------------------------- the fit


@dataclass
class PairwiseFit:
    """The result of :func:`fit_pairwise`.

    model: what to simulate with: the table, plus the prior if one was given (a :class:`WithPrior`).
    table: the fitted :class:`PairwiseModel` alone. force_rmse: eV/Å, root mean square over every Cartesian
    component of every real bead of the training frames, of (table + prior forces) - mapped forces.
    n_force_components: how many force components the fit saw.
    """

    model: nn.Module
    table: PairwiseModel
    force_rmse: float
    n_force_components: int


def _no_pairs(r_cut: float) -> MLIPLabError:
    return MLIPLabError(f"no two beads of the dataset are closer than r_cut = {r_cut} Å, so there is no pair force "
                        "to fit; use a larger r_cut")


def _smallest_distance(dataset: Dataset, r_cut: float, chunk_frames: int) -> float:
    """The smallest bead-bead distance (Å) in the dataset, among pairs closer than r_cut."""
    smallest = math.inf
    for batch in dataset.batches(chunk_frames, dtype=torch.float64):
        geometry = pair_geometry(batch.species, batch.positions, r_cut, batch.cells, batch.pbc)
        if bool(geometry.mask.any()):
            smallest = min(smallest, float(geometry.distances[geometry.mask].min()))
    if smallest == math.inf:
        raise _no_pairs(r_cut)
    return smallest


def _solve_ridge(gram: torch.Tensor, rhs: torch.Tensor, ridge: float, n_rows: int) -> torch.Tensor:
    """c minimising |D c - F|^2 + ridge * mean(diag(D^T D)) |c|^2 from the normal equations (gram = D^T D)."""
    n_unknowns = gram.shape[0]
    if ridge == 0 and n_rows < n_unknowns:
        raise MLIPLabError(f"{n_rows} force components cannot determine {n_unknowns} coefficients; add frames, "
                           "use fewer basis functions (n_basis), or set ridge > 0")
    scale = float(gram.diagonal().mean())
    system = gram + ridge * scale * torch.eye(n_unknowns, dtype=gram.dtype)
    factor, info = torch.linalg.cholesky_ex(system)
    if int(info) != 0:
        unsampled = (gram.diagonal() <= 0).nonzero().reshape(-1).tolist()
        raise MLIPLabError(f"the least-squares problem is singular (basis functions {unsampled} see no sampled "
                           "distance, or the frames cannot tell some apart); set ridge > 0, raise r_min, or use "
                           "fewer basis functions")
    return torch.cholesky_solve(rhs[:, None], factor).reshape(-1)


def fit_pairwise(dataset: Dataset, r_cut: float, n_basis: int, r_min: float | None = None, ridge: float = 1e-8,
                 prior: RepulsivePrior | None = None, chunk_frames: int | None = None,
                 progress: bool = True) -> PairwiseFit:
    """Fit MS-CG pair forces to a dataset's (mapped) forces by regularised linear least squares.

    dataset: positions (M, N, 3) Å, forces (M, N, 3) eV/Å, species = bead types (or atomic numbers), cells
    and pbc for periodic frames (minimum image; r_cut must be below half of every cell width). r_cut Å: the
    pair forces and energies vanish there. n_basis: cubic B-splines (grid intervals) per type pair. r_min Å:
    start of the grid, default the smallest sampled distance. ridge: Tikhonov weight relative to the mean
    diagonal of D^T D (0 = plain least squares). prior: subtracted from the forces before the fit and added to
    the returned model (the wall below the sampled distances). Frames go through in chunks of
    ``chunk_frames`` (default: as many as keep the pair geometry near 64 MB), accumulating D^T D and D^T F, so
    memory does not grow with the number of frames. Float64 throughout.
    """
    if dataset.forces is None:
        raise MLIPLabError(f"{dataset!r} has no forces; force matching needs (mapped) forces")
    if not (math.isfinite(ridge) and ridge >= 0):
        raise MLIPLabError(f"ridge must be a number >= 0, got {ridge}")
    if prior is not None and not isinstance(prior, RepulsivePrior):
        raise MLIPLabError(f"prior must be a RepulsivePrior (see fit_repulsive_prior), got {type(prior).__name__}")
    if int(n_basis) != n_basis or n_basis < 1:
        raise MLIPLabError(f"n_basis must be a positive integer, got {n_basis}")
    n_atoms = dataset.species.shape[1]
    if chunk_frames is None:
        chunk_frames = max(1, _CHUNK_BYTES // (_PAIR_BYTES * n_atoms * n_atoms))
    if r_min is None:
        r_min = _smallest_distance(dataset, r_cut, chunk_frames)
    elements = tuple(sorted(int(z) for z in np.unique(dataset.species) if z > 0))
    n_pairs = len(elements) * (len(elements) + 1) // 2
    table = PairwiseModel(elements, r_min, r_cut, n_basis, torch.zeros(n_pairs, int(n_basis), dtype=torch.float64))
    n_unknowns = n_pairs * table.n_basis
    gram = torch.zeros(n_unknowns, n_unknowns, dtype=torch.float64)
    rhs = torch.zeros(n_unknowns, dtype=torch.float64)
    sum_squares, n_rows = 0.0, 0
    smallest = torch.full((n_pairs,), math.inf, dtype=torch.float64)

    chunks = dataset.batches(chunk_frames, dtype=torch.float64)
    for batch in tqdm(chunks, total=math.ceil(len(dataset) / chunk_frames), desc="pairwise fit", unit="chunk",
                      disable=not progress):
        species, positions, cells, pbc, forces = batch.species, batch.positions, batch.cells, batch.pbc, batch.forces
        if prior is not None:
            with torch.enable_grad():
                positions.requires_grad_(True)
                forces = forces - forces_from_energy(prior(species, positions, cells, pbc).sum(-1), positions)
            positions = positions.detach()
        geometry = pair_geometry(species, positions, r_cut, cells, pbc)
        pair = table.pair_indices(species)
        design = force_design(geometry, pair, n_pairs, table.r_min, table.r_cut, table.n_basis)
        real = species > 0
        design, targets = design[real].reshape(-1, n_unknowns), forces[real].reshape(-1)  # rows: bead, x
        gram += design.T @ design
        rhs += design.T @ targets
        sum_squares += float(targets @ targets)
        n_rows += targets.numel()
        smallest.scatter_reduce_(0, pair[geometry.mask], geometry.distances[geometry.mask], "amin")

    if bool(torch.isinf(smallest).all()):
        raise _no_pairs(r_cut)
    solution = _solve_ridge(gram, rhs, ridge, n_rows)
    with torch.no_grad():
        table.coefficients.copy_(solution.reshape(n_pairs, table.n_basis))
        # A pair never seen within r_cut gets r_low = r_cut: its table is zero everywhere.
        table.r_low.copy_(smallest.clamp(min=table.r_min, max=table.r_cut))
    # |D c - F|^2 expanded, from the accumulated sums (no second pass over the frames).
    residual = sum_squares - 2.0 * float(solution @ rhs) + float(solution @ gram @ solution)
    rmse = math.sqrt(max(residual, 0.0) / n_rows)
    model = table if prior is None else WithPrior(table, prior)
    return PairwiseFit(model=model, table=table, force_rmse=rmse, n_force_components=n_rows)


register_model_kind(
    "PairwiseModel", PairwiseModel,
    lambda model: {"elements": list(model.elements), "r_min": model.r_min, "r_cut": model.r_cut, "n_basis": model.n_basis},
    lambda config: PairwiseModel(**config))
