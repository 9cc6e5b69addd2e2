"""Shared fixtures: small water/methane datasets built in code, and one tiny-HIP-NN factory.

Dataset energies, forces and Hessians are made up (random but finite, Hessians exactly symmetric); only the
bookkeeping is under test with them, not the physics.
"""

import json

import numpy as np
import pytest
import torch

from mlip_lab.data import Dataset, load, to_ase
from mlip_lab.models import HIPNN, HIPNNConfig

# Equilibrium-ish geometries in Å.
GEOMETRIES = {
    "water": (
        [8, 1, 1],
        [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]],
    ),
    "methane": (
        [6, 1, 1, 1, 1],
        [[0.0, 0.0, 0.0], [0.629, 0.629, 0.629], [-0.629, -0.629, 0.629], [-0.629, 0.629, -0.629], [0.629, -0.629, -0.629]],
    ),
    # Atom 0 first: C, H, H, H, O, H (the coarse-graining tests map it to beads).
    "methanol": (
        [6, 1, 1, 1, 8, 1],
        [[0.00, 0.66, 0.00], [1.04, 0.98, 0.00], [-0.50, 1.05, 0.89], [-0.50, 1.05, -0.89], [0.00, -0.76, 0.00],
         [-0.90, -1.08, 0.00]],
    ),
}
BASE_ENERGY = {"water": -2079.5, "methane": -1100.2}  # eV, made up


def build_arrays(molecules, categories=None, temperatures=None, seed=0, forces=True, hessians=True,
                 atomic_energies=True) -> dict:
    """Padded per-configuration arrays for the given molecule names (one configuration each)."""
    rng = np.random.default_rng(seed)
    m = len(molecules)
    n = max(len(GEOMETRIES[mol][0]) for mol in molecules)
    out = {
        "species": np.zeros((m, n), dtype=np.int64),
        "positions": np.zeros((m, n, 3)),
        "energies": np.zeros(m),
        "forces": np.zeros((m, n, 3)) if forces else None,
        "hessians": np.zeros((m, 3 * n, 3 * n)) if hessians else None,
        "atomic_energies": np.zeros((m, n)) if atomic_energies else None,
        "molecule": np.array(molecules, dtype=str),
        "category": np.array(categories if categories is not None else ["other"] * m, dtype=str),
        "temperature": np.array(temperatures if temperatures is not None else [np.nan] * m, dtype=float),
    }
    for i, mol in enumerate(molecules):
        z, xyz = GEOMETRIES[mol]
        k = len(z)
        out["species"][i, :k] = z
        out["positions"][i, :k] = np.asarray(xyz) + 0.05 * rng.standard_normal((k, 3))
        out["energies"][i] = BASE_ENERGY[mol] + rng.random()  # full float64 precision
        if forces:
            out["forces"][i, :k] = rng.standard_normal((k, 3))
        if hessians:
            a = rng.standard_normal((3 * k, 3 * k))
            out["hessians"][i, : 3 * k, : 3 * k] = a + a.T  # exactly symmetric
        if atomic_energies:
            out["atomic_energies"][i, :k] = rng.standard_normal(k)
    return out


@pytest.fixture
def make_dataset():
    """Factory: ``make_dataset(molecules, categories=None, ..., name="")`` -> Dataset."""

    def factory(molecules=("water", "methane", "water"), name="", **kwargs):
        return Dataset(**build_arrays(list(molecules), **kwargs), name=name)

    return factory


@pytest.fixture
def mixed():
    """Eight configurations (5 water, 3 methane) across several categories; energies are unique ids."""
    molecules = ["water", "methane", "water", "water", "methane", "water", "methane", "water"]
    categories = ["min", "ts", "md", "md", "min", "irc", "md", "ts"]
    temperatures = [np.nan, np.nan, 300.0, 500.0, np.nan, np.nan, 300.0, np.nan]
    return Dataset(**build_arrays(molecules, categories, temperatures, seed=1), name="mixed", metadata={"origin": "tests"})


@pytest.fixture
def good_arrays():
    """Arrays of a valid three-configuration dataset (water, methane, water; N = 5), ready to corrupt."""
    return build_arrays(["water", "methane", "water"], ["min", "ts", "md"], [np.nan, np.nan, 300.0], seed=2)


HEADER = {"format": "mlip_lab.dataset", "format_version": 1, "units_energy": "eV", "units_length": "Angstrom",
          "metadata_json": json.dumps({"name": "raw"})}


@pytest.fixture
def write_raw_npz():
    """Factory: ``write_raw_npz(path, arrays, **header)`` writes an npz with ``np.savez`` directly.

    Header keys default to a valid format/version/units; pass ``key=None`` to leave a key out.
    Array entries that are None are left out too.
    """

    def writer(path, arrays, **header):
        contents = {**HEADER, **header, **arrays}
        np.savez(path, **{k: v for k, v in contents.items() if v is not None})
        return path

    return writer


# Small enough that a forward pass, a Hessian or a few training epochs take milliseconds; cutoff 4 Å still
# covers every pair of the small molecules the tests use.
TINY_MODEL = dict(n_features=8, n_sensitivities=6, n_interactions=1, n_atom_layers=1, cutoff=4.0, r_soft_max=3.5)


@pytest.fixture(scope="session")
def make_model():
    """Factory: ``make_model(elements=(1, 6, 7, 8), tensor_order=0, seed=0, dtype=torch.float64, **config)``.

    Returns a freshly initialised :class:`HIPNN` with weights drawn after ``torch.manual_seed(seed)``; keyword
    arguments override :data:`TINY_MODEL` and any other :class:`HIPNNConfig` field.
    """

    def factory(elements=(1, 6, 7, 8), tensor_order=0, seed=0, dtype=torch.float64, **config):
        torch.manual_seed(seed)
        settings = {**TINY_MODEL, **config}
        return HIPNN(HIPNNConfig(elements=tuple(elements), tensor_order=tensor_order, **settings)).to(dtype)

    return factory


@pytest.fixture(scope="module")
def springs_state():
    """``(force_field, state)``: harmonic springs on the bonds of three ``organics_minima`` molecules, at 300 K."""
    from mlip_lab.md import HarmonicBonds, state_from_atoms  # here, so that a broken md layer fails only md tests

    state = state_from_atoms(to_ase(load("organics_minima"))[:3], temperatures=300.0, dtype=torch.float64)
    return HarmonicBonds(state.species, state.positions, k=30.0), state


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory) -> dict[str, str]:
    """Environment variables of a fresh Binder-like virtualenv built from binder/ alone (tests/binder.py)."""
    from tests.binder import BinderRuntimeMismatch, build_binder_env

    try:
        return build_binder_env(tmp_path_factory.mktemp("binder"))
    except BinderRuntimeMismatch as exc:
        pytest.skip(str(exc))
