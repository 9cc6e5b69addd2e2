"""Observers: thermodynamic log, energy drift, in-memory frames and trajectory files."""

import numpy as np
import pytest
import torch
from ase.io import read

from mlip_lab import MLIPLabError
from mlip_lab.data import load, to_ase
from mlip_lab.md import FrameRecorder, HarmonicBonds, ThermoLog, TrajectoryWriter, energy_drift, run_md, state_from_atoms, velocity_verlet


def test_energy_drift_is_the_least_squares_slope_per_atom_per_ps():
    times = np.arange(0.0, 2000.0, 10.0)  # fs
    energies = np.stack([1.0 + 0.006 * times / 1000.0, -3.0 - 0.002 * times / 1000.0], axis=1)
    energies[::2] += 1e-3  # zero-mean wiggle does not change the slope much
    drift = energy_drift(times, energies, [3, 2])
    assert drift == pytest.approx([0.002, -0.001], abs=2e-5)
    with pytest.raises(MLIPLabError):
        energy_drift([0.0], [[1.0]], [1])


def run(observers, steps=20):
    atoms = to_ase(load("organics_minima"))[:2]
    state = state_from_atoms(atoms, temperatures=300.0, dtype=torch.float64)
    run_md(state, velocity_verlet(HarmonicBonds(state.species, state.positions), 0.5), steps, observers, progress=False)
    return state


def test_thermo_log_and_frames_are_recorded_every_k_steps():
    log, frames = ThermoLog(every=5), FrameRecorder(every=10)
    state = run([log, frames])
    data = log.arrays()
    assert data["step"].tolist() == [0, 5, 10, 15, 20] and data["time"][-1] == pytest.approx(10.0)
    assert data["total"].shape == (5, 2)
    assert np.allclose(data["total"], data["potential"] + data["kinetic"])
    assert frames.positions.shape == (3,) + tuple(state.positions.shape)
    assert len(frames.atoms(replica=1)) == 3 and len(frames.atoms(replica=1)[0]) == int(state.n_atoms[1])


@pytest.mark.parametrize("suffix", [".traj", ".extxyz"])
def test_trajectory_files_hold_the_recorded_frames(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    frames, log = FrameRecorder(every=4, velocities=False), ThermoLog(every=4)
    run([TrajectoryWriter(path, replica=1, every=4), frames, log], steps=12)
    written = read(path, index=":")
    assert len(written) == 4
    for atoms, positions, energy in zip(written, frames.positions[:, 1], log.arrays()["potential"][:, 1]):
        assert np.allclose(atoms.positions, positions[: len(atoms)].numpy(), atol=1e-6)
        assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-6)


def test_trajectory_writer_rejects_unknown_formats(tmp_path):
    with pytest.raises(MLIPLabError, match="traj"):
        TrajectoryWriter(tmp_path / "run.pdb")
