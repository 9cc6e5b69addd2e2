"""Building blocks of HIP-NN / HIP-NN-TS: cutoff, sensitivities, angular basis, interaction and atom layers.

Shapes: B configurations, N (padded) atoms, A = B N atom rows, P neighbour pairs, S sensitivities, K angular
components, F features. Pair functions take dense pairs (leading dims B, N, N) or sparse ones (leading dim P)
alike. Per-atom features are (A, F) rows, padding included: a layer on a 2-d tensor adds no reshape to either
derivative of the energy, which a force-trained step takes twice.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.functional import softplus

from mlip_lab.physics.geometry import PairGeometry
from mlip_lab.physics.neighbours import NeighbourList

# Angular components per tensor order: 1 scalar, 3 vector (rhat), 9 traceless tensor (rhat rhat^T - I/3).
_COMPONENTS = (1, 3, 9)


def cosine_cutoff(distances: torch.Tensor, cutoff: float) -> torch.Tensor:
    """phi(r) = cos^2(pi r / (2 r_c)) for r <= r_c, else 0. Any shape in, same shape out."""
    phi = torch.cos(0.5 * math.pi * distances / cutoff) ** 2
    return torch.where(distances <= cutoff, phi, 0.0)


def angular_basis(directions: torch.Tensor, tensor_order: int) -> torch.Tensor:
    """Stack the pair functions that tensor sensitivities of order 0..tensor_order multiply.

    directions: (..., 3) unit vectors. Returns (..., K) with K = 1, 4 or 13: the constant 1, then
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

    def forward(self, distances: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1) -> torch.Tensor:
        """distances (...) Å, finite everywhere; mask (...) bool or None (all pairs count) -> s with the
        S sensitivities inserted at ``dim`` (a negative index: -1 gives (..., S), -2 on (B, N, N) gives
        (B, N, S, N)), zero outside mask."""
        inverse_mu, sigma = (p.reshape(-1, *([1] * (-dim - 1))) for p in (self.inverse_mu, self.sigma))
        offset = distances.reciprocal().unsqueeze(dim) - inverse_mu
        gauss = torch.exp(-0.5 * (sigma * offset) ** 2)
        cutoff = cosine_cutoff(distances, self.cutoff)
        # Masking the (...) cutoff rather than the (..., S) product: S times less work in every derivative.
        cutoff = cutoff if mask is None else torch.where(mask, cutoff, 0.0)
        return gauss * cutoff.unsqueeze(dim)


