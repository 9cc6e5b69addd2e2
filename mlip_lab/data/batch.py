"""Padded mini-batches of torch tensors cut from a :class:`~mlip_lab.data.Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch


@dataclass
class Batch:
    """B configurations padded to n atoms (n = the largest in this batch).

    species (B, n) long; positions (B, n, 3); energies (B,) | None; forces (B, n, 3) | None;
    hessians (B, 3n, 3n) | None; atomic_energies (B, n) | None; cells (B, 3, 3) | None; pbc (B, 3) | None;
    indices (B,) rows of the source dataset.
    """

    species: torch.Tensor
    positions: torch.Tensor
    energies: torch.Tensor | None
    indices: torch.Tensor
    forces: torch.Tensor | None = None
    hessians: torch.Tensor | None = None
    atomic_energies: torch.Tensor | None = None
    cells: torch.Tensor | None = None
    pbc: torch.Tensor | None = None

    @property
    def mask(self) -> torch.Tensor:
        """(B, n) True for real atoms."""
        return self.species > 0

    def __len__(self) -> int:
        return self.species.shape[0]

    def to(self, device) -> "Batch":
        moved = {f.name: (None if getattr(self, f.name) is None else getattr(self, f.name).to(device)) for f in fields(self)}
        return Batch(**moved)


def make_batch(dataset, indices, device=None, dtype=None) -> Batch:
    """Tensors for ``dataset`` rows ``indices``, trimmed to the largest molecule among them."""
    idx = np.asarray(indices)
    dtype = dtype or torch.get_default_dtype()
    species = dataset.species[idx]
    n = int((species > 0).sum(1).max())

    def tensor(array, cut=None, float_=True):
        if array is None:
            return None
        a = array[idx]
        if cut == "atoms":
            a = a[:, :n]
        elif cut == "hessian":
            a = a[:, : 3 * n, : 3 * n]
        return torch.as_tensor(a, dtype=dtype if float_ else None, device=device)

    return Batch(
        species=torch.as_tensor(species[:, :n], dtype=torch.long, device=device),
        positions=tensor(dataset.positions, "atoms"),
        energies=tensor(dataset.energies),
        indices=torch.as_tensor(idx, dtype=torch.long, device=device),
        forces=tensor(dataset.forces, "atoms"),
        hessians=tensor(dataset.hessians, "hessian"),
        atomic_energies=tensor(dataset.atomic_energies, "atoms"),
        cells=tensor(dataset.cells),
        pbc=tensor(dataset.pbc, float_=False),
    )
