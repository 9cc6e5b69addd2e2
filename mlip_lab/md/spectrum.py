"""Vibrational spectra from the velocity autocorrelation of an MD run.

The power spectrum of the mass-weighted velocity autocorrelation function (VACF) has peaks at the
vibrational frequencies the dynamics actually visits, anharmonicity included; at low temperature they approach
the harmonic frequencies of the Hessian (:func:`mlip_lab.physics.harmonic_analysis` of
:func:`mlip_lab.physics.model_hessian`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.units import FS_S, SPEED_OF_LIGHT_CM_PER_S

# A frequency in 1/fs is this many cm^-1 (wavenumber = frequency / c).
PER_FS_IN_WAVENUMBER = 1.0 / (FS_S * SPEED_OF_LIGHT_CM_PER_S)


def verlet_wavenumbers(wavenumbers, timestep_fs: float) -> np.ndarray:
    """Where velocity Verlet with step ``timestep_fs`` puts a harmonic vibration of ``wavenumbers`` (cm^-1).

    The discrete dynamics of x'' = -w^2 x turns by 2 arcsin(w dt / 2) per step instead of w dt, so its frequency is
    w_eff = (2 / dt) arcsin(w dt / 2) > w: about +10 cm^-1 at 3000 cm^-1 with 0.5 fs. NaN beyond the stability limit
    w dt > 2. Any shape in, same shape out.
    """
    if not timestep_fs > 0:
        raise MLIPLabError(f"timestep_fs must be positive, got {timestep_fs}")
    omega = 2.0 * math.pi * np.asarray(wavenumbers, dtype=float) / PER_FS_IN_WAVENUMBER  # rad/fs
    half_angle = omega * timestep_fs / 2.0
    with np.errstate(invalid="ignore"):
        shifted = 2.0 / timestep_fs * np.arcsin(np.where(half_angle <= 1.0, half_angle, np.nan))
    return shifted / (2.0 * math.pi) * PER_FS_IN_WAVENUMBER


def spectral_resolution(n_lags: int, timestep_fs: float) -> float:
    """1 / (c T_lag) in cm^-1: the finest detail a VACF of ``n_lags`` lags spaced ``timestep_fs`` apart resolves."""
    if int(n_lags) != n_lags or n_lags < 2 or not timestep_fs > 0:
        raise MLIPLabError(f"need n_lags >= 2 and a positive timestep_fs, got {n_lags} and {timestep_fs}")
    return PER_FS_IN_WAVENUMBER / (n_lags * timestep_fs)


def velocity_autocorrelation(velocities: torch.Tensor, masses: torch.Tensor, max_lag: int | None = None) -> torch.Tensor:
    """Normalised mass-weighted VACF C(t) = <sum_i m_i v_i(0).v_i(t)> / <sum_i m_i v_i(0)^2> per replica.

    velocities: (T, B, N, 3) Å/fs, equally spaced frames; masses: (B, N) amu. Averaged over time origins (the
    biased estimator, which keeps the spectrum non-negative) via FFT. Returns (L, B) for lags 0..L-1,
    L = max_lag or T // 2.
    """
    v = torch.as_tensor(velocities, dtype=torch.float64)
    m = torch.as_tensor(masses, dtype=torch.float64)
    if v.ndim != 4 or v.shape[-1] != 3 or m.shape != v.shape[1:3]:
        raise MLIPLabError(f"need velocities (T, B, N, 3) and masses (B, N), got {tuple(v.shape)} and {tuple(m.shape)}")
    frames = v.shape[0]
    lags = max_lag or frames // 2
    if not 2 <= lags <= frames:
        raise MLIPLabError(f"max_lag must be between 2 and the number of frames {frames}, got {lags}")
    weighted = (v * m.sqrt()[None, :, :, None]).reshape(frames, v.shape[1], -1)
    spectrum = torch.fft.rfft(weighted, n=2 * frames, dim=0)  # zero padding: linear, not circular, correlation
    correlation = torch.fft.irfft(spectrum.abs() ** 2, n=2 * frames, dim=0)[:lags].sum(-1) / frames
    return correlation / correlation[:1].clamp(min=1e-300)


def vibrational_spectrum(velocities: torch.Tensor, masses: torch.Tensor, timestep_fs: float,
                         max_lag: int | None = None, resolution: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Wavenumbers (K,) in cm^-1 and the spectrum (K, B), each replica scaled to a maximum of 1.

    The cosine transform of the VACF (:func:`velocity_autocorrelation`) tapered by a Hann window so that the
    finite run does not ring. timestep_fs: time between frames; resolution: zero-padding factor (finer grid).
    """
    if not timestep_fs > 0:
        raise MLIPLabError(f"timestep_fs must be positive, got {timestep_fs}")
    vacf = velocity_autocorrelation(velocities, masses, max_lag)
    lags = vacf.shape[0]
    window = torch.cos(0.5 * math.pi * torch.arange(lags, dtype=torch.float64) / lags) ** 2
    tapered = vacf * window[:, None]
    n = 2 * lags * resolution
    # Even extension C(-t) = C(t): the transform is real, 2 Re sum_t C(t) e^{-i w t} - C(0).
    intensity = 2.0 * torch.fft.rfft(tapered, n=n, dim=0).real - tapered[:1]
    intensity = intensity.clamp(min=0.0)
    intensity = intensity / intensity.amax(0, keepdim=True).clamp(min=1e-300)
    wavenumbers = np.fft.rfftfreq(n, d=timestep_fs) * PER_FS_IN_WAVENUMBER
    return wavenumbers, intensity.numpy()


def spectrum_peaks(wavenumbers, intensity, min_height: float = 0.05, min_wavenumber: float = 200.0) -> np.ndarray:
    """Wavenumbers (cm^-1) of the local maxima of a spectrum (K,) higher than ``min_height`` times its maximum,
    ignoring the low-frequency end below ``min_wavenumber`` (rotations and slow drifts), ascending."""
    x, y = np.asarray(wavenumbers, dtype=float), np.asarray(intensity, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise MLIPLabError(f"need wavenumbers and intensity of the same shape (K,), got {x.shape} and {y.shape}")
    inner = (y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:]) & (y[1:-1] > min_height * y.max()) & (x[1:-1] >= min_wavenumber)
    return x[1:-1][inner]
