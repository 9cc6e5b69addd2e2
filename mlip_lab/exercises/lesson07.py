"""Exercises of notebook 07 (coarse-graining by force matching): the centre-of-mass bead of a molecule split by
the periodic boundary, the mapped (bead) forces, and the normalisation that turns pair counts into g(r).

:data:`SOLUTIONS_07` holds the reference solutions, merged into :data:`mlip_lab.exercises.SOLUTIONS`.
"""

from __future__ import annotations

import numpy as np

from mlip_lab.exercises.checking import CheckResult, student_tensor

# One methanol (C, H, H, H, O, H) in a cubic 20 Å box, straddling the x = 0 face: its first atom sits at x = 19.7
# and the rest appear near x = 0 as stored by a program that wraps atoms one by one.
_BOX = 20.0
_MASSES = np.array([12.011, 1.008, 1.008, 1.008, 15.999, 1.008])
_WHOLE = np.array([[19.70, 5.00, 5.00], [19.32, 5.99, 5.21], [19.30, 4.63, 4.06], [19.36, 4.34, 5.80],
                   [21.13, 5.05, 4.93], [21.44, 4.15, 4.76]])
_WRAPPED = _WHOLE - _BOX * np.floor(_WHOLE / _BOX)

# Two methanols' atomic forces (eV/Å) and the bead each atom belongs to.
_BEAD_OF_ATOM = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
_ATOM_FORCES = np.array([[0.31, -0.12, 0.05], [-0.08, 0.22, -0.14], [0.02, -0.05, 0.19], [-0.11, 0.03, 0.07],
                         [0.44, 0.16, -0.21], [-0.27, -0.09, 0.12], [-0.15, 0.05, 0.30], [0.06, -0.18, -0.02],
                         [0.09, 0.11, -0.06], [-0.03, 0.04, 0.15], [-0.38, 0.21, -0.11], [0.20, -0.13, 0.05]])

# Pair counts of 10 frames of 64 beads in a 14 Å box, histogrammed in 0.5 Å bins up to 7 Å, made from a liquid-like
# g(r): nothing below 3 Å, a first shell peaking near 4.25 Å at about 2, a shallow minimum, then g close to 1.
_EDGES = np.linspace(0.0, 7.0, 15)
_COUNTS = np.array([0, 0, 0, 0, 0, 0, 39, 1105, 3423, 3232, 2343, 2566, 3500, 4545])
_N_BEADS, _VOLUME, _N_FRAMES = 64, 14.0**3, 10


def centre_of_mass(positions, masses, box):
    """Centre of mass (3,) Å of one molecule whose atoms (n, 3) Å may be wrapped one by one into a cubic box of
    edge ``box`` Å: make the molecule whole by moving every atom to its nearest image of the first atom, then
    take the mass-weighted mean (masses (n,) amu)."""
    positions, masses = np.asarray(positions, dtype=float), np.asarray(masses, dtype=float)
    offsets = positions - positions[0]
    whole = positions[0] + offsets - box * np.round(offsets / box)
    return (masses[:, None] * whole).sum(0) / masses.sum()


def mapped_forces(atom_forces, bead_of_atom, n_beads):
    """Bead forces (n_beads, 3) eV/Å: the sum of the atomic forces (n_atoms, 3) of the atoms in each bead."""
    forces = np.zeros((n_beads, 3))
    np.add.at(forces, np.asarray(bead_of_atom), np.asarray(atom_forces, dtype=float))
    return forces


def rdf_from_counts(counts, edges, n_beads, volume, n_frames):
    """g(r) (n_bins,) from ordered-pair counts per bin summed over ``n_frames`` frames of ``n_beads`` beads in a
    cell of ``volume`` Å³: each count divided by the ideal-gas expectation n_frames * N (N - 1) / V times the
    exact shell volume 4/3 pi (r_{k+1}^3 - r_k^3)."""
    shells = 4.0 / 3.0 * np.pi * np.diff(np.asarray(edges, dtype=float) ** 3)
    return np.asarray(counts, dtype=float) / (n_frames * n_beads * (n_beads - 1) / volume * shells)


SOLUTIONS_07 = {
    "07.centre_of_mass": centre_of_mass,
    "07.mapped_forces": mapped_forces,
    "07.rdf_from_counts": rdf_from_counts,
}


def _compare(value, expected, mistakes, correct: str, unit: str) -> CheckResult:
    """Right, a known mistake (message), or a plain miss; ``mistakes`` are (wrong answer, message) pairs."""
    if value.shape != expected.shape:
        return CheckResult(False, f"return an array of shape {expected.shape}, got {tuple(value.shape)}")
    if np.allclose(value, expected, rtol=1e-6, atol=1e-9):
        return CheckResult(True, correct)
    for wrong, message in mistakes:
        if np.allclose(value, wrong, rtol=1e-6, atol=1e-9):
            return CheckResult(False, message)
    return CheckResult(False, f"not yet: expected {np.round(expected, 4).tolist()} {unit}, got "
                              f"{np.round(value, 4).tolist()} {unit}")


