"""The squared Frobenius norm of an error matrix from probe products, and how noisy one probe's estimate is.

Projected Hessian learning needs ||A||_F^2 for A = H_pred - H_ref (n x n, n = 3N coordinates), not the trace
of A: the squared HVP error of a unit probe v with E[v v^T] = I/n is ||A v||^2 = v^T (A^T A) v, whose mean is
tr(A^T A)/n = ||A||_F^2 / n. So n ||A v||^2 is an unbiased one-probe estimate of ||A||_F^2, and the mean of S
of them is too. How far a single estimate strays depends on the probe kind (B = A^T A, c_k = B_kk = ||A e_k||^2
the squared column norms, lambda_i the eigenvalues of B, i.e. the squared singular values of A):

- "one_hot": Var = n sum_k c_k^2 - (sum_k c_k)^2 = n^2 Var_k(c_k): zero when every column of A has the same
  norm, large when one column dominates;
- "gaussian" (normalised, uniform on the sphere): Var = 2 (n sum_i lambda_i^2 - (sum_i lambda_i)^2) / (n + 2):
  zero when all singular values are equal, large when one dominates, whichever column it lives in;
- "rademacher": Var = 2 sum_{k != l} B_kl^2: only the off-diagonal part of B contributes.

The mean of S independent estimates has 1/S of these variances. Units: those of A squared (eV²/Å⁴ for Hessians).
"""

from __future__ import annotations

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.probes import PROBE_KINDS


def frobenius_estimate(products: torch.Tensor) -> torch.Tensor:
    """0-d estimate of ||A||_F^2 from S products A v (S, n) of unit probes with E[v v^T] = I/n: n times the
    mean over probes of ||A v||^2. With all n one-hot columns as probes it is exact."""
    if products.dim() != 2 or products.shape[0] < 1:
        raise MLIPLabError(f"products must be (S, n) with at least one probe, got shape {tuple(products.shape)}")
    return products.shape[1] * (products**2).sum(1).mean()


def frobenius_estimate_variance(matrix: torch.Tensor, kind: str) -> torch.Tensor:
    """0-d exact variance of the one-probe estimate n ||A v||^2 of ||A||_F^2 for the (n, n) ``matrix`` A and probes
    of ``kind`` ("one_hot", "gaussian" normalised, or "rademacher"); divide by S for the mean of S probes."""
    if kind not in PROBE_KINDS:
        raise MLIPLabError(f"probe kind must be one of {PROBE_KINDS}, got {kind!r}")
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
        raise MLIPLabError(f"need one square (n, n) matrix, got shape {tuple(matrix.shape)}")
    n = matrix.shape[0]
    gram = matrix.T @ matrix  # B = A^T A: v^T B v = ||A v||^2
    columns = torch.diagonal(gram)  # c_k = ||A e_k||^2
    if kind == "one_hot":
        return n * (columns**2).sum() - columns.sum() ** 2
    if kind == "gaussian":  # sum lambda^2 = ||B||_F^2 and sum lambda = tr B: no eigendecomposition needed
        return 2 * (n * (gram**2).sum() - columns.sum() ** 2) / (n + 2)
    return 2 * ((gram**2).sum() - (columns**2).sum())
