"""Force fields for the batched integrators: callables ``(species, positions, cells, pbc) -> (energies, forces)``.

species: (B, N) long (0 = padding); positions: (B, N, 3) Å; cells: (B, 3, 3) | None; pbc: (B, 3) | None.
They return energies (B,) eV and forces (B, N, 3) eV/Å, zero on padding. One call evaluates all replicas.
A trained model is wrapped by :class:`ModelForceField`; :class:`HarmonicBonds` is an analytic potential with
known answers (normal modes, exact oscillations), used by tests and exercises.
"""

from __future__ import annotations

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import check_model, device_and_dtype
from mlip_lab.physics.forces import forces_from_energy
from mlip_lab.physics.geometry import displacement_vectors, minimum_image


class ModelForceField:
    """Any model that follows the model contract (a HIPNN, an Ensemble, ...) as a force field: its (mean)
    energy and F = -dE/dR by autograd.

    Runs on the model's device and dtype; inputs must already be there (the MD state is built with them).
    ``compile=True`` wraps the model in ``torch.compile`` (a dict passes options, e.g. ``{"mode": "max-autotune"}``):
    about 1.6x faster steps on CPU for ethanol batches of 16-256 (benchmarks/RESULTS.md), after a compilation of
    tens of seconds for each new batch shape, so it pays off for long runs only.
    """

    def __init__(self, model, compile: bool | dict = False):
        check_model(model, "ModelForceField")
        self.model = model.eval()
        self.device, self.dtype = device_and_dtype(model)
        options = compile if isinstance(compile, dict) else {}
        self._energy_model = torch.compile(model, **options) if compile else model

    def __call__(self, species, positions, cells=None, pbc=None):
        with torch.enable_grad():
            positions = positions.detach().requires_grad_(True)
            energy = self._energy_model(species, positions, cells, pbc).energy
            return energy.detach(), forces_from_energy(energy, positions)


class HarmonicBonds:
    """E = sum over bonded pairs i < j of k/2 (r_ij - r0_ij)^2, bonds and rest lengths taken from a reference.

    species_ref: (B, N) long; positions_ref: (B, N, 3) Å, the minimum; k: eV/Å²; bond_cutoff: Å, pairs closer
    than this in the reference are bonded; cells (B, 3, 3) and pbc (B, 3) (default all periodic): a periodic
    reference, measured by the minimum image.
    A diatomic oscillates at omega = sqrt(k / mu) (mu the reduced mass).
    """

    def __init__(self, species_ref, positions_ref, k: float = 30.0, bond_cutoff: float = 1.6, cells=None, pbc=None):
        if not k > 0:
            raise MLIPLabError(f"the spring constant k must be positive, got {k}")
        species_ref = torch.as_tensor(species_ref)
        real = species_ref > 0
        vectors = displacement_vectors(torch.as_tensor(positions_ref))
        if cells is not None:
            cells = torch.as_tensor(cells, dtype=vectors.dtype).expand(vectors.shape[0], 3, 3)
            pbc = torch.ones(3, dtype=torch.bool) if pbc is None else torch.as_tensor(pbc).bool()
            vectors = minimum_image(vectors, cells, pbc.expand(vectors.shape[0], 3))
        r0 = vectors.norm(dim=-1)
        n = species_ref.shape[1]
        upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=species_ref.device), diagonal=1)
        self.bonded = real[:, :, None] & real[:, None, :] & upper & (r0 < bond_cutoff)
        self.r0 = torch.where(self.bonded, r0, 1.0)
        self.k = k

    def __call__(self, species, positions, cells=None, pbc=None):
        vectors = displacement_vectors(positions)
        if cells is not None:
            vectors = minimum_image(vectors, cells, pbc)
        bonded, r0 = self.bonded.to(positions.device), self.r0.to(positions.device, positions.dtype)
        if bonded.shape != vectors.shape[:3]:
            raise MLIPLabError(f"HarmonicBonds was built for {tuple(bonded.shape[:2])} replicas x atoms, "
                               f"got positions for {tuple(vectors.shape[:2])}")
        safe = torch.where(bonded[..., None], vectors, 1.0)  # no zero-length norm on the diagonal and padding
        r = safe.norm(dim=-1)
        stretch = torch.where(bonded, r - r0, 0.0)
        energies = 0.5 * self.k * (stretch**2).sum((1, 2))
        # dE/dR_j = k (r - r0) r_hat for r_ij = R_j - R_i, and the opposite for atom i.
        pull = (self.k * stretch / r)[..., None] * safe
        pull = torch.where(bonded[..., None], pull, 0.0)
        forces = pull.sum(2) - pull.sum(1)
        return energies, forces
