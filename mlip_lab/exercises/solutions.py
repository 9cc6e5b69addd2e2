"""The instructor's answer key: a reference solution for every exercise of the notebooks.

Each solution is written the way a student would write it (plain torch / numpy, no library shortcut that hides
the idea), with the same signature as the blank function its exercise cell leaves to fill in. Answers that
depend on a run (a scan, a results table) are functions of that run's data, never numbers copied from one run.
:func:`mlip_lab.exercises.exercise` swaps them in when ``MLIP_LAB_SOLUTIONS`` is set.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.exercises.lesson05 import SOLUTIONS_05
from mlip_lab.exercises.lesson06 import SOLUTIONS_06
from mlip_lab.exercises.lesson07 import SOLUTIONS_07
from mlip_lab.md import AMU_A2_PER_FS2_IN_EV
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K, EV_KCAL_PER_MOL, SPEED_OF_LIGHT_CM_PER_S
from mlip_lab.settings import solutions_mode

FS_IN_S = 1e-15


# Notebook 01: first MLIP.

def cutoff(r, cutoff):
    """phi(r) = cos^2(pi r / (2 r_c)) for r <= r_c, else 0; r any shape (Å)."""
    return torch.where(r <= cutoff, torch.cos(math.pi * r / (2 * cutoff)) ** 2, torch.zeros_like(r))


def sensitivity(r, inverse_mu, sigma, cutoff_radius):
    """s(r) = exp(-0.5 sigma^2 (1/r - 1/mu)^2) phi(r); r any shape (Å), inverse_mu 1/Å, sigma Å."""
    return torch.exp(-0.5 * sigma**2 * (1 / r - inverse_mu) ** 2) * cutoff(r, cutoff_radius)


def forces(model, species, positions):
    """F = -dE/dR (B, N, 3) eV/Å of the model's total energy, by autograd."""
    positions = positions.detach().clone().requires_grad_(True)
    energy = model(species, positions).energy
    return -torch.autograd.grad(energy.sum(), positions)[0]


def kcal_per_mol(value_ev):
    """``value_ev`` (eV, or eV/Å) in kcal/mol (or kcal/mol/Å)."""
    return value_ev * EV_KCAL_PER_MOL


# Notebook 02: curvature and probes.

def hvp(model, species, positions, vectors):
    """H v (B, N, 3) eV/Å² of the model energy for vectors (B, N, 3), by double backward."""
    positions = positions.detach().clone().requires_grad_(True)
    energy = model(species, positions).energy
    (gradient,) = torch.autograd.grad(energy.sum(), positions, create_graph=True)
    return torch.autograd.grad((gradient * vectors).sum(), positions)[0]


def rademacher(n, generator):
    """One probe (n,): independent fair signs drawn with ``generator``, divided by sqrt(n) for unit length."""
    signs = torch.randint(0, 2, (n,), generator=generator, dtype=torch.float64) * 2 - 1
    return signs / math.sqrt(n)


def hutchinson(probes, products):
    """tr(A) estimated from unit probes (S, n) and their products A v (S, n): n times the mean of v^T (A v)."""
    return probes.shape[1] * (probes * products).sum(dim=1).mean()


# Notebook 03: projected Hessian learning.

def hvp_loss(predicted, hessians, probes, mask):
    """RMSE (eV/Å²) of the HVP errors over the real atoms' components of a padded batch, pooled: predicted
    (B, N, 3) H v, hessians (B, 3N, 3N) reference, probes (B, N, 3), mask (B, N) True for real atoms."""
    b, n, _ = probes.shape
    reference = (hessians @ probes.reshape(b, 3 * n, 1)).reshape(b, n, 3)
    errors = (predicted - reference)[mask]  # (K, 3): padding rows dropped
    return torch.sqrt((errors**2).mean())


def hessian_mae(test, predicted):
    """Hessian element MAE (kcal/mol/Å²) of predicted Hessians (M, 3N, 3N) eV/Å² against ``test.hessians``,
    over each configuration's real 3n x 3n block only (padding left out)."""
    errors = [np.abs(predicted[i, : 3 * n, : 3 * n] - test.hessians[i, : 3 * n, : 3 * n]).ravel()
              for i, n in enumerate(test.n_atoms)]
    return float(np.concatenate(errors).mean()) * EV_KCAL_PER_MOL


def one_hot_variance(error):
    """Variance of n ||A e_k||^2 over k uniform in 0..n-1, for a square matrix A = ``error`` (n, n): with c_k the
    squared column norms, E[X] = sum c_k and E[X^2] = n sum c_k^2."""
    n = error.shape[0]
    columns = (error**2).sum(dim=0)
    return n * (columns**2).sum() - columns.sum() ** 2


# Notebook 04: molecular dynamics.

def temperature(species, masses, velocities):
    """Kinetic temperature (B,) K: 2 E_kin / (f k_B), E_kin = sum m v^2 / 2, f = 3n - 3 real degrees of freedom
    (the centre-of-mass motion is removed). species (B, N), 0 = padding; masses (B, N) amu; velocities Å/fs."""
    real = species > 0
    kinetic = 0.5 * (masses[..., None] * velocities**2 * real[..., None]).sum(dim=(1, 2)) * AMU_A2_PER_FS2_IN_EV
    degrees_of_freedom = 3 * real.sum(dim=1) - 3
    return 2 * kinetic / (degrees_of_freedom * BOLTZMANN_EV_PER_K)


def largest_stable_timestep(scan, max_drift):
    """The largest scanned time step (fs) with no blown-up replica and drift <= ``max_drift`` eV/atom/ps, or None
    when no scanned step is stable."""
    stable = [dt for dt, blown, drift in zip(scan.timesteps, scan.blown_up, scan.drift)
              if blown == 0 and drift <= max_drift]
    return float(max(stable)) if stable else None


def wavenumber(period_fs):
    """Wavenumber (cm^-1) of a vibration with period ``period_fs``: 1 / (c T), c in cm/s, T in s."""
    return 1.0 / (SPEED_OF_LIGHT_CM_PER_S * period_fs * FS_IN_S)


SOLUTIONS = {
    "01.cutoff": cutoff,
    "01.sensitivity": sensitivity,
    "01.forces": forces,
    "01.kcal_per_mol": kcal_per_mol,
    "02.hvp": hvp,
    "02.rademacher": rademacher,
    "02.hutchinson": hutchinson,
    "03.hvp_loss": hvp_loss,
    "03.hessian_mae": hessian_mae,
    "03.one_hot_variance": one_hot_variance,
    "04.temperature": temperature,
    "04.largest_stable_timestep": largest_stable_timestep,
    "04.wavenumber": wavenumber,
    **SOLUTIONS_05,
    **SOLUTIONS_06,
    **SOLUTIONS_07,
}


def exercise(key: str):
    """Decorator for the function an exercise cell leaves to fill in: returns the student's function unchanged,
    or the reference solution ``SOLUTIONS[key]`` in instructor mode (``MLIP_LAB_SOLUTIONS=1``; the switch is
    read when the cell runs, so re-run the exercise cells after changing it).

    ``key`` is "<notebook number>.<exercise name>", e.g. "01.cutoff"; an unknown key raises MLIPLabError.
    """
    if key not in SOLUTIONS:
        raise MLIPLabError(f"no exercise {key!r}; known exercises: {', '.join(SOLUTIONS)}")

    def choose(student_fn):
        return SOLUTIONS[key] if solutions_mode() else student_fn

    return choose
