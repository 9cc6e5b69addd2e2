"""Lesson 07's exercise checkers: they accept right answers written the student's way and name the common
mistakes; the reference solutions are in the answer key."""

import numpy as np

from mlip_lab.exercises import SOLUTIONS, check_centre_of_mass, check_mapped_forces, check_rdf_from_counts
from mlip_lab.exercises.lesson07 import SOLUTIONS_07


def test_lesson07_solutions_are_in_the_answer_key():
    assert set(SOLUTIONS_07) == {"07.centre_of_mass", "07.mapped_forces", "07.rdf_from_counts"}
    assert all(SOLUTIONS[key] is fn for key, fn in SOLUTIONS_07.items())


def test_centre_of_mass_checker():
    def unwrap_against_first_atom(positions, masses, box):
        whole = positions.copy()
        for i in range(1, len(whole)):
            whole[i] -= box * np.round((whole[i] - whole[0]) / box)
        return masses @ whole / masses.sum()

    def wrapped_back(positions, masses, box):
        centre = unwrap_against_first_atom(positions, masses, box)
        return centre % box

    assert check_centre_of_mass(unwrap_against_first_atom) and check_centre_of_mass(wrapped_back)
    mistakes = {
        "move each atom to its nearest image": lambda p, m, box: m @ p / m.sum(),
        "centre of geometry": lambda p, m, box: unwrap_against_first_atom(p, np.ones_like(m), box),
        "total mass": lambda p, m, box: m @ unwrap_against_first_atom_all(p, box) / len(m),
    }
    for fragment, wrong in mistakes.items():
        result = check_centre_of_mass(wrong)
        assert not result and fragment in result.message, result.message
    assert "shape" in check_centre_of_mass(lambda p, m, box: p).message


def unwrap_against_first_atom_all(positions, box):
    offsets = positions - positions[0]
    return positions[0] + offsets - box * np.round(offsets / box)


def test_mapped_forces_checker():
    def loop(forces, bead_of_atom, n_beads):
        out = np.zeros((n_beads, 3))
        for force, bead in zip(forces, bead_of_atom):
            out[bead] += force
        return out

    assert check_mapped_forces(loop)
    mean = check_mapped_forces(lambda f, b, n: loop(f, b, n) / np.bincount(b)[:, None])
    assert not mean and "sum of the forces" in mean.message
    total = check_mapped_forces(lambda f, b, n: np.tile(f.sum(0), (n, 1)))
    assert not total and "total force of the box" in total.message


def test_rdf_from_counts_checker():
    def exact(counts, edges, n, volume, frames):
        shells = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        return counts / frames / (shells * n * (n - 1) / volume)

    assert check_rdf_from_counts(exact)
    centres = lambda e: 0.5 * (e[1:] + e[:-1])  # noqa: E731
    mistakes = {
        "only approximates the shell volume":
            lambda c, e, n, v, f: c / f / (4 * np.pi * centres(e) ** 2 * np.diff(e) * n * (n - 1) / v),
        "not N^2": lambda c, e, n, v, f: exact(c, e, n, v, f) * (n - 1) / n,
        "do not halve": lambda c, e, n, v, f: exact(c, e, n, v, f) * 2,
        "number of frames": lambda c, e, n, v, f: exact(c, e, n, v, f) * f,
    }
    for fragment, wrong in mistakes.items():
        result = check_rdf_from_counts(wrong)
        assert not result and fragment in result.message, result.message
