"""Standard atomic masses by atomic number: the one lookup every module uses."""

from __future__ import annotations

import numpy as np
import torch
from ase.data import atomic_masses

from mlip_lab.errors import MLIPLabError

# Index 0 is ASE's placeholder "X"; here it is padding and gets mass 0.
_MASSES_AMU = np.concatenate([[0.0], atomic_masses[1:]])


def masses_of(species):
    """Atomic numbers (any shape; 0 = padding) -> standard atomic masses in amu (ASE's table), 0 on padding.

    A ``torch.Tensor`` in gives a float64 tensor on the same device; anything else (numpy array, list) gives a
    float64 numpy array. Raises ``MLIPLabError`` for atomic numbers outside 0..118.
    """
    numbers = species.detach().cpu().numpy() if isinstance(species, torch.Tensor) else np.asarray(species)
    if numbers.size and not np.issubdtype(numbers.dtype, np.integer):
        if not np.issubdtype(numbers.dtype, np.floating) or not np.all(numbers == np.round(numbers)):
            raise MLIPLabError(f"species must be integer atomic numbers, got dtype {numbers.dtype}")
        numbers = numbers.astype(np.int64)
    unknown = (numbers < 0) | (numbers >= len(_MASSES_AMU))
    if unknown.any():
        raise MLIPLabError(f"unknown atomic numbers {sorted(set(numbers[unknown].tolist()))}: "
                           f"use 1..{len(_MASSES_AMU) - 1} for atoms and 0 for padding")
    masses = _MASSES_AMU[numbers.astype(np.int64)]
    if isinstance(species, torch.Tensor):
        return torch.as_tensor(masses, dtype=torch.float64, device=species.device)
    return masses
