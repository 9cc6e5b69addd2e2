"""Value -> colour mapping shared by the molecule viewer and its colour bar (pure functions, no widgets)."""

from __future__ import annotations

import numpy as np
from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

from mlip_lab.errors import MLIPLabError

MISSING_COLOR = "#b0b0b0"  # atoms whose value is NaN, so a gap in the data is visible rather than coloured


def value_range(values, vmin: float | None = None, vmax: float | None = None) -> tuple[float, float]:
    """(vmin, vmax) for a colour scale: the finite data range unless given; never a zero-width range."""
    finite = np.asarray(values, dtype=float).reshape(-1)
    finite = finite[np.isfinite(finite)]
    lo = float(vmin) if vmin is not None else float(finite.min()) if finite.size else 0.0
    hi = float(vmax) if vmax is not None else float(finite.max()) if finite.size else 1.0
    if hi < lo:
        raise MLIPLabError(f"vmax ({hi}) must not be below vmin ({lo})")
    if hi == lo:  # one value (or all equal): widen so every atom maps to the middle colour
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _to_hex(color: str) -> str:
    """'rgb(r, g, b)' or '#rrggbb' -> '#rrggbb'."""
    if color.startswith("#"):
        return color.lower()
    r, g, b = (int(round(float(c))) for c in unlabel_rgb(color))
    return f"#{r:02x}{g:02x}{b:02x}"


def per_atom_colors(values, vmin: float, vmax: float, cmap: str = "Viridis") -> list[str]:
    """One '#rrggbb' per value: linear in [vmin, vmax] along the plotly colour scale ``cmap``.

    Values outside the range are clipped to its ends; NaN gets :data:`MISSING_COLOR`.
    """
    if not vmax > vmin:
        raise MLIPLabError(f"need vmin < vmax, got {vmin}, {vmax}; use value_range() to pick them")
    try:
        get_colorscale(cmap)
    except Exception as error:  # plotly raises a bare PlotlyError listing the valid names
        raise MLIPLabError(f"unknown colour scale {cmap!r}: {error}") from None
    values = np.asarray(values, dtype=float).reshape(-1)
    fractions = np.clip((values - vmin) / (vmax - vmin), 0.0, 1.0)
    finite = np.isfinite(values)
    sampled = sample_colorscale(cmap, fractions[finite].tolist()) if finite.any() else []
    colors = iter(_to_hex(c) for c in sampled)
    return [next(colors) if ok else MISSING_COLOR for ok in finite]


def colorbar_stops(vmin: float, vmax: float, cmap: str = "Viridis", n: int = 11) -> list[tuple[float, str]]:
    """(value, '#rrggbb') at ``n`` evenly spaced values from vmin to vmax, for drawing a colour bar."""
    values = np.linspace(vmin, vmax, n)
    return list(zip(values.tolist(), per_atom_colors(values, vmin, vmax, cmap)))
