"""Mapping operators: positions (periodic-aware), forces (sums and the consistent overlapping rule), bookkeeping,
the CG dataset helper and the errors bad input gets."""

import numpy as np
import pytest
import torch

from mlip_lab.cg import Mapping, map_trajectory
from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.physics import masses_of
from tests.conftest import GEOMETRIES

METHANOL_SPECIES = GEOMETRIES["methanol"][0]
METHANOL_XYZ = np.array(GEOMETRIES["methanol"][1])
MASSES = masses_of(METHANOL_SPECIES)
BOX = 12.0  # Å
CELL = np.diag([BOX, BOX, BOX])
TRICLINIC = np.array([[BOX, 0.0, 0.0], [2.0, BOX, 0.0], [1.5, -1.0, BOX]])


def random_rotation(rng):
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def methanol_box(n_molecules=5, n_frames=3, cell=CELL, seed=0):
    """(n_frames, 6 n_molecules, 3) Å: randomly rotated molecules at random places, every atom wrapped into the
    cell on its own (so molecules on the edge are split across it), and made-up forces (eV/Å)."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        centres = rng.random((n_molecules, 3)) @ cell
        atoms = np.concatenate([METHANOL_XYZ @ random_rotation(rng).T + c for c in centres])
        fractional = atoms @ np.linalg.inv(cell)
        frames.append((fractional - np.floor(fractional)) @ cell)
    return np.array(frames), rng.standard_normal((n_frames, 6 * n_molecules, 3))


def whole_molecules(positions, cell, n_molecules):
    """Reference unwrapping written independently: each atom to its image nearest atom 0 (orthorhombic or small
    molecules), by an explicit search over neighbouring images."""
    out = positions.reshape(positions.shape[0], n_molecules, 6, 3).copy()
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ cell
    for frame in out:
        for molecule in frame:
            for atom in molecule[1:]:
                candidates = atom + shifts
                atom[:] = candidates[np.argmin(np.linalg.norm(candidates - molecule[0], axis=1))]
    return out


def wrap(points, cell):
    fractional = points @ np.linalg.inv(cell)
    return (fractional - np.floor(fractional)) @ cell


MAPPINGS = {
    "com": lambda n: Mapping.centre_of_mass(MASSES, n),
    "cog": lambda n: Mapping.centre_of_geometry(6, n, MASSES),
    "groups": lambda n: Mapping.from_groups([[0, 1, 2, 3], [4, 5]], MASSES, n),
    "overlapping": lambda n: Mapping([[1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1]], MASSES, n),
}


# ---------------------------------------------------------------------- positions
@pytest.mark.parametrize("cell", [CELL, TRICLINIC], ids=["cubic", "triclinic"])
def test_com_of_split_molecules_matches_whole_molecules(cell):
    positions, _ = methanol_box(cell=cell)
    whole = whole_molecules(positions, cell, 5)
    expected = wrap(np.einsum("a,fmax->fmx", MASSES / MASSES.sum(), whole), cell)
    beads = Mapping.centre_of_mass(MASSES, 5).map_positions(positions, cell)
    np.testing.assert_allclose(beads, expected, atol=1e-12)
    fractional = beads @ np.linalg.inv(cell)
    assert (fractional >= 0).all() and (fractional < 1).all()


def test_com_and_cog_of_methanol_differ_as_expected():
    com = Mapping.centre_of_mass(MASSES, 1).map_positions(METHANOL_XYZ)
    cog = Mapping.centre_of_geometry(6, 1).map_positions(METHANOL_XYZ)
    np.testing.assert_allclose(com[0], MASSES @ METHANOL_XYZ / MASSES.sum(), atol=1e-14)
    np.testing.assert_allclose(cog[0], METHANOL_XYZ.mean(axis=0), atol=1e-14)
    # Four light hydrogens pull the geometric centre away from the C-O axis; the mass centre stays near C-O.
    heavy_midpoint = METHANOL_XYZ[[0, 4]].mean(axis=0)
    assert np.linalg.norm(com[0] - heavy_midpoint) < np.linalg.norm(cog[0] - heavy_midpoint)
    assert np.linalg.norm(com[0] - cog[0]) > 0.1


@pytest.mark.parametrize("kind", MAPPINGS)
def test_positions_translate_with_the_atoms(kind):
    mapping = MAPPINGS[kind](5)
    positions, _ = methanol_box()
    shift = np.array([0.3, -1.7, 2.2])
    open_beads = mapping.map_positions(positions)
    np.testing.assert_allclose(mapping.map_positions(positions + shift), open_beads + shift, atol=1e-12)
    periodic = mapping.map_positions(positions, CELL, wrap=False)
    np.testing.assert_allclose(mapping.map_positions(positions + shift, CELL, wrap=False), periodic + shift, atol=1e-12)


@pytest.mark.parametrize("kind", MAPPINGS)
def test_a_molecule_moved_by_a_lattice_vector_gives_the_same_wrapped_bead(kind):
    mapping = MAPPINGS[kind](5)
    positions, _ = methanol_box(cell=TRICLINIC)
    moved = positions.copy()
    moved[:, 6:12] += TRICLINIC[0] - 2 * TRICLINIC[2]  # the whole second molecule, one image over
    moved[:, 13] += TRICLINIC[1]  # and one atom of the third molecule alone
    np.testing.assert_allclose(mapping.map_positions(moved, TRICLINIC), mapping.map_positions(positions, TRICLINIC),
                               atol=1e-10)


def test_identity_map_reproduces_the_atomistic_data():
    positions, forces = methanol_box()
    identity = Mapping(np.eye(6), MASSES, 5)
    np.testing.assert_allclose(identity.map_positions(positions), positions, rtol=0, atol=1e-13)  # r0 + (r - r0)
    np.testing.assert_allclose(identity.map_positions(positions, CELL), positions, atol=1e-12)
    np.testing.assert_array_equal(identity.map_forces(forces), forces)
    np.testing.assert_array_equal(identity.bead_masses, np.tile(MASSES, 5))
    singles = Mapping.from_groups([[k] for k in range(6)], MASSES, 5)
    np.testing.assert_array_equal(singles.map_forces(forces), forces)


def test_leading_axes_and_a_single_frame():
    mapping = MAPPINGS["groups"](5)
    positions, forces = methanol_box(n_frames=4)
    batched = mapping.map_positions(positions.reshape(2, 2, 30, 3), CELL)
    assert batched.shape == (2, 2, 10, 3)
    np.testing.assert_allclose(batched.reshape(4, 10, 3), mapping.map_positions(positions, CELL), atol=1e-12)
    cells = np.broadcast_to(CELL, (4, 3, 3))
    np.testing.assert_allclose(mapping.map_positions(positions, cells), mapping.map_positions(positions, CELL), atol=1e-12)
    np.testing.assert_allclose(mapping.map_positions(positions[1], CELL), mapping.map_positions(positions, CELL)[1], atol=1e-12)
    assert mapping.map_forces(forces[0]).shape == (10, 3)


def test_torch_in_torch_out_matches_numpy_and_is_differentiable():
    mapping = MAPPINGS["overlapping"](5)
    positions, forces = methanol_box()
    x = torch.tensor(positions, dtype=torch.float32, requires_grad=True)
    beads = mapping.map_positions(x, torch.tensor(CELL))
    assert isinstance(beads, torch.Tensor) and beads.dtype == torch.float32
    np.testing.assert_allclose(beads.detach().numpy(), mapping.map_positions(positions.astype(np.float32), CELL), atol=1e-5)
    beads.sum().backward()  # d(sum of bead coordinates)/d(atom) = sum_I c_Ia, the same for every molecule
    per_atom = np.tile(mapping.position_weights.sum(axis=0), 5)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(per_atom[None, :, None], positions.shape), atol=1e-6)
    f = torch.tensor(forces, dtype=torch.float64)
    np.testing.assert_allclose(mapping.map_forces(f).numpy(), mapping.map_forces(forces), atol=1e-14)


# ---------------------------------------------------------------------- forces
@pytest.mark.parametrize("kind", MAPPINGS)
def test_total_force_is_conserved(kind):
    _, forces = methanol_box()
    mapped = MAPPINGS[kind](5).map_forces(forces)
    np.testing.assert_allclose(mapped.sum(axis=1), forces.sum(axis=1), atol=1e-12)


def test_bead_forces_are_the_sums_over_each_group():
    _, forces = methanol_box()
    mapped = Mapping.from_groups([[0, 1, 2, 3], [4, 5]], MASSES, 5, weights="geometry").map_forces(forces)
    per_molecule = forces.reshape(3, 5, 6, 3)
    np.testing.assert_allclose(mapped[:, 0::2], per_molecule[:, :, :4].sum(axis=2), atol=1e-13)
    np.testing.assert_allclose(mapped[:, 1::2], per_molecule[:, :, 4:].sum(axis=2), atol=1e-13)
    com = Mapping.centre_of_mass(MASSES, 5).map_forces(forces)
    np.testing.assert_allclose(com, per_molecule.sum(axis=2), atol=1e-13)


@pytest.mark.parametrize("kind", MAPPINGS)
def test_forces_of_a_potential_of_the_beads_map_back_exactly(kind):
    """If U depends on atoms only through R = c r, then f_a = sum_I c_Ia G_I and the force map must return G."""
    mapping = MAPPINGS[kind](5)
    bead_forces = np.random.default_rng(3).standard_normal((2, 5, mapping.beads_per_molecule, 3))
    atom_forces = np.einsum("ba,fmbx->fmax", mapping.position_weights, bead_forces).reshape(2, 30, 3)
    np.testing.assert_allclose(mapping.map_forces(atom_forces), bead_forces.reshape(2, -1, 3), atol=1e-12)


def test_overlapping_force_map_is_used_only_when_atoms_are_shared():
    assert not MAPPINGS["groups"](1).overlapping
    np.testing.assert_array_equal(MAPPINGS["groups"](1).force_weights, [[1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]])
    shared = MAPPINGS["overlapping"](1)
    assert shared.overlapping
    d = shared.force_weights
    np.testing.assert_allclose(d @ shared.position_weights.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(d.sum(axis=0), np.ones(6), atol=1e-12)


# ---------------------------------------------------------------------- bookkeeping
def test_bead_masses_molecule_indices_and_type_codes():
    groups = Mapping.from_groups([[0, 1, 2, 3], [4, 5]], MASSES, 3, bead_names=["CH3", "OH"])
    np.testing.assert_allclose(groups.bead_masses, np.tile([MASSES[:4].sum(), MASSES[4:].sum()], 3))
    np.testing.assert_array_equal(groups.molecule_of_bead, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(groups.molecule_of_atom, np.repeat([0, 1, 2], 6))
    np.testing.assert_array_equal(groups.bead_type_codes, [1, 2] * 3)
    assert groups.bead_types == {"1": {"name": "CH3", "mass": pytest.approx(MASSES[:4].sum())},
                                 "2": {"name": "OH", "mass": pytest.approx(MASSES[4:].sum())}}
    assert (groups.n_atoms, groups.n_beads) == (18, 6)
    com = Mapping.centre_of_mass(MASSES, 4, bead_name="MeOH")
    assert com.bead_types == {"1": {"name": "MeOH", "mass": pytest.approx(32.042, abs=2e-3)}}
    # The O atom is in both beads, with normalised weights 1/5 (of 5 atoms) and 1/2 (of 2): its mass splits 2:5.
    shared = MAPPINGS["overlapping"](2)
    assert shared.bead_masses.sum() == pytest.approx(2 * MASSES.sum())
    np.testing.assert_allclose(shared.bead_masses[:2], [MASSES[:4].sum() + MASSES[4] * 2 / 7, MASSES[5] + MASSES[4] * 5 / 7])


def test_beads_of_one_name_must_share_a_mass():
    same = Mapping.from_groups([[0, 1], [2, 3]], [1.0, 2.0, 2.0, 1.0], 1, bead_names=["A", "A"])
    np.testing.assert_array_equal(same.bead_type_codes, [1, 1])
    with pytest.raises(MLIPLabError, match="different masses"):
        Mapping.from_groups([[0, 1], [2, 3]], [1.0, 2.0, 2.0, 2.0], 1, bead_names=["A", "A"])


def test_geometry_groups_without_masses_have_no_bead_masses():
    mapping = Mapping.centre_of_geometry(6, 2)
    with pytest.raises(MLIPLabError, match="without atomic masses"):
        mapping.bead_masses


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("build, message", [
    (lambda: Mapping.from_groups([[0, 1, 2, 3], [4]], MASSES, 2), r"leave atom\(s\) \[5\]"),
    (lambda: Mapping.from_groups([[0, 1, 2, 3], [3, 4, 5]], MASSES, 2), r"atom\(s\) \[3\] are in more than one"),
    (lambda: Mapping.from_groups([[0, 1, 2, 3], [4, 5, 6]], MASSES, 2), r"\[6\] are outside the molecule"),
    (lambda: Mapping.from_groups([[-1, 0, 1, 2, 3], [4, 5]], MASSES, 2), r"\[-1\] are outside the molecule"),
    (lambda: Mapping.from_groups([[0, 1.5]], None, 1, weights="geometry"), "integer atom indices"),
    (lambda: Mapping.from_groups([[0, 1, 2, 3], [4, 5]], None, 2), "needs masses_per_molecule"),
    (lambda: Mapping.from_groups([[0, 1, 2, 3, 4, 5]], MASSES, 2, weights="charge"), "'mass' or 'geometry'"),
    (lambda: Mapping([[1, 1, 1, 1, 1, 0]], MASSES, 2), r"leaves atom\(s\) \[5\]"),
    (lambda: Mapping([[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], MASSES, 2), "have no atoms"),
    (lambda: Mapping([[1, 1, -1, 1, 1, 1]], MASSES, 2), "non-negative"),
    (lambda: Mapping([[1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2]], MASSES, 2), "no consistent force map"),
    (lambda: Mapping.centre_of_mass([12.0, 0.0, 1.0], 2), "masses must be positive"),
    (lambda: Mapping.centre_of_mass([12.0, -1.0, 1.0], 2), "masses must be positive"),
    (lambda: Mapping(np.ones((1, 6)), MASSES[:5], 2), "5 masses for a molecule of 6"),
    (lambda: Mapping.centre_of_mass(MASSES, 0), "positive integer"),
    (lambda: Mapping.centre_of_geometry(6, 2, bead_name=""), "non-empty bead names"),
])
def test_bad_mappings_are_rejected(build, message):
    with pytest.raises(MLIPLabError, match=message):
        build()


@pytest.mark.parametrize("call, message", [
    (lambda m, x, f: m.map_positions(x[:, :-6]), r"needs \(\.\.\., 30, 3\)"),
    (lambda m, x, f: m.map_forces(f[:, :, :2]), r"needs \(\.\.\., 30, 3\)"),
    (lambda m, x, f: m.map_positions(x, np.eye(3)[:2]), r"cells have shape \(2, 3\)"),
    (lambda m, x, f: m.map_positions(x, np.broadcast_to(CELL, (2, 3, 3))), r"cells have shape \(2, 3, 3\)"),
    (lambda m, x, f: m.map_positions(x, np.zeros((3, 3))), "singular"),
    (lambda m, x, f: m.map_positions("not numbers"), "numeric array"),
])
def test_frames_that_disagree_with_the_mapping_are_rejected(call, message):
    positions, forces = methanol_box()
    with pytest.raises(MLIPLabError, match=message):
        call(MAPPINGS["com"](5), positions, forces)


# ---------------------------------------------------------------------- trajectory -> CG dataset
def test_map_trajectory_builds_a_cg_dataset():
    positions, forces = methanol_box()
    mapping = Mapping.centre_of_mass(MASSES, 5, bead_name="MeOH")
    data = map_trajectory(mapping, positions, forces, CELL, 298.0, molecule="methanol", name="cg_test")
    assert isinstance(data, Dataset) and len(data) == 3
    np.testing.assert_array_equal(data.species, np.ones((3, 5)))
    np.testing.assert_allclose(data.positions, mapping.map_positions(positions, CELL))
    np.testing.assert_allclose(data.forces, mapping.map_forces(forces))
    np.testing.assert_array_equal(data.cells, np.broadcast_to(CELL, (3, 3, 3)))
    assert data.pbc.all() and data.energies is None
    np.testing.assert_array_equal(data.temperature, [298.0] * 3)
    assert set(data.category) == {"cg"} and set(data.molecule) == {"methanol"}
    assert data.metadata["bead_types"] == {"1": {"name": "MeOH", "mass": pytest.approx(MASSES.sum())}}
    per_frame = map_trajectory(mapping, positions, forces, np.broadcast_to(CELL, (3, 3, 3)), [290.0, 300.0, 310.0])
    np.testing.assert_array_equal(per_frame.temperature, [290.0, 300.0, 310.0])


@pytest.mark.parametrize("temperature, message", [
    (None, "temperature label is missing"), (np.nan, "positive number"), ([300.0, 310.0], "positive number"),
    (-5.0, "positive number"),
])
def test_map_trajectory_needs_a_temperature(temperature, message):
    positions, forces = methanol_box()
    with pytest.raises(MLIPLabError, match=message):
        map_trajectory(Mapping.centre_of_mass(MASSES, 5), positions, forces, CELL, temperature)


@pytest.mark.parametrize("frames, message", [
    (lambda x, f: (x, f[:2], CELL), "one force per atom"),
    (lambda x, f: (x[0], f[0], CELL), r"must be \(M, n_atoms, 3\) frames"),
    (lambda x, f: (x, f, None), "needs its periodic cells"),
])
def test_map_trajectory_rejects_frames_that_do_not_fit(frames, message):
    positions, forces, cells = frames(*methanol_box())
    with pytest.raises(MLIPLabError, match=message):
        map_trajectory(Mapping.centre_of_mass(MASSES, 5), positions, forces, cells, 300.0)
