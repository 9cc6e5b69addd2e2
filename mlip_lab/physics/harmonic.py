"""Harmonic analysis of a Hessian: mass weighting, projecting out translations and rotations,
frequencies (cm^-1, imaginary ones negative) and normal modes.

Pure functions on tensors; numpy arrays are accepted and converted.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.units import EIGENVALUE_TO_WAVENUMBER


@dataclass(frozen=True)
class HarmonicAnalysis:
    """Result of :func:`harmonic_analysis` for one molecule of N atoms with K = 3N - 6 (or 3N - 5) modes.

    frequencies_cm: (K,) wavenumbers in cm^-1, ascending; imaginary modes are negative.
    eigenvalues: (K,) eigenvalues of the projected mass-weighted Hessian, eV / (Å² amu).
    modes_mass_weighted: (K, 3N) orthonormal eigenvectors in mass-weighted coordinates.
    modes_cartesian: (K, N, 3) Cartesian displacement directions, each normalised to unit length.
    """

    frequencies_cm: torch.Tensor
    eigenvalues: torch.Tensor
    modes_mass_weighted: torch.Tensor
    modes_cartesian: torch.Tensor

    @property
    def n_imaginary(self) -> int:
        return int((self.frequencies_cm < 0).sum())


def rigid_body_basis(positions: torch.Tensor, masses: torch.Tensor, linear_tol: float = 1e-2) -> torch.Tensor:
    """Orthonormal basis of mass-weighted translations and rotations.

    positions: (N, 3) Å; masses: (N,) amu. Returns (3N, R) with R = 5 for linear molecules, 6 otherwise
    (R = 3 for a single atom). A rotation whose singular value is below ``linear_tol`` times the largest
    counts as absent, so an optimised linear molecule a hair off its axis (~0.01 Å) keeps both bends.
    """
    sqrt_m = masses.sqrt()
    centred = positions - (masses[:, None] * positions).sum(0) / masses.sum()
    vectors = []
    for axis in range(3):
        t = torch.zeros_like(positions)
        t[:, axis] = 1.0
        vectors.append((t * sqrt_m[:, None]).reshape(-1))
    for axis in range(3):
        e = torch.zeros(3, dtype=positions.dtype)
        e[axis] = 1.0
        r = torch.linalg.cross(e.expand_as(centred), centred)
        vectors.append((r * sqrt_m[:, None]).reshape(-1))
    basis = torch.stack(vectors, dim=1)
    u, s, _ = torch.linalg.svd(basis, full_matrices=False)
    keep = s > linear_tol * s.max()
    return u[:, keep]


def harmonic_analysis(hessian, positions, masses) -> HarmonicAnalysis:
    """Normal modes of one molecule: the library's one harmonic-frequency function.

    hessian: (3N, 3N) eV/Å²; positions: (N, 3) Å; masses: (N,) amu (e.g. :func:`mlip_lab.physics.masses_of` of
    the atomic numbers). Atoms of mass 0 are padding and are left out, with their Hessian rows and columns, so a
    padded dataset row can be passed as it is; the result then describes the real atoms, in order.
    Translations and rotations are projected out exactly, so the result has 3N - 6 modes (3N - 5 for linear
    molecules). Raises ``MLIPLabError`` for mismatched shapes, non-finite numbers or negative masses.
    """
    hessian = torch.as_tensor(hessian, dtype=torch.float64)
    positions = torch.as_tensor(positions, dtype=torch.float64)
    masses = torch.as_tensor(masses, dtype=torch.float64)
    if positions.ndim != 2 or positions.shape[1] != 3 or masses.shape != positions.shape[:1]:
        raise MLIPLabError(f"need positions (N, 3) and masses (N,), got {tuple(positions.shape)} and {tuple(masses.shape)}")
    n = positions.shape[0]
    if hessian.shape != (3 * n, 3 * n):
        raise MLIPLabError(f"hessian must be (3N, 3N) = ({3 * n}, {3 * n}) for {n} atoms, got {tuple(hessian.shape)}")
    if not all(bool(torch.isfinite(t).all()) for t in (hessian, positions, masses)):
        raise MLIPLabError("the hessian, positions and masses must be finite (no NaN or infinity)")
    real = masses > 0
    if bool((masses < 0).any()) or not bool(real.any()):
        raise MLIPLabError("masses must be >= 0 amu (0 marks padding) with at least one real atom")
    coordinates = real.repeat_interleave(3)
    hessian, positions, masses = hessian[coordinates][:, coordinates], positions[real], masses[real]
    n = positions.shape[0]
    inv_sqrt_m = masses.repeat_interleave(3).rsqrt()
    mw = 0.5 * (hessian + hessian.T) * inv_sqrt_m[:, None] * inv_sqrt_m[None, :]
    rigid = rigid_body_basis(positions, masses)
    # Complement of the rigid-body space, so vibrations are exactly orthogonal to translations/rotations.
    q, _ = torch.linalg.qr(torch.cat([rigid, torch.eye(3 * n, dtype=torch.float64)], dim=1))
    internal = q[:, rigid.shape[1] : 3 * n]
    eigenvalues, vectors = torch.linalg.eigh(internal.T @ mw @ internal)
    modes_mw = (internal @ vectors).T
    cart = modes_mw * inv_sqrt_m[None, :]
    cart = cart / cart.norm(dim=1, keepdim=True)
    freqs = torch.sign(eigenvalues) * eigenvalues.abs().sqrt() * EIGENVALUE_TO_WAVENUMBER
    return HarmonicAnalysis(freqs, eigenvalues, modes_mw, cart.reshape(-1, n, 3))
