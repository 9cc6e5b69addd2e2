"""Exercises of notebook 02 (curvature and probes): a Hessian-vector product by double backward, a
normalised Rademacher probe, and a Hutchinson trace estimate."""

from __future__ import annotations

import torch

from mlip_lab.exercises.checking import CheckResult, student_tensor
from mlip_lab.physics.hessians import model_hvp
from mlip_lab.physics.probes import hutchinson_trace


def check_hvp(student_fn, model, species, positions, vectors) -> CheckResult:
    """``student_fn(model, species, positions, vectors)`` must return H v (B, N, 3) of the model energy."""
    dtype = next(model.parameters()).dtype
    positions, vectors = torch.as_tensor(positions, dtype=dtype), torch.as_tensor(vectors, dtype=dtype)
    got, error = student_tensor(student_fn, model, species, positions.clone(), vectors.clone(), dtype=dtype)
    if error is not None:
        return error
    want = model_hvp(model, species, positions, vectors)
    if got.shape != want.shape:
        return CheckResult(False, f"H v has the shape of the positions {tuple(want.shape)}, got {tuple(got.shape)}")
    if torch.allclose(got, -want, atol=1e-6):
        return CheckResult(False, "sign: H v = d(dE/dR · v)/dR = -d(F · v)/dR")
    gradient = -model.predict(species, positions).forces
    if torch.allclose(got, gradient, atol=1e-6) or torch.allclose(got, -gradient, atol=1e-6):
        return CheckResult(False, "that is the first derivative; differentiate (gradient · v) once more, with "
                                  "create_graph=True on the first grad")
    if not torch.allclose(got, want, atol=1e-6):
        return CheckResult(False, f"largest difference {float((got - want).abs().max()):.3g} eV/Å²: take the gradient "
                                  "with create_graph=True, then grad((gradient * v).sum(), positions)")
    return CheckResult(True, "correct: one extra backward pass gives H v without ever forming H")


def check_rademacher(student_fn, n_coordinates: int = 9, draws: int = 4000) -> CheckResult:
    """``student_fn(n, generator)`` must return one Rademacher probe (n,) with E[v v^T] = I / n."""
    generator = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(draws):
        v, error = student_tensor(student_fn, n_coordinates, generator, dtype=torch.float64)
        if error is not None:
            return error
        if v.shape != (n_coordinates,):
            return CheckResult(False, f"return one vector of {n_coordinates} numbers, got shape {tuple(v.shape)}")
        samples.append(v)
    v = torch.stack(samples)
    if not torch.allclose(v.abs(), torch.full_like(v, n_coordinates**-0.5), atol=1e-9):
        if torch.allclose(v.abs(), torch.ones_like(v)):
            return CheckResult(False, "the signs are right; now divide by sqrt(n) so that |v| = 1")
        return CheckResult(False, "every entry must be +1/sqrt(n) or -1/sqrt(n)")
    second = v.T @ v / draws
    if not torch.allclose(second, torch.eye(n_coordinates, dtype=torch.float64) / n_coordinates, atol=0.02):
        return CheckResult(False, "entries are not independent fair signs: E[v v^T] should be I/n; draw each sign "
                                  "independently with the generator")
    return CheckResult(True, "correct: unit length and E[v v^T] = I/n, so ||A v||^2 is unbiased for ||A||_F^2 / n")


def check_hutchinson(student_fn, probes, products) -> CheckResult:
    """``student_fn(probes, products)`` with probes and products A v of shape (S, n) must return the
    Hutchinson estimate of tr(A) from all S probes."""
    probes, products = torch.as_tensor(probes, dtype=torch.float64), torch.as_tensor(products, dtype=torch.float64)
    got, error = student_tensor(student_fn, probes.clone(), products.clone(), dtype=torch.float64)
    if error is not None:
        return error
    if got.numel() != 1:
        return CheckResult(False, f"return one number (the estimate), got shape {tuple(got.shape)}")
    want = hutchinson_trace(probes, products)[-1]
    value = got.reshape(())
    if torch.isclose(value * probes.shape[1], want, rtol=1e-8):
        return CheckResult(False, "close: with unit probes E[v v^T] = I/n, so multiply the mean of v^T A v by n")
    if not torch.isclose(value, want, rtol=1e-8):
        return CheckResult(False, f"expected {float(want):.4g}: the mean over probes of v^T (A v), times n")
    return CheckResult(True, f"correct: {float(want):.4g}; more probes shrink its error like 1/sqrt(S)")
