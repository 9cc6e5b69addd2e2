"""Every kind of malformed input issue 11 lists gets an MLIPLabError naming the problem, from extxyz and npz alike.

NaN/inf positions, forces, energies and Hessians, Hessians of the wrong shape or asymmetric, unknown atomic
numbers and the 'Xx' symbol are covered in test_validation.py and not repeated here.
"""

import tracemalloc
import zipfile

import numpy as np
import pytest
import torch
from ase import Atoms

from mlip_lab import MLIPLabError
from mlip_lab.data import MIN_DISTANCE, Dataset, check_atoms_apart, frames, from_ase, load, npz_reader

WATER = [("O", 0.0, 0.0, 0.1173), ("H", 0.0, 0.7572, -0.4692), ("H", 0.0, -0.7572, -0.4692)]
WATER_XYZ = [row[1:] for row in WATER]
FORCES = "species:S:1:pos:R:3:forces:R:3"


def frame(atoms=WATER, extra="", props="species:S:1:pos:R:3", count=None):
    """One extxyz frame; ``atoms`` rows are (symbol, x, y, z, *more columns)."""
    lines = [str(len(atoms) if count is None else count), f"Properties={props} energy=-2079.25 {extra}".rstrip()]
    return "\n".join(lines + [" ".join(str(v) for v in row) for row in atoms]) + "\n"


def with_forces(atoms=WATER):
    return [(*row, 0.1, -0.2, 0.3) for row in atoms]


