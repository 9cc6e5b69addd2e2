"""Exercises of notebook 03 (projected Hessian learning): the cost of a full Hessian in HVPs, the Hessian
MAE of a test set, and reading the fixed-probe comparison off the measured table."""

from __future__ import annotations

import numpy as np

from mlip_lab.exercises.checking import CheckResult
from mlip_lab.physics.units import EV_KCAL_PER_MOL
from mlip_lab.train.hessian_metrics import curvature_errors


def check_hvps_per_hessian(n_atoms: int, answer) -> CheckResult:
    """``answer`` must be the number of HVPs one full Hessian of ``n_atoms`` atoms takes (one per coordinate)."""
    try:
        answer = int(answer)
    except (TypeError, ValueError):
        return CheckResult(False, f"give a whole number, got {answer!r}")
    want = 3 * n_atoms
    if answer == want:
        return CheckResult(True, f"correct: {want} columns, one HVP each, against 1 HVP per probe in E-F-HVP")
    if answer == n_atoms:
        return CheckResult(False, "each atom has three coordinates, and each coordinate is a column")
    if answer in (3 * n_atoms - 6, 3 * n_atoms - 5):
        return CheckResult(False, "the Hessian has a column for every Cartesian coordinate, rigid motions included")
    return CheckResult(False, "one HVP with the unit vector e_k gives column k; how many columns are there?")


def check_hessian_mae(student_value, dataset, hessians) -> CheckResult:
    """``student_value`` must be the Hessian element MAE in kcal/mol/Å² over the real coordinates of ``dataset``
    for predicted ``hessians`` (M, 3N, 3N) eV/Å²."""
    try:
        value = float(student_value)
    except (TypeError, ValueError):
        return CheckResult(False, f"give a number, got {student_value!r}")
    mae_ev = float(np.mean(np.abs(np.concatenate(curvature_errors(dataset, hessians)["hessian"]))))
    want = mae_ev * EV_KCAL_PER_MOL
    if np.isclose(value, want, rtol=1e-4):
        return CheckResult(True, f"correct: {want:.3f} kcal/mol/Å² ({mae_ev:.4f} eV/Å²)")
    if np.isclose(value, mae_ev, rtol=1e-4):
        return CheckResult(False, "that is in eV/Å²; multiply by 23.06 for kcal/mol/Å²")
    padded = float(np.abs(hessians - dataset.hessians).mean()) * EV_KCAL_PER_MOL
    if np.isclose(value, padded, rtol=1e-4):
        return CheckResult(False, "padding entries (zeros on both sides) pull the mean down; average over each "
                                  "configuration's real 3n x 3n block only")
    return CheckResult(False, "average |H_pred - H_ref| over the real 3n x 3n block of every configuration")


def check_better_probe(answer, rows_onehot: list[dict], rows_random: list[dict], group: str = "all") -> CheckResult:
    """``answer`` ("one_hot" or "random") must name the fixed-probe scheme with the lower Hessian MAE in
    ``group``, read off the two measured :func:`curvature_error_table` row lists."""
    if answer not in ("one_hot", "random"):
        return CheckResult(False, f"answer 'one_hot' or 'random', got {answer!r}")
    mae = {}
    for kind, rows in (("one_hot", rows_onehot), ("random", rows_random)):
        found = [r["hessian_mae"] for r in rows if r["group"] == group]
        if not found:
            return CheckResult(False, f"no row for group {group!r} in the {kind} table")
        mae[kind] = found[0]
    want = min(mae, key=mae.get)
    numbers = f"one-hot {mae['one_hot']:.3f}, random {mae['random']:.3f}"
    if answer != want:
        return CheckResult(False, f"look again at the {group!r} rows: {numbers}")
    why = "a fixed one-hot probe only ever shows the model one column per geometry; a random probe mixes all columns"
    if want == "random":
        return CheckResult(True, f"right for this run ({numbers}), as expected: {why}")
    return CheckResult(True, f"right for this run ({numbers}), though random usually wins, because {why}. A short "
                             "run or a small test set can reverse a small gap: compare again in full mode")
