"""One configuration as read from a file or an ``ase.Atoms`` (unpadded), and the step that stacks many
of them into a padded :class:`~mlip_lab.data.Dataset`. Every reader goes through :func:`stack_frames`,
so the checks below hold for extxyz files and ASE images alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from ase.symbols import Symbols

from mlip_lab.data.dataset import Dataset
from mlip_lab.data.padding import pad_ragged
from mlip_lab.data.validation import MAX_Z
from mlip_lab.errors import MLIPLabError

OPTIONAL_LABELS = ("energy", "forces", "hessian", "atomic_energies")
# Padding every configuration to the largest one can need far more memory than the file: refuse beyond
# this many stored numbers (2 GiB of float64) instead of running out of memory.
MAX_PADDED_VALUES = 2**28


@dataclass
class Frame:
    """One configuration of k atoms.

    numbers (k,) atomic numbers; positions (k, 3) Å; energy eV; forces (k, 3) eV/Å, hessian (3k, 3k) eV/Å²,
    atomic_energies (k,) eV, each or None (a frame has an energy, forces or both); cell (3, 3) Å and pbc (3,) bool or None; molecule and category
    labels; temperature K (NaN where it does not apply).
    """

    numbers: np.ndarray
    positions: np.ndarray
    energy: float | None
    forces: np.ndarray | None = None
    hessian: np.ndarray | None = None
    atomic_energies: np.ndarray | None = None
    cell: np.ndarray | None = None
    pbc: np.ndarray | None = None
    molecule: str = ""
    category: str = "other"
    temperature: float = float("nan")


def stack_frames(frames: Iterable[Frame], name: str, source: str) -> Dataset:
    """Pad ``frames`` into one validated dataset; every problem is an :class:`MLIPLabError` naming ``source``.

    Every frame must carry the same optional labels (energy, forces, Hessian, atomic energies): a file whose
    frames disagree is rejected rather than silently losing a field.
    """
    frames = list(frames)
    if not frames:
        raise MLIPLabError(f"{source}: no configurations")
    for label in OPTIONAL_LABELS:
        has = [getattr(f, label) is not None for f in frames]
        if any(has) and not all(has):
            i = has.index(not has[0])
            raise MLIPLabError(f"{source}: configuration {i} {'has' if has[i] else 'lacks'} {label} but configuration 0 "
                               f"{'does not' if has[i] else 'has them'}; every configuration must carry the same fields")
    m, n = len(frames), max(len(f.numbers) for f in frames)
    values = m * n * 7 + (m * 9 * n * n if frames[0].hessian is not None else 0)
    if values > MAX_PADDED_VALUES:
        raise MLIPLabError(f"{source}: padding {m} configurations to the largest one ({n} atoms) needs {values:.3g} numbers "
                           f"(limit {MAX_PADDED_VALUES:.3g}); split the file, keeping large systems apart from small ones")
    periodic = any(f.pbc is not None and np.any(f.pbc) for f in frames)

    def stacked(label, axes=1):
        return None if getattr(frames[0], label) is None else pad_ragged([getattr(f, label) for f in frames], axes=axes)

    try:
        return Dataset(
            species=pad_ragged([f.numbers for f in frames], dtype=np.int64),
            positions=pad_ragged([f.positions for f in frames], dtype=np.float64),
            energies=None if frames[0].energy is None else np.array([f.energy for f in frames], dtype=np.float64),
            forces=stacked("forces"), hessians=stacked("hessian", axes=2), atomic_energies=stacked("atomic_energies"),
            cells=np.array([np.zeros((3, 3)) if f.cell is None else f.cell for f in frames], dtype=np.float64) if periodic else None,
            pbc=np.array([np.zeros(3, bool) if f.pbc is None else f.pbc for f in frames], dtype=bool) if periodic else None,
            molecule=np.array([f.molecule for f in frames], dtype=str),
            category=np.array([f.category for f in frames], dtype=str),
            temperature=np.array([f.temperature for f in frames], dtype=np.float64),
            name=name, metadata={"source": source},
        )
    except MLIPLabError as exc:
        raise MLIPLabError(f"{source}: {exc}") from exc


def checked_frame(i: int, numbers, positions, energy, forces=None, hessian=None, atomic_energies=None, cell=None,
                  pbc=None, molecule=None, category="other", temperature=float("nan")) -> Frame:
    """A :class:`Frame` from loosely typed values (as found in ``Atoms.info`` or an extxyz comment line),
    with each value converted and its shape checked; ``i`` is the configuration index for messages.
    ``molecule`` defaults to the chemical formula."""
    numbers = np.asarray(numbers)
    if numbers.ndim != 1 or len(numbers) == 0:
        raise MLIPLabError(f"configuration {i} has no atoms")
    k = len(numbers)
    if not np.issubdtype(numbers.dtype, np.integer) or numbers.min() < 1 or numbers.max() > MAX_Z:
        raise MLIPLabError(f"configuration {i}: atomic numbers must be integers 1-{MAX_Z}, got {_preview(numbers.tolist())}")
    if energy is None and forces is None:
        raise MLIPLabError(f"configuration {i} has neither an energy nor forces (set atoms.info['energy'] or attach a "
                           "calculator result with an energy, forces or both)")
    hessian = None if hessian is None else _numbers(i, "hessian", hessian)
    if hessian is not None:
        if hessian.size != (3 * k) ** 2:
            raise MLIPLabError(f"configuration {i} has a Hessian of {hessian.size} values, expected (3N)^2 = {(3 * k) ** 2}")
        hessian = hessian.reshape(3 * k, 3 * k)
    return Frame(
        numbers=numbers.astype(np.int64),
        positions=_numbers(i, "positions", positions, (k, 3)),
        energy=None if energy is None else float(_numbers(i, "energy", energy, ())),
        forces=None if forces is None else _numbers(i, "forces", forces, (k, 3)),
        hessian=hessian,
        atomic_energies=None if atomic_energies is None else _numbers(i, "atomic_energies", atomic_energies, (k,)),
        cell=None if cell is None else _numbers(i, "cell", cell, (3, 3)),
        pbc=None if pbc is None else _flags(i, pbc),
        molecule=Symbols(numbers).get_chemical_formula() if molecule is None else _label(i, "molecule", molecule),
        category=_label(i, "category", category),
        temperature=float(_numbers(i, "temperature", temperature, ())),
    )


def _numbers(i: int, label: str, value, shape=None) -> np.ndarray:
    """``value`` as float64 of the given shape (None: any shape), or an error naming label and configuration."""
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nested lists
        array = np.asarray(None)
    if array.dtype.kind not in "iuf":
        raise MLIPLabError(f"configuration {i}: '{label}' must be numeric, got {_preview(value)}")
    if shape is not None and array.shape != shape:
        raise MLIPLabError(f"configuration {i}: '{label}' has shape {array.shape}, expected {shape}")
    return array.astype(np.float64)


def _flags(i: int, value) -> np.ndarray:
    flags = np.asarray(value)
    if flags.shape != (3,) or flags.dtype.kind != "b":
        raise MLIPLabError(f"configuration {i}: 'pbc' must be three flags (T or F), got {_preview(value)}")
    return flags


def _label(i: int, label: str, value) -> str:
    if not isinstance(value, (str, int, float, bool, np.integer, np.floating, np.bool_)):
        raise MLIPLabError(f"configuration {i}: the '{label}' label must be text, got {_preview(value)}")
    return str(value)


def _preview(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
