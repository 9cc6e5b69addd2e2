"""A repulsive prior pair potential for coarse-grained beads, and :class:`WithPrior`, which adds it to a model.

Force matching only sees bead distances that the reference liquid visits. Closer than that, a learned
model knows nothing and CG MD can collapse two beads onto each other. The reference recipe (Shinkle et al.,
JCTC 2024; shared/DESIGN.md §7) adds a fixed exponential repulsion that is negligible where the data are and
strong just inside them, and trains the model on what the prior does not explain (force matching of
``mapped forces - prior forces``).

The pair energy, for r below the cutoff r_c:

    E(r) = eps * exp(-(r - r_t) / l) * s(r)

the same exponential as A exp(-r / l) with A = eps exp(r_t / l), written about the taper point r_t so that
the numbers stay readable (A is ~1e26 eV for methanol). s(r) = 1 for r <= r_t and falls from 1 to 0
between r_t and r_c as the quintic smoothstep 1 - 10x^3 + 15x^4 - 6x^5, x = (r - r_t) / (r_c - r_t), so
energy, force and force derivative are continuous at the cutoff (MD conserves energy, Hessians stay finite)
and the fitted forces at r_t and inside it are exactly the exponential's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import check_model, fit_reference_energies, predict_by_autograd
from mlip_lab.models.io import build_model, model_spec, register_model_kind
from mlip_lab.physics.neighbours import half_pair_sums, neighbour_list

# The reference recipe's numbers (DESIGN.md §7).
RDF_THRESHOLD = 0.01  # the taper point is the first r where g(r) exceeds this
ONSET_FRACTION = 0.05  # the prior's force at the taper point, as a fraction of the mean force magnitude
INNER_DISTANCE = 0.15  # Å inside the taper point, where the prior's force equals the mean force magnitude
SWITCH_WIDTH = 0.5  # Å from the taper point to the prior's cutoff; the exponential has fallen by e^-10 there


def smoothstep_switch(r: torch.Tensor, start: float, end: float) -> torch.Tensor:
    """1 for r <= start, 0 for r >= end, the quintic smoothstep between (continuous up to the 2nd derivative).

    r: any shape, Å -> same shape, dimensionless.
    """
    x = ((r - start) / (end - start)).clamp(0.0, 1.0)
    return 1.0 - x**3 * (10.0 - 15.0 * x + 6.0 * x**2)


def exponential_repulsion(r: torch.Tensor, taper: float, decay: float, energy_at_taper: float,
                          cutoff: float) -> torch.Tensor:
    """Pair energy eps exp(-(r - r_t) / l) s(r) (module docstring). r: any shape, Å -> same shape, eV."""
    return energy_at_taper * torch.exp(-(r - taper) / decay) * smoothstep_switch(r, taper, cutoff)


def taper_point(r, g, threshold: float = RDF_THRESHOLD) -> float:
    """The first r (Å) of an RDF grid where g(r) exceeds ``threshold``.

    r: (R,) Å, strictly increasing, positive (bin centres); g: (R,) the radial distribution function.
    """
    r, g = np.asarray(r, dtype=float), np.asarray(g, dtype=float)
    if r.ndim != 1 or g.shape != r.shape or len(r) < 2:
        raise MLIPLabError(f"need an RDF as two 1-D arrays r and g of the same length >= 2, got shapes "
                           f"{r.shape} and {g.shape}")
    if not (np.isfinite(r).all() and np.isfinite(g).all()):
        raise MLIPLabError("the RDF grid r or the values g contain NaN or inf")
    if r[0] <= 0 or np.any(np.diff(r) <= 0):
        raise MLIPLabError("the RDF grid r must be positive and strictly increasing (bin centres in Å)")
    above = np.flatnonzero(g > threshold)
    if len(above) == 0:
        raise MLIPLabError(f"the RDF never exceeds {threshold} on r = {r[0]:.3g}..{r[-1]:.3g} Å, so it has no onset "
                           "to put the prior at; compute it to a larger r (or from frames with neighbours)")
    if above[0] == 0:
        raise MLIPLabError(f"the RDF already exceeds {threshold} at the first grid point r = {r[0]:.3g} Å, so its "
                           "onset is not resolved; start the RDF grid at a smaller r")
    return float(r[above[0]])


def mean_force_magnitude(forces, species) -> float:
    """Mean |F| (eV/Å) over the real beads: forces (M, N, 3) eV/Å, species (M, N) with 0 = padding."""
    forces, species = np.asarray(forces, dtype=float), np.asarray(species)
    if forces.shape != species.shape + (3,):
        raise MLIPLabError(f"forces of shape {forces.shape} do not match species of shape {species.shape} (+ (3,))")
    magnitudes = np.linalg.norm(forces, axis=-1)[species > 0]
    if magnitudes.size == 0:
        raise MLIPLabError("no real beads (all species are 0), so there is no mean force")
    return float(magnitudes.mean())


class RepulsivePrior(nn.Module):
    """A fixed repulsion between every pair of real beads (module docstring); no trainable parameters.

    taper r_t (Å), decay l (Å), energy_at_taper eps (eV), cutoff r_c > r_t (Å). Usually built by
    :func:`fit_repulsive_prior`. The numbers are buffers, so they follow ``.to(device)`` and are saved in
    the state dict; printing the prior shows them.
    """

    def __init__(self, taper: float, decay: float, energy_at_taper: float, cutoff: float):
        super().__init__()
        values = {"taper": taper, "decay": decay, "energy_at_taper": energy_at_taper, "cutoff": cutoff}
        for name, value in values.items():
            if not (math.isfinite(float(value)) and float(value) > 0):
                raise MLIPLabError(f"the prior's {name} must be a positive number, got {value}")
        if not cutoff > taper:
            raise MLIPLabError(f"the prior's cutoff ({cutoff} Å) must lie beyond its taper point ({taper} Å)")
        for name, value in values.items():
            self.register_buffer(name, torch.tensor(float(value), dtype=torch.float64))

    @property
    def amplitude(self) -> float:
        """A (eV) of the equivalent form A exp(-r / l) (without the switch)."""
        return float(self.energy_at_taper * torch.exp(self.taper / self.decay))

    def extra_repr(self) -> str:
        return (f"E(r) = {float(self.energy_at_taper):.4g} eV * exp(-(r - {float(self.taper):.4g} Å) / "
                f"{float(self.decay):.4g} Å), switched off smoothly from {float(self.taper):.4g} to "
                f"{float(self.cutoff):.4g} Å; force {self.force_at(float(self.taper)):.4g} eV/Å at the taper point")

    def pair_energy(self, r: torch.Tensor) -> torch.Tensor:
        """r: any shape, Å -> pair energies, eV, in r's dtype."""
        return exponential_repulsion(r, float(self.taper), float(self.decay), float(self.energy_at_taper),
                                     float(self.cutoff))

    def pair_force(self, r: torch.Tensor) -> torch.Tensor:
        """-dE/dr (eV/Å, positive = repulsive) at r (any shape, Å)."""
        with torch.enable_grad():
            r = torch.as_tensor(r).detach().requires_grad_(True)
            (gradient,) = torch.autograd.grad(self.pair_energy(r).sum(), r)
        return -gradient

    def force_at(self, r: float) -> float:
        """-dE/dr (eV/Å) at one distance r (Å)."""
        return float(self.pair_force(torch.tensor(float(r), dtype=torch.float64)))

    def forward(self, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
                pbc: torch.Tensor | None = None) -> torch.Tensor:
        """Atomic energies (B, N) eV: half of each pair energy to each bead, zero on padding.

        species (B, N) long, 0 = padding; positions (B, N, 3) Å; cells (B, 3, 3) Å rows | None; pbc (B, 3) | None.
        """
        # A neighbour list: the prior's short cutoff keeps only the closest pairs, so a (B, N, N) tensor would
        # be almost all zeros for a box of thousands of beads.
        pairs = neighbour_list(species, positions, float(self.cutoff), cells, pbc)
        return half_pair_sums(pairs, self.pair_energy(pairs.distances), species.shape[0])


