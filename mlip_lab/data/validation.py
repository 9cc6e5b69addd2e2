"""Boundary checks for dataset arrays. Every failure is an :class:`MLIPLabError` naming the source,
the field, the configuration and what to do about it."""

from __future__ import annotations

import numpy as np

from mlip_lab.errors import MLIPLabError

REQUIRED = ("species", "positions", "energies")
KNOWN_CATEGORIES = ("min", "reactant", "product", "ts", "irc", "nms", "md", "other")
MAX_Z = 118
HESSIAN_SYMMETRY_ATOL = 1e-3  # eV/Å²; DFT Hessians are symmetric to ~1e-4
HESSIAN_SYMMETRY_RTOL = 1e-5


def _fail(source: str, message: str):
    raise MLIPLabError(f"{source}: {message}")


def _first_bad(mask: np.ndarray) -> int:
    """Index of the first configuration (axis 0) where ``mask`` has a True entry."""
    return int(np.flatnonzero(mask.reshape(len(mask), -1).any(axis=1))[0])


def _as_float(source, name, value, shape):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        _fail(source, f"'{name}' must be numeric ({exc})")
    if arr.shape != shape:
        _fail(source, f"'{name}' has shape {arr.shape}, expected {shape}")
    return arr


def validate_arrays(arrays: dict, source: str = "dataset") -> dict:
    """Check and normalise the per-configuration arrays of a dataset; returns the converted arrays.

    ``arrays`` maps field names (see :class:`mlip_lab.data.Dataset`) to arrays or None.
    """
    for name in REQUIRED:
        if arrays.get(name) is None:
            _fail(source, f"missing required field '{name}' (a dataset needs species, positions and energies)")
    species = np.asarray(arrays["species"])
    if species.ndim != 2:
        _fail(source, f"'species' must be (M, N) atomic numbers, got shape {species.shape}")
    m, n = species.shape
    if m == 0:
        _fail(source, "contains no configurations")
    if n == 0:
        _fail(source, "configurations have no atoms (species has N = 0)")
    if not np.issubdtype(species.dtype, np.integer):
        if not np.issubdtype(species.dtype, np.floating) or np.any(species != np.round(species)):
            _fail(source, f"'species' must hold integer atomic numbers, got dtype {species.dtype}")
    species = species.astype(np.int64)
    bad = (species < 0) | (species > MAX_Z)
    if bad.any():
        i = _first_bad(bad)
        _fail(source, f"configuration {i}: unknown atomic number(s) {sorted(set(species[i][bad[i]].tolist()))} (valid: 1-{MAX_Z}, 0 = padding)")
    real = species > 0
    if not real.any(axis=1).all():
        _fail(source, f"configuration {_first_bad(~real.any(axis=1)[:, None])} has no atoms (all species are 0 = padding)")
    # Padding must be trailing: once a row has a 0, every later slot is 0.
    trailing_ok = np.all(real[:, 1:] <= real[:, :-1], axis=1) if n > 1 else np.ones(m, bool)
    if not trailing_ok.all():
        i = int(np.flatnonzero(~trailing_ok)[0])
        _fail(source, f"configuration {i}: padding (species 0) must come after all real atoms, got {species[i].tolist()}")

    out = {"species": species}
    positions = _as_float(source, "positions", arrays["positions"], (m, n, 3))
    energies = _as_float(source, "energies", arrays["energies"], (m,))
    out["positions"], out["energies"] = positions, energies
    shapes = {
        "forces": (m, n, 3), "hessians": (m, 3 * n, 3 * n), "atomic_energies": (m, n), "cells": (m, 3, 3),
    }
    for name, shape in shapes.items():
        value = arrays.get(name)
        if value is None:
            out[name] = None
            continue
        if name == "hessians":
            h = np.asarray(value)
            if h.ndim != 3 or h.shape[0] != m or h.shape[1] != h.shape[2]:
                _fail(source, f"'hessians' must be square (M, 3N, 3N) = {shape}, got {h.shape}")
        out[name] = _as_float(source, name, value, shape)
    for name in ("positions", "energies", "forces", "hessians", "atomic_energies", "cells"):
        arr = out[name]
        if arr is not None and not np.isfinite(arr).all():
            i = _first_bad(~np.isfinite(arr))
            _fail(source, f"configuration {i}: '{name}' contains NaN or infinite values; drop or fix that configuration")
    pad = ~real
    for name in ("positions", "forces"):
        arr = out[name]
        if arr is not None and np.any(arr[pad] != 0):
            i = _first_bad(np.abs(arr * pad[..., None]) > 0)
            _fail(source, f"configuration {i}: padded atoms (species 0) must have zero '{name}'")
    if out["atomic_energies"] is not None and np.any(out["atomic_energies"][pad] != 0):
        _fail(source, f"configuration {_first_bad(np.abs(out['atomic_energies'] * pad) > 0)}: padded atoms must have zero 'atomic_energies'")
    if out["hessians"] is not None:
        h = out["hessians"]
        pad3 = np.repeat(pad, 3, axis=1)
        padded_rows = (np.abs(h).max(axis=2) > 0) & pad3
        padded_cols = (np.abs(h).max(axis=1) > 0) & pad3
        if padded_rows.any() or padded_cols.any():
            i = _first_bad(padded_rows | padded_cols)
            _fail(source, f"configuration {i}: Hessian rows and columns of padded atoms (species 0) must be zero")
        asym = np.abs(h - h.transpose(0, 2, 1)).max(axis=(1, 2))
        tol = HESSIAN_SYMMETRY_ATOL + HESSIAN_SYMMETRY_RTOL * np.abs(h).max(axis=(1, 2))
        if np.any(asym > tol):
            i = int(np.flatnonzero(asym > tol)[0])
            _fail(source, f"configuration {i}: Hessian is not symmetric (max |H - H^T| = {asym[i]:.3g} eV/Å², tolerance {tol[i]:.3g}); "
                          "if this is round-off, store (H + H.T) / 2")
    pbc = arrays.get("pbc")
    if pbc is not None:
        pbc = np.asarray(pbc)
        if pbc.shape != (m, 3):
            _fail(source, f"'pbc' has shape {pbc.shape}, expected {(m, 3)}")
        pbc = pbc.astype(bool)
        if out["cells"] is None and pbc.any():
            _fail(source, "periodic flags are set but no 'cells' are given")
    out["pbc"] = pbc
    for name in ("molecule", "category"):
        labels = np.asarray(arrays[name], dtype=str)
        if labels.shape != (m,):
            _fail(source, f"'{name}' labels have shape {labels.shape}, expected ({m},)")
        out[name] = labels
    unknown = sorted(set(out["category"].tolist()) - set(KNOWN_CATEGORIES))
    if unknown:
        _fail(source, f"unknown categories {unknown}; use one of {list(KNOWN_CATEGORIES)}")
    out["temperature"] = _as_float(source, "temperature", arrays["temperature"], (m,))
    return out
