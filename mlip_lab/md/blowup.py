"""Blow-up detection: find replicas whose dynamics failed and freeze them, so the rest of the batch continues
and nothing is silently NaN."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.md.state import MDState, temperature
from mlip_lab.physics.geometry import displacement_vectors, minimum_image


@dataclass(frozen=True)
class BlowUpLimits:
    """When a replica counts as blown up.

    max_temperature: K, instantaneous kinetic temperature above this; max_neighbour_distance: Å, an atom
    farther than this from every other atom has flown off (None: no check, e.g. for deliberately separate
    fragments). Non-finite positions, velocities, energies or forces always count.
    """

    max_temperature: float = 1.0e4
    max_neighbour_distance: float | None = 4.0

    def __post_init__(self):
        if not self.max_temperature > 0:
            raise MLIPLabError(f"max_temperature must be positive (K), got {self.max_temperature}")
        if self.max_neighbour_distance is not None and not self.max_neighbour_distance > 0:
            raise MLIPLabError(f"max_neighbour_distance must be positive (Å) or None, got {self.max_neighbour_distance}")


@dataclass(frozen=True)
class BlowUp:
    """Replica ``replica`` failed at ``step`` (time ``time`` fs) for ``reason``; it was frozen there."""

    replica: int
    step: int
    time: float
    reason: str

    def __str__(self) -> str:
        return (f"replica {self.replica} blew up at step {self.step} ({self.time:.1f} fs): {self.reason}; "
                "it is frozen at its last good state, the other replicas continue")


def nearest_neighbour_distances(state: MDState) -> torch.Tensor:
    """(B, N) distance from each real atom to its closest other atom, Å (minimum image if periodic); inf on padding."""
    vectors = displacement_vectors(state.positions)
    if state.cells is not None:
        vectors = minimum_image(vectors, state.cells, state.pbc)
    distances = vectors.norm(dim=-1)
    n = state.species.shape[1]
    pairs = state.real[:, :, None] & state.real[:, None, :] & ~torch.eye(n, dtype=torch.bool, device=distances.device)
    return torch.where(pairs, distances, torch.inf).amin(dim=2).masked_fill(~state.real, torch.inf)


def failure_masks(state: MDState, limits: BlowUpLimits) -> dict[str, torch.Tensor]:
    """{reason: (B,) bool} for each failure test, only for replicas still active."""
    finite = (torch.isfinite(state.positions).all((1, 2)) & torch.isfinite(state.velocities).all((1, 2))
              & torch.isfinite(state.energies) & torch.isfinite(state.forces).all((1, 2)))
    masks = {"non-finite positions, velocities, energy or forces": ~finite}
    hot = torch.nan_to_num(temperature(state), nan=torch.inf) > limits.max_temperature
    masks[f"temperature above {limits.max_temperature:g} K"] = hot & finite
    if limits.max_neighbour_distance is not None:
        far = torch.nan_to_num(nearest_neighbour_distances(state), nan=0.0).masked_fill(~state.real, 0.0)
        lonely = (far > limits.max_neighbour_distance).any(1)
        masks[f"an atom flew off (no neighbour within {limits.max_neighbour_distance:g} Å)"] = lonely & finite
    return {reason: mask & state.active for reason, mask in masks.items()}


def check_and_freeze(previous: MDState, state: MDState, limits: BlowUpLimits) -> tuple[MDState, list[BlowUp]]:
    """Replicas of ``state`` failing ``limits`` go back to their ``previous`` positions, energies and forces, get
    zero velocity and ``active = False``. Returns the new state and one :class:`BlowUp` per newly failed replica.
    One host-device sync per call (to ask whether anything failed at all).
    """
    masks = failure_masks(state, limits)
    failed = torch.stack(list(masks.values())).any(0)
    if not bool(failed.any()):
        return state, []
    events = []
    for replica in failed.nonzero().flatten().tolist():
        reasons = [reason for reason, mask in masks.items() if bool(mask[replica])]
        events.append(BlowUp(replica, state.step, state.time, "; ".join(reasons)))
    keep = failed[:, None, None]
    frozen = state.replace(
        positions=torch.where(keep, previous.positions, state.positions),
        velocities=torch.where(keep, 0.0, state.velocities),
        energies=torch.where(failed, previous.energies, state.energies),
        forces=torch.where(keep, previous.forces, state.forces),
        active=state.active & ~failed,
    )
    return frozen, events
