"""Exercises of notebook 01 (first MLIP): the cutoff and sensitivity functions, forces by autograd,
and unit conversions."""

from __future__ import annotations

import numpy as np
import torch

from mlip_lab.exercises.checking import CheckResult, student_tensor
from mlip_lab.models.layers import GaussianSensitivity, cosine_cutoff
from mlip_lab.physics.units import EV_KCAL_PER_MOL

_R = torch.linspace(0.5, 7.5, 57, dtype=torch.float64)


def check_cutoff(student_fn, cutoff: float = 6.0) -> CheckResult:
    """``student_fn(r, cutoff)`` must return phi(r) = cos^2(pi r / (2 r_c)) inside the cutoff and 0 beyond."""
    got, error = student_tensor(student_fn, _R.clone(), cutoff, dtype=torch.float64)
    if error is not None:
        return error
    if got.shape != _R.shape:
        return CheckResult(False, f"expected one value per distance, shape {tuple(_R.shape)}, got {tuple(got.shape)}")
    want = cosine_cutoff(_R, cutoff)
    beyond = _R > cutoff
    if torch.any(got[beyond].abs() > 1e-12):
        return CheckResult(False, "phi(r) must be exactly 0 beyond the cutoff: otherwise the energy jumps there")
    if not torch.allclose(got, want, atol=1e-8):
        if torch.allclose(got[~beyond], torch.cos(0.5 * np.pi * _R[~beyond] / cutoff), atol=1e-8):
            return CheckResult(False, "close: the cutoff is cos SQUARED, so its slope also vanishes at r_c")
        worst = float(_R[(got - want).abs().argmax()])
        return CheckResult(False, f"values differ from cos^2(pi r / 2 r_c); look at r = {worst:.2f} Å")
    return CheckResult(True, "correct: smooth, 1 at r = 0 and flat zero from the cutoff on")


def check_sensitivity(student_fn, inverse_mu: float = 0.5, sigma: float = 4.0, cutoff: float = 6.0) -> CheckResult:
    """``student_fn(r, inverse_mu, sigma, cutoff)`` must return exp(-0.5 sigma^2 (1/r - 1/mu)^2) phi(r)."""
    got, error = student_tensor(student_fn, _R.clone(), inverse_mu, sigma, cutoff, dtype=torch.float64)
    if error is not None:
        return error
    layer = GaussianSensitivity(1, 1.0, 2.0, cutoff).double()
    with torch.no_grad():
        layer.inverse_mu.fill_(inverse_mu)
        layer.sigma.fill_(sigma)
        want = layer(_R[None, None], torch.ones(1, 1, _R.numel(), dtype=torch.bool))[0, 0, :, 0]
    if got.shape != want.shape:
        return CheckResult(False, f"expected shape {tuple(want.shape)}, got {tuple(got.shape)}")
    if torch.allclose(got, want, atol=1e-8):
        return CheckResult(True, f"correct: the peak sits at r = mu = {1 / inverse_mu:.2f} Å and fades at the cutoff")
    gauss_only = torch.exp(-0.5 * sigma**2 * (1 / _R - inverse_mu) ** 2)
    if torch.allclose(got, gauss_only, atol=1e-8):
        return CheckResult(False, "the Gaussian is right; now multiply by the cutoff function phi(r)")
    return CheckResult(False, "not yet: the Gaussian is in 1/r, centred at 1/mu, with width 1/sigma")


def check_forces(student_fn, model, species, positions) -> CheckResult:
    """``student_fn(model, species, positions)`` must return F = -dE/dR (B, N, 3) by autograd."""
    positions = torch.as_tensor(positions, dtype=next(model.parameters()).dtype)
    got, error = student_tensor(student_fn, model, species, positions.clone(), dtype=positions.dtype)
    if error is not None:
        return error
    want = model.predict(species, positions).forces
    if got.shape != want.shape:
        return CheckResult(False, f"forces must have the shape of positions {tuple(want.shape)}, got {tuple(got.shape)}")
    if torch.allclose(got, -want, atol=1e-6) and want.abs().max() > 1e-8:
        return CheckResult(False, "sign: forces point downhill, F = -dE/dR")
    if not torch.allclose(got, want, atol=1e-6):
        return CheckResult(False, f"largest difference {float((got - want).abs().max()):.3g} eV/Å: differentiate the "
                                  "total energy with respect to positions (requires_grad before the model call)")
    return CheckResult(True, "correct: forces are minus the gradient of the learned energy, so they are conservative")


def check_kcal_conversion(value_ev: float, student_kcal: float) -> CheckResult:
    """``student_kcal`` must be ``value_ev`` (eV or eV/Å) expressed in kcal/mol (or kcal/mol/Å)."""
    try:
        student_kcal = float(student_kcal)
    except (TypeError, ValueError):
        return CheckResult(False, f"give a number, got {student_kcal!r}")
    want = value_ev * EV_KCAL_PER_MOL
    if np.isclose(student_kcal, want, rtol=1e-3):
        return CheckResult(True, f"correct: {value_ev:.4g} eV = {want:.4g} kcal/mol (1 eV = {EV_KCAL_PER_MOL:.2f} kcal/mol)")
    if np.isclose(student_kcal, value_ev / EV_KCAL_PER_MOL, rtol=1e-3):
        return CheckResult(False, "you divided: 1 eV is about 23 kcal/mol, so the number in kcal/mol is larger")
    return CheckResult(False, f"not quite: 1 eV = {EV_KCAL_PER_MOL:.2f} kcal/mol")
