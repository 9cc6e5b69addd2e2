"""HIP-NN (tensor order 0) and HIP-NN-TS (tensor order 1 or 2) as one model family.

Shapes: B configurations, N (padded) atoms, E elements, F features, L = n_interactions + 1 energy layers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import composition_least_squares, predict_by_autograd
from mlip_lab.models.layers import AtomLayer, InteractionLayer, angular_basis
from mlip_lab.physics.geometry import PairGeometry, pair_geometry
from mlip_lab.physics.neighbours import NeighbourList, neighbour_list

PAIR_PATHS = ("auto", "dense", "sparse")
# "auto" goes sparse above this many (padded) atoms per configuration even without a cell: energy + forces of
# random clusters (0.1 atoms/Å³, cutoff 6 Å, HIP-NN-TS l=1, 20 features, 2 interactions, one thread) took
# dense/sparse 0.1-0.2x the time up to 100 atoms, 0.4x at 200 and 1.06x at 400.
SPARSE_ABOVE_ATOMS = 400
# Keys added to the config after models were first saved; files without them get the defaults.
_ADDED_KEYS = {"pairs"}


@dataclass(frozen=True)
class HIPNNConfig:
    """Hyper-parameters of a :class:`HIPNN`; lengths in Å.

    elements: atomic numbers the model accepts, in one-hot order. tensor_order: 0 = HIP-NN,
    1 or 2 = HIP-NN-TS. residual: hippynn's ResNet form around the interaction and every atom layer,
    z' = A z + W' softplus(...) + b' (:class:`~mlip_lab.models.layers.Residual`; about a third more parameters).
    Without it each softplus layer shrank the spread of the features across atoms about 3x at initialisation, so
    the energy heads saw 40x less of the environment; on `organics` (lesson 01's settings, 100 epochs) the
    residual form lowered the test force MAE by about a quarter at tensor orders 0 and 2 (benchmarks/RESULTS.md).
    Models saved without it load as they were (their files say ``residual: False``). eps: regularises the
    cusp of the tensor-sensitivity norms sqrt(|u|^2 + eps) at u = 0. Their curvature there is 1/sqrt(eps), and
    u vanishes by symmetry (e.g. the carbon of a tetrahedral methane), so eps sets how large Hessians and
    harmonic frequencies can get at symmetric geometries: 1e-6 gave methane modes near 18,000 cm^-1 after
    training on `organics`, 1e-2 gave 3,505 cm^-1 (DFT: 3,200) with the same force error.

    pairs: how pair sums are computed; every choice gives the same numbers. "dense" forms all N x N pairs of
    a padded batch (fast for small molecules, memory ~ B N^2); "sparse" uses a neighbour list (memory
    ~ N x neighbours, needed for periodic liquids of thousands of beads); "auto" takes sparse for batches with
    a periodic cell or more than ``SPARSE_ABOVE_ATOMS`` atoms per configuration, dense otherwise. In periodic
    boxes (liquids, solids) the pairs per atom are bounded by the cutoff sphere while N grows: sparse ran as
    fast as dense at 64-250 beads and needs a fraction of the memory beyond (benchmarks/pairs.py). Small
    molecules have nearly all of their few pairs inside the cutoff, where the dense einsums are several
    times faster.
    """

    elements: tuple[int, ...] = (1, 6, 7, 8)
    n_features: int = 20
    n_sensitivities: int = 16
    r_soft_min: float = 0.8
    r_soft_max: float = 5.0
    cutoff: float = 6.0
    n_interactions: int = 2
    n_atom_layers: int = 3
    tensor_order: int = 0
    residual: bool = True
    eps: float = 1e-2
    pairs: str = "auto"

    def __post_init__(self):
        elements = tuple(int(z) for z in self.elements)
        object.__setattr__(self, "elements", elements)
        if not elements or len(set(elements)) != len(elements) or not all(1 <= z <= 118 for z in elements):
            raise MLIPLabError(f"elements must be distinct atomic numbers 1..118, got {elements}")
        for name in ("n_features", "n_sensitivities", "n_interactions"):
            if int(getattr(self, name)) < 1:
                raise MLIPLabError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_atom_layers < 0:
            raise MLIPLabError(f"n_atom_layers must be >= 0, got {self.n_atom_layers}")
        if not 0 < self.r_soft_min < self.r_soft_max <= self.cutoff:
            raise MLIPLabError(
                f"need 0 < r_soft_min < r_soft_max <= cutoff, got {self.r_soft_min}, {self.r_soft_max}, {self.cutoff}"
            )
        if self.tensor_order not in (0, 1, 2):
            raise MLIPLabError(f"tensor_order must be 0 (HIP-NN), 1 or 2 (HIP-NN-TS), got {self.tensor_order}")
        if not self.eps > 0:
            raise MLIPLabError(f"eps must be positive, got {self.eps}")
        if self.pairs not in PAIR_PATHS:
            raise MLIPLabError(f"pairs must be one of {list(PAIR_PATHS)}, got {self.pairs!r}")

    def to_dict(self) -> dict:
        """Plain Python types only, so the dict survives ``torch.load(weights_only=True)``."""
        out = asdict(self)
        out["elements"] = list(self.elements)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "HIPNNConfig":
        """Inverse of :meth:`to_dict`; unknown or missing keys raise :class:`MLIPLabError`, except keys added
        since models were first saved (``pairs``), which take their defaults."""
        if not isinstance(data, dict):
            raise MLIPLabError(f"a HIP-NN config must be a dict, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown, missing = set(data) - names, names - set(data) - _ADDED_KEYS
        if unknown or missing:
            raise MLIPLabError(f"bad HIP-NN config: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
        return cls(**data)


def hierarchicality(layer_energies: torch.Tensor, tiny: float = 1e-12) -> torch.Tensor:
    """Regulariser sum_{l>=1} E_l^2 / (E_l^2 + E_{l-1}^2 + tiny) per configuration.

    layer_energies: (B, L) -> (B,). Small when each layer's energy is much smaller than the previous one.
    """
    squared = layer_energies**2
    return (squared[:, 1:] / (squared[:, 1:] + squared[:, :-1] + tiny)).sum(-1)


@dataclass
class HIPNNOutput:
    """What a :class:`HIPNN` returns.

    energy: (B,) eV = reference energies + sum of layer_energies.
    atomic_energies: (B, N) eV, the per-atom share of ``energy`` (reference included); zero on padding.
    layer_energies: (B, L) eV, the learned energy read out of each layer (layer 0 = one-hot input).
    forces: (B, N, 3) eV/Å, only from :meth:`HIPNN.predict`.
    """

    energy: torch.Tensor
    atomic_energies: torch.Tensor
    layer_energies: torch.Tensor
    forces: torch.Tensor | None = None

    @property
    def hierarchicality(self) -> torch.Tensor:
        """(B,) see :func:`hierarchicality`."""
        return hierarchicality(self.layer_energies)


class _Block(nn.Module):
    """One interaction layer followed by atom layers."""

    def __init__(self, n_in: int, config: HIPNNConfig):
        super().__init__()
        c = config
        self.interaction = InteractionLayer(
            n_in, c.n_features, c.n_sensitivities, c.r_soft_min, c.r_soft_max, c.cutoff, c.tensor_order, c.eps, c.residual
        )
        self.atom_layers = nn.Sequential(*(AtomLayer(c.n_features, c.residual) for _ in range(c.n_atom_layers)))

    def forward(self, z, pairs, basis):
        """z (A, F_in), pairs and basis as for :class:`InteractionLayer` -> (A, F)."""
        return self.atom_layers(self.interaction(z, pairs, basis))


class HIPNN(nn.Module):
    """Hierarchically interacting particle neural network; ``config.tensor_order`` > 0 gives HIP-NN-TS.

    Follows the model contract (:mod:`mlip_lab.models.contract`). ``reference_energies`` (E,) is a
    non-trainable per-element energy added to every atom; set it with :meth:`fit_reference_energies` (or the
    Trainer's ``fit_reference_energies`` option) before training so the network only learns what composition
    cannot.
    """

    def __init__(self, config: HIPNNConfig):
        super().__init__()
        self.config = config
        n_elements = len(config.elements)
        lookup = torch.full((max(config.elements) + 1,), -1, dtype=torch.long)
        lookup[list(config.elements)] = torch.arange(n_elements)
        self.register_buffer("element_index", lookup, persistent=False)
        self.register_buffer("reference_energies", torch.zeros(n_elements))
        sizes = [n_elements] + [config.n_features] * config.n_interactions
        self.blocks = nn.ModuleList(_Block(n_in, config) for n_in in sizes[:-1])
        self.energy_heads = nn.ModuleList(nn.Linear(n, 1) for n in sizes)

    @property
    def elements(self) -> tuple[int, ...]:
        """Atomic numbers this model accepts (the model contract's ``elements``)."""
        return self.config.elements

    def element_indices(self, species: torch.Tensor) -> torch.Tensor:
        """species (B, N) atomic numbers, 0 = padding -> (B, N) one-hot column, -1 on padding."""
        species = torch.as_tensor(species, device=self.element_index.device)
        too_big = species >= self.element_index.numel()
        index = self.element_index[torch.where(too_big, 0, species).clamp(min=0)]
        unknown = (species != 0) & (too_big | (index < 0))
        if bool(unknown.any()):
            bad = sorted({int(z) for z in species[unknown].tolist()})
            raise MLIPLabError(
                f"species {bad} are not among this model's elements {list(self.config.elements)}; "
                "build the model with a config that lists them"
            )
        return index

    def forward(self, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
                pbc: torch.Tensor | None = None) -> HIPNNOutput:
        """species (B, N) long (0 = padding), positions (B, N, 3) Å, cells (B, 3, 3) | None, pbc (B, 3) | None."""
        dtype = self.reference_energies.dtype
        if positions.dtype != dtype:
            raise MLIPLabError(f"positions are {positions.dtype} but the model is {dtype}; convert one to match")
        species = torch.as_tensor(species, device=positions.device)
        index = self.element_indices(species)
        real = index >= 0
        z = torch.nn.functional.one_hot(index.clamp(min=0), len(self.config.elements)).to(dtype) * real[..., None]
        z = z.flatten(0, 1)  # (B N, E): the blocks work on atom rows (see mlip_lab.models.layers)
        pairs = self.pairs(species, positions, cells, pbc)
        basis = angular_basis(pairs.directions, self.config.tensor_order) if self.config.tensor_order else None

        per_layer = [self.energy_heads[0](z)]
        for block, head in zip(self.blocks, self.energy_heads[1:]):
            z = block(z, pairs, basis)
            per_layer.append(head(z))
        # Padded atoms still get features (bias terms); dropping their energies keeps them out of every output.
        per_layer = torch.cat(per_layer, dim=-1).reshape(*real.shape, -1) * real[..., None]  # (B, N, L)
        reference = torch.where(real, self.reference_energies[index.clamp(min=0)], 0.0)
        atomic = reference + per_layer.sum(-1)
        return HIPNNOutput(energy=atomic.sum(1), atomic_energies=atomic, layer_energies=per_layer.sum(1))

    def pairs(self, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
              pbc: torch.Tensor | None = None) -> PairGeometry | NeighbourList:
        """The pair geometry :meth:`forward` uses: dense or a neighbour list, as ``config.pairs`` decides."""
        path = self.config.pairs
        if path == "auto":
            periodic = cells is not None and (pbc is None or bool(torch.as_tensor(pbc).any()))
            path = "sparse" if periodic or species.shape[1] > SPARSE_ABOVE_ATOMS else "dense"
        build = neighbour_list if path == "sparse" else pair_geometry
        return build(species, positions, self.config.cutoff, cells, pbc)

    def predict(self, batch_or_species, positions=None, cells=None, pbc=None, forces: bool = True) -> HIPNNOutput:
        """Inference convenience: detached energies and (optionally) forces.

        Takes a :class:`~mlip_lab.data.Batch` or the tensors of :meth:`forward`. For training use
        :meth:`forward` and :func:`mlip_lab.physics.forces_from_energy` with ``create_graph=True`` instead.
        """
        return predict_by_autograd(self, batch_or_species, positions, cells, pbc, forces)

    @torch.no_grad()
    def reference_atomic_energies(self, species) -> torch.Tensor:
        """(B, N) each atom's fixed per-element reference energy (0 on padding); atomic energies minus
        these are what the network learned about each atom's environment."""
        index = self.element_indices(torch.as_tensor(species, dtype=torch.long))
        return torch.where(index >= 0, self.reference_energies[index.clamp(min=0)], 0.0)

    @torch.no_grad()
    def sensitivity_curves(self, block: int = 0, points: int = 300) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned sensitivity functions s_nu(r) of interaction block ``block`` on a grid of distances.

        Returns r (R,) Å from 0.3 Å to the cutoff and s (R, S)."""
        if not 0 <= block < len(self.blocks):
            raise MLIPLabError(f"block must be in 0..{len(self.blocks) - 1}, got {block}")
        dtype = self.reference_energies.dtype
        r = torch.linspace(0.3, self.config.cutoff, points, dtype=dtype, device=self.reference_energies.device)
        s = self.blocks[block].interaction.sensitivity(r[None, None], torch.ones(1, 1, points, dtype=torch.bool, device=r.device))
        return r, s[0, 0]

    @torch.no_grad()
    def fit_reference_energies(self, species, energies) -> torch.Tensor:
        """Least-squares per-element energies e from E_m ~ sum_k count_mk e_k; stores and returns them (E,).

        species: (M, N) atomic numbers (0 = padding); energies: (M,) eV. Elements absent from the data, and
        directions the compositions cannot tell apart (e.g. one stoichiometry only), get the minimum-norm
        solution.
        """
        index = self.element_indices(torch.as_tensor(species, dtype=torch.long))
        self.reference_energies.copy_(composition_least_squares(index, len(self.config.elements), energies))
        return self.reference_energies.clone()