def check_centre_of_mass(student_fn) -> CheckResult:
    """``student_fn(positions, masses, box)`` must return the centre of mass of a methanol that straddles the
    periodic boundary (stored with its atoms wrapped one by one)."""
    got, error = student_tensor(student_fn, _WRAPPED.copy(), _MASSES.copy(), _BOX)
    if error is not None:
        return error
    value = got.double().numpy()
    expected = centre_of_mass(_WRAPPED, _MASSES, _BOX)
    wrapped_expected = expected - _BOX * np.floor(expected / _BOX)
    if value.shape == (3,) and np.allclose(value, wrapped_expected, rtol=1e-6):
        expected = wrapped_expected  # the same bead, wrapped back into the box: fine
    naive = (_MASSES[:, None] * _WRAPPED).sum(0) / _MASSES.sum()
    mistakes = [
        (naive, "that is the mass-weighted mean of the wrapped atoms: the molecule is split by the boundary, so "
                "first move each atom to its nearest image of the first atom (subtract box * round(d / box))"),
        (centre_of_mass(_WRAPPED, np.ones(6), _BOX), "that is the centre of geometry: weight each atom by its mass"),
        (_WRAPPED.mean(0), "that is the plain mean of the wrapped atoms: unwrap the molecule and weight by mass"),
        ((_MASSES[:, None] * _WHOLE).sum(0) / len(_MASSES), "divide by the total mass, not by the number of atoms"),
    ]
    return _compare(value, expected, mistakes,
                    f"correct: the bead sits at {np.round(expected, 3).tolist()} Å, next to the carbon and oxygen "
                    "(they carry 28 of the 32 amu), on whichever side of the boundary you chose", "Å")


def check_mapped_forces(student_fn) -> CheckResult:
    """``student_fn(atom_forces, bead_of_atom, n_beads)`` must return the sum of the atomic forces per bead."""
    got, error = student_tensor(student_fn, _ATOM_FORCES.copy(), _BEAD_OF_ATOM.copy(), 2)
    if error is not None:
        return error
    value = got.double().numpy()
    expected = mapped_forces(_ATOM_FORCES, _BEAD_OF_ATOM, 2)
    weights = np.tile(_MASSES, 2)
    mass_weighted = np.stack([(weights[_BEAD_OF_ATOM == b, None] * _ATOM_FORCES[_BEAD_OF_ATOM == b]).sum(0)
                              / weights[_BEAD_OF_ATOM == b].sum() for b in range(2)])
    mistakes = [
        (expected / 6, "that is the mean atomic force: a bead feels the sum of the forces on its atoms (Newton: "
                       "the total force moves the centre of mass)"),
        (mass_weighted, "you weighted the forces by mass as for positions; forces add up without weights (the "
                        "mass weighting of the positions is undone by the total mass in F = M a)"),
        (np.tile(_ATOM_FORCES.sum(0), (2, 1)), "every bead got the total force of the box: sum only the atoms of "
                                               "each bead (bead_of_atom says which)"),
    ]
    return _compare(value, expected, mistakes,
                    "correct: each bead's force is the sum over its atoms; together the two beads carry the box's "
                    f"total force {np.round(expected.sum(0), 3).tolist()} eV/Å, as they must", "eV/Å")


def check_rdf_from_counts(student_fn) -> CheckResult:
    """``student_fn(counts, edges, n_beads, volume, n_frames)`` must normalise ordered-pair counts into g(r)."""
    got, error = student_tensor(student_fn, _COUNTS.copy(), _EDGES.copy(), _N_BEADS, _VOLUME, _N_FRAMES)
    if error is not None:
        return error
    value = got.double().numpy()
    expected = rdf_from_counts(_COUNTS, _EDGES, _N_BEADS, _VOLUME, _N_FRAMES)
    centres, width = 0.5 * (_EDGES[1:] + _EDGES[:-1]), np.diff(_EDGES)
    thin_shells = _COUNTS / (_N_FRAMES * _N_BEADS * (_N_BEADS - 1) / _VOLUME * 4 * np.pi * centres**2 * width)
    mistakes = [
        (thin_shells, "close, but 4 pi r^2 dr at the bin centre only approximates the shell volume (it misses a "
                      "factor 1 + dr^2 / (12 r^2)); use the exact 4/3 pi (r_outer^3 - r_inner^3)"),
        (expected * (_N_BEADS - 1) / _N_BEADS, "the ideal gas has N (N - 1) ordered pairs, not N^2: a bead is not "
                                               "its own neighbour"),
        (expected * 2, "these counts already hold ordered pairs (i, j) and (j, i); do not halve the ideal count"),
        (expected * _N_FRAMES, "divide by the number of frames too: the counts are summed over all of them"),
    ]
    return _compare(value, expected, mistakes,
                    f"correct: g(r) peaks at {expected.max():.2f} around {centres[np.argmax(expected)]:.2f} Å (the "
                    "first shell) and is 0 where no pair comes closer", "")
