"""Dataset files: the versioned npz format, extended XYZ, ASE interop and load()."""

import json

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from mlip_lab import MLIPLabError
from mlip_lab.data import Dataset, from_ase, load, load_npz, read_extxyz, save_npz, shipped_datasets, to_ase, write_extxyz

LABEL_FIELDS = ("molecule", "category")


def assert_labels_equal(a, b):
    for f in LABEL_FIELDS:
        assert getattr(a, f).tolist() == getattr(b, f).tolist(), f
    np.testing.assert_array_equal(a.temperature, b.temperature)  # NaN == NaN here


# ---------------------------------------------------------------------------------- npz
def test_npz_round_trip(mixed, tmp_path):
    path = save_npz(mixed, tmp_path / "mixed.npz")
    back = load_npz(path)
    assert len(back) == len(mixed)
    assert back.energies.dtype == np.float64
    assert np.array_equal(back.energies, mixed.energies)
    assert np.array_equal(back.positions, mixed.positions)
    assert np.array_equal(back.species, mixed.species)
    assert np.array_equal(back.atomic_energies, mixed.atomic_energies)
    assert_labels_equal(back, mixed)
    assert back.name == "mixed"
    assert back.metadata == {"origin": "tests"}


def test_npz_forces_and_hessians_are_float32(mixed, tmp_path):
    path = save_npz(mixed, tmp_path / "mixed.npz")
    with np.load(path) as z:
        assert z["forces"].dtype == np.float32
        assert z["hessians"].dtype == np.float32
        assert z["energies"].dtype == np.float64
        assert z["positions"].dtype == np.float64
        assert str(z["format"]) == "mlip_lab.dataset"
        assert int(z["format_version"]) == 1
        assert str(z["units_energy"]) == "eV" and str(z["units_length"]) == "Angstrom"
    back = load_npz(path)
    assert np.array_equal(back.forces, mixed.forces.astype(np.float32))
    assert np.array_equal(back.hessians, mixed.hessians.astype(np.float32))
    assert not np.array_equal(back.forces, mixed.forces)  # the float32 cast really happened


def test_npz_without_optional_fields(make_dataset, tmp_path):
    d = make_dataset(["water", "methane"], forces=False, hessians=False, atomic_energies=False, name="plain")
    back = load(save_npz(d, tmp_path / "plain.npz"))
    assert back.forces is None and back.hessians is None and back.atomic_energies is None
    assert np.array_equal(back.energies, d.energies)


def test_npz_round_trip_with_cells(make_dataset, tmp_path):
    d0 = make_dataset(["water", "water"], hessians=False)
    cells = np.array([np.diag([10.0, 11.0, 12.0]), [[9.0, 0.5, 0.0], [0.0, 9.5, 0.25], [0.1, 0.0, 8.0]]])
    pbc = np.array([[True, True, True], [True, False, True]])
    d = Dataset(d0.species, d0.positions, d0.energies, cells=cells, pbc=pbc)
    back = load(save_npz(d, tmp_path / "cells.npz"))
    assert np.array_equal(back.cells, cells)
    assert np.array_equal(back.pbc, pbc)


def test_npz_name_falls_back_to_file_stem(make_dataset, tmp_path):
    back = load(save_npz(make_dataset(["water"]), tmp_path / "stemname.npz"))
    assert back.name == "stemname"


def test_save_npz_creates_parent_directories(make_dataset, tmp_path):
    path = save_npz(make_dataset(["water"]), tmp_path / "a" / "b" / "d.npz")
    assert path.exists()


def test_npz_is_loadable_without_pickles(mixed, tmp_path):
    path = save_npz(mixed, tmp_path / "mixed.npz")
    with np.load(path, allow_pickle=False) as z:
        assert z["molecule"].tolist() == mixed.molecule.tolist()
        assert json.loads(str(z["metadata_json"]))["name"] == "mixed"


# ---------------------------------------------------------------------------------- load()
def test_load_by_path_string_and_path(mixed, tmp_path):
    path = save_npz(mixed, tmp_path / "mixed.npz")
    assert np.array_equal(load(str(path)).energies, mixed.energies)
    assert np.array_equal(load(path).energies, mixed.energies)


