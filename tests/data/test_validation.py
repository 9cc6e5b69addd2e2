"""Validation at the file boundary: every bad file gives an MLIPLabError naming the file and the problem."""

import numpy as np
import pytest

import mlip_lab
from mlip_lab.data import load

WATER = [("O", 0.0, 0.0, 0.1173), ("H", 0.0, 0.7572, -0.4692), ("H", 0.0, -0.7572, -0.4692)]


def expect_error(path, *fragments, index=None):
    """load(path) must raise an MLIPLabError whose message names the file, every fragment and the index."""
    with pytest.raises(mlip_lab.MLIPLabError) as info:
        load(path)
    assert issubclass(info.type, mlip_lab.MLIPLabError)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    if index is not None:
        assert f"configuration {index}" in message, message
    return message


def frame(atoms, energy="-2079.25", props="species:S:1:pos:R:3", extra=""):
    """One extxyz frame; ``atoms`` rows are (symbol, x, y, z, *more columns)."""
    lines = [str(len(atoms)), f"Properties={props} energy={energy} {extra}".rstrip()]
    lines += [" ".join(str(v) for v in row) for row in atoms]
    return "\n".join(lines) + "\n"


def write_xyz(tmp_path, *frames, name="bad.xyz"):
    path = tmp_path / name
    path.write_text("".join(frames))
    return path


# ---------------------------------------------------------------------------------- baselines
def test_unmodified_npz_loads(tmp_path, good_arrays, write_raw_npz):
    """The arrays the npz tests corrupt are valid as they are."""
    d = load(write_raw_npz(tmp_path / "good.npz", good_arrays))
    assert len(d) == 3 and d.name == "raw"
    assert d.hessians.shape == (3, 15, 15)


def test_unmodified_extxyz_loads(tmp_path):
    d = load(write_xyz(tmp_path, frame(WATER), frame(WATER, energy="-2079.5")))
    assert d.energies.tolist() == [-2079.25, -2079.5]


# ---------------------------------------------------------------------------------- non-finite values
def test_npz_nan_in_positions(tmp_path, good_arrays, write_raw_npz):
    good_arrays["positions"][1, 2, 0] = np.nan
    expect_error(write_raw_npz(tmp_path / "nan.npz", good_arrays), "'positions'", "NaN", index=1)


def test_npz_inf_in_forces(tmp_path, good_arrays, write_raw_npz):
    good_arrays["forces"][2, 0, 1] = np.inf
    expect_error(write_raw_npz(tmp_path / "inf.npz", good_arrays), "'forces'", "infinite", index=2)


def test_npz_nan_in_energies(tmp_path, good_arrays, write_raw_npz):
    good_arrays["energies"][0] = np.nan
    expect_error(write_raw_npz(tmp_path / "nan_e.npz", good_arrays), "'energies'", index=0)


def test_npz_nan_in_hessian(tmp_path, good_arrays, write_raw_npz):
    good_arrays["hessians"][1, 0, 0] = np.nan
    expect_error(write_raw_npz(tmp_path / "nan_h.npz", good_arrays), "'hessians'", index=1)


def test_extxyz_nan_in_positions(tmp_path):
    bad = [WATER[0], ("H", "nan", 0.7572, -0.4692), WATER[2]]
    expect_error(write_xyz(tmp_path, frame(WATER), frame(bad)), "'positions'", "NaN", index=1)


def test_extxyz_inf_in_forces(tmp_path):
    props = "species:S:1:pos:R:3:forces:R:3"
    good = [(*row, 0.1, 0.2, 0.3) for row in WATER]
    bad = [(*WATER[0], 0.1, "inf", 0.3), *good[1:]]
    expect_error(write_xyz(tmp_path, frame(good, props=props), frame(bad, props=props)), "'forces'", index=1)


# ---------------------------------------------------------------------------------- shapes
def test_npz_forces_with_wrong_number_of_atoms(tmp_path, good_arrays, write_raw_npz):
    good_arrays["forces"] = good_arrays["forces"][:, :4]
    expect_error(write_raw_npz(tmp_path / "forces_n.npz", good_arrays), "'forces' has shape (3, 4, 3), expected (3, 5, 3)")


