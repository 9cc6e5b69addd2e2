"""Notebook 04's helpers: the time-step scan, speed measurement, exercise checkers (they must reject wrong
answers) and the MD widgets (the numbers they draw come from the library)."""

import math

import numpy as np
import pytest
import torch

from mlip_lab.data import load, to_ase
from mlip_lab.exercises.lesson04 import check_largest_stable_timestep, check_temperature, check_wavenumber
from mlip_lab.md import (
    FrameRecorder, HarmonicBonds, TimestepScan, energy_change_per_atom, largest_stable_timestep, measure_speed,
    run_md, scan_timesteps, state_from_atoms, velocity_verlet,
)
from mlip_lab.md.state import AMU_A2_PER_FS2_IN_EV
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K


@pytest.fixture(scope="module")
def springs_state():
    state = state_from_atoms(to_ase(load("organics_minima"))[:3], temperatures=300.0, dtype=torch.float64)
    return HarmonicBonds(state.species, state.positions, k=30.0), state


def test_scan_finds_drift_growing_with_the_time_step_and_blow_ups_beyond_the_limit(springs_state):
    springs, state = springs_state
    scan = scan_timesteps(springs, state, [0.25, 1.0, 8.0], duration_fs=100.0, progress=False)
    assert scan.blown_up.tolist()[:2] == [0, 0] and scan.blown_up[2] == 3  # 8 fs >> 2 / omega_max
    assert scan.fluctuation[0] < scan.fluctuation[1]  # Verlet's energy error grows as dt^2
    assert largest_stable_timestep(scan, max_drift=1.0) == 1.0
    assert largest_stable_timestep(scan, max_drift=0.0) is None


def test_measure_speed_counts_real_atom_steps(springs_state):
    springs, state = springs_state
    assert measure_speed(state, velocity_verlet(springs, 0.5), n_steps=5) > 0


def test_energy_change_per_atom():
    change = energy_change_per_atom([[1.0, 2.0], [1.3, 1.0]], [3, 2])
    assert np.allclose(change, [[0.0, 0.0], [0.1, -0.5]])


def test_temperature_checker_accepts_the_formula_and_rejects_common_mistakes():
    def kinetic(masses, velocities):
        return 0.5 * AMU_A2_PER_FS2_IN_EV * (masses[..., None] * velocities**2).sum((1, 2))

    def right(species, masses, velocities):
        return 2 * kinetic(masses, velocities) / ((3 * (species > 0).sum(1) - 3) * BOLTZMANN_EV_PER_K)

    def three_n(species, masses, velocities):
        return 2 * kinetic(masses, velocities) / (3 * (species > 0).sum(1) * BOLTZMANN_EV_PER_K)

    def no_units(species, masses, velocities):
        return right(species, masses, velocities) / AMU_A2_PER_FS2_IN_EV

    assert check_temperature(right)
    assert "3N - 3" in check_temperature(three_n).message and not check_temperature(three_n)
    assert "units" in check_temperature(no_units).message
    assert not check_temperature(lambda *a: None)
    assert not check_temperature(lambda s, m, v: torch.zeros(2))


def test_timestep_checker():
    scan = TimestepScan(np.array([0.25, 0.5, 1.0, 2.0]), np.array([1e-5, 1e-4, 5e-3, np.nan]), np.zeros(4),
                        np.array([0, 0, 0, 4]), 4)
    assert check_largest_stable_timestep(0.5, scan, max_drift=1e-3)
    assert "exceeds" in check_largest_stable_timestep(1.0, scan, 1e-3).message
    assert "blew up" in check_largest_stable_timestep(2.0, scan, 1e-3).message
    assert "larger" in check_largest_stable_timestep(0.25, scan, 1e-3).message
    assert not check_largest_stable_timestep(0.7, scan, 1e-3)
    assert not check_largest_stable_timestep("fast", scan, 1e-3)


def test_wavenumber_checker():
    want = 1.0 / (9.0e-15 * 2.99792458e10)  # a 9 fs period, ~3706 cm^-1 (an O-H stretch)
    assert check_wavenumber(9.0, want)
    assert "angular" in check_wavenumber(9.0, 2 * math.pi * want).message
    assert "100" in check_wavenumber(9.0, want / 100).message
    assert not check_wavenumber(9.0, 1000.0) and not check_wavenumber(9.0, None)


def test_md_widgets_draw_library_numbers(springs_state):
    viz = pytest.importorskip("mlip_lab.viz")
    springs, state = springs_state
    monitor = viz.MDMonitor(every=5, n_show=2)
    frames = FrameRecorder(every=5)
    run_md(state, velocity_verlet(springs, 0.5), 20, [monitor, frames], progress=False)
    data = monitor.thermo_log.arrays()
    assert len(monitor.energy_figure.data) == 2 and len(monitor.temperature_figure.data) == 3
    assert np.allclose(monitor.energy_figure.data[1].y, 1000 * energy_change_per_atom(data["total"], monitor.thermo_log.n_atoms)[:, 2])
    assert np.allclose(monitor.temperature_figure.data[-1].y, data["temperature"].mean(1))
    assert viz.shown_replicas(100, 4) == [0, 33, 66, 99] and viz.shown_replicas(2, 8) == [0, 1]
    player = viz.trajectory_view(frames.atoms(replica=1))
    assert player.view.max_frame == player.slider.max == len(frames.times) - 1
    scan = TimestepScan(np.array([0.5, 4.0]), np.array([1e-5, np.nan]), np.zeros(2), np.array([0, 3]), 3)
    assert len(viz.timestep_scan_figure(scan, max_drift=1e-3).data) == 2
    assert len(viz.spectrum_figure([0, 1, 2], [0, 1, 0], harmonic=[1.0, 1.5]).data) == 3
