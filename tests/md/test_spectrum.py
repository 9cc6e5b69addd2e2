"""Vibrational spectra: the VACF spectrum of a harmonic diatomic peaks at its analytic frequency, which is also
what the Hessian-based harmonic analysis gives."""

import math

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.md import (
    AMU_A2_PER_FS2_IN_EV, FrameRecorder, HarmonicBonds, make_state, run_md, spectrum_peaks, velocity_autocorrelation,
    velocity_verlet, vibrational_spectrum,
)
from mlip_lab.md.spectrum import PER_FS_IN_WAVENUMBER
from mlip_lab.physics import harmonic_analysis, masses_of

K, R0 = 20.0, 0.74
SPECIES = torch.tensor([[1, 1]])
REFERENCE = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, R0]]], dtype=torch.float64)


def analytic_wavenumber(mass=1.008):
    omega = math.sqrt(K / (0.5 * mass * AMU_A2_PER_FS2_IN_EV))  # rad/fs
    return omega / (2 * math.pi) * PER_FS_IN_WAVENUMBER


def test_harmonic_analysis_of_the_spring_hessian_gives_the_analytic_frequency():
    springs = HarmonicBonds(SPECIES, REFERENCE, k=K)
    hessian = torch.autograd.functional.hessian(lambda x: springs(SPECIES, x[None])[0].sum(), REFERENCE[0])
    frequencies = harmonic_analysis(hessian.reshape(6, 6), REFERENCE[0], masses_of(SPECIES[0])).frequencies_cm
    assert frequencies.shape == (1,)  # a diatomic has one vibration
    assert frequencies[0].item() == pytest.approx(analytic_wavenumber(), rel=1e-6)


def test_vacf_spectrum_peaks_at_the_harmonic_frequency():
    start = REFERENCE.clone()
    start[0, 1, 2] += 0.05
    # Released from rest: a pure vibration (a rotating diatomic would add rotational side bands in the lab frame).
    state = make_state(SPECIES.repeat(2, 1), start.repeat(2, 1, 1), velocities=torch.zeros(2, 2, 3), dtype=torch.float64)
    frames = FrameRecorder(every=1)
    run_md(state, velocity_verlet(HarmonicBonds(state.species, REFERENCE.repeat(2, 1, 1), k=K), 0.2), 4000, [frames],
           progress=False)
    vacf = velocity_autocorrelation(frames.velocities, frames.masses)
    assert torch.allclose(vacf[0], torch.ones(2, dtype=torch.float64))
    wavenumbers, intensity = vibrational_spectrum(frames.velocities, frames.masses, 0.2)
    [peak] = spectrum_peaks(wavenumbers, intensity[:, 0], min_height=0.2)
    # Verlet shifts the frequency by ~(omega dt)^2 / 24 and the grid spacing limits the resolution.
    assert peak == pytest.approx(analytic_wavenumber(), rel=0.01)
    assert wavenumbers[1] - wavenumbers[0] < 0.01 * peak


def test_spectrum_input_is_validated():
    with pytest.raises(MLIPLabError):
        velocity_autocorrelation(torch.zeros(10, 2, 3), torch.ones(2, 3))
    with pytest.raises(MLIPLabError):
        vibrational_spectrum(torch.zeros(10, 1, 2, 3), torch.ones(1, 2), 0.0)
    with pytest.raises(MLIPLabError):
        spectrum_peaks(np.zeros(3), np.zeros(4))


def test_verlet_moves_a_harmonic_line_up_by_the_arcsin_rule():
    from mlip_lab.md import spectral_resolution, verlet_wavenumbers

    # The example: +10 cm^-1 at 3000 cm^-1 with 0.5 fs steps; beyond w dt = 2 Verlet is unstable.
    assert verlet_wavenumbers(3000.0, 0.5) - 3000.0 == pytest.approx(10.0, abs=0.5)
    assert np.isnan(verlet_wavenumbers(3000.0, 5.0)) and verlet_wavenumbers(0.0, 0.5) == 0.0
    # The spring integrated at a coarse step (w dt = 1.2): the measured period matches the shifted line, not w.
    dt, steps = 2.0, 20000
    start = REFERENCE.clone()
    start[0, 1, 2] += 0.02
    state = make_state(SPECIES, start, velocities=torch.zeros(1, 2, 3), dtype=torch.float64)
    frames = FrameRecorder(every=1, velocities=False)
    run_md(state, velocity_verlet(HarmonicBonds(SPECIES, REFERENCE, k=K), dt), steps, [frames], progress=False)
    bond = (frames.positions[:, 0, 1, 2] - frames.positions[:, 0, 0, 2] - R0).numpy()
    crossings = np.flatnonzero(np.diff(np.sign(bond)) != 0)
    measured = (len(crossings) - 1) / 2 / ((crossings[-1] - crossings[0]) * dt) * PER_FS_IN_WAVENUMBER
    assert measured == pytest.approx(verlet_wavenumbers(analytic_wavenumber(), dt), rel=2e-3)
    assert measured > 1.05 * analytic_wavenumber()
    assert spectral_resolution(1000, 1.0) == pytest.approx(PER_FS_IN_WAVENUMBER / 1000)
    with pytest.raises(MLIPLabError):
        verlet_wavenumbers(3000.0, 0.0)
