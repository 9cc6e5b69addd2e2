"""Harmonic analysis: mode counts, rigid-body projection and a diatomic with a known frequency."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.physics.harmonic import harmonic_analysis, rigid_body_basis
from mlip_lab.physics.units import EIGENVALUE_TO_WAVENUMBER


def diatomic_hessian(k, axis=np.array([0.0, 0.0, 1.0])):
    block = k * np.outer(axis, axis)
    return np.block([[block, -block], [-block, block]])


def test_diatomic_frequency_is_sqrt_k_over_reduced_mass():
    k, masses = 30.0, np.array([1.008, 15.999])
    result = harmonic_analysis(diatomic_hessian(k), np.array([[0, 0, 0], [0, 0, 0.97]]), masses)
    assert result.frequencies_cm.shape == (1,)  # linear: 3N - 5 = 1 mode
    mu = masses.prod() / masses.sum()
    assert result.frequencies_cm[0].item() == pytest.approx(np.sqrt(k / mu) * EIGENVALUE_TO_WAVENUMBER, rel=1e-10)
    # the same in SI units, independent of the module's constant: omega = sqrt(k / mu), nu = omega / (2 pi c)
    k_si = k * 1.602176634e-19 / 1e-20
    mu_si = mu * 1.66053906660e-27
    expected = np.sqrt(k_si / mu_si) / (2 * np.pi * 2.99792458e10)
    assert result.frequencies_cm[0].item() == pytest.approx(expected, rel=1e-8)
    assert 2900 < expected < 2970


def test_nonlinear_molecule_recovers_planted_modes_including_an_imaginary_one():
    rng = np.random.default_rng(0)
    pos = np.array([[0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58], [0.5, 0.1, -0.7]])
    masses = np.array([16.0, 1.0, 1.0, 1.0])
    rigid = rigid_body_basis(torch.tensor(pos), torch.tensor(masses)).numpy()
    assert rigid.shape == (12, 6)
    # plant eigenvalues in the internal (non-rigid) mass-weighted space
    q, _ = np.linalg.qr(np.concatenate([rigid, rng.normal(size=(12, 12))], axis=1))
    internal = q[:, 6:12]
    planted = np.array([-2.0, 1.0, 3.0, 5.0, 7.0, 9.0])
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    h_mw = internal @ rotation @ np.diag(planted) @ rotation.T @ internal.T
    sqrt_m = np.sqrt(np.repeat(masses, 3))
    result = harmonic_analysis(h_mw * sqrt_m[:, None] * sqrt_m[None, :], pos, masses)
    np.testing.assert_allclose(result.eigenvalues.numpy(), planted, atol=1e-10)
    assert result.n_imaginary == 1 and result.frequencies_cm[0] < 0
    assert result.modes_cartesian.shape == (6, 4, 3)
    assert np.abs(result.modes_mass_weighted.numpy() @ rigid).max() < 1e-10


def test_padded_rows_give_the_analysis_of_the_real_atoms():
    # A padding atom (mass 0) placed first, with junk in its Hessian rows, is dropped with them.
    k, masses = 30.0, np.array([1.008, 15.999])
    positions = np.array([[0, 0, 0], [0, 0, 0.97]])
    alone = harmonic_analysis(diatomic_hessian(k), positions, masses)
    padded_hessian = np.full((9, 9), 7.0)
    padded_hessian[3:, 3:] = diatomic_hessian(k)
    padded = harmonic_analysis(padded_hessian, np.vstack([[5.0, 5.0, 5.0], positions]), np.concatenate([[0.0], masses]))
    assert torch.equal(padded.frequencies_cm, alone.frequencies_cm)
    assert padded.modes_cartesian.shape == (1, 2, 3)


@pytest.mark.parametrize("hessian, positions, masses, match", [
    (np.eye(6), np.zeros((3, 3)), np.ones(3), r"\(3N, 3N\)"),
    (np.eye(6), np.zeros((2, 3)), np.ones(3), r"masses \(N,\)"),
    (np.eye(6), np.zeros((2, 2)), np.ones(2), r"positions \(N, 3\)"),
    (np.full((6, 6), np.nan), np.zeros((2, 3)), np.ones(2), "finite"),
    (np.eye(6), np.array([[0, 0, 0], [0, 0, np.inf]]), np.ones(2), "finite"),
    (np.eye(6), np.zeros((2, 3)), np.array([1.0, -1.0]), ">= 0 amu"),
    (np.eye(6), np.zeros((2, 3)), np.zeros(2), "at least one real atom"),
])
def test_malformed_input_is_rejected(hessian, positions, masses, match):
    with pytest.raises(MLIPLabError, match=match):
        harmonic_analysis(hessian, positions, masses)
