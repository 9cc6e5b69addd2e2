"""Geometries of growing size for the cost demos: water clusters (no labels; only sizes matter)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from mlip_lab.errors import MLIPLabError

WATER = np.array([[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]])  # Å, O H H


def water_cluster(n_molecules: int, n_configs: int = 1, seed: int = 0, spacing: float = 3.0):
    """(species (M, 3K) int, positions (M, 3K, 3) Å): K waters on a cubic grid ``spacing`` Å apart, each randomly
    turned and shifted by ~0.1 Å, for M = ``n_configs`` configurations."""
    if n_molecules < 1 or n_configs < 1:
        raise MLIPLabError(f"need at least one molecule and one configuration, got {n_molecules} and {n_configs}")
    rng = np.random.default_rng(seed)
    side = int(np.ceil(n_molecules ** (1 / 3) - 1e-9))
    grid = np.array([(i, j, k) for i in range(side) for j in range(side) for k in range(side)])
    sites = spacing * grid[:n_molecules]
    positions = np.empty((n_configs, 3 * n_molecules, 3))
    for c in range(n_configs):
        turns = Rotation.random(n_molecules, random_state=int(rng.integers(2**31))).as_matrix()
        shifts = 0.1 * rng.standard_normal((n_molecules, 1, 3))
        positions[c] = (np.einsum("mij,aj->mai", turns, WATER) + sites[:, None] + shifts).reshape(-1, 3)
    species = np.tile([8, 1, 1], (n_configs, n_molecules))
    return species, positions
