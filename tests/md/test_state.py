"""The batched MD state: masses, Maxwell-Boltzmann velocities, degrees of freedom, periodic wrapping, validation."""

import numpy as np
import pytest
import torch
from ase import Atoms

from mlip_lab import MLIPLabError
from mlip_lab.md import (
    degrees_of_freedom, kinetic_energy, make_state, maxwell_boltzmann_velocities, state_from_atoms,
    temperature, wrap_positions,
)
from mlip_lab.physics.units import BOLTZMANN_EV_PER_K

WATER = [[0.0, 0.0, 0.117], [0.0, 0.757, -0.469], [0.0, -0.757, -0.469]]


def padded_batch():
    """Water padded to 4 atoms next to a 4-atom formaldehyde-like replica."""
    species = torch.tensor([[8, 1, 1, 0], [6, 8, 1, 1]])
    positions = torch.tensor([WATER + [[0.0, 0.0, 0.0]], [[0, 0, 0], [0, 0, 1.2], [0, 0.94, -0.59], [0, -0.94, -0.59]]],
                             dtype=torch.float64)
    return species, positions


def test_kinetic_energy_unit_conversion_from_constants():
    # One hydrogen-mass particle at 0.01 Å/fs = 1000 m/s: KE = 0.5 * 1.008 amu * (1000 m/s)^2 = 5.225e-3 eV.
    masses = torch.tensor([[1.008, 0.0]], dtype=torch.float64)
    velocities = torch.tensor([[[0.01, 0.0, 0.0], [0.0, 0.0, 0.0]]], dtype=torch.float64)
    expected = 0.5 * 1.008 * 1.66053906660e-27 * 1000.0**2 / 1.602176634e-19
    assert float(kinetic_energy(masses, velocities)) == pytest.approx(expected, rel=1e-10)


def test_maxwell_boltzmann_velocities_temperature_com_and_padding():
    species, positions = padded_batch()
    species, positions = species.repeat(2000, 1), positions.repeat(2000, 1, 1)
    state = make_state(species, positions, temperatures=400.0, dtype=torch.float64, seed=1)
    assert torch.all(state.velocities[:, 3][species[:, 3] == 0] == 0)  # padding never moves
    momentum = (state.masses[..., None] * state.velocities).sum(1)
    assert momentum.abs().max() < 1e-12
    assert torch.equal(degrees_of_freedom(state.species[:2]), torch.tensor([6, 9]))
    t = temperature(state)
    # Mean over 2000 replicas of each kind: the relative std of one replica is sqrt(2 / f).
    for kind, dof in ((0, 6), (1, 9)):
        mean = float(t[kind::2].mean())
        assert abs(mean - 400.0) < 4 * 400.0 * (2 / dof / 1000) ** 0.5


def test_velocities_are_reproducible_with_a_seed_and_vary_without_one():
    species, positions = padded_batch()
    a = make_state(species, positions, seed=3).velocities
    b = make_state(species, positions, seed=3).velocities
    c = make_state(species, positions, seed=4).velocities
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_state_moves_between_devices_unchanged():
    species, positions = padded_batch()
    state = make_state(species, positions, dtype=torch.float64)
    moved = state.to("cpu")
    assert torch.equal(moved.velocities, state.velocities) and moved.step == state.step and moved.cells is None


def test_default_masses_follow_ase_and_zero_on_padding():
    species, positions = padded_batch()
    masses = make_state(species, positions, dtype=torch.float64).masses
    assert masses[0, 0] == pytest.approx(15.999, abs=1e-3) and masses[0, 3] == 0


def test_state_from_atoms_keeps_ase_velocities():
    from ase import units

    atoms = Atoms("OH2", positions=WATER)
    atoms.set_velocities(np.array([[0.1, 0, 0], [-0.8, 0, 0], [-0.8, 0, 0]]) * 1e-2 / units.fs)
    state = state_from_atoms([atoms], dtype=torch.float64)
    assert torch.allclose(state.velocities[0, :, 0], torch.tensor([0.1, -0.8, -0.8], dtype=torch.float64) * 1e-2)


def test_wrap_positions_into_cell_along_periodic_axes_only():
    cells = torch.diag(torch.tensor([5.0, 6.0, 7.0], dtype=torch.float64))[None]
    pbc = torch.tensor([[True, True, False]])
    positions = torch.tensor([[[5.5, -1.0, 9.0]]], dtype=torch.float64)
    wrapped = wrap_positions(positions, cells, pbc)
    assert torch.allclose(wrapped, torch.tensor([[[0.5, 5.0, 9.0]]], dtype=torch.float64))


def test_thermal_velocity_scale_matches_equipartition():
    masses = torch.full((1, 200000), 12.0, dtype=torch.float64)
    v = maxwell_boltzmann_velocities(masses, torch.tensor([300.0], dtype=torch.float64))
    ke_per_dof = float(kinetic_energy(masses, v)) / (3 * 200000)
    assert ke_per_dof == pytest.approx(0.5 * BOLTZMANN_EV_PER_K * 300.0, rel=0.01)


def with_value(array, index, value):
    """A copy of the padded batch's ``array`` with one entry changed."""
    array = array.clone()
    array[index] = value
    return array


