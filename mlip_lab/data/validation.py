"""Boundary checks for dataset arrays. Every failure is an :class:`MLIPLabError` naming the source,
the field, the configuration and what to do about it."""

from __future__ import annotations

import numpy as np

from mlip_lab.errors import MLIPLabError

REQUIRED = ("species", "positions")
# How a configuration was made: minima, reaction end points, transition states, IRC points, normal-mode samples,
# MD snapshots, coarse-grained frames (MD snapshots mapped to beads), anything else.
CATEGORIES = ("min", "reactant", "product", "ts", "irc", "nms", "md", "cg", "other")
MAX_Z = 118
MIN_DISTANCE = 0.1  # Å; closer atoms make HIP-NN's 1/r sensitivities blow up (NaN or inf energies)
_PAIR_CHUNK = 2_000_000  # pair vectors handled at once, so the check never needs more than ~100 MB
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
            _fail(source, f"missing required field '{name}' (a dataset needs species, positions and energies, forces or both)")
    if arrays.get("energies") is None and arrays.get("forces") is None:
        _fail(source, "has neither energies nor forces; give energies, forces (e.g. coarse-grained force-matching "
                      "data) or both")
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
    energies = None if arrays.get("energies") is None else _as_float(source, "energies", arrays["energies"], (m,))
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
        try:
            labels = np.asarray(arrays[name], dtype=str)
        except (TypeError, ValueError) as exc:  # e.g. bytes that are not UTF-8
            _fail(source, f"'{name}' labels must be text ({exc})")
        if labels.shape != (m,):
            _fail(source, f"'{name}' labels have shape {labels.shape}, expected ({m},)")
        out[name] = labels
    unknown = sorted(set(out["category"].tolist()) - set(CATEGORIES))
    if unknown:
        _fail(source, f"unknown categories {_shorten(unknown)}; use one of {list(CATEGORIES)}")
    temperature = _as_float(source, "temperature", arrays["temperature"], (m,))
    bad = np.isinf(temperature) | (temperature < 0)  # NaN is allowed: it marks "does not apply"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _fail(source, f"configuration {i}: 'temperature' is {temperature[i]} K; use a finite value >= 0, or NaN where it does not apply")
    out["temperature"] = temperature
    check_atoms_apart(species, positions, out["cells"], out["pbc"], source=source)
    return out


def _shorten(items: list, limit: int = 5) -> str:
    """``items`` as a list literal, cut after ``limit`` entries so one bad file gives a one-line message."""
    shown = ", ".join(repr(x) for x in items[:limit])
    return f"[{shown}, ... ({len(items)} in all)]" if len(items) > limit else f"[{shown}]"


def check_atoms_apart(species, positions, cells=None, pbc=None, source: str = "input",
                      min_distance: float = MIN_DISTANCE) -> None:
    """Raise :class:`MLIPLabError` unless every pair of real atoms is at least ``min_distance`` Å apart.

    species (N,) or (B, N) atomic numbers (0 = padding, ignored); positions (N, 3) or (B, N, 3) Å;
    cells (3, 3) or (B, 3, 3) Å and pbc (3,) or (B, 3) bool (or one bool) for periodic configurations,
    where distances are minimum-image ones (ASE's ``find_mic``, exact for any cell shape). numpy arrays,
    torch tensors (any device) and lists are accepted. Coinciding atoms make the model's 1/r terms infinite,
    so every reader and every model or MD entry point calls this before a model sees the geometry.
    Positions of real atoms must be finite; periodic cells need independent vectors at least
    ``min_distance`` long (or each atom would sit on its own image).
    """
    species, positions = _numpy(species), _numpy(positions).astype(np.float64, copy=False)
    single = positions.ndim == 2
    if single:
        species, positions = species[None], positions[None]
    if positions.ndim != 3 or positions.shape[-1] != 3 or species.shape != positions.shape[:2]:
        _fail(source, f"species {species.shape} and positions {positions.shape} must be (N,) and (N, 3), "
                      "or (B, N) and (B, N, 3)")
    m = len(positions)
    real = species > 0
    bad = ~np.isfinite(positions).all(axis=-1) & real
    if bad.any():
        i = _first_bad(bad)
        _fail(source, f"configuration {i}: atom {int(np.flatnonzero(bad[i])[0])} has a NaN or infinite position")
    periodic = _batched(pbc, (m, 3), single, "pbc", source, np.zeros((m, 3))).astype(bool)
    if cells is None and periodic.any():
        _fail(source, "periodic flags are set but no cell is given")
    cells = _batched(cells, (m, 3, 3), single, "cells", source, None)
    is_periodic = periodic.any(axis=1)
    _check_open(species, positions, np.flatnonzero(~is_periodic), source, min_distance)
    for b in np.flatnonzero(is_periodic):
        _check_cell(cells[b], periodic[b], source, b, min_distance)
        _check_periodic(positions[b, real[b]], np.flatnonzero(real[b]), cells[b], periodic[b], source, b, min_distance)