class Residual(nn.Module):
    """hippynn's ResNet form around a layer whose activated output is h: z' = A z + W' h + b'.

    A is the identity when input and output sizes match, else a learned linear map without bias (the one-hot
    input of the first block). The output is linear, so an energy head or the next layer sees z plus a learned
    correction: the spread of the features across atoms survives a deep stack instead of shrinking at every
    softplus layer.
    """

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.linear = nn.Linear(n_out, n_out)
        self.adjust = nn.Linear(n_in, n_out, bias=False) if n_in != n_out else None

    def forward(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """z (..., F_in) the layer's input, h (..., F_out) its activated output -> (..., F_out)."""
        skip = z if self.adjust is None else self.adjust(z)
        return skip + self.linear(h)


class InteractionLayer(nn.Module):
    """z'_ia = softplus( u^0_ia + sum_l t^l_a sqrt(|u^l_ia|^2 + eps) + sum_b W_ab z_ib + B_a ),
    wrapped in :class:`Residual` when ``residual``.

    u^l_{ia} = sum_{nu, b} V_{nu b a} sum_j s_nu(r_ij) Y^l(rhat_ij) z_jb, with one V shared by all orders
    l <= tensor_order (Y^0 = 1, Y^1 = rhat, Y^2 = rhat rhat^T - I/3); the norms make the output invariant.

    The pairs decide the path: a dense :class:`~mlip_lab.physics.geometry.PairGeometry` sums over all j with
    einsums (peak memory ~ B N^2 (S + K + F_out)), a sparse :class:`~mlip_lab.physics.neighbours.NeighbourList`
    sums over the listed pairs with index_add (~ P S F_in + B N K S F_in). Both give the same u^l.
    """

    def __init__(self, n_in: int, n_out: int, n_sensitivities: int, r_soft_min: float, r_soft_max: float,
                 cutoff: float, tensor_order: int, eps: float, residual: bool = False):
        super().__init__()
        self.sensitivity = GaussianSensitivity(n_sensitivities, r_soft_min, r_soft_max, cutoff)
        self.interaction = nn.Parameter(torch.randn(n_sensitivities, n_in, n_out) / math.sqrt(n_sensitivities * n_in))
        self.self_interaction = nn.Linear(n_in, n_out)
        self.tensor_scales = nn.Parameter(torch.ones(tensor_order, n_out))
        self.eps = eps
        self.residual = Residual(n_in, n_out) if residual else None

    def forward(self, z: torch.Tensor, pairs: PairGeometry | NeighbourList, basis: torch.Tensor | None) -> torch.Tensor:
        """z (A, F_in) the atoms of the padded batch as rows; pairs dense or sparse; basis (B, N, N, K) or
        (P, K) to match, or None for scalar sensitivities only (tensor order 0, K = 1 without forming the
        constant basis) -> (A, F_out)."""
        if isinstance(pairs, NeighbourList):
            u = self._sparse_u(z, pairs, basis)
        else:
            u = self._dense_u(z, pairs, basis)
        # split, not slicing: the backward of each slice zero-fills a gradient of u's full size (about a tenth of
        # an order-2 MD step of 112 small molecules), split's backward concatenates the parts' gradients once.
        scalar, *tensors = u.split(_COMPONENTS[: len(self.tensor_scales) + 1], dim=1)
        out = scalar[:, 0] + self.self_interaction(z)
        for part, scale in zip(tensors, self.tensor_scales):
            out = out + scale * torch.sqrt((part**2).sum(1) + self.eps)
        activated = softplus(out)
        return activated if self.residual is None else self.residual(z, activated)

    def _dense_u(self, z: torch.Tensor, pairs: PairGeometry, basis: torch.Tensor) -> torch.Tensor:
        """u (A, K, F_out) summed over every pair of the padded batch."""
        b, n = pairs.mask.shape[:2]
        if basis is None:
            # Scalars only: sum s z over pairs first (hippynn's order), then V once per atom. Fewer operations
            # than below, and the pair sum runs over F_in channels, not F_out (16x fewer on one-hot input).
            # With s laid out (B, N, S, N) both sums are matrix products of contiguous views, so neither they
            # nor their first and second derivatives copy a permuted tensor.
            s = self.sensitivity(pairs.distances, pairs.mask, dim=-2)
            env = torch.bmm(s.reshape(b, -1, n), z.reshape(b, n, -1)).reshape(b * n, -1)  # (A, S F_in)
            return (env @ self.interaction.flatten(0, 1))[:, None]
        s = self.sensitivity(pairs.distances, pairs.mask)
        # Same sum as contracting env_{i k nu b} = sum_j s Y z with V, but applying V to each atom first costs
        # B N (S F A + N S A + N K A) instead of B N^2 K S F, several times faster (more with tensor order 2).
        zv = torch.einsum("bjf,sfa->bjsa", z.reshape(b, n, -1), self.interaction)
        pair_messages = torch.einsum("bijs,bjsa->bija", s, zv)
        return torch.einsum("bijk,bija->bika", basis, pair_messages).flatten(0, 1)

    def _sparse_u(self, z: torch.Tensor, pairs: NeighbourList, basis: torch.Tensor) -> torch.Tensor:
        """u (A, K, F_out) summed over the listed pairs only.

        Per pair only s_nu(r_ij) z_jb (S F_in numbers) is formed, then summed onto atom i once per angular
        component k into env_{i k nu b} and contracted with V per atom: applying V per pair instead would need
        S F_out numbers per pair, far more with one-hot inputs (F_in = number of species), and one component at
        a time keeps the (P, K, S F_in) product from ever existing at once.
        """
        n = pairs.n_atoms
        centre = pairs.batch * n + pairs.first
        neighbour = pairs.batch * n + pairs.second
        s = self.sensitivity(pairs.distances)  # (P, S)
        weighted = (s[:, :, None] * z[neighbour][:, None, :]).flatten(1)  # (P, S F_in)
        v = self.interaction.flatten(0, 1)  # (S F_in, F_out)
        env = weighted.new_zeros(z.shape[0], weighted.shape[1])
        if basis is None:
            return (env.index_add(0, centre, weighted) @ v)[:, None]
        u = [env.index_add(0, centre, basis[:, k, None] * weighted) @ v for k in range(basis.shape[1])]
        return torch.stack(u, dim=1)


class AtomLayer(nn.Module):
    """Per-atom dense layer z' = softplus(W z + b), wrapped in :class:`Residual` when ``residual``."""

    def __init__(self, n_features: int, residual: bool):
        super().__init__()
        self.linear = nn.Linear(n_features, n_features)
        self.residual = Residual(n_features, n_features) if residual else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (A, F) -> (A, F)."""
        activated = softplus(self.linear(z))
        return activated if self.residual is None else self.residual(z, activated)
