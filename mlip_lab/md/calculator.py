"""An ASE calculator backed by a trained model, so ASE's optimisers, MD and analysis tools can use it."""

from __future__ import annotations

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from ase.data import chemical_symbols

from mlip_lab.data.validation import check_atoms_apart
from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import check_model, device_and_dtype


class MLIPCalculator(Calculator):
    """ASE calculator for any model that follows the model contract (a HIPNN, an Ensemble, ...).

    Gives ``energy`` (eV), ``forces`` (eV/Å) and per-atom ``energies`` (eV, summing to the energy).
    For an ensemble the per-atom energies are the member mean, and ``energy_std`` (eV) is reported as well.
    device defaults to the model's own device (giving another one moves the model there); positions are
    sent in the model's dtype.
    """

    implemented_properties = ["energy", "free_energy", "forces", "energies"]

    def __init__(self, model, device=None, **kwargs):
        super().__init__(**kwargs)
        check_model(model, "MLIPCalculator")
        model_device, self.dtype = device_and_dtype(model)
        self.device = torch.device(device) if device is not None else model_device
        self.model = model.to(self.device)
        self.elements = tuple(model.elements)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self._check_elements(self.atoms.numbers)
        periodic = bool(self.atoms.pbc.any())
        check_atoms_apart(self.atoms.numbers, self.atoms.positions, self.atoms.cell.array if periodic else None,
                          self.atoms.pbc if periodic else None, source="the structure given to MLIPCalculator")
        inputs = self._tensors(self.atoms)
        out = self.model.predict(*inputs, forces=True)
        energy = float(out.energy[0])
        self.results = {
            "energy": energy,
            "free_energy": energy,  # no electronic entropy in an MLIP; ASE optimisers may ask for it
            "forces": out.forces[0].detach().cpu().double().numpy(),
        }
        self.results["energies"] = out.atomic_energies[0].detach().cpu().double().numpy()
        if getattr(out, "energy_std", None) is not None:
            self.results["energy_std"] = float(out.energy_std[0])

    def _check_elements(self, numbers: np.ndarray) -> None:
        """Name unknown elements by symbol before the model sees them."""
        missing = sorted(set(int(z) for z in numbers) - set(self.elements))
        if missing:
            have = ", ".join(chemical_symbols[z] for z in self.elements)
            bad = ", ".join(f"{chemical_symbols[z]} (Z={z})" for z in missing)
            raise MLIPLabError(f"the structure contains {bad}, but the model was trained for {have} only; "
                               "use a model whose elements include them")

    def _tensors(self, atoms):
        """(species, positions, cells, pbc) as a batch of one; cells only for periodic structures."""
        species = torch.as_tensor(atoms.numbers, dtype=torch.long, device=self.device)[None]
        positions = torch.as_tensor(atoms.positions, dtype=self.dtype, device=self.device)[None]
        if not atoms.pbc.any():
            return species, positions, None, None
        cells = torch.as_tensor(np.asarray(atoms.cell), dtype=self.dtype, device=self.device)[None]
        pbc = torch.as_tensor(atoms.pbc, dtype=torch.bool, device=self.device)[None]
        return species, positions, cells, pbc
