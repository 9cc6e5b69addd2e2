"""``mlip-lab data validate`` and ``data info``: status 1 and exactly one ``error:`` line for every bad input,
status 0 and a one-line summary for a good one."""

import subprocess
import sys

import numpy as np
import pytest

from mlip_lab.cli import main
from mlip_lab.data import load, save_npz, write_extxyz

GOOD_FRAME = "3\nProperties=species:S:1:pos:R:3 energy=-2079.25\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n"
BAD_FILES = {
    "binary.xyz": bytes(range(256)) * 4,
    "latin1.xyz": GOOD_FRAME.replace("energy", "molecule=caf\xe9 energy").encode("latin-1"),
    "billion.xyz": GOOD_FRAME.replace("3\n", "1000000000\n", 1).encode(),
    "negative.xyz": GOOD_FRAME.replace("3\n", "-3\n", 1).encode(),
    "columns.xyz": GOOD_FRAME.replace("H 0 0.7572 -0.4692", "H 0 0.7572").encode(),
    "truncated.xyz": GOOD_FRAME[:-20].encode(),
    "nan.xyz": GOOD_FRAME.replace("-2079.25", "nan").encode(),
    "element.xyz": GOOD_FRAME.replace("O 0", "Qq 0").encode(),
    "close.xyz": GOOD_FRAME.replace("H 0 -0.7572 -0.4692", "H 0 0.7 -0.4692").encode(),
    "multiline-ase-error.xyz": GOOD_FRAME.replace("energy=-2079.25", 'Lattice="1 2"').encode(),
    "random.npz": np.random.default_rng(1).bytes(3000),
    "empty.npz": b"",
}


@pytest.fixture(params=sorted(BAD_FILES))
def bad_file(request, tmp_path):
    path = tmp_path / request.param
    path.write_bytes(BAD_FILES[request.param])
    return path


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


@pytest.mark.parametrize("command", ["validate", "info"])
def test_bad_file_gives_status_1_and_one_line(bad_file, command, capsys):
    assert main(["data", command, str(bad_file)]) == 1
    assert str(bad_file) in one_error_line(capsys)


@pytest.mark.parametrize("argument", ["no_such_dataset", "missing.npz", "notes.csv", "."])
def test_bad_names_and_paths(argument, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.csv").write_text("a,b\n")
    assert main(["data", "validate", argument]) == 1
    one_error_line(capsys)


def test_pickled_npz(tmp_path, capsys):
    path = tmp_path / "pickled.npz"
    np.savez(path, species=np.array([[1, 1]], dtype=object))
    assert main(["data", "validate", str(path)]) == 1
    assert "holds Python objects" in one_error_line(capsys)


@pytest.mark.parametrize("suffix", [".npz", ".xyz"])
def test_good_file_gives_status_0_and_one_summary_line(tmp_path, capsys, suffix):
    subset = load("organics").subset(np.arange(4))
    path = (save_npz if suffix == ".npz" else write_extxyz)(subset, tmp_path / f"good{suffix}")
    assert main(["data", "validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [f"{path}: valid, 4 configurations of {subset.n_atoms.min()}-{subset.n_atoms.max()} "
                                         "atoms, fields energies, forces"]


def test_the_installed_command_exits_1_without_a_traceback(tmp_path):
    path = tmp_path / "binary.xyz"
    path.write_bytes(BAD_FILES["binary.xyz"])
    run = subprocess.run([sys.executable, "-m", "mlip_lab.cli", "data", "validate", str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [f"error: {path}: not a readable extended XYZ file: line 1 contains NUL bytes: "
                                       "this is a binary file, not extended XYZ text"]
