"""Probe vectors for projected Hessian learning, and Hutchinson estimates built from them.

A probe v is a direction in the 3N real coordinates of one configuration (padding stays zero). All three
kinds are normalised so that E[v v^T] = I / (3N):

- "one_hot": a random unit column e_k, k uniform over the 3N real coordinates;
- "gaussian": a standard normal vector divided by its length (uniform on the sphere);
- "rademacher": random signs, each ±1/sqrt(3N).

Hence for any matrix A (e.g. H_pred - H_ref): E ||A v||^2 = tr(A^T A) / (3N) = ||A||_F^2 / (3N), and
E[v^T A v] = tr(A) / (3N): one probe gives an unbiased estimate, many probes average down its variance.

Random numbers are drawn on the CPU from a ``torch.Generator`` and then moved, so seeded runs repeat
exactly on any device. Shapes: B configurations, N (padded) atoms, S probes.
"""

from __future__ import annotations

import hashlib

import torch

from mlip_lab.errors import MLIPLabError

PROBE_KINDS = ("one_hot", "gaussian", "rademacher")


def random_probes(mask: torch.Tensor, kind: str, generator: torch.Generator | None = None,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """(B, N, 3) one probe per configuration, drawn from ``generator`` (a CPU generator; None = torch's global).

    mask: (B, N) bool, True for real atoms. The result is on ``mask``'s device, zero on padding atoms.
    """
    _check_kind(kind)
    coordinate_mask = mask.detach().cpu().repeat_interleave(3, dim=1)  # (B, 3N)
    probes = _draw(coordinate_mask, kind, generator)
    return probes.reshape(*mask.shape, 3).to(device=mask.device, dtype=dtype or torch.get_default_dtype())


def fixed_probes(mask: torch.Tensor, indices: torch.Tensor, kind: str, seed: int = 0,
                 dtype: torch.dtype | None = None) -> torch.Tensor:
    """(B, N, 3) the probe that belongs to each configuration for a whole training run.

    indices: (B,) rows of the source dataset (``batch.indices``). The probe of row i depends only on
    (seed, i, kind, number of atoms), so it is the same in every epoch, batch composition and device.
    """
    _check_kind(kind)
    if indices.shape != mask.shape[:1]:
        raise MLIPLabError(f"need one dataset index per configuration: mask has {mask.shape[0]} rows, "
                           f"indices has shape {tuple(indices.shape)}")
    coordinate_mask = mask.detach().cpu().repeat_interleave(3, dim=1)
    rows = []
    for row_mask, index in zip(coordinate_mask, indices.detach().cpu().tolist()):
        # A generator per configuration: its probe must not depend on which others share its batch.
        generator = torch.Generator().manual_seed(_row_seed(seed, index))
        rows.append(_draw(row_mask[None], kind, generator)[0])
    probes = torch.stack(rows)
    return probes.reshape(*mask.shape, 3).to(device=mask.device, dtype=dtype or torch.get_default_dtype())


def probe_matrix(n_coordinates: int, n_probes: int, kind: str, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(S, 3N) ``n_probes`` independent probes of one configuration with ``n_coordinates`` = 3N real coordinates."""
    _check_kind(kind)
    if n_coordinates < 1 or n_probes < 1:
        raise MLIPLabError(f"need at least one coordinate and one probe, got {n_coordinates} and {n_probes}")
    mask = torch.ones(n_probes, n_coordinates, dtype=torch.bool)
    return _draw(mask, kind, generator).to(dtype)


def hutchinson_trace(probes: torch.Tensor, products: torch.Tensor) -> torch.Tensor:
    """Running Hutchinson estimates of tr(A) from S probes and their products A v.

    probes, products: (S, 3N). Returns (S,): entry s is 3N times the mean of v^T A v over the first s + 1
    probes, unbiased for every s because E[v v^T] = I / (3N).
    """
    if probes.shape != products.shape or probes.dim() != 2:
        raise MLIPLabError(f"probes and products must both be (S, 3N), got {tuple(probes.shape)} and {tuple(products.shape)}")
    quadratic = (probes * products).sum(1)
    counts = torch.arange(1, len(quadratic) + 1, dtype=quadratic.dtype, device=quadratic.device)
    return probes.shape[1] * quadratic.cumsum(0) / counts


def _draw(coordinate_mask: torch.Tensor, kind: str, generator: torch.Generator | None) -> torch.Tensor:
    """(B, 3N) float64 probes on the CPU; each row normalised over its True entries."""
    real = coordinate_mask.to(torch.float64)
    counts = real.sum(1, keepdim=True)
    if kind == "one_hot":
        u = torch.rand(real.shape[0], 1, generator=generator, dtype=torch.float64)
        k = (u * counts).floor().clamp(max=counts - 1)  # uniform over the real coordinates
        rank = real.cumsum(1) - 1  # rank of each real coordinate among the real ones of its row
        return ((rank == k) & coordinate_mask).to(torch.float64)
    if kind == "gaussian":
        g = torch.randn(real.shape, generator=generator, dtype=torch.float64) * real
        return g / g.norm(dim=1, keepdim=True)
    signs = torch.randint(0, 2, real.shape, generator=generator).to(torch.float64) * 2 - 1
    return signs * real / counts.sqrt()


def _row_seed(seed: int, index: int) -> int:
    """A 32-bit seed mixed from (seed, dataset index): torch's CPU generator keeps only the low 32 bits of a
    seed, so packing the two side by side into 64 bits would ignore ``seed``."""
    digest = hashlib.blake2b(f"{int(seed)}/{int(index)}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def _check_kind(kind: str) -> None:
    if kind not in PROBE_KINDS:
        raise MLIPLabError(f"probe kind must be one of {PROBE_KINDS}, got {kind!r}")
