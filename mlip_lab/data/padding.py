"""Ragged per-configuration arrays -> one zero-padded array: the one helper every reader and builder uses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlip_lab.errors import MLIPLabError


def pad_ragged(rows: Sequence, length: int | None = None, axes: int = 1, dtype=None) -> np.ndarray:
    """Stack arrays whose first ``axes`` axes differ in length into one array, zero-padded at the end.

    rows: M arrays, e.g. positions (N_m, 3) with ``axes=1`` -> (M, N, 3), or Hessians (3N_m, 3N_m) with
    ``axes=2`` -> (M, 3N, 3N). Trailing axes (beyond ``axes``) must agree. ``length``: the padded size of
    the ragged axes (default the largest row's); a row longer than it is an error. ``dtype``: of the result
    (default numpy's common type of the rows).
    """
    arrays = [np.asarray(row) for row in rows]
    if not arrays:
        raise MLIPLabError("pad_ragged needs at least one row")
    if any(a.ndim < axes for a in arrays):
        raise MLIPLabError(f"every row needs at least {axes} axes to pad, got shapes {sorted({a.shape for a in arrays})}")
    trailing = {a.shape[axes:] for a in arrays}
    if len(trailing) > 1:
        raise MLIPLabError(f"rows disagree beyond their first {axes} axes: shapes {sorted(trailing)}")
    longest = max(max(a.shape[:axes], default=0) for a in arrays)
    length = longest if length is None else int(length)
    if longest > length:
        raise MLIPLabError(f"a row of length {longest} does not fit the padded length {length}")
    dtype = np.result_type(*arrays) if dtype is None else dtype
    out = np.zeros((len(arrays),) + (length,) * axes + trailing.pop(), dtype=dtype)
    for i, a in enumerate(arrays):
        out[(i,) + tuple(slice(0, n) for n in a.shape[:axes])] = a
    return out
