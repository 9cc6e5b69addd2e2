"""Coarse-grained Langevin MD of any model that follows the model contract, and the trajectory -> RDF pipeline.

A CG dataset (see :mod:`mlip_lab.cg.mapping`) stores bead-type codes in ``species`` and the bead masses in
``metadata["bead_types"]``; the MD runs in its periodic cells at the bead masses, so the kinetic temperature is the
temperature of the beads' centre-of-mass motion, as in the atomistic reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from mlip_lab.cg.structure import radial_distribution
from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.md import (
    BlowUp, BlowUpLimits, FrameRecorder, ModelForceField, langevin, make_state, run_md, wrap_positions,
)
from mlip_lab.models import check_model, device_and_dtype

FS_PER_PS = 1000.0
SECONDS_PER_HOUR = 3600.0


def bead_masses(dataset: Dataset) -> np.ndarray:
    """(M, N) bead masses in amu (0 on padding) from ``dataset.metadata["bead_types"]`` ({code: {"mass": amu}})."""
    types = dataset.metadata.get("bead_types")
    if not isinstance(types, dict) or not types:
        raise MLIPLabError(f"{dataset.name or 'the dataset'} has no metadata['bead_types'] (bead code -> name and mass); "
                           "coarse-grained data made by mlip_lab.cg carry it")
    lookup = np.zeros(dataset.species.max() + 1)
    for code in np.unique(dataset.species[dataset.species > 0]):
        entry = types.get(str(int(code)))
        mass = entry.get("mass") if isinstance(entry, dict) else None
        if not isinstance(mass, (int, float)) or not mass > 0:
            raise MLIPLabError(f"bead type {int(code)} has no positive 'mass' in metadata['bead_types'] ({types!r})")
        lookup[code] = mass
    return lookup[dataset.species]


@dataclass
class CGTrajectory:
    """Frames of a CG MD run: ``positions`` (T, R, N, 3) Å (wrapped into the cell), ``cells`` (R, 3, 3) Å,
    ``species`` (R, N) bead codes, ``masses`` (R, N) amu, ``times`` (T,) fs of the recorded frames, the target
    ``temperature`` K, the simulated ``duration_fs`` of the run, its ``wall_seconds`` and any ``blow_ups`` (replicas
    frozen by the MD module's blow-up detection)."""

    positions: np.ndarray
    cells: np.ndarray
    species: np.ndarray
    masses: np.ndarray
    times: np.ndarray
    temperature: float
    duration_fs: float
    wall_seconds: float
    blow_ups: list[BlowUp] = field(default_factory=list)

    @property
    def simulated_ps_per_hour(self) -> float:
        """Simulated time of one replica per wall-clock hour (ps/h), the unit CG speed-ups are quoted in."""
        return self.duration_fs / FS_PER_PS / (self.wall_seconds / SECONDS_PER_HOUR)

    def rdf(self, r_max: float, n_bins: int = 100, skip_fs: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(r centres Å, g(r)) over all replicas and the frames after ``skip_fs`` (equilibration)."""
        keep = self.times >= self.times[0] + skip_fs
        if not keep.any():
            raise MLIPLabError(f"skip_fs={skip_fs} fs leaves no frames (the run spans {self.times[-1] - self.times[0]:g} fs)")
        frames = self.positions[keep].reshape(-1, *self.positions.shape[2:])
        cells = np.broadcast_to(self.cells, (int(keep.sum()), *self.cells.shape)).reshape(-1, 3, 3)
        return radial_distribution(frames, cells, r_max, n_bins)


def run_cg_md(model, frames: Dataset, temperature: float, n_steps: int, *, start: int | list[int] = 0,
              timestep: float = 2.0, friction: float = 0.01, record_every: int = 50, seed: int = 0,
              progress: bool = True) -> CGTrajectory:
    """Langevin (BAOAB) MD of ``model`` started from CG frames ``start`` (one replica per index) of ``frames``.

    temperature: K; timestep: fs (beads are heavy and soft: 2 fs is safe for methanol beads); friction: 1/fs;
    record_every: steps between saved frames. The run uses the frames' periodic cells, the bead masses of
    ``metadata["bead_types"]`` and the model's device and dtype. Blow-ups freeze a replica and are reported
    (no nearest-neighbour check: in a liquid a bead may have no neighbour within a few Å).
    """
    check_model(model, "run_cg_md")
    if not isinstance(frames, Dataset):
        raise MLIPLabError(f"frames must be a mlip_lab.data.Dataset of CG frames, got {type(frames).__name__}")
    if frames.cells is None or frames.pbc is None or not frames.pbc.all():
        raise MLIPLabError("CG MD needs periodic frames (cells and pbc all True); map a periodic atomistic trajectory")
    if not (np.isfinite(temperature) and temperature > 0):
        raise MLIPLabError(f"temperature must be a positive number of K, got {temperature}")
    if int(record_every) != record_every or record_every < 1:
        raise MLIPLabError(f"record_every must be a whole number of steps >= 1, got {record_every}")
    indices = np.atleast_1d(np.asarray(start))
    if not np.issubdtype(indices.dtype, np.integer) or indices.min() < 0 or indices.max() >= len(frames):
        raise MLIPLabError(f"start must be frame indices in 0..{len(frames) - 1}, got {start!r}")
    chosen = frames.subset(indices)
    masses = bead_masses(chosen)
    device, dtype = device_and_dtype(model)
    cells, pbc = torch.as_tensor(chosen.cells), torch.as_tensor(chosen.pbc)
    positions = wrap_positions(torch.as_tensor(chosen.positions), cells, pbc)  # every recorded frame in the cell
    state = make_state(chosen.species, positions, temperature, masses=masses, cells=cells, pbc=pbc, seed=seed,
                       device=device, dtype=dtype)
    recorder = FrameRecorder(every=int(record_every), velocities=False)
    integrator = langevin(ModelForceField(model), timestep, friction=friction, seed=seed)
    limits = BlowUpLimits(max_neighbour_distance=None)
    started = time.perf_counter()
    result = run_md(state, integrator, n_steps, observers=[recorder], limits=limits, progress=progress)
    wall = time.perf_counter() - started
    return CGTrajectory(positions=recorder.positions.double().numpy(), cells=chosen.cells.copy(),
                        species=chosen.species.copy(), masses=masses, times=np.asarray(recorder.times, dtype=float),
                        temperature=float(temperature), duration_fs=int(n_steps) * float(timestep), wall_seconds=wall, blow_ups=list(result.blow_ups))
