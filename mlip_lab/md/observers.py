"""Observers record an MD run every ``every`` steps: ``observer(state)`` is called by
:func:`~mlip_lab.md.run.run_md` after init and after every ``every``-th step.

- :class:`ThermoLog`: potential, kinetic and total energy and temperature per replica (and energy drift).
- :class:`FrameRecorder`: positions and velocities in memory (for spectra and trajectory views).
- :class:`TrajectoryWriter`: frames of one replica to an ASE trajectory (``.traj``) or extended XYZ file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.md.state import MDState, kinetic_energy, temperature


def _check_every(every: int) -> int:
    if int(every) != every or every < 1:
        raise MLIPLabError(f"every must be a positive whole number of steps, got {every}")
    return int(every)


def thermo(state: MDState) -> dict[str, torch.Tensor]:
    """Per-replica (B,) tensors: potential, kinetic and total energy (eV) and temperature (K)."""
    kinetic = kinetic_energy(state.masses, state.velocities)
    return {"potential": state.energies, "kinetic": kinetic, "total": state.energies + kinetic,
            "temperature": temperature(state)}


def energy_drift(times_fs, total_energies, n_atoms) -> np.ndarray:
    """Least-squares slope of the total energy per atom, eV / atom / ps, per replica.

    times_fs: (T,); total_energies: (T, B) eV; n_atoms: (B,). Needs T >= 2.
    """
    t = np.asarray(times_fs, dtype=float) / 1000.0
    e = np.asarray(total_energies, dtype=float)
    if t.ndim != 1 or e.ndim != 2 or e.shape[0] != t.shape[0] or t.shape[0] < 2:
        raise MLIPLabError(f"need times (T,) and energies (T, B) with T >= 2, got {t.shape} and {e.shape}")
    centred = t - t.mean()
    slope = (centred[:, None] * (e - e.mean(0))).sum(0) / (centred**2).sum()
    return slope / np.asarray(n_atoms, dtype=float)


def energy_change_per_atom(total_energies, n_atoms) -> np.ndarray:
    """(T, B) total energy minus its first value, per atom, eV / atom. total_energies: (T, B) eV; n_atoms: (B,)."""
    e = np.asarray(total_energies, dtype=float)
    return (e - e[:1]) / np.asarray(n_atoms, dtype=float)


class ThermoLog:
    """Energies and temperatures of every replica every ``every`` steps, kept on the CPU as float64."""

    def __init__(self, every: int = 10):
        self.every = _check_every(every)
        self.steps: list[int] = []
        self.times: list[float] = []
        self.records: dict[str, list[np.ndarray]] = {}
        self.n_atoms: np.ndarray | None = None

    def __call__(self, state: MDState) -> None:
        self.steps.append(state.step)
        self.times.append(state.time)
        for name, values in thermo(state).items():
            self.records.setdefault(name, []).append(values.detach().double().cpu().numpy())
        self.n_atoms = state.n_atoms.cpu().numpy()

    def arrays(self) -> dict[str, np.ndarray]:
        """{"step": (T,), "time": (T,) fs, "potential"/"kinetic"/"total": (T, B) eV, "temperature": (T, B) K}."""
        out = {"step": np.asarray(self.steps), "time": np.asarray(self.times, dtype=float)}
        out.update({name: np.stack(values) for name, values in self.records.items()})
        return out

    def drift(self) -> np.ndarray:
        """(B,) total-energy drift, eV / atom / ps (see :func:`energy_drift`)."""
        data = self.arrays()
        return energy_drift(data["time"], data["total"], self.n_atoms)


class FrameRecorder:
    """Positions and (optionally) velocities of all replicas every ``every`` steps, on the CPU.

    After the run: ``positions`` and ``velocities`` are (T, B, N, 3) tensors, ``times`` (T,) fs.
    """

    def __init__(self, every: int = 1, velocities: bool = True):
        self.every = _check_every(every)
        self.keep_velocities = velocities
        self._positions: list[torch.Tensor] = []
        self._velocities: list[torch.Tensor] = []
        self.times: list[float] = []
        self.species: torch.Tensor | None = None
        self.masses: torch.Tensor | None = None

    def __call__(self, state: MDState) -> None:
        self._positions.append(state.positions.detach().cpu())
        if self.keep_velocities:
            self._velocities.append(state.velocities.detach().cpu())
        self.times.append(state.time)
        self.species, self.masses = state.species.cpu(), state.masses.cpu()

    @property
    def positions(self) -> torch.Tensor:
        return torch.stack(self._positions)

    @property
    def velocities(self) -> torch.Tensor:
        if not self.keep_velocities:
            raise MLIPLabError("this recorder was made with velocities=False")
        return torch.stack(self._velocities)

    def atoms(self, replica: int = 0) -> list:
        """The recorded frames of one replica as a list of ``ase.Atoms`` (padding removed)."""
        return [_atoms(self.species[replica], p[replica]) for p in self._positions]


def _atoms(species: torch.Tensor, positions: torch.Tensor, cell=None, pbc=None):
    from ase import Atoms

    real = species > 0
    atoms = Atoms(numbers=species[real].numpy(), positions=positions[real].double().numpy())
    if cell is not None:
        atoms.cell, atoms.pbc = cell.double().numpy(), pbc.numpy()
    return atoms


class TrajectoryWriter:
    """Writes frames of replica ``replica`` to ``path`` every ``every`` steps, with energy, forces and velocities.

    The suffix picks the format: ``.traj`` (ASE trajectory) or ``.xyz`` / ``.extxyz`` (extended XYZ). The file
    is closed when the run ends (or on :meth:`close`).
    """

    def __init__(self, path, replica: int = 0, every: int = 10):
        from ase.io import Trajectory

        self.path, self.replica, self.every = Path(path), int(replica), _check_every(every)
        suffix = self.path.suffix.lower()
        if suffix not in (".traj", ".xyz", ".extxyz"):
            raise MLIPLabError(f"trajectory files must end in .traj, .xyz or .extxyz, got {self.path.name}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = Trajectory(str(self.path), "w") if suffix == ".traj" else open(self.path, "w")
        self.frames = 0

    def __call__(self, state: MDState) -> None:
        from ase import units as ase_units
        from ase.calculators.singlepoint import SinglePointCalculator
        from ase.io import write

        if not 0 <= self.replica < state.species.shape[0]:
            raise MLIPLabError(f"replica {self.replica} does not exist in a batch of {state.species.shape[0]}")
        b = self.replica
        real = state.real[b].cpu()
        cell = None if state.cells is None else state.cells[b].cpu()
        pbc = None if state.pbc is None else state.pbc[b].cpu()
        atoms = _atoms(state.species[b].cpu(), state.positions[b].detach().cpu(), cell, pbc)
        atoms.set_masses(state.masses[b][real.to(state.masses.device)].double().cpu().numpy())
        atoms.set_velocities(state.velocities[b].detach().cpu()[real].double().numpy() / ase_units.fs)
        atoms.calc = SinglePointCalculator(atoms, energy=float(state.energies[b]),
                                           forces=state.forces[b].detach().cpu()[real].double().numpy())
        if self.path.suffix.lower() == ".traj":
            self._file.write(atoms)
        else:
            write(self._file, atoms, format="extxyz")
            self._file.flush()
        self.frames += 1

    def close(self) -> None:
        self._file.close()
