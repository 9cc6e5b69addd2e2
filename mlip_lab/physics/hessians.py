"""Second derivatives of a model's energy with respect to positions.

The full Hessian is built by vectorising Hessian-vector products over all 3N coordinate directions
(one batched double-backward pass, never a Python loop over columns). Padded atoms do not enter the
energy, so their rows and columns come out zero.

Shapes: B configurations, N (padded) atoms.
"""

from __future__ import annotations

import torch


def model_hessian(model, species: torch.Tensor, positions: torch.Tensor, cells: torch.Tensor | None = None,
                  pbc: torch.Tensor | None = None, create_graph: bool = False) -> torch.Tensor:
    """H[b] = d^2 E_b / dR dR for every configuration of a padded batch, eV/Å².

    model: anything whose forward returns an object with ``energy`` (B,), e.g. a HIPNN.
    species: (B, N) long, 0 = padding; positions: (B, N, 3) Å; cells, pbc as in the model's forward.
    Returns (B, 3N, 3N), coordinates ordered atom-major (x0, y0, z0, x1, ...), zero on padding.
    ``create_graph=True`` keeps the graph so a loss on the Hessian can be differentiated w.r.t. parameters.
    """
    positions = positions.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = model(species, positions, cells, pbc).energy
        (gradient,) = torch.autograd.grad(energy.sum(), positions, create_graph=True)
        batch, n, _ = positions.shape
        eye = torch.eye(3 * n, dtype=positions.dtype, device=positions.device)
        directions = eye.reshape(3 * n, 1, n, 3).expand(3 * n, batch, n, 3)
        (columns,) = torch.autograd.grad(gradient, positions, grad_outputs=directions, is_grads_batched=True,
                                         create_graph=create_graph)
    # columns[k, b] = H[b] e_k = the k-th column (equal to the k-th row, H is symmetric).
    return columns.reshape(3 * n, batch, 3 * n).transpose(0, 1)
