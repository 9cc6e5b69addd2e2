"""Notebook 04's MD helpers: the time-step scan, speed measurement and energy change per atom."""

import numpy as np

from mlip_lab.md import energy_change_per_atom, largest_stable_timestep, measure_speed, scan_timesteps, velocity_verlet


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


