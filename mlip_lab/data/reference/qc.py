"""PySCF single points: DFT energy, forces and (optionally) the analytic Hessian of one geometry, and
CCSD(T) energies with (optionally) analytic CCSD(T) forces.

The levels of theory are fixed by :class:`QCSettings` (DFT) and :class:`CoupledClusterSettings`; results are
converted to eV, Å.
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



@dataclass(frozen=True)
class CoupledClusterSettings:
    """CCSD(T) on a restricted Hartree-Fock reference, the same frozen core for energies and forces."""

    basis: str = "cc-pvdz"
    frozen_core: bool = True  # the 1s orbitals of C, N, O stay doubly occupied (pyscf.data.elements.chemcore)
    scf_conv_tol: float = 1e-10  # Hartree
    cc_conv_tol: float = 1e-8  # Hartree, CCSD energy
    max_cycle: int = 100


def _molecule(symbols, positions, basis: str):
    from pyscf import gto

    return gto.M(atom=[(s, tuple(p)) for s, p in zip(symbols, np.asarray(positions, dtype=float))], basis=basis,
                 unit="Angstrom", charge=0, spin=0, verbose=0)


def _build_mf(symbols, positions, settings: QCSettings):
    from pyscf import dft

    mf = dft.RKS(_molecule(symbols, positions, settings.basis))
    mf.xc = settings.xc
    mf.conv_tol = settings.conv_tol
    mf.conv_tol_grad = settings.conv_tol_grad
    mf.max_cycle = settings.max_cycle
    mf.grids.level = settings.grid_level
    return mf


def _converge_scf(mf):
    """Run the SCF; if DIIS does not converge, retry with second-order SCF, which rescues most hard cases
    (near-degenerate geometries far from equilibrium). Returns (the mean field, DIIS cycles, "diis" or "newton")."""
    cycles = []
    mf.callback = lambda env: cycles.append(env.get("cycle"))
    mf.kernel()
    if mf.converged:
        return mf, len(cycles), "diis"
    mf = mf.newton()
    mf.kernel(mf.make_rdm1())
    return mf, len(cycles), "newton"


def single_point(symbols, positions, settings: QCSettings = QCSettings(), hessian: bool = False) -> dict:
    """Label one closed-shell geometry.

    symbols: N element symbols; positions: (N, 3) Å. Returns a dict with ``converged`` (bool),
    ``scf_cycles``, ``solver`` ("diis" or "newton", the fallback), ``seconds`` and, when converged,
    ``energy`` (eV), ``forces`` (N, 3) eV/Å and, if asked, ``hessian`` (3N, 3N) eV/Å².
    """
    start = time.perf_counter()
    mf, cycles, solver = _converge_scf(_build_mf(symbols, positions, settings))
    result = {
        "converged": bool(mf.converged),
        "scf_cycles": cycles,
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


def coupled_cluster_point(symbols, positions, settings: CoupledClusterSettings = CoupledClusterSettings(),
                          forces: bool = False) -> dict:
    """CCSD(T) energy (and analytic CCSD(T) forces, ``pyscf.grad.ccsd_t``) of one closed-shell geometry.

    symbols: N element symbols; positions: (N, 3) Å. Returns ``converged`` (the RHF and the CCSD amplitudes
    both converged), ``scf_cycles``, ``solver`` (the RHF solver: "diis", or "newton" as the fallback),
    ``cc_cycles``, ``seconds`` and, when converged, ``energy`` (eV) and, if asked, ``forces`` (N, 3) eV/Å.
    The frozen core is the same for energy and forces, so the forces are the exact gradient of the energy.
    """
    from pyscf import cc, scf
    from pyscf.data.elements import chemcore

    start = time.perf_counter()
    mol = _molecule(symbols, positions, settings.basis)
    mf = scf.RHF(mol)
    mf.conv_tol, mf.max_cycle = settings.scf_conv_tol, settings.max_cycle
    mf, cycles, solver = _converge_scf(mf)
    result = {"converged": False, "scf_cycles": cycles, "solver": solver, "cc_cycles": 0}
    if mf.converged:
        solver_cc = cc.CCSD(mf, frozen=chemcore(mol) if settings.frozen_core else None)
        solver_cc.conv_tol, solver_cc.max_cycle = settings.cc_conv_tol, settings.max_cycle
        cc_cycles = []
        solver_cc.callback = lambda env: cc_cycles.append(env.get("cycle"))
        solver_cc.kernel()
        result["cc_cycles"] = len(cc_cycles)
        if solver_cc.converged:
            triples = solver_cc.ccsd_t()
            result.update(converged=True, energy=float(solver_cc.e_tot + triples) * HARTREE_EV)
            if forces:
                from pyscf.cc import ccsd_t_lambda
                from pyscf.grad import ccsd_t as ccsd_t_gradients

                # The gradient needs the CCSD(T) lambda amplitudes; left to itself the gradient code solves the
                # plain CCSD lambda equations and returns a force that is not the derivative of this energy
                # (7 % off for water, measured against finite differences).
                eris = solver_cc.ao2mo()
                lambdas_converged, l1, l2 = ccsd_t_lambda.kernel(solver_cc, eris, solver_cc.t1, solver_cc.t2,
                                                                   max_cycle=settings.max_cycle, verbose=0)
                if not lambdas_converged:
                    result.update(converged=False)
                    del result["energy"]
                else:
                    gradient = ccsd_t_gradients.Gradients(solver_cc).kernel(solver_cc.t1, solver_cc.t2, l1, l2, eris=eris)
                    result["forces"] = -np.asarray(gradient) * HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM
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
