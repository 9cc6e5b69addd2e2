"""Probe vectors: normalisation, padding, reproducibility, E[v v^T] = I/(3N) (the unbiasedness of
||(H_pred - H_ref) v||^2 as an estimate of ||H_pred - H_ref||_F^2 / 3N), and Hutchinson traces."""

import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.physics.probes import PROBE_KINDS, fixed_probes, hutchinson_trace, probe_matrix, random_probes

MASK = torch.tensor([[True, True, True, False], [True, True, True, True]])


@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_probes_are_unit_vectors_on_the_real_coordinates(kind):
    probes = random_probes(MASK, kind, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert probes.shape == (2, 4, 3)
    assert probes[0, 3].abs().max() == 0  # padding atom
    assert torch.allclose(probes.reshape(2, -1).norm(dim=1), torch.ones(2, dtype=torch.float64))
    if kind == "one_hot":
        assert ((probes != 0).reshape(2, -1).sum(1) == 1).all()


@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_squared_projected_error_is_an_unbiased_estimate_of_the_frobenius_error(kind):
    """E ||A v||^2 = ||A||_F^2 / (3N) over the real coordinates, for A = H_pred - H_ref, with padding present."""
    g = torch.Generator().manual_seed(1)
    n_real, draws = 9, 40000  # 3 real atoms in a padded row of 4
    a = torch.randn(12, 12, generator=g, dtype=torch.float64)
    a = a + a.T
    a[9:] = a[:, 9:] = 0.0  # Hessian differences vanish on padding
    mask = MASK[:1].expand(draws, 4)
    v = random_probes(mask, kind, g, dtype=torch.float64).reshape(draws, 12)
    estimate = ((v @ a) ** 2).sum(1).mean() * n_real
    exact = (a**2).sum()
    assert estimate == pytest.approx(float(exact), rel=0.03)
    # the second moment itself: E[v v^T] = I / (3N) on the real block, 0 on padding
    second = v.T @ v / draws
    assert torch.allclose(second[:9, :9], torch.eye(9, dtype=torch.float64) / n_real, atol=0.01)
    assert second[9:].abs().max() == 0


def test_a_biased_probe_would_be_caught():
    """The unbiasedness check can fail: unnormalised Gaussians overestimate by a factor 3N."""
    g = torch.Generator().manual_seed(2)
    a = torch.randn(9, 9, generator=g, dtype=torch.float64)
    v = torch.randn(20000, 9, generator=g, dtype=torch.float64)
    estimate = ((v @ a) ** 2).sum(1).mean() * 9
    assert estimate / (a**2).sum() > 5


def test_seeded_draws_repeat_and_fixed_probes_belong_to_configurations():
    a = random_probes(MASK, "gaussian", torch.Generator().manual_seed(3))
    b = random_probes(MASK, "gaussian", torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    first = fixed_probes(MASK, torch.tensor([10, 11]), "rademacher", seed=4)
    swapped = fixed_probes(MASK.flip(0), torch.tensor([11, 10]), "rademacher", seed=4)
    assert torch.equal(first, swapped.flip(0))  # independent of the batch composition and order
    other_seed = fixed_probes(MASK, torch.tensor([10, 11]), "rademacher", seed=5)
    assert not torch.equal(first, other_seed)
    with pytest.raises(MLIPLabError, match="one dataset index per configuration"):
        fixed_probes(MASK, torch.tensor([1, 2, 3]), "gaussian")


def test_one_hot_probes_cover_every_real_coordinate_uniformly():
    v = random_probes(MASK[:1].expand(9000, 4), "one_hot", torch.Generator().manual_seed(6)).reshape(9000, 12)
    counts = v.sum(0)
    assert counts[9:].sum() == 0
    assert (counts[:9] - 1000).abs().max() < 120  # ~4 standard deviations


def test_hutchinson_trace_converges_to_the_trace():
    g = torch.Generator().manual_seed(7)
    a = torch.randn(15, 15, generator=g, dtype=torch.float64)
    a = a @ a.T
    for kind in PROBE_KINDS:
        probes = probe_matrix(15, 4000, kind, g)
        running = hutchinson_trace(probes, probes @ a)
        assert running.shape == (4000,)
        assert running[-1] == pytest.approx(float(a.trace()), rel=0.05)
    with pytest.raises(MLIPLabError, match=r"\(S, 3N\)"):
        hutchinson_trace(probes, probes[:, :3])


def test_unknown_kind_is_rejected():
    with pytest.raises(MLIPLabError, match="probe kind must be one of"):
        random_probes(MASK, "uniform")
