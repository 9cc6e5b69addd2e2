"""PySCF single points: energy, forces and (optionally) the analytic Hessian of one geometry.

The level of theory is fixed by :class:`QCSettings`; results are converted to eV, Å.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from mlip_lab.physics.units import (
    HARTREE_EV,
    HARTREE_PER_BOHR2_TO_EV_PER_ANGSTROM2,
    HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM,
)


@dataclass(frozen=True)
class QCSettings:
    """Level of theory and convergence thresholds for the reference labels."""

    xc: str = "wb97x-d3bj"
    basis: str = "6-31g*"
    conv_tol: float = 1e-10  # Hartree, SCF energy
    conv_tol_grad: float = 1e-6
    grid_level: int = 3
    max_cycle: int = 100



def _build_mf(symbols, positions, settings: QCSettings):
    from pyscf import dft, gto

    mol = gto.M(
        atom=[(s, tuple(p)) for s, p in zip(symbols, np.asarray(positions, dtype=float))],
        basis=settings.basis,
        unit="Angstrom",
        charge=0,
        spin=0,
        verbose=0,
    )
    mf = dft.RKS(mol)
    mf.xc = settings.xc
    mf.conv_tol = settings.conv_tol
    mf.conv_tol_grad = settings.conv_tol_grad
    mf.max_cycle = settings.max_cycle
    mf.grids.level = settings.grid_level
    return mf


def single_point(symbols, positions, settings: QCSettings = QCSettings(), hessian: bool = False) -> dict:
    """Label one closed-shell geometry.

    symbols: N element symbols; positions: (N, 3) Å. Returns a dict with ``converged`` (bool),
    ``scf_cycles``, ``solver`` ("diis" or "newton", the fallback), ``seconds`` and, when converged,
    ``energy`` (eV), ``forces`` (N, 3) eV/Å and, if asked, ``hessian`` (3N, 3N) eV/Å².
    """
    start = time.perf_counter()
    mf = _build_mf(symbols, positions, settings)
    cycles = []
    mf.callback = lambda env: cycles.append(env.get("cycle"))
    mf.kernel()
    solver = "diis"
    if not mf.converged:
        # Second-order SCF rescues most hard cases (near-degenerate geometries far from equilibrium).
        mf = mf.newton()
        mf.kernel(mf.make_rdm1())
        solver = "newton"
    result = {
        "converged": bool(mf.converged),
        "scf_cycles": len(cycles),
        "solver": solver,
    }
    if mf.converged:
        n = len(symbols)
        result["energy"] = float(mf.e_tot) * HARTREE_EV
        gradient = mf.nuc_grad_method().kernel()
        result["forces"] = -np.asarray(gradient) * HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM
        if hessian:
            h = mf.Hessian().kernel()  # (N, N, 3, 3) Hartree/Bohr²
            h = np.asarray(h).transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
            result["hessian"] = h * HARTREE_PER_BOHR2_TO_EV_PER_ANGSTROM2
    result["seconds"] = time.perf_counter() - start
    return result


class PySCFCalculator(Calculator):
    """An ASE calculator around :func:`single_point`, used to drive optimisers, Sella and the IRC."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, settings: QCSettings = QCSettings()):
        super().__init__()
        self.settings = settings

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        out = single_point(self.atoms.get_chemical_symbols(), self.atoms.positions, self.settings)
        if not out["converged"]:
            raise RuntimeError("SCF did not converge while driving a geometry search")
        self.results = {"energy": out["energy"], "forces": out["forces"]}

    def hessian(self, atoms) -> np.ndarray:
        """Analytic Hessian (3N, 3N) eV/Å² at ``atoms`` (Sella's ``hessian_function``)."""
        out = single_point(atoms.get_chemical_symbols(), atoms.positions, self.settings, hessian=True)
        if not out["converged"]:
            raise RuntimeError("SCF did not converge for a Hessian during a geometry search")
        return out["hessian"]
