"""Checkers of lessons 02 and 03 accept right answers and reject typical wrong ones."""

import numpy as np
import torch

from mlip_lab.data import load
from mlip_lab.exercises.lesson02 import check_hutchinson, check_hvp, check_rademacher
from mlip_lab.exercises.lesson03 import check_better_probe, check_hessian_mae, check_hvps_per_hessian
from mlip_lab.physics.units import EV_KCAL_PER_MOL


def _hvp(model, species, positions, vectors, sign=1.0, second=True):
    positions = positions.requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(species, positions).energy.sum(), positions, create_graph=True)
    if not second:
        return gradient
    return sign * torch.autograd.grad((gradient * vectors).sum(), positions)[0]


def test_hvp_checker(make_model):
    model = make_model()
    species = torch.tensor([[8, 1, 1]])
    positions = torch.tensor([[[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]]], dtype=torch.float64)
    vectors = torch.randn(1, 3, 3, dtype=torch.float64)
    assert check_hvp(_hvp, model, species, positions, vectors)
    sign = check_hvp(lambda *a: _hvp(*a, sign=-1.0), model, species, positions, vectors)
    assert not sign and "sign" in sign.message
    first = check_hvp(lambda *a: _hvp(*a, second=False), model, species, positions, vectors)
    assert not first and "first derivative" in first.message
    assert not check_hvp(lambda *a: _hvp(*a) * 1.01, model, species, positions, vectors)
    assert not check_hvp(lambda *a: None, model, species, positions, vectors)


def test_rademacher_checker():
    def good(n, g):
        return (torch.randint(0, 2, (n,), generator=g) * 2 - 1) / n**0.5

    assert check_rademacher(good)
    unnormalised = check_rademacher(lambda n, g: torch.randint(0, 2, (n,), generator=g) * 2.0 - 1)
    assert not unnormalised and "sqrt(n)" in unnormalised.message
    same_sign = check_rademacher(lambda n, g: torch.full((n,), 1.0) * (1 if torch.rand(1, generator=g) < 0.5 else -1) / n**0.5)
    assert not same_sign and "independent" in same_sign.message
    assert not check_rademacher(lambda n, g: torch.randn(n, generator=g))
    assert not check_rademacher(lambda n, g: good(n + 1, g))


def test_hutchinson_checker():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    probes = torch.nn.functional.normalize(torch.randn(50, 6, generator=g, dtype=torch.float64), dim=1)
    products = probes @ a.T
    assert check_hutchinson(lambda v, av: 6 * (v * av).sum(1).mean(), probes, products)
    missing_n = check_hutchinson(lambda v, av: (v * av).sum(1).mean(), probes, products)
    assert not missing_n and "multiply" in missing_n.message
    assert not check_hutchinson(lambda v, av: 6 * (v * av).sum(1), probes, products)
    assert not check_hutchinson(lambda v, av: a.trace() + 1, probes, products)


def test_hvps_per_hessian_checker():
    assert check_hvps_per_hessian(4, 12)
    assert not check_hvps_per_hessian(4, 4)
    assert "rigid" in check_hvps_per_hessian(4, 6).message
    assert not check_hvps_per_hessian(4, "many")


def test_hessian_mae_checker():
    data = load("organics_minima")
    predicted = data.hessians * 1.1
    errors = [np.abs(predicted[i, : 3 * n, : 3 * n] - data.hessians[i, : 3 * n, : 3 * n]).reshape(-1)
              for i, n in enumerate(data.n_atoms)]
    mae = np.concatenate(errors).mean()
    assert check_hessian_mae(mae * EV_KCAL_PER_MOL, data, predicted)
    in_ev = check_hessian_mae(mae, data, predicted)
    assert not in_ev and "eV" in in_ev.message
    padded = check_hessian_mae(np.abs(predicted - data.hessians).mean() * EV_KCAL_PER_MOL, data, predicted)
    assert not padded and "padding" in padded.message
    assert not check_hessian_mae(None, data, predicted)


def test_better_probe_checker_reads_the_measured_rows():
    onehot, random = [{"group": "irc", "hessian_mae": 2.0}], [{"group": "irc", "hessian_mae": 1.0}]
    assert check_better_probe("random", onehot, random, "irc")
    assert not check_better_probe("one_hot", onehot, random, "irc")
    assert check_better_probe("one_hot", random, onehot, "irc")  # follows the numbers, not a fixed answer
    assert not check_better_probe("gaussian", onehot, random, "irc")
    assert not check_better_probe("random", onehot, random, "nms")
