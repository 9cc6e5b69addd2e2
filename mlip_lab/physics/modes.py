"""Displacements along normal modes, for animating a vibration (pure tensor functions)."""

from __future__ import annotations

import math

import torch

from mlip_lab.errors import MLIPLabError


def mode_frames(positions, mode, amplitude: float = 0.3, n_frames: int = 24) -> torch.Tensor:
    """(F, N, 3) positions R + A sin(2 pi f / F) m for f = 0 .. F-1: one period of a vibration.

    positions: (N, 3) Å; mode: (N, 3) Cartesian displacement direction (e.g. a row of
    ``HarmonicAnalysis.modes_cartesian``, unit length); amplitude A in Å of the largest atom displacement.
    """
    positions = torch.as_tensor(positions, dtype=torch.float64)
    mode = torch.as_tensor(mode, dtype=torch.float64)
    if mode.shape != positions.shape:
        raise MLIPLabError(f"mode must be shaped like positions {tuple(positions.shape)}, got {tuple(mode.shape)}")
    if n_frames < 2:
        raise MLIPLabError(f"an animation needs at least 2 frames, got {n_frames}")
    largest = mode.norm(dim=1).max()
    if largest == 0:
        raise MLIPLabError("the mode is all zeros; pick a vibrational mode")
    phases = torch.sin(2 * math.pi * torch.arange(n_frames, dtype=torch.float64) / n_frames)
    return positions + amplitude * phases[:, None, None] * (mode / largest)