def test_npz_energies_wrong_length(tmp_path, good_arrays, write_raw_npz):
    good_arrays["energies"] = good_arrays["energies"][:2]
    expect_error(write_raw_npz(tmp_path / "energies_m.npz", good_arrays), "'energies' has shape (2,), expected (3,)")


def test_npz_labels_wrong_length(tmp_path, good_arrays, write_raw_npz):
    good_arrays["molecule"] = good_arrays["molecule"][:1]
    expect_error(write_raw_npz(tmp_path / "labels.npz", good_arrays), "'molecule' labels have shape")


def test_npz_hessian_not_square(tmp_path, good_arrays, write_raw_npz):
    good_arrays["hessians"] = good_arrays["hessians"][:, :, :14]
    expect_error(write_raw_npz(tmp_path / "h_rect.npz", good_arrays), "'hessians' must be square", "(3, 15, 14)")


def test_npz_hessian_not_3n(tmp_path, good_arrays, write_raw_npz):
    good_arrays["hessians"] = good_arrays["hessians"][:, :12, :12]
    expect_error(write_raw_npz(tmp_path / "h_3n.npz", good_arrays), "'hessians' has shape (3, 12, 12), expected (3, 15, 15)")


def test_extxyz_hessian_wrong_size(tmp_path):
    extra = 'hessian="' + " ".join(["0.5"] * 64) + '"'
    expect_error(write_xyz(tmp_path, frame(WATER, extra=extra)), "Hessian of 64 values, expected (3N)^2 = 81", index=0)


# ---------------------------------------------------------------------------------- elements
def test_extxyz_unknown_element(tmp_path):
    bad = [("Xx", 0.0, 0.0, 0.0), *WATER[1:]]
    expect_error(write_xyz(tmp_path, frame(WATER), frame(bad)), "unknown element symbol 'Xx'", index=1)


def test_npz_unknown_atomic_number(tmp_path, good_arrays, write_raw_npz):
    good_arrays["species"][1, 0] = 200
    expect_error(write_raw_npz(tmp_path / "z200.npz", good_arrays), "unknown atomic number(s) [200]", index=1)


def test_npz_negative_atomic_number(tmp_path, good_arrays, write_raw_npz):
    good_arrays["species"][2, 1] = -1
    expect_error(write_raw_npz(tmp_path / "zneg.npz", good_arrays), "unknown atomic number(s) [-1]", index=2)


def test_npz_non_integer_species(tmp_path, good_arrays, write_raw_npz):
    good_arrays["species"] = good_arrays["species"].astype(float)
    good_arrays["species"][0, 0] = 7.5
    expect_error(write_raw_npz(tmp_path / "zfloat.npz", good_arrays), "integer atomic numbers")


# ---------------------------------------------------------------------------------- Hessian symmetry
def test_npz_asymmetric_hessian(tmp_path, good_arrays, write_raw_npz):
    good_arrays["hessians"][2, 0, 4] += 0.05
    expect_error(write_raw_npz(tmp_path / "asym.npz", good_arrays), "Hessian is not symmetric", "(H + H.T) / 2", index=2)


def test_npz_hessian_asymmetry_just_beyond_tolerance(tmp_path, good_arrays, write_raw_npz):
    good_arrays["hessians"][0, 1, 2] += 5e-3  # entries are O(1-10): tolerance is about 1e-3
    expect_error(write_raw_npz(tmp_path / "asym_small.npz", good_arrays), "not symmetric", index=0)


def test_npz_tiny_hessian_asymmetry_is_accepted(tmp_path, good_arrays, write_raw_npz):
    good_arrays["hessians"][0, 1, 2] += 1e-6
    good_arrays["hessians"][1, 7, 3] -= 2e-5
    good_arrays["hessians"][2, 4, 0] += 5e-4  # round-off sized, under the 1e-3 eV/Å² absolute tolerance
    d = load(write_raw_npz(tmp_path / "asym_tiny.npz", good_arrays))
    assert d.hessians[1, 7, 3] != d.hessians[1, 3, 7]  # kept as given, not symmetrised
    np.testing.assert_allclose(d.hessians, good_arrays["hessians"], atol=1e-5)


