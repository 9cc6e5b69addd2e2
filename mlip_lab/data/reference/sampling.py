"""Configuration sampling around stationary points: normal-mode sampling and short MD runs."""

from __future__ import annotations

import numpy as np

from mlip_lab.physics.harmonic import harmonic_analysis
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K, EIGENVALUE_TO_WAVENUMBER

MIN_PAIR_DISTANCE = 0.6  # Å: samples with closer atoms are redrawn
SOFT_MODE_FLOOR_CM = 150.0  # soft modes sampled as if this stiff, so weak complexes do not fly apart


def min_pair_distance(positions) -> float:
    p = np.asarray(positions)
    d = np.linalg.norm(p[:, None] - p[None, :], axis=-1)
    return float(d[np.triu_indices(len(p), 1)].min())


def normal_mode_samples(positions, masses, hessian, temperature_k: float, count: int, rng: np.random.Generator):
    """Classical harmonic (Boltzmann) samples around a stationary point.

    Each normal mode k gets a mass-weighted displacement q_k ~ N(0, k_B T / |lambda_k|); imaginary modes
    (a transition state's reaction mode) use |lambda_k|, and modes softer than ``SOFT_MODE_FLOOR_CM``
    use that floor. positions (N, 3) Å, masses (N,) amu, hessian (3N, 3N) eV/Å².
    Returns (count, N, 3) Å.
    """
    analysis = harmonic_analysis(hessian, positions, masses)
    floor = (SOFT_MODE_FLOOR_CM / EIGENVALUE_TO_WAVENUMBER) ** 2
    stiffness = np.maximum(np.abs(analysis.eigenvalues.numpy()), floor)
    modes = analysis.modes_mass_weighted.numpy()  # (K, 3N)
    inv_sqrt_m = 1.0 / np.sqrt(np.repeat(np.asarray(masses, dtype=float), 3))
    sigma = np.sqrt(BOLTZMANN_EV_PER_K * temperature_k / stiffness)
    samples = []
    while len(samples) < count:
        q = rng.normal(size=len(sigma)) * sigma
        candidate = np.asarray(positions) + ((q @ modes) * inv_sqrt_m).reshape(-1, 3)
        if min_pair_distance(candidate) >= MIN_PAIR_DISTANCE:
            samples.append(candidate)
    return np.array(samples)


def tight_binding_md_samples(
    symbols, positions, temperature_k: float, count: int, rng: np.random.Generator,
    timestep_fs: float = 0.5, equilibration_steps: int = 200, stride: int = 25,
):
    """Snapshots of a Langevin MD run driven by GFN2-xTB (tblite): cheap sampling, labelled later by DFT.

    Returns (count, N, 3) Å, one snapshot every ``stride`` steps after equilibration.
    """
    from ase import Atoms, units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
    from tblite.ase import TBLite

    atoms = Atoms(symbols, positions=positions)
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_k, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_k, friction=0.02 / units.fs, fixcm=False, rng=rng)
    dyn.run(equilibration_steps)
    frames = []
    for _ in range(count):
        dyn.run(stride)
        frames.append(atoms.positions.copy())
    return np.array(frames)
