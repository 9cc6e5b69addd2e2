"""The in-memory dataset: M configurations padded to N atoms, plus per-configuration labels.

Arrays are numpy (storage, files, validation); :meth:`Dataset.batches` hands out torch tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import numpy as np

from mlip_lab.data.validation import validate_arrays
from mlip_lab.errors import MLIPLabError

PER_CONFIG_FIELDS = (
    "species", "positions", "energies", "forces", "hessians", "atomic_energies", "cells", "pbc",
    "molecule", "category", "temperature",
)


@dataclass
class Dataset:
    """M configurations of up to N atoms.

    species (M, N) int atomic numbers, 0 = padding; positions (M, N, 3) Å; energies (M,) eV or None;
    forces (M, N, 3) eV/Å or None (energies, forces or both; force-matching data such as coarse-grained
    liquids have no energies); hessians (M, 3N, 3N) eV/Å² or None; atomic_energies (M, N) eV or
    None; cells (M, 3, 3) Å and pbc (M, 3) bool or None; molecule and category (M,) str; temperature
    (M,) K (NaN where it does not apply). ``metadata`` holds provenance (JSON-serialisable).
    Construction validates everything and raises :class:`MLIPLabError` naming the problem.
    """

    species: np.ndarray
    positions: np.ndarray
    energies: np.ndarray | None = None
    forces: np.ndarray | None = None
    hessians: np.ndarray | None = None
    atomic_energies: np.ndarray | None = None
    cells: np.ndarray | None = None
    pbc: np.ndarray | None = None
    molecule: np.ndarray | None = None
    category: np.ndarray | None = None
    temperature: np.ndarray | None = None
    name: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        m = len(np.asarray(self.species)) if self.species is not None else 0
        if self.molecule is None:  # labels are optional for hand-made datasets
            self.molecule = np.full(m, "", dtype=object)
        if self.category is None:
            self.category = np.full(m, "other", dtype=object)
        if self.temperature is None:
            self.temperature = np.full(m, np.nan)
        arrays = validate_arrays({f: getattr(self, f) for f in PER_CONFIG_FIELDS}, source=self.name or "dataset")
        for key, value in arrays.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ basic views
    def __len__(self) -> int:
        return len(self.species)

    def __repr__(self) -> str:
        extras = self.labelled_fields[1:]
        fields = self.labelled_fields
        shown = "energies only" if fields == ["energies"] else ", ".join(f for f in fields if f != "energies")
        return f"Dataset({self.name or 'unnamed'}: {len(self)} configurations, up to {self.max_atoms} atoms, with {shown})"

    @property
    def labelled_fields(self) -> list[str]:
        """The per-configuration arrays this dataset carries: any of energies, forces, hessians,
        atomic_energies, cells."""
        return [f for f in ("energies", "forces", "hessians", "atomic_energies", "cells") if getattr(self, f) is not None]

    @property
    def max_atoms(self) -> int:
        return self.species.shape[1]

    @property
    def n_atoms(self) -> np.ndarray:
        """(M,) number of real (non-padding) atoms per configuration."""
        return (self.species > 0).sum(axis=1)

    @property
    def elements(self) -> list[int]:
        return sorted(int(z) for z in np.unique(self.species) if z > 0)

    def describe(self) -> str:
        """A short human-readable summary: size, elements, fields, labels and provenance (what
        ``mlip-lab data info`` prints)."""
        from ase.data import chemical_symbols

        lines = [
            f"name: {self.name}",
            f"configurations: {len(self)} (atoms per configuration {self.n_atoms.min()}-{self.n_atoms.max()})",
            self._describe_species(chemical_symbols),
            f"fields: {', '.join(self.labelled_fields)}",
            "categories: " + ", ".join(f"{k} {v}" for k, v in self.counts("category").items()),
            "molecules: " + ", ".join(f"{k} {v}" for k, v in self.counts("molecule").items()),
        ]
        method = self.metadata.get("method")
        if isinstance(method, dict) and {"functional", "basis", "program"} <= set(method):
            lines.append(f"level of theory: {method['functional']}/{method['basis']} ({method['program']})")
        if "command" in self.metadata:
            lines.append(f"rebuild with: {self.metadata['command']}")
        return "\n".join(lines)

    def _describe_species(self, chemical_symbols) -> str:
        """The elements, or for coarse-grained data (``metadata["bead_types"]``) the bead types with their masses."""
        beads = self.metadata.get("bead_types")
        if isinstance(beads, dict):
            named = [f"{beads.get(str(z), {}).get('name', '?')} (code {z}, {beads.get(str(z), {}).get('mass', '?')} amu)"
                     for z in self.elements]
            return f"bead types: {', '.join(named)}"
        return f"elements: {', '.join(chemical_symbols[z] for z in self.elements)}"

    def counts(self, by: str = "category") -> dict[str, int]:
        """Number of configurations per value of a label (``category`` or ``molecule``)."""
        values, counts = np.unique(np.asarray(getattr(self, by), dtype=str), return_counts=True)
        return {str(v): int(c) for v, c in zip(values, counts)}

    # ------------------------------------------------------------------ subsetting and joining
    def subset(self, indices) -> "Dataset":
        """A new dataset with the configurations at ``indices`` (ints or a boolean mask), padding trimmed."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise MLIPLabError(f"boolean mask has shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        if idx.size == 0:
            raise MLIPLabError("the selection is empty; a dataset needs at least one configuration")
        if not np.issubdtype(idx.dtype, np.integer):
            raise MLIPLabError(f"subset takes integer indices or a boolean mask, got dtype {idx.dtype}")
        if idx.min() < -len(self) or idx.max() >= len(self):
            raise MLIPLabError(f"subset index out of range for a dataset of {len(self)} configurations")
        taken = {f: (None if getattr(self, f) is None else getattr(self, f)[idx]) for f in PER_CONFIG_FIELDS}
        n = int(taken["species"].astype(bool).sum(1).max())
        return replace(self, **_trim(taken, n))

    def where(self, **labels) -> "Dataset":
        """Configurations whose labels match, e.g. ``where(category="ts")`` or ``where(molecule=["a", "b"])``."""
        mask = np.ones(len(self), dtype=bool)
        for key, wanted in labels.items():
            if key not in ("molecule", "category"):
                raise MLIPLabError(f"can filter by 'molecule' or 'category', not {key!r}")
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            mask &= np.isin(np.asarray(getattr(self, key), dtype=str), wanted)
        return self.subset(mask)

    @staticmethod
    def concatenate(datasets: Sequence["Dataset"], name: str = "") -> "Dataset":
        """Join datasets, padding to the largest N. Optional fields are kept only if all have them."""
        if not datasets:
            raise MLIPLabError("concatenate needs at least one dataset")
        n = max(d.max_atoms for d in datasets)
        joined = {}
        for f in PER_CONFIG_FIELDS:
            parts = [getattr(d, f) for d in datasets]
            if any(p is None for p in parts):
                joined[f] = None
                continue
            joined[f] = np.concatenate([_pad(f, p, n) for p in parts])
        return Dataset(**joined, name=name or "+".join(d.name for d in datasets), metadata={"parts": [d.metadata for d in datasets]})

    # ------------------------------------------------------------------ splits
    def split_random(self, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> list["Dataset"]:
        """Shuffle with ``seed`` and cut into parts of the given fractions (they must sum to 1)."""
        return self._split(np.random.default_rng(seed).permutation(len(self)), fractions)

    def split_in_order(self, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> list["Dataset"]:
        """Cut into consecutive blocks of the given fractions (they must sum to 1), e.g. the first 80 % of an MD
        trajectory to train, the next 10 % to validate and the last 10 % to test: neighbouring frames are
        correlated, so a random split would put near-copies of training frames in the test set."""
        return self._split(np.arange(len(self)), fractions)

    def _split(self, order: np.ndarray, fractions: Sequence[float]) -> list["Dataset"]:
        fractions = np.asarray(fractions, dtype=float)
        if np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
            raise MLIPLabError(f"split fractions must be non-negative and sum to 1, got {fractions.tolist()}")
        cuts = np.round(np.cumsum(fractions)[:-1] * len(self)).astype(int)
        sizes = np.diff([0, *cuts, len(self)])
        if np.any(sizes == 0):
            raise MLIPLabError(f"splitting {len(self)} configurations by {fractions.tolist()} leaves part(s) "
                               f"{np.flatnonzero(sizes == 0).tolist()} empty; use fewer parts or larger fractions")
        return [self.subset(np.sort(part)) for part in np.split(order, cuts)]

    def split_by(self, key: str, test_values) -> tuple["Dataset", "Dataset"]:
        """(rest, test): the test part holds configurations whose ``key`` label is in ``test_values``.

        ``key``: "molecule", "category" or "temperature" (numbers in K, e.g. ``split_by("temperature", [600])``
        holds out every configuration sampled at 600 K: its MD trajectories and normal-mode samples).
        """
        if key not in ("molecule", "category", "temperature"):
            raise MLIPLabError(f"split_by takes 'molecule', 'category' or 'temperature', got {key!r}")
        test_values = [test_values] if isinstance(test_values, (str, int, float)) else list(test_values)
        labels = getattr(self, key)
        if key == "temperature":
            try:
                wanted = np.asarray(test_values, dtype=float)
            except ValueError:
                raise MLIPLabError(f"temperatures must be numbers in K, got {test_values}") from None
            present = np.unique(labels[np.isfinite(labels)])
            missing = sorted(float(t) for t in wanted if not np.isclose(present, t).any())
            mask = np.isclose(labels[:, None], wanted[None, :]).any(axis=1)
            shown = [f"{t:g}" for t in present]
        else:
            present = set(self.counts(key))
            missing = sorted(set(map(str, test_values)) - present)
            mask = np.isin(np.asarray(labels, dtype=str), [str(v) for v in test_values])
            shown = sorted(present)
        if missing:
            raise MLIPLabError(f"{key} values {missing} are not in this dataset; present: {shown}")
        if mask.all():
            raise MLIPLabError(f"every configuration has {key} in {test_values}: nothing would be left to train on")
        return self.subset(~mask), self.subset(mask)

    def split_by_category(self, test_categories: Sequence[str]) -> tuple["Dataset", "Dataset"]:
        return self.split_by("category", test_categories)

    def split_by_molecule(self, test_molecules: Sequence[str]) -> tuple["Dataset", "Dataset"]:
        return self.split_by("molecule", test_molecules)

    # ------------------------------------------------------------------ batches
    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0, device=None, dtype=None) -> Iterator["Batch"]:
        """Padded mini-batches of torch tensors, each trimmed to its own largest molecule."""
        from mlip_lab.data.batch import make_batch

        for rows in self.batch_rows(batch_size, shuffle, seed):
            yield make_batch(self, rows, device=device, dtype=dtype)

    def batch_rows(self, batch_size: int, shuffle: bool = False, seed: int = 0) -> Iterator[np.ndarray]:
        """The row indices of each batch :meth:`batches` makes (the same order for the same arguments)."""
        if batch_size < 1:
            raise MLIPLabError(f"batch_size must be at least 1, got {batch_size}")
        order = np.random.default_rng(seed).permutation(len(self)) if shuffle else np.arange(len(self))
        for start in range(0, len(self), batch_size):
            yield order[start : start + batch_size]


def _pad(field_name: str, array: np.ndarray, n: int) -> np.ndarray:
    """Pad one per-configuration array from its N to n atoms."""
    if field_name in ("species", "atomic_energies"):
        return np.pad(array, ((0, 0), (0, n - array.shape[1])))
    if field_name in ("positions", "forces"):
        return np.pad(array, ((0, 0), (0, n - array.shape[1]), (0, 0)))
    if field_name == "hessians":  # (M, 3N, 3N)
        extra = 3 * n - array.shape[1]
        return np.pad(array, ((0, 0), (0, extra), (0, extra)))
    return array


def _trim(arrays: dict, n: int) -> dict:
    out = dict(arrays)
    for f, a in arrays.items():
        if a is None:
            continue
        if f in ("species", "atomic_energies", "positions", "forces"):
            out[f] = a[:, :n]
        elif f == "hessians":
            out[f] = a[:, : 3 * n, : 3 * n]
    return out

