"""Dataset files: the versioned ``.npz`` format, extended XYZ through ASE, and ASE ``Atoms`` lists.

npz schema (format ``mlip_lab.dataset`` version 1), arrays stored without pickles:
  species (M, N) int16 | positions (M, N, 3) float64 Å | energies (M,) float64 eV
  forces (M, N, 3) float32 eV/Å | hessians (M, 3N, 3N) float32 eV/Å² | atomic_energies (M, N) float64 eV
  cells (M, 3, 3) float64 Å | pbc (M, 3) bool | molecule, category (M,) str | temperature (M,) float64 K
  format, format_version, units_energy ("eV"), units_length ("Angstrom"), metadata_json (str)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlip_lab.data.dataset import PER_CONFIG_FIELDS, Dataset
from mlip_lab.data.frames import checked_frame, stack_frames
from mlip_lab.data.npz_reader import read_npz_arrays
from mlip_lab.data.paths import DATA_DIR
from mlip_lab.data.xyz_reader import read_xyz_frames
from mlip_lab.errors import MLIPLabError

FORMAT = "mlip_lab.dataset"
FORMAT_VERSION = 1
UNITS = {"units_energy": "eV", "units_length": "Angstrom"}
STORAGE_DTYPES = {
    "species": np.int16, "positions": np.float64, "energies": np.float64, "forces": np.float32,
    "hessians": np.float32, "atomic_energies": np.float64, "cells": np.float64, "pbc": bool,
    "molecule": str, "category": str, "temperature": np.float64,
}


def shipped_datasets() -> list[str]:
    """Names accepted by :func:`load` as bare names."""
    return sorted(p.stem for p in DATA_DIR.glob("*.npz"))


def load(name_or_path) -> Dataset:
    """Load a shipped dataset by name (``"reactions"``, ``"organics"``, ...) or any npz/extxyz file."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix == "" and "/" not in text and not path.exists():
        path = DATA_DIR / f"{text}.npz"
        if not path.exists():
            raise MLIPLabError(f"no shipped dataset named {text!r}; shipped: {shipped_datasets()} (or pass a file path)")
    if not path.exists():
        raise MLIPLabError(f"dataset file {path} does not exist")
    if not path.is_file():
        raise MLIPLabError(f"{path} is not a file; pass a .npz, .xyz or .extxyz dataset file")
    if path.suffix == ".npz":
        return load_npz(path)
    if path.suffix in (".xyz", ".extxyz"):
        return read_extxyz(path)
    raise MLIPLabError(f"{path}: unknown dataset file type {path.suffix!r}; use .npz, .xyz or .extxyz")


def save_npz(dataset: Dataset, path) -> Path:
    """Write ``dataset`` in the versioned npz format (compressed; forces and Hessians as float32)."""
    path = Path(path)
    arrays = {k: np.asarray(getattr(dataset, k), dtype=STORAGE_DTYPES[k]) for k in PER_CONFIG_FIELDS if getattr(dataset, k) is not None}
    meta = dict(dataset.metadata, name=dataset.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, format=FORMAT, format_version=FORMAT_VERSION, metadata_json=json.dumps(meta), **UNITS, **arrays)
    return path


