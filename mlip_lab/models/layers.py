"""Building blocks of HIP-NN / HIP-NN-TS: cutoff, sensitivities, angular basis, interaction and atom layers.

Shapes: B configurations, N (padded) atoms, S sensitivities, K angular components, F features.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.functional import softplus

# Angular components per tensor order: 1 scalar, 3 vector (rhat), 9 traceless tensor (rhat rhat^T - I/3).
_COMPONENTS = (1, 3, 9)


def cosine_cutoff(distances: torch.Tensor, cutoff: float) -> torch.Tensor:
    """phi(r) = cos^2(pi r / (2 r_c)) for r <= r_c, else 0. Any shape in, same shape out."""
    phi = torch.cos(0.5 * math.pi * distances / cutoff) ** 2
    return torch.where(distances <= cutoff, phi, 0.0)


def angular_basis(directions: torch.Tensor, tensor_order: int) -> torch.Tensor:
    """Stack the pair functions that tensor sensitivities of order 0..tensor_order multiply.

    directions: (B, N, N, 3) unit vectors. Returns (B, N, N, K) with K = 1, 4 or 13: the constant 1, then
    rhat^x for order >= 1, then the 9 entries of rhat rhat^T - I/3 for order 2.
    """
    parts = [torch.ones_like(directions[..., :1])]
    if tensor_order >= 1:
        parts.append(directions)
    if tensor_order >= 2:
        eye = torch.eye(3, dtype=directions.dtype, device=directions.device)
        outer = directions[..., :, None] * directions[..., None, :] - eye / 3.0
        parts.append(outer.flatten(-2))
    return torch.cat(parts, dim=-1)


class GaussianSensitivity(nn.Module):
    """s_nu(r) = exp(-0.5 sigma_nu^2 (1/r - 1/mu_nu)^2) phi(r) with learnable 1/mu and sigma.

    1/mu starts evenly spaced between 1/r_soft_max and 1/r_soft_min; sigma starts at two over that spacing
    so that neighbouring Gaussians (in 1/r) overlap at about one standard deviation each.
    """

    def __init__(self, n_sensitivities: int, r_soft_min: float, r_soft_max: float, cutoff: float):
        super().__init__()
        self.cutoff = cutoff
        self.inverse_mu = nn.Parameter(torch.linspace(1.0 / r_soft_max, 1.0 / r_soft_min, n_sensitivities))
        spacing = (1.0 / r_soft_min - 1.0 / r_soft_max) / max(n_sensitivities - 1, 1)
        self.sigma = nn.Parameter(torch.full((n_sensitivities,), 2.0 / spacing))

    def forward(self, distances: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """distances (B, N, N) Å (finite everywhere), mask (B, N, N) -> (B, N, N, S), zero outside mask."""
        offset = distances.reciprocal()[..., None] - self.inverse_mu
        gauss = torch.exp(-0.5 * (self.sigma * offset) ** 2)
        sensitivity = gauss * cosine_cutoff(distances, self.cutoff)[..., None]
        return torch.where(mask[..., None], sensitivity, 0.0)


class InteractionLayer(nn.Module):
    """z'_ia = softplus( u^0_ia + sum_l t^l_a sqrt(|u^l_ia|^2 + eps) + sum_b W_ab z_ib + B_a ).

    u^l_{ia} = sum_{nu, b} V_{nu b a} sum_j s_nu(r_ij) Y^l(rhat_ij) z_jb, with one V shared by all orders
    l <= tensor_order (Y^0 = 1, Y^1 = rhat, Y^2 = rhat rhat^T - I/3); the norms make the output invariant.
    """

    def __init__(self, n_in: int, n_out: int, n_sensitivities: int, r_soft_min: float, r_soft_max: float,
                 cutoff: float, tensor_order: int, eps: float):
        super().__init__()
        self.sensitivity = GaussianSensitivity(n_sensitivities, r_soft_min, r_soft_max, cutoff)
        self.interaction = nn.Parameter(torch.randn(n_sensitivities, n_in, n_out) / math.sqrt(n_sensitivities * n_in))
        self.self_interaction = nn.Linear(n_in, n_out)
        self.tensor_scales = nn.Parameter(torch.ones(tensor_order, n_out))
        self.eps = eps

    def forward(self, z: torch.Tensor, distances: torch.Tensor, mask: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
        """z (B, N, F_in), distances and mask (B, N, N), basis (B, N, N, K) -> (B, N, F_out)."""
        s = self.sensitivity(distances, mask)
        # Same sum as contracting env_{i k nu b} = sum_j s Y z with V, but applying V to each atom first costs
        # B N (S F A + N S A + N K A) instead of B N^2 K S F, several times faster (more with tensor order 2).
        zv = torch.einsum("bjf,sfa->bjsa", z, self.interaction)
        pair_messages = torch.einsum("bijs,bjsa->bija", s, zv)
        u = torch.einsum("bijk,bija->bika", basis, pair_messages)
        out = u[:, :, 0] + self.self_interaction(z)
        start = 1
        for order, scale in enumerate(self.tensor_scales, start=1):
            stop = start + _COMPONENTS[order]
            out = out + scale * torch.sqrt((u[:, :, start:stop] ** 2).sum(2) + self.eps)
            start = stop
        return softplus(out)


class AtomLayer(nn.Module):
    """Per-atom dense layer z' = softplus(W z + b), plus z itself when residual (sizes must match)."""

    def __init__(self, n_features: int, residual: bool):
        super().__init__()
        self.linear = nn.Linear(n_features, n_features)
        self.residual = residual

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, N, F) -> (B, N, F)."""
        out = softplus(self.linear(z))
        return z + out if self.residual else out