@pytest.mark.parametrize("suffix", [".xyz", ".extxyz"])
def test_load_dispatches_extxyz(mixed, tmp_path, suffix):
    path = write_extxyz(mixed, tmp_path / f"mixed{suffix}")
    assert np.array_equal(load(path).energies, mixed.energies)


def test_load_unknown_bare_name():
    with pytest.raises(MLIPLabError, match="no shipped dataset named 'no_such_dataset_xyz'") as info:
        load("no_such_dataset_xyz")
    assert str(shipped_datasets()) in str(info.value)


def test_shipped_datasets_is_a_sorted_list_of_names():
    names = shipped_datasets()
    assert names == sorted(names)
    assert all(isinstance(n, str) and not n.endswith(".npz") for n in names)


def test_load_missing_file(tmp_path):
    path = tmp_path / "missing.npz"
    with pytest.raises(MLIPLabError, match="does not exist") as info:
        load(path)
    assert str(path) in str(info.value)


def test_load_unknown_suffix(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(MLIPLabError, match="unknown dataset file type '.csv'"):
        load(path)


# ---------------------------------------------------------------------------------- extxyz
def test_extxyz_round_trip_is_exact(mixed, tmp_path):
    back = read_extxyz(write_extxyz(mixed, tmp_path / "mixed.xyz"))
    assert mixed.energies.dtype == np.float64
    assert np.array_equal(back.energies, mixed.energies)
    assert np.array_equal(back.positions, mixed.positions)
    assert np.array_equal(back.forces, mixed.forces)
    assert np.array_equal(back.hessians, mixed.hessians)
    assert np.array_equal(back.atomic_energies, mixed.atomic_energies)
    assert np.array_equal(back.species, mixed.species)
    assert_labels_equal(back, mixed)
    assert back.name == "mixed"  # the file stem


def test_extxyz_round_trip_with_cells(make_dataset, tmp_path):
    d0 = make_dataset(["water", "methane"])
    cells = np.array([[[5.0, 0.1, 0.2], [0.3, 6.0, 0.4], [0.5, 0.6, 7.0]], np.diag([8.0, 9.0, 10.0])])
    pbc = np.array([[True, True, True], [True, True, False]])
    d = Dataset(d0.species, d0.positions, d0.energies, d0.forces, cells=cells, pbc=pbc)
    back = read_extxyz(write_extxyz(d, tmp_path / "cells.xyz"))
    assert np.array_equal(back.cells, cells)
    assert np.array_equal(back.pbc, pbc)
    assert np.array_equal(back.forces, d.forces)


@pytest.mark.parametrize("label", ["", "T", "F", "123", "1e5", "1 2 3", "a b", 'say "hi"', "back\\slash", "H2O", "α-pinene"])
def test_extxyz_round_trips_awkward_molecule_labels(make_dataset, tmp_path, label):
    d0 = make_dataset(["water", "water"], categories=["ts", "md"])
    d = Dataset(d0.species, d0.positions, d0.energies, molecule=np.array([label, "water"]), category=d0.category)
    back = read_extxyz(write_extxyz(d, tmp_path / "labels.xyz"))
    assert back.molecule.tolist() == [label, "water"]
    assert back.category.tolist() == ["ts", "md"]


def test_extxyz_with_a_single_atom(tmp_path):
    d = Dataset(np.array([[18]]), np.array([[[0.1, 0.2, 0.3]]]), np.array([-14.123456789]),
                forces=np.array([[[0.0, 1e-9, -2.5]]]), hessians=np.array([[[1.0, 0.1, 0.0], [0.1, 2.0, 0.0], [0.0, 0.0, 3.0]]]))
    back = read_extxyz(write_extxyz(d, tmp_path / "ar.xyz"))
    assert np.array_equal(back.hessians, d.hessians)
    assert np.array_equal(back.forces, d.forces)
    assert back.energies.tolist() == [-14.123456789]


def test_read_plain_ase_extxyz(tmp_path):
    rng = np.random.default_rng(9)
    images = []
    for symbols, n in (("H2O", 3), ("CH4", 5), ("H2O", 3)):
        atoms = Atoms(symbols, positions=rng.standard_normal((n, 3)))
        atoms.calc = SinglePointCalculator(atoms, energy=float(rng.standard_normal()), forces=rng.standard_normal((n, 3)))
        images.append(atoms)
    path = tmp_path / "ase.extxyz"
    ase.io.write(path, images, format="extxyz")
    d = load(path)
    assert len(d) == 3 and d.max_atoms == 5
    assert d.n_atoms.tolist() == [3, 5, 3]
    assert d.species[1].tolist() == [6, 1, 1, 1, 1]
    np.testing.assert_allclose(d.energies, [a.get_potential_energy() for a in images], rtol=0, atol=1e-10)
    np.testing.assert_allclose(d.forces[1], images[1].get_forces(), atol=1e-7)
    np.testing.assert_allclose(d.positions[0, :3], images[0].positions, atol=1e-7)
    assert d.molecule.tolist() == ["H2O", "CH4", "H2O"]
    assert d.category.tolist() == ["other"] * 3
    assert d.hessians is None
    assert d.cells is None


def test_read_ase_extxyz_with_energy_in_info_only(tmp_path):
    path = tmp_path / "info.xyz"
    path.write_text("2\nProperties=species:S:1:pos:R:3 energy=-31.25 molecule=H2\nH 0 0 0\nH 0 0 0.74\n")
    d = read_extxyz(path)
    assert d.energies.tolist() == [-31.25]
    assert d.molecule.tolist() == ["H2"]
    assert d.forces is None


# ---------------------------------------------------------------------------------- ASE Atoms
def test_to_ase(mixed):
    images = to_ase(mixed)
    assert len(images) == len(mixed)
    for i, atoms in enumerate(images):
        n = mixed.n_atoms[i]
        assert len(atoms) == n  # no padding atoms
        assert atoms.numbers.tolist() == mixed.species[i, :n].tolist()
        assert atoms.get_potential_energy() == mixed.energies[i]
        assert np.array_equal(atoms.get_forces(), mixed.forces[i, :n])
        assert np.array_equal(atoms.positions, mixed.positions[i, :n])
        assert atoms.info["molecule"] == mixed.molecule[i]
        assert atoms.info["category"] == mixed.category[i]
        assert np.array_equal(atoms.info["hessian"].reshape(3 * n, 3 * n), mixed.hessians[i, : 3 * n, : 3 * n])
        assert np.array_equal(atoms.arrays["atomic_energies"], mixed.atomic_energies[i, :n])
        assert ("temperature" in atoms.info) == bool(np.isfinite(mixed.temperature[i]))
    assert images[2].info["temperature"] == 300.0


def test_from_ase_of_to_ase_is_exact(mixed):
    back = from_ase(to_ase(mixed), name="again")
    assert back.name == "again"
    for f in ("species", "positions", "energies", "forces", "hessians", "atomic_energies"):
        assert np.array_equal(getattr(back, f), getattr(mixed, f)), f
    assert_labels_equal(back, mixed)


def test_from_ase_energy_from_info_and_default_labels():
    images = [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]), Atoms("HF", positions=[[0, 0, 0], [0, 0, 0.92]])]
    images[0].info["energy"] = -31.0
    images[1].info["energy"] = -2720.5
    d = from_ase(images)
    assert d.energies.tolist() == [-31.0, -2720.5]
    assert d.molecule.tolist() == ["H2", images[1].get_chemical_formula()]  # the formula when unlabelled
    assert d.category.tolist() == ["other", "other"]
    assert d.forces is None  # not every image has forces


def test_from_ase_periodic():
    atoms = Atoms("Ar", positions=[[0, 0, 0]], cell=[4.0, 5.0, 6.0], pbc=True)
    atoms.info["energy"] = -1.0
    d = from_ase([atoms])
    assert np.array_equal(d.cells[0], np.diag([4.0, 5.0, 6.0]))
    assert d.pbc.tolist() == [[True, True, True]]


def test_from_ase_missing_energy():
    images = [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]), Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.75]])]
    images[0].info["energy"] = -31.0
    with pytest.raises(MLIPLabError, match="configuration 1 has neither an energy nor forces"):
        from_ase(images, source="my images")


def test_from_ase_no_images():
    with pytest.raises(MLIPLabError, match="no configurations"):
        from_ase([])


def test_from_ase_hessian_of_wrong_size():
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
    atoms.info.update(energy=-31.0, hessian=np.zeros(25))
    with pytest.raises(MLIPLabError, match="configuration 0 has a Hessian of 25 values, expected"):
        from_ase([atoms])