def rejects(path, *fragments):
    """load(path) raises MLIPLabError naming the file and every fragment; returns the message."""
    with pytest.raises(MLIPLabError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def xyz(tmp_path, text, name="bad.xyz"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def peak_bytes(function) -> int:
    """Peak Python memory while ``function()`` runs (numpy allocations are traced too)."""
    tracemalloc.start()
    try:
        function()
    except MLIPLabError:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# ---------------------------------------------------------------------------------- binary and non-UTF-8 files
@pytest.mark.parametrize("content, fragment", [
    (bytes(range(256)), "NUL bytes: this is a binary file"),
    (frame(extra="molecule=caf\xe9").encode("latin-1"), "line 2 is not UTF-8 text (byte 0xe9"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "line 1 is not UTF-8 text (byte 0x89 at column 1)"),
    (b"A" * 5000, "line 1 (atom count) is longer than 1024 bytes"),
])
def test_extxyz_binary_or_non_utf8(tmp_path, content, fragment):
    rejects(xyz(tmp_path, content), "not a readable extended XYZ file", fragment)


def test_npz_random_bytes(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    rejects(path, "not a readable npz file")


def test_a_huge_binary_file_is_not_read_into_memory(tmp_path):
    path = xyz(tmp_path, b"\xff" * (16 * 2**20))  # 16 MiB, no newline anywhere
    assert peak_bytes(lambda: load(path)) < 2**20


# ---------------------------------------------------------------------------------- absurd atom counts
@pytest.mark.parametrize("count, fragment", [
    ("-3", "the atom count is -3"),
    ("0", "the atom count is 0"),
    ("1000000000", "claims 1000000000 atoms but only"),
    ("12", "claims 12 atoms of 4 columns each"),
    ("three", "expected the number of atoms, found 'three'"),
    ("3 atoms", "expected the number of atoms, found '3 atoms'"),
])
def test_extxyz_absurd_atom_count(tmp_path, count, fragment):
    rejects(xyz(tmp_path, frame(count=count)), "configuration 0 (line 1)", fragment)


def test_extxyz_billion_atoms_in_a_tiny_file_allocates_nothing(tmp_path):
    path = xyz(tmp_path, frame(count=10**9))
    assert peak_bytes(lambda: load(path)) < 2**20


def write_npz_with_header(path, arrays, name, shape, stored=24):
    """An npz holding ``arrays`` plus member ``name`` whose .npy header claims ``shape`` (float64) but
    stores only ``stored`` bytes."""
    np.savez(path, **{k: v for k, v in arrays.items() if k != name})
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = shape
    with zipfile.ZipFile(path, "a") as archive, archive.open(f"{name}.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(bytes(stored))
    return path


def test_npz_header_claiming_a_huge_array_allocates_nothing(tmp_path, good_arrays, write_raw_npz):
    path = write_raw_npz(tmp_path / "base.npz", good_arrays)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    huge = write_npz_with_header(tmp_path / "huge.npz", arrays, "positions", (10**9, 5, 3))
    rejects(huge, "array 'positions' claims shape (1000000000, 5, 3)", "stores 24 bytes")
    assert peak_bytes(lambda: load(huge)) < 2**20


def test_npz_over_the_memory_budget(tmp_path, good_arrays, write_raw_npz, monkeypatch):
    path = write_raw_npz(tmp_path / "big.npz", good_arrays)
    monkeypatch.setattr(npz_reader, "MAX_NPZ_BYTES", 1000)
    rejects(path, "GiB in memory", "split the dataset")


def test_padding_beyond_the_memory_budget(tmp_path, monkeypatch):
    big = [("C", 1.5 * i, 0.0, 0.0) for i in range(30)]  # one large frame among small ones
    monkeypatch.setattr(frames, "MAX_PADDED_VALUES", 2000)
    rejects(xyz(tmp_path, frame(big) + frame() * 9), "padding 10 configurations to the largest one (30 atoms)", "split the file")


# ---------------------------------------------------------------------------------- truncated or extra columns
@pytest.mark.parametrize("row, found", [(("H", 0.0, 0.75), 3), (("H", 0.0, 0.75, -0.47, 1.0), 5), ((0.0, 0.75, -0.47), 3)])
def test_extxyz_wrong_number_of_columns(tmp_path, row, found):
    rejects(xyz(tmp_path, frame([WATER[0], row, WATER[2]])), "configuration 0, line 4: expected 4 columns", f"found {found}")


def test_extxyz_file_ends_inside_a_frame(tmp_path):
    text = frame() + frame()
    rejects(xyz(tmp_path, text[: text.rindex("H ")]), "configuration 1: the file ends after 2 of its 3 atom lines")


def test_extxyz_more_atom_lines_than_the_count(tmp_path):
    rejects(xyz(tmp_path, frame(count=2)), "configuration 1 (line 5): expected the number of atoms, found 'H",
            "may have more atom lines than its count says")


def test_extxyz_garbage_after_the_last_frame(tmp_path):
    rejects(xyz(tmp_path, frame() + "the end\n"), "expected the number of atoms, found 'the end'")


def test_extxyz_non_numeric_position(tmp_path):
    rejects(xyz(tmp_path, frame([WATER[0], ("H", 0.0, "0.75.1", 0.0), WATER[2]])), "configuration 0",
            "positions column holds a value that is not a number")


def test_npz_extra_coordinate_column(tmp_path, good_arrays, write_raw_npz):
    good_arrays["positions"] = np.concatenate([good_arrays["positions"], np.zeros((3, 5, 1))], axis=2)
    rejects(write_raw_npz(tmp_path / "cols.npz", good_arrays), "'positions' has shape (3, 5, 4), expected (3, 5, 3)")


# ---------------------------------------------------------------------------------- frames that disagree
def test_extxyz_frames_with_and_without_forces(tmp_path):
    rejects(xyz(tmp_path, frame(with_forces(), props=FORCES) + frame()),
            "configuration 1 lacks forces but configuration 0 has them")


def test_extxyz_hessian_only_on_a_later_frame(tmp_path):
    hessian = 'hessian="' + " ".join(["0.0"] * 81) + '"'
    rejects(xyz(tmp_path, frame() + frame(extra=hessian)), "configuration 1 has hessian but configuration 0 does not")


def test_ase_images_with_and_without_forces():
    from ase.calculators.singlepoint import SinglePointCalculator

    images = [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]) for _ in range(3)]
    for atoms in images:
        atoms.info["energy"] = -31.0
    images[2].calc = SinglePointCalculator(images[2], energy=-31.0, forces=np.zeros((2, 3)))
    with pytest.raises(MLIPLabError, match="configuration 2 has forces but configuration 0 does not"):
        from_ase(images)


@pytest.mark.parametrize("props, fragment", [
    ("species:S:1:pos:S:3", "Properties gives positions as S:3; expected R:3"),
    ("species:S:1:pos:R:2", "Properties gives positions as R:2; expected R:3"),
    ("species:S:1", "needs pos:R:3 and species:S:1"),
    ("species:S:1:pos:R:3:pos:R:3", "is not a list of distinct NAME:TYPE:COLUMNS"),
    ("species:S:1:pos:Q:3", "is not a list of distinct NAME:TYPE:COLUMNS"),
    ("species:S", "is not a list of distinct NAME:TYPE:COLUMNS"),
])
def test_extxyz_bad_properties(tmp_path, props, fragment):
    rejects(xyz(tmp_path, frame(props=props)), fragment)


def test_npz_forces_for_fewer_configurations(tmp_path, good_arrays, write_raw_npz):
    good_arrays["forces"] = good_arrays["forces"][:2]
    rejects(write_raw_npz(tmp_path / "forces_m.npz", good_arrays), "'forces' has shape (2, 5, 3), expected (3, 5, 3)")


# ---------------------------------------------------------------------------------- non-finite numbers anywhere
AE = "species:S:1:pos:R:3:atomic_energies:R:1"
HESSIAN = 'hessian="{}"'.format


@pytest.mark.parametrize("good, bad, fragment", [
    (frame(), frame().replace("energy=-2079.25", "energy=nan"), "'energies' contains NaN"),
    (frame(), frame().replace("energy=-2079.25", "energy=-inf"), "'energies' contains NaN or infinite"),
    (frame(extra='Lattice="10 0 0 0 10 0 0 0 10"'), frame(extra='Lattice="10 0 0 0 nan 0 0 0 10"'), "'cells' contains NaN"),
    (frame(extra="temperature=300"), frame(extra="temperature=inf"), "'temperature' is inf K"),
    (frame(extra=HESSIAN(" ".join(["1.0"] * 81))), frame(extra=HESSIAN(" ".join(["nan"] * 81))), "'hessians' contains NaN"),
    (frame([(*row, 0.5) for row in WATER], props=AE), frame([(*row, "nan") for row in WATER], props=AE),
     "'atomic_energies' contains NaN"),
    (frame(), frame().replace("energy=-2079.25", "energy=abc"), "'energy' must be numeric, got 'abc'"),
])
def test_extxyz_non_finite_values(tmp_path, good, bad, fragment):
    rejects(xyz(tmp_path, good + bad), "configuration 1", fragment)


@pytest.mark.parametrize("field, value, index", [
    ("positions", (1, 0, 2), np.nan), ("energies", (2,), -np.inf), ("forces", (0, 4, 1), np.nan),
    ("hessians", (1, 3, 3), np.inf), ("atomic_energies", (1, 4), np.nan), ("cells", (2, 1, 1), np.nan),
    ("temperature", (0,), np.inf),
])
def test_npz_non_finite_values(tmp_path, good_arrays, write_raw_npz, field, value, index):
    if field == "cells":
        good_arrays["cells"] = np.tile(np.eye(3) * 20.0, (3, 1, 1))
    good_arrays[field][value] = index
    message = rejects(write_raw_npz(tmp_path / "nonfinite.npz", good_arrays), f"configuration {value[0]}", f"'{field}'")
    assert "NaN" in message or "inf" in message


# ---------------------------------------------------------------------------------- element symbols
@pytest.mark.parametrize("symbol", ["X", "12", "Hh", "e"])
def test_extxyz_unknown_element_symbols(tmp_path, symbol):
    rejects(xyz(tmp_path, frame([WATER[0], (symbol, 0.0, 0.75, -0.47), WATER[2]])),
            f"configuration 0: unknown element symbol {symbol!r} (atom 1)")


def test_extxyz_lower_case_symbols_are_read_as_ase_reads_them(tmp_path):
    d = load(xyz(tmp_path, frame([("o", 0.0, 0.0, 0.1173), *WATER[1:]])))
    assert d.species[0].tolist() == [8, 1, 1]


@pytest.mark.parametrize("z", [0, -1, 119])
def test_extxyz_atomic_number_column_out_of_range(tmp_path, z):
    rows = [(8, 0.0, 0.0, 0.1173), (z, 0.0, 0.75, -0.47), (1, 0.0, -0.75, -0.47)]
    rejects(xyz(tmp_path, frame(rows, props="Z:I:1:pos:R:3")), "atomic numbers must be integers 1-118")


# ---------------------------------------------------------------------------------- atoms that (nearly) coincide
@pytest.mark.parametrize("gap", [0.0, 0.05, 0.0999])
def test_extxyz_coinciding_atoms(tmp_path, gap):
    close = [WATER[0], WATER[1], ("H", 0.0, 0.7572 + gap, -0.4692)]
    rejects(xyz(tmp_path, frame() + frame(close)), "configuration 1: atoms 1 and 2 are", f"closer than {MIN_DISTANCE} Å")


def test_npz_coinciding_atoms(tmp_path, good_arrays, write_raw_npz):
    good_arrays["positions"][1, 3] = good_arrays["positions"][1, 0] + [0.03, 0.0, 0.04]  # methane: 5 real atoms
    rejects(write_raw_npz(tmp_path / "close.npz", good_arrays), "configuration 1: atoms 0 and 3 are 0.05 Å apart")


def test_atoms_close_only_through_the_periodic_boundary(tmp_path):
    atoms = [("Ar", 1.0, 1.0, 0.02), ("Ar", 1.0, 1.0, 9.97)]
    open_box = load(xyz(tmp_path, frame(atoms, extra='Lattice="10 0 0 0 10 0 0 0 10" pbc="T T F"'), name="slab.xyz"))
    assert open_box.pbc.tolist() == [[True, True, False]]
    rejects(xyz(tmp_path, frame(atoms, extra='Lattice="10 0 0 0 10 0 0 0 10" pbc="T T T"')), "atoms 0 and 1 are 0.05 Å apart")


def test_check_atoms_apart_on_torch_batches_ignores_padding():
    species = torch.tensor([[8, 1, 1, 0, 0], [6, 1, 0, 0, 0]])  # padded atoms all sit at the origin
    positions = torch.zeros(2, 5, 3)
    positions[0, :3] = torch.tensor(WATER_XYZ)
    positions[1, 1] = torch.tensor([0.0, 0.0, 1.09])
    check_atoms_apart(species, positions)
    positions[1, 1, 2] = 0.09
    with pytest.raises(MLIPLabError, match="configuration 1: atoms 0 and 1 are 0.09 Å apart"):
        check_atoms_apart(species, positions, source="batch")
    check_atoms_apart(species, positions, min_distance=0.05)


def test_check_atoms_apart_single_configuration_and_bad_inputs():
    check_atoms_apart([8, 1, 1], np.array(WATER_XYZ))
    with pytest.raises(MLIPLabError, match="atom 2 has a NaN or infinite position"):
        check_atoms_apart([8, 1, 1], np.array([*WATER_XYZ[:2], [np.nan, 0, 0]]))
    with pytest.raises(MLIPLabError, match="must be \\(N,\\) and \\(N, 3\\)"):
        check_atoms_apart([8, 1], np.array(WATER_XYZ))
    with pytest.raises(MLIPLabError, match="periodic flags are set but no cell"):
        check_atoms_apart([8, 1, 1], np.array(WATER_XYZ), pbc=True)
    with pytest.raises(MLIPLabError, match="linearly dependent"):
        check_atoms_apart([8, 1, 1], np.array(WATER_XYZ), cells=[[5, 0, 0], [10, 0, 0], [0, 0, 5]], pbc=True)
    with pytest.raises(MLIPLabError, match="periodic cell vector 2 is 0.05 Å long"):
        check_atoms_apart([8, 1, 1], np.array(WATER_XYZ), cells=np.diag([5, 5, 0.05]), pbc=True)


def test_check_atoms_apart_matches_brute_force_minimum_image_in_skewed_cells():
    """Against ASE's Atoms.get_distances(mic=True) in random triclinic cells, just above and below the threshold."""
    rng = np.random.default_rng(4)
    for _ in range(40):
        cell = np.diag(rng.uniform(2.0, 4.0, 3)) + rng.uniform(-1.5, 1.5, (3, 3)) * np.tri(3, k=-1)
        pbc = rng.random(3) < 0.7
        atoms = Atoms("H5", cell=cell, pbc=pbc, scaled_positions=rng.random((5, 3)))
        gaps = atoms.get_all_distances(mic=True)[np.triu_indices(5, 1)]
        for threshold, close in ((gaps.min() * 0.99, False), (gaps.min() * 1.01, True)):
            if close:
                with pytest.raises(MLIPLabError, match="apart"):
                    check_atoms_apart(atoms.numbers, atoms.positions, cell, pbc, min_distance=threshold)
            else:
                check_atoms_apart(atoms.numbers, atoms.positions, cell, pbc, min_distance=threshold)


def test_dataset_construction_checks_distances():
    with pytest.raises(MLIPLabError, match="atoms 0 and 1 are 0 Å apart"):
        Dataset(np.array([[1, 1]]), np.zeros((1, 2, 3)), np.array([-1.0]))


# ---------------------------------------------------------------------------------- pickles are never loaded
PICKLE_RAN = []


class _Trap:
    def __reduce__(self):
        return (PICKLE_RAN.append, (True,))


def test_npz_pickled_object_array_is_never_unpickled(tmp_path, good_arrays, write_raw_npz):
    good_arrays["molecule"] = np.array([_Trap(), "methane", "water"], dtype=object)
    rejects(write_raw_npz(tmp_path / "trap.npz", good_arrays), "array 'molecule' holds Python objects (a pickle)")
    assert not PICKLE_RAN


@pytest.mark.parametrize("dtype", ["complex128", "datetime64[s]", "V8"])
def test_npz_arrays_of_types_a_dataset_never_holds(tmp_path, good_arrays, write_raw_npz, dtype):
    good_arrays["energies"] = np.zeros(3, dtype=dtype)
    rejects(write_raw_npz(tmp_path / "dtype.npz", good_arrays), "array 'energies' has dtype", "numbers, booleans or text")


@pytest.mark.parametrize("header, fragment", [
    ({"format_version": "1"}, "format version 1 is not supported"),
    ({"format_version": np.array([1, 1])}, "format version [1, 1] is not supported"),
    ({"format": np.array(["mlip_lab.dataset"] * 2)}, "format field is ''"),
    ({"metadata_json": "[1, 2]"}, "metadata_json must be a JSON object, got list"),
])
def test_npz_header_fields_of_the_wrong_type(tmp_path, good_arrays, write_raw_npz, header, fragment):
    rejects(write_raw_npz(tmp_path / "header.npz", good_arrays, **header), fragment)


def test_npz_labels_that_are_not_text(tmp_path, good_arrays, write_raw_npz):
    good_arrays["molecule"] = np.array([b"\xff", b"a", b"b"])
    rejects(write_raw_npz(tmp_path / "labels.npz", good_arrays), "'molecule' labels must be text")


def test_directory_named_like_a_dataset(tmp_path):
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(MLIPLabError, match="is not a file"):
        load(tmp_path / "folder.npz")