def load_npz(path) -> Dataset:
    """Read and validate a dataset npz; every problem is an :class:`MLIPLabError` naming the file.
    Arrays are read by :func:`~mlip_lab.data.npz_reader.read_npz_arrays` (headers checked first, no pickles)."""
    path = Path(path)
    source = str(path)
    contents = read_npz_arrays(path)
    fmt = _header_text(contents, "format")
    if fmt != FORMAT:
        raise MLIPLabError(f"{source}: not an MLIP Lab dataset (format field is {fmt!r}, expected {FORMAT!r}); "
                           "build one with mlip_lab.data.Dataset and save_npz, or import extxyz with read_extxyz")
    version = contents.get("format_version")
    if version is None or version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT_VERSION:
        shown = "(missing)" if version is None else version.tolist() if version.size < 10 else f"an array of shape {version.shape}"
        raise MLIPLabError(f"{source}: format version {shown} is not supported (this MLIP Lab reads version {FORMAT_VERSION})")
    for key, expected in UNITS.items():
        found = _header_text(contents, key)
        if found != expected:
            raise MLIPLabError(f"{source}: {key} is {found!r}, but MLIP Lab stores {expected}; convert the arrays "
                               f"(mlip_lab.physics.units has the factors) and set {key}={expected!r}")
    try:
        meta = json.loads(_header_text(contents, "metadata_json") or "{}")
    except json.JSONDecodeError as exc:
        raise MLIPLabError(f"{source}: metadata_json is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise MLIPLabError(f"{source}: metadata_json must be a JSON object, got {type(meta).__name__}")
    name = meta.pop("name", path.stem)
    fields = {k: contents.get(k) for k in PER_CONFIG_FIELDS}
    try:
        return Dataset(**fields, name=str(name or path.stem), metadata=meta)
    except MLIPLabError as exc:
        raise MLIPLabError(f"{source}: {exc}") from exc


def _header_text(contents: dict, key: str) -> str:
    """A scalar text field of the npz header ('' when missing or not a single string)."""
    value = contents.get(key)
    return str(value) if value is not None and value.shape == () and value.dtype.kind == "U" else ""


# ---------------------------------------------------------------------------------- ASE interop
def to_ase(dataset: Dataset) -> list:
    """One ``ase.Atoms`` per configuration, with energy/forces on a SinglePointCalculator, the
    Hessian and labels in ``info`` and atomic energies in ``arrays``."""
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    images = []
    for i, n in enumerate(dataset.n_atoms):
        atoms = Atoms(numbers=dataset.species[i, :n], positions=dataset.positions[i, :n])
        if dataset.cells is not None:
            atoms.cell = dataset.cells[i]
            atoms.pbc = dataset.pbc[i] if dataset.pbc is not None else False
        results = {} if dataset.energies is None else {"energy": float(dataset.energies[i])}
        if dataset.forces is not None:
            results["forces"] = dataset.forces[i, :n].copy()
        atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info.update(molecule=str(dataset.molecule[i]), category=str(dataset.category[i]))
        if np.isfinite(dataset.temperature[i]):
            atoms.info["temperature"] = float(dataset.temperature[i])
        if dataset.hessians is not None:
            atoms.info["hessian"] = dataset.hessians[i, : 3 * n, : 3 * n].reshape(-1).copy()
        if dataset.atomic_energies is not None:
            atoms.arrays["atomic_energies"] = dataset.atomic_energies[i, :n].copy()
        images.append(atoms)
    return images


def from_ase(images, name: str = "", source: str = "ASE images") -> Dataset:
    """Build a dataset from ``ase.Atoms`` carrying an energy (calculator results or ``info['energy']``), forces, or both.

    Forces come from the calculator or ``arrays['forces']``, a flattened (3N)^2 Hessian from
    ``info['hessian']``, atomic energies from ``arrays['atomic_energies']``, labels from ``info``
    (molecule defaults to the formula). Every image must carry the same optional fields."""
    try:
        frames = [
            checked_frame(
                i, atoms.numbers, atoms.positions, _get(atoms, "energy"), forces=_get(atoms, "forces"),
                hessian=_get(atoms, "hessian"), atomic_energies=_get(atoms, "atomic_energies"),
                cell=atoms.cell.array if atoms.pbc.any() else None, pbc=atoms.pbc if atoms.pbc.any() else None,
                molecule=atoms.info.get("molecule"), category=atoms.info.get("category", "other"),
                temperature=atoms.info.get("temperature", np.nan),
            )
            for i, atoms in enumerate(images)
        ]
    except MLIPLabError as exc:
        raise MLIPLabError(f"{source}: {exc}") from exc
    return stack_frames(frames, name=name, source=source)


def _get(atoms, key):
    if key in ("energy", "forces") and atoms.calc is not None and key in atoms.calc.results:
        return atoms.calc.results[key]
    if key in atoms.info:
        return atoms.info[key]
    return atoms.arrays.get(key)


def write_extxyz(dataset: Dataset, path) -> Path:
    """Write extended XYZ. Floats are written with full precision (repr), so energies, forces and
    Hessians round-trip exactly through :func:`read_extxyz` (ASE's own writer rounds arrays to 1e-8)."""
    path = Path(path)
    lines = []
    for atoms in to_ase(dataset):
        props = "species:S:1:pos:R:3" + (":forces:R:3" if "forces" in atoms.calc.results else "") + (
            ":atomic_energies:R:1" if "atomic_energies" in atoms.arrays else "")
        info = [f"energy={atoms.calc.results['energy']!r}"] if "energy" in atoms.calc.results else []
        info += [f"molecule={_extxyz_string(atoms.info['molecule'])}", f"category={atoms.info['category']}"]
        if "temperature" in atoms.info:
            info.append(f"temperature={atoms.info['temperature']!r}")
        if "hessian" in atoms.info:
            info.append('hessian="' + " ".join(repr(float(x)) for x in atoms.info["hessian"]) + '"')
        if atoms.pbc.any() or atoms.cell.any():
            info.append('Lattice="' + " ".join(repr(float(x)) for x in atoms.cell.array.reshape(-1)) + '"')
        pbc = " ".join("T" if p else "F" for p in atoms.pbc)
        lines.append(str(len(atoms)))
        lines.append(f'Properties={props} {" ".join(info)} pbc="{pbc}"')
        for j, (sym, pos) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions)):
            cols = [sym, *(repr(float(x)) for x in pos)]
            if "forces" in atoms.calc.results:
                cols += [repr(float(x)) for x in atoms.calc.results["forces"][j]]
            if "atomic_energies" in atoms.arrays:
                cols.append(repr(float(atoms.arrays["atomic_energies"][j])))
            lines.append(" ".join(cols))
    path.write_text("\n".join(lines) + "\n")
    return path


def _extxyz_string(text: str) -> str:
    """``text`` as a quoted extxyz value that ASE reads back as exactly that string.

    ASE turns values such as ``"T"`` or ``"123"`` into bools and numbers, and an empty ``""`` swallows the
    next key; those labels are written in ASE's ``_JSON`` form instead."""
    from ase.io.extxyz import key_val_str_to_dict

    def quote(s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    plain = quote(text)
    parsed = key_val_str_to_dict(f"x={plain} y=0").get("x")
    if text.isprintable() and isinstance(parsed, str) and parsed == text:
        return plain
    return quote("_JSON " + json.dumps(text))


def read_extxyz(path, name: str = "") -> Dataset:
    """Read an extended XYZ file (any extxyz with an energy per frame), streaming it frame by frame;
    see :mod:`mlip_lab.data.xyz_reader` for the checks made before anything is allocated."""
    path = Path(path)
    if not path.is_file():
        raise MLIPLabError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    return stack_frames(read_xyz_frames(path), name=name or path.stem, source=str(path))
