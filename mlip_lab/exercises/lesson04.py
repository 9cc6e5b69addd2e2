"""Exercises of notebook 04 (molecular dynamics): the kinetic temperature, the largest stable time step, and
converting a vibrational period to a wavenumber."""

from __future__ import annotations

import math

import numpy as np
import torch

from mlip_lab.exercises.checking import CheckResult, student_tensor
from mlip_lab.md.spectrum import PER_FS_IN_WAVENUMBER
from mlip_lab.md.stability import TimestepScan, largest_stable_timestep
from mlip_lab.md import AMU_A2_PER_FS2_IN_EV, degrees_of_freedom, make_state, temperature

_SPECIES = torch.tensor([[8, 1, 1, 0], [6, 8, 1, 1], [7, 1, 1, 1]])
_POSITIONS = torch.tensor([
    [[0, 0, 0.117], [0, 0.757, -0.469], [0, -0.757, -0.469], [0, 0, 0]],
    [[0, 0, -0.53], [0, 0, 0.67], [0, 0.94, -1.12], [0, -0.94, -1.12]],
    [[0, 0, 0.11], [0, 0.94, -0.26], [0.81, -0.47, -0.26], [-0.81, -0.47, -0.26]],
], dtype=torch.float64)


def check_temperature(student_fn) -> CheckResult:
    """``student_fn(species, masses, velocities)`` must return each replica's kinetic temperature in K:
    T = 2 E_kin / (f k_B) with f = 3N - 3 (the centre-of-mass motion is removed) and E_kin = sum m v^2 / 2.
    species (B, N) with 0 = padding; masses (B, N) amu; velocities (B, N, 3) Å/fs."""
    state = make_state(_SPECIES, _POSITIONS, temperatures=torch.tensor([250.0, 300.0, 700.0]), dtype=torch.float64,
                       seed=7)
    got, error = student_tensor(student_fn, state.species.clone(), state.masses.clone(), state.velocities.clone(),
                                dtype=torch.float64)
    if error is not None:
        return error
    want = temperature(state)
    if got.shape != want.shape:
        return CheckResult(False, f"return one temperature per replica, shape {tuple(want.shape)}, got {tuple(got.shape)}")
    if torch.allclose(got, want, rtol=1e-6):
        return CheckResult(True, "correct: 3N - 3 degrees of freedom, since the molecules do not move as a whole")
    dof = degrees_of_freedom(state.species).to(torch.float64)
    ratio = got / want
    if torch.allclose(ratio, (dof) / (dof + 3), rtol=1e-6):
        return CheckResult(False, "you divided by 3N: the centre-of-mass motion was removed, so there are 3N - 3 "
                                  "degrees of freedom (padding atoms count for none)")
    if torch.allclose(ratio, torch.full_like(ratio, 1.0 / AMU_A2_PER_FS2_IN_EV), rtol=1e-6):
        return CheckResult(False, "units: m v^2 is in amu Å²/fs²; multiply by AMU_A2_PER_FS2_IN_EV to get eV")
    if torch.allclose(ratio, torch.full_like(ratio, 2.0), rtol=1e-6):
        return CheckResult(False, "the kinetic energy is m v^2 / 2, not m v^2")
    if torch.allclose(ratio, torch.full_like(ratio, 0.5), rtol=1e-6):
        return CheckResult(False, "T = 2 E_kin / (f k_B): you are missing the factor 2")
    return CheckResult(False, f"not yet: expected {want.numpy().round(1)} K, got {got.numpy().round(1)} K")


def check_largest_stable_timestep(answer, scan: TimestepScan, max_drift: float) -> CheckResult:
    """``answer`` (fs) must be the largest scanned time step with no blow-up and |drift| <= ``max_drift``."""
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"give a time step in fs, got {answer!r}")
    want = largest_stable_timestep(scan, max_drift)
    if want is None:
        return CheckResult(False, "no scanned time step is stable under this threshold; scan smaller ones first")
    if math.isclose(answer, want, rel_tol=1e-9):
        return CheckResult(True, f"correct: {want:g} fs. Production runs stay a bit below the limit (the fastest "
                                 "vibration, an X-H stretch of ~10 fs period, needs ~10-20 steps per period)")
    index = np.flatnonzero(np.isclose(scan.timesteps, answer))
    if index.size == 0:
        return CheckResult(False, f"pick one of the scanned time steps {scan.timesteps.tolist()} fs")
    k = int(index[0])
    if scan.blown_up[k] > 0:
        return CheckResult(False, f"at {answer:g} fs {int(scan.blown_up[k])} replica(s) blew up: not stable")
    if scan.drift[k] > max_drift:
        return CheckResult(False, f"at {answer:g} fs the drift {scan.drift[k]:.2g} eV/atom/ps exceeds {max_drift:g}")
    return CheckResult(False, f"{answer:g} fs is stable, but a larger scanned time step is stable too")


def check_wavenumber(period_fs: float, answer) -> CheckResult:
    """``answer`` must be the wavenumber (cm^-1) of a vibration with period ``period_fs``: 1 / (c T)."""
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"give a number in cm^-1, got {answer!r}")
    want = PER_FS_IN_WAVENUMBER / period_fs
    if math.isclose(answer, want, rel_tol=2e-3):
        return CheckResult(True, f"correct: a {period_fs:g} fs period is {want:.0f} cm^-1")
    if math.isclose(answer, 2 * math.pi * want, rel_tol=2e-3):
        return CheckResult(False, "that is the angular frequency 2 pi / T; a wavenumber uses the frequency 1 / T")
    if math.isclose(answer, want / 100, rel_tol=2e-3) or math.isclose(answer, want * 100, rel_tol=2e-3):
        return CheckResult(False, "off by 100: the speed of light is 2.998e10 cm/s (not m/s)")
    return CheckResult(False, "not yet: wavenumber = 1 / (c T), with T in seconds and c in cm/s")
