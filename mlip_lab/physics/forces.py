"""Forces as minus the gradient of the energy, by autograd."""

from __future__ import annotations

import torch

from mlip_lab.errors import MLIPLabError


def forces_from_energy(energy: torch.Tensor, positions: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """F = -dE/dR.

    energy: (B,) (or any shape; configurations are independent so its sum is differentiated);
    positions: (B, N, 3) Å with ``requires_grad`` set before the energy was computed.
    Returns (B, N, 3) eV/Å. Padding rows are zero because padded atoms never enter a model's energy.
    ``create_graph=True`` keeps the graph so that a loss on forces (or a Hessian-vector product) can be
    differentiated again.
    """
    if not positions.requires_grad:
        raise MLIPLabError(
            "positions do not require grad; call positions.requires_grad_(True) before computing the energy"
        )
    gradient = None
    if energy.requires_grad:
        (gradient,) = torch.autograd.grad(energy.sum(), positions, create_graph=create_graph, allow_unused=True)
    if gradient is None:  # the energy does not depend on positions (e.g. isolated atoms)
        return torch.zeros_like(positions)
    return -gradient
