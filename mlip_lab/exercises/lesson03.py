"""Exercises of notebook 03 (projected Hessian learning): the HVP loss term over a padded batch, the Hessian MAE
of a test set, and the variance of a one-hot probe's estimate of the Hessian error."""

from __future__ import annotations

import numpy as np
import torch

from mlip_lab.exercises.checking import CheckResult, student_tensor
from mlip_lab.models.contract import device_and_dtype
from mlip_lab.physics.frobenius import frobenius_estimate_variance
from mlip_lab.physics.hessians import matrix_hvp, model_hvp
from mlip_lab.physics.probes import fixed_probes
from mlip_lab.physics.units import EV_KCAL_PER_MOL
from mlip_lab.train.hessian_losses import HVPLoss
from mlip_lab.train.hessian_metrics import curvature_errors
from mlip_lab.train.losses import Loss


def check_hvp_loss(student_fn, model, dataset, seed: int = 0) -> CheckResult:
    """``student_fn(predicted, hessians, probes, mask)`` must return the HVP loss term (RMSE, eV/Å²) of one padded
    batch holding all of ``dataset``: predicted model HVPs (B, N, 3), reference Hessians (B, 3N, 3N) zero-padded,
    unit probes (B, N, 3) zero on padding, mask (B, N) True for real atoms. The answer must equal the
    ``hvp_rmse`` that :class:`mlip_lab.train.HVPLoss` computes for the same model, batch and (fixed) probes."""
    device, dtype = device_and_dtype(model)
    batch = next(dataset.batches(len(dataset), device=device, dtype=dtype))
    term = HVPLoss(kind="gaussian", regime="fixed", seed=seed, metric="rmse")
    want = float(Loss([term])(model, batch, training=False)[1][term.name])
    probes = fixed_probes(batch.mask, batch.indices, "gaussian", seed, dtype=dtype)
    predicted = model_hvp(model, batch.species, batch.positions, probes, batch.cells, batch.pbc).detach()
    inputs = (predicted, batch.hessians, probes, batch.mask)
    got, error = student_tensor(student_fn, *(x.clone() for x in inputs), dtype=torch.float64)
    if error is not None:
        return error
    if got.numel() != 1:
        return CheckResult(False, f"return one number (the batch's RMSE), got shape {tuple(got.shape)}")
    value = float(got.reshape(()))
    if np.isclose(value, want, rtol=1e-6):
        return CheckResult(True, f"correct: {want:.4g} eV/Å², the hvp_rmse of mlip_lab's HVPLoss for this batch. "
                                 "Its square, not the RMSE, is unbiased: for the mean squared Hessian element "
                                 "error, each molecule weighted by its 3N")
    reference = matrix_hvp(batch.hessians, probes)
    errors = predicted - reference
    real = errors[batch.mask]
    hints = [
        (float((real**2).mean()), "that is the mean square; the loss term is its square root (the RMSE)"),
        (float((errors**2).mean().sqrt()), "padding atoms (zero on both sides) were averaged in; keep only the "
                                           "components of real atoms, e.g. errors[mask]"),
        (float(torch.stack([(e[m] ** 2).mean().sqrt() for e, m in zip(errors, batch.mask)]).mean()),
         "that is the mean of per-molecule RMSEs; the term pools the real components of the whole batch, then "
         "takes one square root, so a larger molecule counts with more components"),
        (float(((predicted + reference)[batch.mask] ** 2).mean().sqrt()),
         "sign: the error is the predicted H v minus the reference H_ref v"),
    ]
    for number, hint in hints:
        if np.isclose(value, number, rtol=1e-6):
            return CheckResult(False, hint)
    return CheckResult(False, f"expected {want:.4g} eV/Å²: the reference HVP is hessians @ v for each molecule "
                              "(flatten v to (B, 3N, 1)); subtract it from predicted, keep the real atoms' components "
                              "(mask), then take the root of the mean of their squares")


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


def check_one_hot_variance(student_fn, error_matrix) -> CheckResult:
    """``student_fn(error)`` must return the variance of the one-probe estimate n ||A e_k||^2 of ||A||_F^2 over a
    uniformly random one-hot probe e_k, for a square error matrix A (n, n), e.g. H_pred - H_ref of one geometry in
    eV/Å² (the estimate is then in eV²/Å⁴, its variance in eV⁴/Å⁸). Checked on ``error_matrix`` and on two made-up
    matrices (one dominant column; all columns equal)."""
    error_matrix = torch.as_tensor(error_matrix, dtype=torch.float64)
    n = error_matrix.shape[0]
    uneven = torch.eye(n, dtype=torch.float64)
    uneven[0, 0] = 5.0  # one dominant column
    matrices = (error_matrix, uneven, torch.ones(n, n, dtype=torch.float64))  # the last: all columns equal
    for a in matrices:
        got, error = student_tensor(student_fn, a.clone(), dtype=torch.float64)
        if error is not None:
            return error
        if got.numel() != 1:
            return CheckResult(False, f"return one number (a variance), got shape {tuple(got.shape)}")
        value, want = float(got.reshape(())), float(frobenius_estimate_variance(a, "one_hot"))
        scale = max(abs(want), float((a**2).sum()) ** 2 * 1e-12)  # the all-equal matrix's variance is zero
        if abs(value - want) <= 1e-8 * scale:
            continue
        columns = (a**2).sum(0)
        hints = [
            (float(columns.var(unbiased=False)), "that is the spread of the squared column norms c_k; the estimate "
                                                 "is n c_k, so its variance is n² times that"),
            (float(n**2 * columns.var(unbiased=True)), "divide by n, not n - 1: k takes each of its n values with "
                                                       "probability exactly 1/n (a population, not a sample)"),
            (float(n * (columns**2).sum()), "that is E[X²]; subtract the squared mean (||A||_F²)²"),
            (float(n**2 * a.norm(dim=0).var(unbiased=False)),
             "use the squared column norms ||A e_k||², not the norms"),
            (float(frobenius_estimate_variance(a, "gaussian")), "that is the variance for normalised Gaussian probes"),
        ]
        for number, hint in hints:
            if abs(value - number) <= 1e-8 * max(abs(number), scale):
                return CheckResult(False, hint)
        return CheckResult(False, f"expected {want:.4g} for one of the test matrices, got {value:.4g}: with c_k = "
                                  "||A e_k||², Var = n sum_k c_k² - (sum_k c_k)²")
    one_hot = float(frobenius_estimate_variance(error_matrix, "one_hot"))
    gaussian = float(frobenius_estimate_variance(error_matrix, "gaussian"))
    lower = "one-hot" if one_hot < gaussian else "Gaussian"
    return CheckResult(True, f"correct. For this geometry the one-probe standard deviation is {one_hot**0.5:.3g} "
                             f"(one-hot) against {gaussian**0.5:.3g} (Gaussian): {lower} probes are less noisy here")
