"""The molecules and reactions the reference recipes label, with starting geometries.

Reactions are given by a transition-state guess and the formula-level identity of both ends; the
reactant and product geometries come from following the IRC downhill from the converged transition
state, so the three stationary points are connected by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def place_atom(a, b, c, bond: float, angle_deg: float, dihedral_deg: float) -> np.ndarray:
    """Cartesian position of atom d with |cd| = bond, angle(b, c, d) and dihedral(a, b, c, d) (Z-matrix)."""
    a, b, c = (np.asarray(x, dtype=float) for x in (a, b, c))
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    theta, phi = np.radians(angle_deg), np.radians(dihedral_deg)
    local = np.array([-bond * np.cos(theta), bond * np.sin(theta) * np.cos(phi), bond * np.sin(theta) * np.sin(phi)])
    return c + local[0] * bc + local[1] * m + local[2] * n


@dataclass(frozen=True)
class Molecule:
    """A closed-shell molecule sampled around its minimum (optimised from ``positions``)."""

    name: str
    symbols: tuple[str, ...]
    positions: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class Reaction:
    """An elementary reaction: a transition-state guess, and the reactant geometry used only to tell
    which IRC end is the reactant."""

    name: str
    symbols: tuple[str, ...]
    ts_guess: tuple[tuple[float, float, float], ...]
    reactant_hint: tuple[tuple[float, float, float], ...]


def _tup(rows) -> tuple:
    return tuple(tuple(float(x) for x in r) for r in rows)


def _ase_molecule(name: str, formula: str) -> Molecule:
    from ase.build import molecule

    atoms = molecule(formula)
    return Molecule(name, tuple(atoms.get_chemical_symbols()), _tup(atoms.positions))


def _hono_ts() -> np.ndarray:
    n, o_term = np.zeros(3), np.array([1.17, 0.0, 0.0])
    o_h = np.array([1.43 * np.cos(np.radians(111)), 1.43 * np.sin(np.radians(111)), 0.0])
    h = place_atom(o_term, n, o_h, 0.97, 102.0, 90.0)
    return np.array([n, o_term, o_h, h])


def _hono_trans() -> np.ndarray:
    g = _hono_ts()
    g[3] = place_atom(g[1], g[0], g[2], 0.97, 102.0, 180.0)
    return g


REACTIONS: dict[str, Reaction] = {
    r.name: r
    for r in [
        Reaction(
            "hcn_hnc",
            ("C", "N", "H"),
            _tup([[0, 0, 0], [1.19, 0, 0], [0.368, 1.132, 0]]),
            _tup([[0, 0, 0], [1.156, 0, 0], [-1.066, 0, 0]]),
        ),
        Reaction(
            "h2co_h2_co",
            ("C", "O", "H", "H"),
            _tup([[0, 0, 0], [1.175, 0, 0], [-0.465, 0.997, 0], [-1.25, 0.55, 0]]),
            _tup([[0, 0, 0], [1.205, 0, 0], [-0.55, 0.94, 0], [-0.55, -0.94, 0]]),
        ),
        Reaction(
            "h2co_hcoh",
            ("C", "O", "H", "H"),
            _tup([[0, 0, 0], [1.27, 0, 0], [-0.55, -0.95, 0], [0.62, 1.0, 0]]),
            _tup([[0, 0, 0], [1.205, 0, 0], [-0.55, 0.94, 0], [-0.55, -0.94, 0]]),
        ),
        Reaction("hono_cis_trans", ("N", "O", "O", "H"), _tup(_hono_ts()), _tup(_hono_trans())),
    ]
}

MOLECULES: dict[str, Molecule] = {
    m.name: m
    for m in [
        _ase_molecule("water", "H2O"),
        _ase_molecule("ammonia", "NH3"),
        _ase_molecule("methane", "CH4"),
        _ase_molecule("formaldehyde", "H2CO"),
        _ase_molecule("methanol", "CH3OH"),
        _ase_molecule("formic_acid", "HCOOH"),
        _ase_molecule("ethanol", "CH3CH2OH"),
        # Not in organics: the unseen molecules of the ccsdt_grading set.
        _ase_molecule("acetaldehyde", "CH3CHO"),
        _ase_molecule("methylamine", "H3CNH2"),
        _ase_molecule("hydrogen_cyanide", "HCN"),
        # Planar formamide (not in ASE's g2 set): C=O 1.21, C-N 1.36, C-H 1.10, N-H 1.01 Å, angles near 120°;
        # the DFT optimisation refines it.
        Molecule("formamide", ("C", "O", "N", "H", "H", "H"),
                 _tup([[0, 0, 0], [1.21, 0, 0], [-0.774, 1.118, 0], [-0.591, -0.928, 0], [-0.343, 2.031, 0],
                       [-1.780, 1.035, 0]])),
    ]
}
