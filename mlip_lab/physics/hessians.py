"""Second derivatives of a model's energy with respect to positions: Hessian-vector products (HVPs) and
full Hessians.

An HVP H v costs about as much as one more backward pass, whatever the size of H. Two ways are offered:

- double backward: differentiate g . v again, where g = dE/dR was computed with ``create_graph=True``;
  this reuses the gradient (minus the forces) that training computes anyway;
- forward-over-reverse: the forward-mode derivative (jvp) of the gradient function along v (``torch.func``).

The full Hessian is the HVP vectorised over all 3N coordinate directions (one batched double-backward
pass, never a Python loop over columns). Padded atoms do not enter the energy, so their rows and columns
come out zero. Everything stays differentiable w.r.t. the model's parameters with ``create_graph=True``.

Shapes: B configurations, N (padded) atoms, K batched directions.
"""

from __future__ import annotations

import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.models.contract import check_model

HVP_METHODS = ("double_backward", "forward_over_reverse")


def gradient_hvp(gradient: torch.Tensor, positions: torch.Tensor, vectors: torch.Tensor,
                 create_graph: bool = False) -> torch.Tensor:
    """H v by double backward from an energy gradient that still has its graph.

    gradient: (B, N, 3) dE/dR computed with ``create_graph=True`` (pass minus the forces); positions: the
    (B, N, 3) tensor it was differentiated by; vectors: (B, N, 3) one direction per configuration, or
    (K, B, N, 3) K directions per configuration (one batched pass). Returns H v in the shape of ``vectors``,
    eV/Å² times the unit of v. ``create_graph=True`` keeps the graph (for a loss on H v).
    """
    batched = vectors.dim() == 4
    if vectors.shape[-3:] != gradient.shape:
        raise MLIPLabError(f"vectors must be shaped like the positions {tuple(gradient.shape)} (optionally with a "
                           f"leading axis of directions), got {tuple(vectors.shape)}")
    (products,) = torch.autograd.grad(gradient, positions, grad_outputs=vectors.to(gradient.dtype),
                                      is_grads_batched=batched, create_graph=create_graph)
    return products


def model_hvp(model, species: torch.Tensor, positions: torch.Tensor, vectors: torch.Tensor,
              cells: torch.Tensor | None = None, pbc: torch.Tensor | None = None,
              method: str = "double_backward", create_graph: bool = False) -> torch.Tensor:
    """H[b] v[b] of a model's energy without forming H, eV/Å² times the unit of v.

    model: any model that follows the model contract (:func:`mlip_lab.models.check_model`), e.g. a HIPNN.
    species: (B, N) long, 0 = padding; positions, vectors: (B, N, 3). method: "double_backward" or
    "forward_over_reverse" (both give the same numbers). Returns (B, N, 3), zero on padding.
    """
    check_model(model, "model_hvp")
    if method not in HVP_METHODS:
        raise MLIPLabError(f"method must be one of {HVP_METHODS}, got {method!r}")
    if vectors.shape != positions.shape:
        raise MLIPLabError(f"vectors must have the shape of positions {tuple(positions.shape)}, got {tuple(vectors.shape)}")
    positions = positions.detach()
    vectors = vectors.to(positions.dtype)
    with torch.enable_grad():
        if method == "double_backward":
            positions = positions.requires_grad_(True)
            gradient = _energy_gradient(model, species, positions, cells, pbc)
            return gradient_hvp(gradient, positions, vectors, create_graph=create_graph)

        def gradient_of(r):
            return torch.func.grad(lambda x: model(species, x, cells, pbc).energy.sum())(r)

        _, products = torch.func.jvp(gradient_of, (positions,), (vectors,))
        return products if create_graph else products.detach()


def matrix_hvp(hessians: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """Products H v of stored Hessians: hessians (B, 3N, 3N) with vectors (B, N, 3) -> (B, N, 3), in the units of H
    times those of v (zero-padded Hessians and vectors give zero on padding)."""
    b, n, _ = vectors.shape
    return (hessians @ vectors.reshape(b, 3 * n, 1)).reshape(b, n, 3)


def model_hessian(model, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
                  pbc: torch.Tensor | None = None, create_graph: bool = False) -> torch.Tensor:
    """H[b] = d^2 E_b / dR dR for every configuration of a padded batch, eV/Å².

    model: any model that follows the model contract (:func:`mlip_lab.models.check_model`), e.g. a HIPNN.
    species: (B, N) long, 0 = padding; positions: (B, N, 3) Å; cells, pbc as in the model's forward.
    Returns (B, 3N, 3N), coordinates ordered atom-major (x0, y0, z0, x1, ...), zero on padding.
    ``create_graph=True`` keeps the graph so a loss on the Hessian can be differentiated w.r.t. parameters.
    """
    check_model(model, "model_hessian")
    positions = positions.detach().requires_grad_(True)
    with torch.enable_grad():
        gradient = _energy_gradient(model, species, positions, cells, pbc)
        return gradient_hessian(gradient, positions, create_graph=create_graph)


def gradient_hessian(gradient: torch.Tensor, positions: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """(B, 3N, 3N) full Hessians from a (B, N, 3) gradient with its graph: :func:`gradient_hvp` batched over
    the 3N unit directions at once."""
    batch, n, _ = positions.shape
    eye = torch.eye(3 * n, dtype=positions.dtype, device=positions.device)
    directions = eye.reshape(3 * n, 1, n, 3).expand(3 * n, batch, n, 3)
    columns = gradient_hvp(gradient, positions, directions, create_graph=create_graph)
    # columns[k, b] = H[b] e_k = the k-th column (equal to the k-th row, H is symmetric).
    return columns.reshape(3 * n, batch, 3 * n).transpose(0, 1)


def _energy_gradient(model, species, positions, cells, pbc) -> torch.Tensor:
    """dE/dR (B, N, 3) with its graph kept for a second derivative."""
    energy = model(species, positions, cells, pbc).energy
    (gradient,) = torch.autograd.grad(energy.sum(), positions, create_graph=True)
    return gradient
