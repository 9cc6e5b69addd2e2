"""Exercises of notebook 05 (ensemble knowledge distillation): the ensemble-mean force label from the teachers,
the Spearman rank correlation of spread against error, and the binned RMSE of a calibration curve.

``SOLUTIONS_05`` holds the reference solutions, written as a student would (plain torch / numpy); they join the
answer key in :mod:`mlip_lab.exercises.solutions`.
"""

from __future__ import annotations

import numpy as np
import torch

from mlip_lab.distill import calibration_curve, spearman
from mlip_lab.exercises.checking import CheckResult, student_tensor
from mlip_lab.models import device_and_dtype

# Made-up (spread, error) pairs: 120 atoms whose errors grow with the spread, with noise; no ties, and 120 splits
# into 6 bins of 20 exactly, so every equal-count binning agrees.
_RNG = np.random.default_rng(5)
_SPREAD = np.exp(_RNG.normal(-2.0, 0.7, 120))
_ERRORS = np.abs(_SPREAD * 1.8 * _RNG.standard_normal(120))
_N_BINS = 6


# Reference solutions.

def force_label(teachers, species, positions):
    """The EKD force label (B, N, 3) eV/Å: the mean over the teachers of each one's force -dE/dR (autograd).
    teachers: list of models; species (B, N); positions (B, N, 3) Å in the teachers' dtype."""
    forces = []
    for teacher in teachers:
        moving = positions.detach().clone().requires_grad_(True)
        energy = teacher(species, moving).energy
        forces.append(-torch.autograd.grad(energy.sum(), moving)[0])
    return torch.stack(forces).mean(dim=0)


def rank_correlation(spread, errors):
    """Spearman's rho of spread (K,) against errors (K,) without ties: the Pearson correlation of their ranks."""
    spread_ranks = np.argsort(np.argsort(spread)).astype(float)
    error_ranks = np.argsort(np.argsort(errors)).astype(float)
    return float(np.corrcoef(spread_ranks, error_ranks)[0, 1])


def binned_rmse(spread, errors, n_bins):
    """Observed RMSE (n_bins,) of ``errors`` in bins of equal counts along increasing ``spread`` (both (K,))."""
    order = np.argsort(spread)
    return np.array([np.sqrt(np.mean(errors[part] ** 2)) for part in np.array_split(order, n_bins)])


SOLUTIONS_05 = {
    "05.force_label": force_label,
    "05.spearman": rank_correlation,
    "05.binned_rmse": binned_rmse,
}


# Checkers.

def check_force_label(student_fn, teachers, species, positions) -> CheckResult:
    """``student_fn(teachers, species, positions)`` must return the teachers' mean force -dE/dR (B, N, 3) eV/Å.
    teachers: the models (e.g. ``ensemble.members``); species (B, N); positions (B, N, 3) Å."""
    teachers = list(teachers)
    device, dtype = device_and_dtype(teachers[0])
    species = torch.as_tensor(species, device=device)
    positions = torch.as_tensor(positions, dtype=dtype, device=device)
    got, error = student_tensor(student_fn, teachers, species.clone(), positions.clone(), dtype=torch.float64)
    if error is not None:
        return error
    members = torch.stack([t.predict(species, positions).forces.detach().double().cpu() for t in teachers])
    want = members.mean(0)
    if got.shape != want.shape:
        return CheckResult(False, f"return one force per atom, shape {tuple(want.shape)}, got {tuple(got.shape)}")
    got = got.cpu()
    tolerance = dict(rtol=1e-4, atol=1e-5 * float(want.abs().max()))
    if torch.allclose(got, want, **tolerance):
        return CheckResult(True, f"correct: the mean of {len(teachers)} teachers' -dE/dR, the label the student "
                                 "learns where the data have no forces")
    if torch.allclose(got, -want, **tolerance):
        return CheckResult(False, "the sign: forces are minus the gradient of the energy, F = -dE/dR")
    if torch.allclose(got, len(teachers) * want, **tolerance):
        return CheckResult(False, f"you summed the {len(teachers)} teachers' forces; the label is their mean")
    if any(torch.allclose(got, member, **tolerance) for member in members):
        return CheckResult(False, "that is one teacher's force; average over all teachers")
    return CheckResult(False, "not yet: differentiate each teacher's energy with respect to the positions "
                              "(torch.autograd.grad), negate, and average over the teachers")


def check_spearman(student_fn) -> CheckResult:
    """``student_fn(spread, errors)`` must return Spearman's rank correlation of two (K,) arrays without ties."""
    cases = [(_SPREAD, _ERRORS), (_SPREAD, _SPREAD**3), (_SPREAD, 1.0 / _SPREAD)]
    answers = []
    for spread, errors in cases:
        got, error = student_tensor(student_fn, spread.copy(), errors.copy(), dtype=torch.float64)
        if error is not None:
            return error
        if got.numel() != 1:
            return CheckResult(False, f"return one number, got shape {tuple(got.shape)}")
        answers.append(float(got))
    want = [spearman(spread, errors) for spread, errors in cases]
    if np.allclose(answers, want, atol=1e-9):
        return CheckResult(True, "correct: the correlation of the ranks, so any monotonic relation scores ±1")
    pearson = [float(np.corrcoef(spread, errors)[0, 1]) for spread, errors in cases]
    if np.allclose(answers, pearson, atol=1e-9):
        return CheckResult(False, "that is Pearson's correlation of the values; Spearman's correlates their ranks "
                                  "(np.argsort(np.argsort(x)) gives each value's rank)")
    if np.isclose(answers[1], 1.0) and not np.isclose(answers[2], -1.0):
        return CheckResult(False, "a decreasing relation must give -1: correlate the ranks, do not take |rho|")
    return CheckResult(False, f"not yet: expected {np.round(want, 3).tolist()}, got {np.round(answers, 3).tolist()}")


def check_binned_rmse(student_fn) -> CheckResult:
    """``student_fn(spread, errors, n_bins)`` must return the observed RMSE in each of ``n_bins`` bins of equal
    counts along increasing spread, as in the calibration curve."""
    got, error = student_tensor(student_fn, _SPREAD.copy(), _ERRORS.copy(), _N_BINS, dtype=torch.float64)
    if error is not None:
        return error
    want = calibration_curve(_SPREAD, _ERRORS, _N_BINS).observed_rmse
    got = got.numpy().reshape(-1)
    if got.shape != want.shape:
        return CheckResult(False, f"return one RMSE per bin ({_N_BINS} values), got {got.size}")
    if np.allclose(got, want, rtol=1e-9):
        return CheckResult(True, "correct: compare each bin's RMSE with its RMS spread to see whether the ensemble "
                                 "predicts the size of its errors")
    parts = np.array_split(np.argsort(_SPREAD), _N_BINS)
    if np.allclose(got, [np.mean(_ERRORS[p]) for p in parts], rtol=1e-9):
        return CheckResult(False, "that is the mean error per bin; take the root of the mean square (RMSE)")
    if np.allclose(got, [np.sqrt(np.mean(_ERRORS[p] ** 2)) for p in np.array_split(np.arange(120), _N_BINS)]):
        return CheckResult(False, "sort by spread first (np.argsort(spread)): bins group similar predicted spreads")
    return CheckResult(False, f"not yet: expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()}")