def test_extxyz_asymmetric_hessian(tmp_path):
    h = np.eye(9)
    h[0, 8] = 1.0
    extra = 'hessian="' + " ".join(repr(float(x)) for x in h.reshape(-1)) + '"'
    expect_error(write_xyz(tmp_path, frame(WATER, extra=extra)), "Hessian is not symmetric", index=0)


# ---------------------------------------------------------------------------------- padding
def test_npz_nonzero_position_on_padded_atom(tmp_path, good_arrays, write_raw_npz):
    good_arrays["positions"][2, 4] = [0.0, 0.0, 1.0]  # water (3 atoms) padded to 5
    expect_error(write_raw_npz(tmp_path / "pad_pos.npz", good_arrays), "padded atoms (species 0) must have zero 'positions'", index=2)


def test_npz_nonzero_force_on_padded_atom(tmp_path, good_arrays, write_raw_npz):
    good_arrays["forces"][0, 3, 1] = 0.2
    expect_error(write_raw_npz(tmp_path / "pad_f.npz", good_arrays), "must have zero 'forces'", index=0)


def test_npz_hessian_entries_on_padded_atom(tmp_path, good_arrays, write_raw_npz):
    good_arrays["hessians"][2, 10, 10] = 1.0  # atom 3 of a water row is padding
    expect_error(write_raw_npz(tmp_path / "pad_h.npz", good_arrays), "Hessian rows and columns of padded atoms", index=2)


def test_npz_padding_before_real_atom(tmp_path, good_arrays, write_raw_npz):
    good_arrays["species"][0] = [8, 0, 1, 1, 0]
    good_arrays["positions"][0] = 0.0
    good_arrays["positions"][0, 0] = [0.0, 0.0, 0.1]
    good_arrays["positions"][0, 2:4] = [[0.0, 0.8, -0.5], [0.0, -0.8, -0.5]]
    good_arrays["forces"] = good_arrays["hessians"] = good_arrays["atomic_energies"] = None
    expect_error(write_raw_npz(tmp_path / "pad_order.npz", good_arrays), "padding (species 0) must come after all real atoms", index=0)


def test_npz_configuration_of_only_padding(tmp_path, good_arrays, write_raw_npz):
    good_arrays["species"][1] = 0
    expect_error(write_raw_npz(tmp_path / "all_pad.npz", good_arrays), "has no atoms", index=1)


