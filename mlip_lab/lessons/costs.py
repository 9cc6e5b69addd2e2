"""Cost demo of lesson 02: wall-clock seconds of one Hessian-vector product against a full Hessian."""

from __future__ import annotations

import time

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics import model_hessian, model_hvp


def seconds_per_call(fn, repeats: int = 3) -> float:
    """The fastest of ``repeats`` timed calls of ``fn()`` after one untimed warm-up call (fastest: least
    disturbed by other work on the machine)."""
    if repeats < 1:
        raise MLIPLabError(f"repeats must be at least 1, got {repeats}")
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def curvature_cost(model, species: torch.Tensor, positions: torch.Tensor, repeats: int = 3) -> dict[str, float]:
    """Seconds for one HVP (double backward, one probe per configuration) and for the full Hessians of the
    (B, N) batch ``species``, (B, N, 3) ``positions``: {"hvp": s, "hessian": s}."""
    vectors = torch.ones_like(positions) / (3 * positions.shape[1]) ** 0.5
    return {
        "hvp": seconds_per_call(lambda: model_hvp(model, species, positions, vectors), repeats),
        "hessian": seconds_per_call(lambda: model_hessian(model, species, positions), repeats),
    }
