"""CG-like frames built in code: beads of one type in a periodic cubic box with forces from a known soft pair
repulsion, labelled like mapped methanol data (bead code 1, 32.042 amu)."""

import numpy as np
import pytest

from mlip_lab.data import Dataset

BEAD_TYPES = {"1": {"name": "MeOH", "mass": 32.042}}


def soft_repulsion_forces(positions: np.ndarray, box: float, strength: float = 0.5, width: float = 1.0) -> np.ndarray:
    """Forces (N, 3) eV/Å of E = strength * sum_{i<j} exp(-r_ij / width) with minimum image in a cubic box."""
    vectors = positions[None, :, :] - positions[:, None, :]  # r_ij = R_j - R_i
    vectors -= box * np.round(vectors / box)
    distances = np.linalg.norm(vectors, axis=-1)
    np.fill_diagonal(distances, np.inf)
    # dE/dr = -(strength / width) exp(-r / width); the force on i pushes it away from j.
    magnitude = strength / width * np.exp(-distances / width)
    return -(magnitude[..., None] * vectors / distances[..., None]).sum(1)


@pytest.fixture(scope="session")
def cg_frames():
    """Factory: ``cg_frames(n_frames=4, per_side=3, spacing=4.0, temperatures=(300.0,), seed=0)`` -> Dataset of
    per_side**3 beads jittered around a simple cubic lattice, frames cycling through ``temperatures``."""

    def factory(n_frames=4, per_side=3, spacing=4.0, temperatures=(300.0,), seed=0):
        rng = np.random.default_rng(seed)
        box = per_side * spacing
        grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), -1).reshape(-1, 3) * spacing
        positions = grid[None] + rng.normal(scale=0.3, size=(n_frames, len(grid), 3))
        forces = np.stack([soft_repulsion_forces(p, box) for p in positions])
        return Dataset(
            species=np.ones((n_frames, len(grid)), dtype=int), positions=positions, forces=forces,
            cells=np.broadcast_to(np.eye(3) * box, (n_frames, 3, 3)).copy(), pbc=np.ones((n_frames, 3), bool),
            molecule=np.full(n_frames, "methanol"), category=np.full(n_frames, "cg"),
            temperature=np.resize(np.asarray(temperatures, float), n_frames), name="cg test frames",
            metadata={"bead_types": BEAD_TYPES},
        )

    return factory
