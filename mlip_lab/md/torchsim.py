"""A trained model as a TorchSim model (``torch-sim-atomistic``, optional), so TorchSim's integrators, optimisers
and autobatching can run it.

TorchSim stores a batch as one flat list of atoms with a ``system_idx`` per atom and column-vector cells; our
models take padded (B, N) batches with row-vector cells. The adapter converts both ways around one model call.

    import torch_sim as ts
    from mlip_lab.md.torchsim import TorchSimModel
    final = ts.integrate(system=[atoms_a, atoms_b], model=TorchSimModel(model), integrator=ts.nvt_langevin,
                         n_steps=1000, temperature=300, timestep=0.0005)   # TorchSim's metal units: ps
"""

from __future__ import annotations

import torch

from mlip_lab.models.contract import check_model, device_and_dtype

try:
    from torch_sim.models.interface import ModelInterface
except ImportError as exc:  # the optional extra is missing: say how to get it
    raise ImportError("mlip_lab.md.torchsim needs TorchSim: pip install torch-sim-atomistic") from exc


def padded_from_flat(system_idx: torch.Tensor, values: torch.Tensor, n_systems: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Scatter per-atom ``values`` (A, ...) of a flat batch into (S, N, ...) padded rows, zero-filled.

    system_idx: (A,) long, sorted (TorchSim keeps each system's atoms together). Returns the padded tensor and the
    (S, N) mask of real atoms, so that ``padded[mask]`` gives the flat values back in their order.
    """
    counts = torch.bincount(system_idx, minlength=n_systems)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(system_idx.numel(), device=system_idx.device) - starts[system_idx]
    n = int(counts.max())
    padded = values.new_zeros((n_systems, n) + tuple(values.shape[1:]))
    padded[system_idx, slot] = values
    mask = torch.zeros(n_systems, n, dtype=torch.bool, device=values.device)
    mask[system_idx, slot] = True
    return padded, mask


class TorchSimModel(ModelInterface):
    """Wraps any model that follows the model contract (a HIPNN, an Ensemble, ...): ``forward(state)`` returns ``{"energy": (S,), "forces": (A, 3)}`` in eV and eV/Å.

    Stress is not available (the models have no cell derivative), so TorchSim's NVE/NVT integrators and
    fixed-cell optimisers work, NPT does not.
    """

    def __init__(self, model):
        super().__init__()
        check_model(model, "TorchSimModel")
        self.model = model.eval()
        self._device, self._dtype = device_and_dtype(model)
        self._compute_forces, self._compute_stress = True, False
        self._memory_scales_with = "n_atoms_x_density"  # radial cutoff model

    def forward(self, state, **kwargs) -> dict[str, torch.Tensor]:
        get = state.get if isinstance(state, dict) else lambda key: getattr(state, key)
        positions, numbers, system_idx = get("positions"), get("atomic_numbers"), get("system_idx")
        cell, pbc = get("cell"), get("pbc")
        n_systems = cell.shape[0]
        padded_positions, mask = padded_from_flat(system_idx, positions.to(self._dtype), n_systems)
        species, _ = padded_from_flat(system_idx, numbers.long(), n_systems)
        cells = pbc_flags = None
        if bool(torch.as_tensor(pbc).any()):
            cells = cell.transpose(1, 2).to(self._dtype)  # TorchSim's columns are our rows
            pbc_flags = torch.as_tensor(pbc, device=cells.device).bool().expand(n_systems, 3)
        out = self.model.predict(species, padded_positions, cells, pbc_flags, forces=True)
        return {"energy": out.energy, "forces": out.forces[mask]}
