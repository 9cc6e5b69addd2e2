"""Ensembles of K models: mean predictions and their spread as an uncertainty signal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import check_model, fit_reference_energies, model_inputs


@dataclass
class EnsembleOutput:
    """Mean and spread over K members.

    energy, energy_std: (B,) eV; member_energies: (K, B).
    forces, forces_std: (B, N, 3) eV/Å, per Cartesian component; member_forces: (K, B, N, 3).
    Force fields are None unless forces were requested. Standard deviations use 1/K (population), so a
    single-member ensemble reports zero spread rather than NaN. atomic_energies: (B, N) eV, the member mean.
    """

    energy: torch.Tensor
    energy_std: torch.Tensor
    member_energies: torch.Tensor
    forces: torch.Tensor | None = None
    forces_std: torch.Tensor | None = None
    member_forces: torch.Tensor | None = None
    atomic_energies: torch.Tensor | None = None  # (B, N) member mean, eV


def _mean_std(members: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return members.mean(0), members.std(0, correction=0)


class Ensemble(nn.Module):
    """K independently trained models used together; itself a model that follows the contract.

    Members may be of any kind that passes :func:`~mlip_lab.models.contract.check_model` (usually HIPNNs),
    all built for the same elements, with the same dtype and device.
    """

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        models = list(models)
        if not models:
            raise MLIPLabError("an Ensemble needs at least one model")
        for index, model in enumerate(models):
            check_model(model, f"member {index} of an Ensemble")
        elements = {tuple(m.elements) for m in models}
        if len(elements) > 1:
            raise MLIPLabError(f"Ensemble members were built for different elements {sorted(elements)}; "
                               "build every member with the same elements")
        self.members = nn.ModuleList(models)

    @property
    def elements(self) -> tuple[int, ...]:
        """Atomic numbers every member accepts (the model contract's ``elements``)."""
        return tuple(self.members[0].elements)

    def __len__(self) -> int:
        return len(self.members)

    def fit_reference_energies(self, species, energies) -> torch.Tensor:
        """Fit each member's per-element reference energies (see :func:`mlip_lab.models.fit_reference_energies`);
        returns them stacked (K, E)."""
        return torch.stack([fit_reference_energies(m, species, energies) for m in self.members])

    def forward(self, species, positions, cells=None, pbc=None) -> EnsembleOutput:
        """Differentiable mean energies and atomic energies; same arguments as :meth:`HIPNN.forward`."""
        outputs = [m(species, positions, cells, pbc) for m in self.members]
        energies = torch.stack([o.energy for o in outputs])
        mean, std = _mean_std(energies)
        atomic = torch.stack([o.atomic_energies for o in outputs]).mean(0)
        return EnsembleOutput(energy=mean, energy_std=std, member_energies=energies, atomic_energies=atomic)

    def predict(self, batch_or_species, positions=None, cells=None, pbc=None, forces: bool = True) -> EnsembleOutput:
        """Detached mean/std of energies and forces; same arguments as :meth:`HIPNN.predict`."""
        inputs = model_inputs(batch_or_species, positions, cells, pbc)
        outputs = [m.predict(*inputs, forces=forces) for m in self.members]
        energies = torch.stack([o.energy for o in outputs])
        result = EnsembleOutput(*_mean_std(energies), member_energies=energies,
                                atomic_energies=torch.stack([o.atomic_energies for o in outputs]).mean(0))
        if forces:
            result.member_forces = torch.stack([o.forces for o in outputs])
            result.forces, result.forces_std = _mean_std(result.member_forces)
        return result
