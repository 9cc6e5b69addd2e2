"""The batched MD state: B replicas of (possibly different) molecules padded to N atoms, and pure functions
on it (kinetic energy, temperature, Maxwell-Boltzmann velocities, centre-of-mass removal, periodic wrapping).

Units: Å, fs, amu, eV, K. Velocities are in Å/fs; a padded atom (species 0) has mass 0, velocity 0 and never
moves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from mlip_lab.data.padding import pad_ragged
from mlip_lab.data.validation import check_atoms_apart
from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.masses import masses_of
from mlip_lab.physics.units import AMU_KG, ANGSTROM_M, BOLTZMANN_EV_PER_K, EV_J, FS_S

# 1 amu Å²/fs² in eV: kinetic energies are 0.5 m v² * this, accelerations F/m / this (Å/fs² from eV/Å/amu).
AMU_A2_PER_FS2_IN_EV = AMU_KG * (ANGSTROM_M / FS_S) ** 2 / EV_J


@dataclass(frozen=True)
class MDState:
    """B replicas, N (padded) atoms each.

    species: (B, N) long, 0 = padding; masses: (B, N) amu, 0 on padding; positions, velocities: (B, N, 3) Å, Å/fs.
    energies: (B,) eV potential energies and forces: (B, N, 3) eV/Å at ``positions`` (None before an
    integrator's init). temperatures: (B,) K, each replica's target (Langevin; initial velocities).
    cells: (B, 3, 3) lattice vectors as rows, or None; pbc: (B, 3) bool, or None.
    active: (B,) bool; False once a replica blew up (it is then frozen). step: steps taken so far;
    time: simulated time in fs. rng_state: the state of the CPU ``torch.Generator`` that draws Langevin's random
    kicks (uint8, stays on the CPU), advanced by every Langevin step; None until the first one seeds it. Carrying
    it here lets a copied or saved state resume or repeat a thermostatted run exactly.
    """

    species: torch.Tensor
    masses: torch.Tensor
    positions: torch.Tensor
    velocities: torch.Tensor
    temperatures: torch.Tensor
    active: torch.Tensor
    energies: torch.Tensor | None = None
    forces: torch.Tensor | None = None
    cells: torch.Tensor | None = None
    pbc: torch.Tensor | None = None
    rng_state: torch.Tensor | None = None
    step: int = 0
    time: float = 0.0

    @property
    def real(self) -> torch.Tensor:
        """(B, N) True for real atoms."""
        return self.species > 0

    @property
    def n_atoms(self) -> torch.Tensor:
        """(B,) real atoms per replica."""
        return self.real.sum(1)

    def replace(self, **changes) -> "MDState":
        return replace(self, **changes)

    def to(self, device) -> "MDState":
        """The same state on ``device``; ``rng_state`` stays on the CPU, where its generator lives."""
        moved = {k: v.to(device) for k, v in vars(self).items() if isinstance(v, torch.Tensor) and k != "rng_state"}
        return replace(self, **moved)


def make_state(species, positions, temperatures=300.0, masses=None, cells=None, pbc=None, velocities=None,
               seed: int | None = 0, device=None, dtype=torch.float32) -> MDState:
    """Validate inputs and build a state; without ``velocities`` they are drawn from Maxwell-Boltzmann.

    species: (B, N) atomic numbers, 0 = padding; positions: (B, N, 3) Å; temperatures: K, a number or (B,);
    masses: (B, N) amu (default: standard masses); cells: (B, 3, 3) or (3, 3); pbc: (B, 3) or (3,) bool
    (default all periodic when a cell is given); velocities: (B, N, 3) Å/fs. dtype: the model's dtype.
    Raises ``MLIPLabError`` for malformed input: wrong shapes, non-finite numbers, unknown atomic numbers,
    non-positive masses of real atoms, negative temperatures, singular cells, or real atoms closer than
    ``mlip_lab.data.validation.MIN_DISTANCE`` Å (the model's 1/r terms would return NaN there).
    """
    species = torch.as_tensor(species, device=device)
    if species.ndim != 2:
        raise MLIPLabError(f"species must be (B, N) atomic numbers, got shape {tuple(species.shape)}")
    standard_masses = masses_of(species)  # also rejects unknown or non-integer atomic numbers
    species = species.long()
    device = species.device
    batch, n = species.shape
    real = species > 0
    positions = _as_finite(positions, "positions", (batch, n, 3), dtype, device)
    if bool((real.sum(1) < 2).any()):
        raise MLIPLabError("every replica needs at least 2 atoms (a temperature needs internal degrees of freedom)")
    masses = standard_masses if masses is None else _as_finite(masses, "masses", (batch, n), torch.float64, device)
    if bool((masses[real] <= 0).any()):
        raise MLIPLabError("masses of real atoms must be positive amu; padding (species 0) may have any mass")
    masses = torch.where(real, masses, 0.0).to(dtype)
    temperatures = torch.as_tensor(temperatures, dtype=dtype, device=device)
    if temperatures.numel() not in (1, batch):
        raise MLIPLabError(f"give one temperature or one per replica ({batch}), got {temperatures.numel()}")
    temperatures = temperatures.reshape(-1).expand(batch).clone()
    if bool((temperatures < 0).any()) or not bool(torch.isfinite(temperatures).all()):
        raise MLIPLabError("temperatures must be finite and >= 0 K")
    if cells is not None:
        cells, pbc = _periodic_cells(cells, pbc, batch, dtype, device)
    elif pbc is not None:
        raise MLIPLabError("pbc was given without cells; give the lattice vectors too")
    positions = torch.where(real[..., None], positions, 0.0)
    check_atoms_apart(species, positions, cells, pbc, source="make_state")
    state = MDState(species=species, masses=masses, positions=positions, velocities=torch.zeros_like(positions),
                    temperatures=temperatures, active=torch.ones(batch, dtype=torch.bool, device=device), cells=cells,
                    pbc=pbc)
    if velocities is None:
        generator = torch.Generator(device=device)
        if seed is None:
            generator.seed()  # a fresh non-deterministic seed, without touching torch's global generator
        else:
            generator.manual_seed(seed)
        velocities = maxwell_boltzmann_velocities(masses, temperatures, generator)
    else:
        velocities = _as_finite(velocities, "velocities", (batch, n, 3), dtype, device)
    return state.replace(velocities=torch.where(real[..., None], velocities, 0.0))


def _as_finite(values, name: str, shape: tuple, dtype, device) -> torch.Tensor:
    """``values`` as a tensor of ``shape``, or an ``MLIPLabError`` naming ``name`` if misshapen or not finite."""
    values = torch.as_tensor(values, dtype=dtype, device=device)
    if values.shape != shape:
        raise MLIPLabError(f"{name} must have shape {shape} to match species (B, N), got {tuple(values.shape)}")
    if not bool(torch.isfinite(values).all()):
        raise MLIPLabError(f"{name} contain NaN or infinite values; every number must be finite")
    return values


def _periodic_cells(cells, pbc, batch: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated (B, 3, 3) cells and (B, 3) bool pbc (default all periodic) from per-batch or shared values."""
    cells = torch.as_tensor(cells, dtype=dtype, device=device)
    if cells.shape not in ((3, 3), (batch, 3, 3)):
        raise MLIPLabError(f"cells must be (3, 3) or (B, 3, 3) = ({batch}, 3, 3) lattice vectors, got {tuple(cells.shape)}")
    cells = cells.expand(batch, 3, 3).clone()
    lengths = cells.double().norm(dim=-1).prod(-1)
    volumes = torch.linalg.det(cells.double()).abs()
    # Volume relative to the box of the same edge lengths: ~0 for a zero, parallel or coplanar lattice vector.
    if not bool(torch.isfinite(cells).all()) or bool((volumes <= 1e-6 * lengths).any()) or bool((lengths == 0).any()):
        raise MLIPLabError("cells must be finite with three independent lattice vectors (non-zero volume); "
                           "give a non-zero vector for a non-periodic axis too")
    pbc = torch.ones(3, dtype=torch.bool, device=device) if pbc is None else torch.as_tensor(pbc, device=device)
    if pbc.shape not in ((3,), (batch, 3)):
        raise MLIPLabError(f"pbc must be (3,) or (B, 3) = ({batch}, 3) flags, got {tuple(pbc.shape)}")
    return cells, pbc.bool().expand(batch, 3).clone()


def state_from_atoms(atoms_list, temperatures=300.0, seed: int | None = 0, device=None, dtype=torch.float32) -> MDState:
    """A state from a list of ``ase.Atoms`` (different molecules allowed; padded to the largest).

    Uses their masses, cells and pbc, and their velocities when any are set (ASE units converted to Å/fs).
    Malformed input raises ``MLIPLabError`` as in :func:`make_state`.
    """
    from ase import Atoms
    from ase import units as ase_units

    atoms_list = list(atoms_list)
    if not atoms_list:
        raise MLIPLabError("give at least one ase.Atoms")
    if not all(isinstance(atoms, Atoms) for atoms in atoms_list):
        raise MLIPLabError("state_from_atoms needs a list of ase.Atoms; use make_state for plain arrays")
    species = pad_ragged([atoms.numbers for atoms in atoms_list], dtype=np.int64)
    positions = pad_ragged([atoms.positions for atoms in atoms_list], dtype=np.float64)
    masses = pad_ragged([atoms.get_masses() for atoms in atoms_list], dtype=np.float64)
    velocities = pad_ragged([atoms.get_velocities() * ase_units.fs for atoms in atoms_list], dtype=np.float64)
    cells = pbc = None
    if any(atoms.pbc.any() for atoms in atoms_list):
        cells = np.stack([np.asarray(atoms.cell) for atoms in atoms_list])
        pbc = np.stack([atoms.pbc for atoms in atoms_list])
    given = velocities if np.abs(velocities).max(initial=0.0) > 0 else None
    return make_state(species, positions, temperatures, masses=masses, cells=cells, pbc=pbc, velocities=given,
                      seed=seed, device=device, dtype=dtype)


def degrees_of_freedom(species: torch.Tensor) -> torch.Tensor:
    """(B, N) -> (B,) 3N - 3: the centre-of-mass motion is removed at the start and never comes back."""
    return 3 * (species > 0).sum(1) - 3


def kinetic_energy(masses: torch.Tensor, velocities: torch.Tensor) -> torch.Tensor:
    """masses (B, N) amu, velocities (B, N, 3) Å/fs -> (B,) eV."""
    return 0.5 * AMU_A2_PER_FS2_IN_EV * (masses[..., None] * velocities**2).sum((1, 2))


def temperature(state: MDState) -> torch.Tensor:
    """(B,) instantaneous kinetic temperature 2 K / (f k_B) in K, with f = 3N - 3."""
    dof = degrees_of_freedom(state.species).to(state.velocities.dtype)
    return 2.0 * kinetic_energy(state.masses, state.velocities) / (dof * BOLTZMANN_EV_PER_K)


def remove_com_velocity(masses: torch.Tensor, velocities: torch.Tensor) -> torch.Tensor:
    """Subtract each replica's centre-of-mass velocity sum(m v) / sum(m); padding stays at zero. (B, N, 3)."""
    momentum = (masses[..., None] * velocities).sum(1, keepdim=True)
    com = momentum / masses.sum(1)[:, None, None]
    return torch.where(masses[..., None] > 0, velocities - com, 0.0)


def maxwell_boltzmann_velocities(masses: torch.Tensor, temperatures: torch.Tensor,
                                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Velocities (B, N, 3) Å/fs with components ~ N(0, k_B T / m), centre-of-mass motion removed, zero on padding.

    masses: (B, N) amu (0 = padding); temperatures: (B,) K.
    """
    variance = BOLTZMANN_EV_PER_K * temperatures[:, None] / (masses.clamp(min=1e-30) * AMU_A2_PER_FS2_IN_EV)
    noise = torch.randn(masses.shape + (3,), generator=generator, dtype=masses.dtype, device=masses.device)
    return remove_com_velocity(masses, noise * variance.sqrt()[..., None])


def wrap_positions(positions: torch.Tensor, cells: torch.Tensor | None, pbc: torch.Tensor | None) -> torch.Tensor:
    """Map positions (B, N, 3) into the cell along its periodic axes (fractional coordinates in [0, 1)).

    cells: (B, 3, 3) rows are lattice vectors, pbc: (B, 3); None leaves positions unchanged (molecules).
    """
    if cells is None:
        return positions
    fractional = torch.linalg.solve(cells.transpose(1, 2), positions.transpose(1, 2)).transpose(1, 2)
    wrapped = torch.where(pbc[:, None, :], fractional - torch.floor(fractional), fractional)
    return wrapped @ cells
