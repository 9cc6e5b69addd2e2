"""Geometry searches on a reference potential: minima, transition states (Sella) and the IRC.

Every function takes an ASE calculator plus a ``hessian`` callable ``atoms -> (3N, 3N) eV/Å²`` so the
same code runs on PySCF for the shipped data and on a cheap potential in tests.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
from ase import Atoms
from ase.symbols import symbols2numbers

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics import harmonic_analysis, masses_of

HessianFn = Callable[[Atoms], np.ndarray]


def count_imaginary(positions, symbols, hessian, threshold_cm: float = 50.0) -> int:
    """Number of imaginary frequencies larger in magnitude than ``threshold_cm`` (cm^-1)."""
    freqs = harmonic_analysis(hessian, positions, masses_of(symbols2numbers(symbols))).frequencies_cm.numpy()
    return int((freqs < -threshold_cm).sum())


def optimise_minimum(atoms: Atoms, calc, fmax: float = 0.005, steps: int = 300) -> Atoms:
    """Relax ``atoms`` to a minimum with Sella (order 0, internal coordinates). Returns a new Atoms."""
    from sella import Sella

    atoms = atoms.copy()
    atoms.calc = calc
    opt = Sella(atoms, order=0, internal=True, logfile=None)
    if not opt.run(fmax=fmax, steps=steps):
        raise MLIPLabError(f"minimum search for {atoms.get_chemical_formula()} did not converge in {steps} steps")
    return atoms


def find_transition_state(atoms: Atoms, calc, hessian: HessianFn, fmax: float = 0.005, steps: int = 300) -> Atoms:
    """Saddle-point search (Sella order 1) from a guess, seeded with the exact Hessian."""
    from sella import Sella

    atoms = atoms.copy()
    atoms.calc = calc
    opt = Sella(atoms, order=1, internal=True, logfile=None, hessian_function=hessian)
    if not opt.run(fmax=fmax, steps=steps):
        raise MLIPLabError(f"transition-state search for {atoms.get_chemical_formula()} did not converge")
    return atoms


def follow_irc(ts: Atoms, calc, hessian: HessianFn, direction: str, dx: float = 0.1, steps: int = 60) -> np.ndarray:
    """Positions along the intrinsic reaction coordinate from ``ts`` in one direction.

    Returns (K, N, 3) Å, ordered from the transition state downhill (the transition state excluded).
    dx is the step in mass-weighted coordinates (Å amu^1/2).
    """
    from sella import IRC

    atoms = ts.copy()
    atoms.calc = calc
    frames: list[np.ndarray] = []
    # keep_going: near the minimum the constrained inner loop may not meet its tolerance; the path is
    # still downhill there and the end point is relaxed to the minimum afterwards anyway.
    irc = IRC(atoms, logfile=None, dx=dx, eta=1e-4, gamma=0.0, irctol=0.02, keep_going=True, hessian_function=hessian)
    irc.attach(lambda: frames.append(atoms.positions.copy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        irc.run(fmax=0.03, steps=steps, direction=direction)
    unique = [f for i, f in enumerate(frames) if i == 0 or not np.allclose(f, frames[i - 1])]
    unique = [f for f in unique if not np.allclose(f, ts.positions)]
    if not unique:
        raise MLIPLabError(f"IRC ({direction}) made no step from the transition state")
    return np.array(unique)


def distance_signature(positions) -> np.ndarray:
    p = np.asarray(positions)
    return np.linalg.norm(p[:, None] - p[None, :], axis=-1)