def fit_repulsive_prior(r, g, mean_force: float, threshold: float = RDF_THRESHOLD,
                        onset_fraction: float = ONSET_FRACTION, inner_distance: float = INNER_DISTANCE,
                        switch_width: float = SWITCH_WIDTH) -> RepulsivePrior:
    """The reference recipe: the prior whose force is ``onset_fraction`` x S at the RDF onset r_t and S at
    r_t - ``inner_distance``.

    r: (R,) Å RDF grid; g: (R,) reference RDF; mean_force: S, the mean |F| of the mapped reference forces,
    eV/Å (:func:`mean_force_magnitude`). The force of eps exp(-(r - r_t)/l) is (eps/l) exp(-(r - r_t)/l), so
    the two conditions give l = inner_distance / ln(1 / onset_fraction) (0.050 Å for the defaults) and
    eps = onset_fraction S l. The cutoff is r_t + ``switch_width``.
    """
    if not (math.isfinite(float(mean_force)) and float(mean_force) > 0):
        raise MLIPLabError(f"the mean force magnitude must be a positive number (eV/Å), got {mean_force}; "
                           "compute it from the mapped forces with mean_force_magnitude")
    if not 0 < onset_fraction < 1:
        raise MLIPLabError(f"onset_fraction must lie between 0 and 1 (the force at the onset is weaker than "
                           f"inside it), got {onset_fraction}")
    if not (inner_distance > 0 and switch_width > 0):
        raise MLIPLabError(f"inner_distance and switch_width must be positive (Å), got {inner_distance} and "
                           f"{switch_width}")
    taper = taper_point(r, g, threshold)
    if taper <= inner_distance:
        raise MLIPLabError(f"the RDF onset r_t = {taper:.3g} Å is not beyond inner_distance = {inner_distance} Å; "
                           "check the RDF's distance units (Å)")
    decay = inner_distance / math.log(1.0 / onset_fraction)
    return RepulsivePrior(taper=taper, decay=decay, energy_at_taper=onset_fraction * float(mean_force) * decay,
                          cutoff=taper + switch_width)


