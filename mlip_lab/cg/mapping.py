"""Mapping operators: atoms -> coarse-grained beads (centre of mass, centre of geometry, atom groups).

A :class:`Mapping` is linear. For a system of ``n_molecules`` identical molecules stored one after another,
each molecule of ``atoms_per_molecule`` atoms becomes ``beads_per_molecule`` beads:

    R_I = sum_a c_Ia r_a        (bead position: a weighted average of its atoms, rows of c sum to 1)
    F_I = sum_a d_Ia f_a        (bead force: for a non-overlapping map d_Ia = 1 for the atoms of bead I)

The same small per-molecule matrices c and d are applied to every molecule, so a box of thousands of
molecules never needs an (n_beads, n_atoms) matrix. Periodic positions are made whole first (each atom
moved to the periodic image nearest the first atom of its molecule), so a molecule split across the box
edge maps to the right place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mlip_lab.data.dataset import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.md.state import wrap_positions
from mlip_lab.physics.geometry import minimum_image

# Overlapping maps: a consistent force map must satisfy d c^T = I and sum_I d_Ia = 1 to this tolerance.
_FORCE_MAP_TOLERANCE = 1e-9


class Mapping:
    """A linear map from ``n_atoms`` atoms to ``n_beads`` beads, the same for every molecule.

    weights_per_molecule: (beads_per_molecule, atoms_per_molecule) non-negative position weights c_Ia of
        one molecule; each row is normalised to sum to 1 (so mass or geometry weights may be given raw).
        Every atom needs a positive weight in some bead. An atom may appear in several beads (an
        overlapping map) only through this explicit matrix; :meth:`from_groups` rejects it.
    masses_per_molecule: (atoms_per_molecule,) atomic masses in amu, all positive, or None when unknown
        (then :attr:`bead_masses` is unavailable).
    n_molecules: number of molecules; atoms are stored molecule after molecule.
    bead_names: (beads_per_molecule,) names of the bead types, default "B1", "B2", ...; beads with the same
        name share a bead-type code (:attr:`bead_type_codes`) and must then have the same mass.

    Force map (``force_weights`` d): for a non-overlapping map, the sum of the atomic forces of each bead
    (d_Ia = 1 if atom a is in bead I, else 0). For an overlapping map, the smallest (Frobenius norm) d that
    is consistent, d c^T = I (forces of any potential of the bead positions alone map exactly to the bead
    forces), and conserves the total force, sum_I d_Ia = 1. The summation map satisfies both conditions too.

    Bead masses: the sum of the masses of the bead's atoms; an atom shared by several beads splits its mass
    among them in proportion to its position weights, so the total mass is conserved.
    """

    def __init__(self, weights_per_molecule, masses_per_molecule: Sequence[float] | None, n_molecules: int,
                 bead_names: Sequence[str] | None = None):
        weights = np.asarray(weights_per_molecule, dtype=np.float64)
        if weights.ndim != 2 or 0 in weights.shape:
            raise MLIPLabError(f"weights_per_molecule must be a (beads_per_molecule, atoms_per_molecule) matrix, "
                               f"got shape {weights.shape}")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise MLIPLabError("position weights must be finite and non-negative (a bead is a weighted average of its atoms)")
        empty = np.flatnonzero(weights.sum(axis=1) <= 0)
        if empty.size:
            raise MLIPLabError(f"bead(s) {empty.tolist()} of the molecule have no atoms (all weights zero); "
                               "every bead needs at least one atom with a positive weight")
        left_out = np.flatnonzero((weights > 0).sum(axis=0) == 0)
        if left_out.size:
            raise MLIPLabError(f"the mapping leaves atom(s) {left_out.tolist()} of each molecule out of every bead; "
                               "put every atom in a bead (its force would otherwise be lost)")
        if int(n_molecules) != n_molecules or n_molecules < 1:
            raise MLIPLabError(f"n_molecules must be a positive integer, got {n_molecules}")
        self._c = weights / weights.sum(axis=1, keepdims=True)
        self._n_molecules = int(n_molecules)
        self._masses = None if masses_per_molecule is None else _check_masses(masses_per_molecule, weights.shape[1])
        self._overlapping = bool(((weights > 0).sum(axis=0) > 1).any())
        self._d = _consistent_force_map(self._c) if self._overlapping else (self._c > 0).astype(np.float64)
        self._names = _check_names(bead_names, weights.shape[0])
        self._check_names_share_masses()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def centre_of_mass(cls, masses_per_molecule: Sequence[float], n_molecules: int, bead_name: str = "B1") -> "Mapping":
        """One bead per molecule at its centre of mass; masses_per_molecule (atoms_per_molecule,) amu."""
        masses = _check_masses(masses_per_molecule, None)
        return cls(masses[None, :], masses, n_molecules, [bead_name])

    @classmethod
    def centre_of_geometry(cls, atoms_per_molecule: int, n_molecules: int,
                           masses_per_molecule: Sequence[float] | None = None, bead_name: str = "B1") -> "Mapping":
        """One bead per molecule at the plain average of its atom positions (masses only for :attr:`bead_masses`)."""
        if int(atoms_per_molecule) != atoms_per_molecule or atoms_per_molecule < 1:
            raise MLIPLabError(f"atoms_per_molecule must be a positive integer, got {atoms_per_molecule}")
        return cls(np.ones((1, int(atoms_per_molecule))), masses_per_molecule, n_molecules, [bead_name])

    @classmethod
    def from_groups(cls, groups_per_molecule: Sequence[Sequence[int]], masses_per_molecule: Sequence[float] | None,
                    n_molecules: int, weights: str = "mass", bead_names: Sequence[str] | None = None) -> "Mapping":
        """Several beads per molecule, each a group of atom indices counted inside one molecule (0-based).

        The groups must cover every atom of the molecule exactly once (for overlapping or partial weights
        build ``Mapping(weights_matrix, ...)`` directly). ``weights``: "mass" (centre of mass of each group,
        needs masses) or "geometry" (plain average).
        """
        if weights not in ("mass", "geometry"):
            raise MLIPLabError(f"weights must be 'mass' or 'geometry', got {weights!r}")
        groups = [np.asarray(g) for g in groups_per_molecule]
        if not groups or any(g.ndim != 1 or g.size == 0 for g in groups):
            raise MLIPLabError("groups_per_molecule must be a non-empty list of non-empty lists of atom indices")
        if any(not np.issubdtype(g.dtype, np.integer) for g in groups):
            raise MLIPLabError("group entries must be integer atom indices (counted inside one molecule, from 0)")
        members = np.concatenate(groups)
        if masses_per_molecule is not None:
            masses = _check_masses(masses_per_molecule, None)
            n_atoms = len(masses)
        elif weights == "mass":
            raise MLIPLabError("weights='mass' needs masses_per_molecule (amu); pass them or use weights='geometry'")
        else:
            masses, n_atoms = None, max(int(members.max()) + 1, 0)  # without masses the groups define the size
        outside = sorted({int(i) for i in members if i < 0 or i >= n_atoms})
        if outside:
            raise MLIPLabError(f"group indices {outside} are outside the molecule (atoms 0..{n_atoms - 1}); groups "
                               "count atoms inside one molecule and must not reach into the next one")
        counts = np.bincount(members, minlength=n_atoms)
        if (counts > 1).any():
            raise MLIPLabError(f"atom(s) {np.flatnonzero(counts > 1).tolist()} are in more than one group; give each "
                               "atom one bead, or build Mapping(weights_matrix, ...) for an overlapping map")
        if (counts == 0).any():
            raise MLIPLabError(f"the groups leave atom(s) {np.flatnonzero(counts == 0).tolist()} of the molecule out; "
                               "every atom must belong to a bead")
        matrix = np.zeros((len(groups), n_atoms))
        for bead, group in enumerate(groups):
            matrix[bead, group] = masses[group] if weights == "mass" else 1.0
        return cls(matrix, masses, n_molecules, bead_names)

    # ------------------------------------------------------------------ sizes and bookkeeping
    @property
    def n_molecules(self) -> int:
        return self._n_molecules

    @property
    def atoms_per_molecule(self) -> int:
        return self._c.shape[1]

    @property
    def beads_per_molecule(self) -> int:
        return self._c.shape[0]

    @property
    def n_atoms(self) -> int:
        return self._n_molecules * self.atoms_per_molecule

    @property
    def n_beads(self) -> int:
        return self._n_molecules * self.beads_per_molecule

    @property
    def overlapping(self) -> bool:
        """True when some atom contributes to more than one bead."""
        return self._overlapping

    @property
    def position_weights(self) -> np.ndarray:
        """(beads_per_molecule, atoms_per_molecule) c_Ia of one molecule; rows sum to 1."""
        return self._c.copy()

    @property
    def force_weights(self) -> np.ndarray:
        """(beads_per_molecule, atoms_per_molecule) d_Ia of one molecule; columns sum to 1."""
        return self._d.copy()

    @property
    def bead_masses(self) -> np.ndarray:
        """(n_beads,) amu."""
        if self._masses is None:
            raise MLIPLabError("this mapping was built without atomic masses; pass masses_per_molecule to know bead masses")
        share = self._c / self._c.sum(axis=0, keepdims=True)  # each atom's mass split by its position weights
        return np.tile(share @ self._masses, self._n_molecules)

    @property
    def molecule_of_bead(self) -> np.ndarray:
        """(n_beads,) int index of the molecule each bead belongs to."""
        return np.repeat(np.arange(self._n_molecules), self.beads_per_molecule)

    @property
    def molecule_of_atom(self) -> np.ndarray:
        """(n_atoms,) int index of the molecule each atom belongs to."""
        return np.repeat(np.arange(self._n_molecules), self.atoms_per_molecule)

    @property
    def bead_names(self) -> list[str]:
        """(beads_per_molecule,) bead-type names of one molecule."""
        return list(self._names)

    @property
    def bead_type_codes(self) -> np.ndarray:
        """(n_beads,) int bead-type codes 1..K (numbered in order of first appearance in the molecule)."""
        codes = {name: k + 1 for k, name in enumerate(dict.fromkeys(self._names))}
        return np.tile([codes[name] for name in self._names], self._n_molecules).astype(np.int64)

    @property
    def bead_types(self) -> dict:
        """``{"1": {"name": ..., "mass": amu}, ...}``: the ``metadata["bead_types"]`` of a CG dataset."""
        masses = self.bead_masses[: self.beads_per_molecule]
        types = {}
        for name, code, mass in zip(self._names, self.bead_type_codes, masses):
            types.setdefault(str(code), {"name": name, "mass": float(mass)})
        return types

    def describe(self) -> dict:
        """JSON-serialisable summary (for dataset provenance)."""
        return {
            "n_molecules": self.n_molecules, "atoms_per_molecule": self.atoms_per_molecule,
            "beads_per_molecule": self.beads_per_molecule, "bead_names": self.bead_names,
            "position_weights": self._c.tolist(), "force_weights": self._d.tolist(),
        }

    def __repr__(self) -> str:
        return (f"Mapping({self.n_molecules} molecules x {self.atoms_per_molecule} atoms -> "
                f"{self.beads_per_molecule} bead(s) each{', overlapping' if self.overlapping else ''})")

    # ------------------------------------------------------------------ the maps
    def map_positions(self, positions, cells=None, wrap: bool = True):
        """Bead positions: each molecule made whole, then the weighted average of its atoms.

        positions: (..., n_atoms, 3) Å; cells: (..., 3, 3) or (3, 3) Å, lattice vectors as rows, periodic along
        all three axes, or None for an open system. Returns (..., n_beads, 3) Å. With a cell and ``wrap``
        (default) every bead is put back into the cell (fractional coordinates in [0, 1)), where the CG
        dataset and CG MD keep their particles; ``wrap=False`` leaves each bead next to its molecule's first
        atom. Making molecules whole uses the minimum image relative to that first atom, which is right while
        every atom lies within half a cell width of it (any real molecule in a liquid box).

        numpy (or lists) in -> float64 numpy out; a torch tensor in -> a tensor of its dtype and device out
        (differentiable). The arithmetic is float64 either way.
        """
        x, back = _to_float64(positions)
        self._check_frames(x, "positions")
        lead = x.shape[:-2]
        x = x.reshape(-1, self._n_molecules, self.atoms_per_molecule, 3)
        c = torch.as_tensor(self._c, device=x.device)
        first = x[:, :, :1]
        relative = x - first
        if cells is not None:
            h = frame_cells(cells, lead).to(x.device)
            pbc = torch.ones(h.shape[0], 3, dtype=torch.bool, device=x.device)
            relative = minimum_image(relative, h, pbc)  # whole molecules
        beads = (first + torch.einsum("ba,fmax->fmbx", c, relative)).reshape(-1, self.n_beads, 3)
        if cells is not None and wrap:
            beads = wrap_positions(beads, h, pbc)
        return back(beads.reshape(*lead, self.n_beads, 3))

    def map_forces(self, forces):
        """Bead forces F_I = sum_a d_Ia f_a (for a non-overlapping map: the sum of the bead's atomic forces).

        forces: (..., n_atoms, 3) eV/Å -> (..., n_beads, 3) eV/Å. numpy or torch, as :meth:`map_positions`.
        """
        f, back = _to_float64(forces)
        self._check_frames(f, "forces")
        lead = f.shape[:-2]
        f = f.reshape(-1, self._n_molecules, self.atoms_per_molecule, 3)
        d = torch.as_tensor(self._d, device=f.device)
        return back(torch.einsum("ba,fmax->fmbx", d, f).reshape(*lead, self.n_beads, 3))

    # ------------------------------------------------------------------ checks
    def _check_frames(self, x: torch.Tensor, what: str) -> None:
        if x.ndim < 2 or x.shape[-1] != 3 or x.shape[-2] != self.n_atoms:
            raise MLIPLabError(f"{what} have shape {tuple(x.shape)}, but this mapping needs (..., {self.n_atoms}, 3) "
                               f"({self.n_molecules} molecules x {self.atoms_per_molecule} atoms); check the topology "
                               "and that every frame holds all atoms")

    def _check_names_share_masses(self) -> None:
        if self._masses is None:
            return
        masses = self.bead_masses[: self.beads_per_molecule]
        for name in set(self._names):
            same = masses[[n == name for n in self._names]]
            if np.ptp(same) > 1e-6 * same.max():
                raise MLIPLabError(f"beads named {name!r} have different masses {same.tolist()} amu; a bead type has one "
                                   "mass, so give these beads different names")


def map_trajectory(mapping: Mapping, positions, forces, cells, temperature, molecule: str = "",
                   name: str = "", metadata: dict | None = None) -> Dataset:
    """An atomistic periodic trajectory -> a coarse-grained :class:`~mlip_lab.data.Dataset` (force-matching data).

    positions, forces: (M, n_atoms, 3) Å and eV/Å; cells: (M, 3, 3) or (3, 3) Å; temperature: K, one number
    or (M,) (required: transferability studies compare state points). The dataset follows the CG
    conventions: species are bead-type codes 1..K, positions the wrapped bead positions, forces the mapped
    forces, pbc all True, category "cg", no energies (force matching needs none), and
    ``metadata["bead_types"]`` gives each code's name and mass (amu) next to the mapping itself.
    """
    if cells is None:
        raise MLIPLabError("a CG dataset of a liquid needs its periodic cells, (M, 3, 3) or (3, 3) Å")
    beads = mapping.map_positions(np.asarray(positions, dtype=np.float64), cells)
    if beads.ndim != 3:
        raise MLIPLabError(f"positions must be (M, n_atoms, 3) frames, got {np.shape(positions)}")
    m = len(beads)
    mapped_forces = mapping.map_forces(np.asarray(forces, dtype=np.float64))
    if mapped_forces.shape != beads.shape:
        raise MLIPLabError(f"forces have shape {np.shape(forces)}, positions {np.shape(positions)}; give one force "
                           "per atom for every frame")
    if temperature is None:
        raise MLIPLabError("the temperature label is missing; give the simulation temperature in K (one number or one per frame)")
    temperatures = np.asarray(temperature, dtype=np.float64)
    if temperatures.ndim == 0:
        temperatures = np.full(m, float(temperatures))
    if temperatures.shape != (m,) or not np.isfinite(temperatures).all() or (temperatures <= 0).any():
        raise MLIPLabError(f"temperature must be one positive number or {m} of them (K), got {temperature!r}")
    cells = np.asarray(cells, dtype=np.float64)
    return Dataset(
        species=np.tile(mapping.bead_type_codes, (m, 1)),
        positions=beads,
        energies=None,
        forces=mapped_forces,
        cells=np.broadcast_to(cells, (m, 3, 3)).copy(),
        pbc=np.ones((m, 3), dtype=bool),
        molecule=np.full(m, molecule),
        category=np.full(m, "cg"),
        temperature=temperatures,
        name=name,
        metadata={**(metadata or {}), "bead_types": mapping.bead_types, "mapping": mapping.describe()},
    )


def frame_cells(cells, lead: tuple) -> torch.Tensor:
    """cells (*lead, 3, 3) or one (3, 3) for all frames, Å, lattice vectors as rows -> (F, 3, 3) float64 tensor,
    F = prod(lead). Raises :class:`MLIPLabError` for a wrong shape or a singular or non-finite cell."""
    h, _ = _to_float64(cells)
    if h.shape == (3, 3):
        h = h.expand(*lead, 3, 3)
    if tuple(h.shape) != (*lead, 3, 3):
        raise MLIPLabError(f"cells have shape {tuple(h.shape)}; give one (3, 3) cell for all frames or one per frame, "
                           f"{(*lead, 3, 3)}, lattice vectors as rows in Å")
    h = h.reshape(-1, 3, 3)
    if not bool(torch.isfinite(h).all()) or bool((torch.linalg.det(h).abs() < 1e-9).any()):
        raise MLIPLabError("a cell is singular or not finite; give three independent lattice vectors (rows, Å)")
    return h


def _to_float64(value):
    """(float64 tensor, back) where ``back`` returns a result as the caller's kind: numpy, or torch of its dtype/device."""
    if isinstance(value, torch.Tensor):
        dtype = value.dtype if value.is_floating_point() else torch.float64
        return value.to(torch.float64), lambda out: out.to(dtype)
    try:
        array = np.array(value, dtype=np.float64)  # a copy: torch needs a writable array
    except (TypeError, ValueError) as exc:
        raise MLIPLabError(f"expected a numeric array, got {type(value).__name__} ({exc})") from None
    return torch.from_numpy(array), lambda out: out.detach().numpy()


def _check_masses(masses, n_atoms: int | None) -> np.ndarray:
    m = np.asarray(masses, dtype=np.float64)
    if m.ndim != 1 or m.size == 0:
        raise MLIPLabError(f"masses_per_molecule must be a 1-D list of atomic masses (amu), got shape {m.shape}")
    if n_atoms is not None and m.size != n_atoms:
        raise MLIPLabError(f"got {m.size} masses for a molecule of {n_atoms} atoms; give one mass per atom (amu)")
    if not np.isfinite(m).all() or (m <= 0).any():
        raise MLIPLabError(f"atomic masses must be positive (amu), got {m.tolist()}; use mlip_lab.physics.masses_of(species)")
    return m


def _check_names(names, n_beads: int) -> list[str]:
    if names is None:
        return [f"B{k + 1}" for k in range(n_beads)]
    names = [str(n) for n in names]
    if len(names) != n_beads or any(not n for n in names):
        raise MLIPLabError(f"give {n_beads} non-empty bead names (one per bead of a molecule), got {names}")
    return names


def _consistent_force_map(c: np.ndarray) -> np.ndarray:
    """The minimum-norm d with d c^T = I (consistency) and sum_I d_Ia = 1 (total force conserved).

    c: (b, a) position weights with rows summing to 1. Solved as one small linear system for vec(d).
    """
    b, a = c.shape
    consistency = np.kron(np.eye(b), c)  # row (I, J): sum_a d_Ia c_Ja
    conservation = np.kron(np.ones((1, b)), np.eye(a))  # row a: sum_I d_Ia
    system = np.vstack([consistency, conservation])
    rhs = np.concatenate([np.eye(b).ravel(), np.ones(a)])
    solution = np.linalg.lstsq(system, rhs, rcond=None)[0]
    if np.abs(system @ solution - rhs).max() > _FORCE_MAP_TOLERANCE:
        raise MLIPLabError("these overlapping weights admit no consistent force map (some bead's weights are a "
                           "combination of other beads'); make every bead's atom weights independent")
    return solution.reshape(b, a)
