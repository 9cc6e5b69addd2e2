"""Lesson 04's exercise checkers: they accept the right answer and reject the common mistakes."""

import math

import numpy as np
import torch

from mlip_lab.exercises.lesson04 import check_largest_stable_timestep, check_temperature, check_wavenumber
from mlip_lab.md import TimestepScan
from mlip_lab.md.state import AMU_A2_PER_FS2_IN_EV
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K


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