@dataclass
class EnergyOutput:
    """What :class:`WithPrior` and :class:`~mlip_lab.cg.pairwise.PairwiseModel` return.

    energy (B,) eV; atomic_energies (B, N) eV, zero on padding; forces (B, N, 3) eV/Å from ``predict`` only;
    layer_energies (B, L) eV where the underlying model has them (HIP-NN), else None.
    """

    energy: torch.Tensor
    atomic_energies: torch.Tensor
    forces: torch.Tensor | None = None
    layer_energies: torch.Tensor | None = None


class WithPrior(nn.Module):
    """A model plus a fixed :class:`RepulsivePrior`; itself a model that follows the contract.

    ``forward`` returns the model's energy and atomic energies with the prior's added (half of each prior pair
    energy to each bead) and the model's layer energies unchanged, so training it on mapped forces teaches the
    model the difference between the mapped forces and the prior's. Only ``model``'s parameters train.
    ``fit_reference_energies`` fits the model's per-element reference energies on the total energies (the
    prior's pair energies are not subtracted: it only sees compositions).
    """

    def __init__(self, model: nn.Module, prior: RepulsivePrior):
        super().__init__()
        check_model(model, "WithPrior")
        if not isinstance(prior, RepulsivePrior):
            raise MLIPLabError(f"WithPrior needs a RepulsivePrior (see fit_repulsive_prior), "
                               f"got {type(prior).__name__}")
        self.model = model
        self.prior = prior

    @property
    def elements(self) -> tuple[int, ...]:
        """The wrapped model's elements (the model contract's ``elements``)."""
        return tuple(self.model.elements)

    def fit_reference_energies(self, species, energies) -> torch.Tensor:
        """The wrapped model's per-element reference energies (see the class docstring)."""
        return fit_reference_energies(self.model, species, energies)

    def forward(self, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
                pbc: torch.Tensor | None = None) -> EnergyOutput:
        """species (B, N) long (0 = padding), positions (B, N, 3) Å, cells (B, 3, 3) | None, pbc (B, 3) | None."""
        out = self.model(species, positions, cells, pbc)
        prior = self.prior(torch.as_tensor(species, device=positions.device), positions, cells, pbc)
        return EnergyOutput(energy=out.energy + prior.sum(-1), atomic_energies=out.atomic_energies + prior,
                            layer_energies=getattr(out, "layer_energies", None))

    def predict(self, batch_or_species, positions=None, cells=None, pbc=None, forces: bool = True) -> EnergyOutput:
        """Detached energies and (optionally) forces; takes a Batch or the tensors of :meth:`forward`."""
        return predict_by_autograd(self, batch_or_species, positions, cells, pbc, forces)


def _with_prior_config(model: WithPrior) -> dict:
    prior = {name: float(getattr(model.prior, name)) for name in ("taper", "decay", "energy_at_taper", "cutoff")}
    return {"model": model_spec(model.model), "prior": prior}


register_model_kind("WithPrior", WithPrior, _with_prior_config,
                    lambda config: WithPrior(build_model(config["model"]), RepulsivePrior(**config["prior"])))