SPECIES, POSITIONS = padded_batch()
BOX = 10.0 * torch.eye(3, dtype=torch.float64)


@pytest.mark.parametrize("change, match", [
    (dict(species=torch.tensor([8, 1, 1])), "species must be"),
    (dict(species=with_value(SPECIES, (0, 1), 119)), "unknown atomic numbers"),
    (dict(species=with_value(SPECIES, (0, 1), -1)), "unknown atomic numbers"),
    (dict(positions=torch.zeros(2, 3, 3)), "positions must have shape"),
    (dict(positions=with_value(POSITIONS, (1, 2, 0), float("nan"))), "positions contain NaN"),
    (dict(positions=with_value(POSITIONS, (0, 3, 0), float("inf"))), "positions contain NaN"),  # even on padding
    (dict(positions=with_value(POSITIONS, (1, 1), POSITIONS[1, 0] + 0.05)), "closer than 0.1"),
    (dict(species=torch.tensor([[8, 0, 0, 0], [6, 8, 1, 1]])), "at least 2 atoms"),
    (dict(masses=torch.ones(2, 3)), "masses must have shape"),
    (dict(masses=with_value(torch.ones(2, 4), (1, 0), float("nan"))), "masses contain NaN"),
    (dict(masses=with_value(torch.ones(2, 4), (1, 0), 0.0)), "masses of real atoms must be positive"),
    (dict(masses=with_value(torch.ones(2, 4), (0, 1), -1.0)), "masses of real atoms must be positive"),
    (dict(temperatures=-5.0), "temperatures"),
    (dict(temperatures=float("nan")), "temperatures"),
    (dict(temperatures=[300.0, 300.0, 300.0]), "one per replica"),
    (dict(pbc=[True, True, True]), "without cells"),
    (dict(cells=torch.ones(3, 3)), "independent lattice vectors"),
    (dict(cells=torch.diag(torch.tensor([10.0, 10.0, 0.0]))), "independent lattice vectors"),
    (dict(cells=with_value(BOX, (0, 0), float("nan"))), "cells must be finite"),
    (dict(cells=torch.eye(2)), "cells must be"),
    (dict(cells=BOX, pbc=[True, False]), "pbc must be"),
    (dict(velocities=torch.zeros(2, 3, 3)), "velocities must have"),
    (dict(velocities=with_value(torch.zeros(2, 4, 3), (0, 0, 0), float("inf"))), "velocities contain NaN"),
])
def test_make_state_rejects_bad_input(change, match):
    kwargs = {"species": SPECIES, "positions": POSITIONS, **change}
    with pytest.raises(MLIPLabError, match=match):
        make_state(**kwargs)


def test_padding_may_sit_on_a_real_atom_and_carry_any_mass():
    # Padding rows are ignored by the distance check and get mass 0 whatever was given for them.
    masses = with_value(torch.ones(2, 4, dtype=torch.float64), (0, 3), 0.0)
    state = make_state(SPECIES, POSITIONS, masses=masses, dtype=torch.float64)
    assert state.masses[0, 3] == 0 and torch.all(state.masses[1] == 1)


def test_atoms_close_through_a_periodic_boundary_are_rejected():
    # 0.05 Å apart only through the face of the 5 Å box: the open-boundary distance (4.95 Å) would pass.
    species = torch.tensor([[1, 1]])
    positions = torch.tensor([[[0.02, 1.0, 1.0], [4.97, 1.0, 1.0]]], dtype=torch.float64)
    make_state(species, positions, cells=5 * torch.eye(3), pbc=[False, True, True])  # not periodic along x: fine
    with pytest.raises(MLIPLabError, match="closer than 0.1"):
        make_state(species, positions, cells=5 * torch.eye(3))


def test_state_from_atoms_pads_different_molecules():
    water = Atoms("OH2", positions=WATER)
    methane = Atoms("CH4", positions=[[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63],
                                      [0.63, -0.63, -0.63]])
    state = state_from_atoms([water, methane], dtype=torch.float64)
    assert state.species.tolist() == [[8, 1, 1, 0, 0], [6, 1, 1, 1, 1]]
    assert torch.equal(state.positions[0, :3], torch.tensor(WATER, dtype=torch.float64))
    assert torch.all(state.positions[0, 3:] == 0) and torch.all(state.masses[0, 3:] == 0)
    assert torch.allclose(state.masses[1], torch.tensor(methane.get_masses()))


@pytest.mark.parametrize("atoms_list, match", [
    ([], "at least one"),
    ([[8, 1, 1]], "list of ase.Atoms"),
    ([Atoms("OH2", positions=[[0, 0, 0], [0, 0, 0.05], [0, 0.8, 0]])], "closer than 0.1"),
    ([Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]], pbc=True)], "independent lattice vectors"),  # no cell set
])
def test_state_from_atoms_rejects_bad_input(atoms_list, match):
    with pytest.raises(MLIPLabError, match=match):
        state_from_atoms(atoms_list)


def test_unseeded_velocities_leave_torchs_global_generator_alone():
    species, positions = padded_batch()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    a = make_state(species, positions, seed=None).velocities
    assert torch.equal(torch.rand(3), expected)
    assert not torch.equal(a, make_state(species, positions, seed=None).velocities)