# ---------------------------------------------------------------------------------- empty files
def test_empty_npz(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    expect_error(path, "empty")


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_xyz(tmp_path, content):
    path = tmp_path / "empty.xyz"
    path.write_text(content)
    expect_error(path, "empty")


# ---------------------------------------------------------------------------------- missing fields
def test_npz_without_energies_or_forces(tmp_path, good_arrays, write_raw_npz):
    good_arrays["energies"] = good_arrays["forces"] = None
    expect_error(write_raw_npz(tmp_path / "no_e.npz", good_arrays), "neither energies nor forces")


def test_npz_forces_without_energies_loads(tmp_path, good_arrays, write_raw_npz):
    """Force-matching data (coarse-grained liquids) carry forces and no energies."""
    good_arrays["energies"] = None
    data = load(write_raw_npz(tmp_path / "forces_only.npz", good_arrays))
    assert data.energies is None and data.forces is not None and len(data) == 3
    assert data.labelled_fields[0] == "forces"


def test_npz_missing_positions(tmp_path, good_arrays, write_raw_npz):
    good_arrays["positions"] = None
    expect_error(write_raw_npz(tmp_path / "no_pos.npz", good_arrays), "missing required field 'positions'")


def test_extxyz_frame_without_energy(tmp_path):
    no_energy = frame(WATER).replace(" energy=-2079.25", "")
    expect_error(write_xyz(tmp_path, frame(WATER), no_energy), "configuration 1 has neither an energy nor forces")


def test_extxyz_frames_disagree_on_energy(tmp_path):
    forces = "species:S:1:pos:R:3:forces:R:3"
    rows = [row + (0.1, 0.0, -0.1) for row in WATER]
    with_energy, without = frame(rows, props=forces), frame(rows, props=forces).replace(" energy=-2079.25", "")
    expect_error(write_xyz(tmp_path, with_energy, without), "configuration 1 lacks energy")


# ---------------------------------------------------------------------------------- header fields
def test_npz_wrong_energy_units(tmp_path, good_arrays, write_raw_npz):
    path = write_raw_npz(tmp_path / "kcal.npz", good_arrays, units_energy="kcal/mol")
    expect_error(path, "units_energy is 'kcal/mol'", "eV")


def test_npz_wrong_length_units(tmp_path, good_arrays, write_raw_npz):
    expect_error(write_raw_npz(tmp_path / "bohr.npz", good_arrays, units_length="Bohr"), "units_length is 'Bohr'")


def test_npz_missing_units(tmp_path, good_arrays, write_raw_npz):
    expect_error(write_raw_npz(tmp_path / "nounits.npz", good_arrays, units_energy=None), "units_energy is ''")


def test_npz_wrong_format_field(tmp_path, good_arrays, write_raw_npz):
    expect_error(write_raw_npz(tmp_path / "fmt.npz", good_arrays, format="someone.else"),
                 "not an MLIP Lab dataset", "format field is 'someone.else'")


def test_npz_without_format_field(tmp_path, good_arrays, write_raw_npz):
    expect_error(write_raw_npz(tmp_path / "nofmt.npz", good_arrays, format=None), "format field is ''")


def test_npz_unsupported_format_version(tmp_path, good_arrays, write_raw_npz):
    expect_error(write_raw_npz(tmp_path / "v2.npz", good_arrays, format_version=2), "format version 2 is not supported")


def test_npz_bad_metadata_json(tmp_path, good_arrays, write_raw_npz):
    expect_error(write_raw_npz(tmp_path / "meta.npz", good_arrays, metadata_json="{not json"), "metadata_json is not valid JSON")


# ---------------------------------------------------------------------------------- not npz at all
def test_text_file_with_npz_suffix(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("energy,x,y,z\n-1.0,0,0,0\n")
    expect_error(path, "not a readable npz file")


def test_truncated_npz(tmp_path, good_arrays, write_raw_npz):
    path = write_raw_npz(tmp_path / "trunc.npz", good_arrays)
    path.write_bytes(path.read_bytes()[:300])
    expect_error(path, "not a readable npz file")


def test_npy_array_with_npz_suffix(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.zeros((3, 3)))
    expect_error(path, "single .npy array")


def test_npz_with_pickled_object_array(tmp_path, good_arrays, write_raw_npz):
    good_arrays["molecule"] = np.array(["water", "methane", "water"], dtype=object)
    expect_error(write_raw_npz(tmp_path / "pickled.npz", good_arrays), "array 'molecule' holds Python objects (a pickle)",
                 "never loads")


def test_unreadable_extxyz(tmp_path):
    path = write_xyz(tmp_path, "3\nno properties here\nO 0 0 0\nH 0 0\n", name="broken.xyz")
    expect_error(path, "not a readable extended XYZ file")


# ---------------------------------------------------------------------------------- labels
def test_npz_unknown_category(tmp_path, good_arrays, write_raw_npz):
    good_arrays["category"] = np.array(["min", "transition_state", "md"])
    expect_error(write_raw_npz(tmp_path / "cat.npz", good_arrays), "unknown categories ['transition_state']", "'ts'")


def test_extxyz_unknown_category(tmp_path):
    expect_error(write_xyz(tmp_path, frame(WATER, extra="category=equilibrium")), "unknown categories ['equilibrium']")


def test_npz_pbc_without_cells(tmp_path, good_arrays, write_raw_npz):
    good_arrays["pbc"] = np.ones((3, 3), bool)
    expect_error(write_raw_npz(tmp_path / "pbc.npz", good_arrays), "periodic flags are set but no 'cells'")