def _numpy(value) -> np.ndarray:
    """numpy view of an array, list or torch tensor (duck-typed so this module needs no torch import)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _batched(value, shape, single, name, source, default):
    """``value`` broadcast to the batched ``shape`` (a single configuration's value gains the batch axis)."""
    if value is None:
        return default
    value = _numpy(value).astype(np.float64 if name == "cells" else bool)
    if single and value.ndim == len(shape) - 1:
        value = value[None]
    try:
        return np.broadcast_to(value, shape)
    except ValueError:
        _fail(source, f"'{name}' has shape {value.shape}, expected {shape} (or {shape[1:]} for every configuration)")


def _report_close(source, b, i, j, distance, min_distance):
    _fail(source, f"configuration {b}: atoms {i} and {j} are {distance:.3g} Å apart, closer than {min_distance} Å "
                  "(MIN_DISTANCE); the model's 1/r terms would be infinite or NaN. Remove duplicated atoms or fix the coordinates")


def _check_open(species, positions, configs, source, min_distance) -> None:
    """Non-periodic configurations, vectorised over chunks of configurations to bound memory."""
    n = positions.shape[1]
    if n < 2 or len(configs) == 0:
        return
    step = max(1, _PAIR_CHUNK // (n * n))
    for start in range(0, len(configs), step):
        idx = configs[start : start + step]
        pos, real = positions[idx], species[idx] > 0
        with np.errstate(over="ignore", invalid="ignore"):  # huge coordinates give inf: far apart, which is fine
            lengths = np.linalg.norm(pos[:, :, None] - pos[:, None, :], axis=-1)
        pairs = real[:, :, None] & real[:, None, :] & ~np.eye(n, dtype=bool)
        close = pairs & (lengths < min_distance)
        if close.any():
            c, i, j = np.argwhere(close)[0]
            _report_close(source, int(idx[c]), int(i), int(j), lengths[c, i, j], min_distance)


def _check_cell(cell, periodic, source, b, min_distance) -> None:
    from ase.geometry import complete_cell

    if not np.isfinite(cell).all():
        _fail(source, f"configuration {b}: the cell contains NaN or infinite values")
    lengths = np.linalg.norm(cell, axis=1)
    short = periodic & (lengths < min_distance)
    if short.any():
        k = int(np.flatnonzero(short)[0])
        _fail(source, f"configuration {b}: periodic cell vector {k} is {lengths[k]:.3g} Å long, so each atom would sit "
                      f"within {min_distance} Å of its own image; give the real cell or turn pbc off along that axis")
    full = complete_cell(cell)
    volume = abs(np.linalg.det(full))
    if not volume > 1e-6 * np.prod(np.linalg.norm(full, axis=1)):
        _fail(source, f"configuration {b}: the cell vectors are (nearly) linearly dependent (volume {volume:.3g} Å³); "
                      "a periodic cell needs three independent vectors")


def _wrapped(fraction_differences: np.ndarray, periodic: bool) -> np.ndarray:
    """Differences of fractional coordinates along one axis, to the nearest image when that axis is periodic."""
    return fraction_differences - np.round(fraction_differences) if periodic else fraction_differences


def _check_periodic(positions, atoms, cell, periodic, source, b, min_distance) -> None:
    """Minimum-image distances of one periodic configuration, in chunks of rows to bound memory.

    A vector x shorter than r has every fractional coordinate |x . g_a| < r |g_a| (g_a: columns of the
    inverse cell), so only pairs passing that test after wrapping go to ASE's exact (slower) ``find_mic``.
    """
    from ase.geometry import complete_cell, find_mic

    inverse = np.linalg.inv(complete_cell(cell))
    reach = min_distance * np.linalg.norm(inverse, axis=0)  # (3,) largest |fraction| of a short vector
    fractions = positions @ inverse
    n = len(positions)
    rows = max(1, _PAIR_CHUNK // max(n, 1))
    for start in range(0, n, rows):
        i = np.arange(start, min(start + rows, n))
        # One axis over all pairs, the other two only on the few pairs that pass it (3x less work in a liquid).
        candidate = np.abs(_wrapped(fractions[None, :, 0] - fractions[i, None, 0], periodic[0])) < reach[0]
        candidate[np.arange(len(i)), i] = False  # an atom and itself; its own images are covered by _check_cell
        r, c = np.nonzero(candidate)
        for axis in (1, 2):
            keep = np.abs(_wrapped(fractions[c, axis] - fractions[i[r], axis], periodic[axis])) < reach[axis]
            r, c = r[keep], c[keep]
        if len(r) == 0:
            continue
        lengths = find_mic(positions[c] - positions[i[r]], cell, periodic)[1]
        close = np.flatnonzero(lengths < min_distance)
        if len(close):
            k = close[0]
            _report_close(source, b, int(atoms[i[r[k]]]), int(atoms[c[k]]), lengths[k], min_distance)
