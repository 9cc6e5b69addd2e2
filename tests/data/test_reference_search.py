"""Geometry searches and sampling, on GFN2-xTB (tblite) so they run in seconds."""

import numpy as np
import pytest

pytestmark = [pytest.mark.qc, pytest.mark.slow]
pytest.importorskip("sella")
pytest.importorskip("tblite")

from ase import Atoms  # noqa: E402
from tblite.ase import TBLite  # noqa: E402

from mlip_lab.data.reference.sampling import normal_mode_samples, tight_binding_md_samples  # noqa: E402
from mlip_lab.data.reference.search import (  # noqa: E402
    count_imaginary,
    distance_signature,
    find_transition_state,
    follow_irc,
    optimise_minimum,
)
from mlip_lab.data.reference.systems import REACTIONS, place_atom  # noqa: E402
from mlip_lab.physics import masses_of  # noqa: E402
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K  # noqa: E402


def xtb():
    return TBLite(method="GFN2-xTB", verbosity=0)


def fd_hessian(atoms, h=1e-3):
    a = atoms.copy()
    a.calc = xtb()
    n = 3 * len(a)
    hess = np.zeros((n, n))
    base = a.positions.copy().reshape(-1)
    for k in range(n):
        rows = []
        for sign in (1, -1):
            p = base.copy()
            p[k] += sign * h
            a.positions = p.reshape(-1, 3)
            rows.append(a.get_forces().reshape(-1))
        hess[k] = -(rows[0] - rows[1]) / (2 * h)
    return 0.5 * (hess + hess.T)


@pytest.fixture(scope="module")
def hcn_ts():
    rxn = REACTIONS["hcn_hnc"]
    return find_transition_state(Atoms(rxn.symbols, positions=rxn.ts_guess), xtb(), fd_hessian)


def test_transition_state_has_exactly_one_imaginary_mode(hcn_ts):
    assert count_imaginary(hcn_ts.positions, hcn_ts.get_chemical_symbols(), fd_hessian(hcn_ts)) == 1


def test_irc_connects_hcn_and_hnc(hcn_ts):
    ends = []
    for direction in ("forward", "reverse"):
        path = follow_irc(hcn_ts, xtb(), fd_hessian, direction, dx=0.15, steps=15)
        assert path.shape[1:] == (3, 3)
        ends.append(optimise_minimum(Atoms("CNH", positions=path[-1]), xtb()))
    # atoms are C, N, H: one end has H bonded to C (HCN), the other to N (HNC)
    h_partner = sorted("C" if distance_signature(e.positions)[2, 0] < distance_signature(e.positions)[2, 1] else "N" for e in ends)
    assert h_partner == ["C", "N"]
    for e in ends:
        assert count_imaginary(e.positions, e.get_chemical_symbols(), fd_hessian(e)) == 0


def test_normal_mode_samples_have_thermal_harmonic_energy():
    water = optimise_minimum(Atoms("OH2", positions=[[0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58]]), xtb())
    hess = fd_hessian(water)
    temperature = 400.0
    samples = normal_mode_samples(water.positions, masses_of([8, 1, 1]), hess, temperature, 4000, np.random.default_rng(0))
    d = (samples - water.positions).reshape(len(samples), -1)
    harmonic = 0.5 * np.einsum("si,ij,sj->s", d, hess, d)
    # equipartition over 3 vibrational modes: <E_harm> = 3/2 k_B T
    assert harmonic.mean() == pytest.approx(1.5 * BOLTZMANN_EV_PER_K * temperature, rel=0.06)


def test_md_samples_are_distinct_and_reproducible():
    pos = [[0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58]]
    a = tight_binding_md_samples("OHH", pos, 500.0, 3, np.random.default_rng(3), equilibration_steps=10, stride=5)
    b = tight_binding_md_samples("OHH", pos, 500.0, 3, np.random.default_rng(3), equilibration_steps=10, stride=5)
    assert a.shape == (3, 3, 3)
    np.testing.assert_allclose(a, b, atol=1e-9)  # bit-level differences only (threaded reductions)
    assert np.abs(a[1] - a[0]).max() > 1e-3


def test_md_samples_have_the_thermostat_temperature():
    """Snapshots must be drawn at the requested temperature: a centre-of-mass-fixing Langevin variant once
    ran water at twice its target, so "300 K" samples sat 4x higher in energy than the harmonic estimate."""
    water = optimise_minimum(Atoms("OH2", positions=[[0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58]]), xtb())
    temperature = 300.0
    samples = tight_binding_md_samples("OHH", water.positions, temperature, 80, np.random.default_rng(0))
    reference = water.get_potential_energy()
    probe = water.copy()
    probe.calc = xtb()
    energies = []
    for positions in samples:
        probe.positions = positions
        energies.append(probe.get_potential_energy() - reference)
    # equipartition over 3 vibrational modes: <E_pot> = 3/2 k_B T (0.039 eV); the faulty run gave 0.16 eV
    assert np.mean(energies) == pytest.approx(1.5 * BOLTZMANN_EV_PER_K * temperature, rel=0.5)


def test_place_atom_builds_the_requested_internal_coordinates():
    a, b, c = np.array([1.0, 1, 0]), np.array([0.0, 0, 0]), np.array([1.5, 0, 0])
    d = place_atom(a, b, c, 1.1, 105.0, 60.0)
    assert np.linalg.norm(d - c) == pytest.approx(1.1)
    v1, v2 = b - c, d - c
    assert np.degrees(np.arccos(v1 @ v2 / np.linalg.norm(v1) / np.linalg.norm(v2))) == pytest.approx(105.0)


def test_fewer_samples_are_a_prefix_of_more():
    """Recipes may sample a costly molecule more sparsely; labels made earlier must keep their geometries."""
    from mlip_lab.data.reference.recipes import RECIPES

    pos = np.array([[0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58]])
    rng = np.random.default_rng(5)
    a = rng.normal(size=(9, 9))
    hess = a @ a.T + 9 * np.eye(9)
    few = normal_mode_samples(pos, masses_of([8, 1, 1]), hess, 600.0, 3, np.random.default_rng(7))
    many = normal_mode_samples(pos, masses_of([8, 1, 1]), hess, 600.0, 10, np.random.default_rng(7))
    np.testing.assert_array_equal(few, many[:3])
    short = tight_binding_md_samples("OHH", pos, 500.0, 2, np.random.default_rng(3), equilibration_steps=10, stride=5)
    longer = tight_binding_md_samples("OHH", pos, 500.0, 4, np.random.default_rng(3), equilibration_steps=10, stride=5)
    np.testing.assert_allclose(short, longer[:2], atol=1e-9)  # a longer MD run extends the same trajectory
    organics = RECIPES["organics"]
    assert organics.sample_counts("ethanol") == (20, 20)
    assert organics.sample_counts("water") == (100, 100)
    assert organics.sample_counts("methane") == (organics.nms_per_temperature, organics.md_per_temperature)
